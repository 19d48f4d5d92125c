#!/bin/sh
# Init step of every signer pod (signerd, keyagentd) and of the validator's gateway: private secret copies, the pod's config, state directories, a SoftHSM2 token.
#
# Why the copies: a Secret volume cannot hand a file to a non-root user. kubelet makes its files root's,
# and with the pod's fsGroup also group-readable (defaultMode 0400 becomes 0440), while signerd and
# keyagentd refuse a key or PIN file that group or others may read. This step runs as the daemon's own
# user, reads the group-readable files once, and writes owner-only (0400) copies into a memory-backed
# emptyDir. The copies are made at pod start: a rotated Secret takes effect with a rollout restart.
#
# Environment: POD_NAME (downward API), SIGNER_CONFIG_NAME (the config file in /etc/signer/template),
# SOFTHSM_TOKEN_LABEL and SOFTHSM2_CONF (only where SoftHSM2 is the PKCS#11 module), PREPARE_STATE
# (none: no state directories).
set -eu
umask 077

secrets_in=/etc/signer/secrets
secrets_out=/run/signer/secrets
config_out=/run/signer/config
state=/var/lib/signer

# A restarted init container finds its earlier copies (the emptyDir lives as long as the pod), and
# 0400 files cannot be written over: start from nothing.
rm -rf "$secrets_out" "$config_out"
mkdir -p "$secrets_out" "$config_out"
for secret_dir in "$secrets_in"/*/; do
  [ -d "$secret_dir" ] || continue
  secret_name=$(basename "$secret_dir")
  mkdir -p "$secrets_out/$secret_name"
  # The glob skips the volume's hidden ..data bookkeeping; each visible name is a link to a file in it.
  for secret_file in "$secret_dir"*; do
    [ -f "$secret_file" ] || continue
    copy="$secrets_out/$secret_name/$(basename "$secret_file")"
    cat "$secret_file" >"$copy"
    chmod 0400 "$copy"
  done
done

# The pod's name becomes signer_id, so each replica names itself in logs, audit lines and Kafka claims.
case $POD_NAME in
  *[!a-z0-9-]* | '') echo "prepare: unexpected pod name '$POD_NAME'" >&2; exit 1 ;;
esac
sed "s/@POD_NAME@/$POD_NAME/g" "/etc/signer/template/$SIGNER_CONFIG_NAME" >"$config_out/$SIGNER_CONFIG_NAME"
chmod 0400 "$config_out/$SIGNER_CONFIG_NAME"

# A daemon's state directories on the pod's volume. The validator's gateway has no such volume (its
# pool-history lives on a volume of its own, and the gateway makes that directory itself): its pod
# sets PREPARE_STATE=none.
if [ "${PREPARE_STATE:-signer}" != none ]; then
  mkdir -p "$state/history" "$state/audit" "$state/tokens"
  chmod 0700 "$state/history" "$state/audit" "$state/tokens"
fi

# First start on an empty volume: a SoftHSM2 token with the PINs of the hsm Secret. A later start finds
# it and leaves it alone. A vendor HSM's token is set up with the vendor's tools instead, and the pod
# spec then sets no SOFTHSM_TOKEN_LABEL.
if [ -n "${SOFTHSM_TOKEN_LABEL:-}" ] && [ -z "$(ls -A "$state/tokens")" ]; then
  softhsm2-util --init-token --free --label "$SOFTHSM_TOKEN_LABEL" \
    --so-pin "$(cat "$secrets_out/hsm/so.pin")" --pin "$(cat "$secrets_out/hsm/user.pin")" >/dev/null
  echo "prepare: created SoftHSM2 token $SOFTHSM_TOKEN_LABEL" >&2
fi
