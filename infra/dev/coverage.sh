#!/usr/bin/env bash
# Line coverage of the unit and integration tests, per module: a gcov build (-DSIGNER_COVERAGE=ON,
# Debug) in a build directory of its own, the whole ctest suite, and a gcovr summary per module.
# Test code (*_test.cc, test doubles named test_*), tests/ and generated code are not counted.
#
# Usage: bash infra/dev/coverage.sh [--build-dir DIR] [--jobs N] [--skip-tests] [--summary-only]
#                                   [--fail-under MODULE=PERCENT ...] [--ctest-args "..."]
#   --skip-tests    summarise what an earlier run left in DIR (the .gcda files), without running ctest
#   --summary-only  neither configure, build nor test: summarise DIR as another script built and ran it
#                   (CI's ASan+UBSan build is also its coverage build; infra/dev/test.sh)
#   --fail-under    exit 1 when MODULE (a row of the table, e.g. keymgr) covers fewer lines than PERCENT
# Writes DIR/coverage/summary.txt (the per-module table, also printed), DIR/coverage/summary.json
# (gcovr's per-file summary) and DIR/coverage/index.html (per-file detail).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

build_dir="build-coverage"
jobs=$(nproc)
run_tests=true
build=true
fail_under=()
ctest_args=()
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --skip-tests) run_tests=false; shift ;;
    --summary-only) run_tests=false; build=false; shift ;;
    --fail-under) fail_under+=("$2"); shift 2 ;;
    --ctest-args) read -r -a ctest_args <<<"$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "coverage.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if $build; then
  bash infra/dev/install-deps.sh
fi
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
if $build; then
  if [[ -f tests/oracle/package-lock.json && ! -d tests/oracle/node_modules ]]; then
    (cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSIGNER_COVERAGE=ON -DSIGNER_BENCH=OFF \
    -DSIGNER_WERROR=ON >/dev/null
  cmake --build "$build_dir" -j "$jobs"
fi

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
report_args=(--json-summary-pretty --json-summary "$out/summary.json")
if $build; then
  report_args+=(--html-details "$out/index.html")
else
  # The caller ran the tests and keeps its own status; CI wants the table, not per-file pages.
  rm -f "$out/ctest.status"
fi
gcovr "${gcovr_args[@]}" "${report_args[@]}" >/dev/null

python3 - "$out/summary.json" "$out/ctest.status" "$out/summary.txt" "${fail_under[@]}" <<'EOF'
import json, os, sys
summary_json, status_file, summary_txt, *fail_under = sys.argv[1:]
modules = ["signer/base", "keymgr", "slashing", "kafka", "tls", "signer/audit", "signer/common",
           "signer/metrics", "signer/signerd", "signer/signerctl", "signer/threshold",
           "signer/keyagentd", "gateway", "gateway/rpc_pool"]
files = json.load(open(summary_json))["files"]
# Each file counts once, in the module of the longest folder that holds it (gateway/rpc_pool/…
# is the RPC pool's row, not the gateway's).
def module_of(filename):
    holders = [m for m in modules if filename.startswith(m + "/")]
    return max(holders, key=len) if holders else None
rows, percent_of, total_cov, total_lines = [], {}, 0, 0
for module in modules:
    covered = lines = 0
    for f in files:
        if module_of(f["filename"]) == module:
            covered += f["line_covered"]
            lines += f["line_total"]
    total_cov += covered
    total_lines += lines
    percent_of[module] = 100.0 * covered / lines if lines else 0.0
    rows.append(f"| `{module}/` | {percent_of[module]:.1f}% | {covered} / {lines} |")
table = ["| module | lines covered | covered / total |", "| --- | --- | --- |", *rows,
         f"| all modules | {100.0 * total_cov / max(total_lines, 1):.1f}% | {total_cov} / {total_lines} |"]
if os.path.exists(status_file):
    table += ["", f"ctest exit status: {open(status_file).read().strip()}"]
open(summary_txt, "w").write("\n".join(table) + "\n")
print("\n".join(table))
# A gate names rows of the table; a name that is not one is the caller's typo, never a pass.
failed = False
for rule in fail_under:
    module, _, minimum = rule.partition("=")
    if module not in percent_of or not minimum:
        sys.exit(f"coverage.sh: --fail-under {rule}: expected MODULE=PERCENT, MODULE one of {modules}")
    if percent_of[module] < float(minimum):
        print(f"coverage.sh: {module}/ covers {percent_of[module]:.1f}% of its lines, "
              f"under the {minimum}% required", file=sys.stderr)
        failed = True
sys.exit(1 if failed else 0)
EOF
if $build; then
  echo "coverage.sh: per-file detail in $out/index.html" >&2
fi
