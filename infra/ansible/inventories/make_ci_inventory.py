#!/usr/bin/env python3
"""Writes the inventory of infra/check.sh's localhost run: three signers, one Kafka, one redundant validator's two gateways.

Usage: make_ci_inventory.py WORK BOOTSTRAP > inventory.yml. Every host is this machine (connection
local), each under its own prefix (WORK/signer-N, WORK/validator-alice-a and -b), started without
systemd, as the current user, with the //Alice development keys and the dev PKI of WORK/pki (which
must hold client certificates for validator-alice, validator-alice-a and validator-alice-b). The
gateways' pool (the signers' ports, known only once they run) comes as an extra variable.
DEVELOPMENT AND CI ONLY.
"""

import grp
import json
import os
import pwd
import secrets
import sys

# //Alice's public keys (the signing spec's known answers; `signerctl dev init` prints the same).
ALICE_SR25519 = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
ALICE_ED25519 = "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
ALICE_ECDSA = "020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1"


def main() -> None:
    work, bootstrap = sys.argv[1], sys.argv[2]
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    hosts = {}
    for index in range(1, 4):
        hosts[f"signer-{index}"] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": "/usr/bin/python3",
            "signerd_root": f"{work}/signer-{index}",
            "signerd_hsm_pin": secrets.token_hex(12),
            "signerd_softhsm_so_pin": secrets.token_hex(12),
        }
    alice_grants = [
        {"key_types": ["gran"], "operations": ["sign", "list"], "public_keys": [ALICE_ED25519]},
        {"key_types": ["babe", "asgn"], "operations": ["sign", "vrf", "list"], "public_keys": [ALICE_SR25519]},
        {"key_types": ["para", "audi"], "operations": ["sign", "list"], "public_keys": [ALICE_SR25519]},
        {"key_types": ["beef"], "operations": ["sign", "list"], "public_keys": [ALICE_ECDSA]},
    ]
    signers_vars = {
        "signerd_service_manager": "process",
        "signerd_user": user,
        "signerd_group": user,
        "signerd_create_user": False,
        "signerd_binary_src_dir": f"{work}/bin",
        "signerd_listen": "127.0.0.1:0",
        "signerd_metrics_listen": "0",
        "signerd_worker_threads": 2,
        "signerd_genesis_hash": "0xdede000000000000000000000000000000000000000000000000000000000001",
        "signerd_hsm_token_label": "ci-signer",
        "signerd_tls_cert_src": f"{work}/pki/server.crt",
        "signerd_tls_key_src": f"{work}/pki/server.key",
        "signerd_tls_ca_src": f"{work}/pki/ca.crt",
        "signerd_kafka_brokers": bootstrap,
        "signerd_dev_suri": "//Alice",
        # The two gateways of the redundant validator are granted what the node is.
        "signerd_policy_identities": {
            "validator-alice": alice_grants,
            "validator-alice-a": alice_grants,
            "validator-alice-b": alice_grants,
            "intruder": [],
        },
        "signerd_rotation_identity": "validator-alice",
        "signerd_rotation_native_suri_file": f"{work}/offline.suri",
        "signerd_rotation_record_dir": f"{work}/rotations",
        "signerd_backup_dir": f"{work}/backups",
    }
    # Validator alice's active node (-a) and hot standby (-b): each gateway on loopback TCP with the
    # dev PKI's server certificate, admitting the PKI's clients, towards the signers as its own identity.
    validators = {}
    for node in ("a", "b"):
        validators[f"validator-alice-{node}"] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": "/usr/bin/python3",
            "signer_gateway_root": f"{work}/validator-alice-{node}",
            "signer_gateway_tls_cert_src": f"{work}/pki/validator-alice-{node}.crt",
            "signer_gateway_tls_key_src": f"{work}/pki/validator-alice-{node}.key",
        }
    validators_vars = {
        "signer_gateway_service_manager": "process",
        "signer_gateway_user": user,
        "signer_gateway_group": group,
        "signer_gateway_create_user": False,
        "signer_gateway_binary_src_dir": f"{work}/bin",
        "signer_gateway_validator": "validator-alice",
        "signer_gateway_tls_ca_src": f"{work}/pki/ca.crt",
        "signer_gateway_listen_tcp": "127.0.0.1:0",
        "signer_gateway_listen_tls_cert_src": f"{work}/pki/server.crt",
        "signer_gateway_listen_tls_key_src": f"{work}/pki/server.key",
        "signer_gateway_listen_tls_client_ca_src": f"{work}/pki/ca.crt",
        "signer_gateway_metrics_listen": "127.0.0.1:0",
        "signer_gateway_health_interval_ms": 200,
    }
    inventory = {"all": {"children": {
        "signers": {"hosts": hosts, "vars": signers_vars},
        "kafka_admin": {"hosts": {}},
        "validators": {"hosts": validators, "vars": validators_vars},
    }}}
    # JSON is YAML; Ansible reads it as an inventory file.
    print("# infra/check.sh's localhost inventory (generated; DEVELOPMENT AND CI ONLY)")
    print(json.dumps(inventory, indent=2))


if __name__ == "__main__":
    main()
