// signerctl threshold: make FROST shares on the configured key agents (split or DKG), list them.
#include <grpcpp/grpcpp.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/hex.h"
#include "ctl_command.h"
#include "keymgr/frost.h"
#include "keymgr/keypair.h"
#include "keymgr/threshold.h"
#include "signer/config.h"
#include "threshold/agent_channels.h"

namespace signerctl {
namespace {

namespace frost = keymgr::frost;
namespace pb = keyagent::v1;

constexpr auto kAgentTimeout = std::chrono::seconds(10);

std::string StringOf(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::span<const uint8_t> BytesOf(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// ConfiguredAgents loads the configuration and connects to the agents its threshold section names.
base::Result<std::vector<signer::AgentChannel>> ConfiguredAgents(const std::string& config_path) {
  auto config = signer::LoadSignerConfig(config_path);
  if (!config.ok()) return base::Status::InvalidArgument("--config: " + config.status().message());
  if (!config->threshold) {
    return base::Status::InvalidArgument("--config: the configuration has no threshold section");
  }
  return signer::ConnectAgents(*config->threshold);
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + kAgentTimeout);
}

struct SplitArgs {
  std::string config;
  std::string key_type;
  unsigned threshold = 0;
  SuriOptions suri;
};

// RunSplit is RFC 9591 appendix C: the dealer (this process) splits the key, sends share i to the
// i-th configured agent over mTLS, and wipes its copies when it returns. Every agent checks its
// share against the dealer's VSS commitment before storing it.
Outcome RunSplit(SplitArgs& args) {
  auto key_type = base::MakeKeyTypeId(args.key_type);
  if (!key_type.ok()) return Outcome::Usage("--type: " + key_type.status().message());
  auto suite = keymgr::ThresholdSuiteForKeyType(*key_type);
  if (!suite.ok()) return Outcome::Usage("--type: " + suite.status().message());
  auto agents = ConfiguredAgents(args.config);
  if (!agents.ok()) return Outcome::Usage(agents.status().message());
  const auto max_signers = static_cast<uint16_t>(agents->size());
  const auto min_signers = static_cast<uint16_t>(args.threshold);
  if (base::Status safe = keymgr::CheckThresholdSafety(min_signers, max_signers); !safe.ok()) {
    return Outcome::Usage("--threshold: " + safe.message() + " (the configuration lists " +
                          std::to_string(max_signers) + " agents)");
  }
  auto suri = ResolveSuri(args.suri);
  if (!suri.ok()) return Outcome::Usage(suri.status().message());
  const base::Scheme scheme =
      *suite == frost::Suite::kEd25519 ? base::Scheme::kEd25519 : base::Scheme::kSr25519;
  auto pair = keymgr::KeypairFromSuri(scheme, SuriView(*suri));
  if (!pair.ok()) return Outcome::Usage(SafeSuriError(pair.status(), SuriView(*suri)));
  base::Result<frost::DealerOutput> split =
      scheme == base::Scheme::kEd25519
          ? frost::TrustedDealerSplitEd25519(*pair->ed25519(), min_signers, max_signers)
          : frost::TrustedDealerSplitSr25519(*pair->sr25519(), min_signers, max_signers);
  if (!split.ok()) return Outcome::Usage("split: " + split.status().message());
  const std::string public_package = StringOf(split->public_package.Serialize());

  nlohmann::ordered_json imported = nlohmann::ordered_json::array();
  std::vector<std::string> failures;
  for (size_t i = 0; i < agents->size(); ++i) {
    const frost::SecretShare& share = split->shares[i];
    pb::ImportShareRequest request;
    request.set_key_type(args.key_type);
    request.set_identifier(share.identifier.value());
    request.set_signing_share(StringOf(share.value.span()));
    request.set_vss_commitment(StringOf(frost::EncodeVssCommitment(share.commitment)));
    request.set_public_key_package(public_package);
    pb::ImportShareReply reply;
    grpc::ClientContext context;
    SetDeadline(context);
    grpc::Status status = (*agents)[i].stub->ImportShare(&context, request, &reply);
    // The request held a copy of the share; overwrite it before it is freed.
    std::string* copy = request.mutable_signing_share();
    std::fill(copy->begin(), copy->end(), '\0');
    const std::string& name = (*agents)[i].config.name;
    if (!status.ok()) {
      failures.push_back(name + ": " + status.error_message());
      continue;
    }
    imported.push_back({{"agent", name},
                        {"identifier", share.identifier.value()},
                        {"verifying_share", HexWithPrefix(BytesOf(reply.verifying_share()))}});
  }
  nlohmann::ordered_json output = {
      {"key_type", args.key_type},
      {"public_key", HexWithPrefix(pair->public_key())},
      {"threshold", keymgr::DescribeThreshold(min_signers, max_signers)},
      {"tolerated_compromised_agents",
       keymgr::ToleratedCompromisedAgents(min_signers, max_signers)},
      {"agents", imported},
  };
  if (!failures.empty()) {
    std::string message = "not every agent stored its share (";
    for (size_t i = 0; i < failures.size(); ++i) message += (i ? "; " : "") + failures[i];
    message += "); the shares that were stored are listed on stdout";
    Outcome outcome = Outcome::Json(std::move(output), kExitUsage);
    outcome.error = std::move(message);
    return outcome;
  }
  return Outcome::Json(std::move(output));
}

struct CreateArgs {
  std::string config;
  std::string key_type;
  unsigned threshold = 0;
};

// Round two makes every agent deliver n - 1 shares to its peers, each within the agent's own
// peer timeout (at most a minute by configuration).
constexpr auto kDkgRound2Timeout = std::chrono::seconds(120);

// AgentFailure names the agent and the step that failed, quoting the agent.
std::string AgentFailure(const signer::AgentChannel& agent, std::string_view step,
                         const grpc::Status& status) {
  return agent.config.name + ": " + std::string(step) + ": " + status.error_message();
}

// AbortEverywhere ends the session on every agent, so no polynomial or received share outlives a
// failed run for longer than this call. Best effort: an agent that cannot be reached drops the
// session when it expires.
void AbortEverywhere(std::vector<signer::AgentChannel>& agents, const std::string& session_id) {
  for (signer::AgentChannel& agent : agents) {
    pb::DkgAbortRequest request;
    request.set_session_id(session_id);
    pb::DkgAbortReply reply;
    grpc::ClientContext context;
    SetDeadline(context);
    (void)agent.stub->DkgAbort(&context, request, &reply);
  }
}

// RunCreate is the FROST paper's Pedersen DKG between the configured agents (docs/threshold.md).
// This process only relays public round-one packages and compares the public packages the agents
// end with; every secret share goes from agent to agent over the agents' own mTLS channels, so
// neither the group secret nor any share ever exists here.
Outcome RunCreate(const CreateArgs& args) {
  auto key_type = base::MakeKeyTypeId(args.key_type);
  if (!key_type.ok()) return Outcome::Usage("--type: " + key_type.status().message());
  auto suite = keymgr::ThresholdSuiteForKeyType(*key_type);
  if (!suite.ok()) return Outcome::Usage("--type: " + suite.status().message());
  auto agents = ConfiguredAgents(args.config);
  if (!agents.ok()) return Outcome::Usage(agents.status().message());
  if (agents->size() > frost::kMaxParticipants) {
    return Outcome::Usage("--config: more than " + std::to_string(frost::kMaxParticipants) +
                          " agents");
  }
  const auto max_signers = static_cast<uint16_t>(agents->size());
  const auto min_signers = static_cast<uint16_t>(args.threshold);
  if (base::Status safe = keymgr::CheckThresholdSafety(min_signers, max_signers); !safe.ok()) {
    return Outcome::Usage("--threshold: " + safe.message() + " (the configuration lists " +
                          std::to_string(max_signers) + " agents)");
  }
  std::array<uint8_t, 16> session_bytes{};
  randombytes_buf(session_bytes.data(), session_bytes.size());
  const std::string session_id = StringOf(session_bytes);
  auto fail = [&](const std::string& message) {
    AbortEverywhere(*agents, session_id);
    return Outcome::Usage("dkg session " + HexWithPrefix(session_bytes) + " failed: " + message);
  };

  // Round one: each agent draws its polynomial and answers with its public package.
  pb::DkgRound1Request open;
  open.set_session_id(session_id);
  open.set_key_type(args.key_type);
  open.set_min_signers(min_signers);
  for (size_t i = 0; i < agents->size(); ++i) {
    pb::DkgParticipant* participant = open.add_participants();
    participant->set_identifier(static_cast<uint32_t>(i + 1));
    participant->set_name((*agents)[i].config.name);
  }
  pb::DkgRound2Request round2;
  round2.set_session_id(session_id);
  for (size_t i = 0; i < agents->size(); ++i) {
    signer::AgentChannel& agent = (*agents)[i];
    pb::DkgRound1Reply reply;
    grpc::ClientContext context;
    SetDeadline(context);
    grpc::Status status = agent.stub->DkgRound1(&context, open, &reply);
    if (!status.ok()) return fail(AgentFailure(agent, "round one", status));
    // Only a sanity check: the agents verify every package themselves in round two.
    auto package = frost::DkgRound1Package::Decode(*suite, BytesOf(reply.round1_package()));
    if (!package.ok() || package->identifier.value() != i + 1) {
      return fail(agent.config.name + ": round one: not a round-one package for identifier " +
                  std::to_string(i + 1));
    }
    round2.add_round1_packages(reply.round1_package());
  }
  // Round two: every agent gets the same packages and delivers its shares to its peers.
  for (signer::AgentChannel& agent : *agents) {
    pb::DkgRound2Reply reply;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kDkgRound2Timeout);
    grpc::Status status = agent.stub->DkgRound2(&context, round2, &reply);
    if (!status.ok()) return fail(AgentFailure(agent, "round two", status));
  }
  // Finalize: every agent stores its share and must end with the same public package.
  std::string public_package;
  for (signer::AgentChannel& agent : *agents) {
    pb::DkgFinalizeRequest request;
    request.set_session_id(session_id);
    pb::DkgFinalizeReply reply;
    grpc::ClientContext context;
    SetDeadline(context);
    grpc::Status status = agent.stub->DkgFinalize(&context, request, &reply);
    if (!status.ok()) return fail(AgentFailure(agent, "finalize", status));
    if (public_package.empty()) {
      public_package = reply.public_key_package();
    } else if (reply.public_key_package() != public_package) {
      return fail(agent.config.name + ": finalize: its public package differs from " +
                  (*agents)[0].config.name + "'s; do not use this key");
    }
  }
  auto package = frost::PublicKeyPackage::Parse(BytesOf(public_package));
  if (!package.ok() || package->min_signers != min_signers ||
      package->verifying_shares.size() != max_signers) {
    return fail("the agents' public package is not a " + std::to_string(min_signers) + "-of-" +
                std::to_string(max_signers) + " package; do not use this key");
  }
  nlohmann::ordered_json generated = nlohmann::ordered_json::array();
  for (size_t i = 0; i < agents->size(); ++i) {
    const auto& [identifier, verifying_share] = package->verifying_shares[i];
    generated.push_back({{"agent", (*agents)[i].config.name},
                         {"identifier", identifier.value()},
                         {"verifying_share", HexWithPrefix(verifying_share)}});
  }
  return Outcome::Json({
      {"key_type", args.key_type},
      {"public_key", HexWithPrefix(package->group_public_key)},
      {"threshold", keymgr::DescribeThreshold(min_signers, max_signers)},
      {"tolerated_compromised_agents",
       keymgr::ToleratedCompromisedAgents(min_signers, max_signers)},
      {"generated", true},
      {"session", HexWithPrefix(session_bytes)},
      {"agents", generated},
  });
}

// RunList asks every agent for its shares and groups them by key, checking that the agents agree.
Outcome RunList(const std::string& config_path) {
  auto agents = ConfiguredAgents(config_path);
  if (!agents.ok()) return Outcome::Usage(agents.status().message());
  struct Seen {
    std::string public_package;
    bool consistent = true;
    nlohmann::ordered_json holders = nlohmann::ordered_json::array();
  };
  std::map<std::pair<std::string, std::string>, Seen> keys;
  nlohmann::ordered_json unreachable = nlohmann::ordered_json::array();
  for (const signer::AgentChannel& agent : *agents) {
    pb::ListSharesReply reply;
    grpc::ClientContext context;
    SetDeadline(context);
    grpc::Status status = agent.stub->ListShares(&context, pb::ListSharesRequest(), &reply);
    if (!status.ok()) {
      unreachable.push_back({{"agent", agent.config.name}, {"error", status.error_message()}});
      continue;
    }
    for (const pb::ListSharesReply::Share& share : reply.shares()) {
      Seen& seen = keys[{share.key_type(), share.group_public_key()}];
      if (seen.holders.empty()) {
        seen.public_package = share.public_key_package();
      } else if (seen.public_package != share.public_key_package()) {
        seen.consistent = false;
      }
      seen.holders.push_back({{"agent", agent.config.name},
                              {"identifier", share.identifier()},
                              {"generated", share.generated()}});
    }
  }
  nlohmann::ordered_json listed = nlohmann::ordered_json::array();
  for (const auto& [key, seen] : keys) {
    nlohmann::ordered_json entry = {{"key_type", key.first},
                                    {"public_key", HexWithPrefix(BytesOf(key.second))}};
    auto package = frost::PublicKeyPackage::Parse(BytesOf(seen.public_package));
    if (package.ok()) {
      const auto n = static_cast<uint16_t>(package->verifying_shares.size());
      entry["threshold"] = keymgr::DescribeThreshold(package->min_signers, n);
      entry["tolerated_compromised_agents"] =
          keymgr::ToleratedCompromisedAgents(package->min_signers, n);
      entry["safe"] = keymgr::CheckThresholdSafety(package->min_signers, n).ok();
    }
    entry["agents_agree"] = seen.consistent && package.ok();
    entry["agents"] = seen.holders;
    listed.push_back(std::move(entry));
  }
  return Outcome::Json({{"keys", listed}, {"unreachable_agents", unreachable}});
}

}  // namespace

void RegisterThresholdCommands(CLI::App& app, CommandTable& table) {
  CLI::App* threshold = app.add_subcommand(
      "threshold",
      "keys held as FROST shares by the key agents of the configuration's threshold "
      "section (JSON on stdout)");
  threshold->require_subcommand(1);
  {
    auto args = std::make_shared<SplitArgs>();
    CLI::App* command = threshold->add_subcommand(
        "split",
        "split a key (from a SURI) into t-of-n shares, one per configured agent; the "
        "shares exist only on the agents afterwards");
    command->add_option("--config", args->config, "the coordinator's configuration file")
        ->required();
    command
        ->add_option("--type", args->key_type,
                     "key type: gran (ed25519) or an sr25519 type "
                     "that signs without VRF (para, audi, imon)")
        ->required();
    command
        ->add_option("--threshold", args->threshold,
                     "t: how many agents must sign; more than half of the agents")
        ->required();
    AddSuriOptions(command, args->suri, false);
    table.Add(command, [args] { return RunSplit(*args); });
  }
  {
    auto args = std::make_shared<CreateArgs>();
    CLI::App* command = threshold->add_subcommand(
        "create",
        "generate a new key as t-of-n shares by distributed key generation between the "
        "configured agents: no machine, this one included, ever holds the key or another "
        "agent's share");
    command->add_option("--config", args->config, "the coordinator's configuration file")
        ->required();
    command
        ->add_option("--type", args->key_type,
                     "key type: gran (ed25519) or an sr25519 type "
                     "that signs without VRF (para, audi, imon)")
        ->required();
    command
        ->add_option("--threshold", args->threshold,
                     "t: how many agents must sign; more than half of the agents")
        ->required();
    table.Add(command, [args] { return RunCreate(*args); });
  }
  {
    auto config = std::make_shared<std::string>();
    CLI::App* command = threshold->add_subcommand(
        "list",
        "list the threshold keys the agents hold, with t-of-n and how many compromised "
        "agents each tolerates");
    command->add_option("--config", *config, "the coordinator's configuration file")->required();
    table.Add(command, [config] { return RunList(*config); });
  }
}

}  // namespace signerctl
