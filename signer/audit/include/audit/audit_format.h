// Audit line format: one decision as one JSON line, the hash chain linking the lines, and reading a
// line back; the single definition the audit log's writer and verifier and the Kafka audit tail
// use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace signer {

// AuditRecord is one decision as the audit log stores it. Never holds a secret: no SURI, no PIN,
// no message bytes (only what the decision was about). Plain value; thread-compatible.
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

  bool operator==(const AuditRecord&) const = default;
};

// kAuditFirstLinePrev is the `prev` of a chain's first line (seq 0): 64 zeros.
inline constexpr std::string_view kAuditFirstLinePrev =
    "0000000000000000000000000000000000000000000000000000000000000000";

// AuditLineHash is the chain hash of one line (without its newline): lower-case hex of
// blake2b-256 over its bytes, the `prev` of the line after it. Cannot fail. Pure, thread-safe.
std::string AuditLineHash(std::string_view line);

// RenderedAuditFields holds a record's fields between `seq` and `prev` exactly as a line holds them
// (`"time_ms":...,"latency_us":N`, no braces and no outer commas). Rendering is apart from
// composing so the audit log renders on each caller's own thread and leaves only seq, prev and the
// hash to the thread that writes the group. Plain value; thread-compatible.
struct RenderedAuditFields {
  std::string text;
};

// RenderAuditFields renders `record` as it is; the audit log bounds it first (BoundAuditRecord,
// audit_field.h). Bytes that are not valid UTF-8 become U+FFFD rather than a failure, because the
// line of a decision must always be writable. Never fails. Pure, thread-safe.
RenderedAuditFields RenderAuditFields(const AuditRecord& record);

// ComposeAuditLine is the whole line (without its newline) at `seq` after `prev` with `fields`: a
// JSON object with, in this order, seq, time_ms, identity, method, operation, key_type, public_key,
// domain, position, verdict, reason, latency_us, prev (docs/signerd.md). `prev` is written as
// given: AuditLineHash of the previous line, or kAuditFirstLinePrev. Never fails. Pure,
// thread-safe.
std::string ComposeAuditLine(uint64_t seq, const RenderedAuditFields& fields,
                             std::string_view prev);

// FormatAuditLine is ComposeAuditLine(seq, RenderAuditFields(record), prev). Never fails. Pure,
// thread-safe.
std::string FormatAuditLine(uint64_t seq, const AuditRecord& record, std::string_view prev);

// AuditChainLink is what the chain rests on: a line's seq and the prev it claims. Plain value;
// thread-compatible.
struct AuditChainLink {
  uint64_t seq = 0;
  std::string prev;

  bool operator==(const AuditChainLink&) const = default;
};

// ParseAuditChainLink reads seq and prev from `line` (without its newline). Succeeds when the line
// is a JSON object with an unsigned integer `seq` and a string `prev`, whatever else it holds: the
// Kafka audit tail's rule for "an audit line" (docs/kafka.md), which judges a record by its place
// in the chain only. Otherwise kInvalidArgument: "not a JSON object", "missing field seq" (or
// prev), "seq or prev has the wrong type". Never throws, whatever the bytes. Pure, thread-safe.
base::Result<AuditChainLink> ParseAuditChainLink(std::string_view line);

// ParsedAuditLine is one line read back: its place in the chain and the record it holds. Plain
// value; thread-compatible.
struct ParsedAuditLine {
  AuditChainLink link;
  AuditRecord record;
};

// ParseAuditLine reads one line (without its newline) as the audit log's verifier judges it.
// Succeeds when the line is a JSON object with exactly the thirteen fields of ComposeAuditLine, an
// unsigned integer `seq` and a string `prev`. Otherwise kInvalidArgument with the first of, in this
// order: "not a JSON object", "unexpected set of fields", "missing field F", "seq or prev has the
// wrong type" (VerifyAuditText reports it as the line's problem). The order of the fields and the
// spacing are not checked, and a record field holding another JSON type than the writer writes (a
// number where text belongs, text in time_ms) is read as empty or 0 rather than refused: the chain
// covers a line's bytes, not its values, and logs holding such lines have always verified. Never
// throws, whatever the bytes. Pure, thread-safe.
base::Result<ParsedAuditLine> ParseAuditLine(std::string_view line);

}  // namespace signer
