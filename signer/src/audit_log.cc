// Hash-chained JSON-lines audit log, synced by group commit, and its chain verifier.
#include "audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "keymgr/hash.h"
#include "keymgr/hex.h"

namespace signer {
namespace {

using keymgr::Result;
using keymgr::Status;

const std::string kZeroHash(64, '0');

constexpr const char* kFieldOrder[] = {
    "seq",    "time_ms",  "identity", "method", "operation",  "key_type", "public_key",
    "domain", "position", "verdict",  "reason", "latency_us", "prev"};

Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Status::Unavailable(std::string("audit write failed: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return Status::Ok();
}

}  // namespace

std::string AuditLineHash(std::string_view line) {
  const auto bytes =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(line.data()), line.size());
  const auto hash = keymgr::Blake2b256(bytes);
  return keymgr::HexEncode(hash);
}

AuditVerifyReport VerifyAuditText(std::string_view text) {
  AuditVerifyReport report;
  report.last_hash = kZeroHash;
  uint64_t expected_seq = 0;
  uint64_t line_number = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    ++line_number;
    const size_t newline = rest.find('\n');
    auto fail = [&](std::string problem) {
      report.first_bad_line = line_number;
      report.problem = std::move(problem);
      return report;
    };
    if (newline == std::string_view::npos) {
      return fail("torn last line (no newline)");
    }
    const std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    nlohmann::json object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!object.is_object()) {
      return fail("not a JSON object");
    }
    if (object.size() != std::size(kFieldOrder)) {
      return fail("unexpected set of fields");
    }
    for (const char* field : kFieldOrder) {
      if (!object.contains(field)) {
        return fail(std::string("missing field ") + field);
      }
    }
    if (!object["seq"].is_number_unsigned() || !object["prev"].is_string()) {
      return fail("seq or prev has the wrong type");
    }
    const uint64_t seq = object["seq"].get<uint64_t>();
    const std::string prev = object["prev"].get<std::string>();
    if (seq != expected_seq) {
      return fail("seq " + std::to_string(seq) + " where " + std::to_string(expected_seq) +
                  " was expected: lines are missing before this one");
    }
    if (prev != report.last_hash) {
      if (line_number == 1) {
        return fail("first line does not start the chain");
      }
      // seq is continuous, so nothing was removed: the previous line's bytes changed.
      --line_number;
      return fail("line was edited (the next line's prev hash does not match it)");
    }
    report.last_hash = AuditLineHash(line);
    report.lines = line_number;
    ++expected_seq;
  }
  report.ok = true;
  return report;
}

Result<AuditVerifyReport> VerifyAuditFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Status::NotFound("cannot read audit log " + path);
  }
  std::ostringstream text;
  text << file.rdbuf();
  return VerifyAuditText(text.str());
}

namespace {

// FdAuditFile is the real AuditFile: an O_APPEND file descriptor it owns.
class FdAuditFile final : public AuditFile {
 public:
  explicit FdAuditFile(int fd) : fd_(fd) {}
  ~FdAuditFile() override { ::close(fd_); }
  FdAuditFile(const FdAuditFile&) = delete;
  FdAuditFile& operator=(const FdAuditFile&) = delete;

  Status Append(std::string_view bytes) override { return WriteAll(fd_, bytes); }
  Status Sync() override {
    if (::fdatasync(fd_) != 0) {
      return Status::Unavailable(std::string("audit fdatasync failed: ") + std::strerror(errno));
    }
    return Status::Ok();
  }

 private:
  int fd_;
};

// A group is capped so one leader's batch (and its callers' wait) stays bounded under a flood.
constexpr size_t kMaxGroupLines = 1024;

// RenderMiddle renders every field of `record` between seq and prev, exactly as they appear in the
// line (`"time_ms":...,"latency_us":N`). It runs on the caller's own thread, so the JSON work of a
// group is done in parallel; only seq, prev and the hash are left to the leader.
std::string RenderMiddle(const AuditRecord& record) {
  nlohmann::ordered_json object;
  object["time_ms"] = record.time_unix_ms;
  object["identity"] = record.identity;
  object["method"] = record.method;
  object["operation"] = record.operation;
  object["key_type"] = record.key_type;
  object["public_key"] = record.public_key;
  object["domain"] = record.domain;
  object["position"] = record.position;
  object["verdict"] = record.verdict;
  object["reason"] = record.reason;
  object["latency_us"] = record.latency_us;
  // Client-supplied strings may not be UTF-8; replace rather than throw, the line must be written.
  std::string text = object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  // A compact dump is "{...}": keep what is inside the braces.
  return text.substr(1, text.size() - 2);
}

}  // namespace

// Writer is one queued Append. Shared between its caller and the leader, so the leader can still
// signal it after the caller has read its status and returned.
struct AuditLog::Writer {
  enum State : int { kWaiting = 0, kLeader = 1, kDone = 2 };
  const AuditRecord* record = nullptr;
  std::string middle;
  std::atomic<int> state{kWaiting};
  Status status;
};

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::Unavailable("cannot open audit log " + path + ": " + std::strerror(errno));
  }
  auto file = std::make_unique<FdAuditFile>(fd);
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::pread(fd, buffer, sizeof(buffer), static_cast<off_t>(text.size()));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return Status::Unavailable("cannot read audit log " + path);
    }
    if (got == 0) {
      break;
    }
    text.append(buffer, static_cast<size_t>(got));
  }
  const AuditVerifyReport report = VerifyAuditText(text);
  if (!report.ok) {
    return Status::InvalidArgument("audit log " + path + " is broken at line " +
                                   std::to_string(report.first_bad_line) + ": " + report.problem);
  }
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(file), report.lines, report.last_hash));
}

Result<std::unique_ptr<AuditLog>> AuditLog::Create(std::unique_ptr<AuditFile> file,
                                                   std::string_view existing_text) {
  const AuditVerifyReport report = VerifyAuditText(existing_text);
  if (!report.ok) {
    return Status::InvalidArgument("audit log is broken at line " +
                                   std::to_string(report.first_bad_line) + ": " + report.problem);
  }
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(file), report.lines, report.last_hash));
}

AuditLog::AuditLog(std::unique_ptr<AuditFile> file, uint64_t next_seq, std::string prev_hash)
    : file_(std::move(file)), next_seq_(next_seq), prev_hash_(std::move(prev_hash)) {}

AuditLog::~AuditLog() = default;

AuditLog::Stats AuditLog::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats stats = stats_;
  stats.queued = queue_.size();
  return stats;
}

Status AuditLog::Append(const AuditRecord& record) {
  auto self = std::make_shared<Writer>();
  self->record = &record;
  self->middle = RenderMiddle(record);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(self);
    if (queue_.size() == 1) {
      self->state.store(Writer::kLeader, std::memory_order_relaxed);
    }
  }
  int state = self->state.load(std::memory_order_acquire);
  while (state == Writer::kWaiting) {
    self->state.wait(Writer::kWaiting, std::memory_order_acquire);
    state = self->state.load(std::memory_order_acquire);
  }
  if (state == Writer::kDone) {
    return self->status;
  }

  // This caller leads: it takes everyone queued so far. The group stays at the front of the queue
  // until it is committed, so late arrivals queue behind it and nobody else leads meanwhile.
  std::vector<std::shared_ptr<Writer>> group;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t size = std::min(queue_.size(), kMaxGroupLines);
    group.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(size));
  }
  CommitGroup(group);
  std::shared_ptr<Writer> next_leader;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(group.size()));
    if (!queue_.empty()) {
      next_leader = queue_.front();
    }
  }
  // The next leader may start writing now: this group's lines and observer calls are all done.
  if (next_leader) {
    next_leader->state.store(Writer::kLeader, std::memory_order_release);
    next_leader->state.notify_one();
  }
  for (const auto& member : group) {
    if (member != self) {
      member->state.store(Writer::kDone, std::memory_order_release);
      member->state.notify_one();
    }
  }
  return self->status;
}

void AuditLog::CommitGroup(const std::vector<std::shared_ptr<Writer>>& group) {
  if (broken_) {
    for (const auto& member : group) {
      member->status = Status::Unavailable("audit log is unusable after an earlier write failure");
    }
    return;
  }
  // Lines are chained here, in queue order; the chain state moves only once they are durable.
  std::vector<std::string> lines;
  lines.reserve(group.size());
  std::string bytes;
  uint64_t seq = next_seq_;
  std::string prev = prev_hash_;
  for (const auto& member : group) {
    std::string line =
        "{\"seq\":" + std::to_string(seq) + "," + member->middle + ",\"prev\":\"" + prev + "\"}";
    prev = AuditLineHash(line);
    ++seq;
    bytes += line;
    bytes += '\n';
    lines.push_back(std::move(line));
  }
  Status status = file_->Append(bytes);
  if (status.ok()) {
    status = file_->Sync();
  }
  if (!status.ok()) {
    broken_ = true;
    for (const auto& member : group) {
      member->status = status;
    }
    return;
  }
  next_seq_ = seq;
  prev_hash_ = std::move(prev);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.groups;
    stats_.lines += group.size();
  }
  if (observer_) {
    for (size_t i = 0; i < group.size(); ++i) {
      observer_(lines[i], *group[i]->record);
    }
  }
}

}  // namespace signer
