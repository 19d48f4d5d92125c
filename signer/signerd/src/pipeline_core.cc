// The request pipeline: the one fixed order every signerd request goes through, failing closed.
#include "signerd/pipeline_core.h"

#include <algorithm>
#include <array>

#include "base/hex.h"
#include "base/secret_bytes.h"
#include "keymgr/keypair.h"
#include "signerd/request_trace.h"
#include "slashing/types.h"

namespace signer {
namespace {

using base::KeyTypeId;
using base::Scheme;
using keymgr::KeyId;

ReplyCode FromCustody(const base::Status& status) {
  switch (status.code()) {
    case base::StatusCode::kOk:
      return ReplyCode::kOk;
    case base::StatusCode::kNotFound:
      return ReplyCode::kPairNotFound;
    case base::StatusCode::kInvalidArgument:
      return ReplyCode::kInvalidArgument;
    case base::StatusCode::kInternal:
      return ReplyCode::kInternal;
    case base::StatusCode::kFailedPrecondition:
      // Only the threshold backend says this: key agents' own protection refused the payload.
      return ReplyCode::kRefused;
    default:
      // Unreachable backends, failed disks and locked stores all mean "no key could be reached".
      return ReplyCode::kUnavailable;
  }
}

// FromHistory maps a failed decision: the history could not decide durably, so nothing is signed.
ReplyCode FromHistory(const base::Status& status) {
  switch (status.code()) {
    case base::StatusCode::kInvalidArgument:
      return ReplyCode::kInvalidArgument;
    case base::StatusCode::kInternal:
      return ReplyCode::kInternal;
    default:
      return ReplyCode::kUnavailable;
  }
}

}  // namespace

std::string_view ReplyCodeName(ReplyCode code) {
  switch (code) {
    case ReplyCode::kOk:
      return "ok";
    case ReplyCode::kPairNotFound:
      return "not_found";
    case ReplyCode::kRefused:
      return "refused";
    case ReplyCode::kInvalidArgument:
      return "invalid";
    case ReplyCode::kPermissionDenied:
      return "denied";
    case ReplyCode::kResourceExhausted:
      return "overloaded";
    case ReplyCode::kUnavailable:
      return "unavailable";
    case ReplyCode::kInternal:
      return "error";
  }
  return "error";
}

template <typename T>
Reply<T> Pipeline::Finish(Trace& trace, ReplyCode code, std::string message, T value) {
  return FinishRequest(trace, deps_.audit, deps_.clock, code, std::move(message), std::move(value));
}

Pipeline::Pipeline(PipelineDeps deps)
    : deps_(deps), policy_(std::shared_ptr<const Policy>(&deps.policy, [](const Policy*) {})) {}

void Pipeline::ReplacePolicy(std::shared_ptr<const Policy> policy) {
  policy_.store(std::move(policy), std::memory_order_release);
}

std::shared_ptr<const Policy> Pipeline::CurrentPolicy() const {
  return policy_.load(std::memory_order_acquire);
}

std::optional<Pipeline::Refusal> Pipeline::Authorize(
    const Trace& trace, const KeyTypeId& key_type,
    std::optional<std::span<const uint8_t>> public_key) const {
  if (!trace.policy->Allows(trace.context.identity, trace.operation, key_type)) {
    return Refusal{ReplyCode::kPermissionDenied,
                   std::string(OperationName(trace.operation)) + " not granted for this key type"};
  }
  // A key outside the caller's grant does not exist for it.
  if (public_key &&
      !trace.policy->Owns(trace.context.identity, trace.operation, key_type, *public_key)) {
    return Refusal{ReplyCode::kPairNotFound, "not one of the caller's keys"};
  }
  return std::nullopt;
}

Reply<std::vector<std::vector<uint8_t>>> Pipeline::ListOwn(const CallContext& context,
                                                           std::optional<Scheme> scheme,
                                                           std::string_view key_type_text) {
  using Keys = std::vector<std::vector<uint8_t>>;
  Trace trace(CurrentPolicy(), context, Operation::kList, std::string(key_type_text), "", false);
  const std::optional<KeyTypeId> key_type = ParseKeyType(key_type_text);
  if (!key_type) {
    return Finish<Keys>(trace, ReplyCode::kInvalidArgument, "key_type must be 4 characters");
  }
  if (auto refusal = Authorize(trace, *key_type)) {
    return Finish<Keys>(trace, refusal->code, std::move(refusal->message));
  }
  auto listed = deps_.custody.List();
  if (!listed.ok()) {
    return Finish<Keys>(trace, FromCustody(listed.status()),
                        "custody: " + listed.status().message());
  }
  Keys keys;
  for (const keymgr::KeyInfo& info : *listed) {
    if (info.id.key_type == *key_type && (!scheme || info.scheme == *scheme) &&
        trace.policy->Owns(context.identity, Operation::kList, *key_type, info.id.public_key)) {
      keys.push_back(info.id.public_key);
    }
  }
  return Finish<Keys>(trace, ReplyCode::kOk, "", std::move(keys));
}

Reply<std::vector<std::vector<uint8_t>>> Pipeline::PublicKeys(const CallContext& context,
                                                              Scheme scheme,
                                                              std::string_view key_type) {
  return ListOwn(context, scheme, key_type);
}

Reply<std::vector<std::vector<uint8_t>>> Pipeline::Keys(const CallContext& context,
                                                        std::string_view key_type) {
  return ListOwn(context, std::nullopt, key_type);
}

Reply<bool> Pipeline::HasKeys(const CallContext& context, const std::vector<KeyRef>& keys) {
  Trace trace(CurrentPolicy(), context, Operation::kList, "", "", false);
  std::vector<KeyId> wanted;
  for (const KeyRef& ref : keys) {
    const std::optional<KeyTypeId> key_type = ParseKeyType(ref.key_type);
    if (!key_type) {
      trace.key_type = ref.key_type;
      return Finish<bool>(trace, ReplyCode::kInvalidArgument, "key_type must be 4 characters");
    }
    if (auto refusal = Authorize(trace, *key_type)) {
      trace.key_type = ref.key_type;
      return Finish<bool>(trace, refusal->code, std::move(refusal->message));
    }
    wanted.push_back(KeyId{*key_type, ref.public_key});
  }
  auto listed = deps_.custody.List();
  if (!listed.ok()) {
    return Finish<bool>(trace, FromCustody(listed.status()),
                        "custody: " + listed.status().message());
  }
  const bool all = std::all_of(wanted.begin(), wanted.end(), [&](const KeyId& id) {
    return trace.policy->Owns(context.identity, Operation::kList, id.key_type, id.public_key) &&
           std::any_of(listed->begin(), listed->end(),
                       [&](const keymgr::KeyInfo& info) { return info.id == id; });
  });
  return Finish<bool>(trace, ReplyCode::kOk, "", all);
}

Reply<std::vector<uint8_t>> Pipeline::GenerateNew(const CallContext& context, Scheme scheme,
                                                  std::string_view key_type_text,
                                                  std::optional<std::string_view> seed) {
  using Bytes = std::vector<uint8_t>;
  Trace trace(CurrentPolicy(), context, Operation::kGenerate, std::string(key_type_text), "");
  const std::optional<KeyTypeId> key_type = ParseKeyType(key_type_text);
  if (!key_type) {
    return Finish<Bytes>(trace, ReplyCode::kInvalidArgument, "key_type must be 4 characters");
  }
  if (auto refusal = Authorize(trace, *key_type)) {
    return Finish<Bytes>(trace, refusal->code, std::move(refusal->message));
  }
  base::Result<keymgr::KeyInfo> stored = base::Status::Internal("unset");
  if (seed) {
    auto pair = keymgr::KeypairFromSuri(scheme, *seed);
    if (!pair.ok()) {
      // The message of a SURI failure could echo part of the SURI: say nothing specific.
      return Finish<Bytes>(trace, ReplyCode::kInvalidArgument, "seed is not a valid SURI");
    }
    stored = deps_.custody.Import(*key_type, *pair);
  } else {
    stored = deps_.custody.Generate(*key_type, scheme);
  }
  if (!stored.ok()) {
    return Finish<Bytes>(trace, FromCustody(stored.status()),
                         "custody: " + stored.status().message());
  }
  trace.public_key = base::HexEncode(stored->id.public_key);
  return Finish<Bytes>(trace, ReplyCode::kOk, "", stored->id.public_key);
}

Reply<bool> Pipeline::Insert(const CallContext& context, std::string_view key_type_text,
                             std::string_view suri, std::span<const uint8_t> public_key) {
  Trace trace(CurrentPolicy(), context, Operation::kInsert, std::string(key_type_text),
              base::HexEncode(public_key));
  const std::optional<KeyTypeId> key_type = ParseKeyType(key_type_text);
  if (!key_type) {
    return Finish<bool>(trace, ReplyCode::kInvalidArgument, "key_type must be 4 characters");
  }
  if (auto refusal = Authorize(trace, *key_type)) {
    return Finish<bool>(trace, refusal->code, std::move(refusal->message));
  }
  // The request names no scheme: take the key type's, else the one whose public key matches.
  std::vector<Scheme> candidates = {Scheme::kSr25519, Scheme::kEd25519, Scheme::kEcdsa};
  if (auto required = base::RequiredSchemeForKeyType(*key_type); required) {
    candidates = {*required};
  }
  for (Scheme scheme : candidates) {
    if (public_key.size() != base::PublicKeySize(scheme)) {
      continue;
    }
    auto pair = keymgr::KeypairFromSuri(scheme, suri);
    if (!pair.ok() || !std::ranges::equal(pair->public_key(), public_key)) {
      continue;
    }
    auto stored = deps_.custody.Import(*key_type, *pair);
    if (!stored.ok()) {
      return Finish<bool>(trace, FromCustody(stored.status()),
                          "custody: " + stored.status().message());
    }
    return Finish<bool>(trace, ReplyCode::kOk, "", true);
  }
  return Finish<bool>(trace, ReplyCode::kInvalidArgument,
                      "suri does not name a key with this public key for this key type");
}

Reply<std::vector<uint8_t>> Pipeline::SignWith(const CallContext& context, const SignInput& input) {
  using Bytes = std::vector<uint8_t>;
  Trace trace(CurrentPolicy(), context, Operation::kSign, std::string(input.key_type),
              base::HexEncode(input.public_key));
  // Step 0, syntax: without a well-formed key id there is nothing to authorize.
  const std::optional<KeyTypeId> key_type = ParseKeyType(input.key_type);
  if (!key_type) {
    return Finish<Bytes>(trace, ReplyCode::kInvalidArgument, "key_type must be 4 characters");
  }
  const std::optional<Scheme>& scheme = input.scheme;
  if (!scheme) {
    return Finish<Bytes>(trace, ReplyCode::kInvalidArgument, "unknown crypto_type");
  }
  if (input.public_key.size() != base::PublicKeySize(*scheme)) {
    return Finish<Bytes>(trace, ReplyCode::kInvalidArgument, "public key has the wrong length");
  }
  if (input.prehashed && (*scheme != Scheme::kEcdsa || input.message.size() != 32)) {
    return Finish<Bytes>(trace, ReplyCode::kInvalidArgument,
                         "prehashed needs ecdsa and a 32-byte digest");
  }
  // Step 1, authorize.
  if (auto refusal = Authorize(trace, *key_type, input.public_key)) {
    return Finish<Bytes>(trace, refusal->code, std::move(refusal->message));
  }
  // Step 2, decode and decide; an allowed-new decision binds every later one when Decide returns,
  // and is durable before the reply: synced by Decide, or standalone by the audit log's group
  // barrier, which runs before this request's audit line is written (Replication).
  slashing::SignRequest request;
  request.key_type = *key_type;
  request.public_key = input.public_key;
  request.message = input.message;
  request.preimage = input.preimage;
  // Custody is asked, not a cached index, so a role added by another process counts at once.
  auto other_roles =
      OtherSlashableRoles(*key_type, *scheme, input.message, [&](const KeyTypeId& role) {
        return deps_.custody.Holds(
            KeyId{role, std::vector<uint8_t>(input.public_key.begin(), input.public_key.end())});
      });
  if (!other_roles.ok()) {
    return Finish<Bytes>(trace, FromCustody(other_roles.status()),
                         "custody: " + other_roles.status().message());
  }
  request.other_roles = std::move(other_roles).value();
  auto decision = deps_.protector.Decide(request);
  if (!decision.ok()) {
    return Finish<Bytes>(trace, FromHistory(decision.status()),
                         "protection history: " + decision.status().message());
  }
  if (std::optional<std::string> refusal = trace.RecordDecision(*decision)) {
    return Finish<Bytes>(trace, ReplyCode::kRefused, std::move(*refusal));
  }
  // Step 3, sign.
  const KeyId id{*key_type, std::vector<uint8_t>(input.public_key.begin(), input.public_key.end())};
  Bytes signature;
  if (input.prehashed) {
    auto signed_digest = deps_.custody.EcdsaSignPrehashed(id, input.message);
    if (!signed_digest.ok()) {
      return Finish<Bytes>(trace, FromCustody(signed_digest.status()),
                           "custody: " + signed_digest.status().message());
    }
    signature.assign(signed_digest->begin(), signed_digest->end());
  } else {
    auto signed_message = deps_.custody.SignBound(id, *scheme, input.message, input.preimage);
    if (!signed_message.ok()) {
      const ReplyCode code = FromCustody(signed_message.status());
      // This signer allowed it, but the key agents' own histories did not: the audit line must
      // say refused, not the allowed verdict of this signer's decision.
      if (code == ReplyCode::kRefused) trace.verdict = "refused_by_key_agents";
      return Finish<Bytes>(trace, code, "custody: " + signed_message.status().message());
    }
    signature = std::move(*signed_message);
  }
  // Steps 4 and 5, audit and reply (Finish refuses to reply if the audit line is not written).
  return Finish<Bytes>(trace, ReplyCode::kOk, "", std::move(signature));
}

Reply<keymgr::Sr25519VrfSignature> Pipeline::VrfSign(
    const CallContext& context, std::string_view key_type_text, std::span<const uint8_t> public_key,
    const keymgr::VrfTranscriptData& input, const std::optional<keymgr::VrfTranscriptData>& extra) {
  using Signature = keymgr::Sr25519VrfSignature;
  Trace trace(CurrentPolicy(), context, Operation::kVrf, std::string(key_type_text),
              base::HexEncode(public_key));
  const std::optional<KeyTypeId> key_type = ParseKeyType(key_type_text);
  if (!key_type || public_key.size() != 32) {
    return Finish<Signature>(trace, ReplyCode::kInvalidArgument,
                             "key_type must be 4 characters and the public key 32 bytes");
  }
  if (auto refusal = Authorize(trace, *key_type, public_key)) {
    return Finish<Signature>(trace, refusal->code, std::move(refusal->message));
  }
  // VRF outputs (slot claims, assignments) are not slashable: nothing to decide, only to audit.
  trace.verdict = std::string(slashing::VerdictName(slashing::Verdict::kAllowedUnprotected));
  auto signature = deps_.custody.VrfSign(
      KeyId{*key_type, std::vector<uint8_t>(public_key.begin(), public_key.end())}, input, extra);
  if (!signature.ok()) {
    return Finish<Signature>(trace, FromCustody(signature.status()),
                             "custody: " + signature.status().message());
  }
  return Finish<Signature>(trace, ReplyCode::kOk, "", *signature);
}

Reply<keymgr::Sr25519VrfPreOutput> Pipeline::VrfPreOutput(const CallContext& context,
                                                          std::string_view key_type_text,
                                                          std::span<const uint8_t> public_key,
                                                          const keymgr::VrfTranscriptData& input) {
  using PreOutput = keymgr::Sr25519VrfPreOutput;
  Trace trace(CurrentPolicy(), context, Operation::kVrf, std::string(key_type_text),
              base::HexEncode(public_key));
  const std::optional<KeyTypeId> key_type = ParseKeyType(key_type_text);
  if (!key_type || public_key.size() != 32) {
    return Finish<PreOutput>(trace, ReplyCode::kInvalidArgument,
                             "key_type must be 4 characters and the public key 32 bytes");
  }
  if (auto refusal = Authorize(trace, *key_type, public_key)) {
    return Finish<PreOutput>(trace, refusal->code, std::move(refusal->message));
  }
  trace.verdict = std::string(slashing::VerdictName(slashing::Verdict::kAllowedUnprotected));
  auto pre_output = deps_.custody.VrfPreOutput(
      KeyId{*key_type, std::vector<uint8_t>(public_key.begin(), public_key.end())}, input);
  if (!pre_output.ok()) {
    return Finish<PreOutput>(trace, FromCustody(pre_output.status()),
                             "custody: " + pre_output.status().message());
  }
  return Finish<PreOutput>(trace, ReplyCode::kOk, "", *pre_output);
}

}  // namespace signer
