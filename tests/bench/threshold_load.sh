#!/usr/bin/env bash
# Threshold 2-of-3 signing against single-HSM signing, in one run: GRANDPA votes through a signerd coordinator and
# three key agents (infra/dev/threshold.sh), then through a dev signerd whose key is on its own token.
#
# Usage: bash tests/bench/threshold_load.sh [--build-dir DIR] [--no-build] [-- signerd_load options...]
#   default   build (DIR, default build/) signerd, signerctl, keyagentd and signerd_load; then for each setup
#             signerd_load --mix grandpa: 64 clients, 3 repetitions of 5 s (null RPC, then signed), then an open loop
#             at half the measured peak. Both signers get 64 workers and 1024 requests in flight.
#   Options after -- go to both signerd_load runs (e.g. -- --clients 16 --seconds 3).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/dev_signerd.sh
source "$repo/tests/bench/dev_signerd.sh"
build_dir=$repo/build
do_build=true
load_args=()
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=false; shift ;;
    --) shift; load_args+=("$@"); break ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "threshold_load.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case $build_dir in /*) ;; *) build_dir=$PWD/$build_dir ;; esac
if $do_build; then
  cmake --build "$build_dir" --target signerd signerctl keyagentd signerd_load
fi
load=$build_dir/tests/bench/signerd_load
work=$(mktemp -d "${TMPDIR:-/tmp}/threshold-load.XXXXXX")
signerd_pid=
# shellcheck disable=SC2317  # run by the EXIT trap, which shellcheck does not see as a call
cleanup() {
  dev_signerd_stop
  SIGNER_THRESHOLD_DIR=$work/dev-threshold bash "$repo/infra/dev/threshold.sh" down
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT

echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
status=0

echo "== threshold 2-of-3: signerd coordinator + 3 keyagentd (each: own token, own synced history, own audit log)"
SIGNER_THRESHOLD_DIR=$work/dev-threshold SIGNER_BUILD_DIR=$build_dir \
  bash "$repo/infra/dev/threshold.sh" up --base-port 0 --workers 64 --in-flight 1024
coordinator=$work/dev-threshold/coordinator
address=$(sed 's/.* listening on //' "$coordinator/signerd.out" | head -n 1)
"$load" --target "$address" --pki "$coordinator/pki" --pid "$(<"$coordinator/signerd.pid")" --mix grandpa \
  --clients 64 --seconds 5 --repetitions 3 "${load_args[@]}" || status=$?
SIGNER_THRESHOLD_DIR=$work/dev-threshold bash "$repo/infra/dev/threshold.sh" down --keep

echo "== single HSM: dev signerd, the ed25519 key non-extractable on its SoftHSM2 token"
dev=$work/dev
dev_signerd_init "$build_dir/bin/signerctl" "$dev"
sed -i "s/^  worker_threads: .*/  worker_threads: 64/; s/^  max_in_flight: .*/  max_in_flight: 1024/" \
  "$dev/signerd.yaml"
dev_signerd_start "$build_dir/bin/signerd" "$dev"
"$load" --target "$signerd_address" --pki "$dev/pki" --pid "$signerd_pid" --mix grandpa \
  --clients 64 --seconds 5 --repetitions 3 "${load_args[@]}" || status=$?
exit "$status"
