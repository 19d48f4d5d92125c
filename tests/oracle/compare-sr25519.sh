#!/usr/bin/env bash
# Compares our sr25519 signing rate with schnorrkel-in-wasm (@polkadot/wasm-crypto) and with our ed25519 rate.
# Usage: tests/oracle/compare-sr25519.sh BUILD_DIR      (needs `npm ci` in tests/oracle; prints figures, asserts nothing)
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench="$build_dir/tests/bench/crypto_bench"
if [[ ! -x "$bench" ]]; then
  echo "no $bench: build the crypto_bench target first" >&2
  exit 2
fi
if [[ ! -d "$here/node_modules/@polkadot/wasm-crypto" ]]; then
  echo "oracle packages are missing: run npm ci in tests/oracle" >&2
  exit 2
fi

ours_json=$(mktemp)
trap 'rm -f "$ours_json"' EXIT

echo "== ours: crypto_bench (5 repetitions) =="
"$bench" --benchmark_filter='BM_Sr25519Sign$|BM_Ed25519Sign$' --benchmark_format=json \
  --benchmark_repetitions=5 >"$ours_json"
echo "== wasm: @polkadot/wasm-crypto sr25519Sign (7 runs) =="
wasm_json=$(node "$here/bench-sr25519.js" --json --runs 7 --seconds 1)

# google-benchmark reports time per iteration; the median aggregate is the figure least disturbed by
# other load on the machine, matching the wasm side's median.
node - "$ours_json" "$wasm_json" <<'EOF'
const fs = require('node:fs');
const ours = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const wasm = JSON.parse(process.argv[3]);
const toSeconds = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1 };
function medianRate(name) {
  const rows = ours.benchmarks.filter((b) => b.run_name === name || b.name === name || b.name === `${name}_median`);
  const median = rows.find((b) => b.aggregate_name === 'median');
  const row = median || rows.find((b) => b.run_type !== 'aggregate');
  if (!row) {
    console.error(`crypto_bench reported no ${name}`);
    process.exit(1);
  }
  return { rate: 1 / (row.real_time * toSeconds[row.time_unit || 'ns']), median: Boolean(median) };
}
const sr = medianRate('BM_Sr25519Sign');
const ed = medianRate('BM_Ed25519Sign');
const fmt = (v) => Math.round(v).toLocaleString('en-US').padStart(10);
console.log(`\nmachine: ${ours.context.num_cpus} CPUs @ ${ours.context.mhz_per_cpu} MHz, load ${JSON.stringify(ours.context.load_avg || [])}`);
console.log(`ours  sr25519 sign ${fmt(sr.rate)} /s  (${sr.median ? 'median of 5' : 'single run'})`);
console.log(`ours  ed25519 sign ${fmt(ed.rate)} /s  (${ed.median ? 'median of 5' : 'single run'})`);
console.log(`wasm  sr25519 sign ${fmt(wasm.median_per_second)} /s  (median of ${wasm.runs.length}, ${wasm.version})`);
console.log(`ratio ours/wasm (sr25519):     ${(sr.rate / wasm.median_per_second).toFixed(2)}x`);
console.log(`ratio ours sr25519/ed25519:    ${(sr.rate / ed.rate).toFixed(2)}x`);
EOF
