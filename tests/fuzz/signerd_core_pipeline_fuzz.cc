// libFuzzer target: arbitrary bytes as a series of RemoteKeystore request messages, run through the
// request pipeline with in-memory custody and history; checks that nothing refused gets signed.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "keymgr/custody.h"
#include "keymgr/keypair.h"
#include "remote_keystore.pb.h"
#include "signerd/pipeline_core.h"
#include "signerd/requests_from_proto.h"
#include "support/in_memory_custody.h"
#include "support/memory_protection.h"

namespace {

namespace pb = parity::polkadot::signer;
using base::Scheme;

// Held is a key custody holds for validator-alice; the fuzzer's requests may name it or not.
struct Held {
  std::string_view key_type;
  Scheme scheme;
  keymgr::Keypair pair;
};

Held MakeHeld(std::string_view key_type, Scheme scheme, std::string_view suri) {
  auto pair = keymgr::KeypairFromSuri(scheme, suri);
  if (!pair.ok()) __builtin_trap();
  return Held{key_type, scheme, std::move(pair.value())};
}

const std::vector<Held>& HeldKeys() {
  static const std::vector<Held> keys = [] {
    std::vector<Held> out;
    out.push_back(MakeHeld("gran", Scheme::kEd25519, "//Alice"));
    out.push_back(MakeHeld("babe", Scheme::kSr25519, "//Alice"));
    out.push_back(MakeHeld("beef", Scheme::kEcdsa, "//Alice"));
    // Held by custody but granted to nobody: must never sign for anyone.
    out.push_back(MakeHeld("gran", Scheme::kEd25519, "//Bob"));
    return out;
  }();
  return keys;
}

std::string HexOf(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t byte : bytes) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xf]);
  }
  return out;
}

const signer::Policy& FuzzPolicy() {
  static const signer::Policy policy = [] {
    const auto& keys = HeldKeys();
    std::string yaml = "identities:\n  validator-alice:\n";
    for (size_t i = 0; i < 3; ++i) {
      yaml += "    - key_types: [" + std::string(keys[i].key_type) +
              "]\n      operations: [sign, vrf, list]\n      public_keys: [\"" +
              HexOf(keys[i].pair.public_key()) + "\"]\n";
    }
    yaml += "  key-admin:\n    - key_types: [gran]\n      operations: [generate, insert]\n";
    yaml += "  intruder: []\n";
    auto parsed = signer::Policy::Parse(yaml);
    if (!parsed.ok()) __builtin_trap();
    return std::move(parsed.value());
  }();
  return policy;
}

// The independent ownership rule the policy above encodes: only validator-alice, only her three.
bool AliceOwns(std::string_view identity, std::string_view key_type,
               std::span<const uint8_t> public_key) {
  if (identity != "validator-alice") return false;
  const auto& keys = HeldKeys();
  for (size_t i = 0; i < 3; ++i) {
    const auto& own = keys[i].pair.public_key();
    if (keys[i].key_type == key_type &&
        std::equal(own.begin(), own.end(), public_key.begin(), public_key.end())) {
      return true;
    }
  }
  return false;
}

class CountingAudit final : public signer::AuditSink {
 public:
  base::Status Append(const signer::AuditRecord&) override {
    ++count;
    return base::Status::Ok();
  }
  size_t count = 0;
};

// World is one fresh signer: every input starts from the same state, so a crash reproduces.
struct World {
  World() {
    for (const Held& held : HeldKeys()) {
      if (!custody.Import(*base::MakeKeyTypeId(held.key_type), held.pair).ok()) __builtin_trap();
    }
  }
  size_t SignCalls() const {
    return custody.CallCount(keymgr::CustodyOp::kSign) +
           custody.CallCount(keymgr::CustodyOp::kEcdsaSignPrehashed);
  }

  keymgr::InMemoryCustody custody;
  support::MemoryProtection protection;
  CountingAudit audit;
  signer::Pipeline pipeline{
      signer::PipelineDeps{custody, protection.protector, FuzzPolicy(), audit, protection.clock}};
  // GRANDPA votes signed so far by (public key, stage, round, set_id), for the equivocation check.
  std::map<std::tuple<std::vector<uint8_t>, uint8_t, uint64_t, uint64_t>, std::vector<uint8_t>>
      grandpa_votes;
};

uint64_t U64At(std::span<const uint8_t> bytes, size_t offset) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value |= uint64_t{bytes[offset + i]} << (8 * i);
  return value;
}

// SignChecked runs one sign request and checks the reply against rules the pipeline must keep,
// judged here without the pipeline's own code.
void SignChecked(World& world, const signer::CallContext& call, const signer::SignInput& input) {
  const size_t calls_before = world.SignCalls();
  const size_t audits_before = world.audit.count;
  auto reply = world.pipeline.SignWith(call, input);
  if (!reply.ok()) {
    if (!reply.value.empty()) __builtin_trap();
    // Refusals and denials come before custody is asked to sign.
    if ((reply.code == signer::ReplyCode::kRefused ||
         reply.code == signer::ReplyCode::kPermissionDenied ||
         reply.code == signer::ReplyCode::kInvalidArgument) &&
        world.SignCalls() != calls_before) {
      __builtin_trap();
    }
    return;
  }
  if (!AliceOwns(call.identity, input.key_type, input.public_key)) __builtin_trap();
  if (world.audit.count == audits_before) __builtin_trap();
  const std::optional<Scheme>& scheme = input.scheme;
  if (!scheme || !keymgr::VerifySignature(*scheme, input.public_key, input.message, reply.value,
                                          input.prehashed)) {
    __builtin_trap();
  }
  // A GRANDPA prevote or precommit (stage ++ hash ++ number u32 ++ round u64 ++ set_id u64, the
  // signing spec's layout): two different ones in one round and stage are an equivocation.
  if (input.key_type == "gran" && input.message.size() == 53 && input.message[0] <= 1) {
    const std::vector<uint8_t> key(input.public_key.begin(), input.public_key.end());
    const std::vector<uint8_t> vote(input.message.begin(), input.message.end());
    auto [it, inserted] = world.grandpa_votes.try_emplace(
        {key, input.message[0], U64At(input.message, 37), U64At(input.message, 45)}, vote);
    if (!inserted && it->second != vote) __builtin_trap();
  }
}

// RunOne parses `bytes` as the request message `kind` selects and hands it to the pipeline the
// way the gRPC service does.
void RunOne(World& world, const signer::CallContext& call, uint8_t kind,
            std::span<const uint8_t> bytes) {
  const void* raw = bytes.data();
  const int size = static_cast<int>(bytes.size());
  switch (kind % 7) {
    case 0: {
      pb::SignWithRequest request;
      if (!request.ParseFromArray(raw, size)) return;
      SignChecked(world, call, signer::SignRequestOf(request));
      return;
    }
    case 1: {
      pb::SignWithAnyRequest request;
      if (!request.ParseFromArray(raw, size)) return;
      for (const std::string& public_key : request.public_keys()) {
        SignChecked(world, call, signer::SignRequestOf(request, public_key));
      }
      return;
    }
    case 2: {
      pb::EcdsaSignPrehashedRequest request;
      if (!request.ParseFromArray(raw, size)) return;
      SignChecked(world, call, signer::SignRequestOf(request));
      return;
    }
    case 3: {
      pb::Sr25519VrfSignRequest request;
      if (!request.ParseFromArray(raw, size)) return;
      auto transcript = signer::VrfTranscriptOf(request.transcript_data());
      if (!transcript) return;
      std::optional<keymgr::VrfTranscriptData> extra;
      if (request.has_extra_transcript()) {
        extra = signer::VrfTranscriptOf(request.extra_transcript());
        if (!extra) return;
      }
      auto reply = world.pipeline.VrfSign(
          call, request.key_type(), signer::AsBytes(request.public_key()), *transcript, extra);
      if (reply.ok() &&
          !AliceOwns(call.identity, request.key_type(), signer::AsBytes(request.public_key()))) {
        __builtin_trap();
      }
      auto pre_output = world.pipeline.VrfPreOutput(
          call, request.key_type(), signer::AsBytes(request.public_key()), *transcript);
      if (pre_output.ok() &&
          !AliceOwns(call.identity, request.key_type(), signer::AsBytes(request.public_key()))) {
        __builtin_trap();
      }
      return;
    }
    case 4: {
      pb::HasKeysRequest request;
      if (!request.ParseFromArray(raw, size)) return;
      std::vector<signer::KeyRef> keys;
      for (const auto& key : request.keys()) {
        keys.push_back(
            signer::KeyRef{key.key_type(),
                           std::vector<uint8_t>(key.public_key().begin(), key.public_key().end())});
      }
      auto has = world.pipeline.HasKeys(call, keys);
      if (has.ok() && has.value) {
        for (const auto& key : keys) {
          if (!AliceOwns(call.identity, key.key_type, key.public_key)) __builtin_trap();
        }
      }
      return;
    }
    case 5: {
      pb::KeysRequest request;
      if (!request.ParseFromArray(raw, size)) return;
      auto listed = world.pipeline.Keys(call, request.key_type());
      if (listed.ok()) {
        for (const auto& key : listed.value) {
          if (!AliceOwns(call.identity, request.key_type(), key)) __builtin_trap();
        }
      }
      return;
    }
    default: {
      pb::Sr25519PublicKeysRequest request;
      if (!request.ParseFromArray(raw, size)) return;
      auto listed = world.pipeline.PublicKeys(call, Scheme::kSr25519, request.key_type());
      if (listed.ok()) {
        for (const auto& key : listed.value) {
          if (!AliceOwns(call.identity, request.key_type(), key)) __builtin_trap();
        }
      }
      return;
    }
  }
}

}  // namespace

// Input: identity selector (1 byte), then up to 8 records of kind (1 byte), length (2 bytes LE)
// and that many bytes of a serialized request.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr std::array<std::string_view, 4> kIdentities = {"validator-alice", "intruder",
                                                                  "key-admin", ""};
  const std::span<const uint8_t> bytes(data, size);
  if (bytes.empty()) return 0;
  World world;
  const signer::CallContext call{std::string(kIdentities[bytes[0] % kIdentities.size()]), "fuzz"};
  size_t offset = 1;
  for (int record = 0; record < 8 && offset + 3 <= bytes.size(); ++record) {
    const uint8_t kind = bytes[offset];
    const size_t length = std::min<size_t>(bytes[offset + 1] | (size_t{bytes[offset + 2]} << 8),
                                           bytes.size() - offset - 3);
    RunOne(world, call, kind, bytes.subspan(offset + 3, length));
    offset += 3 + length;
  }
  return 0;
}
