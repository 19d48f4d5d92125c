// PayoutScheduler: runs the payout program once per period, recorded before and after.
#include "rpc_pool/payout_scheduler.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <utility>

#include "base/file_io.h"
#include "base/hex.h"
#include "keymgr/ss58.h"
#include "rpc_pool/registry.h"

extern char** environ;

namespace rpc_pool {
namespace {

using base::Result;
using base::Status;
using nlohmann::json;

constexpr size_t kMaxAccountLength = 128;
// The tail of a failed run's log that is searched for its reason, and the most of it that is kept.
constexpr size_t kLogTailBytes = 4096;
constexpr size_t kMaxReasonLength = 300;

using AccountKey = std::array<uint8_t, 32>;

// AccountKeyOf is the 32-byte account `account` names as 0x hex or SS58 (of any network: the
// payout program, which knows the chain, checks the prefix), or nullopt when it names none.
std::optional<AccountKey> AccountKeyOf(const std::string& account) {
  if (account.empty() || account.size() > kMaxAccountLength) return std::nullopt;
  AccountKey key{};
  if (account.starts_with("0x")) {
    const base::Result<std::vector<uint8_t>> bytes = base::HexDecode(account);
    if (!bytes.ok() || bytes->size() != key.size()) return std::nullopt;
    std::copy(bytes->begin(), bytes->end(), key.begin());
    return key;
  }
  const base::Result<keymgr::Ss58Address> address = keymgr::Ss58Decode(account);
  if (!address.ok() || address->public_key.size() != key.size()) return std::nullopt;
  std::copy(address->public_key.begin(), address->public_key.end(), key.begin());
  return key;
}

// FailureReason is the last line a failed run wrote to its log (the payout program ends with
// `rpc-pool-payout: period ID: <reason>`), made printable and bounded for a log line and a
// history record; empty when there is none.
std::string FailureReason(const std::filesystem::path& log) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size <= 0) return "";
  const std::streamoff tail = std::min<std::streamoff>(size, kLogTailBytes);
  in.seekg(size - tail);
  std::string text(static_cast<size_t>(tail), '\0');
  in.read(text.data(), tail);
  text.resize(static_cast<size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const size_t newline = text.find_last_of('\n');
  std::string line = newline == std::string::npos ? text : text.substr(newline + 1);
  if (line.size() > kMaxReasonLength) line.resize(kMaxReasonLength);
  for (char& c : line) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return line;
}

HistoryRecord PayoutRecord(uint64_t at_ms, uint64_t start_ms, uint64_t period_ms, json fields) {
  fields["period"] = PayoutPeriodId(start_ms, period_ms);
  fields["period_start_ms"] = start_ms;
  fields["period_end_ms"] = start_ms + period_ms;
  return {.at_ms = at_ms,
          .sequence = 0,
          .kind = HistoryKind::kPayout,
          .node_id = "",
          .data = std::move(fields)};
}

}  // namespace

Result<std::map<std::string, std::string>> ReadPayoutAccounts(const std::filesystem::path& file) {
  SIGNER_ASSIGN_OR_RETURN(const std::string text, base::ReadPublicFile(file));
  const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return Status::InvalidArgument(file.string() + ": not a JSON object of node ID to account");
  }
  std::map<std::string, std::string> accounts;
  // Each account's first node: one account written two ways would be two payees to the payout
  // program, which refuses an account listed twice, and the period could never be paid.
  std::map<AccountKey, std::string> first_node_of;
  for (const auto& [node_id, account] : parsed.items()) {
    if (!IsValidNodeId(node_id)) {
      return Status::InvalidArgument(file.string() + ": a key is not a node ID");
    }
    const std::optional<AccountKey> key =
        account.is_string() ? AccountKeyOf(account.get<std::string>()) : std::nullopt;
    if (!key) {
      return Status::InvalidArgument(file.string() + ": the account of " + node_id +
                                     " is not an SS58 address or 0x hex of a 32-byte account");
    }
    const auto [first, inserted] = first_node_of.try_emplace(*key, node_id);
    if (!inserted && accounts.at(first->second) != account.get<std::string>()) {
      return Status::InvalidArgument(file.string() + ": " + first->second + " and " + node_id +
                                     " name one account written two ways; write it the same way");
    }
    accounts[node_id] = account.get<std::string>();
  }
  return accounts;
}

std::string PayoutPeriodId(uint64_t start_ms, uint64_t period_ms) {
  return "period-" + std::to_string(start_ms / 1000) + "-" +
         std::to_string((start_ms + period_ms) / 1000);
}

PayoutScheduler::PayoutScheduler(PayoutOptions options, PoolHistory& history)
    : options_(std::move(options)), history_(history) {}

// The program is not waited for here: it pays a period at most once whatever happens to this
// process (its own ledger), and the next controller re-runs an unfinished period.
PayoutScheduler::~PayoutScheduler() = default;

Result<std::optional<std::string>> PayoutScheduler::Poll(uint64_t now_ms) {
  if (options_.executable.empty() || options_.period_ms == 0) return std::optional<std::string>();
  SIGNER_ASSIGN_OR_RETURN(std::optional<std::string> collected, Collect(now_ms));
  if (collected || running()) return collected;
  SIGNER_ASSIGN_OR_RETURN(const std::optional<uint64_t> due, DuePeriodStart(now_ms));
  if (!due) return std::optional<std::string>();
  return Start(*due, now_ms);
}

Result<std::optional<std::string>> PayoutScheduler::Collect(uint64_t now_ms) {
  if (child_ <= 0) return std::optional<std::string>();
  int status = 0;
  const pid_t ended = ::waitpid(child_, &status, WNOHANG);
  if (ended == 0) return std::optional<std::string>();  // still running
  if (ended < 0 && errno == EINTR) return std::optional<std::string>();
  const uint64_t start_ms = child_period_start_ms_;
  const std::string id = PayoutPeriodId(start_ms, options_.period_ms);
  const bool paid = ended == child_ && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  json fields = {{"state", paid ? "done" : "failed"}};
  if (ended == child_ && WIFEXITED(status)) fields["exit_status"] = WEXITSTATUS(status);
  if (ended == child_ && WIFSIGNALED(status)) fields["signal"] = WTERMSIG(status);
  if (!paid) fields["reason"] = FailureReason(LogPath(id));
  const HistoryRecord record =
      PayoutRecord(now_ms, start_ms, options_.period_ms, std::move(fields));
  // The run has ended either way; a history failure here leaves no `done`, so the period runs
  // again and the program answers from its ledger that it is paid.
  child_ = -1;
  if (!paid) retry_after_ms_[start_ms] = now_ms + options_.retry_ms;
  SIGNER_RETURN_IF_ERROR(history_.Append(std::span(&record, 1)).status());
  if (paid) return std::optional<std::string>("payout " + id + ": done");
  // Said on every failed run, with the program's own words: a period that keeps failing holds
  // back every later one (they are paid in order, after the newest `done`), and the operator has
  // to fix its cause (docs/rpc-pool.md, "When the controller runs it").
  std::string line = "payout " + id + ": failed (" + record.data.dump() + "); again in " +
                     std::to_string(options_.retry_ms / 1000) + " s";
  const uint64_t waiting = EndedPeriodsAfter(start_ms, now_ms);
  if (waiting > 0) {
    line += "; " + std::to_string(waiting) + " later period(s) wait until it is paid";
  }
  return std::optional<std::string>(line);
}

std::filesystem::path PayoutScheduler::LogPath(const std::string& id) const {
  return options_.work_dir / (id + ".log");
}

uint64_t PayoutScheduler::EndedPeriodsAfter(uint64_t start_ms, uint64_t now_ms) const {
  const uint64_t period = options_.period_ms;
  if (now_ms < options_.grace_ms + period) return 0;
  const uint64_t newest_start = (now_ms - options_.grace_ms) / period * period - period;
  return newest_start > start_ms ? (newest_start - start_ms) / period : 0;
}

Result<std::optional<uint64_t>> PayoutScheduler::DuePeriodStart(uint64_t now_ms) {
  const uint64_t period = options_.period_ms;
  if (now_ms < options_.grace_ms + period) return std::optional<uint64_t>();
  const uint64_t newest_end = (now_ms - options_.grace_ms) / period * period;
  const uint64_t newest_start = newest_end - period;
  SIGNER_ASSIGN_OR_RETURN(const std::vector<HistoryRecord> payouts,
                          history_.Read({.from_ms = 0,
                                         .to_ms = UINT64_MAX,
                                         .kind = HistoryKind::kPayout,
                                         .node_id = std::nullopt,
                                         .limit = 100'000}));
  std::optional<uint64_t> newest_done;
  for (const HistoryRecord& record : payouts) {
    if (record.data.value("state", "") != "done") continue;
    const uint64_t start = record.data.value("period_start_ms", uint64_t{0});
    if (!newest_done || start > *newest_done) newest_done = start;
  }
  const uint64_t candidate = newest_done ? *newest_done + period : newest_start;
  if (candidate > newest_start) return std::optional<uint64_t>();
  const auto retry = retry_after_ms_.find(candidate);
  if (retry != retry_after_ms_.end() && now_ms < retry->second) return std::optional<uint64_t>();
  return std::optional<uint64_t>(candidate);
}

Result<std::optional<std::string>> PayoutScheduler::Start(uint64_t start_ms, uint64_t now_ms) {
  const uint64_t period = options_.period_ms;
  const std::string id = PayoutPeriodId(start_ms, period);
  // Points records carry the end of their points period: those ending in (start, end] count.
  SIGNER_ASSIGN_OR_RETURN(const std::vector<HistoryRecord> points,
                          history_.Read({.from_ms = start_ms + 1,
                                         .to_ms = start_ms + period,
                                         .kind = HistoryKind::kPoints,
                                         .node_id = std::nullopt,
                                         .limit = 1'000'000}));
  std::map<std::string, uint64_t> per_node;
  for (const HistoryRecord& record : points) {
    per_node[record.node_id] += record.data.value("points", uint64_t{0});
  }
  // Points are paid per account, not per node: an operator's nodes that pay to one account are
  // one payee with their points summed (the program refuses an account listed twice). Accounts
  // come in the order of their first node, so the file is the same for every run of the period.
  std::vector<std::pair<std::string, uint64_t>> per_account;
  json unpaid = json::array();
  uint64_t paid_points = 0;
  for (const auto& [node_id, node_points] : per_node) {
    if (node_points == 0) continue;
    const auto account = options_.accounts.find(node_id);
    if (account == options_.accounts.end()) {
      unpaid.push_back({{"node", node_id}, {"points", node_points}});
      continue;
    }
    const auto payee = std::find_if(per_account.begin(), per_account.end(), [&](const auto& entry) {
      return entry.first == account->second;
    });
    if (payee == per_account.end()) {
      per_account.emplace_back(account->second, node_points);
    } else {
      payee->second += node_points;
    }
    paid_points += node_points;
  }
  json payees = json::array();
  for (const auto& [account, account_points] : per_account) {
    payees.push_back({{"account", account}, {"points", account_points}});
  }
  if (payees.empty()) {
    const HistoryRecord record =
        PayoutRecord(now_ms, start_ms, period,
                     {{"state", "done"}, {"payees", 0}, {"unpaid", unpaid}, {"note", "no points"}});
    SIGNER_RETURN_IF_ERROR(history_.Append(std::span(&record, 1)).status());
    return std::optional<std::string>("payout " + id + ": nothing to pay");
  }
  std::error_code error;
  std::filesystem::create_directories(options_.work_dir, error);
  if (error) return Status::Unavailable("payout work directory: " + error.message());
  const std::filesystem::path points_file = options_.work_dir / (id + ".points.json");
  const std::string content = payees.dump(2) + "\n";
  SIGNER_RETURN_IF_ERROR(base::WriteFileAtomically(
      points_file, std::span(reinterpret_cast<const uint8_t*>(content.data()), content.size()),
      0600));
  const HistoryRecord started = PayoutRecord(now_ms, start_ms, period,
                                             {{"state", "started"},
                                              {"payees", payees.size()},
                                              {"points", paid_points},
                                              {"unpaid", unpaid}});
  // Recorded before the program runs: a crash from here on leaves `started` without `done`, and
  // the next controller runs the same period with the same file.
  SIGNER_RETURN_IF_ERROR(history_.Append(std::span(&started, 1)).status());

  std::vector<std::string> args = {options_.executable};
  args.insert(args.end(), options_.leading_args.begin(), options_.leading_args.end());
  args.insert(args.end(), {"--period", id, "--points", points_file.string(), "--fee-per-mille",
                           std::to_string(options_.fee_per_mille)});
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log = LogPath(id).string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // The controller blocks SIGINT and SIGTERM for its loop; the program must get them as usual.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int spawned =
      ::posix_spawn(&pid, options_.executable.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    retry_after_ms_[start_ms] = now_ms + options_.retry_ms;
    return Status::Unavailable("cannot start " + options_.executable + ": " +
                               std::strerror(spawned));
  }
  child_ = pid;
  child_period_start_ms_ = start_ms;
  return std::optional<std::string>("payout " + id + ": started for " +
                                    std::to_string(payees.size()) + " account(s), log " + log);
}

}  // namespace rpc_pool
