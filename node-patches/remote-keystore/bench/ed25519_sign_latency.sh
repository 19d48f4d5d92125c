#!/usr/bin/env bash
# One ed25519_sign (a GRANDPA prevote) against one dev signerd through the Rust crate, @grpc/grpc-js and the C++
# gRPC client, in one run: p50 and p99 of each (docs/benchmarks.md, "The node crate against the other clients").
#
# Usage: bash node-patches/remote-keystore/bench/ed25519_sign_latency.sh [--calls N] [--blocks B]
#   each client makes B blocks of N sequential calls (default 3 x 500), the clients' blocks interleaved so that
#   drift on a shared machine spreads over all three; every call is a new round (allowed, durably recorded).
# Needs: build/bin/signerd and signerctl, build/signer/proto (cmake --build build --target signerd signerctl),
# tests/oracle/node_modules (cd tests/oracle && npm ci), Debian's cargo, g++ and libgrpc++-dev.
set -euo pipefail

calls=500
blocks=3
while (($#)); do
  case $1 in
    --calls) calls=$2; shift 2 ;;
    --blocks) blocks=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "ed25519_sign_latency.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=SCRIPTDIR/../../../tests/bench/dev_signerd.sh
source "$repo/tests/bench/dev_signerd.sh"
crate=$repo/node-patches/remote-keystore
for needed in "$repo/build/bin/signerd" "$repo/build/bin/signerctl" "$repo/build/signer/proto/libsigner_api.a" \
  "$repo/tests/oracle/node_modules/@grpc/grpc-js"; do
  [[ -e $needed ]] || { echo "ed25519_sign_latency.sh: missing $needed (see the usage)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ed25519-latency.XXXXXX")
signerd_pid=
cleanup() {
  dev_signerd_stop
  rm -rf "$work"
}
trap cleanup EXIT

echo "building the clients" >&2
(cd "$crate" && CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} RUSTC=/usr/bin/rustc /usr/bin/cargo build --offline --quiet \
  --release --example ed25519_sign_latency)
rust_client=$crate/target/release/examples/ed25519_sign_latency
# shellcheck disable=SC2046  # pkg-config prints several flags
g++ -std=c++20 -O2 -I "$repo/build/signer/proto/proto_gen" "$crate/bench/ed25519_sign_latency.cc" \
  "$repo/build/signer/proto/libsigner_api.a" $(pkg-config --cflags --libs grpc++ protobuf) -o "$work/cpp_client"

dev_signerd_init "$repo/build/bin/signerctl" "$work/dev"
dev_signerd_start "$repo/build/bin/signerd" "$work/dev"
port=${signerd_address##*:}
pki=$work/dev/pki

round=1000
for ((block = 0; block < blocks; block++)); do
  for client in rust grpcjs cpp; do
    case $client in
      rust) "$rust_client" "$port" "$pki" "$calls" "$round" >>"$work/rust.us" ;;
      grpcjs) NODE_PATH=$repo/tests/oracle/node_modules node "$crate/bench/ed25519_sign_latency.js" "$port" "$pki" \
        "$calls" "$round" >>"$work/grpcjs.us" ;;
      cpp) "$work/cpp_client" "$port" "$pki" "$calls" "$round" >>"$work/cpp.us" ;;
    esac
    round=$((round + calls + 10))
  done
done

# Nearest-rank percentiles of the microsecond figures, printed in milliseconds.
summary() {
  sort -n "$1" | awk -v name="$2" '{ v[NR] = $1; sum += $1 }
    END {
      p50 = v[int(NR * 0.50 + 0.999999)]; p99 = v[int(NR * 0.99 + 0.999999)]
      printf "| %s | %d | %.2f | %.2f | %.2f |\n", name, NR, p50 / 1000, p99 / 1000, sum / NR / 1000
    }'
}
echo "| client | calls | p50 ms | p99 ms | mean ms |"
echo "|---|---|---|---|---|"
summary "$work/rust.us" "Rust crate (prost + h2 + rustls)"
summary "$work/grpcjs.us" "@grpc/grpc-js"
summary "$work/cpp.us" "C++ gRPC client"
