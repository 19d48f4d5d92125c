// The request pipeline: authorize, decode and decide durably, sign, audit, reply; no gRPC types.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/audit_log.h"
#include "keymgr/custody.h"
#include "keymgr/sr25519.h"
#include "signerd/policy_file.h"
#include "slashing/clock.h"
#include "slashing/protector.h"

namespace signer {

// ReplyCode is the closed status mapping of docs/api.md. Only the gRPC layer turns it into a
// grpc::Status; tests match on it, never on message text.
enum class ReplyCode {
  kOk,
  kPairNotFound,       // the key is not held or not the caller's: reply error PAIR_NOT_FOUND
  kRefused,            // slashing protection refused: FAILED_PRECONDITION
  kInvalidArgument,    // malformed input
  kPermissionDenied,   // the policy does not grant the operation
  kResourceExhausted,  // overload (set by the service, never by the pipeline)
  kUnavailable,        // HSM, history or audit log unavailable
  kInternal,           // a bug or library failure
};
std::string_view ReplyCodeName(ReplyCode code);

// Reply is a pipeline answer: a code, a one-line message (never secret) and, when kOk, a value.
template <typename T>
struct Reply {
  ReplyCode code = ReplyCode::kInternal;
  std::string message;
  T value{};
  bool ok() const { return code == ReplyCode::kOk; }
};

// CallContext is who is calling and through which RPC (for policy and audit).
struct CallContext {
  std::string identity;  // from the verified client certificate; empty means none
  std::string method;    // RPC name for the audit log
};

// SignInput borrows one sign request's bytes; they must outlive the call.
struct SignInput {
  std::string_view key_type;
  std::optional<base::Scheme> scheme;  // parsed from crypto_type once; empty if it named none
  std::span<const uint8_t> public_key;
  std::span<const uint8_t> message;
  std::optional<std::span<const uint8_t>> preimage;  // absent when the request had none
  bool prehashed = false;                            // ecdsa only: message is the 32-byte digest
};

// KeyRef names a key in a HasKeys query.
struct KeyRef {
  std::string key_type;
  std::vector<uint8_t> public_key;
};

struct RequestTrace;

// PipelineDeps are the backends; all must outlive the Pipeline. `policy` is the starting policy;
// ReplacePolicy may swap it later.
struct PipelineDeps {
  keymgr::KeyCustody& custody;
  slashing::Protector& protector;
  const Policy& policy;
  AuditSink& audit;
  slashing::Clock& clock;
};

// Pipeline runs every request in the fixed order and fails closed: any step that fails ends the
// request with its ReplyCode and no signature. Every sign, vrf, generate and insert request is
// audited whatever its outcome; list requests are audited when denied. A signature is returned
// only after the protection decision is durable and the audit line is written. Thread-safe (the
// backends are).
class Pipeline {
 public:
  explicit Pipeline(PipelineDeps deps);

  // PublicKeys lists the caller's own keys of `scheme` under `key_type` that custody holds.
  Reply<std::vector<std::vector<uint8_t>>> PublicKeys(const CallContext& context,
                                                      base::Scheme scheme,
                                                      std::string_view key_type);
  // Keys lists the caller's own keys of any scheme under `key_type`.
  Reply<std::vector<std::vector<uint8_t>>> Keys(const CallContext& context,
                                                std::string_view key_type);
  // HasKeys is true when every key is held and the caller's own.
  Reply<bool> HasKeys(const CallContext& context, const std::vector<KeyRef>& keys);
  // GenerateNew creates a key (or, with `seed`, imports the key a development SURI names) and
  // returns its public key.
  Reply<std::vector<uint8_t>> GenerateNew(const CallContext& context, base::Scheme scheme,
                                          std::string_view key_type,
                                          std::optional<std::string_view> seed);
  // Insert imports the key `suri` names under `key_type`; it must match `public_key`.
  Reply<bool> Insert(const CallContext& context, std::string_view key_type, std::string_view suri,
                     std::span<const uint8_t> public_key);
  // SignWith decides durably and signs; returns the signature.
  Reply<std::vector<uint8_t>> SignWith(const CallContext& context, const SignInput& input);
  // VrfSign makes an sr25519 VRF signature (not slashable, so not decided, but audited).
  Reply<keymgr::Sr25519VrfSignature> VrfSign(const CallContext& context, std::string_view key_type,
                                             std::span<const uint8_t> public_key,
                                             const keymgr::VrfTranscriptData& input,
                                             const std::optional<keymgr::VrfTranscriptData>& extra);
  // VrfPreOutput returns the VRF pre-output of `input`.
  Reply<keymgr::Sr25519VrfPreOutput> VrfPreOutput(const CallContext& context,
                                                  std::string_view key_type,
                                                  std::span<const uint8_t> public_key,
                                                  const keymgr::VrfTranscriptData& input);

  // ReplacePolicy makes `policy` the one every request that starts afterwards is authorized under;
  // a request in flight keeps the policy it started with. Safe to call from any thread.
  void ReplacePolicy(std::shared_ptr<const Policy> policy);

 private:
  using Trace = RequestTrace;
  // Refusal is how the authorize step ends a request it does not admit.
  struct Refusal {
    ReplyCode code;
    std::string message;
  };
  // Authorize is the one authorize step of every request: the caller's grant for the trace's
  // operation under `key_type` (kPermissionDenied), and, when `public_key` is given, that the key
  // is one of the caller's own (kPairNotFound: a key outside the grant does not exist for it).
  // Checked against the policy the trace took when the request started.
  std::optional<Refusal> Authorize(
      const Trace& trace, const base::KeyTypeId& key_type,
      std::optional<std::span<const uint8_t>> public_key = std::nullopt) const;
  template <typename T>
  Reply<T> Finish(Trace& trace, ReplyCode code, std::string message, T value = T{});
  Reply<std::vector<std::vector<uint8_t>>> ListOwn(const CallContext& context,
                                                   std::optional<base::Scheme> scheme,
                                                   std::string_view key_type);

  // CurrentPolicy is taken once per request (into its Trace) so every check of one request sees
  // the same grants.
  std::shared_ptr<const Policy> CurrentPolicy() const;

  PipelineDeps deps_;
  // Starts as a non-owning view of deps_.policy; the atomic load is the only cost on the hot path.
  std::atomic<std::shared_ptr<const Policy>> policy_;
};

}  // namespace signer
