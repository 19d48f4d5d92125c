// End-to-end tests of `signerctl keys`: the real binary against a fresh SoftHSM2 token per test.
//
// Every test makes its own token directory and SOFTHSM2_CONF (never the machine's), initialises a
// token through PKCS#11, and writes the signer configuration the binary reads. Known public keys
// and addresses of //Alice come from the project's signing spec and the npm oracles
// (support/well_known_keys.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/hex.h"
#include "keymgr/keypair.h"
#include "keymgr/pkcs11_custody.h"
#include "keymgr/sr25519.h"
#include "slashing/history_admin.h"
#include "slashing/record.h"
#include "support/environment.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/process.h"
#include "support/softhsm.h"
#include "support/temp_dir.h"
#include "support/well_known_keys.h"

namespace {

namespace fs = std::filesystem;

const std::string kAliceSr25519(support::kAliceSr25519.hex_0x);
const std::string kAliceSr25519Ss58(support::kAliceSr25519.ss58);
const std::string kAliceEd25519(support::kAliceEd25519.hex_0x);
const std::string kAliceEd25519Ss58(support::kAliceEd25519.ss58);
const std::string kAliceEcdsa(support::kAliceEcdsa.hex_0x);
const std::string kAliceEcdsaSs58(support::kAliceEcdsa.ss58);
// A SURI whose pieces are easy to spot if they ever leak into an output.
constexpr char kSecretSuri[] = "//SecretJunction///hunter2password";
constexpr char kPin[] = "4711-user-pin";
constexpr char kSoPin[] = "so-pin-1234";
constexpr char kGenesis[] = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";

using support::ReadFile;

// WritePrivateFile writes `content` to `path` readable by the owner only, as signerctl demands of
// PIN, passphrase, SURI and configuration files.
void WritePrivateFile(const fs::path& path, const std::string& content) {
  EXPECT_TRUE(support::WriteFile(path, content, 0600).ok()) << path;
}

// RunSignerctl starts signerctl with `args`, the test's environment (minus SIGNER_SURI and
// SOFTHSM2_CONF) plus `extra_env`, and stdin from /dev/null.
support::ProcessResult RunSignerctl(std::vector<std::string> args,
                                    const std::vector<std::string>& extra_env) {
  args.insert(args.begin(), support::Location("signerctl"));
  support::ProcessOptions options;
  options.unset_env = {"SIGNER_SURI", "SOFTHSM2_CONF"};
  options.set_env = extra_env;
  return support::ResultOrStartFailure(support::RunProcess(args, options));
}

// KeysCliTest gives each test a temporary directory holding a SoftHSM2 token, its PIN file and a
// signer configuration whose history lives in "history" beside it (not created).
class KeysCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hsm = support::SoftHsm::Create(dir_.path());
    ASSERT_TRUE(hsm.ok()) << hsm.status().message();
    hsm_ = *hsm;
    const base::Status token = hsm_->InitToken("keys-test", kPin, kSoPin);
    ASSERT_TRUE(token.ok()) << token.message();
    WritePrivateFile(dir_ / "hsm.pin", kPin);
    WriteConfig(R"("pin_file": "hsm.pin")", 3600);
  }

  // WriteConfig writes config.json with the given PIN source and delete guard.
  void WriteConfig(const std::string& pin_source, int64_t guard_seconds) {
    WritePrivateFile(dir_ / "config.json", std::string(R"({"signer_id": "keys-test",
  "hsm": {"module": ")") + SIGNER_SOFTHSM2_MODULE +
                                               R"(", "token_label": "keys-test", )" + pin_source +
                                               R"(},
  "history": {"data_dir": "history", "genesis_hash": ")" +
                                               kGenesis + R"("},
  "keys": {"delete_guard_seconds": )" + std::to_string(guard_seconds) +
                                               "}}");
  }

  // Keys runs `signerctl keys <args> --config config.json` with this test's SoftHSM2.
  support::ProcessResult Keys(std::vector<std::string> args,
                              std::vector<std::string> extra_env = {}) {
    args.insert(args.begin(), "keys");
    args.insert(args.end(), {"--config", (dir_ / "config.json").string()});
    extra_env.push_back(hsm_->ConfigEnv());
    support::ProcessResult run = RunSignerctl(args, extra_env);
    all_output_ += run.out + run.err;
    return run;
  }

  nlohmann::json ListKeys() {
    const support::ProcessResult run = Keys({"list"});
    EXPECT_EQ(run.exit_code, 0) << run.Describe();
    EXPECT_EQ(run.err, "");
    const nlohmann::json json = run.Json();
    EXPECT_TRUE(json.is_object() && json.contains("keys") && json["keys"].is_array()) << run.out;
    return json.value("keys", nlohmann::json::array());
  }

  // ListKeysWithoutRoles is ListKeys without the fields that describe a key's other key types,
  // which generate and rotate do not print: what is left is comparable with their output.
  nlohmann::json ListKeysWithoutRoles() {
    nlohmann::json keys = ListKeys();
    for (nlohmann::json& key : keys) {
      key.erase("also_held_as");
      key.erase("note");
    }
    return keys;
  }

  // HistoryPath is where the configuration says the slashing-protection history is.
  std::string HistoryPath() const { return (dir_ / "history").string(); }

  support::TempDir dir_{"keys_cli_test"};
  std::optional<support::SoftHsm> hsm_;
  std::string all_output_;  // every stdout and stderr of signerctl in this test, for leak checks
};

std::array<uint8_t, 32> GenesisBytes() {
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::stoi(std::string(kGenesis + 2 + 2 * i, 2), nullptr, 16));
  }
  return out;
}

// FromHex decodes a 0x-prefixed public key as signerctl prints it.
std::vector<uint8_t> FromHex(const std::string& text) { return base::HexDecode(text).value(); }

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// RecordSignature stores one BABE record for `public_key` at `recorded_at_ms` in the history, the
// way the protection engine remembers a signature.
void RecordSignature(const std::string& data_dir, const std::vector<uint8_t>& public_key,
                     uint64_t slot, uint64_t recorded_at_ms) {
  auto store = slashing::OpenHistory(data_dir, GenesisBytes());
  ASSERT_TRUE(store.ok()) << store.status().message();
  slashing::RecordKey key;
  key.public_key = public_key;
  key.domain = slashing::Domain::kBabe;
  key.position.major = slot;
  slashing::StoredRecord record;
  record.digests.push_back(std::vector<uint8_t>(32, 0xab));
  record.recorded_at_ms = recorded_at_ms;
  ASSERT_TRUE(
      (*store)
          ->WriteSynced({{slashing::EncodeRecordKey(key), slashing::EncodeRecordValue(record)}})
          .ok());
}

bool IsIso8601Utc(const std::string& text) {
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return false;
  }
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

// ----- generate and list -----

TEST_F(KeysCliTest, GeneratesEachSchemeAndListsThem) {
  struct Expected {
    std::string type, scheme, custody;
    size_t public_hex_size;
  };
  const std::vector<Expected> expected = {{"gran", "ed25519", "hsm-native", 2 + 64},
                                          {"babe", "sr25519", "hsm-wrapped", 2 + 64},
                                          {"beef", "ecdsa", "hsm-native", 2 + 66}};
  std::vector<nlohmann::json> generated;
  for (const Expected& e : expected) {
    const support::ProcessResult run = Keys({"generate", "--type", e.type});
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
    EXPECT_EQ(run.err, "");
    const nlohmann::json key = run.Json();
    ASSERT_TRUE(key.is_object()) << run.out;
    EXPECT_EQ(key.value("key_type", ""), e.type);
    EXPECT_EQ(key.value("scheme", ""), e.scheme);
    EXPECT_EQ(key.value("custody", ""), e.custody);
    EXPECT_EQ(key.value("generated_in_custody", false), true);
    EXPECT_EQ(key.value("public_key", "").size(), e.public_hex_size);
    EXPECT_TRUE(key.value("ss58", "").starts_with("5")) << key.dump();
    EXPECT_TRUE(IsIso8601Utc(key.value("created_at", ""))) << key.dump();
    generated.push_back(key);
  }
  const nlohmann::json listed = ListKeysWithoutRoles();
  ASSERT_EQ(listed.size(), generated.size());
  for (const nlohmann::json& key : generated) {
    EXPECT_NE(std::find(listed.begin(), listed.end(), key), listed.end())
        << key.dump() << " not in " << listed.dump();
  }
}

TEST_F(KeysCliTest, GenerateRefusesAWrongOrMissingScheme) {
  support::ProcessResult run = Keys({"generate", "--type", "gran", "--scheme", "sr25519"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("gran uses ed25519"), std::string::npos) << run.err;
  run = Keys({"generate", "--type", "acco"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("--scheme is required"), std::string::npos) << run.err;
  run = Keys({"generate", "--type", "toolong"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_TRUE(ListKeys().empty());
  // A type without a fixed scheme takes the one given.
  run = Keys({"generate", "--type", "acco", "--scheme", "ecdsa"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.Json().value("scheme", ""), "ecdsa");
}

TEST_F(KeysCliTest, ListOfAnEmptyTokenIsAnEmptyArray) { EXPECT_TRUE(ListKeys().empty()); }

// ----- PIN sources and failures -----

TEST_F(KeysCliTest, PinFromEnvironmentWorksAndWrongPinIsAClearError) {
  WriteConfig(R"("pin_env": "KEYS_TEST_PIN")", 3600);
  support::ProcessResult run = Keys({"list"}, {std::string("KEYS_TEST_PIN=") + kPin});
  EXPECT_EQ(run.exit_code, 0) << run.Describe();
  run = Keys({"list"}, {"KEYS_TEST_PIN=not-the-pin"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("cannot open the HSM token"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("not-the-pin"), std::string::npos) << run.err;
  run = Keys({"list"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("hsm.pin_env"), std::string::npos) << run.err;
}

TEST_F(KeysCliTest, PinFileReadableByOthersIsRefused) {
  fs::permissions(dir_ / "hsm.pin", fs::perms::owner_read | fs::perms::owner_write |
                                        fs::perms::group_read | fs::perms::others_read);
  const support::ProcessResult run = Keys({"list"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("hsm.pin_file"), std::string::npos) << run.err;
  EXPECT_EQ(all_output_.find(kPin), std::string::npos);
}

TEST_F(KeysCliTest, MissingModuleIsAClearErrorNotACrash) {
  std::string config = ReadFile(dir_ / "config.json");
  const std::string module = SIGNER_SOFTHSM2_MODULE;
  config.replace(config.find(module), module.size(), (dir_ / "no-such-module.so").string());
  WritePrivateFile(dir_ / "config.json", config);
  const support::ProcessResult run = Keys({"generate", "--type", "gran"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("cannot open the HSM token"), std::string::npos) << run.err;
}

// ----- import -----

TEST_F(KeysCliTest, ImportsFromEachSuriSourceWithKnownPublicKeys) {
  WritePrivateFile(dir_ / "alice.suri", "//Alice\n");
  support::ProcessResult run =
      Keys({"import", "--type", "babe", "--suri-file", (dir_ / "alice.suri").string()});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  nlohmann::json key = run.Json();
  EXPECT_EQ(key.value("public_key", ""), kAliceSr25519);
  EXPECT_EQ(key.value("ss58", ""), kAliceSr25519Ss58);
  EXPECT_EQ(key.value("custody", ""), "hsm-wrapped");
  EXPECT_EQ(key.value("generated_in_custody", true), false);

  run = Keys({"import", "--type", "gran"}, {"SIGNER_SURI=//Alice"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  key = run.Json();
  EXPECT_EQ(key.value("public_key", ""), kAliceEd25519);
  EXPECT_EQ(key.value("ss58", ""), kAliceEd25519Ss58);
  EXPECT_EQ(key.value("custody", ""), "hsm-native");
  EXPECT_EQ(key.value("generated_in_custody", true), false);

  run = Keys({"import", "--type", "beef", "--suri", "//Alice"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  key = run.Json();
  EXPECT_EQ(key.value("public_key", ""), kAliceEcdsa);
  EXPECT_EQ(key.value("ss58", ""), kAliceEcdsaSs58);
  EXPECT_EQ(key.value("scheme", ""), "ecdsa");

  const nlohmann::json listed = ListKeys();
  ASSERT_EQ(listed.size(), 3u);
  for (const nlohmann::json& entry : listed) {
    EXPECT_EQ(entry.value("generated_in_custody", true), false) << entry.dump();
  }

  // The same identity twice is refused rather than duplicated.
  run = Keys({"import", "--type", "babe", "--suri", "//Alice"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_EQ(ListKeys().size(), 3u);
}

TEST_F(KeysCliTest, ListAndImportSayWhenOnePublicKeyHoldsSeveralKeyTypes) {
  support::ProcessResult run = Keys({"import", "--type", "babe", "--suri", "//Alice"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.Json()["also_held_as"], nlohmann::json::array());
  EXPECT_FALSE(run.Json().contains("note"));
  run = Keys({"import", "--type", "audi", "--suri", "//Alice"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.Json()["also_held_as"], nlohmann::json::array({"babe"}));
  EXPECT_NE(run.Json().value("note", "").find("protection rules"), std::string::npos) << run.out;
  // //Alice's ed25519 key is another public key: it shares nothing with the sr25519 one.
  run = Keys({"import", "--type", "gran", "--suri", "//Alice"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.Json()["also_held_as"], nlohmann::json::array());
  std::map<std::string, nlohmann::json> by_type;
  for (const nlohmann::json& key : ListKeys()) by_type[key.value("key_type", "")] = key;
  EXPECT_EQ(by_type["babe"]["also_held_as"], nlohmann::json::array({"audi"}));
  EXPECT_EQ(by_type["audi"]["also_held_as"], nlohmann::json::array({"babe"}));
  EXPECT_TRUE(by_type["babe"].contains("note"));
  EXPECT_EQ(by_type["gran"]["also_held_as"], nlohmann::json::array());
}

TEST_F(KeysCliTest, ImportNeverPrintsTheSecret) {
  WritePrivateFile(dir_ / "secret.suri", kSecretSuri);
  support::ProcessResult run =
      Keys({"import", "--type", "gran", "--suri-file", (dir_ / "secret.suri").string()});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  // A SURI the scheme refuses (a soft junction on ed25519) fails without echoing itself.
  run = Keys({"import", "--type", "gran"}, {"SIGNER_SURI=//SecretJunction/softpiece"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  run = Keys({"import", "--type", "babe"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("no SURI given"), std::string::npos) << run.err;
  for (const char* fragment : {"SecretJunction", "hunter2password", "softpiece"}) {
    EXPECT_EQ(all_output_.find(fragment), std::string::npos) << fragment;
  }
}

// ----- rotate -----

TEST_F(KeysCliTest, RotatePrintsSessionKeysAsThePublicKeysInOrder) {
  const std::vector<std::string> order = {"babe", "gran", "para", "asgn", "audi", "beef"};
  const support::ProcessResult run =
      Keys({"rotate", "--session-keys", "babe,gran,para,asgn,audi,beef"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  const nlohmann::json json = run.Json();
  ASSERT_TRUE(json.is_object()) << run.out;
  ASSERT_EQ(json["keys"].size(), order.size());
  std::string concatenated = "0x";
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(json["keys"][i].value("key_type", ""), order[i]);
    EXPECT_EQ(json["keys"][i].value("generated_in_custody", false), true);
    concatenated += json["keys"][i].value("public_key", "").substr(2);
  }
  // Polkadot's SessionKeys: five 32-byte keys and one 33-byte ecdsa key, no length prefixes.
  const std::string session_keys = json.value("session_keys", "");
  EXPECT_EQ(session_keys.size(), 2u + 2 * (5 * 32 + 33));
  EXPECT_EQ(session_keys, concatenated);
  const nlohmann::json listed = ListKeysWithoutRoles();
  EXPECT_EQ(listed.size(), order.size());
  for (const nlohmann::json& key : json["keys"]) {
    EXPECT_NE(std::find(listed.begin(), listed.end(), key), listed.end()) << key.dump();
  }
}

TEST_F(KeysCliTest, RotateRefusesABadListBeforeGeneratingAnything) {
  for (const char* list : {"babe,babe", "babe,acco", "babe,,gran", "babe,toolong", ""}) {
    const support::ProcessResult run = Keys({"rotate", "--session-keys", list});
    EXPECT_EQ(run.exit_code, 2) << list << ": " << run.Describe();
    EXPECT_EQ(run.out, "");
  }
  EXPECT_TRUE(ListKeys().empty());
}

// ----- disable and enable -----

// A signer running beside signerctl: this test process's own view of the test's token, as signerd
// has it, with a short disable refresh so the test need not wait signerd's 2 s.
std::unique_ptr<keymgr::Pkcs11Custody> OpenSignerView(const support::SoftHsm& hsm,
                                                      std::chrono::milliseconds refresh) {
  // SoftHSM2 reads its configuration when the custody initialises it, here.
  const support::ScopedEnvironmentVariable config_env("SOFTHSM2_CONF", hsm.config_path().string());
  keymgr::Pkcs11Config config;
  config.module_path = SIGNER_SOFTHSM2_MODULE;
  config.token_label = "keys-test";
  config.pin = base::SecretBytes::CopyFrom(
      std::span(reinterpret_cast<const uint8_t*>(kPin), sizeof(kPin) - 1));
  config.disabled_refresh = refresh;
  auto custody = keymgr::Pkcs11Custody::Open(std::move(config));
  EXPECT_TRUE(custody.ok()) << custody.status().message();
  return custody.ok() ? std::move(*custody) : nullptr;
}

TEST_F(KeysCliTest, DisableStopsARunningSignerAndEnableRestoresIt) {
  support::ProcessResult run = Keys({"generate", "--type", "babe"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  const std::string babe = run.Json().value("public_key", "");
  EXPECT_EQ(run.Json().value("disabled", true), false);
  run = Keys({"generate", "--type", "gran"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  const std::string gran = run.Json().value("public_key", "");

  const std::chrono::milliseconds refresh(200);
  std::unique_ptr<keymgr::Pkcs11Custody> signer = OpenSignerView(*hsm_, refresh);
  ASSERT_NE(signer, nullptr);
  const keymgr::KeyId babe_id{*base::MakeKeyTypeId("babe"), FromHex(babe)};
  const std::vector<uint8_t> message = {'v', 'o', 't', 'e'};
  ASSERT_TRUE(signer->Sign(babe_id, base::Scheme::kSr25519, message).ok());

  run = Keys({"disable", "--type", "babe", "--public", babe});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.err, "");
  nlohmann::json json = run.Json();
  EXPECT_EQ(json["key"].value("public_key", ""), babe);
  EXPECT_EQ(json["key"].value("key_type", ""), "babe");
  EXPECT_EQ(json["key"].value("disabled", false), true);
  EXPECT_EQ(json.value("changed", false), true);
  run = Keys({"disable", "--type", "babe", "--public", babe});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.Json().value("changed", true), false);

  nlohmann::json listed = ListKeys();
  ASSERT_EQ(listed.size(), 2u) << "a disabled key stays on the token and in the operator's list";
  for (const nlohmann::json& key : listed) {
    EXPECT_EQ(key.value("disabled", false), key.value("public_key", "") == babe) << key.dump();
  }

  // Within the signer's refresh interval the disable reaches it: no signature, and not offered.
  std::this_thread::sleep_for(refresh + std::chrono::milliseconds(50));
  auto refused = signer->Sign(babe_id, base::Scheme::kSr25519, message);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::StatusCode::kNotFound);
  auto offered = signer->List();
  ASSERT_TRUE(offered.ok());
  ASSERT_EQ(offered->size(), 1u);
  EXPECT_EQ(base::KeyTypeName((*offered)[0].id.key_type), "gran");

  run = Keys({"enable", "--type", "babe", "--public", babe});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  json = run.Json();
  EXPECT_EQ(json["key"].value("disabled", true), false);
  EXPECT_EQ(json.value("changed", false), true);
  std::this_thread::sleep_for(refresh + std::chrono::milliseconds(50));
  auto signature = signer->Sign(babe_id, base::Scheme::kSr25519, message);
  ASSERT_TRUE(signature.ok()) << signature.status().message();
  EXPECT_TRUE(keymgr::Sr25519Verify(babe_id.public_key, message, *signature));
  for (const nlohmann::json& key : ListKeys()) EXPECT_EQ(key.value("disabled", true), false);
  run = Keys({"enable", "--type", "gran", "--public", gran});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.Json().value("changed", true), false);
}

TEST_F(KeysCliTest, DisableOfAnUnknownKeyOrBadArgumentsIsAClearError) {
  support::ProcessResult run = Keys({"generate", "--type", "babe"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  std::string other = run.Json().value("public_key", "");
  const std::string babe = other;
  other[2] = other[2] == '0' ? '1' : '0';
  for (const char* verb : {"disable", "enable"}) {
    SCOPED_TRACE(verb);
    run = Keys({verb, "--type", "babe", "--public", other});
    EXPECT_EQ(run.exit_code, 2) << run.Describe();
    EXPECT_EQ(run.out, "");
    EXPECT_NE(run.err.find("no babe key with that public key"), std::string::npos) << run.err;
    run = Keys({verb, "--type", "gran", "--public", babe});
    EXPECT_EQ(run.exit_code, 2) << "the key type is part of the identity: " << run.Describe();
    run = Keys({verb, "--type", "babe", "--public", "0xnothex"});
    EXPECT_EQ(run.exit_code, 2) << run.Describe();
    run = Keys({verb, "--type", "babe"});
    EXPECT_EQ(run.exit_code, 2) << run.Describe();
  }
  for (const nlohmann::json& key : ListKeys()) EXPECT_EQ(key.value("disabled", true), false);
}

// ----- delete -----

class KeysDeleteTest : public KeysCliTest {
 protected:
  void SetUp() override {
    KeysCliTest::SetUp();
    const support::ProcessResult run = Keys({"generate", "--type", "babe"});
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
    public_hex_ = run.Json().value("public_key", "");
    ASSERT_EQ(public_hex_.size(), 66u);
  }

  support::ProcessResult Delete(bool force) {
    std::vector<std::string> args = {"delete", "--type", "babe", "--public", public_hex_};
    if (force) args.push_back("--force");
    return Keys(args);
  }

  std::string public_hex_;
};

TEST_F(KeysDeleteTest, WithoutHistoryRefusesUnlessForced) {
  support::ProcessResult run = Delete(false);
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("delete refused"), std::string::npos) << run.err;
  EXPECT_EQ(ListKeys().size(), 1u);
  EXPECT_FALSE(fs::exists(HistoryPath())) << "delete must not create a history";

  run = Delete(true);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  const nlohmann::json json = run.Json();
  EXPECT_EQ(json["deleted"].value("public_key", ""), public_hex_);
  EXPECT_EQ(json.value("forced", false), true);
  EXPECT_TRUE(ListKeys().empty());
}

TEST_F(KeysDeleteTest, RecentSignatureRefusesUnlessForced) {
  RecordSignature(HistoryPath(), FromHex(public_hex_), 100, NowMs() - 60 * 1000);
  support::ProcessResult run = Delete(false);
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("delete refused: the key signed at"), std::string::npos) << run.err;
  EXPECT_EQ(ListKeys().size(), 1u);
  run = Delete(true);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.Json().value("history", ""), "recorded");
  EXPECT_TRUE(ListKeys().empty());
}

TEST_F(KeysDeleteTest, SignatureOlderThanTheGuardAllowsDelete) {
  // The guard is 3600 s; the newest record is two hours old.
  RecordSignature(HistoryPath(), FromHex(public_hex_), 100, NowMs() - 7200 * 1000);
  const support::ProcessResult run = Delete(false);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  const nlohmann::json json = run.Json();
  EXPECT_EQ(json.value("history", ""), "recorded");
  EXPECT_EQ(json.value("forced", true), false);
  EXPECT_TRUE(IsIso8601Utc(json.value("last_signed_at", ""))) << json.dump();
  EXPECT_TRUE(ListKeys().empty());
}

TEST_F(KeysDeleteTest, NewestRecordDecidesAndOtherKeysDoNotCount) {
  std::vector<uint8_t> other = FromHex(public_hex_);
  other[31] ^= 1;
  RecordSignature(HistoryPath(), other, 100, NowMs());
  support::ProcessResult run = Delete(false);
  ASSERT_EQ(run.exit_code, 0) << "another key's signature must not block: " << run.Describe();
  EXPECT_EQ(run.Json().value("history", ""), "no record");

  run = Keys({"generate", "--type", "babe"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  public_hex_ = run.Json().value("public_key", "");
  RecordSignature(HistoryPath(), FromHex(public_hex_), 1, NowMs() - 9000 * 1000);
  RecordSignature(HistoryPath(), FromHex(public_hex_), 2, NowMs() - 10 * 1000);
  run = Delete(false);
  EXPECT_EQ(run.exit_code, 2) << "the newest record is recent: " << run.Describe();
}

TEST_F(KeysDeleteTest, HistoryInUseByAnotherProcessRefusesUnlessForced) {
  RecordSignature(HistoryPath(), FromHex(public_hex_), 100, NowMs() - 7200 * 1000);
  // Holding the store open takes RocksDB's LOCK, as a running signerd would.
  auto held = slashing::OpenHistory(HistoryPath(), GenesisBytes());
  ASSERT_TRUE(held.ok()) << held.status().message();
  support::ProcessResult run = Delete(false);
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("cannot tell"), std::string::npos) << run.err;
  EXPECT_EQ(ListKeys().size(), 1u);
  run = Delete(true);
  EXPECT_EQ(run.exit_code, 0) << run.Describe();
}

TEST_F(KeysDeleteTest, ADisabledKeyIsDeletedUnderTheSameGuard) {
  RecordSignature(HistoryPath(), FromHex(public_hex_), 100, NowMs() - 60 * 1000);
  ASSERT_EQ(Keys({"disable", "--type", "babe", "--public", public_hex_}).exit_code, 0);
  support::ProcessResult run = Delete(false);
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("delete refused: the key signed at"), std::string::npos) << run.err;
  EXPECT_EQ(ListKeys().size(), 1u);
  run = Delete(true);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.Json()["deleted"].value("disabled", false), true);
  EXPECT_TRUE(ListKeys().empty());
}

TEST_F(KeysDeleteTest, UnknownKeyIsAnError) {
  std::string other = public_hex_;
  other[2] = other[2] == '0' ? '1' : '0';
  support::ProcessResult run = Keys({"delete", "--type", "babe", "--public", other, "--force"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("no babe key"), std::string::npos) << run.err;
  run = Keys({"delete", "--type", "gran", "--public", public_hex_, "--force"});
  EXPECT_EQ(run.exit_code, 2) << "the key type is part of the identity: " << run.Describe();
  run = Keys({"delete", "--type", "babe", "--public", "0xnothex", "--force"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_EQ(ListKeys().size(), 1u);
}

// ----- import from a Substrate file keystore -----

// Key files as Substrate's LocalKeystore writes them: name = hex(key type) + hex(public key),
// content = the SURI as a JSON string. "babe" = 62616265, "gran" = 6772616e, "beef" = 62656566.
class KeysKeystoreTest : public KeysCliTest {
 protected:
  void SetUp() override {
    KeysCliTest::SetUp();
    fs::create_directory(dir_ / "keystore");
  }
  void AddFile(const std::string& name, const std::string& content) {
    WritePrivateFile(dir_ / "keystore" / name, content);
  }
  std::string KeystorePath() const { return (dir_ / "keystore").string(); }
};

TEST_F(KeysKeystoreTest, ImportsEveryKeyFileAndChecksItsName) {
  AddFile(std::string("62616265") + kAliceSr25519.substr(2), "\"//Alice\"");
  AddFile(std::string("6772616e") + kAliceEd25519.substr(2), "\"\\/\\/Alice\"\n");
  AddFile(std::string("62656566") + kAliceEcdsa.substr(2), "\"//Alice\"");
  // "acco" (6163636f) has no fixed scheme: the SURI's ed25519 key is the one that matches the name.
  AddFile(std::string("6163636f") + kAliceEd25519.substr(2), "\"//Alice\"");
  AddFile("README", "not a key");
  support::ProcessResult run = Keys({"import", "--keystore-dir", KeystorePath()});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  nlohmann::json json = run.Json();
  ASSERT_EQ(json["imported"].size(), 4u) << run.out;
  std::vector<std::pair<std::string, std::string>> got;
  for (const nlohmann::json& key : json["imported"]) {
    got.emplace_back(key.value("key_type", ""), key.value("public_key", ""));
    EXPECT_EQ(key.value("generated_in_custody", true), false);
  }
  std::sort(got.begin(), got.end());
  const std::vector<std::pair<std::string, std::string>> expected = {{"acco", kAliceEd25519},
                                                                     {"babe", kAliceSr25519},
                                                                     {"beef", kAliceEcdsa},
                                                                     {"gran", kAliceEd25519}};
  EXPECT_EQ(got, expected);
  for (const nlohmann::json& key : json["imported"]) {
    if (key.value("key_type", "") == "acco") {
      EXPECT_EQ(key.value("scheme", ""), "ed25519");
    }
  }
  for (const nlohmann::json& key : json["imported"]) {
    // acco and gran hold one ed25519 public key, so each names the other.
    const std::string key_type = key.value("key_type", "");
    const nlohmann::json expected_roles = key_type == "acco"   ? nlohmann::json::array({"gran"})
                                          : key_type == "gran" ? nlohmann::json::array({"acco"})
                                                               : nlohmann::json::array();
    EXPECT_EQ(key["also_held_as"], expected_roles) << key.dump();
  }
  EXPECT_EQ(json["skipped_files"], nlohmann::json::array({"README"}));
  EXPECT_EQ(ListKeys().size(), 4u);

  // Importing again finds them all present.
  run = Keys({"import", "--keystore-dir", KeystorePath()});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.Json()["imported"].size(), 0u);
  EXPECT_EQ(run.Json()["already_present"].size(), 4u);
}

TEST_F(KeysKeystoreTest, AFileWhoseSuriDoesNotMatchItsNameImportsNothing) {
  AddFile(std::string("62616265") + kAliceSr25519.substr(2), "\"//Alice\"");
  // Alice's ed25519 key under her sr25519 public key name: a corrupt or tampered keystore.
  AddFile(std::string("6772616e") + kAliceSr25519.substr(2), "\"//Alice\"");
  support::ProcessResult run = Keys({"import", "--keystore-dir", KeystorePath()});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("does not give the public key in its name"), std::string::npos) << run.err;
  EXPECT_TRUE(ListKeys().empty());

  fs::remove(dir_ / "keystore" / (std::string("6772616e") + kAliceSr25519.substr(2)));
  AddFile(std::string("62616265") + kAliceSr25519.substr(2), "//SecretJunction not json");
  run = Keys({"import", "--keystore-dir", KeystorePath()});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("not one JSON string"), std::string::npos) << run.err;
  EXPECT_EQ(all_output_.find("SecretJunction"), std::string::npos);

  run = Keys({"import", "--keystore-dir", KeystorePath(), "--type", "babe"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  run = Keys({"import", "--keystore-dir", (dir_ / "missing").string()});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_TRUE(ListKeys().empty());
}

TEST_F(KeysKeystoreTest, OneKeyNamedTwiceInDifferentHexCaseImportsNothing) {
  const std::string lower = kAliceSr25519.substr(2);
  std::string upper = lower;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  ASSERT_NE(upper, lower);
  AddFile("62616265" + lower, "\"//Alice\"");
  AddFile("62616265" + upper, "\"//Alice\"");
  const support::ProcessResult run = Keys({"import", "--keystore-dir", KeystorePath()});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("name the same key; nothing was imported"), std::string::npos) << run.err;
  EXPECT_TRUE(ListKeys().empty());
}

TEST_F(KeysKeystoreTest, AKeyTypeTheTokenCannotHoldImportsNothing) {
  AddFile(std::string("62616265") + kAliceSr25519.substr(2), "\"//Alice\"");
  // Control bytes as the key type: hex decodes them, but no token label can carry them, so the
  // key would be stored and then missing from every listing, backup and delete.
  const std::string unreadable = "0a0b0c0d" + kAliceSr25519.substr(2);
  AddFile(unreadable, "\"//Alice\"");
  const support::ProcessResult run = Keys({"import", "--keystore-dir", KeystorePath()});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find(unreadable), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("key type"), std::string::npos) << run.err;
  EXPECT_TRUE(ListKeys().empty());
}

// ----- import from a polkadot-js export -----

// The fixture's exports and public keys come from @polkadot/keyring (see its "source" field).
nlohmann::json PolkadotJsFixture() {
  nlohmann::json fixture =
      nlohmann::json::parse(ReadFile(support::Location("polkadot-js-fixture")), nullptr, false);
  EXPECT_TRUE(fixture.is_object() && fixture["exports"].size() == 3u);
  return fixture;
}

TEST_F(KeysCliTest, ImportsPolkadotJsExportsOfEachScheme) {
  const std::map<std::string, std::string> type_for_scheme = {
      {"sr25519", "babe"}, {"ed25519", "gran"}, {"ecdsa", "beef"}};
  const nlohmann::json fixture = PolkadotJsFixture();
  for (const nlohmann::json& entry : fixture["exports"]) {
    const std::string scheme = entry.value("type", "");
    SCOPED_TRACE(scheme);
    WritePrivateFile(dir_ / "export.json", entry["json"].dump());
    WritePrivateFile(dir_ / "export.pass", entry.value("password", "") + "\n");
    const support::ProcessResult run =
        Keys({"import", "--type", type_for_scheme.at(scheme), "--polkadot-js",
              (dir_ / "export.json").string(), "--password-file", (dir_ / "export.pass").string()});
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
    const nlohmann::json key = run.Json();
    EXPECT_EQ(key.value("scheme", ""), scheme);
    EXPECT_EQ(key.value("public_key", ""), entry.value("public_key", ""));
    EXPECT_EQ(key.value("ss58", ""), entry.value("address", ""));
    EXPECT_EQ(key.value("generated_in_custody", true), false);
    EXPECT_EQ(all_output_.find(entry.value("password", "")), std::string::npos);
  }
  EXPECT_EQ(ListKeys().size(), 3u);
}

TEST_F(KeysCliTest, PolkadotJsWrongPasswordTamperingAndWrongTypeAreRefused) {
  const nlohmann::json entry = PolkadotJsFixture()["exports"][0];
  ASSERT_EQ(entry.value("type", ""), "sr25519");
  const std::string export_path = (dir_ / "export.json").string();
  const std::string pass_path = (dir_ / "export.pass").string();
  const auto perms = fs::perms::owner_read | fs::perms::owner_write;
  WritePrivateFile(export_path, entry["json"].dump());

  WritePrivateFile(pass_path, "not the password");
  support::ProcessResult run = Keys(
      {"import", "--type", "babe", "--polkadot-js", export_path, "--password-file", pass_path});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("wrong password"), std::string::npos) << run.err;

  WritePrivateFile(pass_path, entry.value("password", ""));
  nlohmann::json tampered = entry["json"];
  std::string encoded = tampered.value("encoded", "");
  encoded[100] = encoded[100] == 'A' ? 'B' : 'A';
  tampered["encoded"] = encoded;
  WritePrivateFile(export_path, tampered.dump());
  run = Keys(
      {"import", "--type", "babe", "--polkadot-js", export_path, "--password-file", pass_path});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();

  // The right export under a key type of another scheme, and a mismatching address.
  WritePrivateFile(export_path, entry["json"].dump());
  run = Keys(
      {"import", "--type", "gran", "--polkadot-js", export_path, "--password-file", pass_path});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  nlohmann::json other_address = entry["json"];
  other_address["address"] = kAliceSr25519Ss58;
  WritePrivateFile(export_path, other_address.dump());
  run = Keys(
      {"import", "--type", "babe", "--polkadot-js", export_path, "--password-file", pass_path});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("address"), std::string::npos) << run.err;

  // The password file follows the PIN file's rules.
  WritePrivateFile(export_path, entry["json"].dump());
  fs::permissions(pass_path, perms | fs::perms::others_read);
  run = Keys(
      {"import", "--type", "babe", "--polkadot-js", export_path, "--password-file", pass_path});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_TRUE(ListKeys().empty());
  EXPECT_EQ(all_output_.find(entry.value("password", "")), std::string::npos);
}

// ----- backup and restore -----

class KeysBackupCliTest : public KeysCliTest {
 protected:
  void SetUp() override {
    KeysCliTest::SetUp();
    WritePrivateFile(dir_ / "backup.pass", kBackupPassphrase);
  }

  // MakeSecondToken initialises another token in the same SoftHSM2 directory and points the
  // configuration at it, as a second signer restoring the first one's keys would.
  void SwitchToSecondToken() {
    const base::Status token = hsm_->InitToken("keys-test-2", kPin, kSoPin);
    ASSERT_TRUE(token.ok()) << token.message();
    std::string config = ReadFile(dir_ / "config.json");
    const std::string label = R"("token_label": "keys-test")";
    config.replace(config.find(label), label.size(), R"("token_label": "keys-test-2")");
    WritePrivateFile(dir_ / "config.json", config);
  }

  std::string BackupPath() const { return (dir_ / "keys.backup").string(); }
  std::string PassPath() const { return (dir_ / "backup.pass").string(); }

  static constexpr char kBackupPassphrase[] = "a long backup passphrase 7";
};

TEST_F(KeysBackupCliTest, Sr25519KeysMoveToAnotherTokenAndNativeKeysAreOnlyNamed) {
  ASSERT_EQ(Keys({"import", "--type", "babe", "--suri", "//Alice"}).exit_code, 0);
  support::ProcessResult run = Keys({"generate", "--type", "para"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  const std::string para_public = run.Json().value("public_key", "");
  ASSERT_EQ(Keys({"generate", "--type", "gran"}).exit_code, 0);
  ASSERT_EQ(Keys({"import", "--type", "beef", "--suri", "//Alice"}).exit_code, 0);

  run = Keys({"backup", "--out", BackupPath(), "--passphrase-file", PassPath()});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  nlohmann::json json = run.Json();
  ASSERT_EQ(json["included"].size(), 2u) << run.out;
  ASSERT_EQ(json["identity_only"].size(), 2u) << run.out;
  for (const nlohmann::json& key : json["included"]) {
    EXPECT_EQ(key.value("scheme", ""), "sr25519");
  }
  for (const nlohmann::json& key : json["identity_only"]) {
    EXPECT_NE(key.value("scheme", ""), "sr25519");
  }
  EXPECT_EQ(fs::status(BackupPath()).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  // The identities are inside the encryption too: the file does not even name Alice's key.
  const std::string file = ReadFile(BackupPath());
  const std::vector<uint8_t> alice = FromHex(kAliceSr25519);
  EXPECT_EQ(file.find(std::string(alice.begin(), alice.end())), std::string::npos);
  EXPECT_EQ(file.find(kAliceSr25519.substr(2)), std::string::npos);

  // An existing file is never overwritten.
  run = Keys({"backup", "--out", BackupPath(), "--passphrase-file", PassPath()});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_EQ(ReadFile(BackupPath()), file);

  SwitchToSecondToken();
  ASSERT_TRUE(ListKeys().empty());
  run = Keys({"restore", "--in", BackupPath(), "--passphrase-file", PassPath()});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  json = run.Json();
  ASSERT_EQ(json["restored"].size(), 2u) << run.out;
  EXPECT_EQ(json["already_present"].size(), 0u);
  ASSERT_EQ(json["not_restored"].size(), 2u);
  for (const nlohmann::json& key : json["not_restored"]) {
    EXPECT_NE(key.value("reason", "").find("non-extractable"), std::string::npos);
  }
  const nlohmann::json listed = ListKeys();
  ASSERT_EQ(listed.size(), 2u);
  std::vector<std::string> publics;
  for (const nlohmann::json& key : listed) {
    EXPECT_EQ(key.value("custody", ""), "hsm-wrapped");
    publics.push_back(key.value("public_key", ""));
  }
  std::sort(publics.begin(), publics.end());
  std::vector<std::string> expected = {kAliceSr25519, para_public};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(publics, expected);

  // Restoring again changes nothing.
  run = Keys({"restore", "--in", BackupPath(), "--passphrase-file", PassPath()});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.Json()["restored"].size(), 0u);
  EXPECT_EQ(run.Json()["already_present"].size(), 2u);
  EXPECT_EQ(ListKeys().size(), 2u);
  EXPECT_EQ(all_output_.find(kBackupPassphrase), std::string::npos);

  // Alice's sr25519 secret, computed by keymgr here only to search for it: it is in no output and
  // not in the backup file, raw or as hex, whole or either half.
  auto alice_pair = keymgr::KeypairFromSuri(base::Scheme::kSr25519, "//Alice");
  ASSERT_TRUE(alice_pair.ok());
  const std::span<const uint8_t> secret = alice_pair->sr25519()->secret();
  for (std::span<const uint8_t> piece : {secret.first(32), secret.last(32)}) {
    const std::string raw(piece.begin(), piece.end());
    const std::string hex = base::HexEncode(piece);
    EXPECT_EQ(file.find(raw), std::string::npos);
    EXPECT_EQ(file.find(hex), std::string::npos);
    EXPECT_EQ(all_output_.find(hex), std::string::npos);
  }
}

TEST_F(KeysBackupCliTest, ADisabledKeyIsBackedUpAndRestoredDisabled) {
  ASSERT_EQ(Keys({"import", "--type", "babe", "--suri", "//Alice"}).exit_code, 0);
  ASSERT_EQ(Keys({"generate", "--type", "para"}).exit_code, 0);
  ASSERT_EQ(Keys({"disable", "--type", "babe", "--public", kAliceSr25519}).exit_code, 0);

  support::ProcessResult run =
      Keys({"backup", "--out", BackupPath(), "--passphrase-file", PassPath()});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  ASSERT_EQ(run.Json()["included"].size(), 2u) << run.out;
  // Json() returns a temporary: keep it alive for the loop.
  const nlohmann::json included = run.Json()["included"];
  for (const nlohmann::json& key : included) {
    EXPECT_EQ(key.value("disabled", false), key.value("public_key", "") == kAliceSr25519);
  }

  SwitchToSecondToken();
  run = Keys({"restore", "--in", BackupPath(), "--passphrase-file", PassPath()});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  ASSERT_EQ(run.Json()["restored"].size(), 2u) << run.out;
  // Json() returns a temporary: keep it alive for the loop.
  const nlohmann::json restored = run.Json()["restored"];
  for (const nlohmann::json& key : restored) {
    EXPECT_EQ(key.value("disabled", false), key.value("public_key", "") == kAliceSr25519);
  }
  const nlohmann::json listed = ListKeys();
  ASSERT_EQ(listed.size(), 2u);
  for (const nlohmann::json& key : listed) {
    EXPECT_EQ(key.value("disabled", false), key.value("public_key", "") == kAliceSr25519);
  }
  run = Keys({"enable", "--type", "babe", "--public", kAliceSr25519});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.Json().value("changed", false), true);
}

TEST_F(KeysBackupCliTest, WrongPassphraseAndTamperedFilesAreRefused) {
  ASSERT_EQ(Keys({"generate", "--type", "babe"}).exit_code, 0);
  ASSERT_EQ(Keys({"backup", "--out", BackupPath(), "--passphrase-file", PassPath()}).exit_code, 0);
  SwitchToSecondToken();

  WritePrivateFile(dir_ / "wrong.pass", "another long passphrase");
  support::ProcessResult run =
      Keys({"restore", "--in", BackupPath(), "--passphrase-file", (dir_ / "wrong.pass").string()});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("wrong passphrase or a modified file"), std::string::npos) << run.err;

  std::string bytes = ReadFile(BackupPath());
  for (size_t at : {size_t{30}, size_t{50}, bytes.size() / 2, bytes.size() - 1}) {
    std::string tampered = bytes;
    tampered[at] = static_cast<char>(tampered[at] ^ 0x40);
    WritePrivateFile(dir_ / "tampered.backup", tampered);
    run = Keys(
        {"restore", "--in", (dir_ / "tampered.backup").string(), "--passphrase-file", PassPath()});
    EXPECT_EQ(run.exit_code, 2) << at << ": " << run.Describe();
  }
  WritePrivateFile(dir_ / "truncated.backup", bytes.substr(0, bytes.size() - 20));
  run = Keys(
      {"restore", "--in", (dir_ / "truncated.backup").string(), "--passphrase-file", PassPath()});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_TRUE(ListKeys().empty());
}

TEST_F(KeysBackupCliTest, PassphraseFileMustBePrivateAndLongEnough) {
  fs::permissions(dir_ / "backup.pass",
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  support::ProcessResult run =
      Keys({"backup", "--out", BackupPath(), "--passphrase-file", PassPath()});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("0600"), std::string::npos) << run.err;
  WritePrivateFile(dir_ / "backup.pass", "short");
  run = Keys({"backup", "--out", BackupPath(), "--passphrase-file", PassPath()});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_FALSE(fs::exists(BackupPath()));
  EXPECT_EQ(all_output_.find(kBackupPassphrase), std::string::npos);
}

}  // namespace
