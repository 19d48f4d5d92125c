// Audit log: one hash-chained JSON line per decision, append-only and synced; and its verifier.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "keymgr/status.h"

namespace signer {

// AuditRecord is one decision as the audit log stores it. Never holds a secret: no SURI, no PIN,
// no message bytes (only what the decision was about).
struct AuditRecord {
  uint64_t time_unix_ms = 0;
  std::string identity;    // client identity from its certificate; empty if it had none
  std::string method;      // RPC name, e.g. "SignWith"
  std::string operation;   // policy operation: sign, vrf, generate, insert, list
  std::string key_type;    // 4 characters as sent (replaced if not valid UTF-8)
  std::string public_key;  // lower-case hex, empty if none
  std::string domain;      // protection domain (grandpa_prevote, babe, ...), empty if unprotected
  std::string position;    // e.g. "set_id=3 round=7", empty if none
  std::string verdict;     // allowed_new, refused_*, denied, not_found, invalid, unavailable, error
  std::string reason;      // one line; never contains secrets
  uint64_t latency_us = 0;
};

// AuditSink receives audit records. Implementations are thread-safe. Append returns only once the
// record is as durable as the sink promises; a failure means the caller must not reply with a
// signature (kUnavailable).
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual keymgr::Status Append(const AuditRecord& record) = 0;
};

// AuditLog appends to a file. Line format (docs/signerd.md): a JSON object with, in this order,
// seq, time_ms, identity, method, operation, key_type, public_key, domain, position, verdict,
// reason, latency_us, prev, where seq counts from 0 and prev is the lower-case hex blake2b-256 of
// the previous line's bytes (without its newline), 64 zeros for the first line.
// Durability: every Append writes the line and fdatasyncs before returning, because the pipeline
// replies only after the audit line is written; a lost line would be an unaudited signature.
// Thread-safe (one mutex orders the chain).
class AuditLog final : public AuditSink {
 public:
  // Open opens or creates `path` (mode 0600) for appending. An existing file's chain is verified
  // first and continued; a broken chain or a torn last line fails with kInvalidArgument (an
  // operator must look at it), an unreadable file with kUnavailable.
  static keymgr::Result<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog() override;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  keymgr::Status Append(const AuditRecord& record) override;

  // LineObserver sees every line (without its newline) once it is durable, in chain order: it is
  // called under the log's lock, so it must only enqueue (the Kafka audit stream). Set it before
  // the first Append; it is not synchronised with Append.
  using LineObserver = std::function<void(std::string_view line, const AuditRecord& record)>;
  void SetLineObserver(LineObserver observer) { observer_ = std::move(observer); }

 private:
  AuditLog(int fd, uint64_t next_seq, std::string prev_hash);

  std::mutex mutex_;
  int fd_;
  uint64_t next_seq_;
  std::string prev_hash_;
  bool broken_ = false;  // a failed write leaves the file in an unknown state: refuse further use
  LineObserver observer_;
};

// AuditVerifyReport says whether a whole log verifies and, if not, where it first breaks.
struct AuditVerifyReport {
  bool ok = false;
  uint64_t lines = 0;           // complete lines checked
  uint64_t first_bad_line = 0;  // 1-based line number; 0 when ok
  std::string problem;          // one line explaining the break
  std::string last_hash;        // hash of the last good line (the next prev)
};

// VerifyAuditText checks the chain of a whole log's bytes: each line is a JSON object with the
// fields above, seq increases by one, and prev is the hash of the line before. An edited line is
// reported as that line (the next line's prev no longer matches it while seq is continuous); a
// removed line as the line after the gap (seq jumps). Editing the very last line cannot be detected
// from the file alone. Pure.
AuditVerifyReport VerifyAuditText(std::string_view text);

// VerifyAuditFile reads `path` and verifies it. kNotFound if it cannot be read.
keymgr::Result<AuditVerifyReport> VerifyAuditFile(const std::string& path);

// AuditLineHash is the chain hash of one line (without its newline), lower-case hex.
std::string AuditLineHash(std::string_view line);

}  // namespace signer
