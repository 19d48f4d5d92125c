#!/usr/bin/env python3
# Writes the hand-built seed corpora of the signer and signerd fuzz targets (run from the repo root).
import json
import os
import struct

ALICE_ED25519 = bytes.fromhex("88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee")
ALICE_SR25519 = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
ALICE_ECDSA = bytes.fromhex("020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1")
CORPUS = "tests/fuzz/corpus"


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number, payload):
    if isinstance(payload, bool):
        return varint(number << 3) + varint(int(payload))
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def grandpa_vote(stage, hash_byte, number, round_number, set_id):
    return bytes([stage]) + bytes([hash_byte]) * 32 + struct.pack("<IQQ", number, round_number, set_id)


def record(kind, message):
    return bytes([kind]) + struct.pack("<H", len(message)) + message


def write(target, name, data):
    os.makedirs(f"{CORPUS}/{target}", exist_ok=True)
    with open(f"{CORPUS}/{target}/{name}", "wb") as out:
        out.write(data)


def sign_with(key_type, crypto, key, message, preimage=b"", prehashed=False):
    out = field(1, key_type) + field(2, crypto) + field(3, key) + field(4, message)
    if preimage:
        out += field(6, preimage)
    if prehashed:
        out += field(7, True)
    return out


def pipeline_seeds():
    target = "signerd_core_pipeline_fuzz"
    alice, intruder = b"\x00", b"\x01"
    vote = sign_with("gran", "ed25519", ALICE_ED25519, grandpa_vote(0, 0xAA, 100, 7, 3))
    resign = vote
    equivocation = sign_with("gran", "ed25519", ALICE_ED25519, grandpa_vote(0, 0xBB, 101, 7, 3))
    write(target, "grandpa_vote_resign_equivocation",
          alice + record(0, vote) + record(0, resign) + record(0, equivocation))
    write(target, "grandpa_vote_intruder", intruder + record(0, vote))
    any_request = field(1, "gran") + field(2, "ed25") + field(3, bytes(32)) + field(3, ALICE_ED25519) \
        + field(4, grandpa_vote(1, 0xCC, 5, 1, 0))
    write(target, "sign_with_any_crypto_id", alice + record(1, any_request))
    prehashed = field(1, "beef") + field(2, ALICE_ECDSA) + field(3, bytes(range(32))) + field(4, b"\x00\x01")
    write(target, "ecdsa_prehashed_beef", alice + record(2, prehashed))
    item = field(1, b"slot number") + field(2, struct.pack("<Q", 42))
    transcript = field(1, "BABE") + field(3, item)
    vrf = field(1, "babe") + field(2, ALICE_SR25519) + field(3, transcript)
    write(target, "vrf_babe", alice + record(3, vrf))
    has_keys = field(1, field(1, ALICE_ED25519) + field(2, "gran")) \
        + field(1, field(1, ALICE_SR25519) + field(2, "babe"))
    write(target, "has_keys_keys_public_keys",
          alice + record(4, has_keys) + record(5, field(1, "gran")) + record(6, field(1, "babe")))


def policy_seeds():
    target = "signerd_core_policy_fuzz"
    write(target, "docs_example.yaml", (
        "identities:\n"
        "  validator-alice:\n"
        "    - key_types: [gran, babe]\n"
        "      operations: [sign, vrf, list]\n"
        f"      public_keys: [\"0x{ALICE_ED25519.hex()}\", \"{ALICE_SR25519.hex()}\"]\n"
        "  key-admin:\n"
        "    - key_types: [gran]\n"
        "      operations: [generate, insert]\n"
        "  intruder: []\n").encode())
    write(target, "flow_style.yaml",
          b"{identities: {validator-alice: [{key_types: [beef], operations: [sign],"
          b" public_keys: ['" + ALICE_ECDSA.hex().encode() + b"']}]}}\n")


def keystore_seeds():
    target = "keymgr_keystore_fuzz"
    write(target, "name_ed25519", ("6772616e" + ALICE_ED25519.hex()).encode())
    write(target, "name_ecdsa", ("62656566" + ALICE_ECDSA.hex()).encode())
    write(target, "content_dev_suri", b'"//Alice"\n')
    write(target, "content_escapes", b' "bottom drive obey lake curtain smoke basket hold race lonely'
          b' fit walk//Alice\\/x\\u0041\\n" ')


def backup_seeds():
    target = "keymgr_backup_fuzz"
    # Header: magic, version 1, kdf 1 (Argon2id13), aead 1 (XChaCha20-Poly1305), reserved, opslimit,
    # memlimit, salt(16), nonce(24), then ciphertext and tag; the target lowers in-range limits.
    header = b"PRSKBACK" + bytes([1, 1, 1, 0]) + struct.pack("<QQ", 2, 64 << 20) + bytes(16) + bytes(24)
    write(target, "header_and_tag", header + bytes(16))
    write(target, "header_payload_tag", header + bytes(range(48)) + bytes(16))
    write(target, "limits_out_of_range",
          b"PRSKBACK" + bytes([1, 1, 1, 0]) + struct.pack("<QQ", 0, 1 << 40) + bytes(56))


def config_seeds():
    target = "signer_common_config_fuzz"
    # The shape infra/dev/dev-setup.sh writes, with the server section of docs/signerd.md.
    signerctl = (
        "signer_id: dev-signer\n"
        "hsm:\n"
        "  module: /usr/lib/softhsm/libsofthsm2.so\n"
        "  token_label: signer-dev\n"
        "  pin_file: hsm.pin\n"
        "history:\n"
        "  data_dir: history\n"
        "  genesis_hash: \"0x" + "91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3" + "\"\n")
    write(target, "signerctl.yaml", signerctl.encode())
    server = signerctl + (
        "keys:\n"
        "  delete_guard_seconds: 604800\n"
        "server:\n"
        "  listen: \"127.0.0.1:0\"\n"
        "  tls:\n"
        "    cert_file: pki/server.crt\n"
        "    key_file: pki/server.key\n"
        "    client_ca_file: pki/ca.crt\n"
        "  policy_file: policy.yaml\n"
        "  audit_log: audit.jsonl\n"
        "  max_in_flight: 256\n"
        "  worker_threads: 4\n"
        "  max_deadline_ms: 10000\n")
    write(target, "signerd.yaml", server.encode())
    write(target, "json_form.json", b'{"signer_id": "x", "hsm": {"module": "m.so", "token_label": "t",'
          b' "pin_env": "PIN"}, "history": {"data_dir": "/h", "genesis_hash": "0x' + b"00" * 32 + b'"}}')


def polkadot_js_seeds():
    target = "keymgr_polkadot_js_fuzz"
    # The exports @polkadot/keyring 14.0.3 made for the CLI tests (source line in the fixture).
    with open("tests/cli/keys_polkadot_js_fixture.json") as fixture:
        exports = json.load(fixture)["exports"]
    for export in exports:
        write(target, f"keyring_{export['type']}.json", json.dumps(export["json"]).encode())


def frost_seeds():
    # [selector][suite][bytes] as keymgr_frost_fuzz reads them (suite 0 ed25519, 1 ristretto255, 2
    # sr25519), filled with the RFC 9591 vectors in tests/vectors/frost/.
    target = "keymgr_frost_fuzz"
    for suite, name in ((0, "ed25519"), (1, "ristretto255")):
        with open(f"tests/vectors/frost/frost-{name}-sha512.rfc9591.json") as source:
            vector = json.load(source)

        def ident(value):
            return value.to_bytes(32, "little")

        group_key = bytes.fromhex(vector["inputs"]["group_public_key"])
        rounds = vector["round_one_outputs"]["outputs"]
        entries = [ident(r["identifier"]) + bytes.fromhex(r["hiding_nonce_commitment"])
                   + bytes.fromhex(r["binding_nonce_commitment"]) for r in rounds]
        shares = [ident(r["identifier"]) + bytes.fromhex(r["sig_share"])
                  for r in vector["round_two_outputs"]["outputs"]]
        share_value = bytes.fromhex(vector["inputs"]["participant_shares"][0]["participant_share"])
        message = bytes.fromhex(vector["inputs"]["message"])

        def seed(selector, label, payload):
            write(target, f"{name}_{label}", bytes([selector, suite]) + payload)

        seed(0, "identifier", ident(3))
        seed(1, "scalar", bytes.fromhex(shares[0][32:].hex()))
        seed(2, "element", group_key)
        seed(3, "commitments", entries[0])
        seed(4, "commitment_list", b"".join(entries))
        seed(5, "signature_share", shares[1])
        proof = bytes.fromhex(rounds[0]["hiding_nonce_commitment"]) + shares[0][32:]
        seed(6, "dkg_round1", ident(1) + struct.pack("<H", 2) + group_key + entries[0][32:64] + proof)
        seed(7, "dkg_share", ident(1) + ident(2) + share_value)
        seed(8, "vss_commitment", struct.pack("<H", 2) + group_key + entries[1][32:64])
        # The vector's own signing session; the target's fixed key is the ed25519 vector's, so the
        # ed25519 seed aggregates to a valid signature and the ristretto255 one reaches cheater detection.
        seed(9, "signing_session", bytes([len(entries)]) + b"".join(entries) + bytes([len(shares)])
             + b"".join(shares) + message)
        public = bytes([suite + 1]) + struct.pack("<HH", 2, 2) + group_key + b"".join(
            e[:64] for e in entries)
        seed(10, "public_key_package", public)
        seed(10, "verify_signature", group_key + bytes.fromhex(vector["final_output"]["sig"]) + message)


pipeline_seeds()
config_seeds()
polkadot_js_seeds()
policy_seeds()
keystore_seeds()
backup_seeds()
frost_seeds()
