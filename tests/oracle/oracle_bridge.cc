// oracle_bridge: answers a JSON batch of keymgr requests so the npm oracles can cross-check it.
//
// Usage: oracle_bridge [REQUESTS.json]   (reads stdin when no file or "-" is given; writes stdout)
// Input  {"requests": [{"op": ..., ...}, ...]}
// Output {"results": [{"ok": true, ...} | {"ok": false, "error": "..."}, ...]} in request order.
// Ops (bytes are hex, transcripts are {"label_hex", "items": [{"label_hex", "message_hex"}]}):
//   derive          scheme, suri, [ss58_prefixes]            -> public, ss58 {prefix: address}
//   sign            scheme, suri, message                    -> signature
//   sign_prehashed  scheme, suri, digest                     -> signature
//   verify          scheme, public, message, signature, [prehashed] -> valid
//   vrf_sign        suri, input, [extra], [make_bytes {context, length}] -> public, signature,
//                                                               pre_output, [output]
//   vrf_verify      public, input, [extra], signature        -> valid
//   vrf_pre_output  suri, input                              -> pre_output
//   frost_sign      scheme (sr25519|ed25519), keygen (dealer|dkg), min, max, signers [ids],
//   message,
//                   suri (dealer only: the key that is split)  -> public, signature
//                   (a FROST aggregate of the listed signers; dealer keys keep the SURI's public
//                   key)
// A malformed request fails alone; the process exits 0 whenever it could write the results.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "base/status.h"
#include "keymgr/frost.h"
#include "keymgr/keypair.h"
#include "keymgr/merlin.h"
#include "keymgr/sr25519.h"
#include "keymgr/ss58.h"

namespace {

using Json = nlohmann::json;

// RequestError carries a per-request failure up to the batch loop; it never leaves this program.
struct RequestError {
  std::string message;
};

std::vector<uint8_t> Bytes(const Json& request, const char* field) {
  if (!request.contains(field) || !request.at(field).is_string()) {
    throw RequestError{std::string("missing hex field ") + field};
  }
  auto decoded = base::HexDecode(request.at(field).get<std::string>());
  if (!decoded.ok()) throw RequestError{std::string("bad hex in ") + field};
  return std::move(decoded).value();
}

std::string Text(const Json& request, const char* field) {
  if (!request.contains(field) || !request.at(field).is_string()) {
    throw RequestError{std::string("missing string field ") + field};
  }
  return request.at(field).get<std::string>();
}

keymgr::VrfTranscriptData Transcript(const Json& wire) {
  keymgr::VrfTranscriptData data;
  const std::vector<uint8_t> label = Bytes(wire, "label_hex");
  data.label.assign(label.begin(), label.end());
  if (!wire.contains("items") || !wire.at("items").is_array()) {
    throw RequestError{"transcript without items"};
  }
  for (const Json& item : wire.at("items")) {
    const std::vector<uint8_t> item_label = Bytes(item, "label_hex");
    data.items.emplace_back(std::string(item_label.begin(), item_label.end()),
                            Bytes(item, "message_hex"));
  }
  return data;
}

std::optional<keymgr::MerlinTranscript> OptionalTranscript(const Json& request, const char* field) {
  if (!request.contains(field) || request.at(field).is_null()) return std::nullopt;
  return Transcript(request.at(field)).Build();
}

// KeypairCache derives each (scheme, SURI) once: a batch reuses keys many times and every phrase
// costs a 2048-round PBKDF2.
class KeypairCache {
 public:
  const keymgr::Keypair& Get(base::Scheme scheme, const std::string& suri) {
    const auto key = std::make_pair(static_cast<int>(scheme), suri);
    auto found = pairs_.find(key);
    if (found != pairs_.end()) return found->second;
    auto pair = keymgr::KeypairFromSuri(scheme, suri);
    if (!pair.ok()) throw RequestError{"KeypairFromSuri: " + pair.status().message()};
    return pairs_.emplace(key, std::move(pair).value()).first->second;
  }

 private:
  std::map<std::pair<int, std::string>, keymgr::Keypair> pairs_;
};

base::Scheme SchemeOf(const Json& request) {
  auto scheme = base::ParseScheme(Text(request, "scheme"));
  if (!scheme.ok()) throw RequestError{scheme.status().message()};
  return *scheme;
}

const keymgr::Sr25519Keypair& Sr25519Of(KeypairCache& cache, const Json& request) {
  const keymgr::Keypair& pair = cache.Get(base::Scheme::kSr25519, Text(request, "suri"));
  return *pair.sr25519();
}

// FrostKeys is a t-of-n key from either key generation, as the signing participants hold it.
struct FrostKeys {
  std::vector<keymgr::frost::KeyPackage> keys;  // index i holds identifier i + 1
  keymgr::frost::PublicKeyPackage public_package;
};

template <typename T>
T Need(base::Result<T> result, const char* what) {
  if (!result.ok()) throw RequestError{std::string(what) + ": " + result.status().message()};
  return std::move(result).value();
}

keymgr::frost::Identifier FrostId(uint32_t value) {
  return Need(keymgr::frost::Identifier::Create(value), "identifier");
}

FrostKeys FrostDealer(KeypairCache& cache, keymgr::frost::Suite suite, const Json& request,
                      uint16_t min, uint16_t max) {
  FrostKeys out;
  keymgr::frost::DealerOutput dealt;
  if (suite == keymgr::frost::Suite::kSr25519) {
    const keymgr::Keypair& pair = cache.Get(base::Scheme::kSr25519, Text(request, "suri"));
    dealt = Need(keymgr::frost::TrustedDealerSplitSr25519(*pair.sr25519(), min, max), "split");
  } else if (suite == keymgr::frost::Suite::kEd25519) {
    const keymgr::Keypair& pair = cache.Get(base::Scheme::kEd25519, Text(request, "suri"));
    dealt = Need(keymgr::frost::TrustedDealerSplitEd25519(*pair.ed25519(), min, max), "split");
  } else {
    throw RequestError{"the dealer splits sr25519 and ed25519 SURI keys only"};
  }
  for (const keymgr::frost::SecretShare& share : dealt.shares) {
    out.keys.push_back(Need(keymgr::frost::VerifySecretShare(share), "VerifySecretShare"));
  }
  out.public_package = std::move(dealt.public_package);
  return out;
}

// FrostDkg runs the whole DKG, every message passing through its wire encoding.
FrostKeys FrostDkg(keymgr::frost::Suite suite, uint16_t min, uint16_t max) {
  namespace frost = keymgr::frost;
  std::vector<frost::DkgSecret> secrets;
  std::vector<frost::DkgRound1Package> packages;
  for (uint16_t i = 1; i <= max; ++i) {
    frost::DkgRound1Output round1 = Need(frost::DkgRound1(suite, FrostId(i), min, max), "round1");
    packages.push_back(
        Need(frost::DkgRound1Package::Decode(suite, round1.package.Encode()), "decode"));
    secrets.push_back(std::move(round1.secret));
  }
  auto peers_of = [&](size_t self) {
    std::vector<frost::DkgRound1Package> peers;
    for (size_t j = 0; j < packages.size(); ++j) {
      if (j != self) peers.push_back(packages[j]);
    }
    return peers;
  };
  std::vector<std::vector<frost::DkgShare>> inbox(max);
  for (size_t i = 0; i < max; ++i) {
    frost::DkgRound2Output round2 =
        Need(frost::DkgRound2(std::move(secrets[i]), peers_of(i)), "round2");
    secrets[i] = std::move(round2.secret);
    for (const frost::DkgShare& share : round2.shares) {
      inbox[share.recipient.value() - 1].push_back(
          Need(frost::DkgShare::Decode(share.Encode().span()), "decode share"));
    }
  }
  FrostKeys out;
  for (size_t i = 0; i < max; ++i) {
    frost::DkgResult result =
        Need(frost::DkgFinalize(std::move(secrets[i]), peers_of(i), inbox[i]), "finalize");
    out.keys.push_back(std::move(result.key_package));
    out.public_package = std::move(result.public_package);
  }
  return out;
}

// FrostSign runs both signing rounds for `signers` and aggregates, with commitments and shares
// crossing their wire encodings as they would between agents and the coordinator.
keymgr::frost::Signature FrostSign(const FrostKeys& keys, const std::vector<uint16_t>& signers,
                                   const std::vector<uint8_t>& message) {
  namespace frost = keymgr::frost;
  const frost::Suite suite = keys.public_package.suite;
  std::vector<frost::SigningNonces> nonces;
  frost::CommitmentList commitments;
  for (uint16_t id : signers) {
    if (id < 1 || id > keys.keys.size()) throw RequestError{"signer out of range"};
    frost::Round1 round1 = Need(frost::Commit(keys.keys[id - 1]), "commit");
    commitments.push_back(round1.commitments);
    nonces.push_back(std::move(round1.nonces));
  }
  const frost::CommitmentList received =
      Need(frost::DecodeCommitmentList(suite, frost::EncodeCommitmentList(commitments)), "list");
  std::vector<frost::SignatureShare> shares;
  for (size_t i = 0; i < signers.size(); ++i) {
    const frost::SignatureShare share = Need(
        frost::Sign(keys.keys[signers[i] - 1], std::move(nonces[i]), message, received), "sign");
    shares.push_back(Need(frost::SignatureShare::Decode(share.Encode()), "decode share"));
  }
  return Need(frost::Aggregate(keys.public_package, message, received, shares), "aggregate");
}

Json Handle(KeypairCache& cache, const Json& request) {
  const std::string op = Text(request, "op");
  Json result = {{"ok", true}};
  if (op == "derive") {
    const keymgr::Keypair& pair = cache.Get(SchemeOf(request), Text(request, "suri"));
    const std::vector<uint8_t> public_key = pair.public_key();
    result["public"] = base::HexEncode(public_key);
    if (request.contains("ss58_prefixes")) {
      Json addresses = Json::object();
      for (const Json& prefix : request.at("ss58_prefixes")) {
        auto address = keymgr::Ss58Encode(public_key, prefix.get<uint16_t>());
        if (!address.ok()) throw RequestError{"Ss58Encode: " + address.status().message()};
        addresses[std::to_string(prefix.get<uint16_t>())] = *address;
      }
      result["ss58"] = addresses;
    }
  } else if (op == "sign") {
    const keymgr::Keypair& pair = cache.Get(SchemeOf(request), Text(request, "suri"));
    result["signature"] = base::HexEncode(pair.Sign(Bytes(request, "message")));
  } else if (op == "sign_prehashed") {
    const keymgr::Keypair& pair = cache.Get(SchemeOf(request), Text(request, "suri"));
    auto signature = pair.SignPrehashed(Bytes(request, "digest"));
    if (!signature.ok()) throw RequestError{"SignPrehashed: " + signature.status().message()};
    result["signature"] = base::HexEncode(*signature);
  } else if (op == "verify") {
    result["valid"] = keymgr::VerifySignature(
        SchemeOf(request), Bytes(request, "public"), Bytes(request, "message"),
        Bytes(request, "signature"), request.value("prehashed", false));
  } else if (op == "vrf_sign") {
    const keymgr::Sr25519Keypair& pair = Sr25519Of(cache, request);
    const keymgr::MerlinTranscript input = Transcript(request.at("input")).Build();
    const keymgr::Sr25519VrfSignature signature =
        pair.VrfSign(input, OptionalTranscript(request, "extra"));
    result["public"] = base::HexEncode(pair.public_key());
    result["signature"] = base::HexEncode(signature.Serialize());
    result["pre_output"] = base::HexEncode(signature.pre_output);
    if (request.contains("make_bytes")) {
      const Json& make = request.at("make_bytes");
      auto output =
          keymgr::Sr25519VrfMakeBytes(pair.public_key(), input, signature.pre_output,
                                      Bytes(make, "context"), make.at("length").get<size_t>());
      if (!output.ok()) throw RequestError{"Sr25519VrfMakeBytes: " + output.status().message()};
      result["output"] = base::HexEncode(*output);
    }
  } else if (op == "vrf_verify") {
    auto signature = keymgr::Sr25519VrfSignature::Parse(Bytes(request, "signature"));
    // An unparseable proof is a proof that does not verify, which is what the caller asks.
    result["valid"] =
        signature.ok() &&
        keymgr::Sr25519VrfVerify(Bytes(request, "public"), Transcript(request.at("input")).Build(),
                                 OptionalTranscript(request, "extra"), *signature);
  } else if (op == "vrf_pre_output") {
    const keymgr::Sr25519Keypair& pair = Sr25519Of(cache, request);
    result["pre_output"] =
        base::HexEncode(pair.VrfPreOutput(Transcript(request.at("input")).Build()));
  } else if (op == "frost_sign") {
    const keymgr::frost::Suite suite =
        Need(keymgr::frost::ParseSuite(Text(request, "scheme")), "scheme");
    const uint16_t min = request.at("min").get<uint16_t>();
    const uint16_t max = request.at("max").get<uint16_t>();
    const std::string keygen = Text(request, "keygen");
    FrostKeys keys;
    if (keygen == "dealer") {
      keys = FrostDealer(cache, suite, request, min, max);
    } else if (keygen == "dkg") {
      keys = FrostDkg(suite, min, max);
    } else {
      throw RequestError{"keygen must be dealer or dkg"};
    }
    const keymgr::frost::Signature signature = FrostSign(
        keys, request.at("signers").get<std::vector<uint16_t>>(), Bytes(request, "message"));
    result["public"] = base::HexEncode(keys.public_package.group_public_key);
    result["signature"] = base::HexEncode(signature);
  } else {
    throw RequestError{"unknown op " + op};
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  std::string input_text;
  if (argc > 1 && std::string(argv[1]) != "-") {
    std::ifstream file(argv[1], std::ios::binary);
    if (!file) {
      std::fprintf(stderr, "oracle_bridge: cannot open %s\n", argv[1]);
      return 2;
    }
    input_text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  } else {
    input_text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  const Json batch = Json::parse(input_text, nullptr, /*allow_exceptions=*/false);
  if (batch.is_discarded() || !batch.contains("requests") || !batch.at("requests").is_array()) {
    std::fputs("oracle_bridge: input must be {\"requests\": [...]}\n", stderr);
    return 2;
  }

  KeypairCache cache;
  Json results = Json::array();
  for (const Json& request : batch.at("requests")) {
    try {
      results.push_back(Handle(cache, request));
    } catch (const RequestError& error) {
      results.push_back({{"ok", false}, {"error", error.message}});
    } catch (const Json::exception& error) {
      results.push_back({{"ok", false}, {"error", std::string("bad request: ") + error.what()}});
    }
  }
  std::cout << Json{{"results", results}}.dump() << '\n';
  return std::cout.good() ? 0 : 1;
}
