// libFuzzer target: arbitrary bytes as an audit log to verify, and as every field of an audit
// record.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "audit/audit_field.h"
#include "audit/audit_log.h"

namespace {

// MemoryFile keeps what the log writes, so the written line can be verified again.
class MemoryFile final : public signer::AuditFile {
 public:
  explicit MemoryFile(std::string& out) : out_(out) {}
  base::Status Append(std::string_view bytes) override {
    out_.append(bytes);
    return base::Status::Ok();
  }
  base::Status Sync() override { return base::Status::Ok(); }

 private:
  std::string& out_;
};

bool IsPrintableAscii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Bounded fields are a few hundred bytes whatever the input (the largest marker quotes 128 bytes,
// each escaped to at most four).
constexpr size_t kLargestBoundedField = 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // As a log: the verifier must not crash, and accepts only whole lines.
  const signer::AuditVerifyReport report = signer::VerifyAuditText(input);
  if (report.ok) {
    size_t newlines = 0;
    for (char c : input) newlines += c == '\n' ? 1 : 0;
    if ((!input.empty() && input.back() != '\n') || report.lines != newlines) __builtin_trap();
  } else if (report.first_bad_line == 0) {
    __builtin_trap();
  }

  // As every field of a request: what is written and logged is bounded and cannot break a line.
  signer::AuditRecord record;
  record.identity = std::string(input);
  record.method = std::string(input);
  record.operation = std::string(input);
  record.key_type = std::string(input);
  record.public_key = std::string(input);
  record.domain = std::string(input);
  record.position = std::string(input);
  record.verdict = std::string(input);
  record.reason = std::string(input);
  const signer::AuditRecord bounded = signer::BoundAuditRecord(record);
  for (const std::string* field : {&bounded.identity, &bounded.method, &bounded.operation,
                                   &bounded.key_type, &bounded.public_key, &bounded.domain,
                                   &bounded.position, &bounded.verdict, &bounded.reason}) {
    if (field->size() > kLargestBoundedField || !IsPrintableAscii(*field)) __builtin_trap();
  }
  if (!IsPrintableAscii(signer::DecisionLogLine(record))) __builtin_trap();

  std::string written;
  auto log = signer::AuditLog::Create(std::make_unique<MemoryFile>(written), "");
  if (!log.ok() || !(*log)->Append(record).ok()) __builtin_trap();
  const signer::AuditVerifyReport written_report = signer::VerifyAuditText(written);
  if (!written_report.ok || written_report.lines != 1) __builtin_trap();
  return 0;
}
