#!/usr/bin/env bash
# First-boot setup of a validator + signer host (run once by cloud-init): binaries, users, configs; dev mode starts signerd and the node.
#
# Usage: validator-setup ENV_FILE   (written by infra/terraform/cloud-init.yaml.tftpl; every value is
# checked by the Terraform variables' validations)
#
# dev:  `signerctl dev init` makes a throwaway signer (SoftHSM2 token with //Alice's keys, dev PKI,
#       policy) listening on 127.0.0.1:7443; the node gets the dev PKI's validator-alice certificate;
#       both are started.
# prod: the config, token directory and units are put in place; signerd and the node are enabled and
#       started by the operator once the TLS files, PIN, policy and keys are there (docs/deploy.md).
set -euo pipefail

env_file=$1
# shellcheck source=/dev/null
source "$env_file"

log() { echo "validator-setup: $*" >&2; }

# fetch URL SHA256 DEST: downloads over HTTPS only and refuses a file whose digest differs.
fetch() {
  local url=$1 sha256=$2 dest=$3
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 5 --output "$dest" "$url"
  echo "$sha256  $dest" | sha256sum --check --quiet -
}

# install_from_tarball URL SHA256 FILE...: the named files from the top level of a .tar.gz to /usr/local/bin.
install_from_tarball() {
  local url=$1 sha256=$2
  shift 2
  local work
  work=$(mktemp -d)
  fetch "$url" "$sha256" "$work/release.tar.gz"
  tar -xzf "$work/release.tar.gz" -C "$work" "$@"
  local file
  for file in "$@"; do
    install -o root -g root -m 0755 "$work/$file" "/usr/local/bin/$file"
  done
  rm -rf "$work"
}

install_from_tarball "$SIGNER_RELEASE_URL" "$SIGNER_RELEASE_SHA256" signerd signerctl
install_from_tarball "$NODE_RELEASE_URL" "$NODE_RELEASE_SHA256" polkadot polkadot-prepare-worker polkadot-execute-worker
log "installed signerd, signerctl and the node"

systemd-sysusers
systemctl daemon-reload
# The layout of infra/systemd/signerd.service (and of the Ansible role): config root:signerd 0750,
# state and logs signerd's own.
install -d -o root -g signerd -m 0750 /etc/signerd /etc/signerd/tls
install -d -o signerd -g signerd -m 0700 /var/lib/signerd /var/log/signerd
install -d -o root -g polkadot -m 0750 /etc/polkadot /etc/polkadot/signer

# The node's flags beyond the unit's own (chain, name), read by polkadot.service.
printf 'NODE_ARGS=%s\n' "$NODE_ARGS" >/etc/polkadot/node.env
chmod 0644 /etc/polkadot/node.env

if [[ $SIGNER_MODE == dev ]]; then
  dev_dir=/var/lib/signerd/dev
  # Token, PINs, PKI, //Alice's keys, policy and a config with absolute paths, all in signerd's state
  # directory; /etc/signerd points at them, so the unit runs unchanged.
  runuser -u signerd -- /usr/local/bin/signerctl dev init --dir "$dev_dir" --port 7443 >/dev/null
  ln -sfn "$dev_dir/signerd.yaml" /etc/signerd/signerd.yaml
  ln -sfn "$dev_dir/softhsm2.conf" /etc/signerd/softhsm2.conf
  install -o root -g polkadot -m 0444 "$dev_dir/pki/ca.crt" /etc/polkadot/signer/ca.crt
  install -o root -g polkadot -m 0444 "$dev_dir/pki/validator-alice.crt" /etc/polkadot/signer/client.crt
  install -o polkadot -g polkadot -m 0400 "$dev_dir/pki/validator-alice.key" /etc/polkadot/signer/client.key
  # Type=notify: this returns once signerd serves.
  systemctl enable --now signerd.service
  systemctl enable --now polkadot.service
  log "dev signer and node started (chain $CHAIN)"
  exit 0
fi

# prod: the same paths the Ansible role (infra/ansible/roles/signerd) writes, so deploy-signers.yml can
# take the host over; its config template replaces this file.
install -d -o signerd -g signerd -m 0700 /var/lib/signerd/tokens
cat >/etc/signerd/softhsm2.conf <<EOF
# SoftHSM2 settings of signerd (validator-setup): the token lives in signerd's state directory.
directories.tokendir = /var/lib/signerd/tokens
objectstore.backend = file
log.level = ERROR
EOF
cat >/etc/signerd/signerd.yaml <<EOF
# signerd configuration of $NODE_NAME (validator-setup); see docs/signerd.md.
signer_id: $NODE_NAME
hsm:
  module: /usr/lib/softhsm/libsofthsm2.so
  token_label: signer
  pin_file: /etc/signerd/hsm.pin
history:
  data_dir: /var/lib/signerd/history
  genesis_hash: "$GENESIS_HASH"
server:
  listen: "$SIGNER_LISTEN"
  tls:
    cert_file: /etc/signerd/tls/server.crt
    key_file: /etc/signerd/tls/server.key
    client_ca_file: /etc/signerd/tls/ca.crt
  policy_file: /etc/signerd/policy.yaml
  audit_log: /var/log/signerd/audit.jsonl
  metrics_listen: "$SIGNER_METRICS_LISTEN"
EOF
chown root:signerd /etc/signerd/softhsm2.conf /etc/signerd/signerd.yaml
chmod 0640 /etc/signerd/softhsm2.conf /etc/signerd/signerd.yaml
log "prod host prepared for chain $CHAIN; signerd and the node start once the operator's files are in place"
