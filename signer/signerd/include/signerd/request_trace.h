// One request's audit trace and the steps signerd's pipeline and a key agent share: decide, audit.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/audit_log.h"
#include "base/status.h"
#include "base/substrate_types.h"
#include "signerd/pipeline_core.h"
#include "signerd/policy_file.h"
#include "slashing/clock.h"
#include "slashing/protector.h"

namespace signer {

// RequestTrace collects what the audit line of one request will say while the request runs.
struct RequestTrace {
  RequestTrace(std::shared_ptr<const Policy> policy_in, const CallContext& context_in,
               Operation operation_in, std::string key_type_in, std::string public_key_in,
               bool audit_success_in = true)
      : policy(std::move(policy_in)),
        context(context_in),
        operation(operation_in),
        key_type(std::move(key_type_in)),
        public_key(std::move(public_key_in)),
        audit_success(audit_success_in) {}

  // Outcome is the verdict the audit line and the metrics give a reply with `code`: the decide
  // step's verdict when there was one and the reply carries it, else the reply code's name.
  std::string Outcome(ReplyCode code) const;

  // RecordDecision puts the verdict, domain and position of `decision` on the trace. It returns
  // the reply message of a refusal, or nothing when the decision allows signing.
  std::optional<std::string> RecordDecision(const slashing::Decision& decision);

  // The policy is taken once per request, so every check of one request sees the same grants.
  std::shared_ptr<const Policy> policy;
  const CallContext& context;
  Operation operation;
  std::string key_type;
  std::string public_key;
  bool audit_success;  // listings and commitments are audited only when they fail
  std::string domain;
  std::string position;
  std::string verdict;  // set by the decide step; otherwise derived from the reply code
  // Starts the reply message and the audit reason (a key agent's DKG step names its session here).
  std::string reason_prefix;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

// FinishRequest ends a request: it writes the audit line (every failure, and successes when the
// trace asks for them) and only then replies. When the line cannot be written the reply is
// kUnavailable without the value: an unaudited answer, least of all a signature, never leaves.
template <typename T>
Reply<T> FinishRequest(const RequestTrace& trace, AuditSink& audit, slashing::Clock& clock,
                       ReplyCode code, std::string message, T value) {
  message.insert(0, trace.reason_prefix);
  if (code != ReplyCode::kOk || trace.audit_success) {
    AuditRecord record;
    record.time_unix_ms = clock.NowUnixMs();
    record.identity = trace.context.identity;
    record.method = trace.context.method;
    record.operation = std::string(OperationName(trace.operation));
    record.key_type = trace.key_type;
    record.public_key = trace.public_key;
    record.domain = trace.domain;
    record.position = trace.position;
    record.verdict = trace.Outcome(code);
    record.reason = message;
    record.latency_us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                  std::chrono::steady_clock::now() - trace.start)
                                                  .count());
    if (base::Status status = audit.Append(record); !status.ok()) {
      return Reply<T>{ReplyCode::kUnavailable, "audit log unavailable", T{}};
    }
  }
  if (code != ReplyCode::kOk) return Reply<T>{code, std::move(message), T{}};
  return Reply<T>{ReplyCode::kOk, std::move(message), std::move(value)};
}

// ParseKeyType is the key type a request's `text` names, if it is a well-formed one (4 bytes).
std::optional<base::KeyTypeId> ParseKeyType(std::string_view text);

// HoldsRole answers whether the signer also holds the request's public key under `role`.
using HoldsRole = std::function<base::Result<bool>(const base::KeyTypeId& role)>;

// OtherSlashableRoles lists the slashable roles, besides `key_type`, under which the signer holds
// the request's public key and whose messages look like `message`: a signature carries no key type,
// so each such role's rule judges the message too. With `scheme`, only roles of that scheme count.
// Only messages of a role's shape pay for the `holds` query.
base::Result<std::vector<base::KeyTypeId>> OtherSlashableRoles(const base::KeyTypeId& key_type,
                                                               std::optional<base::Scheme> scheme,
                                                               std::span<const uint8_t> message,
                                                               const HoldsRole& holds);

}  // namespace signer
