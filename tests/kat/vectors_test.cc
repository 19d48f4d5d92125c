// Table-driven known-answer test: every case of every tests/vectors/*.json file, against keymgr.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/secret_bytes.h"
#include "keymgr/bip39.h"
#include "keymgr/ecdsa.h"
#include "keymgr/ed25519.h"
#include "keymgr/junction.h"
#include "keymgr/keypair.h"
#include "keymgr/merlin.h"
#include "keymgr/sr25519.h"
#include "keymgr/ss58.h"
#include "keymgr/suri.h"
#include "support/locations.h"

namespace {

using Json = nlohmann::json;
using Bytes = std::vector<uint8_t>;

// The files the generator writes. Listing them means a deleted or renamed file fails the suite
// instead of silently shrinking it.
constexpr std::array<const char*, 6> kExpectedFiles = {
    "spec_known_answers.json", "rfc8032_ed25519.json", "suri_derivations.json",
    "oracle_signatures.json",  "sr25519_vrf.json",     "merlin_transcripts.json",
};

struct KatCase {
  std::string file;
  std::string test_name;
  Json data;
  std::string load_error;  // set when the file itself could not be used
};

// PrintTo keeps gtest from dumping the raw bytes of a case when it fails.
void PrintTo(const KatCase& kat, std::ostream* out) { *out << kat.file << " / " << kat.test_name; }

// The vector files are hex-decoded here rather than with keymgr::HexDecode so a bug in the code
// under test cannot also corrupt its expected values.
Bytes Unhex(const std::string& text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out;
  if (text.size() % 2 != 0) {
    ADD_FAILURE() << "odd-length hex in vector: " << text;
    return out;
  }
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]);
    const int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) {
      ADD_FAILURE() << "bad hex in vector: " << text;
      return {};
    }
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return out;
}

Bytes Unhex(const Json& text) { return Unhex(text.get<std::string>()); }

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::span<const uint8_t> AsBytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string GtestName(const std::string& raw) {
  std::string out;
  for (char c : raw) {
    out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  }
  return out;
}

std::vector<KatCase> LoadAllCases() {
  std::vector<KatCase> cases;
  std::set<std::string> used_names;
  auto add = [&](KatCase kat) {
    std::string name = GtestName(kat.test_name);
    for (int suffix = 2; used_names.contains(name); ++suffix) {
      name = GtestName(kat.test_name) + "_" + std::to_string(suffix);
    }
    used_names.insert(name);
    kat.test_name = name;
    cases.push_back(std::move(kat));
  };

  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(support::Location("kat-vectors"), error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  if (error) {
    add({"", "vector_dir_unreadable", Json(),
         "cannot list " + support::Location("kat-vectors") + ": " + error.message()});
    return cases;
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    const std::string file = path.filename().string();
    const std::string stem = path.stem().string();
    std::ifstream in(path);
    Json doc = Json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
      add({file, stem + "_unparseable", Json(), "not a JSON object"});
      continue;
    }
    if (!doc.contains("source") || !doc["source"].is_string() ||
        doc["source"].get<std::string>().empty()) {
      add({file, stem + "_no_source", Json(), "every vector file must say where it came from"});
      continue;
    }
    if (!doc.contains("cases") || !doc["cases"].is_array() || doc["cases"].empty()) {
      add({file, stem + "_no_cases", Json(), "no \"cases\" array"});
      continue;
    }
    for (const auto& item : doc["cases"]) {
      const std::string name = item.value("name", std::string("unnamed"));
      add({file, stem + "__" + name, item, ""});
    }
  }
  return cases;
}

keymgr::VrfTranscriptData TranscriptFromJson(const Json& wire) {
  keymgr::VrfTranscriptData data;
  const Bytes label = Unhex(wire.at("label_hex").get<std::string>());
  data.label.assign(label.begin(), label.end());
  for (const auto& item : wire.at("items")) {
    const Bytes item_label = Unhex(item.at("label_hex").get<std::string>());
    data.items.emplace_back(std::string(item_label.begin(), item_label.end()),
                            Unhex(item.at("message_hex").get<std::string>()));
  }
  return data;
}

base::Scheme SchemeOf(const Json& kat) {
  auto scheme = base::ParseScheme(kat.at("scheme").get<std::string>());
  EXPECT_TRUE(scheme.ok()) << kat.at("scheme");
  return scheme.ok() ? *scheme : base::Scheme::kSr25519;
}

// Each Check* function verifies one case type; the JSON fields are documented in
// tests/vectors/README.md.

void CheckMerlin(const Json& kat) {
  keymgr::MerlinTranscript transcript(Unhex(kat.at("label_hex")));
  size_t challenges = 0;
  for (const auto& op : kat.at("ops")) {
    const Bytes label = Unhex(op.at("label_hex"));
    if (op.at("op") == "append") {
      transcript.AppendMessage(std::span<const uint8_t>(label), Unhex(op.at("message_hex")));
    } else {
      Bytes out(op.at("length").get<size_t>());
      transcript.ChallengeBytes(std::span<const uint8_t>(label), out);
      EXPECT_EQ(Hex(out), op.at("expected_hex").get<std::string>()) << "challenge " << challenges;
      ++challenges;
    }
  }
  EXPECT_GT(challenges, 0u);
}

void CheckSr25519FromMiniSecret(const Json& kat) {
  auto pair = keymgr::Sr25519Keypair::FromMiniSecret(Unhex(kat.at("mini_secret_hex")));
  ASSERT_TRUE(pair.ok()) << pair.status().message();
  EXPECT_EQ(Hex(pair->public_key()), kat.at("public_hex").get<std::string>());
}

void CheckDerive(const Json& kat) {
  const base::Scheme scheme = SchemeOf(kat);
  auto pair = keymgr::KeypairFromSuri(scheme, kat.at("suri").get<std::string>());
  if (kat.value("error", false)) {
    ASSERT_FALSE(pair.ok()) << "the oracle refuses this SURI; keymgr derived "
                            << Hex(pair->public_key());
    EXPECT_EQ(pair.status().code(), base::StatusCode::kInvalidArgument);
    return;
  }
  ASSERT_TRUE(pair.ok()) << pair.status().message();
  const Bytes public_key = pair->public_key();
  EXPECT_EQ(Hex(public_key), kat.at("public_hex").get<std::string>());
  if (!kat.contains("ss58")) return;
  for (const auto& [prefix_text, address] : kat.at("ss58").items()) {
    const auto prefix = static_cast<uint16_t>(std::stoi(prefix_text));
    auto encoded = keymgr::Ss58Encode(public_key, prefix);
    ASSERT_TRUE(encoded.ok()) << encoded.status().message();
    EXPECT_EQ(*encoded, address.get<std::string>()) << "prefix " << prefix;
    auto decoded = keymgr::Ss58Decode(address.get<std::string>());
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(decoded->prefix, prefix);
    EXPECT_EQ(Hex(decoded->public_key), kat.at("public_hex").get<std::string>());
  }
}

void CheckSignDeterministic(const Json& kat) {
  const base::Scheme scheme = SchemeOf(kat);
  auto pair = keymgr::KeypairFromSuri(scheme, kat.at("suri").get<std::string>());
  ASSERT_TRUE(pair.ok()) << pair.status().message();
  EXPECT_EQ(Hex(pair->public_key()), kat.at("public_hex").get<std::string>());
  const Bytes message = Unhex(kat.at("message_hex"));
  const bool prehashed = kat.at("prehashed").get<bool>();
  Bytes signature;
  if (prehashed) {
    auto signed_digest = pair->SignPrehashed(message);
    ASSERT_TRUE(signed_digest.ok()) << signed_digest.status().message();
    signature = *signed_digest;
  } else {
    signature = pair->Sign(message);
  }
  EXPECT_EQ(Hex(signature), kat.at("signature_hex").get<std::string>());

  const Bytes expected = Unhex(kat.at("signature_hex"));
  EXPECT_TRUE(keymgr::VerifySignature(scheme, pair->public_key(), message, expected, prehashed));
  Bytes tampered = expected;
  tampered[10] ^= 0x01;
  EXPECT_FALSE(keymgr::VerifySignature(scheme, pair->public_key(), message, tampered, prehashed));
}

void CheckVerify(const Json& kat) {
  const base::Scheme scheme = SchemeOf(kat);
  const Bytes public_key = Unhex(kat.at("public_hex"));
  const Bytes message = Unhex(kat.at("message_hex"));
  const Bytes signature = Unhex(kat.at("signature_hex"));
  const bool prehashed = kat.value("prehashed", false);
  const bool valid = kat.at("valid").get<bool>();
  EXPECT_EQ(keymgr::VerifySignature(scheme, public_key, message, signature, prehashed), valid);
  // The scheme-specific entry points must agree with the generic one.
  switch (scheme) {
    case base::Scheme::kSr25519:
      EXPECT_EQ(keymgr::Sr25519Verify(public_key, message, signature), valid);
      break;
    case base::Scheme::kEd25519:
      EXPECT_EQ(keymgr::Ed25519Verify(public_key, message, signature), valid);
      break;
    case base::Scheme::kEcdsa:
      EXPECT_EQ(prehashed ? keymgr::EcdsaVerifyPrehashed(public_key, message, signature)
                          : keymgr::EcdsaVerify(public_key, message, signature),
                valid);
      break;
  }
}

void CheckSoftPublic(const Json& kat) {
  const auto junction = keymgr::DeriveJunction::FromText(kat.at("junction").get<std::string>(),
                                                         /*hard=*/false);
  auto child =
      keymgr::Sr25519DeriveSoftPublic(Unhex(kat.at("parent_public_hex")), junction.chain_code);
  ASSERT_TRUE(child.ok()) << child.status().message();
  EXPECT_EQ(Hex(*child), kat.at("public_hex").get<std::string>());
}

void CheckJunction(const Json& kat) {
  const std::string text = kat.at("text").get<std::string>();
  for (bool hard : {false, true}) {
    const auto junction = keymgr::DeriveJunction::FromText(text, hard);
    EXPECT_EQ(Hex(junction.chain_code), kat.at("chain_code_hex").get<std::string>());
    EXPECT_EQ(junction.hard, hard);
  }
}

void CheckBip39(const Json& kat) {
  auto entropy = keymgr::MnemonicToEntropy(kat.at("phrase").get<std::string>());
  if (kat.value("error", false)) {
    EXPECT_FALSE(entropy.ok()) << "the oracle refuses this phrase";
    return;
  }
  ASSERT_TRUE(entropy.ok()) << entropy.status().message();
  EXPECT_EQ(Hex(entropy->span()), kat.at("entropy_hex").get<std::string>());
  auto mini = keymgr::MiniSecretFromEntropy(entropy->span(), kat.at("password").get<std::string>());
  ASSERT_TRUE(mini.ok()) << mini.status().message();
  EXPECT_EQ(Hex(mini->span()), kat.at("mini_secret_hex").get<std::string>());
  auto phrase = keymgr::EntropyToMnemonic(entropy->span());
  ASSERT_TRUE(phrase.ok()) << phrase.status().message();
  EXPECT_TRUE(phrase->Equals(AsBytes(kat.at("phrase").get<std::string>())));
}

void CheckSs58Invalid(const Json& kat) {
  auto decoded = keymgr::Ss58Decode(kat.at("address").get<std::string>());
  EXPECT_FALSE(decoded.ok()) << "decoded an address the oracle refuses";
}

void CheckVrfVerify(const Json& kat) {
  const Bytes public_key = Unhex(kat.at("public_hex"));
  const keymgr::MerlinTranscript input = TranscriptFromJson(kat.at("input")).Build();
  std::optional<keymgr::MerlinTranscript> extra;
  if (kat.contains("extra") && !kat.at("extra").is_null()) {
    extra = TranscriptFromJson(kat.at("extra")).Build();
  }
  const bool valid = kat.at("valid").get<bool>();
  auto signature = keymgr::Sr25519VrfSignature::Parse(Unhex(kat.at("signature_hex")));
  if (!signature.ok()) {
    // A tampered proof may already fail to parse (a non-canonical scalar or point).
    EXPECT_FALSE(valid) << "valid VRF signature failed to parse: " << signature.status().message();
    return;
  }
  EXPECT_EQ(keymgr::Sr25519VrfVerify(public_key, input, extra, *signature), valid);
  EXPECT_EQ(Hex(signature->Serialize()), kat.at("signature_hex").get<std::string>());
}

void CheckVrfPreOutput(const Json& kat) {
  auto pair = keymgr::KeypairFromSuri(base::Scheme::kSr25519, kat.at("suri").get<std::string>());
  ASSERT_TRUE(pair.ok()) << pair.status().message();
  ASSERT_NE(pair->sr25519(), nullptr);
  const keymgr::Sr25519Keypair& sr = *pair->sr25519();
  const keymgr::MerlinTranscript input = TranscriptFromJson(kat.at("input")).Build();
  const std::string expected = kat.at("pre_output_hex").get<std::string>();

  EXPECT_EQ(Hex(sr.VrfPreOutput(input)), expected);
  // The pre-output inside a full VRF signature is deterministic too, and the proof must verify.
  const keymgr::Sr25519VrfSignature signature = sr.VrfSign(input, std::nullopt);
  EXPECT_EQ(Hex(signature.pre_output), expected);
  EXPECT_TRUE(keymgr::Sr25519VrfVerify(sr.public_key(), input, std::nullopt, signature));

  if (kat.contains("make_bytes")) {
    const Json& make = kat.at("make_bytes");
    keymgr::Sr25519VrfPreOutput pre_output{};
    const Bytes expected_bytes = Unhex(expected);
    ASSERT_EQ(expected_bytes.size(), pre_output.size());
    std::copy(expected_bytes.begin(), expected_bytes.end(), pre_output.begin());
    auto output =
        keymgr::Sr25519VrfMakeBytes(sr.public_key(), input, pre_output,
                                    Unhex(make.at("context_hex")), make.at("length").get<size_t>());
    ASSERT_TRUE(output.ok()) << output.status().message();
    EXPECT_EQ(Hex(*output), make.at("output_hex").get<std::string>());
  }
}

class KatTest : public ::testing::TestWithParam<KatCase> {};

TEST_P(KatTest, MatchesKeymgr) {
  const KatCase& kat = GetParam();
  ASSERT_TRUE(kat.load_error.empty()) << kat.file << ": " << kat.load_error;
  const std::string type = kat.data.value("type", std::string());
  SCOPED_TRACE(kat.file + " / " + kat.data.value("name", std::string()));
  if (type == "merlin") {
    CheckMerlin(kat.data);
  } else if (type == "sr25519_from_mini_secret") {
    CheckSr25519FromMiniSecret(kat.data);
  } else if (type == "derive") {
    CheckDerive(kat.data);
  } else if (type == "sign_deterministic") {
    CheckSignDeterministic(kat.data);
  } else if (type == "verify") {
    CheckVerify(kat.data);
  } else if (type == "sr25519_soft_public") {
    CheckSoftPublic(kat.data);
  } else if (type == "junction") {
    CheckJunction(kat.data);
  } else if (type == "bip39") {
    CheckBip39(kat.data);
  } else if (type == "ss58_invalid") {
    CheckSs58Invalid(kat.data);
  } else if (type == "vrf_verify") {
    CheckVrfVerify(kat.data);
  } else if (type == "vrf_pre_output") {
    CheckVrfPreOutput(kat.data);
  } else {
    FAIL() << "unknown case type \"" << type << "\": teach vectors_test.cc about it";
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, KatTest, ::testing::ValuesIn(LoadAllCases()),
                         [](const ::testing::TestParamInfo<KatCase>& param_info) {
                           return param_info.param.test_name;
                         });

TEST(KatFiles, EveryExpectedFileIsPresentAndUsed) {
  const std::vector<KatCase> cases = LoadAllCases();
  for (const char* expected : kExpectedFiles) {
    const size_t count = static_cast<size_t>(std::count_if(
        cases.begin(), cases.end(), [&](const KatCase& c) { return c.file == expected; }));
    EXPECT_GT(count, 0u) << expected << " is missing or empty";
  }
}

}  // namespace
