// Validation, bounding and escaping of untrusted audit fields (see audit_field.h).
#include "audit/audit_field.h"

#include <algorithm>
#include <cstdint>

namespace signer {
namespace {

constexpr size_t kKeyTypeBytes = 4;
// Hex lengths of the public keys the signer holds: 32 bytes (sr25519, ed25519), 33 (ecdsa).
constexpr size_t kShortPublicKeyHexChars = 64;
constexpr size_t kEcdsaPublicKeyHexChars = 66;

bool IsPrintableAscii(char c) { return c >= 0x20 && c <= 0x7e; }

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// AppendHexEscape writes `\xHH`; used for every byte that could confuse a reader of the line.
void AppendHexEscape(std::string& out, char c) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto byte = static_cast<uint8_t>(c);
  out += "\\x";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0x0f];
}

// IsMarkerSafe says whether a byte may appear as itself in an invalid(...) marker: it must not
// be a delimiter of the marker, of a key=value log line or of a JSON string.
bool IsMarkerSafe(char c) {
  if (c <= 0x20 || c > 0x7e) {
    return false;
  }
  switch (c) {
    case '\\':
    case '"':
    case '(':
    case ')':
    case ',':
    case '=':
      return false;
    default:
      return true;
  }
}

}  // namespace

std::string InvalidAuditField(std::string_view field, size_t prefix_bytes) {
  const std::string_view prefix = field.substr(0, std::min(prefix_bytes, field.size()));
  std::string out = "invalid(len=" + std::to_string(field.size()) + ",prefix=";
  for (char c : prefix) {
    if (IsMarkerSafe(c)) {
      out += c;
    } else {
      AppendHexEscape(out, c);
    }
  }
  out += ')';
  return out;
}

std::string AuditKeyTypeField(std::string_view key_type) {
  const bool valid = key_type.size() == kKeyTypeBytes && std::ranges::all_of(key_type, [](char c) {
                       return IsPrintableAscii(c) && c != '"' && c != '\\';
                     });
  return valid ? std::string(key_type) : InvalidAuditField(key_type, kAuditInvalidPrefixBytes);
}

std::string AuditPublicKeyField(std::string_view public_key_hex) {
  const bool valid_length = public_key_hex.empty() ||
                            public_key_hex.size() == kShortPublicKeyHexChars ||
                            public_key_hex.size() == kEcdsaPublicKeyHexChars;
  const bool valid = valid_length && std::ranges::all_of(public_key_hex, IsLowerHex);
  return valid ? std::string(public_key_hex)
               : InvalidAuditField(public_key_hex, kAuditInvalidPrefixBytes);
}

std::string AuditTextField(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes && std::ranges::all_of(text, IsPrintableAscii)) {
    return std::string(text);
  }
  return InvalidAuditField(text, std::max(max_bytes / 4, kAuditInvalidPrefixBytes));
}

AuditRecord BoundAuditRecord(const AuditRecord& record) {
  AuditRecord bounded;
  bounded.time_unix_ms = record.time_unix_ms;
  bounded.identity = AuditTextField(record.identity, kAuditMaxIdentityBytes);
  bounded.method = AuditTextField(record.method, kAuditMaxShortTextBytes);
  bounded.operation = AuditTextField(record.operation, kAuditMaxShortTextBytes);
  bounded.key_type = record.key_type.empty() ? std::string() : AuditKeyTypeField(record.key_type);
  bounded.public_key = AuditPublicKeyField(record.public_key);
  bounded.domain = AuditTextField(record.domain, kAuditMaxShortTextBytes);
  // A position holds a candidate hash at most (`session=N candidate=<64 hex>`).
  bounded.position = AuditTextField(record.position, kAuditMaxIdentityBytes);
  bounded.verdict = AuditTextField(record.verdict, kAuditMaxShortTextBytes);
  bounded.reason = AuditTextField(record.reason, kAuditMaxReasonBytes);
  bounded.latency_us = record.latency_us;
  return bounded;
}

std::string QuoteLogValue(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (IsPrintableAscii(c)) {
      out += c;
    } else {
      AppendHexEscape(out, c);
    }
  }
  out += '"';
  return out;
}

std::string BareOrQuotedLogValue(std::string_view value) {
  const bool plain_word = !value.empty() && std::ranges::all_of(value, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
  });
  return plain_word ? std::string(value) : QuoteLogValue(value);
}

std::string DecisionLogLine(const AuditRecord& record) {
  const AuditRecord bounded = BoundAuditRecord(record);
  return "event=decision verdict=" + BareOrQuotedLogValue(bounded.verdict) +
         " identity=" + QuoteLogValue(bounded.identity) +
         " method=" + BareOrQuotedLogValue(bounded.method) +
         " key_type=" + QuoteLogValue(bounded.key_type) +
         " public_key=" + BareOrQuotedLogValue(bounded.public_key) +
         " domain=" + BareOrQuotedLogValue(bounded.domain) +
         " position=" + QuoteLogValue(bounded.position) +
         " reason=" + QuoteLogValue(bounded.reason);
}

}  // namespace signer
