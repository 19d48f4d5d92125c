#!/usr/bin/env bash
# What signer-gateway adds to a node's call: one ed25519 GRANDPA prevote and one Ed25519PublicKeys
# look-up, straight to a dev signerd (mutual TLS) and through a gateway's Unix socket, in one run:
# p50 and p99 of each and the difference (docs/benchmarks.md, "The gateway's cost").
#
# Usage: bash tests/bench/gateway_latency.sh [--calls N] [--blocks B]
#   each path makes B blocks of N sequential calls (default 5 x 400), the blocks interleaved so that
#   drift on a shared machine spreads over both paths; every sign call is a new round.
# Needs: build/bin/signerd, signerctl and signer-gateway, build/signer/proto (cmake --build build
# --target signerd signerctl signer-gateway), g++ and libgrpc++-dev.
set -euo pipefail

calls=400
blocks=5
while (($#)); do
  case $1 in
    --calls) calls=$2; shift 2 ;;
    --blocks) blocks=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "gateway_latency.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/dev_signerd.sh
source "$repo/tests/bench/dev_signerd.sh"
for needed in "$repo/build/bin/signerd" "$repo/build/bin/signerctl" "$repo/build/bin/signer-gateway" \
  "$repo/build/signer/proto/libsigner_api.a"; do
  [[ -e $needed ]] || { echo "gateway_latency.sh: missing $needed (see the usage)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/gateway-latency.XXXXXX")
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

# The node crate's C++ benchmark client speaks to a signerd port or to a gateway's unix: socket.
# shellcheck disable=SC2046  # pkg-config prints several flags
g++ -std=c++20 -O2 -I "$repo/build/signer/proto/proto_gen" \
  "$repo/node-patches/remote-keystore/bench/ed25519_sign_latency.cc" \
  "$repo/build/signer/proto/libsigner_api.a" $(pkg-config --cflags --libs grpc++ protobuf) -o "$work/client"

dev_signerd_init "$repo/build/bin/signerctl" "$work/dev"
dev_signerd_start "$repo/build/bin/signerd" "$work/dev"
port=${signerd_address##*:}
pki=$work/dev/pki

cat >"$work/gateway.yaml" <<YAML
listen: {unix_socket: $work/keystore.sock}
state_dir: $work/gateway-state
cache_ttl_ms: 600000
upstream_tls: {ca: $pki/ca.crt, cert: $pki/validator-alice.crt, key: $pki/validator-alice.key}
upstreams:
  - {name: dev, address: "127.0.0.1:$port", server_name: localhost}
YAML
mkfifo "$work/gateway.out"
"$repo/build/bin/signer-gateway" --config "$work/gateway.yaml" >"$work/gateway.out" 2>"$work/gateway.log" &
gateway_pid=$!
exec 4<"$work/gateway.out"
IFS= read -r -t 30 _ <&4 || { echo "gateway did not start:" >&2; cat "$work/gateway.log" >&2; exit 1; }

round=1000
for ((block = 0; block < blocks; block++)); do
  for path in direct gateway; do
    target=$port
    [[ $path == gateway ]] && target=unix:$work/keystore.sock
    "$work/client" "$target" "$pki" "$calls" "$round" sign >>"$work/$path.sign.us"
    round=$((round + calls + 10))
    "$work/client" "$target" "$pki" "$calls" 0 lookup >>"$work/$path.lookup.us"
  done
done

# Nearest-rank percentiles of the microsecond figures.
percentile() { sort -n "$1" | awk -v q="$2" '{ v[NR] = $1 } END { print v[int(NR * q + 0.999999)] }'; }
echo "| call | path | calls | p50 µs | p99 µs |"
echo "|---|---|---|---|---|"
for call in sign lookup; do
  for path in direct gateway; do
    echo "| $call | $path | $(wc -l <"$work/$path.$call.us") | $(percentile "$work/$path.$call.us" 0.50) |" \
      "$(percentile "$work/$path.$call.us" 0.99) |"
  done
  echo "| $call | gateway minus direct | | $(($(percentile "$work/gateway.$call.us" 0.50) - \
    $(percentile "$work/direct.$call.us" 0.50))) | $(($(percentile "$work/gateway.$call.us" 0.99) - \
    $(percentile "$work/direct.$call.us" 0.99))) |"
done
