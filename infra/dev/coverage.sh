#!/usr/bin/env bash
# Line coverage of the unit and integration tests, per module: a gcov build (-DSIGNER_COVERAGE=ON,
# Debug) in a build directory of its own, the whole ctest suite, and a gcovr summary per module.
# Test code (*_test.cc, test doubles named test_*), tests/ and generated code are not counted.
#
# Usage: bash infra/dev/coverage.sh [--build-dir DIR] [--jobs N] [--skip-tests] [--ctest-args "..."]
#   --skip-tests  summarise what an earlier run left in DIR (the .gcda files), without running ctest
# Writes DIR/coverage/summary.txt (the per-module table, also printed), DIR/coverage/summary.json
# (gcovr's per-file summary) and DIR/coverage/index.html (per-file detail).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

build_dir=build-coverage
jobs=$(nproc)
run_tests=true
ctest_args=()
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --skip-tests) run_tests=false; shift ;;
    --ctest-args) read -r -a ctest_args <<<"$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "coverage.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

bash infra/dev/install-deps.sh
if ! command -v gcovr >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "coverage.sh: gcovr is missing (Debian package gcovr); install it or run as root" >&2
    exit 1
  fi
  echo "coverage.sh: installing gcovr" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcovr >/dev/null ||
    { apt-get update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcovr >/dev/null; }
fi
if [[ -f tests/oracle/package-lock.json && ! -d tests/oracle/node_modules ]]; then
  (cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSIGNER_COVERAGE=ON -DSIGNER_BENCH=OFF \
  -DSIGNER_WERROR=ON >/dev/null
cmake --build "$build_dir" -j "$jobs"

out=$build_dir/coverage
mkdir -p "$out"
if $run_tests; then
  # Counts from an earlier run would be added to this one's.
  find "$build_dir" -name '*.gcda' -delete
  # Tests make their temporary directories on tmpfs when there is one (as infra/dev/test.sh does).
  scratch=$(mktemp -d "$([[ -d /dev/shm && -w /dev/shm ]] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/signer-cov.XXXXXX")
  trap 'rm -rf "$scratch"' EXIT
  # A test that fails still leaves its counts; the summary says the run was not clean.
  ctest_status=0
  TMPDIR=$scratch ctest --test-dir "$build_dir" -j "$((jobs + 1))" --timeout 900 \
    --output-on-failure "${ctest_args[@]}" >"$out/ctest.log" 2>&1 || ctest_status=$?
  tail -n 5 "$out/ctest.log" >&2
  echo "$ctest_status" >"$out/ctest.status"
fi

# Counted: the modules' own sources. Not counted: tests and test doubles, tests/, generated code.
gcovr_args=(
  --root "$repo" --object-directory "$build_dir" -j "$jobs" --gcov-ignore-parse-errors
  --exclude '.*_test\.cc$' --exclude '.*/test_[^/]*$' --exclude '.*/crash_child\.cc$'
  --exclude "$repo/tests/" --exclude '(.*/)?build[^/]*/.*'
)
rm -f "$out"/index*.html
gcovr "${gcovr_args[@]}" --json-summary-pretty --json-summary "$out/summary.json" \
  --html-details "$out/index.html" >/dev/null

python3 - "$out/summary.json" "$out/ctest.status" >"$out/summary.txt" <<'EOF'
import json, os, sys
modules = ["signer/base", "keymgr", "slashing", "kafka", "tls", "signer/audit", "signer/common",
           "signer/signerd", "signer/signerctl"]
files = json.load(open(sys.argv[1]))["files"]
rows, total_cov, total_lines = [], 0, 0
for module in modules:
    covered = lines = 0
    for f in files:
        if f["filename"].startswith(module + "/"):
            covered += f["line_covered"]
            lines += f["line_total"]
    total_cov += covered
    total_lines += lines
    pct = 100.0 * covered / lines if lines else 0.0
    rows.append(f"| `{module}/` | {pct:.1f}% | {covered} / {lines} |")
status = open(sys.argv[2]).read().strip() if os.path.exists(sys.argv[2]) else "?"
print("| module | lines covered | covered / total |")
print("| --- | --- | --- |")
print("\n".join(rows))
print(f"| all modules | {100.0 * total_cov / total_lines:.1f}% | {total_cov} / {total_lines} |")
print()
print(f"ctest exit status: {status}")
EOF
cat "$out/summary.txt"
echo "coverage.sh: per-file detail in $out/index.html" >&2
