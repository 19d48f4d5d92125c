// Hash-chained, synced JSON-lines audit log and its chain verifier.
#include "audit_log.h"

#include <fcntl.h>
#include <unistd.h>

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

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::Unavailable("cannot open audit log " + path + ": " + std::strerror(errno));
  }
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::pread(fd, buffer, sizeof(buffer), static_cast<off_t>(text.size()));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      ::close(fd);
      return Status::Unavailable("cannot read audit log " + path);
    }
    if (got == 0) {
      break;
    }
    text.append(buffer, static_cast<size_t>(got));
  }
  const AuditVerifyReport report = VerifyAuditText(text);
  if (!report.ok) {
    ::close(fd);
    return Status::InvalidArgument("audit log " + path + " is broken at line " +
                                   std::to_string(report.first_bad_line) + ": " + report.problem);
  }
  return std::unique_ptr<AuditLog>(new AuditLog(fd, report.lines, report.last_hash));
}

AuditLog::AuditLog(int fd, uint64_t next_seq, std::string prev_hash)
    : fd_(fd), next_seq_(next_seq), prev_hash_(std::move(prev_hash)) {}

AuditLog::~AuditLog() { ::close(fd_); }

Status AuditLog::Append(const AuditRecord& record) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (broken_) {
    return Status::Unavailable("audit log is unusable after an earlier write failure");
  }
  nlohmann::ordered_json object;
  object["seq"] = next_seq_;
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
  object["prev"] = prev_hash_;
  // Client-supplied strings may not be UTF-8; replace rather than throw, the line must be written.
  const std::string line =
      object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  Status status = WriteAll(fd_, line + "\n");
  if (status.ok() && ::fdatasync(fd_) != 0) {
    status = Status::Unavailable(std::string("audit fdatasync failed: ") + std::strerror(errno));
  }
  if (!status.ok()) {
    broken_ = true;
    return status;
  }
  prev_hash_ = AuditLineHash(line);
  ++next_seq_;
  if (observer_) {
    observer_(line, record);
  }
  return Status::Ok();
}

}  // namespace signer
