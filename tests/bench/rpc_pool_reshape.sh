#!/usr/bin/env bash
# The RPC pool's data path with and without its controller at work: rpc_pool_reshape_bench runs nginx
# as three nodes' RPC, a real HAProxy, rpc-pool-controller and three LB daemons, and times wrk through
# HAProxy alone, with the controller steady, and with it reshaping the pool every second, in one run.
# Figures, never a pass/fail (docs/benchmarks.md, "The RPC pool's controller and the data path").
#
# Usage: bash tests/bench/rpc_pool_reshape.sh [rpc_pool_reshape_bench options: --rounds N --seconds S
#        --connections C]   (defaults 5 rounds of 5 s phases, 32 connections)
# Needs: cmake --build build --target rpc_pool_reshape_bench rpc-pool-controller rpc-pool-daemon, and
# Debian's wrk and nginx (installed here when missing and running as root).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/../../infra/dev/deb-packages.sh
source "$repo/infra/dev/deb-packages.sh"
mapfile -t missing < <(missing_packages wrk nginx-light)
if ((${#missing[@]} > 0)); then
  install_packages rpc_pool_reshape "${missing[@]}"
fi

bench=$repo/build/gateway/rpc_pool/rpc_pool_reshape_bench
for needed in "$bench" "$repo/build/bin/rpc-pool-controller" "$repo/build/bin/rpc-pool-daemon"; do
  [[ -x $needed ]] || { echo "rpc_pool_reshape.sh: missing $needed (see the usage)" >&2; exit 2; }
done
args=(--rounds 5 --seconds 5)
(($#)) && args=("$@")
echo "rpc_pool_reshape.sh: $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" --haproxy "$(command -v haproxy || echo /usr/sbin/haproxy)" \
  --nginx "$(command -v nginx || echo /usr/sbin/nginx)" --wrk "$(command -v wrk)" \
  --controller "$repo/build/bin/rpc-pool-controller" --daemon "$repo/build/bin/rpc-pool-daemon" "${args[@]}"
echo "rpc_pool_reshape.sh: done, load average $(cut -d' ' -f1-3 /proc/loadavg)"
