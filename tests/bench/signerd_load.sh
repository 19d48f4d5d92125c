#!/usr/bin/env bash
# Load-tests a fresh development signerd: builds, makes a dev signer in a temp dir, measures idle RSS, runs signerd_load.
#
# Usage: bash tests/bench/signerd_load.sh [--build-dir DIR] [--no-build] [--smoke] [--workers N] [--in-flight N]
#                                         [-- signerd_load options...]
#   default      build (DIR, default build/) the signerd, signerctl and signerd_load targets, then 64 clients,
#                3 repetitions of 5 s (null RPC, then signed), then an open loop at half the measured peak
#   --smoke      no build; 2 clients, 200 requests per phase, every signature verified (the ctest smoke run)
#   --workers N, --in-flight N   server.worker_threads / server.max_in_flight for the temp signer (default 64 and
#                1024: workers block in the fsync waits, so the dev config's 2 and 64 would cap the groups at 2
#                and shed a closed loop of 64 clients); 0 keeps the dev config's value
#   Options after -- go to signerd_load (e.g. -- --clients 128 --seconds 10).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/dev_signerd.sh
source "$repo/tests/bench/dev_signerd.sh"
build_dir=$repo/build
do_build=true
smoke=false
workers=64
in_flight=1024
load_args=()
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=false; shift ;;
    --smoke) smoke=true; do_build=false; shift ;;
    --workers) workers=$2; shift 2 ;;
    --in-flight) in_flight=$2; shift 2 ;;
    --) shift; load_args+=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "signerd_load.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if $do_build; then
  cmake --build "$build_dir" --target signerd signerctl signerd_load slashing_bench
fi
signerd=$build_dir/bin/signerd
signerctl=$build_dir/bin/signerctl
load=$build_dir/tests/bench/signerd_load
for program in "$signerd" "$signerctl" "$load"; do
  if [[ ! -x $program ]]; then
    echo "signerd_load.sh: $program not found; build it first" >&2
    exit 1
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/signerd-load.XXXXXX")
signerd_pid=
# shellcheck disable=SC2317  # run by the EXIT trap, which shellcheck does not see as a call
cleanup() {
  dev_signerd_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dev=$work/dev
dev_signerd_init "$signerctl" "$dev"
config=$dev/signerd.yaml
dev_signerd_set_server "$config" "$workers" "$in_flight"

dev_signerd_start "$signerd" "$dev"
target=$signerd_address
# Let start-up allocations settle before the idle figure is taken.
sleep 1
idle_rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$signerd_pid/status")
echo "signerd (pid $signerd_pid) on $target; workers $(awk '/worker_threads/ {print $2}' "$config")," \
  "max in flight $(awk '/max_in_flight/ {print $2}' "$config"); idle RSS $((idle_rss_kb / 1024)) MB" \
  "(${idle_rss_kb} kB) with the dev keys loaded"
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"

if $smoke; then
  defaults=(--clients 2 --requests 200 --repetitions 1 --verify)
else
  defaults=(--clients 64 --seconds 5 --repetitions 3)
fi
status=0
"$load" --target "$target" --pki "$dev/pki" --pid "$signerd_pid" "${defaults[@]}" "${load_args[@]}" \
  | tee "$work/load.out" || status=$?

dev_signerd_stop
# Every request above was audited: the chain the group commit wrote must verify.
if ! "$signerctl" audit verify "$dev/audit.jsonl" >"$work/verify.json"; then
  echo "signerd_load.sh: the audit log does not verify:" >&2
  cat "$work/verify.json" >&2
  status=1
fi
echo "audit log: $(cat "$work/verify.json")"
# The latency goal is relative to the disk's own synced-write p99, measured here in the same run,
# on the disk that holds the signer's history and audit log.
raw_bench=$build_dir/slashing/slashing_bench
if ! $smoke && [[ -x $raw_bench ]] && ((status == 0)); then
  raw_p99=$("$raw_bench" --dir "$work/raw-writes" --raw-writes 1000 --raw-only \
    | sed -n 's/^raw_synced_write_p99_ms=//p')
  open_p99=$(sed -n 's/.*"open_loop_p99_ms":\([0-9.]*\).*/\1/p' "$work/load.out")
  if [[ -n $raw_p99 && -n $open_p99 ]]; then
    echo "raw synced write p99 on this disk: $raw_p99 ms; open-loop p99 / raw p99:" \
      "$(awk -v a="$open_p99" -v b="$raw_p99" 'BEGIN { printf "%.1f", a / b }')"
  fi
  null_p99=$(sed -n 's/.*"null_open_loop_p99_ms":\([0-9.]*\).*/\1/p' "$work/load.out")
  if [[ -n $raw_p99 && -n $null_p99 ]]; then
    echo "null RPCs on the same open loop: p99 $null_p99 ms, $(awk -v a="$null_p99" -v b="$raw_p99" \
      'BEGIN { printf "%.1f", a / b }')x the raw p99 (the floor without signing)"
  fi
fi
if ((status != 0)); then
  echo "signerd_load.sh: signerd_load failed (exit $status); signerd's log tail:" >&2
  tail -n 20 "$dev/signerd.log" >&2
fi
exit "$status"
