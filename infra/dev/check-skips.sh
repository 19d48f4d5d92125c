#!/usr/bin/env bash
# Fails if the last ctest run in BUILD_DIR counted a test as skipped whose suite set-up failed.
#
# gtest skips every test of a suite whose SetUpTestSuite fails, and prints "[  SKIPPED ]" for them;
# gtest_discover_tests marks that text as a skip, and ctest then reports "Skipped" whatever the exit
# code, so a suite whose fixture (a signerd, a token) never came up would pass CI unseen. This reads
# ctest's full log and names such tests.
#
# Usage: bash infra/dev/check-skips.sh BUILD_DIR
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
log=$1/Testing/Temporary/LastTest.log
if [[ ! -f $log ]]; then
  echo "check-skips.sh: no ctest log at $log" >&2
  exit 1
fi

# Each test's block runs from "<n>/<total> Test: <name>" to its "end time" line.
mapfile -t broken < <(awk '
  / Test: / && $2 == "Test:" { name = $3; failed_setup = 0; skipped = 0; next }
  /SetUpTestSuite or TearDownTestSuite|FAILED TEST SUITE/ { failed_setup = 1 }
  /^Skip regular expression found in output/ { skipped = 1 }
  /" end time: / {
    if (name != "" && skipped && failed_setup) print name
    name = ""
  }
' "$log")

if ((${#broken[@]} > 0)); then
  echo "check-skips.sh: ${#broken[@]} test(s) counted as skipped because their suite's set-up failed:" >&2
  printf '  %s\n' "${broken[@]}" >&2
  echo "check-skips.sh: their output is in $log" >&2
  exit 1
fi
