#!/usr/bin/env bash
# Installs what is needed, builds, and runs the signer with embedded development defaults.
# Until signerd exists this runs signerctl against the development keys (//Alice) in every scheme.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

bash infra/dev/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target signerctl

for scheme in sr25519 ed25519 ecdsa; do
  build/signer/signerctl inspect --scheme "$scheme" //Alice
done
