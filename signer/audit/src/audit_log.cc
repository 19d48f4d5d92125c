// Hash-chained JSON-lines audit log, synced by group commit, and its chain verifier.
#include "audit/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <span>
#include <utility>

#include "audit/audit_field.h"
#include "audit/audit_format.h"

namespace signer {
namespace {

using base::Result;
using base::Status;

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

// ChunkReader fills `out` with the next bytes of a log and returns how many, 0 at the end.
using ChunkReader = std::function<Result<size_t>(std::span<char> out)>;

// LineFault says how a line failed: a malformed line may be a torn write; a well-formed line whose
// seq or prev does not fit is evidence of an edit or a removal, never repaired.
enum class LineFault { kNone, kMalformed, kChain };

// ChainScan is what one pass over a log found.
struct ChainScan {
  AuditVerifyReport report;
  uint64_t good_bytes = 0;  // bytes of the verified lines, newlines included: where a cut starts
  bool torn_tail = false;   // the only problem is the last line, which is torn or malformed
  std::string tail;         // that line's bytes, its newline included if it had one
};

// ChainChecker checks lines in order, holding only the chain state.
class ChainChecker {
 public:
  explicit ChainChecker(AuditVerifyReport& report) : report_(report) {
    report_.last_hash = kAuditFirstLinePrev;
  }

  // Check verifies the line numbered `line_number` (1-based); on a fault it fills the report's
  // first_bad_line and problem.
  LineFault Check(std::string_view line, uint64_t line_number) {
    auto fail = [&](LineFault fault, uint64_t bad_line, std::string problem) {
      report_.first_bad_line = bad_line;
      report_.problem = std::move(problem);
      return fault;
    };
    const Result<ParsedAuditLine> parsed = ParseAuditLine(line);
    if (!parsed.ok()) {
      return fail(LineFault::kMalformed, line_number, parsed.status().message());
    }
    const uint64_t seq = parsed->link.seq;
    const std::string& prev = parsed->link.prev;
    if (seq != expected_seq_) {
      return fail(LineFault::kChain, line_number,
                  "seq " + std::to_string(seq) + " where " + std::to_string(expected_seq_) +
                      " was expected: lines are missing before this one");
    }
    if (prev != report_.last_hash) {
      if (line_number == 1) {
        return fail(LineFault::kChain, line_number, "first line does not start the chain");
      }
      // seq is continuous, so nothing was removed: the previous line's bytes changed.
      return fail(LineFault::kChain, line_number - 1,
                  "line was edited (the next line's prev hash does not match it)");
    }
    report_.last_hash = AuditLineHash(line);
    report_.lines = line_number;
    ++expected_seq_;
    return LineFault::kNone;
  }

 private:
  AuditVerifyReport& report_;
  uint64_t expected_seq_ = 0;
};

// ScanChain reads a whole log through `read`, holding at most one line (kAuditMaxLineBytes) and
// one chunk, and stops early once a bad line is followed by more bytes. Fails only if `read` does.
Result<ChainScan> ScanChain(const ChunkReader& read) {
  ChainScan scan;
  ChainChecker checker(scan.report);
  std::string line;
  uint64_t line_bytes = 0;  // the current line's true length; `line` stops growing past the bound
  uint64_t line_number = 0;
  LineFault fault = LineFault::kNone;
  std::vector<char> chunk(size_t{1} << 16);
  for (;;) {
    auto got = read(std::span<char>(chunk));
    if (!got.ok()) {
      return got.status();
    }
    if (*got == 0) {
      break;
    }
    std::string_view rest(chunk.data(), *got);
    while (!rest.empty()) {
      if (fault != LineFault::kNone) {
        // More bytes follow the bad line: it is not a torn tail but a break inside the log.
        scan.torn_tail = false;
        return scan;
      }
      const size_t newline = rest.find('\n');
      const std::string_view piece = rest.substr(0, newline);
      if (line.size() + piece.size() <= kAuditMaxLineBytes) {
        line.append(piece);
      }
      line_bytes += piece.size();
      if (newline == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(newline + 1);
      ++line_number;
      if (line_bytes > kAuditMaxLineBytes) {
        fault = LineFault::kMalformed;
        scan.report.first_bad_line = line_number;
        scan.report.problem = "line longer than " + std::to_string(kAuditMaxLineBytes) + " bytes";
      } else {
        fault = checker.Check(line, line_number);
      }
      if (fault == LineFault::kNone) {
        scan.good_bytes += line_bytes + 1;
      } else {
        scan.torn_tail = fault == LineFault::kMalformed && line_bytes <= kAuditMaxLineBytes;
        if (scan.torn_tail) {
          scan.tail = line + "\n";
        }
      }
      line.clear();
      line_bytes = 0;
    }
  }
  if (line_bytes > 0 && fault == LineFault::kNone) {
    scan.report.first_bad_line = line_number + 1;
    scan.report.problem = "torn last line (no newline)";
    scan.torn_tail = line_bytes <= kAuditMaxLineBytes;
    if (scan.torn_tail) {
      scan.tail = std::move(line);
    }
    return scan;
  }
  scan.report.ok = fault == LineFault::kNone;
  return scan;
}

ChunkReader TextReader(std::string_view text) {
  return [text](std::span<char> out) mutable -> Result<size_t> {
    const size_t size = std::min(out.size(), text.size());
    std::copy_n(text.data(), size, out.data());
    text.remove_prefix(size);
    return size;
  };
}

// FdReader reads `fd` from its current offset on.
ChunkReader FdReader(int fd) {
  return [fd](std::span<char> out) -> Result<size_t> {
    for (;;) {
      const ssize_t got = ::read(fd, out.data(), out.size());
      if (got >= 0) {
        return static_cast<size_t>(got);
      }
      if (errno != EINTR) {
        return Status::Unavailable(std::string("cannot read audit log: ") + std::strerror(errno));
      }
    }
  };
}

}  // namespace

AuditVerifyReport VerifyAuditText(std::string_view text) {
  // A string reader cannot fail.
  return ScanChain(TextReader(text))->report;
}

Result<AuditVerifyReport> VerifyAuditFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::NotFound("cannot read audit log " + path);
  }
  auto scan = ScanChain(FdReader(fd));
  ::close(fd);
  if (!scan.ok()) {
    return scan.status();
  }
  return scan->report;
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

Status PwriteAll(int fd, std::string_view bytes, off_t offset) {
  while (!bytes.empty()) {
    const ssize_t written = ::pwrite(fd, bytes.data(), bytes.size(), offset);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Status::Unavailable(std::string("audit repair write failed: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<size_t>(written));
    offset += written;
  }
  return Status::Ok();
}

// SyncDirectoryOf makes a new directory entry next to `path` durable.
Status SyncDirectoryOf(const std::string& path) {
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) {
    directory = ".";
  }
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Unavailable("cannot open the audit log's directory: " +
                               std::string(std::strerror(errno)));
  }
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (synced != 0) {
    return Status::Unavailable("cannot sync the audit log's directory: " +
                               std::string(std::strerror(error)));
  }
  return Status::Ok();
}

// SaveCutBytes writes `bytes` to a new file `copy_path` (0600) and makes it durable, so the cut is
// recoverable before anything is cut.
Status SaveCutBytes(const std::string& copy_path, std::string_view bytes) {
  const int fd = ::open(copy_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::Unavailable("cannot create " + copy_path + ": " + std::strerror(errno));
  }
  Status status = WriteAll(fd, bytes);
  if (status.ok() && ::fsync(fd) != 0) {
    status = Status::Unavailable("cannot sync " + copy_path + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (!status.ok()) {
    return status;
  }
  return SyncDirectoryOf(copy_path);
}

// RepairLine is the chained record that replaces a torn tail, and the line it was written as.
struct RepairLine {
  std::string line;
  AuditRecord record;
};

// RepairTornTail replaces the log's torn last line (`tail`, starting at byte `cut_offset`) by a
// record of the cut at `seq` after `prev`. Order: copy the cut bytes aside durably; overwrite
// them with the repair line and sync; then drop what is left of them. A crash at any point leaves
// either the old torn tail or a torn tail behind a complete repair line, both of which the next
// Open repairs, and the copy is durable before the first byte of the log changes.
Result<RepairLine> RepairTornTail(const std::string& path, uint64_t cut_offset,
                                  std::string_view tail, uint64_t seq, const std::string& prev) {
  const std::string cut_hash = AuditLineHash(tail);
  const std::string copy_path =
      path + ".torn-" + std::to_string(cut_offset) + "-" + cut_hash.substr(0, 16);
  if (Status saved = SaveCutBytes(copy_path, tail); !saved.ok()) {
    return saved;
  }
  RepairLine repair;
  repair.record.time_unix_ms =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  repair.record.method = "Open";
  repair.record.operation = "audit_repair";
  repair.record.verdict = "repaired";
  repair.record.reason = "cut a torn last line: " + std::to_string(tail.size()) +
                         " bytes at offset " + std::to_string(cut_offset) + ", blake2b-256 " +
                         cut_hash + ", saved as " +
                         std::filesystem::path(copy_path).filename().string();
  repair.record = BoundAuditRecord(repair.record);
  repair.line = FormatAuditLine(seq, repair.record, prev);
  const std::string bytes = repair.line + "\n";

  // The log's own descriptor is O_APPEND, which would ignore the offset: write through another.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Unavailable("cannot open audit log " + path +
                               " to repair it: " + std::strerror(errno));
  }
  Status status = PwriteAll(fd, bytes, static_cast<off_t>(cut_offset));
  if (status.ok() && ::fdatasync(fd) != 0) {
    status = Status::Unavailable(std::string("audit repair sync failed: ") + std::strerror(errno));
  }
  if (status.ok() && ::ftruncate(fd, static_cast<off_t>(cut_offset + bytes.size())) != 0) {
    status =
        Status::Unavailable(std::string("audit repair truncate failed: ") + std::strerror(errno));
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = Status::Unavailable(std::string("audit repair sync failed: ") + std::strerror(errno));
  }
  ::close(fd);
  if (!status.ok()) {
    return status;
  }
  return repair;
}

}  // namespace

// Writer is one queued Append. Shared between its caller and the leader, so the leader can still
// signal it after the caller has read its status and returned.
struct AuditLog::Writer {
  enum State : int { kWaiting = 0, kLeader = 1, kDone = 2 };
  AuditRecord record;  // bounded: what the line says and the observer sees
  // Rendered on the caller's own thread, so a group's JSON work is done in parallel; only seq, prev
  // and the hash are left to the leader.
  RenderedAuditFields fields;
  std::atomic<int> state{kWaiting};
  Status status;
};

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::Unavailable("cannot open audit log " + path + ": " + std::strerror(errno));
  }
  auto file = std::make_unique<FdAuditFile>(fd);
  auto scan = ScanChain(FdReader(fd));
  if (!scan.ok()) {
    return Status::Unavailable(scan.status().message() + " (" + path + ")");
  }
  const AuditVerifyReport& report = scan->report;
  if (!report.ok && !scan->torn_tail) {
    return Status::InvalidArgument("audit log " + path + " is broken at line " +
                                   std::to_string(report.first_bad_line) + ": " + report.problem);
  }
  if (report.ok) {
    return std::unique_ptr<AuditLog>(new AuditLog(std::move(file), report.lines, report.last_hash));
  }
  auto repair = RepairTornTail(path, scan->good_bytes, scan->tail, report.lines, report.last_hash);
  if (!repair.ok()) {
    return repair.status();
  }
  std::unique_ptr<AuditLog> log(
      new AuditLog(std::move(file), report.lines + 1, AuditLineHash(repair->line)));
  log->unobserved_.push_back(WrittenLine{std::move(repair->line), std::move(repair->record)});
  return log;
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

void AuditLog::SetGroupBarrier(GroupBarrier barrier) { barrier_ = std::move(barrier); }

void AuditLog::SetBrokenHandler(BrokenHandler handler) { on_broken_ = std::move(handler); }

void AuditLog::SetLineObserver(LineObserver observer) {
  observer_ = std::move(observer);
  if (!observer_) {
    return;
  }
  for (const WrittenLine& written : unobserved_) {
    observer_(written.line, written.record);
  }
  unobserved_.clear();
}

AuditLog::Stats AuditLog::stats() const {
  base::MutexLock lock(mutex_);
  Stats stats = stats_;
  stats.queued = queue_.size();
  return stats;
}

Status AuditLog::Append(const AuditRecord& record) {
  auto self = std::make_shared<Writer>();
  self->record = BoundAuditRecord(record);
  self->fields = RenderAuditFields(self->record);
  {
    base::MutexLock lock(mutex_);
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
    base::MutexLock lock(mutex_);
    const size_t size = std::min(queue_.size(), kMaxGroupLines);
    group.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(size));
  }
  CommitGroup(group);
  std::shared_ptr<Writer> next_leader;
  {
    base::MutexLock lock(mutex_);
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
    std::string line = ComposeAuditLine(seq, member->fields, prev);
    prev = AuditLineHash(line);
    ++seq;
    bytes += line;
    bytes += '\n';
    lines.push_back(std::move(line));
  }
  // The barrier first: a line must never be durable while the decision it reports is not.
  Status status = Status::Ok();
  if (barrier_) {
    if (Status barrier = barrier_(); !barrier.ok()) {
      status = Status::Unavailable("before the audit lines: " + barrier.message());
    }
  }
  if (status.ok()) {
    status = file_->Append(bytes);
  }
  if (status.ok()) {
    status = file_->Sync();
  }
  if (!status.ok()) {
    broken_ = true;
    for (const auto& member : group) {
      member->status = status;
    }
    if (on_broken_) on_broken_(status);
    return;
  }
  next_seq_ = seq;
  prev_hash_ = std::move(prev);
  {
    base::MutexLock lock(mutex_);
    ++stats_.groups;
    stats_.lines += group.size();
  }
  if (observer_) {
    for (size_t i = 0; i < group.size(); ++i) {
      observer_(lines[i], group[i]->record);
    }
  }
}

}  // namespace signer
