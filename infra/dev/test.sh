#!/usr/bin/env bash
# The whole test suite, as CI runs it: install, build, ctest, an ASan+UBSan build of the tests, a TSan
# build of the threaded code, brief fuzzing, clang-tidy on changed files, the infra recipes, clang-format.
# What runs where, and why, is in docs/ci.md; each stage's time is printed at the end.
#
# Environment knobs (all optional):
#   SIGNER_BUILD_JOBS     parallel compile jobs (default: nproc)
#   SIGNER_TEST_JOBS      parallel ctest jobs (default: nproc + 1; the tests wait on processes and disks)
#   SIGNER_FUZZ_SECONDS   seconds per libFuzzer target (default 10; long runs: tests/fuzz/campaign.sh)
#   SIGNER_FUZZ_JOBS      fuzz targets run at once (default: nproc)
#   SIGNER_TIDY_BASE      git ref whose merge base with HEAD starts the clang-tidy diff (default:
#                         origin/main, else main; when HEAD is that base, the files of HEAD's own commit)
#   SIGNER_TIDY           "changed" (default), "all" (every source file; slow) or "off"
#   SIGNER_TEST_TMPDIR    where tests make their temporary directories (default: a fresh directory on
#                         /dev/shm when it exists, so SoftHSM tokens, RocksDB and audit files sync to RAM)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

jobs=${SIGNER_BUILD_JOBS:-$(nproc)}
test_jobs=${SIGNER_TEST_JOBS:-$(($(nproc) + 1))}
fuzz_seconds=${SIGNER_FUZZ_SECONDS:-10}
fuzz_jobs=${SIGNER_FUZZ_JOBS:-$(nproc)}
tidy_mode=${SIGNER_TIDY:-changed}

# --- stage bookkeeping: every stage's wall time, printed at the end (also when a stage fails) ---
stage_names=()
stage_seconds=()
stage_current=
stage_start=0
close_stage() {
  if [[ -n $stage_current ]]; then
    stage_names+=("$stage_current")
    stage_seconds+=($((SECONDS - stage_start)))
    stage_current=
  fi
}
step() {
  close_stage
  stage_current=$*
  stage_start=$SECONDS
  printf '\n==> %s\n' "$*" >&2
}
scratch=
finish() {
  local status=$?
  close_stage
  if ((${#stage_names[@]} > 0)); then
    printf '\n==> stage times (s)\n' >&2
    local i
    for i in "${!stage_names[@]}"; do
      printf '%6d  %s\n' "${stage_seconds[$i]}" "${stage_names[$i]}" >&2
    done
    printf '%6d  total\n' "$SECONDS" >&2
  fi
  if [[ -n $scratch ]]; then
    rm -rf "$scratch"
  fi
  exit "$status"
}
trap finish EXIT

# Tests make their temporary directories (SoftHSM tokens, RocksDB stores, audit logs) under TMPDIR;
# on tmpfs their fsyncs cost nothing and no disk is shared with the builds.
if [[ -n ${SIGNER_TEST_TMPDIR:-} ]]; then
  mkdir -p "$SIGNER_TEST_TMPDIR"
  scratch=$(mktemp -d "$SIGNER_TEST_TMPDIR/signer-test.XXXXXX")
elif [[ -d /dev/shm && -w /dev/shm ]]; then
  scratch=$(mktemp -d /dev/shm/signer-test.XXXXXX)
else
  scratch=$(mktemp -d)
fi
export TMPDIR=$scratch

step "installing dependencies"
bash infra/dev/install-deps.sh

if [[ -f tests/oracle/package-lock.json ]]; then
  step "installing the npm oracles (tests/oracle)"
  (cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

if [[ -f tests/browser/package-lock.json ]]; then
  step "installing the browser test's driver (tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# The benchmark programs are built here (about a second with a warm ccache) so they cannot rot; the
# sanitizer and fuzz builds leave them out.
step "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIGNER_WERROR=ON >/dev/null
cmake --build build -j "$jobs"

step "tests (release build)"
ctest --test-dir build --output-on-failure -j "$test_jobs" --timeout 600
# ctest counts the tests of a gtest suite whose SetUpTestSuite failed as skipped, not failed.
bash infra/dev/check-skips.sh build

step "dev signer smoke run (the README's first command, non-interactive)"
bash infra/dev/run.sh --smoke

step "threshold dev smoke run (coordinator and three key agents, 2-of-3; docs/threshold.md)"
threshold_smoke=$(mktemp -d "${TMPDIR:-/tmp}/threshold-smoke.XXXXXX")
SIGNER_THRESHOLD_DIR=$threshold_smoke/dev-threshold bash infra/dev/threshold.sh up --base-port 0 --smoke >/dev/null
rmdir "$threshold_smoke"

# The node's Rust client (node-patches/remote-keystore) against the signerd just built; Debian's cargo and
# librust-*-dev crates, offline (docs/node-patch.md).
# Its dependencies compile into a target directory at one fixed path, kept between runs as the
# compiler cache is, so a fresh clone compiles only the crate itself (about 30 s instead of 110;
# docs/ci.md). The crate's own artifacts are removed first: cargo judges a path crate by file times,
# and a clone older than the last build must not pass on that build's binaries. A lock keeps two
# runs on one machine apart.
step "node crate (cargo test --offline)"
(
  cd node-patches/remote-keystore
  exec {cargo_lock}>/var/tmp/signer-ci-cargo-target.lock
  flock "$cargo_lock"
  export CARGO_TARGET_DIR=/var/tmp/signer-ci-cargo-target CARGO_BUILD_JOBS="$jobs" RUSTC=/usr/bin/rustc
  /usr/bin/cargo clean --offline --quiet -p remote-keystore
  SIGNERD="$repo/build/bin/signerd" SIGNERCTL="$repo/build/bin/signerctl" /usr/bin/cargo test --offline --quiet
)

# The ASan+UBSan build is also the coverage build (gcov). gcc writes each object's absolute path into
# it (where its counts go), and ccache therefore keys those objects on that path: built inside this
# clone, no later clone would ever hit the cache. So the build runs from a copy of the tree at one fixed
# path, the same in every run (a lock keeps two runs on one machine apart).
asan_root=/var/tmp/signer-ci-asan
asan_src=$asan_root/src
asan_build=$asan_root/build-asan
step "ASan+UBSan build of the tests, with line coverage (in $asan_root)"
exec {asan_lock}>"$asan_root.lock"
flock "$asan_lock"
rm -rf "$asan_root"
mkdir -p "$asan_src"
# The working tree's files as they are (a local run may have uncommitted changes), not .git or builds.
git ls-files -z --cached --others --exclude-standard |
  tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null | tar -C "$asan_src" -xf -
if [[ -d tests/oracle/node_modules ]]; then
  ln -s "$repo/tests/oracle/node_modules" "$asan_src/tests/oracle/node_modules"
fi
if [[ -d tests/browser/node_modules ]]; then
  ln -s "$repo/tests/browser/node_modules" "$asan_src/tests/browser/node_modules"
fi
cmake -S "$asan_src" -B "$asan_build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSIGNER_WERROR=ON \
  -DSIGNER_SANITIZER=address -DSIGNER_COVERAGE=ON -DSIGNER_BENCH=OFF >/dev/null
cmake --build "$asan_build" -j "$jobs"

step "tests (ASan+UBSan build)"
# Three Kafka cluster tests, two threshold e2e tests, the oracle cross-check, the grpc-js client against
# gateways over a three-signer cluster and the 50-validator signer run in the release build only: they
# spend their time on process restarts, broker outages, agent and signer kill storms, five-agent key
# generation, npm and 150 key imports, and the code they reach runs
# under ASan in kafka_test, the other cluster, threshold and e2e tests, keymgr_test, kat_test and the
# fuzzers (docs/ci.md).
asan_release_only='^(KafkaClusterTest\.SigkilledSignersRestartAndCatchUpWhileTheStormGoesOn'
asan_release_only+='|KafkaClusterTest\.BrokersDownMeansUnavailableAndNoSignatureThenSigningResumes'
asan_release_only+='|KafkaClusterTest\.SignerStartedDuringABrokerOutageServesOnceTheBrokersReturn'
asan_release_only+='|ThresholdE2eTest\.KillStormReusesNoNonceAndSignsNoEquivocation'
asan_release_only+='|ThresholdDkgE2eTest\.ThreeOfFiveParaKeyFromDkgSignsWithTwoAgentsDown'
asan_release_only+='|oracle_cross_check|grpcjs_gateway_cluster_e2e|ManyValidatorsTest'
asan_release_only+='|payout_check_script|payout_profiles_pinned)$'
# Two passes (docs/ci.md, "The fast unwinder in the ASan run"). Every test but the ones labelled
# openssl-leaks records allocation stacks with ASan's fast unwinder, which stops inside OpenSSL (no
# frame pointers there), so leaks allocated inside libcrypto are ignored: none of those the tests
# meet are ours (SoftHSM2's own, gRPC threads' OpenSSL state). With the slow unwinder everywhere
# the run took 1.7 times as long. The tests of our own code that calls OpenSSL (tls, hashing, the
# metrics listener) then run with full stacks, 20 frames, and suppressions that name the frames of
# the leaks that are not ours.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  LSAN_OPTIONS=suppressions="$repo/tests/lsan-suppressions.txt":print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$asan_build" --output-on-failure -j "$test_jobs" --timeout 900 -E "$asan_release_only" \
  -LE openssl-leaks
bash infra/dev/check-skips.sh "$asan_build"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0:malloc_context_size=20 \
  LSAN_OPTIONS=suppressions="$repo/tests/lsan-suppressions-full-stacks.txt":print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$asan_build" --output-on-failure -j "$test_jobs" --timeout 900 -L openssl-leaks
bash infra/dev/check-skips.sh "$asan_build"

step "line coverage of the ASan+UBSan tests (gcovr; the README's test section has the table)"
bash "$asan_src/infra/dev/coverage.sh" --build-dir "$asan_build" --jobs "$jobs" --summary-only \
  --fail-under keymgr=85 --fail-under slashing=85 --fail-under signer/signerd=85 \
  --fail-under signer/base=85 --fail-under signer/audit=85

step "TSan build and tests of the threaded code"
bash infra/dev/tsan.sh build-tsan "$jobs"

step "libFuzzer targets (clang), ${fuzz_seconds}s each, ${fuzz_jobs} at a time"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIGNER_WERROR=ON \
  -DSIGNER_FUZZ=ON -DSIGNER_TESTS=OFF -DSIGNER_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "$jobs"
bash infra/dev/fuzz-parallel.sh build-fuzz "$fuzz_seconds" "$fuzz_jobs"

if [[ $tidy_mode != off ]]; then
  step "clang-tidy ($tidy_mode)"
  tidy_args=(--jobs "$jobs")
  if [[ $tidy_mode == all ]]; then
    tidy_args+=(--all)
  elif [[ -n ${SIGNER_TIDY_BASE:-} ]]; then
    tidy_args+=(--base "$SIGNER_TIDY_BASE")
  fi
  bash infra/dev/tidy.sh "${tidy_args[@]}"
fi

step "infra recipes"
bash infra/check.sh

step "formatting"
mapfile -t sources < <(git ls-files '*.cc' '*.h')
clang-format --dry-run -Werror "${sources[@]}"

close_stage
printf '\n==> all tests passed\n' >&2
