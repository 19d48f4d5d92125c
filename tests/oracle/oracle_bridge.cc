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
