// Audit log: one hash-chained JSON line per decision, append-only and synced in groups; its
// verifier.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_format.h"
#include "base/status.h"
#include "base/thread_annotations.h"

namespace signer {

// AuditSink receives audit records. Implementations are thread-safe. Append returns only once the
// record is as durable as the sink promises; a failure means the caller must not reply with a
// signature (kUnavailable).
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual base::Status Append(const AuditRecord& record) = 0;
};

// AuditFile is where an AuditLog's bytes go. The real one (AuditLog::Open) is an O_APPEND file;
// tests put doubles here that fail or stall on demand. Called by one thread at a time (the log's
// current group leader), so implementations need no locking of their own.
class AuditFile {
 public:
  virtual ~AuditFile() = default;
  // Append writes all of `bytes` at the end, or fails with kUnavailable (then an unknown prefix of
  // them may have been written).
  virtual base::Status Append(std::string_view bytes) = 0;
  // Sync makes everything appended so far durable (fdatasync), or fails with kUnavailable.
  virtual base::Status Sync() = 0;
};

// AuditLog appends to a file, one line per record in the format of audit_format.h
// (docs/signerd.md): seq counts from 0, and prev is the AuditLineHash of the previous line,
// kAuditFirstLinePrev for the first.
// Durability: Append returns only once its line is written and fdatasynced, because the pipeline
// replies only after the audit line is written; a lost line would be an unaudited signature.
// Group commit: concurrent Appends queue; the first caller in the queue leads and writes every
// queued line with one write and one fdatasync while the others wait, so N concurrent callers pay
// for one sync instead of N. Chain order is queue order.
// Failure: if a group's write or sync fails, every caller in that group gets kUnavailable and the
// log is broken: every later Append fails too (the file's tail is in an unknown state).
// Thread-safe.
class AuditLog final : public AuditSink {
 public:
  // Open opens or creates `path` (mode 0600) for appending. An existing file's chain is verified
  // first, reading it in bounded chunks (memory use does not grow with the file), and continued.
  // A torn last line (no newline, or not an audit record: a crash or a full disk in the middle of
  // a write) of at most kAuditMaxLineBytes is repaired: its bytes are copied to
  // `<path>.torn-<offset>-<hash prefix>` (synced), cut from the log, and a chained `audit_repair`
  // record saying how many bytes were cut, their blake2b-256 and the copy's name takes its place,
  // so `VerifyAuditFile` accepts the result. Anything else that does not verify (an edited or
  // missing line, a corrupt line before the last, a last line with a wrong seq or prev) fails with
  // kInvalidArgument: an operator must look at it. An unreadable file, or a repair that cannot be
  // written (full disk), fails with kUnavailable and leaves the log as it was, apart from a partial
  // copy or repair line that the next Open repairs again.
  static base::Result<std::unique_ptr<AuditLog>> Open(const std::string& path);
  // Create continues the chain of `existing_text` (the file's current bytes, which the caller read)
  // in `file`. kInvalidArgument if `existing_text` does not verify. Takes ownership of `file`.
  static base::Result<std::unique_ptr<AuditLog>> Create(std::unique_ptr<AuditFile> file,
                                                        std::string_view existing_text);
  ~AuditLog() override;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Append adds one line for `record` and returns once it is durable (Ok), or kUnavailable if the
  // log is or becomes broken; then nothing about this record may be assumed written. The line
  // holds BoundAuditRecord(record) (audit_field.h): client-chosen fields that are not valid are
  // replaced by their length and a short escaped prefix, so a line stays a few KiB at most.
  base::Status Append(const AuditRecord& record) override EXCLUDES(mutex_);

  // LineObserver sees every line (without its newline) once it is durable, exactly once, in chain
  // order. It runs on the thread of the group leader that wrote the line while that leader still
  // holds the log's commit role, so calls never overlap, but the next group waits for it: it must
  // only enqueue (the Kafka audit stream). Set it before the first Append; it is not synchronised
  // with Append. The record it gets is the bounded one the line holds. A repair record that Open
  // wrote is delivered to the first observer set, from inside SetLineObserver, so a stream of the
  // lines has no gap where the repair is.
  using LineObserver = std::function<void(std::string_view line, const AuditRecord& record)>;
  void SetLineObserver(LineObserver observer);

  // GroupBarrier makes durable whatever the lines of a group report, before they are written: in
  // signerd, the history's decisions (HistoryStore::SyncWrites), so a decision and its audit line
  // share one commit group and each request waits for one group, not two. It runs on the leader's
  // thread once per group that has lines to write, before the write. If it fails, the group fails
  // as if its write had (every caller gets the error and the log is broken from then on): no line
  // may say a signature was made whose decision might not survive. Set it before the first Append;
  // it is not synchronised with Append.
  using GroupBarrier = std::function<base::Status()>;
  void SetGroupBarrier(GroupBarrier barrier);

  // BrokenHandler is called once, on the leader's thread, when a failed group breaks the log: from
  // then on every Append fails, so signerd reports itself not serving (health check, uplink) for
  // load balancers and gateways to send requests elsewhere. Set it before the first Append; it is
  // not synchronised with Append.
  using BrokenHandler = std::function<void(const base::Status& cause)>;
  void SetBrokenHandler(BrokenHandler handler);

  // Stats counts committed groups and lines, and the callers waiting right now (for tests and
  // benchmarks: lines / groups is the mean group size). Thread-safe.
  struct Stats {
    uint64_t groups = 0;
    uint64_t lines = 0;
    size_t queued = 0;
  };
  Stats stats() const EXCLUDES(mutex_);

 private:
  struct Writer;
  struct WrittenLine {
    std::string line;
    AuditRecord record;
  };
  AuditLog(std::unique_ptr<AuditFile> file, uint64_t next_seq, std::string prev_hash);
  void CommitGroup(const std::vector<std::shared_ptr<Writer>>& group) EXCLUDES(mutex_);

  // Only the group leader touches these, and leaders follow one another through `queue_`.
  std::unique_ptr<AuditFile> file_;
  uint64_t next_seq_;
  std::string prev_hash_;
  bool broken_ = false;  // a failed write leaves the file in an unknown state: refuse further use
  LineObserver observer_;
  GroupBarrier barrier_;
  BrokenHandler on_broken_;
  std::vector<WrittenLine> unobserved_;  // written by Open before any observer was set

  mutable base::Mutex mutex_;
  std::deque<std::shared_ptr<Writer>> queue_ GUARDED_BY(mutex_);
  Stats stats_ GUARDED_BY(mutex_);
};

// AuditVerifyReport says whether a whole log verifies and, if not, where it first breaks.
struct AuditVerifyReport {
  bool ok = false;
  uint64_t lines = 0;           // complete lines checked
  uint64_t first_bad_line = 0;  // 1-based line number; 0 when ok
  std::string problem;          // one line explaining the break
  std::string last_hash;        // hash of the last good line (the next prev)
};

// kAuditMaxLineBytes bounds one line while a log is verified, so a corrupt file cannot make the
// verifier hold it whole. Lines signerd writes are a few KiB at most (BoundAuditRecord); older
// versions wrote at most twice the 1 MiB request limit.
constexpr size_t kAuditMaxLineBytes = size_t{4} << 20;

// VerifyAuditText checks the chain of a whole log's bytes: each line passes ParseAuditLine (whose
// failure message is then the problem), seq increases by one, and prev is the hash of the line
// before. An edited line is reported as that line (the next line's prev no longer matches it while
// seq is continuous); a removed line as the line after the gap (seq jumps). Editing the very last
// line cannot be detected from the file alone. A line longer than kAuditMaxLineBytes is a bad line.
// Pure.
AuditVerifyReport VerifyAuditText(std::string_view text);

// VerifyAuditFile reads `path` in bounded chunks and verifies it. kNotFound if it cannot be
// opened, kUnavailable if reading it fails.
base::Result<AuditVerifyReport> VerifyAuditFile(const std::string& path);

}  // namespace signer
