#!/usr/bin/env bash
# Profiles a development signerd's signed path under load with perf: top functions, stage shares, PKCS#11 share.
#
# Usage: bash tests/bench/signed_path_profile.sh [--build-dir DIR] [--no-build] [--mix standard|grandpa|sr25519]
#                                                [--seconds S] [--keep FILE]
#   Starts a dev signerd (64 workers, 1,024 requests in flight, as signerd_load.sh does), records it with
#   `perf record --call-graph dwarf` while signerd_load sends only signed requests (64 clients, S seconds,
#   default 5), and prints: signerd's CPU per signed request; the share of its CPU spent inside the PKCS#11
#   module (the inclusive time of the module's C_* entry points: with a real HSM that is the HSM's work) and the
#   CPU per request outside it; the inclusive share of each stage of the signed path; the top 20 functions by
#   self time. --keep FILE keeps perf's data for `perf report -i FILE`. Needs perf (Debian's linux-perf) and root
#   or kernel.perf_event_paranoid <= 1.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/dev_signerd.sh
source "$repo/tests/bench/dev_signerd.sh"
build_dir=$repo/build
do_build=true
mix=standard
seconds=5
keep=
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=false; shift ;;
    --mix) mix=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "signed_path_profile.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
dev_require_perf
if $do_build; then
  cmake --build "$build_dir" --target signerd signerctl signerd_load
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/signed-path-profile.XXXXXX")
signerd_pid=
perf_pid=
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  if [[ -n $perf_pid ]]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; fi
  dev_signerd_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dev=$work/dev
dev_signerd_init "$build_dir/bin/signerctl" "$dev"
dev_signerd_set_server "$dev/signerd.yaml" 64 1024
dev_signerd_start "$build_dir/bin/signerd" "$dev"

perf record -q -F 499 --call-graph dwarf,16384 -p "$signerd_pid" -o "$work/perf.data" 2>"$work/perf.log" &
perf_pid=$!
sleep 1  # perf attaches to every thread before the first request
"$build_dir/tests/bench/signerd_load" --target "$signerd_address" --pki "$dev/pki" --pid "$signerd_pid" \
  --clients 64 --seconds "$seconds" --repetitions 1 --no-half-peak --no-null --mix "$mix" | tee "$work/load.out"
kill -INT "$perf_pid"
wait "$perf_pid" || true
perf_pid=
if [[ -n $keep ]]; then cp "$work/perf.data" "$keep"; fi

cpu_us=$(sed -n 's/.*"server_cpu_us_per_signed":\([0-9.]*\).*/\1/p' "$work/load.out")
perf report -i "$work/perf.data" --children --sort symbol -g none --stdio --percent-limit 0 2>/dev/null \
  | grep -v '^#' >"$work/inclusive.txt"
# inclusive PATTERN: the largest inclusive share of the symbols matching PATTERN (callers include callees).
inclusive() {
  awk -v pattern="$1" '$4 ~ pattern { gsub("%", "", $1); if ($1 > best) best = $1 } END { printf "%.1f", best + 0 }' \
    "$work/inclusive.txt"
}
# The module's exported C_* functions never call one another, so their inclusive shares add up.
module_share=$(awk '$3 == "[.]" && $4 ~ /^C_[A-Za-z]+$/ { gsub("%", "", $1); sum += $1 } END { printf "%.1f", sum + 0 }' \
  "$work/inclusive.txt")
echo
echo "mix $mix: signerd CPU per signed request ${cpu_us} us; inside the PKCS#11 module ${module_share}%," \
  "so $(awk -v c="$cpu_us" -v m="$module_share" 'BEGIN { printf "%.0f", c * (1 - m / 100) }') us per request outside it"
echo
echo "| stage (inclusive share of signerd's CPU) | % |"
echo "|---|---|"
echo "| gRPC handler to reply (Pipeline::SignWith) | $(inclusive 'signer::Pipeline::SignWith$') |"
echo "| peer identity from the client certificate | $(inclusive '^tls::PeerIdentity') |"
echo "| protection decision (Protector::Decide) | $(inclusive '^slashing::Protector::Decide$') |"
echo "| custody (KeyCustody::SignBound) | $(inclusive '^keymgr::KeyCustody::SignBound$') |"
echo "| inside the PKCS#11 module (C_*) | $module_share |"
echo "| audit line (AuditLog::Append) | $(inclusive '^signer::AuditLog::Append$') |"
echo
echo "| top 20 by self time | % | library |"
echo "|---|---|---|"
perf report -i "$work/perf.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null \
  | grep -v '^#' | grep -v '^$' >"$work/self.txt"
# Columns: share, library, [.] or [k], the symbol, then perf's two IPC columns ("-  -").
head -n 20 "$work/self.txt" | awk '{
  share = $1; dso = $2; $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, ""); sub(/ +- +-$/, "")
  printf "| `%s` | %s | %s |\n", $0, share, dso }'
