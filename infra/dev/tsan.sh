#!/usr/bin/env bash
# TSan build and run of the signer's own threaded code: protection-history group commit and custody
# session pool (slashing_test, keymgr_test), audit group commit (signer_audit_test), metrics, the
# pipeline's concurrent decisions and policy swap (signerd_test), the key agent's nonce table
# (keyagentd_test). docs/ci.md says what is left out.
#
# Usage: bash infra/dev/tsan.sh [BUILD_DIR [JOBS]]   (defaults: build-tsan, nproc)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
build_dir=${1:-build-tsan}
jobs=${2:-$(nproc)}

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSIGNER_WERROR=ON \
  -DSIGNER_SANITIZER=thread -DSIGNER_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j "$jobs" --target slashing_test keymgr_test signer_audit_test signerd_test \
  keyagentd_test

export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

# Left out, each for one of three reasons:
# - fork or SIGKILL: TSan refuses threads in a child forked from a threaded process and slows a crash
#   child too much to measure anything; these run in the release and ASan builds.
# - gRPC: Debian's libgrpc++ is not built with TSan, so its threads' synchronisation is invisible and
#   every callback into our code would be reported; the service tests run in the other builds. The
#   uplink client's tests (a real gRPC stream to a scripted gateway) and the key agent's test of its
#   service wiping shares (a real gRPC server) are left out for this reason.
# - memory measurements: TSan's shadow memory makes resident-size bounds meaningless.
# Each binary runs in the build directory, as under ctest: tests that find the source tree from
# __FILE__ get it relative to there (ccache's CCACHE_BASEDIR makes it relative).
run() {
  local binary=$1 filter=$2
  echo "tsan.sh: $binary${filter:+ (filter $filter)}" >&2
  (cd "$build_dir" && "./$binary" --gtest_brief=1 ${filter:+"--gtest_filter=$filter"})
}
run slashing/slashing_test \
  '-*CrashDurabilityTest.*:HistoryAdminTest.RefusesWhileAnotherProcessHoldsTheStore'
run keymgr/keymgr_test ''
run signer/audit/signer_audit_test \
  '-AuditLogTest.SigkillDuringAWriteStormNeverKeepsTheLogFromOpening:AuditLogTest.OpenAndVerifyDoNotHoldTheWholeFile'
run signer/signerd/signerd_test \
  '-KeystoreServiceTest.ShedsOverloadAndSkipsExpiredRequests:KeystoreServiceTest.SeedsAndSurisAreWipedFromTheRequestOnceUsed:UplinkClientTest.*'
run signer/keyagentd/keyagentd_test '-KeyAgentTest.SharesAreWipedFromTheRequestOnceUsed'
echo "tsan.sh: all TSan runs clean" >&2
