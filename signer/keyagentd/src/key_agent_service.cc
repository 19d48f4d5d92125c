// The KeyAgent gRPC service: decode, call the agent, map its reply code to a gRPC status.
#include "keyagentd/key_agent_service.h"

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "tls/grpc_credentials.h"

namespace signer {
namespace {

namespace frost = keymgr::frost;
namespace pb = keyagent::v1;

std::span<const uint8_t> BytesOf(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string StringOf(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

CallContext ContextOf(const grpc::ServerContext& context, const char* method) {
  CallContext call;
  call.method = method;
  if (auto identity = tls::PeerIdentity(*context.auth_context()); identity.ok()) {
    call.identity = *identity;
  }
  return call;
}

grpc::StatusCode GrpcCodeOf(ReplyCode code) {
  switch (code) {
    case ReplyCode::kOk:
      return grpc::StatusCode::OK;
    case ReplyCode::kPairNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case ReplyCode::kRefused:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case ReplyCode::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case ReplyCode::kPermissionDenied:
      return grpc::StatusCode::PERMISSION_DENIED;
    case ReplyCode::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ReplyCode::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case ReplyCode::kInternal:
      return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

template <typename T>
grpc::Status StatusOf(const Reply<T>& reply) {
  if (reply.ok()) return grpc::Status::OK;
  return grpc::Status(GrpcCodeOf(reply.code), reply.message);
}

// WipeWhenDone overwrites a secret field of a request when the handler returns, on every path. The
// request is this server's own message object, which gRPC frees only later; the agent keeps the
// secret only in SecretBytes.
class WipeWhenDone {
 public:
  explicit WipeWhenDone(std::string* field) : field_(*field) {}
  ~WipeWhenDone() { base::Wipe({reinterpret_cast<uint8_t*>(field_.data()), field_.size()}); }
  WipeWhenDone(const WipeWhenDone&) = delete;
  WipeWhenDone& operator=(const WipeWhenDone&) = delete;

 private:
  std::string& field_;
};

}  // namespace

grpc::Status KeyAgentService::Commit(grpc::ServerContext* context, const pb::CommitRequest* request,
                                     pb::CommitReply* reply) {
  auto answer = agent_.Commit(ContextOf(*context, "Commit"), request->key().key_type(),
                              BytesOf(request->key().group_public_key()), request->count());
  for (const frost::SigningCommitments& commitments : answer.value) {
    reply->add_commitments(StringOf(commitments.Encode()));
  }
  return StatusOf(answer);
}

grpc::Status KeyAgentService::SignShare(grpc::ServerContext* context,
                                        const pb::SignShareRequest* request,
                                        pb::SignShareReply* reply) {
  AgentSignInput input;
  input.key_type = request->key().key_type();
  input.group_public_key = BytesOf(request->key().group_public_key());
  input.message = BytesOf(request->message());
  if (request->has_preimage()) input.preimage = BytesOf(request->preimage());
  input.commitment_list = BytesOf(request->commitment_list());
  auto answer = agent_.SignShare(ContextOf(*context, "SignShare"), input);
  if (answer.ok()) reply->set_signature_share(StringOf(answer.value.Encode()));
  return StatusOf(answer);
}

grpc::Status KeyAgentService::ImportShare(grpc::ServerContext* context,
                                          const pb::ImportShareRequest* request,
                                          pb::ImportShareReply* reply) {
  const WipeWhenDone wipe_share(
      const_cast<pb::ImportShareRequest*>(request)->mutable_signing_share());
  frost::SecretShare share;
  base::Result<frost::Identifier> identifier = frost::Identifier::Create(request->identifier());
  if (!identifier.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, identifier.status().message());
  }
  share.identifier = *identifier;
  if (request->signing_share().size() != frost::kScalarSize) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "signing_share must be 32 bytes");
  }
  share.value = base::SecretBytes::CopyFrom(BytesOf(request->signing_share()));
  // The suite is the key type's; the agent sets it before checking the share, and decoding the
  // commitment needs it first, so it is derived here the same way.
  base::Result<base::KeyTypeId> key_type = base::MakeKeyTypeId(request->key_type());
  if (!key_type.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "key_type must be 4 characters");
  }
  base::Result<frost::Suite> suite = keymgr::ThresholdSuiteForKeyType(*key_type);
  if (!suite.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, suite.status().message());
  }
  base::Result<frost::VssCommitment> commitment =
      frost::DecodeVssCommitment(*suite, BytesOf(request->vss_commitment()));
  if (!commitment.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "vss_commitment: " + commitment.status().message());
  }
  share.commitment = std::move(commitment).value();
  auto answer = agent_.ImportShare(ContextOf(*context, "ImportShare"), request->key_type(),
                                   std::move(share), BytesOf(request->public_key_package()));
  if (answer.ok()) reply->set_verifying_share(StringOf(answer.value));
  return StatusOf(answer);
}

grpc::Status KeyAgentService::ListShares(grpc::ServerContext* context,
                                         const pb::ListSharesRequest* /*request*/,
                                         pb::ListSharesReply* reply) {
  auto answer = agent_.ListShares(ContextOf(*context, "ListShares"));
  for (const ShareSummary& summary : answer.value) {
    pb::ListSharesReply::Share* share = reply->add_shares();
    share->set_key_type(base::KeyTypeName(summary.id.key_type));
    share->set_group_public_key(StringOf(summary.id.public_key));
    share->set_identifier(summary.identifier);
    share->set_public_key_package(StringOf(summary.public_package));
    share->set_created_at_unix(summary.created_at_unix);
    share->set_generated(summary.generated);
  }
  return StatusOf(answer);
}

grpc::Status KeyAgentService::DkgRound1(grpc::ServerContext* context,
                                        const pb::DkgRound1Request* request,
                                        pb::DkgRound1Reply* reply) {
  std::vector<DkgParticipant> participants;
  participants.reserve(static_cast<size_t>(request->participants_size()));
  for (const pb::DkgParticipant& participant : request->participants()) {
    participants.push_back(DkgParticipant{participant.identifier(), participant.name()});
  }
  DkgOpenInput input;
  input.session_id = BytesOf(request->session_id());
  input.key_type = request->key_type();
  input.min_signers = request->min_signers();
  input.participants = participants;
  auto answer = agent_.DkgRound1(ContextOf(*context, "DkgRound1"), input);
  if (answer.ok()) reply->set_round1_package(StringOf(answer.value));
  return StatusOf(answer);
}

grpc::Status KeyAgentService::DkgRound2(grpc::ServerContext* context,
                                        const pb::DkgRound2Request* request,
                                        pb::DkgRound2Reply* /*reply*/) {
  std::vector<std::span<const uint8_t>> packages;
  packages.reserve(static_cast<size_t>(request->round1_packages_size()));
  for (const std::string& package : request->round1_packages())
    packages.push_back(BytesOf(package));
  return StatusOf(
      agent_.DkgRound2(ContextOf(*context, "DkgRound2"), BytesOf(request->session_id()), packages));
}

grpc::Status KeyAgentService::DkgDeliver(grpc::ServerContext* context,
                                         const pb::DkgDeliverRequest* request,
                                         pb::DkgDeliverReply* /*reply*/) {
  const WipeWhenDone wipe_share(const_cast<pb::DkgDeliverRequest*>(request)->mutable_share());
  return StatusOf(agent_.DkgDeliver(ContextOf(*context, "DkgDeliver"),
                                    BytesOf(request->session_id()), BytesOf(request->share()),
                                    BytesOf(request->round1_view_hash())));
}

grpc::Status KeyAgentService::DkgFinalize(grpc::ServerContext* context,
                                          const pb::DkgFinalizeRequest* request,
                                          pb::DkgFinalizeReply* reply) {
  auto answer =
      agent_.DkgFinalize(ContextOf(*context, "DkgFinalize"), BytesOf(request->session_id()));
  if (answer.ok()) reply->set_public_key_package(StringOf(answer.value));
  return StatusOf(answer);
}

grpc::Status KeyAgentService::DkgAbort(grpc::ServerContext* context,
                                       const pb::DkgAbortRequest* request,
                                       pb::DkgAbortReply* /*reply*/) {
  return StatusOf(agent_.DkgAbort(ContextOf(*context, "DkgAbort"), BytesOf(request->session_id())));
}

}  // namespace signer
