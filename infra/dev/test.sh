#!/usr/bin/env bash
# The whole test suite, as CI runs it: install, build, ctest, an ASan+UBSan build of the tests, brief fuzzing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

jobs=${SIGNER_BUILD_JOBS:-$(nproc)}
fuzz_seconds=${SIGNER_FUZZ_SECONDS:-20}

step() { printf '\n==> %s\n' "$*" >&2; }

step "installing dependencies"
bash infra/dev/install-deps.sh

if [[ -f tests/oracle/package-lock.json ]]; then
  step "installing the npm oracles (tests/oracle)"
  (cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

step "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIGNER_WERROR=ON >/dev/null
cmake --build build -j "$jobs"

step "tests (release build)"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600

step "dev signer smoke run (the README's first command, non-interactive)"
bash infra/dev/run.sh --smoke

step "ASan+UBSan build of the tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSIGNER_WERROR=ON -DSIGNER_SANITIZER=address \
  -DSIGNER_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs"
# SoftHSM2 leaks inside its own code; the suppression names its library, which needs full stacks.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0 \
  LSAN_OPTIONS=suppressions="$repo/tests/lsan-suppressions.txt":print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 900

step "TSan build of the threaded code (group commit, custody session pool)"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSIGNER_WERROR=ON -DSIGNER_SANITIZER=thread \
  -DSIGNER_BENCH=OFF >/dev/null
cmake --build build-tsan -j "$jobs" --target slashing_test keymgr_test
# The fork- and SIGKILL-based tests are left to the other builds: TSan refuses threads after a
# multi-threaded fork and slows the crash child too much to measure anything.
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/slashing/slashing_test \
  --gtest_brief=1 \
  --gtest_filter='-CrashDurabilityTest.*:HistoryAdminTest.RefusesWhileAnotherProcessHoldsTheStore'
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/keymgr/keymgr_test --gtest_brief=1

step "libFuzzer targets (clang), ${fuzz_seconds}s each"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIGNER_WERROR=ON \
  -DSIGNER_FUZZ=ON -DSIGNER_TESTS=OFF -DSIGNER_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "$jobs"
bash tests/fuzz/run.sh build-fuzz "$fuzz_seconds"

step "formatting"
mapfile -t sources < <(git ls-files '*.cc' '*.h')
clang-format --dry-run -Werror "${sources[@]}"

step "all tests passed"
