// Audit line format: rendering a record as a chained JSON line, the chain hash, and parsing a line.
#include "audit/audit_format.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>

#include "base/hash.h"
#include "base/hex.h"

namespace signer {
namespace {

using base::Result;
using base::Status;

// TextField names one string member of AuditRecord and the line field that holds it.
struct TextField {
  const char* name;
  std::string AuditRecord::*member;
};

// The text fields in line order, between time_ms and latency_us. Rendering and parsing both walk
// this table, so a field cannot be written under one name and read under another.
constexpr TextField kTextFields[] = {
    {"identity", &AuditRecord::identity},     {"method", &AuditRecord::method},
    {"operation", &AuditRecord::operation},   {"key_type", &AuditRecord::key_type},
    {"public_key", &AuditRecord::public_key}, {"domain", &AuditRecord::domain},
    {"position", &AuditRecord::position},     {"verdict", &AuditRecord::verdict},
    {"reason", &AuditRecord::reason},
};

constexpr const char* kSeqField = "seq";
constexpr const char* kTimeField = "time_ms";
constexpr const char* kLatencyField = "latency_us";
constexpr const char* kPrevField = "prev";
// seq, time_ms, the text fields, latency_us, prev.
constexpr size_t kLineFieldCount = std::size(kTextFields) + 4;

// ParseObject parses `line` as JSON without throwing: untrusted bytes must not unwind the caller.
Result<nlohmann::json> ParseObject(std::string_view line) {
  nlohmann::json object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) {
    return Status::InvalidArgument("not a JSON object");
  }
  return object;
}

// ReadChainLink reads seq and prev from a parsed object.
Result<AuditChainLink> ReadChainLink(const nlohmann::json& object) {
  const auto seq = object.find(kSeqField);
  const auto prev = object.find(kPrevField);
  if (seq == object.end()) {
    return Status::InvalidArgument(std::string("missing field ") + kSeqField);
  }
  if (prev == object.end()) {
    return Status::InvalidArgument(std::string("missing field ") + kPrevField);
  }
  if (!seq->is_number_unsigned() || !prev->is_string()) {
    return Status::InvalidArgument("seq or prev has the wrong type");
  }
  return AuditChainLink{seq->get<uint64_t>(), prev->get<std::string>()};
}

// MissingField returns the first field of a line, in line order, that `object` lacks, or nullptr.
const char* MissingField(const nlohmann::json& object) {
  for (const char* name : {kSeqField, kTimeField}) {
    if (!object.contains(name)) {
      return name;
    }
  }
  for (const TextField& field : kTextFields) {
    if (!object.contains(field.name)) {
      return field.name;
    }
  }
  for (const char* name : {kLatencyField, kPrevField}) {
    if (!object.contains(name)) {
      return name;
    }
  }
  return nullptr;
}

// The record's values are read leniently (see ParseAuditLine): a value of another type reads as 0
// or empty.
uint64_t UnsignedOrZero(const nlohmann::json& value) {
  return value.is_number_unsigned() ? value.get<uint64_t>() : 0;
}

std::string TextOrEmpty(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : std::string();
}

}  // namespace

std::string AuditLineHash(std::string_view line) {
  const auto bytes =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(line.data()), line.size());
  return base::HexEncode(base::Blake2b256(bytes));
}

RenderedAuditFields RenderAuditFields(const AuditRecord& record) {
  nlohmann::ordered_json object;
  object[kTimeField] = record.time_unix_ms;
  for (const TextField& field : kTextFields) {
    object[field.name] = record.*field.member;
  }
  object[kLatencyField] = record.latency_us;
  // Client-supplied strings may not be UTF-8; replace rather than throw, the line must be written.
  std::string text = object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  // A compact dump is "{...}": keep what is inside the braces.
  return RenderedAuditFields{text.substr(1, text.size() - 2)};
}

std::string ComposeAuditLine(uint64_t seq, const RenderedAuditFields& fields,
                             std::string_view prev) {
  std::string line = "{\"seq\":" + std::to_string(seq) + ",";
  line += fields.text;
  line += ",\"prev\":\"";
  line += prev;
  line += "\"}";
  return line;
}

std::string FormatAuditLine(uint64_t seq, const AuditRecord& record, std::string_view prev) {
  return ComposeAuditLine(seq, RenderAuditFields(record), prev);
}

Result<AuditChainLink> ParseAuditChainLink(std::string_view line) {
  SIGNER_ASSIGN_OR_RETURN(const nlohmann::json object, ParseObject(line));
  return ReadChainLink(object);
}

Result<ParsedAuditLine> ParseAuditLine(std::string_view line) {
  SIGNER_ASSIGN_OR_RETURN(const nlohmann::json object, ParseObject(line));
  if (object.size() != kLineFieldCount) {
    return Status::InvalidArgument("unexpected set of fields");
  }
  if (const char* missing = MissingField(object); missing != nullptr) {
    return Status::InvalidArgument(std::string("missing field ") + missing);
  }
  ParsedAuditLine parsed;
  SIGNER_ASSIGN_OR_RETURN(parsed.link, ReadChainLink(object));
  parsed.record.time_unix_ms = UnsignedOrZero(object[kTimeField]);
  for (const TextField& field : kTextFields) {
    parsed.record.*field.member = TextOrEmpty(object[field.name]);
  }
  parsed.record.latency_us = UnsignedOrZero(object[kLatencyField]);
  return parsed;
}

}  // namespace signer
