#!/usr/bin/env bash
# Creates a complete development signer in DIR (SoftHSM2 token, dev PKI, //Alice keys, policy, config); idempotent.
#
# Usage: infra/dev/dev-setup.sh [--port N] DIR
#   Needs build/signer/signerctl (or SIGNERCTL=path). Every value made here is for development only: the PINs, the
#   //Alice keys and the genesis hash are public.
set -euo pipefail

port=${SIGNER_DEV_PORT:-7443}
dir=
while (($#)); do
  case $1 in
    --port) port=$2; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    -*) echo "dev-setup: unknown option $1" >&2; exit 2 ;;
    *) dir=$1; shift ;;
  esac
done
if [[ -z $dir ]]; then
  echo "usage: dev-setup.sh [--port N] DIR" >&2
  exit 2
fi
if ! [[ $port =~ ^[0-9]+$ ]] || ((port > 65535)); then
  echo "dev-setup: bad port $port" >&2
  exit 2
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
signerctl=${SIGNERCTL:-$repo/build/signer/signerctl}
if [[ ! -x $signerctl ]]; then
  echo "dev-setup: $signerctl not found; build the signerctl target first" >&2
  exit 1
fi
softhsm_module=
for candidate in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
  /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  if [[ -f $candidate ]]; then softhsm_module=$candidate; break; fi
done
if [[ -z $softhsm_module ]]; then
  echo "dev-setup: libsofthsm2.so not found; run infra/dev/install-deps.sh" >&2
  exit 1
fi

umask 077
# The config is the last file written: its presence means a previous run finished, so the directory is kept.
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
config=$dir/signerd.yaml
if [[ -f $config ]]; then
  echo "dev-setup: $dir is already set up; left as is (delete it to start over)"
  exit 0
fi
if [[ -n $(ls -A "$dir") ]]; then
  echo "dev-setup: $dir holds an unfinished setup; delete it and run again" >&2
  exit 1
fi


token_label=dev-signer
# A well-known dev-only value (not any chain's genesis), so history records are never mistaken for a real chain's.
genesis=0xdede000000000000000000000000000000000000000000000000000000000001

# SoftHSM2 reads its token directory from SOFTHSM2_CONF: this token lives entirely inside DIR.
mkdir "$dir/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir/tokens" \
  >"$dir/softhsm2.conf"
export SOFTHSM2_CONF=$dir/softhsm2.conf
# Fresh random PINs, kept only in 0600 files: the user PIN is what signerd and signerctl read.
head -c 18 /dev/urandom | base64 | tr -d '\n/+=' >"$dir/hsm.pin"
head -c 18 /dev/urandom | base64 | tr -d '\n/+=' >"$dir/hsm-so.pin"
chmod 600 "$dir/hsm.pin" "$dir/hsm-so.pin"
softhsm2-util --init-token --free --label "$token_label" \
  --pin "$(cat "$dir/hsm.pin")" --so-pin "$(cat "$dir/hsm-so.pin")" >/dev/null

"$signerctl" tls init-dev --dir "$dir/pki" --clients validator-alice,intruder >/dev/null

# //Alice's public keys, from the spec's known answers (signerctl import reports the same, checked below).
alice_sr25519=d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d
alice_ed25519=88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee
alice_ecdsa=020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1

cat >"$dir/policy.yaml" <<EOF
# Development policy: validator-alice may use every //Alice session key; intruder is known but granted nothing.
identities:
  validator-alice:
    - {key_types: [gran], operations: [sign, list], public_keys: ["$alice_ed25519"]}
    - {key_types: [babe, asgn], operations: [sign, vrf, list], public_keys: ["$alice_sr25519"]}
    - {key_types: [para, audi], operations: [sign, list], public_keys: ["$alice_sr25519"]}
    - {key_types: [beef], operations: [sign, list], public_keys: ["$alice_ecdsa"]}
  intruder: []
EOF

# The keys commands read the token from the same config signerd uses; write it under a temporary name first.
cat >"$dir/signerd.yaml.partial" <<EOF
# Development signer (infra/dev/dev-setup.sh). Not for production: //Alice keys, dev PKI, dev genesis hash.
signer_id: dev-signer
hsm:
  module: $softhsm_module
  token_label: $token_label
  pin_file: $dir/hsm.pin
history:
  data_dir: $dir/history
  genesis_hash: "$genesis"
server:
  listen: "127.0.0.1:$port"
  tls:
    cert_file: $dir/pki/server.crt
    key_file: $dir/pki/server.key
    client_ca_file: $dir/pki/ca.crt
  policy_file: $dir/policy.yaml
  audit_log: $dir/audit.jsonl
  max_in_flight: 64
  worker_threads: 2
EOF

declare -A expected_key=([babe]=$alice_sr25519 [gran]=$alice_ed25519 [beef]=$alice_ecdsa
  [para]=$alice_sr25519 [asgn]=$alice_sr25519 [audi]=$alice_sr25519)
for key_type in babe gran beef para asgn audi; do
  imported=$(SIGNER_SURI=//Alice "$signerctl" keys import --config "$dir/signerd.yaml.partial" --type "$key_type")
  if [[ $imported != *"${expected_key[$key_type]}"* ]]; then
    echo "dev-setup: importing $key_type gave $imported, expected public key ${expected_key[$key_type]}" >&2
    exit 1
  fi
done
mv "$dir/signerd.yaml.partial" "$config"

cat <<EOF
dev-setup: made a development signer in $dir
  config         $config (listen 127.0.0.1:$port)
  token          SoftHSM2 "$token_label", SOFTHSM2_CONF=$dir/softhsm2.conf, user PIN in $dir/hsm.pin (0600)
  keys           //Alice: babe, para, asgn, audi (sr25519 0x$alice_sr25519)
                 gran (ed25519 0x$alice_ed25519), beef (ecdsa 0x$alice_ecdsa)
  pki            $dir/pki: ca.crt, server.crt/.key, validator-alice.crt/.key (all keys), intruder.crt/.key (none)
  policy         $dir/policy.yaml
  history        $dir/history (RocksDB), dev genesis $genesis
  audit log      $dir/audit.jsonl
EOF
