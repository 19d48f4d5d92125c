#!/usr/bin/env bash
# The gateway under load, against the signer directly, in one run: signerd_load drives one dev
# signerd straight (mutual TLS) and through a signer-gateway's Unix socket; each path's peak rate
# (closed loop) and its p50/p99 at the same offered rate, half the direct peak (open loop), then
# the added latency; and what a cached key look-up costs inside the gateway (gateway_cache_bench).
# Figures, never a pass/fail (docs/benchmarks.md, "The gateway's cost").
#
# Usage: bash tests/bench/gateway_load.sh [--rounds N] [-- signerd_load options]
#   N rounds (default 2) of direct then gateway, each signerd_load run with --clients 32
#   --seconds 3 --repetitions 1 unless overridden; medians over the rounds are printed last.
# Needs: cmake --build build --target signerd signerctl signer-gateway signerd_load gateway_cache_bench
set -euo pipefail

rounds=2
load_args=()
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --) shift; load_args=("$@"); break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "gateway_load.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/dev_signerd.sh
source "$repo/tests/bench/dev_signerd.sh"
load=$repo/build/tests/bench/signerd_load
cache_bench=$repo/build/gateway/gateway_cache_bench
for needed in "$repo/build/bin/signerd" "$repo/build/bin/signerctl" "$repo/build/bin/signer-gateway" \
  "$load" "$cache_bench"; do
  [[ -x $needed ]] || { echo "gateway_load.sh: missing $needed (see the usage)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/gateway-load.XXXXXX")
signerd_pid=
gateway_pid=
cleanup() {
  dev_signerd_stop
  if [[ -n $gateway_pid ]]; then
    kill -TERM "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

dev_signerd_init "$repo/build/bin/signerctl" "$work/dev"
dev_signerd_start "$repo/build/bin/signerd" "$work/dev"
pki=$work/dev/pki

# The gateway authenticates to the signer as the dev validator, so the policy is the same for both
# paths; its key cache is on, as in production.
cat >"$work/gateway.yaml" <<YAML
listen: {unix_socket: $work/keystore.sock}
state_dir: $work/gateway-state
upstream_tls: {ca: $pki/ca.crt, cert: $pki/validator-alice.crt, key: $pki/validator-alice.key}
upstreams:
  - {name: dev, address: "$signerd_address", server_name: localhost}
YAML
mkfifo "$work/gateway.out"
"$repo/build/bin/signer-gateway" --config "$work/gateway.yaml" >"$work/gateway.out" 2>"$work/gateway.log" &
gateway_pid=$!
exec 4<"$work/gateway.out"
IFS= read -r -t 30 _ <&4 || { echo "gateway did not start:" >&2; cat "$work/gateway.log" >&2; exit 1; }

defaults=(--clients 32 --seconds 3 --repetitions 1)
# run_load PATH TARGET [RATE]: one signerd_load run; its JSON summary line goes to PATH.jsonl.
run_load() {
  local path=$1 target=$2 rate=${3:-}
  local args=(--target "$target" --pki "$pki" "${defaults[@]}")
  [[ -n $rate ]] && args+=(--rate "$rate")
  echo "== $path ($target${rate:+, open loop at $rate req/s})"
  "$load" "${args[@]}" "${load_args[@]}" | tee "$work/run.out"
  tail -n 1 "$work/run.out" >>"$work/$path.jsonl"
}
field() { sed -n "s/.*\"$2\":\\([0-9.e+-]*\\).*/\\1/p" "$1"; }

for ((round = 1; round <= rounds; round++)); do
  run_load direct "$signerd_address"
  # The gateway gets the same offered rate as the direct path's open loop: half the direct peak.
  rate=$(tail -n 1 "$work/direct.jsonl" | sed -n 's/.*"open_loop_offered_rps":\([0-9.]*\).*/\1/p')
  run_load gateway "unix:$work/keystore.sock" "${rate%.*}"
done

echo "== cached key look-up inside the gateway"
"$cache_bench"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "medians over $rounds round(s):"
printf '| path | peak req/s | offered req/s | p50 ms at that rate | p99 ms at that rate |\n|---|---|---|---|---|\n'
for path in direct gateway; do
  printf '| %s | %.0f | %.0f | %.3f | %.3f |\n' "$path" \
    "$(field "$work/$path.jsonl" signed_rps | median)" \
    "$(field "$work/$path.jsonl" open_loop_offered_rps | median)" \
    "$(field "$work/$path.jsonl" open_loop_p50_ms | median)" \
    "$(field "$work/$path.jsonl" open_loop_p99_ms | median)"
done
awk -v d50="$(field "$work/direct.jsonl" open_loop_p50_ms | median)" \
  -v g50="$(field "$work/gateway.jsonl" open_loop_p50_ms | median)" \
  -v d99="$(field "$work/direct.jsonl" open_loop_p99_ms | median)" \
  -v g99="$(field "$work/gateway.jsonl" open_loop_p99_ms | median)" \
  -v dr="$(field "$work/direct.jsonl" signed_rps | median)" \
  -v gr="$(field "$work/gateway.jsonl" signed_rps | median)" \
  'BEGIN { printf "added at half load: p50 %.3f ms, p99 %.3f ms; peak rate through the gateway / direct: %.2f\n", g50 - d50, g99 - d99, gr / dr }'
