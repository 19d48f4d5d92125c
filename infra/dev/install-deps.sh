#!/usr/bin/env bash
# Installs the Debian packages the build and tests use; idempotent and silent when nothing is missing.
set -euo pipefail

# shellcheck source=SCRIPTDIR/deb-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/deb-packages.sh"

# Grow this list as modules start using a library; keep it to what the build really links.
# iproute2 and nftables are for the test that puts a signer behind an egress-only firewall in a
# network namespace of its own (tests/e2e/gateway_uplink_e2e_test.cc; it needs root, as CI has).
# chromium is the headless browser the pool dashboard's test drives (tests/browser).
packages=(
  build-essential cmake ninja-build ccache pkg-config
  clang lld libclang-rt-14-dev clang-format clang-tidy
  libsodium-dev libsecp256k1-dev libssl-dev
  softhsm2 libp11-kit-dev
  haproxy
  librocksdb-dev librdkafka-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libspdlog-dev
  libcivetweb-dev prometheus libsystemd-dev libcurl4-openssl-dev
  nlohmann-json3-dev libcli11-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nodejs chromium
  iproute2 nftables
  cargo rustc librust-prost-dev librust-prost-build-dev librust-h2-dev librust-http-dev librust-tokio-dev
  librust-tokio-rustls-dev librust-rustls-dev librust-rustls-pemfile-dev librust-webpki-dev librust-bytes-dev
  librust-thiserror-dev librust-ring-dev librust-hex-dev librust-blake2b-simd-dev librust-tiny-keccak-dev
  librust-serde-json-dev librust-tempfile-dev librust-libc-dev
)

mapfile -t missing < <(missing_packages "${packages[@]}")

# Some machines carry a Node.js build that bundles npm; Debian's own nodejs needs the separate npm package.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

install_packages install-deps "${missing[@]}"
