// Bounding and escaping of untrusted request fields before they reach the audit log or a log line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "audit/audit_log.h"

namespace signer {

// The longest value an invalid field's replacement quotes, in bytes of the original field. Short,
// so a flood of oversized requests costs the audit log a few dozen bytes per field, not megabytes.
constexpr size_t kAuditInvalidPrefixBytes = 16;

// Bounds for fields the client does not choose directly but may still influence (its certificate
// identity, the reason text that can echo a decoder's complaint). Pure ASCII within these bounds
// passes unchanged.
constexpr size_t kAuditMaxIdentityBytes = 256;
constexpr size_t kAuditMaxReasonBytes = 512;
constexpr size_t kAuditMaxShortTextBytes = 128;

// InvalidAuditField is what the audit log holds instead of a field that failed validation:
// `invalid(len=N,prefix=P)`, where N is the field's length in bytes and P its first
// `prefix_bytes` bytes with every byte outside printable ASCII, and each of `\ " ( ) , =` and
// space, written as `\xHH`. The result is printable ASCII without quotes or spaces, so it cannot
// end a JSON string, a quoted log value or a line. Pure, thread-safe.
std::string InvalidAuditField(std::string_view field, size_t prefix_bytes);

// AuditKeyTypeField returns `key_type` unchanged when it is a key type as Substrate defines it
// (exactly 4 bytes), each printable ASCII other than `"` and `\`; otherwise InvalidAuditField.
std::string AuditKeyTypeField(std::string_view key_type);

// AuditPublicKeyField returns `public_key_hex` unchanged when it is empty or lower-case hex of a
// 32-byte (sr25519, ed25519) or 33-byte (ecdsa) public key; otherwise InvalidAuditField.
std::string AuditPublicKeyField(std::string_view public_key_hex);

// AuditTextField returns `text` unchanged when it is at most `max_bytes` of printable ASCII
// (space included, no control bytes); otherwise InvalidAuditField with a prefix of up to
// `max_bytes / 4` bytes (at least kAuditInvalidPrefixBytes) so an operator still sees what it was.
std::string AuditTextField(std::string_view text, size_t max_bytes);

// BoundAuditRecord returns `record` with every string field validated and bounded as above, so
// its audit line is at most a few KiB and holds only printable ASCII. Pure, thread-safe.
AuditRecord BoundAuditRecord(const AuditRecord& record);

// QuoteLogValue returns `value` in double quotes with `"` and `\` backslash-escaped and every
// byte outside printable ASCII written as `\xHH`, for key=value log lines: no byte of `value` can
// end the quoted value or start a new line. Pure, thread-safe.
std::string QuoteLogValue(std::string_view value);

// BareOrQuotedLogValue returns `value` as it is when it is a non-empty word of ASCII letters,
// digits and `_ . : -` (a verdict, an RPC name, a hex key), otherwise QuoteLogValue(value). Pure,
// thread-safe.
std::string BareOrQuotedLogValue(std::string_view value);

// DecisionLogLine is the stderr log line signerd prints for a refused, denied or failed request:
// `event=decision verdict=V identity="I" method=M key_type="K" public_key=P domain=D
// position="P" reason="R"`, the shape it has always had, with each value bounded
// (BoundAuditRecord) and the quoted ones escaped (QuoteLogValue); the bare ones are
// BareOrQuotedLogValue, so they are quoted too when they are not a plain word. Pure, thread-safe.
std::string DecisionLogLine(const AuditRecord& record);

}  // namespace signer
