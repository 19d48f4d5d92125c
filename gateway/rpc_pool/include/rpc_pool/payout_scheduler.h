// PayoutScheduler: once per payout period the controller runs the payout program with the period's
// points per account, recording in the history before and after (seed 001's payout script).
//
// Thread safety: thread-compatible (the controller's tick loop owns it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "rpc_pool/pool_history.h"

namespace rpc_pool {

// PayoutOptions: which program, how often, and what it is given.
struct PayoutOptions {
  std::string executable;                 // e.g. rpc-pool-payout; empty: no payouts
  std::vector<std::string> leading_args;  // before the scheduler's own, e.g. {"--config", FILE}
  uint64_t period_ms = uint64_t{7} * 24 * 3600 * 1000;  // periods align to multiples of this
  // A period is paid this long after it ends, so the points period that closed on its boundary is
  // in the history first (points records carry their period's end time).
  uint64_t grace_ms = 120'000;
  uint64_t retry_ms = 300'000;  // after a failed run, the next attempt of the same period
  uint32_t fee_per_mille = 0;
  // node ID → payout account (SS58 or 0x hex), read from the operator's file; a node without one
  // is not paid (its points are recorded as unpaid); nodes with one account are paid as one.
  std::map<std::string, std::string> accounts;
  std::filesystem::path work_dir;  // points files and the program's output
};

// ReadPayoutAccounts reads the operator's accounts file: a JSON object of node ID → account, 0x
// and 64 hex digits or an SS58 address of a 32-byte account. Several nodes may pay to one account
// (their points are summed), written the same way each time. Fails with kInvalidArgument on
// anything else (a bad node ID, a value that names no 32-byte account, one account written two
// ways), so a mistake stops the controller at start rather than every payout later.
[[nodiscard]] base::Result<std::map<std::string, std::string>> ReadPayoutAccounts(
    const std::filesystem::path& file);

// PayoutPeriodId names the period [start_ms, start_ms + period_ms) as the payout program wants it.
std::string PayoutPeriodId(uint64_t start_ms, uint64_t period_ms);

class PayoutScheduler {
 public:
  // `history` must outlive the scheduler.
  PayoutScheduler(PayoutOptions options, PoolHistory& history);
  ~PayoutScheduler();
  PayoutScheduler(const PayoutScheduler&) = delete;
  PayoutScheduler& operator=(const PayoutScheduler&) = delete;

  // Poll does what is due at `now_ms`, never waiting on the program: it collects a run that has
  // ended (recording `done`, or `failed` with its exit status and the last line of its log as the
  // reason) and starts the next due period (recording `started` with the points it pays per
  // account, then spawning the program). Due: the periods that ended at least grace_ms ago after
  // the newest one recorded `done` (with no `done` at all, only the newest ended period), oldest
  // first, one run at a time; a failed period again after retry_ms, and no later period before
  // it is done (the line of every failed run says why it failed and how many periods wait). The
  // same period always gets the same points file, so a re-run after a crash gives the program the
  // inputs it recorded (it pays a period once; docs/rpc-pool.md, "Payout").
  // Returns a line for the log when something happened, nullopt otherwise. Fails with the
  // history's error or kUnavailable when the program cannot be started; the next Poll tries again.
  [[nodiscard]] base::Result<std::optional<std::string>> Poll(uint64_t now_ms);

  // running says whether the program is running now.
  bool running() const { return child_ > 0; }

 private:
  base::Result<std::optional<std::string>> Collect(uint64_t now_ms);
  base::Result<std::optional<uint64_t>> DuePeriodStart(uint64_t now_ms);
  base::Result<std::optional<std::string>> Start(uint64_t start_ms, uint64_t now_ms);
  // LogPath is where the program's output for period `id` goes.
  std::filesystem::path LogPath(const std::string& id) const;
  // EndedPeriodsAfter counts the periods after the one starting at `start_ms` that are due to be
  // paid at `now_ms` (ended, grace passed): those a failing period holds back.
  uint64_t EndedPeriodsAfter(uint64_t start_ms, uint64_t now_ms) const;

  const PayoutOptions options_;
  PoolHistory& history_;
  pid_t child_ = -1;
  uint64_t child_period_start_ms_ = 0;
  std::map<uint64_t, uint64_t> retry_after_ms_;  // period start → when it may run again
};

}  // namespace rpc_pool
