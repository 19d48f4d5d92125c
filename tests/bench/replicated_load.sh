#!/usr/bin/env bash
# Signing throughput and latency of 3 Kafka-replicated signers against one standalone signer, in the same run.
#
# Usage: bash tests/bench/replicated_load.sh [--build-dir DIR] [--no-build] [--signers N] [--workers N]
#                                            [--in-flight N] [-- signerd_load options...]
#   Builds (DIR, default build/) signerd, signerctl, kafka-dev-broker and signerd_load; starts a replicated dev
#   cluster (infra/dev/cluster.sh: kafka-dev-broker, the librdkafka mock broker, and N signers, default 3, on
#   loopback) and runs signerd_load with one --target per signer; stops it; then runs the same load against one
#   standalone dev signer (tests/bench/signerd_load.sh, same worker and in-flight settings). Prints both.
#   --workers / --in-flight: every signer's server.worker_threads and max_in_flight (default 4 and 256, the dev
#   cluster's). A worker waits through the claim's round trip through the broker, so few workers cap the
#   replicated rate at workers / round trip whatever the CPU could do.
#   Default load: 64 clients, 3 repetitions of 5 s, then an open loop at half the measured peak.
#   Development and test only: the dev broker is an in-memory mock of Kafka, not a Kafka cluster.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$repo/build
do_build=true
signers=3
workers=4
in_flight=256
load_args=()
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=false; shift ;;
    --signers) signers=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --in-flight) in_flight=$2; shift 2 ;;
    --) shift; load_args+=("$@"); break ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "replicated_load.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
build_dir=$(cd "$build_dir" && pwd)
if $do_build; then
  cmake --build "$build_dir" --target signerd signerctl kafka-dev-broker signerd_load
fi
load=$build_dir/tests/bench/signerd_load
[[ -x $load ]] || { echo "replicated_load.sh: $load not found; build it first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/replicated-load.XXXXXX")
export SIGNER_CLUSTER_DIR=$work/cluster SIGNER_BUILD_DIR=$build_dir
export SIGNER_CLUSTER_WORKERS=$workers SIGNER_CLUSTER_IN_FLIGHT=$in_flight
cleanup() {
  bash "$repo/infra/dev/cluster.sh" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The same server settings on both sides.
defaults=(--clients 64 --seconds 5 --repetitions 3)
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"

echo "=== replicated: $signers signers through kafka-dev-broker (loopback) ==="
bash "$repo/infra/dev/cluster.sh" up "$signers" --base-port 0 | sed 's/^/  /'
targets=()
for ((i = 1; i <= signers; i++)); do
  targets+=(--target "$(sed 's/^signerd listening on //' "$SIGNER_CLUSTER_DIR/signer-$i/signerd.out" | head -n 1)")
done
status=0
"$load" "${targets[@]}" --pki "$SIGNER_CLUSTER_DIR/signer-1/pki" --pid "$(cat "$SIGNER_CLUSTER_DIR/signer-1/signerd.pid")" \
  "${defaults[@]}" "${load_args[@]}" | tee "$work/replicated.txt" || status=$?
bash "$repo/infra/dev/cluster.sh" down --keep >/dev/null
for ((i = 1; i <= signers; i++)); do
  if ! "$build_dir/bin/signerctl" audit verify "$SIGNER_CLUSTER_DIR/signer-$i/audit.jsonl" >/dev/null; then
    echo "replicated_load.sh: signer-$i's audit log does not verify" >&2
    status=1
  fi
done
rm -rf "$SIGNER_CLUSTER_DIR"

echo "=== standalone: one signer, no Kafka, same load ==="
bash "$repo/tests/bench/signerd_load.sh" --no-build --build-dir "$build_dir" --workers "$workers" \
  --in-flight "$in_flight" \
  -- "${defaults[@]}" "${load_args[@]}" | tee "$work/standalone.txt" || status=$?

echo "=== summary (JSON lines from signerd_load) ==="
echo "replicated: $(grep '^{' "$work/replicated.txt" | tail -n 1)"
echo "standalone: $(grep '^{' "$work/standalone.txt" | tail -n 1)"
exit "$status"
