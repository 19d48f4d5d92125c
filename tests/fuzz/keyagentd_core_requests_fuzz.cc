// Fuzzes what a key agent decodes from a coordinator: SignShare's payload, preimage and commitment
// list, and ImportShare's share, VSS commitment and public package, through KeyAgent itself.
//
// Input layout: [mode][key][bytes...]. `key` picks the agent's gran (ed25519) or para (sr25519)
// share. Mode 0: a valid commitment list (the agent's fresh commitment and a peer's) with the rest
// as the payload, and a preimage when the payload is long enough to split, so the classifiers, the
// durable decision and the share are reached. Mode 1: the rest as the commitment list. Mode 2: the
// rest as an ImportShare (identifier, 32-byte share, commitment length, VSS commitment, public
// package). Invariants: a share that comes back verifies against the peer's and aggregates into a
// signature the suite's verifier accepts; a nonce never signs twice.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/hex.h"
#include "keyagentd/key_agent.h"
#include "keymgr/ed25519.h"
#include "keymgr/frost.h"
#include "keymgr/sr25519.h"
#include "keymgr/threshold.h"
#include "slashing/history_log.h"
#include "support/fake_clock.h"
#include "support/memory_history_store.h"

namespace {

namespace frost = keymgr::frost;

// MemoryShares is a FrostShareStore in memory.
class MemoryShares final : public keymgr::FrostShareStore {
 public:
  base::Status StoreFrostShare(const base::KeyTypeId& key_type,
                               const frost::KeyPackage& key_package,
                               const frost::PublicKeyPackage& public_package,
                               bool generated) override {
    SIGNER_RETURN_IF_ERROR(keymgr::CheckFrostShare(key_type, key_package, public_package));
    keymgr::KeyId id{key_type, std::vector<uint8_t>(key_package.group_public_key.begin(),
                                                    key_package.group_public_key.end())};
    std::lock_guard lock(mutex_);
    if (records_.contains(id)) return base::Status::InvalidArgument("already stored");
    const base::SecretBytes serialized = key_package.Serialize();
    records_[id] = Record{std::vector<uint8_t>(serialized.span().begin(), serialized.span().end()),
                          public_package.Serialize(), generated};
    return base::Status::Ok();
  }
  base::Result<std::vector<keymgr::FrostShare>> LoadFrostShares() override {
    std::lock_guard lock(mutex_);
    std::vector<keymgr::FrostShare> shares;
    for (const auto& [id, record] : records_) {
      keymgr::FrostShare share;
      share.id = id;
      SIGNER_ASSIGN_OR_RETURN(share.key_package, frost::KeyPackage::Parse(record.key_package));
      SIGNER_ASSIGN_OR_RETURN(share.public_package,
                              frost::PublicKeyPackage::Parse(record.public_package));
      share.generated = record.generated;
      shares.push_back(std::move(share));
    }
    return shares;
  }
  base::Status DeleteFrostShare(const keymgr::KeyId& id) override {
    std::lock_guard lock(mutex_);
    return records_.erase(id) ? base::Status::Ok() : base::Status::NotFound("no such share");
  }

 private:
  struct Record {
    std::vector<uint8_t> key_package;  // fuzzing only: not kept in guarded memory
    std::vector<uint8_t> public_package;
    bool generated = false;
  };
  std::mutex mutex_;
  std::map<keymgr::KeyId, Record> records_;
};

class NullAudit final : public signer::AuditSink {
 public:
  base::Status Append(const signer::AuditRecord&) override { return base::Status::Ok(); }
};

// Key is one 2-of-3 key: the agent holds share 1 in the store, the fuzzer holds share 2.
struct Key {
  std::string key_type;
  frost::Suite suite;
  std::vector<uint8_t> group_key;
  frost::PublicKeyPackage public_package;
  std::unique_ptr<frost::KeyPackage> peer;
};

struct World {
  MemoryShares shares;
  std::vector<Key> keys;
  std::shared_ptr<const signer::Policy> policy;
};

World& TheWorld() {
  static World* world = [] {
    auto* made = new World();
    const uint8_t seed[32] = {7, 7, 7};
    auto ed = keymgr::Ed25519Keypair::FromSeed(seed);
    auto sr = keymgr::Sr25519Keypair::FromMiniSecret(seed);
    if (!ed.ok() || !sr.ok()) __builtin_trap();
    std::string grants;
    std::vector<std::pair<std::string, base::Result<frost::DealerOutput>>> splits;
    splits.emplace_back("gran", frost::TrustedDealerSplitEd25519(*ed, 2, 3));
    splits.emplace_back("para", frost::TrustedDealerSplitSr25519(*sr, 2, 3));
    for (auto& [key_type, split] : splits) {
      if (!split.ok()) __builtin_trap();
      auto own = frost::VerifySecretShare(split->shares[0]);
      auto peer = frost::VerifySecretShare(split->shares[1]);
      if (!own.ok() || !peer.ok()) __builtin_trap();
      if (!made->shares
               .StoreFrostShare(*base::MakeKeyTypeId(key_type), *own, split->public_package, false)
               .ok()) {
        __builtin_trap();
      }
      Key key;
      key.key_type = key_type;
      key.suite = own->suite;
      key.group_key.assign(own->group_public_key.begin(), own->group_public_key.end());
      key.public_package = split->public_package;
      key.peer = std::make_unique<frost::KeyPackage>(std::move(peer).value());
      grants += "    - {key_types: [" + key_type +
                "], operations: [sign, insert], public_keys: [\"" + base::HexEncode(key.group_key) +
                "\"]}\n";
      made->keys.push_back(std::move(key));
    }
    auto policy = signer::Policy::Parse("identities:\n  coordinator:\n" + grants);
    if (!policy.ok()) __builtin_trap();
    made->policy = std::make_shared<const signer::Policy>(std::move(policy).value());
    return made;
  }();
  return *world;
}

const signer::CallContext kCoordinator{"coordinator", "SignShare"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  World& world = TheWorld();
  const uint8_t mode = data[0] % 3;
  const Key& key = world.keys[data[1] % world.keys.size()];
  const std::span<const uint8_t> rest(data + 2, size - 2);

  // A fresh history per input, so inputs do not depend on each other.
  slashing::MemoryHistoryStore store;
  slashing::LocalHistoryLog log(store);
  slashing::FakeClock clock(1'700'000'000'000);
  slashing::Protector protector(log, clock, slashing::ProtectionPolicy{});
  NullAudit audit;
  auto agent = signer::KeyAgent::Create(
      signer::KeyAgentDeps{world.shares, protector, audit, clock, nullptr}, world.policy);
  if (!agent.ok()) __builtin_trap();

  signer::AgentSignInput input;
  input.key_type = key.key_type;
  input.group_public_key = key.group_key;
  if (mode == 0) {
    auto committed = (*agent)->Commit(kCoordinator, key.key_type, key.group_key, 1);
    auto peer = frost::Commit(*key.peer);
    if (!committed.ok() || !peer.ok()) __builtin_trap();
    auto list = frost::MakeCommitmentList({committed.value.at(0), peer->commitments});
    if (!list.ok()) __builtin_trap();
    const std::vector<uint8_t> encoded = frost::EncodeCommitmentList(*list);
    input.commitment_list = encoded;
    // The first byte of the rest, when present, says where the payload ends and a preimage starts.
    std::span<const uint8_t> message = rest;
    if (rest.size() > 1 && rest[0] != 0 && rest[0] < rest.size()) {
      message = rest.subspan(1, rest[0] - 1);
      input.preimage = rest.subspan(rest[0]);
    }
    input.message = message;
    auto share = (*agent)->SignShare(kCoordinator, input);
    if (share.ok()) {
      auto peer_share = frost::Sign(*key.peer, std::move(peer->nonces), message, *list);
      if (!peer_share.ok()) __builtin_trap();
      const std::vector<frost::SignatureShare> both = {share.value, *peer_share};
      auto signature = frost::Aggregate(key.public_package, message, *list, both);
      if (!signature.ok() ||
          !frost::VerifySignature(key.suite, key.group_key, message, *signature)) {
        __builtin_trap();  // an agent's share must always make a valid signature
      }
      // The same commitment never signs again, whatever the payload.
      if ((*agent)->SignShare(kCoordinator, input).ok()) __builtin_trap();
    }
    return 0;
  }
  if (mode == 1) {
    input.message = std::span<const uint8_t>();
    input.commitment_list = rest;
    if ((*agent)->SignShare(kCoordinator, input).ok()) __builtin_trap();  // no nonce was committed
    return 0;
  }
  // Mode 2: ImportShare. identifier(1) || share(32) || commitment length(1) || commitment ||
  // package.
  if (rest.size() < 34) return 0;
  frost::SecretShare share;
  auto identifier = frost::Identifier::Create(rest[0]);
  if (!identifier.ok()) return 0;
  share.identifier = *identifier;
  share.value = base::SecretBytes::CopyFrom(rest.subspan(1, 32));
  const size_t commitment_size = std::min<size_t>(rest[33], rest.size() - 34);
  auto commitment = frost::DecodeVssCommitment(key.suite, rest.subspan(34, commitment_size));
  if (!commitment.ok()) return 0;
  share.commitment = std::move(commitment).value();
  MemoryShares fresh;
  auto importer = signer::KeyAgent::Create(
      signer::KeyAgentDeps{fresh, protector, audit, clock, nullptr}, world.policy);
  if (!importer.ok()) __builtin_trap();
  auto imported =
      (*importer)->ImportShare(signer::CallContext{"coordinator", "ImportShare"}, key.key_type,
                               std::move(share), rest.subspan(34 + commitment_size));
  if (imported.ok()) {
    // Whatever was accepted is a consistent share that the store can give back.
    auto loaded = fresh.LoadFrostShares();
    if (!loaded.ok() || loaded->size() != 1) __builtin_trap();
  }
  return 0;
}
