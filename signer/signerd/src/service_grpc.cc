// RemoteKeystore over gRPC's callback API: proto <-> pipeline conversion, admission and deadlines.
#include "signerd/service_grpc.h"

#include "signerd/requests_from_proto.h"

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "base/secret_bytes.h"
#include "tls/grpc_credentials.h"

namespace signer {
namespace {

namespace pb = parity::polkadot::signer;
using base::Scheme;

template <typename Container>
std::string AsString(const Container& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// kMaxKeysPerCall bounds SignWithAny and SignWithAll. Each key is a decision with its own audit
// line and sync; a node names the few keys of one key type it holds, while a 1 MiB request could
// name 30,000 and hold a worker (and the audit log) for seconds.
constexpr int kMaxKeysPerCall = 64;

grpc::Status TooManyKeys(int count) {
  return Invalid("at most " + std::to_string(kMaxKeysPerCall) + " public keys per call, not " +
                 std::to_string(count));
}

void FillSignature(const SignInput& input, const std::vector<uint8_t>& signature,
                   pb::RemoteKeystoreSignature& out) {
  out.set_signature(AsString(signature));
  out.set_crypto_type(input.scheme ? std::string(base::SchemeName(*input.scheme)) : "");
  out.set_public_key(AsString(input.public_key));
}

}  // namespace

grpc::Status ToGrpcStatus(ReplyCode code, const std::string& message) {
  switch (code) {
    case ReplyCode::kOk:
    case ReplyCode::kPairNotFound:
      return grpc::Status::OK;
    case ReplyCode::kRefused:
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, message);
    case ReplyCode::kInvalidArgument:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
    case ReplyCode::kPermissionDenied:
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, message);
    case ReplyCode::kResourceExhausted:
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, message);
    case ReplyCode::kUnavailable:
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, message);
    case ReplyCode::kInternal:
      return grpc::Status(grpc::StatusCode::INTERNAL, message);
  }
  return grpc::Status(grpc::StatusCode::INTERNAL, "unknown reply code");
}

WorkerPool::WorkerPool(size_t threads) {
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

WorkerPool::~WorkerPool() {
  {
    base::MutexLock lock(mutex_);
    stopping_ = true;
  }
  wake_.SignalAll();
  for (std::thread& thread : threads_) {
    thread.join();
  }
}

void WorkerPool::Submit(std::function<void()> job) {
  {
    base::MutexLock lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.Signal();
}

void WorkerPool::Loop() {
  for (;;) {
    std::function<void()> job;
    {
      base::MutexLock lock(mutex_);
      while (!stopping_ && jobs_.empty()) wake_.Wait(mutex_);
      // Queued calls still finish on shutdown: every admitted call must get its reactor finished.
      if (jobs_.empty()) {
        return;
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

KeystoreService::KeystoreService(Pipeline& pipeline, WorkerPool& pool, ServiceLimits limits,
                                 SignerMetrics* metrics)
    : pipeline_(pipeline), pool_(pool), limits_(limits), metrics_(metrics) {}

void KeystoreService::Admit(const char* method, CallContext call,
                            std::chrono::system_clock::time_point deadline,
                            std::function<bool()> cancelled, Work work, Finish finish) {
  const auto admitted_at = std::chrono::steady_clock::now();
  if (in_flight_.fetch_add(1) >= limits_.max_in_flight) {
    in_flight_.fetch_sub(1);
    if (metrics_ != nullptr) {
      metrics_->OnShed(method);
      metrics_->OnRequest(method, GrpcCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED),
                          std::chrono::steady_clock::now() - admitted_at);
    }
    finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many requests"));
    return;
  }
  call.method = method;
  // A call with no deadline, or a longer one than configured, gets the configured one.
  deadline = std::min(deadline, std::chrono::system_clock::now() + limits_.max_deadline);
  pool_.Submit([this, deadline, admitted_at, method, call = std::move(call),
                cancelled = std::move(cancelled), work = std::move(work),
                finish = std::move(finish)] {
    grpc::Status status;
    if ((cancelled && cancelled()) || std::chrono::system_clock::now() >= deadline) {
      // Nothing was decided or signed: the client has gone or stopped waiting.
      status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed while queued");
    } else {
      status = work(call);
    }
    // Counted before Finish so a client that reads metrics after its reply sees its own call.
    if (metrics_ != nullptr) {
      metrics_->OnRequest(method, GrpcCodeName(status.error_code()),
                          std::chrono::steady_clock::now() - admitted_at);
    }
    finish(status);
    in_flight_.fetch_sub(1);
  });
}

grpc::ServerUnaryReactor* KeystoreService::Dispatch(Ctx* context, const char* method, Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallContext call;
  if (auto identity = tls::PeerIdentity(*context->auth_context()); identity.ok()) {
    call.identity = *identity;
  }
  Admit(
      method, std::move(call), context->deadline(), [context] { return context->IsCancelled(); },
      std::move(work), [reactor](const grpc::Status& status) { reactor->Finish(status); });
  return reactor;
}

// AdmitSerialized parses the request into a message of its own (kept alive with the reply until
// the call finishes), admits the call to `body`, and serializes the reply for `done`.
template <typename Request, typename Reply>
void KeystoreService::AdmitSerialized(const char* method, MethodBody<Request, Reply> body,
                                      SerializedCall call, SerializedDone done) {
  auto request = std::make_shared<Request>();
  const bool parsed = request->ParseFromString(call.request);
  // The bytes may hold a SURI or seed (Insert, *GenerateNew): the parsed message is what the body
  // uses (and wipes), so the serialized copy goes now.
  base::Wipe(
      std::span<uint8_t>(reinterpret_cast<uint8_t*>(call.request.data()), call.request.size()));
  if (!parsed) {
    done(Invalid("the request is not a " + std::string(Request::descriptor()->name())), "");
    return;
  }
  auto reply = std::make_shared<Reply>();
  CallContext context;
  context.identity = std::move(call.identity);
  Admit(
      method, std::move(context), call.deadline, std::move(call.cancelled),
      [this, body, request, reply](const CallContext& admitted) {
        return (this->*body)(admitted, request.get(), reply.get());
      },
      [reply, done = std::move(done)](const grpc::Status& status) {
        done(status, status.ok() ? reply->SerializeAsString() : std::string());
      });
}

void KeystoreService::CallSerialized(SerializedCall call, SerializedDone done) {
  constexpr std::string_view kPrefix = "/parity.polkadot.signer.RemoteKeystore/";
  const std::string_view name = std::string_view(call.method).starts_with(kPrefix)
                                    ? std::string_view(call.method).substr(kPrefix.size())
                                    : std::string_view();
  if (name == "Sr25519PublicKeys") {
    return AdmitSerialized<pb::Sr25519PublicKeysRequest, pb::Sr25519PublicKeysReply>(
        "Sr25519PublicKeys", &KeystoreService::RunSr25519PublicKeys, std::move(call),
        std::move(done));
  }
  if (name == "Ed25519PublicKeys") {
    return AdmitSerialized<pb::Ed25519PublicKeysRequest, pb::Ed25519PublicKeysReply>(
        "Ed25519PublicKeys", &KeystoreService::RunEd25519PublicKeys, std::move(call),
        std::move(done));
  }
  if (name == "EcdsaPublicKeys") {
    return AdmitSerialized<pb::EcdsaPublicKeysRequest, pb::EcdsaPublicKeysReply>(
        "EcdsaPublicKeys", &KeystoreService::RunEcdsaPublicKeys, std::move(call), std::move(done));
  }
  if (name == "Keys") {
    return AdmitSerialized<pb::KeysRequest, pb::KeysReply>("Keys", &KeystoreService::RunKeys,
                                                           std::move(call), std::move(done));
  }
  if (name == "Sr25519GenerateNew") {
    return AdmitSerialized<pb::Sr25519GenerateNewRequest, pb::Sr25519GenerateNewReply>(
        "Sr25519GenerateNew", &KeystoreService::RunSr25519GenerateNew, std::move(call),
        std::move(done));
  }
  if (name == "Ed25519GenerateNew") {
    return AdmitSerialized<pb::Ed25519GenerateNewRequest, pb::Ed25519GenerateNewReply>(
        "Ed25519GenerateNew", &KeystoreService::RunEd25519GenerateNew, std::move(call),
        std::move(done));
  }
  if (name == "EcdsaGenerateNew") {
    return AdmitSerialized<pb::EcdsaGenerateNewRequest, pb::EcdsaGenerateNewReply>(
        "EcdsaGenerateNew", &KeystoreService::RunEcdsaGenerateNew, std::move(call),
        std::move(done));
  }
  if (name == "Sr25519VrfSign") {
    return AdmitSerialized<pb::Sr25519VrfSignRequest, pb::Sr25519VrfSignReply>(
        "Sr25519VrfSign", &KeystoreService::RunSr25519VrfSign, std::move(call), std::move(done));
  }
  if (name == "Sr25519VrfPreOutput") {
    return AdmitSerialized<pb::Sr25519VrfPreOutputRequest, pb::Sr25519VrfPreOutputReply>(
        "Sr25519VrfPreOutput", &KeystoreService::RunSr25519VrfPreOutput, std::move(call),
        std::move(done));
  }
  if (name == "SignWith") {
    return AdmitSerialized<pb::SignWithRequest, pb::SignWithReply>(
        "SignWith", &KeystoreService::RunSignWith, std::move(call), std::move(done));
  }
  if (name == "SignWithAny") {
    return AdmitSerialized<pb::SignWithAnyRequest, pb::SignWithAnyReply>(
        "SignWithAny", &KeystoreService::RunSignWithAny, std::move(call), std::move(done));
  }
  if (name == "SignWithAll") {
    return AdmitSerialized<pb::SignWithAllRequest, pb::SignWithAllReply>(
        "SignWithAll", &KeystoreService::RunSignWithAll, std::move(call), std::move(done));
  }
  if (name == "EcdsaSignPrehashed") {
    return AdmitSerialized<pb::EcdsaSignPrehashedRequest, pb::EcdsaSignPrehashedReply>(
        "EcdsaSignPrehashed", &KeystoreService::RunEcdsaSignPrehashed, std::move(call),
        std::move(done));
  }
  if (name == "Insert") {
    return AdmitSerialized<pb::InsertRequest, pb::InsertReply>(
        "Insert", &KeystoreService::RunInsert, std::move(call), std::move(done));
  }
  if (name == "HasKeys") {
    return AdmitSerialized<pb::HasKeysRequest, pb::HasKeysReply>(
        "HasKeys", &KeystoreService::RunHasKeys, std::move(call), std::move(done));
  }
  done(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                    "not a RemoteKeystore method: " + call.method.substr(0, 128)),
       "");
}

template <typename Reply>
static grpc::Status ListInto(const signer::Reply<std::vector<std::vector<uint8_t>>>& listed,
                             Reply* reply) {
  if (!listed.ok()) {
    return ToGrpcStatus(listed.code, listed.message);
  }
  for (const auto& key : listed.value) {
    reply->add_public_keys(AsString(key));
  }
  return grpc::Status::OK;
}

grpc::Status KeystoreService::RunSr25519PublicKeys(const CallContext& call,
                                                   const pb::Sr25519PublicKeysRequest* request,
                                                   pb::Sr25519PublicKeysReply* reply) {
  return ListInto(pipeline_.PublicKeys(call, Scheme::kSr25519, request->key_type()), reply);
}

grpc::Status KeystoreService::RunEd25519PublicKeys(const CallContext& call,
                                                   const pb::Ed25519PublicKeysRequest* request,
                                                   pb::Ed25519PublicKeysReply* reply) {
  return ListInto(pipeline_.PublicKeys(call, Scheme::kEd25519, request->key_type()), reply);
}

grpc::Status KeystoreService::RunEcdsaPublicKeys(const CallContext& call,
                                                 const pb::EcdsaPublicKeysRequest* request,
                                                 pb::EcdsaPublicKeysReply* reply) {
  return ListInto(pipeline_.PublicKeys(call, Scheme::kEcdsa, request->key_type()), reply);
}

grpc::Status KeystoreService::RunKeys(const CallContext& call, const pb::KeysRequest* request,
                                      pb::KeysReply* reply) {
  return ListInto(pipeline_.Keys(call, request->key_type()), reply);
}

// WipeRequestSecret zeroes a secret field of a request message (a SURI or seed) as soon as the
// call has used it, rather than leaving it to the allocator. gRPC owns the message, but it is ours
// to use until the call finishes.
static void WipeRequestSecret(const std::string& field) {
  std::string& secret = const_cast<std::string&>(field);
  base::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(secret.data()), secret.size()));
}

template <typename Request, typename Reply>
static grpc::Status GenerateInto(Pipeline& pipeline, const CallContext& call, Scheme scheme,
                                 const Request& request, Reply* reply) {
  std::optional<std::string_view> seed;
  if (!request.seed().empty()) {
    seed = request.seed();
  }
  auto generated = pipeline.GenerateNew(call, scheme, request.key_type(), seed);
  WipeRequestSecret(request.seed());
  if (generated.code == ReplyCode::kPairNotFound) {
    reply->set_error(pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
  } else if (generated.ok()) {
    reply->set_public_key(AsString(generated.value));
  }
  return ToGrpcStatus(generated.code, generated.message);
}

grpc::Status KeystoreService::RunSr25519GenerateNew(const CallContext& call,
                                                    const pb::Sr25519GenerateNewRequest* request,
                                                    pb::Sr25519GenerateNewReply* reply) {
  return GenerateInto(pipeline_, call, Scheme::kSr25519, *request, reply);
}

grpc::Status KeystoreService::RunEd25519GenerateNew(const CallContext& call,
                                                    const pb::Ed25519GenerateNewRequest* request,
                                                    pb::Ed25519GenerateNewReply* reply) {
  return GenerateInto(pipeline_, call, Scheme::kEd25519, *request, reply);
}

grpc::Status KeystoreService::RunEcdsaGenerateNew(const CallContext& call,
                                                  const pb::EcdsaGenerateNewRequest* request,
                                                  pb::EcdsaGenerateNewReply* reply) {
  return GenerateInto(pipeline_, call, Scheme::kEcdsa, *request, reply);
}

grpc::Status KeystoreService::RunSr25519VrfSign(const CallContext& call,
                                                const pb::Sr25519VrfSignRequest* request,
                                                pb::Sr25519VrfSignReply* reply) {
  const auto input = VrfTranscriptOf(request->transcript_data());
  std::optional<keymgr::VrfTranscriptData> extra;
  if (request->has_extra_transcript()) {
    extra = VrfTranscriptOf(request->extra_transcript());
    if (!extra) {
      return Invalid("extra_transcript: use labelled items, not values");
    }
  }
  if (!input) {
    return Invalid("transcript_data: use labelled items, not values");
  }
  auto signed_vrf =
      pipeline_.VrfSign(call, request->key_type(), AsBytes(request->public_key()), *input, extra);
  if (signed_vrf.code == ReplyCode::kPairNotFound) {
    reply->set_error(pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
  } else if (signed_vrf.ok()) {
    auto* signature = reply->mutable_signature();
    const auto& proof = signed_vrf.value.proof;
    const size_t half = proof.size() / 2;
    signature->set_output(AsString(signed_vrf.value.pre_output));
    signature->set_challenge(std::string(proof.begin(), proof.begin() + half));
    signature->set_proof(std::string(proof.begin() + half, proof.end()));
  }
  return ToGrpcStatus(signed_vrf.code, signed_vrf.message);
}

grpc::Status KeystoreService::RunSr25519VrfPreOutput(const CallContext& call,
                                                     const pb::Sr25519VrfPreOutputRequest* request,
                                                     pb::Sr25519VrfPreOutputReply* reply) {
  const auto input = VrfTranscriptOf(request->transcript_data());
  if (!input) {
    return Invalid("transcript_data: use labelled items, not values");
  }
  auto pre_output =
      pipeline_.VrfPreOutput(call, request->key_type(), AsBytes(request->public_key()), *input);
  if (pre_output.code == ReplyCode::kPairNotFound) {
    reply->set_error(pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
  } else if (pre_output.ok()) {
    reply->set_pre_output(AsString(pre_output.value));
  }
  return ToGrpcStatus(pre_output.code, pre_output.message);
}

grpc::Status KeystoreService::RunSignWith(const CallContext& call,
                                          const pb::SignWithRequest* request,
                                          pb::SignWithReply* reply) {
  const SignInput input = SignRequestOf(*request);
  auto signed_message = pipeline_.SignWith(call, input);
  auto* out = reply->mutable_signature();
  if (signed_message.code == ReplyCode::kPairNotFound) {
    out->set_error(pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
    out->set_public_key(request->public_key());
  } else if (signed_message.ok()) {
    FillSignature(input, signed_message.value, *out);
  }
  return ToGrpcStatus(signed_message.code, signed_message.message);
}

grpc::Status KeystoreService::RunSignWithAny(const CallContext& call,
                                             const pb::SignWithAnyRequest* request,
                                             pb::SignWithAnyReply* reply) {
  if (request->public_keys_size() > kMaxKeysPerCall) {
    return TooManyKeys(request->public_keys_size());
  }
  // The first key the caller holds signs; keys it does not hold are skipped, like None.
  for (const std::string& public_key : request->public_keys()) {
    const SignInput input = SignRequestOf(*request, public_key);
    auto signed_message = pipeline_.SignWith(call, input);
    if (signed_message.code == ReplyCode::kPairNotFound) {
      continue;
    }
    if (signed_message.ok()) {
      FillSignature(input, signed_message.value, *reply->mutable_signature());
    }
    return ToGrpcStatus(signed_message.code, signed_message.message);
  }
  reply->mutable_signature()->set_error(pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
  return grpc::Status::OK;
}

grpc::Status KeystoreService::RunSignWithAll(const CallContext& call,
                                             const pb::SignWithAllRequest* request,
                                             pb::SignWithAllReply* reply) {
  if (request->public_keys_size() > kMaxKeysPerCall) {
    return TooManyKeys(request->public_keys_size());
  }
  // Any failure other than "not held" ends the call without returning any signature.
  for (const std::string& public_key : request->public_keys()) {
    const SignInput input = SignRequestOf(*request, public_key);
    auto signed_message = pipeline_.SignWith(call, input);
    auto* out = reply->add_signatures();
    if (signed_message.code == ReplyCode::kPairNotFound) {
      out->set_error(pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
      out->set_public_key(public_key);
      continue;
    }
    if (!signed_message.ok()) {
      reply->clear_signatures();
      return ToGrpcStatus(signed_message.code, signed_message.message);
    }
    FillSignature(input, signed_message.value, *out);
  }
  return grpc::Status::OK;
}

grpc::Status KeystoreService::RunEcdsaSignPrehashed(const CallContext& call,
                                                    const pb::EcdsaSignPrehashedRequest* request,
                                                    pb::EcdsaSignPrehashedReply* reply) {
  const SignInput input = SignRequestOf(*request);
  auto signed_digest = pipeline_.SignWith(call, input);
  auto* out = reply->mutable_signature();
  if (signed_digest.code == ReplyCode::kPairNotFound) {
    out->set_error(pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
    out->set_public_key(request->public_key());
  } else if (signed_digest.ok()) {
    FillSignature(input, signed_digest.value, *out);
  }
  return ToGrpcStatus(signed_digest.code, signed_digest.message);
}

grpc::Status KeystoreService::RunInsert(const CallContext& call, const pb::InsertRequest* request,
                                        pb::InsertReply* reply) {
  auto inserted =
      pipeline_.Insert(call, request->key_type(), request->suri(), AsBytes(request->public_key()));
  WipeRequestSecret(request->suri());
  if (inserted.code == ReplyCode::kPairNotFound) {
    reply->set_error(pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
  }
  return ToGrpcStatus(inserted.code, inserted.message);
}

grpc::Status KeystoreService::RunHasKeys(const CallContext& call, const pb::HasKeysRequest* request,
                                         pb::HasKeysReply* reply) {
  std::vector<KeyRef> keys;
  for (const auto& key : request->keys()) {
    keys.push_back(KeyRef{key.key_type(),
                          std::vector<uint8_t>(key.public_key().begin(), key.public_key().end())});
  }
  auto has = pipeline_.HasKeys(call, keys);
  reply->set_all_present(has.ok() && has.value);
  return ToGrpcStatus(has.code, has.message);
}

grpc::ServerUnaryReactor* KeystoreService::Sr25519PublicKeys(
    Ctx* context, const pb::Sr25519PublicKeysRequest* request, pb::Sr25519PublicKeysReply* reply) {
  return Dispatch(context, "Sr25519PublicKeys", [=, this](const CallContext& call) {
    return RunSr25519PublicKeys(call, request, reply);
  });
}

grpc::ServerUnaryReactor* KeystoreService::Ed25519PublicKeys(
    Ctx* context, const pb::Ed25519PublicKeysRequest* request, pb::Ed25519PublicKeysReply* reply) {
  return Dispatch(context, "Ed25519PublicKeys", [=, this](const CallContext& call) {
    return RunEd25519PublicKeys(call, request, reply);
  });
}

grpc::ServerUnaryReactor* KeystoreService::EcdsaPublicKeys(
    Ctx* context, const pb::EcdsaPublicKeysRequest* request, pb::EcdsaPublicKeysReply* reply) {
  return Dispatch(context, "EcdsaPublicKeys", [=, this](const CallContext& call) {
    return RunEcdsaPublicKeys(call, request, reply);
  });
}

grpc::ServerUnaryReactor* KeystoreService::Keys(Ctx* context, const pb::KeysRequest* request,
                                                pb::KeysReply* reply) {
  return Dispatch(context, "Keys",
                  [=, this](const CallContext& call) { return RunKeys(call, request, reply); });
}

grpc::ServerUnaryReactor* KeystoreService::Sr25519GenerateNew(
    Ctx* context, const pb::Sr25519GenerateNewRequest* request,
    pb::Sr25519GenerateNewReply* reply) {
  return Dispatch(context, "Sr25519GenerateNew", [=, this](const CallContext& call) {
    return RunSr25519GenerateNew(call, request, reply);
  });
}

grpc::ServerUnaryReactor* KeystoreService::Ed25519GenerateNew(
    Ctx* context, const pb::Ed25519GenerateNewRequest* request,
    pb::Ed25519GenerateNewReply* reply) {
  return Dispatch(context, "Ed25519GenerateNew", [=, this](const CallContext& call) {
    return RunEd25519GenerateNew(call, request, reply);
  });
}

grpc::ServerUnaryReactor* KeystoreService::EcdsaGenerateNew(
    Ctx* context, const pb::EcdsaGenerateNewRequest* request, pb::EcdsaGenerateNewReply* reply) {
  return Dispatch(context, "EcdsaGenerateNew", [=, this](const CallContext& call) {
    return RunEcdsaGenerateNew(call, request, reply);
  });
}

grpc::ServerUnaryReactor* KeystoreService::Sr25519VrfSign(Ctx* context,
                                                          const pb::Sr25519VrfSignRequest* request,
                                                          pb::Sr25519VrfSignReply* reply) {
  return Dispatch(context, "Sr25519VrfSign", [=, this](const CallContext& call) {
    return RunSr25519VrfSign(call, request, reply);
  });
}

grpc::ServerUnaryReactor* KeystoreService::Sr25519VrfPreOutput(
    Ctx* context, const pb::Sr25519VrfPreOutputRequest* request,
    pb::Sr25519VrfPreOutputReply* reply) {
  return Dispatch(context, "Sr25519VrfPreOutput", [=, this](const CallContext& call) {
    return RunSr25519VrfPreOutput(call, request, reply);
  });
}

grpc::ServerUnaryReactor* KeystoreService::SignWith(Ctx* context,
                                                    const pb::SignWithRequest* request,
                                                    pb::SignWithReply* reply) {
  return Dispatch(context, "SignWith",
                  [=, this](const CallContext& call) { return RunSignWith(call, request, reply); });
}

grpc::ServerUnaryReactor* KeystoreService::SignWithAny(Ctx* context,
                                                       const pb::SignWithAnyRequest* request,
                                                       pb::SignWithAnyReply* reply) {
  return Dispatch(context, "SignWithAny", [=, this](const CallContext& call) {
    return RunSignWithAny(call, request, reply);
  });
}

grpc::ServerUnaryReactor* KeystoreService::SignWithAll(Ctx* context,
                                                       const pb::SignWithAllRequest* request,
                                                       pb::SignWithAllReply* reply) {
  return Dispatch(context, "SignWithAll", [=, this](const CallContext& call) {
    return RunSignWithAll(call, request, reply);
  });
}

grpc::ServerUnaryReactor* KeystoreService::EcdsaSignPrehashed(
    Ctx* context, const pb::EcdsaSignPrehashedRequest* request,
    pb::EcdsaSignPrehashedReply* reply) {
  return Dispatch(context, "EcdsaSignPrehashed", [=, this](const CallContext& call) {
    return RunEcdsaSignPrehashed(call, request, reply);
  });
}

grpc::ServerUnaryReactor* KeystoreService::Insert(Ctx* context, const pb::InsertRequest* request,
                                                  pb::InsertReply* reply) {
  return Dispatch(context, "Insert",
                  [=, this](const CallContext& call) { return RunInsert(call, request, reply); });
}

grpc::ServerUnaryReactor* KeystoreService::HasKeys(Ctx* context, const pb::HasKeysRequest* request,
                                                   pb::HasKeysReply* reply) {
  return Dispatch(context, "HasKeys",
                  [=, this](const CallContext& call) { return RunHasKeys(call, request, reply); });
}

grpc::ServerUnaryReactor* SignerInfoService::Describe(grpc::CallbackServerContext* context,
                                                      const pb::DescribeRequest* /*request*/,
                                                      pb::DescribeReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  base::Result<pb::DescribeReply> described = describe_();
  if (!described.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, described.status().message()));
    return reactor;
  }
  *reply = std::move(described).value();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace signer
