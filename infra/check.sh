#!/usr/bin/env bash
# Checks every production recipe in infra/ offline with the tools' own validators; exits non-zero on any finding.
#
# Usage: bash infra/check.sh [SECTION...]   (sections: systemd k8s terraform monitoring proxy scripts ansible;
#                                            default all)
#
# Each section runs in a subshell with `set -e`, so its first failing check fails it; every section runs,
# the script fails if any did, and it ends with each section's time. The Ansible section runs the deploy
# and rotate playbooks and the redundant validator's gateways for real against localhost, into a
# temporary prefix, with the signerd, signerctl, signer-gateway and kafka-dev-broker binaries of
# SIGNER_BUILD_DIR (default build/; built there if missing).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build_dir=${SIGNER_BUILD_DIR:-build}
case $build_dir in /*) ;; *) build_dir=$repo/$build_dir ;; esac
# Debian's interpreter, where python3-yaml (and Ansible) are installed, whatever else is on PATH.
python=/usr/bin/python3

scratch=$(mktemp -d "${TMPDIR:-/tmp}/infra-check.XXXXXX")
section_names=()
section_seconds=()
section_results=()
started=$SECONDS
finish() {
  local status=$?
  printf '\n==> infra check times (s)\n' >&2
  local i
  for i in "${!section_names[@]}"; do
    printf '%6d  %-10s %s\n' "${section_seconds[$i]}" "${section_names[$i]}" "${section_results[$i]}" >&2
  done
  printf '%6d  total\n' "$((SECONDS - started))" >&2
  rm -rf "$scratch"
  exit "$status"
}
trap finish EXIT

# ---------------------------------------------------------------------------------------------------
# verify_unit SECTION UNIT: `systemd-analyze verify` must pass UNIT without a word. verify insists that
# ExecStart= binaries exist; the project's own are not installed on a CI host, so a copy of the unit
# names an executable stand-in instead (nothing else in the copy changes).
verify_unit() {
  local section=$1 unit=$2
  local stand_ins=$scratch/systemd/bin units=$scratch/systemd/units name program verify_output
  mkdir -p "$stand_ins" "$units"
  name=$(basename "$unit")
  while IFS= read -r program; do
    printf '#!/bin/sh\nexit 0\n' >"$stand_ins/$program"
    chmod 755 "$stand_ins/$program"
  done < <(grep -oE '^Exec[A-Za-z]*=[-@:+!]*/usr/local/bin/[A-Za-z0-9_.-]+' "$unit" |
    sed -E 's#.*/usr/local/bin/##' | sort -u)
  sed -E "s#^(Exec[A-Za-z]*=[-@:+!]*)/usr/local/bin/#\\1$stand_ins/#" "$unit" >"$units/$name"
  verify_output=$(systemd-analyze verify --man=no "$units/$name" 2>&1) || {
    echo "$section: $name: systemd-analyze verify failed: $verify_output" >&2
    return 1
  }
  if [[ -n $verify_output ]]; then
    echo "$section: $name: systemd-analyze verify reports: $verify_output" >&2
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------------
# systemd: verify every unit and bound its exposure; check the sysusers entries.
check_systemd() {
  local max_exposure=2.0
  local unit name
  # The signer's units, and the RPC pool's (infra/pool, docs/rpc-pool.md).
  for unit in infra/systemd/*.service infra/pool/*.service; do
    name=$(basename "$unit")
    verify_unit systemd "$unit"
    local security exposure
    security=$(systemd-analyze security --offline=yes "$unit" 2>&1)
    exposure=$(sed -nE 's/.*Overall exposure level for [^:]+: ([0-9.]+).*/\1/p' <<<"$security")
    if [[ -z $exposure ]]; then
      echo "systemd: $name: no exposure level in: $security" >&2
      return 1
    fi
    echo "systemd: $name: verify clean, exposure $exposure (at most $max_exposure)"
    if ! awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
      grep '✗' <<<"$security" >&2 || true
      echo "systemd: $name: exposure $exposure is above $max_exposure" >&2
      return 1
    fi
  done
  local sysusers root
  for sysusers in infra/systemd/*.sysusers; do
    root=$scratch/systemd/root-$(basename "$sysusers")
    mkdir -p "$root/etc"
    local sysusers_output
    sysusers_output=$(systemd-sysusers --dry-run --root="$root" "$repo/$sysusers" 2>&1) || {
      echo "systemd: $(basename "$sysusers"): systemd-sysusers refuses it: $sysusers_output" >&2
      return 1
    }
    echo "systemd: $(basename "$sysusers"): systemd-sysusers accepts it"
  done
}

# ---------------------------------------------------------------------------------------------------
# k8s: every kustomization of infra/k8s rendered with `kubectl kustomize` (KUBECTL names another
# kubectl), each object validated against the Kubernetes API schemas, and the recipe's pod and network
# rules, all in infra/k8s/check_k8s.js (which also proves each rule fails on a broken copy).
check_k8s() {
  local kubectl=${KUBECTL:-kubectl}
  echo "k8s: rendering with $("$kubectl" version --client 2>/dev/null | tr '\n' ' ')"
  (cd infra/k8s && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  KUBECTL=$kubectl node infra/k8s/check_k8s.js
}

# ---------------------------------------------------------------------------------------------------
# terraform: offline, no provider download and no terraform binary: every .tf parsed with hcl2json and
# its structure tested, the cloud-init template rendered with test values for both signer modes and
# checked by `cloud-init schema`, all in infra/terraform/check_terraform.js (which also proves each rule
# fails on a broken copy); the node's unit the template installs through `systemd-analyze verify`.
check_terraform() {
  (cd infra/terraform && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  node infra/terraform/check_terraform.js
  verify_unit terraform infra/terraform/files/polkadot.service
  echo "terraform: polkadot.service: verify clean"
}

# ---------------------------------------------------------------------------------------------------
# monitoring: promtool on the rules, their tests and the scrape config; the cross-checks against
# signerd's metric names, the runbooks and the dashboards.
check_monitoring() {
  (
    cd infra/monitoring
    promtool check rules alerts.yml
    promtool test rules alerts_test.yml
    promtool check config prometheus.yml
  )
  "$python" infra/monitoring/check_monitoring.py "$repo"
}

# ---------------------------------------------------------------------------------------------------
# ansible: syntax and lint of every playbook, then a real run of the deploy and rotate playbooks
# against three signers on localhost (connection local, each under its own prefix, started without
# systemd) sharing kafka-dev-broker, ending with `signerctl demo` answered by every signer.
ansible_playbooks=(deploy-signers.yml deploy-validators.yml deploy-key-agents.yml rotate-session-keys.yml backup.yml restore.yml rolling-upgrade.yml
  rotate-tls.yml)
broker_pid=
# stop_ci_signers stops the localhost run's signers (waiting until each has exited, as the role's own
# helper does) and its broker, before the scratch directory they write into is removed.
stop_ci_signers() {
  stop_ci_gateways
  local root
  for root in "$scratch"/ansible/signer-*; do
    [[ -x $root/usr/local/bin/signerd-process ]] || continue
    "$root/usr/local/bin/signerd-process" stop "$root/usr/local/bin/signerd" "$root/etc/signerd/signerd.yaml" \
      "$root/run/signerd" || true
  done
  if [[ -n $broker_pid ]]; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
}

check_ansible() {
  (
    cd infra/ansible
    # One run for all of them: each ansible-playbook start costs a second or more.
    ansible-playbook --syntax-check -i inventories/production.example.yml "${ansible_playbooks[@]}" >/dev/null
    echo "ansible: --syntax-check clean for ${ansible_playbooks[*]}"
  )
  # ansible-lint is CPU-bound and the localhost run below mostly waits on processes: run them side by
  # side, and fail at the end if lint found anything.
  mkdir -p "$scratch/ansible"
  (cd infra/ansible && ansible-lint --profile production --offline --nocolor "${ansible_playbooks[@]}" roles) \
    >"$scratch/ansible/lint.log" 2>&1 &
  local lint_pid=$!

  local signerd=$build_dir/bin/signerd signerctl=$build_dir/bin/signerctl broker=$build_dir/kafka/kafka-dev-broker
  local gateway=$build_dir/bin/signer-gateway
  if [[ ! -x $signerd || ! -x $signerctl || ! -x $broker || ! -x $gateway ]]; then
    echo "ansible: building signerd, signerctl, signer-gateway and kafka-dev-broker in $build_dir" >&2
    [[ -f $build_dir/build.ninja ]] ||
      cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIGNER_WERROR=ON >/dev/null
    cmake --build "$build_dir" -j "${SIGNER_BUILD_JOBS:-$(nproc)}" --target signerd signerctl signer-gateway kafka-dev-broker
  fi
  local work=$scratch/ansible
  mkdir -p "$work/bin"
  cp "$signerd" "$signerctl" "$gateway" "$work/bin/"
  "$signerctl" tls init-dev --dir "$work/pki" --clients validator-alice,intruder,validator-alice-a,validator-alice-b >/dev/null
  printf '//CiRotation' >"$work/offline.suri"
  chmod 0600 "$work/offline.suri"

  mkfifo "$work/broker.in"
  "$broker" <>"$work/broker.in" >"$work/broker.out" 2>"$work/broker.log" &
  broker_pid=$!
  trap stop_ci_signers EXIT
  local bootstrap='' i
  for ((i = 0; i < 300; i++)); do
    # The broker's shell may not have created broker.out yet: not a failure, just not started yet.
    bootstrap=$(sed -n 's/^kafka-dev-broker bootstrap=\([^ ]*\).*/\1/p' "$work/broker.out" 2>/dev/null) || true
    [[ -n $bootstrap ]] && break
    sleep 0.1
  done
  [[ -n $bootstrap ]] || { echo "ansible: kafka-dev-broker did not start" >&2; cat "$work/broker.log" >&2; return 1; }

  "$python" infra/ansible/inventories/make_ci_inventory.py "$work" "$bootstrap" >"$work/inventory.yml"
  # This run only: each host's facts are gathered by the first playbook and reused by the other eight
  # (the same minimal facts of the same machine); a real deploy gathers them afresh every time.
  export ANSIBLE_GATHERING=smart ANSIBLE_CACHE_PLUGIN=jsonfile ANSIBLE_CACHE_PLUGIN_CONNECTION=$work/facts
  (
    cd infra/ansible
    ansible-playbook -i "$work/inventory.yml" deploy-signers.yml
    demo_every_signer "$work" "$signerctl" "$work/pki"
    ansible-playbook -i "$work/inventory.yml" rotate-session-keys.yml
    demo_every_signer "$work" "$signerctl" "$work/pki"
    ansible-playbook -i "$work/inventory.yml" deploy-signers.yml | tee "$work/redeploy.log" >/dev/null
  )
  # A second deploy of an unchanged set changes nothing: the role is idempotent.
  [[ $(grep -cE '^signer-[0-9]+ +: .*changed=0 ' "$work/redeploy.log") == 3 ]] || {
    echo "ansible: a second deploy changed something:" >&2
    grep -E '^signer-[0-9]+ +:' "$work/redeploy.log" >&2
    return 1
  }
  echo "ansible: a second deploy changed nothing"
  redundant_validator "$work" "$signerctl"
  local record
  record=$(ls "$work"/rotations/*.json)
  "$python" - "$record" <<'PY'
import json, sys
record = json.load(open(sys.argv[1]))
keys = {k["key_type"]: k["public_key"][2:] for k in record["keys"]}
order = ["gran", "babe", "para", "asgn", "audi", "beef"]
assert record["session_keys"] == "0x" + "".join(keys[t] for t in order), record
assert len(record["session_keys"]) == 2 + 2 * (5 * 32 + 33), record["session_keys"]
print(f"ansible: rotation {record['rotation']} recorded SessionKeys {record['session_keys'][:18]}... on {len(record['signers'])} signers")
PY

  # The rotation timestamps for node_exporter (the rotation alerts): on every signer, in a form
  # node_exporter reads (promtool check metrics), with the identity the rotation was for.
  rotation_textfiles "$work" signer-session-keys-validator-alice.prom 'identity="validator-alice"'
  rotation_textfiles "$work" signer-tls-rotation.prom 'signer="signer-'
  local tls_written
  tls_written=$(stat -c %y "$work"/signer-*/var/lib/prometheus/node-exporter/signer-tls-rotation.prom)

  local before after
  # Rolling upgrade to a "new" build (the same binaries with bytes appended, which ELF ignores): every
  # signer must restart, one at a time, and serve again.
  mkdir -p "$work/bin-new"
  cp "$work/bin/signerd" "$work/bin/signerctl" "$work/bin-new/"
  printf '\nrolling-upgrade-test\n' >>"$work/bin-new/signerd"
  before=$(signer_pids "$work")
  (cd infra/ansible && ansible-playbook -i "$work/inventory.yml" rolling-upgrade.yml -e "signerd_binary_src_dir=$work/bin-new")
  after=$(signer_pids "$work")
  if [[ -n $(comm -12 <(tr ' ' '\n' <<<"$before" | sort) <(tr ' ' '\n' <<<"$after" | sort)) ]]; then
    echo "ansible: rolling-upgrade.yml left a signer on its old process ($before -> $after)" >&2
    return 1
  fi
  demo_every_signer "$work" "$signerctl" "$work/pki"
  echo "ansible: rolling-upgrade.yml restarted every signer (pids $before -> $after)"

  # TLS rotation to a new PKI (new CA, server and client certificates) without a restart: afterwards
  # the demo passes with the new client certificate, by the same processes.
  "$signerctl" tls init-dev --dir "$work/pki-new" >/dev/null
  before=$(signer_pids "$work")
  (cd infra/ansible && ansible-playbook -i "$work/inventory.yml" rotate-tls.yml -e "signerd_tls_cert_src=$work/pki-new/server.crt" \
    -e "signerd_tls_key_src=$work/pki-new/server.key" -e "signerd_tls_ca_src=$work/pki-new/ca.crt" >/dev/null)
  [[ $(signer_pids "$work") == "$before" ]] || { echo "ansible: rotate-tls.yml restarted a signer" >&2; return 1; }
  if [[ $(stat -c %y "$work"/signer-*/var/lib/prometheus/node-exporter/signer-tls-rotation.prom) == "$tls_written" ]]; then
    echo "ansible: rotate-tls.yml did not record the rotation time" >&2
    return 1
  fi
  demo_every_signer "$work" "$signerctl" "$work/pki-new"
  echo "ansible: rotate-tls.yml swapped the PKI without a restart"

  # Backup of every signer (keys and history), then a restore of one from its backup.
  head -c 24 /dev/urandom | base64 >"$work/backup.pass"
  chmod 0600 "$work/backup.pass"
  (cd infra/ansible && ansible-playbook -i "$work/inventory.yml" backup.yml -e "signerd_backup_passphrase_file=$work/backup.pass" >/dev/null)
  local backup
  for i in 1 2 3; do
    backup=$(ls -d "$work"/backups/signer-$i/*/)
    [[ -s $backup/keys.backup && -s $backup/history.json ]] || { echo "ansible: no backup of signer-$i" >&2; return 1; }
  done
  (cd infra/ansible && ansible-playbook -i "$work/inventory.yml" restore.yml --limit signer-2 \
    -e "signerd_restore_from=$(ls -d "$work"/backups/signer-2/*/)" -e "signerd_backup_passphrase_file=$work/backup.pass" >/dev/null)
  demo_every_signer "$work" "$signerctl" "$work/pki-new"
  echo "ansible: backup.yml backed up every signer, restore.yml restored signer-2"

  if ! wait "$lint_pid"; then
    cat "$scratch/ansible/lint.log" >&2
    echo "ansible: ansible-lint found problems" >&2
    return 1
  fi
  tail -n 1 "$scratch/ansible/lint.log"
}

# redundant_validator WORK SIGNERCTL: the redundant-validator recipe on the CI set. deploy-validators.yml
# gives validator alice's active node and hot standby each a gateway (started by the gateway itself
# from the recipe's config, so a config it refuses fails here) whose whole pool of three signers is
# eligible; both adopt the same history; `signerctl demo` passes through each gateway, so the
# standby's conflicting vote is refused after the active node's; and two nodes of one validator
# with different histories are refused before anything is deployed. The two gateways racing on
# the same rounds is GatewayE2eTest.TwoGatewaysRacingConflictingVotesNeverGetTwoSignaturesForOneRound.
redundant_validator() {
  local work=$1 signerctl=$2 node target
  "$python" - "$work" >"$work/upstreams.json" <<'PY'
import glob, json, re, sys
pool = []
for out in sorted(glob.glob(f"{sys.argv[1]}/signer-*/run/signerd/signerd.out")):
    address = re.search(r"^signerd listening on (\S+)", open(out).read(), re.M).group(1)
    pool.append({"name": out.split("/")[-4], "address": address})
print(json.dumps({"signer_gateway_upstreams": pool}))
PY
  (cd infra/ansible && ansible-playbook -i "$work/inventory.yml" deploy-validators.yml -e "@$work/upstreams.json" >"$work/validators.log") || {
    tail -n 40 "$work/validators.log" >&2
    return 1
  }
  local history_a history_b
  history_a=$(cat "$work/validator-alice-a/var/lib/signer-gateway/pool-history")
  history_b=$(cat "$work/validator-alice-b/var/lib/signer-gateway/pool-history")
  if [[ -z $history_a || $history_a != "$history_b" ]]; then
    echo "ansible: the two nodes' gateways adopted different histories ($history_a, $history_b)" >&2
    return 1
  fi
  echo "ansible: both gateways of validator-alice serve the whole pool of history $history_a"
  for node in a b; do
    target=$(sed -n 's/^signer-gateway listening on //p' "$work/validator-alice-$node/run/signer-gateway/signer-gateway.out")
    "$signerctl" demo --target "$target" --ca "$work/pki/ca.crt" --client-cert "$work/pki/validator-alice.crt" \
      --client-key "$work/pki/validator-alice.key" >"$work/demo-gateway.json" || {
      cat "$work/demo-gateway.json" >&2
      return 1
    }
    echo "ansible: signerctl demo passed through validator-alice-$node's gateway ($target)"
  done
  "$python" - "$work/inventory.yml" >"$work/inventory-split.yml" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
inventory = json.loads(text[text.index("{"):])
inventory["all"]["children"]["validators"]["hosts"]["validator-alice-b"]["signer_gateway_history_id"] = "kafka:another/signer-claims"
print(json.dumps(inventory))
PY
  if (cd infra/ansible && ansible-playbook --check -i "$work/inventory-split.yml" deploy-validators.yml \
    -e "@$work/upstreams.json" >"$work/validators-split.log" 2>&1); then
    echo "ansible: deploy-validators.yml accepted two nodes of one validator on different histories" >&2
    return 1
  fi
  grep -q 'different pools or histories' "$work/validators-split.log" || {
    tail -n 20 "$work/validators-split.log" >&2
    return 1
  }
  echo "ansible: deploy-validators.yml refuses two nodes of one validator on different histories"
  stop_ci_gateways
}

# stop_ci_gateways stops the localhost run's gateways, waiting until each has exited.
stop_ci_gateways() {
  local root
  for root in "$scratch"/ansible/validator-*; do
    [[ -x $root/usr/local/bin/daemon-process ]] || continue
    "$root/usr/local/bin/daemon-process" stop "$root/usr/local/bin/signer-gateway" \
      "$root/etc/signer-gateway/signer-gateway.yaml" "$root/run/signer-gateway" || true
  done
}

# rotation_textfiles WORK FILE LABEL: every CI signer has FILE in its textfile-collector directory,
# promtool accepts it, and its sample carries LABEL.
rotation_textfiles() {
  local work=$1 file=$2 label=$3 root path
  for root in "$work"/signer-*; do
    path=$root/var/lib/prometheus/node-exporter/$file
    [[ -s $path ]] || { echo "ansible: $(basename "$root") has no $file" >&2; return 1; }
    promtool check metrics <"$path" || { echo "ansible: promtool refuses $path" >&2; return 1; }
    grep -qF -- "$label" "$path" || { echo "ansible: $path lacks $label" >&2; return 1; }
  done
  echo "ansible: every signer has $file for node_exporter"
}

# signer_pids WORK: the pids of the CI run's signers, in signer order.
signer_pids() {
  cat "$1"/signer-*/run/signerd/signerd.pid | tr '\n' ' '
}

# demo_every_signer WORK SIGNERCTL PKI: `signerctl demo` against each signer the CI run deployed, as
# PKI's validator-alice.
demo_every_signer() {
  local work=$1 signerctl=$2 pki=$3 out target
  for out in "$work"/signer-*/run/signerd/signerd.out; do
    target=$(sed -n 's/^signerd listening on //p' "$out" | head -n 1)
    "$signerctl" demo --target "$target" --ca "$pki/ca.crt" --client-cert "$pki/validator-alice.crt" \
      --client-key "$pki/validator-alice.key" >"$work/demo.json"
    echo "ansible: signerctl demo passed against $target"
  done
}

# ---------------------------------------------------------------------------------------------------
# proxy: the reverse-proxy recipe for authenticated node RPC, checked by haproxy itself with a dev PKI
# standing in for the operator's files; any warning counts as a finding.
check_proxy() {
  local dir=$scratch/proxy
  mkdir -p "$dir"
  local signerctl=$build_dir/bin/signerctl
  if [[ ! -x $signerctl ]]; then
    cmake --build "$build_dir" -j "${SIGNER_BUILD_JOBS:-$(nproc)}" --target signerctl
  fi
  "$signerctl" tls init-dev --dir "$dir/pki" --clients operator-1 >/dev/null
  cat "$dir/pki/server.crt" "$dir/pki/server.key" >"$dir/server.pem"
  cp "$dir/pki/ca.crt" "$dir/operators-ca.crt"
  echo operator-1 >"$dir/operators.lst"
  local config output
  for config in infra/proxy/*.cfg infra/pool/haproxy.cfg; do
    output=$(RPC_PROXY_DIR=$dir haproxy -c -f "$config" 2>&1) || {
      echo "proxy: haproxy -c refuses $config: $output" >&2
      return 1
    }
    if grep -qE '\[(WARNING|ALERT)\]' <<<"$output"; then
      echo "proxy: haproxy -c warns about $config: $output" >&2
      return 1
    fi
    echo "proxy: haproxy -c accepts $config"
  done
}

# ---------------------------------------------------------------------------------------------------
# scripts: shellcheck on every shell script of the recipes, and the node-operations scripts' tests.
check_scripts() {
  # infra/install-deps.sh sources infra/dev/deb-packages.sh, which shellcheck follows only when it is listed.
  local scripts=(infra/check.sh infra/install-deps.sh infra/dev/deb-packages.sh infra/node-ops/*.sh
    infra/ansible/roles/signerd/files/signerd-process infra/ansible/files/daemon-process
    infra/k8s/base/config/prepare.sh
    infra/terraform/files/validator-setup.sh)
  shellcheck "${scripts[@]}"
  echo "scripts: shellcheck clean on ${#scripts[@]} scripts"
  bash infra/node-ops/chain-snapshot_test.sh
}

run_section() {
  local name=$1
  local begin=$SECONDS
  printf '\n==> infra: %s\n' "$name" >&2
  # Not `if (...)`: bash ignores set -e inside a condition, so a failing check would not stop its section.
  local status=0
  set +e
  (
    set -euo pipefail
    "check_$name"
  )
  status=$?
  set -e
  if ((status == 0)); then
    section_results+=(ok)
  else
    section_results+=(FAILED)
  fi
  section_names+=("$name")
  section_seconds+=($((SECONDS - begin)))
}

bash infra/install-deps.sh

sections=("$@")
if ((${#sections[@]} == 0)); then
  sections=(systemd k8s terraform monitoring proxy scripts ansible)
fi
for section in "${sections[@]}"; do
  if ! declare -F "check_$section" >/dev/null; then
    echo "infra/check.sh: unknown section $section" >&2
    exit 2
  fi
  run_section "$section"
done

for result in "${section_results[@]}"; do
  if [[ $result != ok ]]; then
    echo "infra/check.sh: a section failed (see above)" >&2
    exit 1
  fi
done
echo "infra/check.sh: all checks passed" >&2
