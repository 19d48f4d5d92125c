// Tests of Pkcs11Custody on a fresh SoftHSM2 token per test, and of the InMemoryCustody double.
#include "keymgr/pkcs11_custody.h"

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"
#include "keymgr/custody.h"
#include "keymgr/ecdsa.h"
#include "keymgr/ed25519.h"
#include "keymgr/keypair.h"
#include "keymgr/sr25519.h"
#include "pkcs11_module.h"
#include "support/in_memory_custody.h"

// SoftHSM 2.6.1 leaks OpenSSL objects it decodes (an ASN.1 string at every ed25519 C_SignInit).
// ASan's fast unwinder stops inside libcrypto, which has no frame pointers, so those leaks cannot
// be told apart by SoftHSM2's frames. keymgr reaches OpenSSL only through signer/base's hashing,
// which base_test checks with full stacks, so leaks allocated inside libcrypto are ignored here
// and every other leak is still reported (docs/ci.md, "The fast unwinder in the ASan run").
// Unused without ASan; the name is the sanitizer's hook.
// NOLINTNEXTLINE(bugprone-reserved-identifier)
extern "C" const char* __lsan_default_suppressions() { return "leak:libcrypto.so.3\n"; }

extern char** environ;

namespace keymgr {
namespace {

namespace fs = std::filesystem;
using pkcs11::Attr;
using pkcs11::AttrBytes;
using pkcs11::AttrOf;

constexpr char kTokenLabel[] = "signer-test";
constexpr char kUserPin[] = "user-pin-1234";
constexpr char kSoPin[] = "so-pin-5678";
constexpr int64_t kFixedTime = 1700000000;

int64_t FixedClock() { return kFixedTime; }

std::vector<uint8_t> Hex(std::string_view text) {
  base::Result<std::vector<uint8_t>> bytes = base::HexDecode(text);
  EXPECT_TRUE(bytes.ok()) << text;
  return bytes.ok() ? *bytes : std::vector<uint8_t>();
}

std::vector<uint8_t> Bytes(std::string_view text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

base::KeyTypeId Type(std::string_view name) { return base::MakeKeyTypeId(name).value(); }

base::SecretBytes Pin(std::string_view pin) {
  return base::SecretBytes::CopyFrom(
      std::span(reinterpret_cast<const uint8_t*>(pin.data()), pin.size()));
}

std::vector<uint8_t> IdBytes(const KeyId& id) {
  std::vector<uint8_t> bytes(id.key_type.begin(), id.key_type.end());
  bytes.insert(bytes.end(), id.public_key.begin(), id.public_key.end());
  return bytes;
}

bool Contains(const std::vector<uint8_t>& haystack, std::span<const uint8_t> needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

// MakeTempDir creates a fresh private directory under the system temporary directory.
fs::path MakeTempDir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return fs::path(pattern);
}

// secp256k1 group order / 2 (SEC 2, section 2.4.1): a low-S signature has s <= this.
const std::vector<uint8_t>& HalfOrder() {
  static const std::vector<uint8_t> half =
      Hex("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0");
  return half;
}

bool IsLowS(std::span<const uint8_t> signature) {
  std::span<const uint8_t> s = signature.subspan(32, 32);
  return !std::lexicographical_compare(HalfOrder().begin(), HalfOrder().end(), s.begin(), s.end());
}

// Pkcs11CustodyTest gives every test its own SoftHSM2 configuration and token directory,
// initialises a token through PKCS#11 itself, and removes everything afterwards. The machine's
// SoftHSM configuration is never used.
class Pkcs11CustodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("keymgr-softhsm");
    fs::create_directories(dir_ / "tokens");
    const fs::path conf = dir_ / "softhsm2.conf";
    {
      std::ofstream out(conf);
      out << "directories.tokendir = " << (dir_ / "tokens").string() << "\n"
          << "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n";
    }
    if (const char* previous = std::getenv("SOFTHSM2_CONF")) previous_conf_ = previous;
    // Must be set before C_Initialize: SoftHSM reads it there.
    ASSERT_EQ(setenv("SOFTHSM2_CONF", conf.c_str(), 1), 0);

    base::Result<std::shared_ptr<pkcs11::Module>> module =
        pkcs11::Module::Load(SIGNER_SOFTHSM2_MODULE);
    ASSERT_TRUE(module.ok()) << module.status().message();
    module_ = *module;
    InitToken();
  }

  void TearDown() override {
    module_.reset();
    if (previous_conf_.empty()) {
      unsetenv("SOFTHSM2_CONF");
    } else {
      setenv("SOFTHSM2_CONF", previous_conf_.c_str(), 1);
    }
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  CK_FUNCTION_LIST* fn() { return module_->fn(); }

  void InitToken() {
    CK_ULONG count = 0;
    ASSERT_EQ(fn()->C_GetSlotList(CK_TRUE, nullptr, &count), CKR_OK);
    std::vector<CK_SLOT_ID> slots(count);
    ASSERT_EQ(fn()->C_GetSlotList(CK_TRUE, slots.data(), &count), CKR_OK);
    ASSERT_GE(count, 1u);
    const CK_SLOT_ID slot = slots[0];
    unsigned char label[32];
    std::fill(std::begin(label), std::end(label), ' ');
    std::copy_n(kTokenLabel, sizeof(kTokenLabel) - 1, label);
    ASSERT_EQ(fn()->C_InitToken(slot, reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(kSoPin)),
                                sizeof(kSoPin) - 1, label),
              CKR_OK);
    base::Result<CK_SLOT_ID> token_slot = module_->FindSlotByTokenLabel(kTokenLabel);
    ASSERT_TRUE(token_slot.ok());
    slot_ = *token_slot;
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    ASSERT_EQ(
        fn()->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session),
        CKR_OK);
    ASSERT_EQ(
        fn()->C_Login(session, CKU_SO, reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(kSoPin)),
                      sizeof(kSoPin) - 1),
        CKR_OK);
    ASSERT_EQ(fn()->C_InitPIN(session, reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(kUserPin)),
                              sizeof(kUserPin) - 1),
              CKR_OK);
    ASSERT_EQ(fn()->C_Logout(session), CKR_OK);
    ASSERT_EQ(fn()->C_CloseSession(session), CKR_OK);
  }

  Pkcs11Config Config(std::string_view pin = kUserPin) {
    Pkcs11Config config;
    config.module_path = SIGNER_SOFTHSM2_MODULE;
    config.token_label = kTokenLabel;
    config.pin = Pin(pin);
    config.max_sessions = 3;
    config.clock = &FixedClock;
    return config;
  }

  std::unique_ptr<Pkcs11Custody> OpenCustody() {
    base::Result<std::unique_ptr<Pkcs11Custody>> custody = Pkcs11Custody::Open(Config());
    EXPECT_TRUE(custody.ok()) << custody.status().message();
    return custody.ok() ? std::move(custody).value() : nullptr;
  }

  // InspectionSession is the test's own logged-in session, to read what the HSM holds independently
  // of the code under test.
  CK_SESSION_HANDLE InspectionSession() {
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    EXPECT_EQ(
        fn()->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session),
        CKR_OK);
    const CK_RV rv = fn()->C_Login(session, CKU_USER,
                                   reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(kUserPin)),
                                   sizeof(kUserPin) - 1);
    EXPECT_TRUE(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) << pkcs11::RvName(rv);
    return session;
  }

  std::vector<CK_OBJECT_HANDLE> Find(CK_SESSION_HANDLE session, std::vector<CK_ATTRIBUTE> templ) {
    std::vector<CK_OBJECT_HANDLE> found;
    EXPECT_EQ(fn()->C_FindObjectsInit(session, templ.data(), static_cast<CK_ULONG>(templ.size())),
              CKR_OK);
    CK_OBJECT_HANDLE batch[16];
    CK_ULONG count = 0;
    while (fn()->C_FindObjects(session, batch, 16, &count) == CKR_OK && count > 0) {
      found.insert(found.end(), batch, batch + count);
    }
    EXPECT_EQ(fn()->C_FindObjectsFinal(session), CKR_OK);
    return found;
  }

  CK_OBJECT_HANDLE FindPrivateKey(CK_SESSION_HANDLE session, const KeyId& id) {
    const std::vector<uint8_t> id_bytes = IdBytes(id);
    CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
    std::vector<CK_OBJECT_HANDLE> found =
        Find(session, {AttrOf(CKA_CLASS, klass), AttrBytes(CKA_ID, id_bytes)});
    EXPECT_EQ(found.size(), 1u);
    return found.empty() ? CK_INVALID_HANDLE : found[0];
  }

  bool BoolAttribute(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
    CK_BBOOL value = CK_FALSE;
    CK_ATTRIBUTE attribute = AttrOf(type, value);
    EXPECT_EQ(fn()->C_GetAttributeValue(session, object, &attribute, 1), CKR_OK);
    return value == CK_TRUE;
  }

  // ExpectNonExtractable proves over PKCS#11 that nobody, this test included, can get the private
  // key out.
  void ExpectNonExtractable(const KeyId& id, bool generated) {
    CK_SESSION_HANDLE session = InspectionSession();
    CK_OBJECT_HANDLE key = FindPrivateKey(session, id);
    EXPECT_TRUE(BoolAttribute(session, key, CKA_TOKEN));
    EXPECT_TRUE(BoolAttribute(session, key, CKA_PRIVATE));
    EXPECT_TRUE(BoolAttribute(session, key, CKA_SENSITIVE));
    EXPECT_FALSE(BoolAttribute(session, key, CKA_EXTRACTABLE));
    EXPECT_EQ(BoolAttribute(session, key, CKA_LOCAL), generated);
    EXPECT_EQ(BoolAttribute(session, key, CKA_NEVER_EXTRACTABLE), generated);
    EXPECT_EQ(BoolAttribute(session, key, CKA_ALWAYS_SENSITIVE), generated);

    uint8_t value[256];
    CK_ATTRIBUTE read_value = Attr(CKA_VALUE, value, sizeof(value));
    EXPECT_EQ(fn()->C_GetAttributeValue(session, key, &read_value, 1), CKR_ATTRIBUTE_SENSITIVE);
    EXPECT_EQ(read_value.ulValueLen, CK_UNAVAILABLE_INFORMATION);

    // CKA_EXTRACTABLE may only ever go from true to false; the HSM refuses to loosen it.
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE loosen = AttrOf(CKA_EXTRACTABLE, yes);
    EXPECT_NE(fn()->C_SetAttributeValue(session, key, &loosen, 1), CKR_OK);
    CK_ATTRIBUTE unsensitive = AttrOf(CKA_SENSITIVE, pkcs11::kFalse);
    EXPECT_NE(fn()->C_SetAttributeValue(session, key, &unsensitive, 1), CKR_OK);

    // A wrapping key the attacker controls (extractable, session-only) still cannot wrap the
    // private key out.
    CK_MECHANISM keygen{CKM_AES_KEY_GEN, nullptr, 0};
    CK_ULONG length = 32;
    CK_ATTRIBUTE wrap_templ[] = {AttrOf(CKA_TOKEN, pkcs11::kFalse), AttrOf(CKA_WRAP, pkcs11::kTrue),
                                 AttrOf(CKA_EXTRACTABLE, pkcs11::kTrue),
                                 AttrOf(CKA_VALUE_LEN, length)};
    CK_OBJECT_HANDLE wrapping_key = CK_INVALID_HANDLE;
    ASSERT_EQ(
        fn()->C_GenerateKey(session, &keygen, wrap_templ, std::size(wrap_templ), &wrapping_key),
        CKR_OK);
    for (CK_MECHANISM_TYPE mechanism_type :
         {CKM_AES_KEY_WRAP_PAD, CKM_AES_KEY_WRAP, CKM_AES_CBC_PAD}) {
      uint8_t iv[16] = {};
      CK_MECHANISM mechanism{mechanism_type, mechanism_type == CKM_AES_CBC_PAD ? iv : nullptr,
                             mechanism_type == CKM_AES_CBC_PAD ? sizeof(iv) : 0u};
      uint8_t wrapped[512];
      CK_ULONG wrapped_size = sizeof(wrapped);
      const CK_RV rv =
          fn()->C_WrapKey(session, &mechanism, wrapping_key, key, wrapped, &wrapped_size);
      EXPECT_NE(rv, CKR_OK) << "mechanism " << mechanism_type;
      if (mechanism_type == CKM_AES_KEY_WRAP_PAD) {
        EXPECT_EQ(rv, CKR_KEY_UNEXTRACTABLE) << pkcs11::RvName(rv);
      }
    }
    EXPECT_EQ(fn()->C_DestroyObject(session, wrapping_key), CKR_OK);
    EXPECT_EQ(fn()->C_CloseSession(session), CKR_OK);
  }

  // ReadAllFiles returns the bytes of every regular file under the test's directory (token store
  // and config).
  std::vector<std::vector<uint8_t>> ReadAllFiles() {
    std::vector<std::vector<uint8_t>> contents;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir_)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      contents.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return contents;
  }

  fs::path dir_;
  std::string previous_conf_;
  std::shared_ptr<pkcs11::Module> module_;
  CK_SLOT_ID slot_ = 0;
};

TEST_F(Pkcs11CustodyTest, Ed25519GeneratedInHsmSignsVerifiablyAndCannotBeExtracted) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<KeyInfo> info = custody->Generate(Type("gran"), base::Scheme::kEd25519);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->id.public_key.size(), kEd25519PublicSize);
  EXPECT_EQ(info->protection, KeyProtection::kHsmNonExtractable);
  EXPECT_TRUE(info->generated_in_custody);
  EXPECT_EQ(info->created_at_unix, kFixedTime);

  const std::vector<uint8_t> message = Bytes("grandpa prevote");
  base::Result<std::vector<uint8_t>> signature =
      custody->Sign(info->id, base::Scheme::kEd25519, message);
  ASSERT_TRUE(signature.ok()) << signature.status().message();
  EXPECT_TRUE(Ed25519Verify(info->id.public_key, message, *signature));
  std::vector<uint8_t> tampered = message;
  tampered[0] ^= 1;
  EXPECT_FALSE(Ed25519Verify(info->id.public_key, tampered, *signature));

  ExpectNonExtractable(info->id, /*generated=*/true);
}

TEST_F(Pkcs11CustodyTest, Ed25519ImportedSignsByteIdenticalToSoftwareAndRfc8032) {
  // RFC 8032 section 7.1 TEST 1 (also in the project's spec).
  const std::vector<uint8_t> seed =
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  base::Result<Ed25519Keypair> software = Ed25519Keypair::FromSeed(seed);
  ASSERT_TRUE(software.ok());
  Keypair pair(std::move(software).value());
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<KeyInfo> info = custody->Import(Type("gran"), pair);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->id.public_key,
            Hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
  EXPECT_FALSE(info->generated_in_custody);

  base::Result<std::vector<uint8_t>> empty = custody->Sign(info->id, base::Scheme::kEd25519, {});
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(*empty, Hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590"
                        "a33bacc61e39701c"
                        "f9b46bd25bf5f0595bbe24655141438e7a100b"));
  for (const std::string& text :
       {std::string("a"), std::string(53, '\x01'), std::string(1000, 'z')}) {
    const std::vector<uint8_t> message = Bytes(text);
    base::Result<std::vector<uint8_t>> hsm =
        custody->Sign(info->id, base::Scheme::kEd25519, message);
    ASSERT_TRUE(hsm.ok());
    EXPECT_EQ(*hsm, pair.Sign(message));
  }
  ExpectNonExtractable(info->id, /*generated=*/false);

  // Importing the same key twice is refused rather than creating an ambiguous second copy.
  base::Result<KeyInfo> again = custody->Import(Type("gran"), pair);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), base::StatusCode::kInvalidArgument);
}

TEST_F(Pkcs11CustodyTest, EcdsaGeneratedSignaturesAreLowSWithCorrectRecoveryId) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<KeyInfo> info = custody->Generate(Type("beef"), base::Scheme::kEcdsa);
  ASSERT_TRUE(info.ok()) << info.status().message();
  ASSERT_EQ(info->id.public_key.size(), kEcdsaPublicSize);
  EXPECT_TRUE(info->id.public_key[0] == 0x02 || info->id.public_key[0] == 0x03);

  bool seen_recovery_id[2] = {false, false};
  for (int i = 0; i < 24; ++i) {
    const std::vector<uint8_t> message = Bytes("beefy commitment " + std::to_string(i));
    base::Result<std::vector<uint8_t>> signature =
        custody->Sign(info->id, base::Scheme::kEcdsa, message);
    ASSERT_TRUE(signature.ok()) << signature.status().message();
    ASSERT_EQ(signature->size(), kEcdsaSignatureSize);
    EXPECT_TRUE(EcdsaVerify(info->id.public_key, message, *signature));
    EXPECT_TRUE(IsLowS(*signature));
    ASSERT_LE((*signature)[64], 1);
    seen_recovery_id[(*signature)[64]] = true;

    const base::Hash256 digest = base::Keccak256(message);
    base::Result<EcdsaSignature> prehashed = custody->EcdsaSignPrehashed(info->id, digest);
    ASSERT_TRUE(prehashed.ok()) << prehashed.status().message();
    EXPECT_TRUE(EcdsaVerifyPrehashed(info->id.public_key, digest, *prehashed));
    EXPECT_TRUE(IsLowS(*prehashed));
  }
  // 24 random nonces give both recovery ids with probability 1 - 2^-23: the id is computed, not
  // fixed.
  EXPECT_TRUE(seen_recovery_id[0] && seen_recovery_id[1]);
  ExpectNonExtractable(info->id, /*generated=*/true);
}

TEST_F(Pkcs11CustodyTest, EcdsaImportedKnownSeedAndPrehashLengthChecks) {
  const std::vector<uint8_t> seed =
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  base::Result<EcdsaKeypair> software = EcdsaKeypair::FromSeed(seed);
  ASSERT_TRUE(software.ok());
  Keypair pair(std::move(software).value());
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<KeyInfo> info = custody->Import(Type("beef"), pair);
  ASSERT_TRUE(info.ok()) << info.status().message();
  // Known answer from the spec (sp_core / polkadot-js).
  EXPECT_EQ(info->id.public_key,
            Hex("028db55b05db86c0b1786ca49f095d76344c9e6056b2f02701a7e7f3c20aabfd91"));

  base::Result<std::vector<uint8_t>> signature = custody->Sign(info->id, base::Scheme::kEcdsa, {});
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(EcdsaVerify(info->id.public_key, {}, *signature));
  EXPECT_TRUE(IsLowS(*signature));
  // The spec's RFC 6979 signature of the empty message verifies against the same key; SoftHSM's
  // nonces are random, so its r differs, but the recovery id must be the one that recovers this
  // key.
  const std::vector<uint8_t> reference =
      Hex("3dde91174bd9359027be59a428b8146513df80a2a3c7eda2194f64de04a69ab97b753169e94db6ffd50921a2"
          "668a48b94ca11e3d"
          "32c1ff19cfe88890aa7e8f3c00");
  EXPECT_TRUE(EcdsaVerify(info->id.public_key, {}, reference));

  const base::Hash256 digest = base::Blake2b256({});
  for (size_t size : {0u, 31u, 33u, 64u}) {
    std::vector<uint8_t> wrong(size, 0xab);
    base::Result<EcdsaSignature> refused = custody->EcdsaSignPrehashed(info->id, wrong);
    ASSERT_FALSE(refused.ok()) << size;
    EXPECT_EQ(refused.status().code(), base::StatusCode::kInvalidArgument);
  }
  base::Result<EcdsaSignature> prehashed = custody->EcdsaSignPrehashed(info->id, digest);
  ASSERT_TRUE(prehashed.ok());
  EXPECT_TRUE(EcdsaVerifyPrehashed(info->id.public_key, digest, *prehashed));
  ExpectNonExtractable(info->id, /*generated=*/false);
}

TEST_F(Pkcs11CustodyTest, Sr25519ImportStoresOnlyWrappedSecret) {
  // Known answer from the spec (sp_core tests).
  const std::vector<uint8_t> mini =
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  base::Result<Sr25519Keypair> software = Sr25519Keypair::FromMiniSecret(mini);
  ASSERT_TRUE(software.ok());
  EXPECT_EQ(std::vector<uint8_t>(software->public_key().begin(), software->public_key().end()),
            Hex("44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f"));
  const std::vector<uint8_t> secret(software->secret().begin(), software->secret().end());
  Keypair pair(std::move(software).value());

  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<KeyInfo> info = custody->Import(Type("babe"), pair);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->protection, KeyProtection::kHsmWrapped);
  EXPECT_EQ(info->scheme, base::Scheme::kSr25519);

  const std::vector<uint8_t> message = Bytes("babe seal hash");
  base::Result<std::vector<uint8_t>> signature =
      custody->Sign(info->id, base::Scheme::kSr25519, message);
  ASSERT_TRUE(signature.ok()) << signature.status().message();
  EXPECT_TRUE(Sr25519Verify(info->id.public_key, message, *signature));

  VrfTranscriptData input;
  input.label = "BABE";
  input.items = {{"slot number", std::vector<uint8_t>(8, 7)},
                 {"current epoch", std::vector<uint8_t>(8, 1)},
                 {"chain randomness", std::vector<uint8_t>(32, 9)}};
  base::Result<Sr25519VrfSignature> vrf = custody->VrfSign(info->id, input, std::nullopt);
  ASSERT_TRUE(vrf.ok()) << vrf.status().message();
  EXPECT_TRUE(Sr25519VrfVerify(info->id.public_key, input.Build(), std::nullopt, *vrf));
  base::Result<Sr25519VrfPreOutput> pre_output = custody->VrfPreOutput(info->id, input);
  ASSERT_TRUE(pre_output.ok());
  EXPECT_EQ(*pre_output, vrf->pre_output);
  EXPECT_EQ(*pre_output, pair.sr25519()->VrfPreOutput(input.Build()));

  // What any logged-in PKCS#11 client can read is the wrapped form only, and the wrapping key is
  // sealed.
  CK_SESSION_HANDLE session = InspectionSession();
  CK_OBJECT_CLASS data_class = CKO_DATA;
  std::vector<CK_OBJECT_HANDLE> data_objects = Find(session, {AttrOf(CKA_CLASS, data_class)});
  ASSERT_EQ(data_objects.size(), 1u);
  EXPECT_TRUE(BoolAttribute(session, data_objects[0], CKA_TOKEN));
  EXPECT_TRUE(BoolAttribute(session, data_objects[0], CKA_PRIVATE));
  uint8_t stored[256];
  CK_ATTRIBUTE value = Attr(CKA_VALUE, stored, sizeof(stored));
  ASSERT_EQ(fn()->C_GetAttributeValue(session, data_objects[0], &value, 1), CKR_OK);
  const std::vector<uint8_t> stored_value(stored, stored + value.ulValueLen);
  EXPECT_EQ(stored_value.size(), 72u);  // RFC 5649: 64 bytes + 8-byte integrity block
  EXPECT_FALSE(Contains(stored_value, std::span(secret).first(32)));
  EXPECT_FALSE(Contains(stored_value, std::span(secret).last(32)));
  EXPECT_FALSE(Contains(stored_value, mini));

  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  std::vector<CK_OBJECT_HANDLE> secret_keys = Find(session, {AttrOf(CKA_CLASS, secret_class)});
  ASSERT_EQ(secret_keys.size(),
            1u);  // only the wrapping key; no transient plaintext key object survived
  EXPECT_TRUE(BoolAttribute(session, secret_keys[0], CKA_SENSITIVE));
  EXPECT_FALSE(BoolAttribute(session, secret_keys[0], CKA_EXTRACTABLE));
  EXPECT_FALSE(BoolAttribute(session, secret_keys[0], CKA_ENCRYPT));
  EXPECT_FALSE(BoolAttribute(session, secret_keys[0], CKA_DECRYPT));
  CK_ATTRIBUTE key_value = Attr(CKA_VALUE, stored, sizeof(stored));
  EXPECT_EQ(fn()->C_GetAttributeValue(session, secret_keys[0], &key_value, 1),
            CKR_ATTRIBUTE_SENSITIVE);
  EXPECT_EQ(fn()->C_CloseSession(session), CKR_OK);

  // Nothing on disk holds the secret, either half of it, or the mini-secret it came from.
  custody.reset();
  std::vector<std::vector<uint8_t>> files = ReadAllFiles();
  ASSERT_FALSE(files.empty());
  for (const std::vector<uint8_t>& file : files) {
    EXPECT_FALSE(Contains(file, secret));
    EXPECT_FALSE(Contains(file, std::span(secret).first(32)));
    EXPECT_FALSE(Contains(file, std::span(secret).last(32)));
    EXPECT_FALSE(Contains(file, mini));
  }
}

TEST_F(Pkcs11CustodyTest, Sr25519GeneratedKeySurvivesReopenAndUnload) {
  KeyId id;
  {
    std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
    ASSERT_NE(custody, nullptr);
    base::Result<KeyInfo> info = custody->Generate(Type("para"), base::Scheme::kSr25519);
    ASSERT_TRUE(info.ok()) << info.status().message();
    EXPECT_TRUE(info->generated_in_custody);
    id = info->id;
  }
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<std::vector<KeyInfo>> keys = custody->List();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].id, id);
  EXPECT_EQ((*keys)[0].created_at_unix, kFixedTime);
  EXPECT_TRUE((*keys)[0].generated_in_custody);

  EXPECT_EQ(custody->LoadedSecretCount(), 0u);
  const std::vector<uint8_t> message = Bytes("backing statement");
  base::Result<std::vector<uint8_t>> first = custody->Sign(id, base::Scheme::kSr25519, message);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(Sr25519Verify(id.public_key, message, *first));
  EXPECT_EQ(custody->LoadedSecretCount(), 1u);
  custody->UnloadSecrets();
  EXPECT_EQ(custody->LoadedSecretCount(), 0u);
  base::Result<std::vector<uint8_t>> second = custody->Sign(id, base::Scheme::kSr25519, message);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(Sr25519Verify(id.public_key, message, *second));
}

TEST_F(Pkcs11CustodyTest, ExportForBackupGivesSr25519SecretsOnly) {
  // The spec's sp_core mini-secret: the export must be exactly the secret that was imported.
  base::Result<Sr25519Keypair> software = Sr25519Keypair::FromMiniSecret(
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(software.ok());
  const std::vector<uint8_t> secret(software->secret().begin(), software->secret().end());
  Keypair pair(std::move(software).value());
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<KeyInfo> imported = custody->Import(Type("babe"), pair);
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  base::Result<base::SecretBytes> exported = custody->ExportSr25519SecretForBackup(imported->id);
  ASSERT_TRUE(exported.ok()) << exported.status().message();
  EXPECT_TRUE(exported->Equals(secret));

  // A generated key exports a secret that rebuilds its public key.
  base::Result<KeyInfo> generated = custody->Generate(Type("para"), base::Scheme::kSr25519);
  ASSERT_TRUE(generated.ok());
  base::Result<base::SecretBytes> generated_secret =
      custody->ExportSr25519SecretForBackup(generated->id);
  ASSERT_TRUE(generated_secret.ok()) << generated_secret.status().message();
  base::Result<Sr25519Keypair> rebuilt = Sr25519Keypair::FromSecret(generated_secret->span());
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(std::vector<uint8_t>(rebuilt->public_key().begin(), rebuilt->public_key().end()),
            generated->id.public_key);

  // Non-extractable keys have no export, whatever identity is asked for.
  for (auto [type, scheme] :
       {std::pair{"gran", base::Scheme::kEd25519}, std::pair{"beef", base::Scheme::kEcdsa}}) {
    base::Result<KeyInfo> native = custody->Generate(Type(type), scheme);
    ASSERT_TRUE(native.ok());
    base::Result<base::SecretBytes> refused = custody->ExportSr25519SecretForBackup(native->id);
    ASSERT_FALSE(refused.ok()) << type;
    EXPECT_EQ(refused.status().code(), base::StatusCode::kNotFound) << type;
  }
  // The one-pass export gives the same secrets for exactly the sr25519 keys.
  base::Result<std::vector<std::pair<KeyId, base::SecretBytes>>> all =
      custody->ExportAllSr25519SecretsForBackup();
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 2u);
  for (const auto& [id, exported_secret] : *all) {
    if (id == imported->id) {
      EXPECT_TRUE(exported_secret.Equals(secret));
    } else {
      EXPECT_EQ(id, generated->id);
      EXPECT_TRUE(exported_secret.Equals(generated_secret->span()));
    }
  }
  // The key type is part of the identity, and a deleted key is gone.
  base::Result<base::SecretBytes> wrong_type =
      custody->ExportSr25519SecretForBackup(KeyId{Type("audi"), imported->id.public_key});
  EXPECT_EQ(wrong_type.status().code(), base::StatusCode::kNotFound);
  ASSERT_TRUE(custody->Delete(imported->id).ok());
  EXPECT_EQ(custody->ExportSr25519SecretForBackup(imported->id).status().code(),
            base::StatusCode::kNotFound);
}

TEST_F(Pkcs11CustodyTest, ListAndDeleteEveryScheme) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  std::vector<KeyInfo> made;
  for (auto [type, scheme] :
       {std::pair{"gran", base::Scheme::kEd25519}, std::pair{"beef", base::Scheme::kEcdsa},
        std::pair{"babe", base::Scheme::kSr25519}, std::pair{"audi", base::Scheme::kSr25519},
        std::pair{"acco", base::Scheme::kEd25519}}) {
    base::Result<KeyInfo> info = custody->Generate(Type(type), scheme);
    ASSERT_TRUE(info.ok()) << type << ": " << info.status().message();
    made.push_back(*info);
  }
  base::Result<std::vector<KeyInfo>> listed = custody->List();
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), made.size());
  for (const KeyInfo& info : made) {
    auto it = std::find_if(listed->begin(), listed->end(),
                           [&](const KeyInfo& k) { return k.id == info.id; });
    ASSERT_NE(it, listed->end());
    EXPECT_EQ(it->scheme, info.scheme);
    EXPECT_EQ(it->protection, info.scheme == base::Scheme::kSr25519
                                  ? KeyProtection::kHsmWrapped
                                  : KeyProtection::kHsmNonExtractable);
    EXPECT_EQ(it->created_at_unix, kFixedTime);
    EXPECT_TRUE(it->generated_in_custody);
  }

  CK_SESSION_HANDLE session = InspectionSession();
  for (const KeyInfo& info : made) {
    ASSERT_TRUE(custody->Delete(info.id).ok());
    EXPECT_EQ(custody->Delete(info.id).code(), base::StatusCode::kNotFound);
    base::Result<std::vector<uint8_t>> signature = custody->Sign(info.id, info.scheme, Bytes("x"));
    ASSERT_FALSE(signature.ok());
    EXPECT_EQ(signature.status().code(), base::StatusCode::kNotFound);
    const std::vector<uint8_t> id_bytes = IdBytes(info.id);
    EXPECT_TRUE(Find(session, {AttrBytes(CKA_ID, id_bytes)}).empty());
  }
  CK_OBJECT_CLASS data_class = CKO_DATA;
  EXPECT_TRUE(Find(session, {AttrOf(CKA_CLASS, data_class)}).empty());
  EXPECT_EQ(fn()->C_CloseSession(session), CKR_OK);
  base::Result<std::vector<KeyInfo>> after = custody->List();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
}

TEST_F(Pkcs11CustodyTest, MissingKeysWrongSchemesAndBadKeyTypes) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<KeyInfo> gran = custody->Generate(Type("gran"), base::Scheme::kEd25519);
  ASSERT_TRUE(gran.ok());

  const KeyId unknown_ed{Type("gran"), std::vector<uint8_t>(32, 0x11)};
  const KeyId unknown_ecdsa{Type("beef"), std::vector<uint8_t>(33, 0x02)};
  const KeyId unknown_sr{Type("babe"), std::vector<uint8_t>(32, 0x22)};
  EXPECT_EQ(custody->Sign(unknown_ed, base::Scheme::kEd25519, Bytes("m")).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(custody->Sign(unknown_ecdsa, base::Scheme::kEcdsa, Bytes("m")).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(custody->Sign(unknown_sr, base::Scheme::kSr25519, Bytes("m")).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(custody->VrfPreOutput(unknown_sr, VrfTranscriptData{"x", {}}).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(custody->EcdsaSignPrehashed(unknown_ecdsa, std::vector<uint8_t>(32)).status().code(),
            base::StatusCode::kNotFound);
  // The key exists, but not as an sr25519 or ecdsa key (Substrate's sign_with with another crypto
  // id).
  EXPECT_EQ(custody->Sign(gran->id, base::Scheme::kSr25519, Bytes("m")).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(
      custody->Sign(KeyId{Type("babe"), gran->id.public_key}, base::Scheme::kEd25519, Bytes("m"))
          .status()
          .code(),
      base::StatusCode::kNotFound);

  EXPECT_EQ(custody->Generate(Type("gran"), base::Scheme::kSr25519).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(custody->Generate(Type("beef"), base::Scheme::kEd25519).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(custody->Generate(Type("babe"), base::Scheme::kEcdsa).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_FALSE(base::MakeKeyTypeId("gra").ok());
  EXPECT_FALSE(base::MakeKeyTypeId("gr:n").ok());
}

TEST_F(Pkcs11CustodyTest, SwappedWrappedObjectFailsClosed) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<KeyInfo> real = custody->Generate(Type("asgn"), base::Scheme::kSr25519);
  ASSERT_TRUE(real.ok());
  // Plant a data object that claims another public key but carries the real key's wrapped secret.
  CK_SESSION_HANDLE session = InspectionSession();
  CK_OBJECT_CLASS data_class = CKO_DATA;
  std::vector<CK_OBJECT_HANDLE> objects = Find(session, {AttrOf(CKA_CLASS, data_class)});
  ASSERT_EQ(objects.size(), 1u);
  uint8_t wrapped[256];
  uint8_t application[256];
  CK_ATTRIBUTE read[] = {Attr(CKA_VALUE, wrapped, sizeof(wrapped)),
                         Attr(CKA_APPLICATION, application, sizeof(application))};
  ASSERT_EQ(fn()->C_GetAttributeValue(session, objects[0], read, 2), CKR_OK);
  const std::vector<uint8_t> other_public(32, 0x5a);
  const std::string label = "asgn:" + base::HexEncode(other_public) + ":1:imported";
  CK_ATTRIBUTE forged[] = {AttrOf(CKA_CLASS, data_class),
                           AttrOf(CKA_TOKEN, pkcs11::kTrue),
                           AttrOf(CKA_PRIVATE, pkcs11::kTrue),
                           Attr(CKA_APPLICATION, application, read[1].ulValueLen),
                           Attr(CKA_LABEL, label.data(), label.size()),
                           Attr(CKA_VALUE, wrapped, read[0].ulValueLen)};
  CK_OBJECT_HANDLE planted = CK_INVALID_HANDLE;
  ASSERT_EQ(fn()->C_CreateObject(session, forged, std::size(forged), &planted), CKR_OK);
  EXPECT_EQ(fn()->C_CloseSession(session), CKR_OK);

  base::Result<std::vector<uint8_t>> signature =
      custody->Sign(KeyId{Type("asgn"), other_public}, base::Scheme::kSr25519, Bytes("approval"));
  ASSERT_FALSE(signature.ok());
  EXPECT_EQ(signature.status().code(), base::StatusCode::kInternal);
  EXPECT_TRUE(custody->Sign(real->id, base::Scheme::kSr25519, Bytes("approval")).ok());
}

TEST_F(Pkcs11CustodyTest, OpenFailures) {
  base::Result<std::unique_ptr<Pkcs11Custody>> wrong_pin =
      Pkcs11Custody::Open(Config("not-the-pin"));
  ASSERT_FALSE(wrong_pin.ok());
  EXPECT_EQ(wrong_pin.status().code(), base::StatusCode::kUnavailable);
  EXPECT_NE(wrong_pin.status().message().find("CKR_PIN_INCORRECT"), std::string::npos);

  Pkcs11Config unknown_token = Config();
  unknown_token.token_label = "no-such-token";
  base::Result<std::unique_ptr<Pkcs11Custody>> no_token =
      Pkcs11Custody::Open(std::move(unknown_token));
  ASSERT_FALSE(no_token.ok());
  EXPECT_EQ(no_token.status().code(), base::StatusCode::kUnavailable);

  for (const char* path : {"/nonexistent/libpkcs11-missing.so", "libm.so.6"}) {
    Pkcs11Config bad_module = Config();
    bad_module.module_path = path;
    base::Result<std::unique_ptr<Pkcs11Custody>> custody =
        Pkcs11Custody::Open(std::move(bad_module));
    ASSERT_FALSE(custody.ok()) << path;
    EXPECT_EQ(custody.status().code(), base::StatusCode::kUnavailable) << path;
  }

  base::Result<std::unique_ptr<Pkcs11Custody>> empty_pin = Pkcs11Custody::Open(Config(""));
  ASSERT_FALSE(empty_pin.ok());

  // The right PIN still works after the failures.
  EXPECT_NE(OpenCustody(), nullptr);
}

TEST_F(Pkcs11CustodyTest, ModuleThatDisappearsFailsClosed) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<KeyInfo> gran = custody->Generate(Type("gran"), base::Scheme::kEd25519);
  base::Result<KeyInfo> babe = custody->Generate(Type("babe"), base::Scheme::kSr25519);
  ASSERT_TRUE(gran.ok() && babe.ok());
  custody->UnloadSecrets();
  // Pull the module out from under the custody, as a crashed HSM client or a removed token would.
  ASSERT_EQ(fn()->C_Finalize(nullptr), CKR_OK);

  base::Result<std::vector<uint8_t>> signature =
      custody->Sign(gran->id, base::Scheme::kEd25519, Bytes("vote"));
  ASSERT_FALSE(signature.ok());
  EXPECT_EQ(signature.status().code(), base::StatusCode::kUnavailable);
  base::Result<std::vector<uint8_t>> sr =
      custody->Sign(babe->id, base::Scheme::kSr25519, Bytes("seal"));
  ASSERT_FALSE(sr.ok());
  EXPECT_EQ(sr.status().code(), base::StatusCode::kUnavailable);
  EXPECT_EQ(custody->List().status().code(), base::StatusCode::kUnavailable);
  EXPECT_EQ(custody->Generate(Type("gran"), base::Scheme::kEd25519).status().code(),
            base::StatusCode::kUnavailable);
}

TEST_F(Pkcs11CustodyTest, ConcurrentSigningUsesOneSessionPerThread) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();  // at most 3 sessions for 6 threads
  ASSERT_NE(custody, nullptr);
  base::Result<KeyInfo> gran = custody->Generate(Type("gran"), base::Scheme::kEd25519);
  base::Result<KeyInfo> beef = custody->Generate(Type("beef"), base::Scheme::kEcdsa);
  ASSERT_TRUE(gran.ok() && beef.ok());
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        // Appended piecewise: GCC 12 -O3 misreads `"t" + std::to_string(t)` (-Wrestrict).
        std::string text = "t";
        text += std::to_string(t);
        text += 'i';
        text += std::to_string(i);
        const std::vector<uint8_t> message = Bytes(text);
        base::Result<std::vector<uint8_t>> ed =
            custody->Sign(gran->id, base::Scheme::kEd25519, message);
        base::Result<std::vector<uint8_t>> ec =
            custody->Sign(beef->id, base::Scheme::kEcdsa, message);
        if (ed.ok() && ec.ok() && Ed25519Verify(gran->id.public_key, message, *ed) &&
            EcdsaVerify(beef->id.public_key, message, *ec)) {
          ++verified;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(verified.load(), 6 * 20);
}

// SoftHSM 2.6.1 fails an object creation with CKR_GENERAL_ERROR when a search in another session of
// the same process reads the half-written object file (the disable-marker refresher searches while
// imports create objects). Custody keeps searches and object changes apart, so imports racing a
// thread that lists the token all the time must all succeed.
// Imports run while another thread lists the token nonstop, through the same custody instance and
// through a second one on the same token (a signer and an operator tool in one process share one
// initialised module, so they race just as two sessions of one pool do).
class ImportWhileSearchingTest : public Pkcs11CustodyTest,
                                 public ::testing::WithParamInterface<bool> {};

TEST_P(ImportWhileSearchingTest, ImportsSucceedWhileAnotherThreadSearchesTheToken) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  std::unique_ptr<Pkcs11Custody> second = GetParam() ? OpenCustody() : nullptr;
  Pkcs11Custody* lister = GetParam() ? second.get() : custody.get();
  ASSERT_NE(lister, nullptr);
  std::atomic<bool> importing{true};
  std::atomic<int> listings{0};
  std::atomic<int> failed_listings{0};
  std::thread searcher([&] {
    while (importing.load()) {
      if (lister->List().ok()) {
        ++listings;
      } else {
        ++failed_listings;
      }
    }
  });
  constexpr int kImports = 24;
  int imported = 0;
  std::string first_failure;
  for (int i = 0; i < kImports; ++i) {
    std::vector<uint8_t> seed(32, static_cast<uint8_t>(i));
    seed[31] = 0x5a;
    base::Result<Ed25519Keypair> pair = Ed25519Keypair::FromSeed(seed);
    ASSERT_TRUE(pair.ok());
    base::Result<KeyInfo> info = custody->Import(Type("gran"), Keypair(std::move(pair).value()));
    if (info.ok()) {
      ++imported;
    } else if (first_failure.empty()) {
      first_failure = info.status().message();
    }
  }
  importing.store(false);
  searcher.join();
  EXPECT_EQ(imported, kImports) << "first failure: " << first_failure;
  EXPECT_EQ(failed_listings.load(), 0);
  EXPECT_GT(listings.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(OneOrTwoInstances, ImportWhileSearchingTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& instances) {
                           return instances.param ? "TwoInstances" : "OneInstance";
                         });

// The signer remembers where each HSM-native private key is; another instance deleting and
// re-importing the key must neither break signing nor let a deleted key sign.
TEST_F(Pkcs11CustodyTest, RememberedKeyHandlesFollowDeleteAndReimportElsewhere) {
  std::unique_ptr<Pkcs11Custody> signer = OpenCustody();
  std::unique_ptr<Pkcs11Custody> admin = OpenCustody();
  ASSERT_NE(signer, nullptr);
  ASSERT_NE(admin, nullptr);
  const std::vector<uint8_t> seed =
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  base::Result<Ed25519Keypair> ed = Ed25519Keypair::FromSeed(seed);
  base::Result<EcdsaKeypair> ec = EcdsaKeypair::FromSeed(seed);
  ASSERT_TRUE(ed.ok() && ec.ok());
  struct Case {
    base::KeyTypeId key_type;
    base::Scheme scheme;
    Keypair pair;
  };
  Case cases[] = {{Type("gran"), base::Scheme::kEd25519, Keypair(std::move(ed).value())},
                  {Type("beef"), base::Scheme::kEcdsa, Keypair(std::move(ec).value())}};
  for (Case& c : cases) {
    SCOPED_TRACE(base::KeyTypeName(c.key_type));
    const std::vector<uint8_t> message = Bytes("remembered handle");
    auto signs = [&](const KeyId& id) {
      base::Result<std::vector<uint8_t>> signature = signer->Sign(id, c.scheme, message);
      if (!signature.ok()) return signature.status();
      const bool verifies = c.scheme == base::Scheme::kEd25519
                                ? Ed25519Verify(id.public_key, message, *signature)
                                : EcdsaVerify(id.public_key, message, *signature);
      return verifies ? base::Status::Ok() : base::Status::Internal("signature does not verify");
    };
    base::Result<KeyInfo> info = admin->Import(c.key_type, c.pair);
    ASSERT_TRUE(info.ok()) << info.status().message();
    ASSERT_TRUE(signs(info->id).ok());  // the signer now remembers the handle
    ASSERT_TRUE(signs(info->id).ok());

    // Deleted elsewhere: the remembered handle must not sign.
    ASSERT_TRUE(admin->Delete(info->id).ok());
    base::Status deleted = signs(info->id);
    EXPECT_EQ(deleted.code(), base::StatusCode::kNotFound) << deleted.message();

    // Re-imported: the new object signs.
    ASSERT_TRUE(admin->Import(c.key_type, c.pair).ok());
    base::Status reimported = signs(info->id);
    EXPECT_TRUE(reimported.ok()) << reimported.message();

    // Deleted and re-imported with no sign in between: the stale handle is noticed and replaced.
    ASSERT_TRUE(admin->Delete(info->id).ok());
    ASSERT_TRUE(admin->Import(c.key_type, c.pair).ok());
    base::Status replaced = signs(info->id);
    EXPECT_TRUE(replaced.ok()) << replaced.message();

    // Deleted through the signer itself, then re-imported there.
    ASSERT_TRUE(signer->Delete(info->id).ok());
    EXPECT_EQ(signs(info->id).code(), base::StatusCode::kNotFound);
    ASSERT_TRUE(signer->Import(c.key_type, c.pair).ok());
    EXPECT_TRUE(signs(info->id).ok());
    ASSERT_TRUE(signer->Delete(info->id).ok());
  }
}

// A listing remembers where every key and the wrapping key are, so a first signature needs no
// search; what it remembers is checked like any other hint: a key deleted or replaced elsewhere
// after the listing never signs with the listed object.
TEST_F(Pkcs11CustodyTest, HandlesLearnedFromAListingAreCheckedBeforeUse) {
  std::unique_ptr<Pkcs11Custody> admin = OpenCustody();
  ASSERT_NE(admin, nullptr);
  base::Result<KeyInfo> gran = admin->Generate(Type("gran"), base::Scheme::kEd25519);
  base::Result<KeyInfo> beef = admin->Generate(Type("beef"), base::Scheme::kEcdsa);
  base::Result<KeyInfo> babe = admin->Generate(Type("babe"), base::Scheme::kSr25519);
  base::Result<KeyInfo> para = admin->Generate(Type("para"), base::Scheme::kSr25519);
  ASSERT_TRUE(gran.ok() && beef.ok() && babe.ok() && para.ok());
  ASSERT_TRUE(admin->Disable(para->id).ok());
  const std::vector<uint8_t> message = Bytes("listed");

  std::unique_ptr<Pkcs11Custody> signer = OpenCustody();
  ASSERT_NE(signer, nullptr);
  base::Result<std::vector<KeyInfo>> all = signer->ListAll();
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 4u);
  for (const KeyInfo& info : *all) EXPECT_EQ(info.disabled, info.id == para->id);
  base::Result<std::vector<KeyInfo>> enabled = signer->List();
  ASSERT_TRUE(enabled.ok());
  EXPECT_EQ(enabled->size(), 3u);

  // Deleted elsewhere after the listing: the listed handles must not sign.
  ASSERT_TRUE(admin->Delete(gran->id).ok());
  ASSERT_TRUE(admin->Delete(babe->id).ok());
  EXPECT_EQ(signer->Sign(gran->id, base::Scheme::kEd25519, message).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(signer->Sign(babe->id, base::Scheme::kSr25519, message).status().code(),
            base::StatusCode::kNotFound);
  // Listed and untouched: signs first time, with what the listing found.
  base::Result<std::vector<uint8_t>> ecdsa = signer->Sign(beef->id, base::Scheme::kEcdsa, message);
  ASSERT_TRUE(ecdsa.ok()) << ecdsa.status().message();
  EXPECT_TRUE(EcdsaVerify(beef->id.public_key, message, *ecdsa));
  // Disabled on the token: refused however it was found.
  EXPECT_EQ(signer->Sign(para->id, base::Scheme::kSr25519, message).status().code(),
            base::StatusCode::kNotFound);

  // Re-imported elsewhere after a fresh listing and a delete: the new object signs.
  ASSERT_TRUE(admin->Enable(para->id).ok());
  ASSERT_TRUE(signer->ListAll().ok());
  base::Result<base::SecretBytes> secret = admin->ExportSr25519SecretForBackup(para->id);
  ASSERT_TRUE(secret.ok());
  base::Result<Sr25519Keypair> pair = Sr25519Keypair::FromSecret(secret->span());
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(admin->Delete(para->id).ok());
  ASSERT_TRUE(admin->Import(Type("para"), Keypair(std::move(pair).value())).ok());
  base::Result<std::vector<uint8_t>> sr = signer->Sign(para->id, base::Scheme::kSr25519, message);
  ASSERT_TRUE(sr.ok()) << sr.status().message();
  EXPECT_TRUE(Sr25519Verify(para->id.public_key, message, *sr));
}

// The unwrapped sr25519 secret is this process's copy of a key another instance (`signerctl keys
// delete` beside signerd) may delete: it must stop signing at the next use, not at the next
// restart, as an HSM-native key does, and its secret must leave memory.
TEST_F(Pkcs11CustodyTest, CachedSr25519SecretStopsAtOnceWhenDeletedElsewhere) {
  std::unique_ptr<Pkcs11Custody> signer = OpenCustody();
  std::unique_ptr<Pkcs11Custody> admin = OpenCustody();
  ASSERT_NE(signer, nullptr);
  ASSERT_NE(admin, nullptr);
  base::Result<Sr25519Keypair> software = Sr25519Keypair::FromMiniSecret(
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(software.ok());
  const Keypair pair(std::move(software).value());
  base::Result<KeyInfo> other = admin->Generate(Type("para"), base::Scheme::kSr25519);
  ASSERT_TRUE(other.ok());
  const std::vector<uint8_t> message = Bytes("babe seal hash");
  const VrfTranscriptData input{"BABE", {{"slot number", Bytes("12345678")}}};
  auto signs = [&](const KeyId& id) {
    base::Result<std::vector<uint8_t>> signature =
        signer->Sign(id, base::Scheme::kSr25519, message);
    if (!signature.ok()) return signature.status();
    return Sr25519Verify(id.public_key, message, *signature)
               ? base::Status::Ok()
               : base::Status::Internal("signature does not verify");
  };

  base::Result<KeyInfo> info = admin->Import(Type("babe"), pair);
  ASSERT_TRUE(info.ok()) << info.status().message();
  const KeyId id = info->id;
  ASSERT_TRUE(signs(id).ok());  // unwrapped and remembered
  ASSERT_TRUE(signs(other->id).ok());
  ASSERT_EQ(signer->LoadedSecretCount(), 2u);

  // Deleted elsewhere: no sign call, VRF or backup export may use the remembered secret.
  ASSERT_TRUE(admin->Delete(id).ok());
  EXPECT_EQ(signs(id).code(), base::StatusCode::kNotFound);
  EXPECT_EQ(signer->LoadedSecretCount(), 1u) << "a deleted key's secret stays in memory";
  EXPECT_EQ(signer->VrfSign(id, input, std::nullopt).status().code(), base::StatusCode::kNotFound);
  EXPECT_EQ(signer->VrfPreOutput(id, input).status().code(), base::StatusCode::kNotFound);
  EXPECT_EQ(signer->ExportSr25519SecretForBackup(id).status().code(), base::StatusCode::kNotFound);
  EXPECT_TRUE(signs(other->id).ok()) << "another key stopped signing";

  // The VRF paths are re-checked too, not only Sign.
  ASSERT_TRUE(admin->Import(Type("babe"), pair).ok());
  ASSERT_TRUE(signer->VrfPreOutput(id, input).ok());
  ASSERT_TRUE(admin->Delete(id).ok());
  EXPECT_EQ(signer->VrfSign(id, input, std::nullopt).status().code(), base::StatusCode::kNotFound);
  ASSERT_TRUE(admin->Import(Type("babe"), pair).ok());
  ASSERT_TRUE(signer->VrfSign(id, input, std::nullopt).ok());
  ASSERT_TRUE(admin->Delete(id).ok());
  EXPECT_EQ(signer->VrfPreOutput(id, input).status().code(), base::StatusCode::kNotFound);

  // Re-imported: the new object signs.
  ASSERT_TRUE(admin->Import(Type("babe"), pair).ok());
  base::Status reimported = signs(id);
  EXPECT_TRUE(reimported.ok()) << reimported.message();

  // Deleted and re-imported with no sign in between: the stale entry is replaced, not trusted.
  ASSERT_TRUE(admin->Delete(id).ok());
  ASSERT_TRUE(admin->Import(Type("babe"), pair).ok());
  base::Status replaced = signs(id);
  EXPECT_TRUE(replaced.ok()) << replaced.message();
  EXPECT_EQ(signer->LoadedSecretCount(), 2u);

  // Deleted through the signer itself.
  ASSERT_TRUE(signer->Delete(id).ok());
  EXPECT_EQ(signs(id).code(), base::StatusCode::kNotFound);
  EXPECT_EQ(signer->LoadedSecretCount(), 1u);
}

// A disable written by another instance stops a remembered sr25519 secret exactly as it stops an
// HSM-native key: at once where the markers are read on every call, otherwise within
// disabled_refresh; the secret is wiped when the disable is seen.
TEST_F(Pkcs11CustodyTest, CachedSr25519SecretHonoursADisableElsewhereLikeEd25519) {
  std::unique_ptr<Pkcs11Custody> admin = OpenCustody();
  ASSERT_NE(admin, nullptr);
  auto open_with_refresh = [&](std::chrono::milliseconds refresh) {
    Pkcs11Config config = Config();
    config.disabled_refresh = refresh;
    base::Result<std::unique_ptr<Pkcs11Custody>> custody = Pkcs11Custody::Open(std::move(config));
    EXPECT_TRUE(custody.ok());
    return custody.ok() ? std::move(custody).value() : nullptr;
  };
  std::unique_ptr<Pkcs11Custody> every_call = open_with_refresh(std::chrono::milliseconds(0));
  std::unique_ptr<Pkcs11Custody> bounded = open_with_refresh(std::chrono::milliseconds(300));
  ASSERT_TRUE(every_call && bounded);
  base::Result<KeyInfo> sr = admin->Generate(Type("babe"), base::Scheme::kSr25519);
  base::Result<KeyInfo> ed = admin->Generate(Type("gran"), base::Scheme::kEd25519);
  ASSERT_TRUE(sr.ok() && ed.ok());
  const std::vector<uint8_t> message = Bytes("m");
  for (Pkcs11Custody* signer : {every_call.get(), bounded.get()}) {
    ASSERT_TRUE(signer->Sign(sr->id, base::Scheme::kSr25519, message).ok());
    ASSERT_TRUE(signer->Sign(ed->id, base::Scheme::kEd25519, message).ok());
    ASSERT_EQ(signer->LoadedSecretCount(), 1u);
  }

  ASSERT_TRUE(admin->Disable(sr->id).ok());
  ASSERT_TRUE(admin->Disable(ed->id).ok());
  EXPECT_EQ(every_call->Sign(sr->id, base::Scheme::kSr25519, message).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(every_call->Sign(ed->id, base::Scheme::kEd25519, message).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(every_call->LoadedSecretCount(), 0u);
  // Past the bound (the background refresher runs every 150 ms here), without any call meanwhile.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(bounded->LoadedSecretCount(), 0u) << "a disabled key's secret stays in memory";
  EXPECT_EQ(bounded->Sign(sr->id, base::Scheme::kSr25519, message).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(bounded->Sign(ed->id, base::Scheme::kEd25519, message).status().code(),
            base::StatusCode::kNotFound);

  ASSERT_TRUE(admin->Enable(sr->id).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_TRUE(bounded->Sign(sr->id, base::Scheme::kSr25519, message).ok());
  EXPECT_TRUE(every_call->Sign(sr->id, base::Scheme::kSr25519, message).ok());
}

// A listing reads each key's attributes in one call; a private key of ours that lost its protection
// must still be reported, not hidden, and a label too long for that call must still be read.
TEST_F(Pkcs11CustodyTest, ListingReportsAnUnprotectedKeyAndReadsLongLabels) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<KeyInfo> kept = custody->Generate(Type("gran"), base::Scheme::kEd25519);
  ASSERT_TRUE(kept.ok());
  // A data object with a 300-byte label under our application is skipped, not an error.
  CK_SESSION_HANDLE session = InspectionSession();
  const std::vector<uint8_t> application = Bytes("polkadot-remote-signer/sr25519-wrapped/v1");
  const std::string long_label(300, 'x');
  CK_OBJECT_CLASS data_class = CKO_DATA;
  CK_ATTRIBUTE data_templ[] = {AttrOf(CKA_CLASS, data_class), AttrOf(CKA_TOKEN, pkcs11::kTrue),
                               AttrOf(CKA_PRIVATE, pkcs11::kTrue),
                               AttrBytes(CKA_APPLICATION, application),
                               Attr(CKA_LABEL, long_label.data(), long_label.size())};
  CK_OBJECT_HANDLE data = CK_INVALID_HANDLE;
  ASSERT_EQ(fn()->C_CreateObject(session, data_templ, std::size(data_templ), &data), CKR_OK);
  base::Result<std::vector<KeyInfo>> listed = custody->ListAll();
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, kept->id);
  EXPECT_TRUE((*listed)[0].generated_in_custody);

  // An extractable ed25519 private key carrying one of our identities.
  base::Result<Ed25519Keypair> pair = Ed25519Keypair::FromSeed(
      Hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
  ASSERT_TRUE(pair.ok());
  const KeyId id{Type("gran"),
                 std::vector<uint8_t>(pair->public_key().begin(), pair->public_key().end())};
  const std::vector<uint8_t> id_bytes = IdBytes(id);
  const std::string label = "gran:" + base::HexEncode(id.public_key) + ":1700000000:imported";
  const uint8_t ed25519_oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_KEY_TYPE key_type = CKK_EC_EDWARDS;
  CK_ATTRIBUTE key_templ[] = {AttrOf(CKA_CLASS, private_class),
                              AttrOf(CKA_KEY_TYPE, key_type),
                              AttrOf(CKA_TOKEN, pkcs11::kTrue),
                              AttrOf(CKA_PRIVATE, pkcs11::kTrue),
                              AttrOf(CKA_SENSITIVE, pkcs11::kFalse),
                              AttrOf(CKA_EXTRACTABLE, pkcs11::kTrue),
                              AttrOf(CKA_SIGN, pkcs11::kTrue),
                              Attr(CKA_EC_PARAMS, ed25519_oid, sizeof(ed25519_oid)),
                              AttrBytes(CKA_VALUE, pair->seed()),
                              AttrBytes(CKA_ID, id_bytes),
                              Attr(CKA_LABEL, label.data(), label.size())};
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  ASSERT_EQ(fn()->C_CreateObject(session, key_templ, std::size(key_templ), &key), CKR_OK);
  listed = custody->ListAll();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.status().code(), base::StatusCode::kInternal);
  EXPECT_NE(listed.status().message().find("is extractable or not sensitive"), std::string::npos)
      << listed.status().message();
  EXPECT_EQ(fn()->C_DestroyObject(session, key), CKR_OK);
  EXPECT_EQ(fn()->C_DestroyObject(session, data), CKR_OK);
  EXPECT_EQ(fn()->C_CloseSession(session), CKR_OK);
}

// Records HSM signing throughput and what the handle check costs next to the search it replaces
// (figures only, never asserted: timings depend on the machine).
TEST_F(Pkcs11CustodyTest, RecordsHsmSigningThroughput) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  // A few unrelated keys, so a search has something to skip as on a real token.
  for (int i = 0; i < 8; ++i)
    ASSERT_TRUE(custody->Generate(Type("babe"), base::Scheme::kSr25519).ok());
  base::Result<KeyInfo> gran = custody->Generate(Type("gran"), base::Scheme::kEd25519);
  base::Result<KeyInfo> beef = custody->Generate(Type("beef"), base::Scheme::kEcdsa);
  ASSERT_TRUE(gran.ok() && beef.ok());
  constexpr int kRounds = 200;
  const std::vector<uint8_t> message = Bytes("throughput");
  auto rate = [&](const KeyId& id, base::Scheme scheme) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRounds; ++i) EXPECT_TRUE(custody->Sign(id, scheme, message).ok());
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    return static_cast<int>(kRounds / took.count());
  };
  RecordProperty("ed25519_signatures_per_second", rate(gran->id, base::Scheme::kEd25519));
  RecordProperty("ecdsa_signatures_per_second", rate(beef->id, base::Scheme::kEcdsa));
  // sr25519 signs in this process from the unwrapped secret; what the HSM adds per signature is the
  // check that the wrapped object still names the key.
  base::Result<KeyInfo> babe = custody->Generate(Type("babe"), base::Scheme::kSr25519);
  ASSERT_TRUE(babe.ok());
  ASSERT_TRUE(custody->Sign(babe->id, base::Scheme::kSr25519, message).ok());  // unwrapped once
  RecordProperty("sr25519_signatures_per_second", rate(babe->id, base::Scheme::kSr25519));

  // What one search for the key costs against one attribute read of its handle.
  const CK_SESSION_HANDLE session = InspectionSession();
  const std::vector<uint8_t> id_bytes = IdBytes(gran->id);
  CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
  std::vector<CK_ATTRIBUTE> templ = {
      {CKA_CLASS, &klass, sizeof(klass)},
      {CKA_ID, const_cast<uint8_t*>(id_bytes.data()), static_cast<CK_ULONG>(id_bytes.size())}};
  const std::vector<CK_OBJECT_HANDLE> found = Find(session, templ);
  ASSERT_EQ(found.size(), 1u);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) (void)Find(session, templ);
  std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
  RecordProperty("search_microseconds", static_cast<int>(took.count() / kRounds));
  std::vector<uint8_t> read_id(id_bytes.size());
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) {
    CK_ATTRIBUTE read[] = {{CKA_ID, read_id.data(), static_cast<CK_ULONG>(read_id.size())}};
    EXPECT_EQ(fn()->C_GetAttributeValue(session, found[0], read, 1), CKR_OK);
  }
  took = std::chrono::steady_clock::now() - start;
  RecordProperty("handle_check_microseconds", static_cast<int>(took.count() / kRounds));
  EXPECT_EQ(fn()->C_CloseSession(session), CKR_OK);
}

// The disable marker: what a security team relies on when it stops a suspected-compromised key.
TEST_F(Pkcs11CustodyTest, DisabledKeySignsNothingIsNotListedAndEnablesAgain) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  std::vector<KeyInfo> keys;
  for (auto [type, scheme] :
       {std::pair{"babe", base::Scheme::kSr25519}, std::pair{"gran", base::Scheme::kEd25519},
        std::pair{"beef", base::Scheme::kEcdsa}}) {
    base::Result<KeyInfo> info = custody->Generate(Type(type), scheme);
    ASSERT_TRUE(info.ok()) << type << ": " << info.status().message();
    keys.push_back(*info);
  }
  base::Result<KeyInfo> other = custody->Generate(Type("para"), base::Scheme::kSr25519);
  ASSERT_TRUE(other.ok());
  const std::vector<uint8_t> message = Bytes("statement");
  const base::Hash256 digest = base::Blake2b256(message);
  const VrfTranscriptData input{"BABE", {{"slot number", Bytes("12345678")}}};
  for (const KeyInfo& info : keys) {
    ASSERT_TRUE(custody->Sign(info.id, info.scheme, message).ok())
        << base::KeyTypeName(info.id.key_type);
  }
  ASSERT_EQ(custody->LoadedSecretCount(), 1u);

  for (const KeyInfo& info : keys) ASSERT_TRUE(custody->Disable(info.id).ok());
  // Disabling twice changes nothing and is not an error.
  EXPECT_TRUE(custody->Disable(keys[0].id).ok());
  EXPECT_EQ(custody->LoadedSecretCount(), 0u) << "a disabled key's secret stays in memory";
  for (const KeyInfo& info : keys) {
    base::Result<std::vector<uint8_t>> signature = custody->Sign(info.id, info.scheme, message);
    ASSERT_FALSE(signature.ok()) << base::KeyTypeName(info.id.key_type);
    EXPECT_EQ(signature.status().code(), base::StatusCode::kNotFound);
  }
  EXPECT_EQ(custody->EcdsaSignPrehashed(keys[2].id, digest).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(custody->VrfSign(keys[0].id, input, std::nullopt).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(custody->VrfPreOutput(keys[0].id, input).status().code(), base::StatusCode::kNotFound);
  EXPECT_EQ(custody->LoadedSecretCount(), 0u);
  // Other keys are untouched.
  EXPECT_TRUE(custody->Sign(other->id, base::Scheme::kSr25519, message).ok());

  base::Result<std::vector<KeyInfo>> listed = custody->List();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, other->id);
  EXPECT_FALSE((*listed)[0].disabled);
  base::Result<std::vector<KeyInfo>> all = custody->ListAll();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  for (const KeyInfo& info : *all) EXPECT_EQ(info.disabled, info.id != other->id);

  // The marker is on the token, where any PKCS#11 tool sees it: a data object that names the key
  // and cannot be modified; the key objects themselves are unchanged.
  CK_SESSION_HANDLE session = InspectionSession();
  const std::vector<uint8_t> application = Bytes("polkadot-remote-signer/disabled/v1");
  const std::string label = "babe:" + base::HexEncode(keys[0].id.public_key);
  CK_OBJECT_CLASS data_class = CKO_DATA;
  std::vector<CK_OBJECT_HANDLE> markers =
      Find(session, {AttrOf(CKA_CLASS, data_class), AttrBytes(CKA_APPLICATION, application),
                     Attr(CKA_LABEL, label.data(), label.size())});
  ASSERT_EQ(markers.size(), 1u);
  EXPECT_TRUE(BoolAttribute(session, markers[0], CKA_TOKEN));
  EXPECT_TRUE(BoolAttribute(session, markers[0], CKA_PRIVATE));
  EXPECT_FALSE(BoolAttribute(session, markers[0], CKA_MODIFIABLE));
  EXPECT_EQ(Find(session, {AttrOf(CKA_CLASS, data_class), AttrBytes(CKA_APPLICATION, application)})
                .size(),
            3u);

  // A new instance (a restarted signer) reads the state from the token.
  custody.reset();
  custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  EXPECT_EQ(custody->Sign(keys[1].id, base::Scheme::kEd25519, message).status().code(),
            base::StatusCode::kNotFound);

  ASSERT_TRUE(custody->Enable(keys[0].id).ok());
  ASSERT_TRUE(custody->Enable(keys[1].id).ok());
  EXPECT_TRUE(custody->Enable(keys[1].id).ok());
  base::Result<std::vector<uint8_t>> again =
      custody->Sign(keys[0].id, base::Scheme::kSr25519, message);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(Sr25519Verify(keys[0].id.public_key, message, *again));
  base::Result<std::vector<uint8_t>> ed =
      custody->Sign(keys[1].id, base::Scheme::kEd25519, message);
  ASSERT_TRUE(ed.ok());
  EXPECT_TRUE(Ed25519Verify(keys[1].id.public_key, message, *ed));
  EXPECT_TRUE(custody->VrfPreOutput(keys[0].id, input).ok());
  listed = custody->List();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 3u);

  // Unknown keys are named as such, in both directions.
  const KeyId unknown{Type("babe"), std::vector<uint8_t>(32, 0x42)};
  EXPECT_EQ(custody->Disable(unknown).code(), base::StatusCode::kNotFound);
  EXPECT_EQ(custody->Enable(unknown).code(), base::StatusCode::kNotFound);
  EXPECT_TRUE(Find(session, {AttrOf(CKA_CLASS, data_class), AttrBytes(CKA_APPLICATION, application),
                             Attr(CKA_LABEL, "babe:", 5)})
                  .empty());

  // Deleting a disabled key takes its marker with it: the same key imported later is enabled.
  ASSERT_TRUE(custody->Delete(keys[2].id).ok());
  EXPECT_EQ(Find(session, {AttrOf(CKA_CLASS, data_class), AttrBytes(CKA_APPLICATION, application)})
                .size(),
            0u);
  EXPECT_EQ(fn()->C_CloseSession(session), CKR_OK);
}

TEST_F(Pkcs11CustodyTest, OtherInstancesHonourADisableWithinTheirRefreshInterval) {
  std::unique_ptr<Pkcs11Custody> operator_view = OpenCustody();
  ASSERT_NE(operator_view, nullptr);
  auto open_with_refresh = [&](std::chrono::milliseconds refresh) {
    Pkcs11Config config = Config();
    config.disabled_refresh = refresh;
    base::Result<std::unique_ptr<Pkcs11Custody>> custody = Pkcs11Custody::Open(std::move(config));
    EXPECT_TRUE(custody.ok());
    return custody.ok() ? std::move(custody).value() : nullptr;
  };
  std::unique_ptr<Pkcs11Custody> every_call = open_with_refresh(std::chrono::milliseconds(0));
  std::unique_ptr<Pkcs11Custody> short_cache = open_with_refresh(std::chrono::milliseconds(300));
  std::unique_ptr<Pkcs11Custody> long_cache = open_with_refresh(std::chrono::hours(1));
  ASSERT_TRUE(every_call && short_cache && long_cache);
  base::Result<KeyInfo> key = operator_view->Generate(Type("babe"), base::Scheme::kSr25519);
  ASSERT_TRUE(key.ok());
  const std::vector<uint8_t> message = Bytes("m");
  for (Pkcs11Custody* signer : {every_call.get(), short_cache.get(), long_cache.get()}) {
    ASSERT_TRUE(signer->Sign(key->id, base::Scheme::kSr25519, message).ok());
  }

  ASSERT_TRUE(operator_view->Disable(key->id).ok());
  EXPECT_EQ(every_call->Sign(key->id, base::Scheme::kSr25519, message).status().code(),
            base::StatusCode::kNotFound);
  // The cache is what keeps the token out of every signature: within its interval an instance
  // still signs, so the interval is the documented bound and not a formality.
  EXPECT_TRUE(long_cache->Sign(key->id, base::Scheme::kSr25519, message).ok());
  // Listing reads the markers, so a signer that lists keys picks the disable up at once.
  base::Result<std::vector<KeyInfo>> listed = long_cache->List();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  EXPECT_EQ(long_cache->Sign(key->id, base::Scheme::kSr25519, message).status().code(),
            base::StatusCode::kNotFound);
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  EXPECT_EQ(short_cache->Sign(key->id, base::Scheme::kSr25519, message).status().code(),
            base::StatusCode::kNotFound);

  ASSERT_TRUE(operator_view->Enable(key->id).ok());
  EXPECT_TRUE(every_call->Sign(key->id, base::Scheme::kSr25519, message).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  EXPECT_TRUE(short_cache->Sign(key->id, base::Scheme::kSr25519, message).ok());
}

// A restore writes a disabled key's marker before the key, so that no reader sees the key
// without it. A running signer trusts the markers it read for its refresh bound; a key whose object
// it finds later may be newer than those markers, so only a read begun after it found the object
// may let it sign. Before this rule a key restored disabled signed for up to the bound (an hour
// here), both on first use and after it replaced a remembered object of the same key.
TEST_F(Pkcs11CustodyTest, AKeyRestoredDisabledElsewhereNeverSignsInARunningSigner) {
  Pkcs11Config config = Config();
  config.disabled_refresh = std::chrono::hours(1);
  base::Result<std::unique_ptr<Pkcs11Custody>> opened = Pkcs11Custody::Open(std::move(config));
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  std::unique_ptr<Pkcs11Custody> signer = std::move(opened).value();
  std::unique_ptr<Pkcs11Custody> admin = OpenCustody();
  ASSERT_NE(admin, nullptr);
  const std::vector<uint8_t> seed =
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  base::Result<Ed25519Keypair> ed = Ed25519Keypair::FromSeed(seed);
  base::Result<EcdsaKeypair> ec = EcdsaKeypair::FromSeed(seed);
  base::Result<Sr25519Keypair> sr = Sr25519Keypair::FromMiniSecret(seed);
  ASSERT_TRUE(ed.ok() && ec.ok() && sr.ok());
  struct Case {
    base::KeyTypeId key_type;
    base::Scheme scheme;
    Keypair pair;
  };
  Case cases[] = {{Type("babe"), base::Scheme::kSr25519, Keypair(std::move(sr).value())},
                  {Type("gran"), base::Scheme::kEd25519, Keypair(std::move(ed).value())},
                  {Type("beef"), base::Scheme::kEcdsa, Keypair(std::move(ec).value())}};
  const std::vector<uint8_t> message = Bytes("restored disabled");
  auto restore_disabled = [&](const Case& c) {
    base::Result<std::unique_ptr<Pkcs11Custody::BulkImport>> bulk = admin->BeginBulkImport();
    EXPECT_TRUE(bulk.ok());
    if (!bulk.ok()) return KeyId{};
    base::Result<KeyInfo> stored = (*bulk)->Import(c.key_type, c.pair, /*disabled=*/true);
    EXPECT_TRUE(stored.ok()) << stored.status().message();
    return stored.ok() ? stored->id : KeyId{};
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(base::KeyTypeName(c.key_type));
    // The signer holds fresh markers (a listing reads them), none of them for this key.
    ASSERT_TRUE(signer->List().ok());
    const KeyId id = restore_disabled(c);
    EXPECT_EQ(signer->Sign(id, c.scheme, message).status().code(), base::StatusCode::kNotFound);
    if (c.scheme == base::Scheme::kSr25519) {
      EXPECT_EQ(signer->VrfPreOutput(id, VrfTranscriptData{}).status().code(),
                base::StatusCode::kNotFound);
    }

    // Enabled, signed with (the signer remembers the object), then deleted and restored
    // disabled again: the new object is newer than the markers the signer holds.
    ASSERT_TRUE(admin->Enable(id).ok());
    ASSERT_TRUE(signer->List().ok());
    ASSERT_TRUE(signer->Sign(id, c.scheme, message).ok());
    ASSERT_TRUE(admin->Delete(id).ok());
    ASSERT_TRUE(signer->List().ok());
    EXPECT_EQ(restore_disabled(c), id);
    EXPECT_EQ(signer->Sign(id, c.scheme, message).status().code(), base::StatusCode::kNotFound);

    // Enabled again, the key signs: the rule costs a marker read, not the key.
    ASSERT_TRUE(admin->Enable(id).ok());
    ASSERT_TRUE(signer->List().ok());
    EXPECT_TRUE(signer->Sign(id, c.scheme, message).ok());
    ASSERT_TRUE(admin->Delete(id).ok());
  }
}

// Runs only as the child of DisableInAnotherProcessStopsSigning, which names the key in the
// environment; as an ordinary test it has nothing to do.
TEST_F(Pkcs11CustodyTest, ChildProcessDisablesTheKeyNamedInItsEnvironment) {
  const char* key_text = std::getenv("KEYMGR_TEST_DISABLE_KEY");
  const char* conf = std::getenv("KEYMGR_TEST_PARENT_SOFTHSM2_CONF");
  if (key_text == nullptr || conf == nullptr) GTEST_SKIP() << "only run by a parent test";
  // This process's SetUp made a token of its own; the key is on the parent's.
  module_.reset();
  ASSERT_EQ(setenv("SOFTHSM2_CONF", conf, 1), 0);
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  const std::string text(key_text);
  const KeyId id{Type(text.substr(0, 4)), Hex(text.substr(5))};
  ASSERT_TRUE(custody->Disable(id).ok());
}

TEST_F(Pkcs11CustodyTest, DisableInAnotherProcessStopsSigning) {
  Pkcs11Config config = Config();
  config.disabled_refresh = std::chrono::milliseconds(200);
  base::Result<std::unique_ptr<Pkcs11Custody>> signer = Pkcs11Custody::Open(std::move(config));
  ASSERT_TRUE(signer.ok());
  base::Result<KeyInfo> key = (*signer)->Generate(Type("babe"), base::Scheme::kSr25519);
  ASSERT_TRUE(key.ok());
  const std::vector<uint8_t> message = Bytes("m");
  ASSERT_TRUE((*signer)->Sign(key->id, base::Scheme::kSr25519, message).ok());

  // The child is this test binary run afresh (exec, not fork: a forked PKCS#11 library must not
  // be used), the way `signerctl keys disable` runs beside signerd.
  std::vector<std::string> args = {
      "/proc/self/exe",
      "--gtest_filter=Pkcs11CustodyTest.ChildProcessDisablesTheKeyNamedInItsEnvironment"};
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) env.emplace_back(*entry);
  env.push_back("KEYMGR_TEST_DISABLE_KEY=babe:" + base::HexEncode(key->id.public_key));
  env.push_back(std::string("KEYMGR_TEST_PARENT_SOFTHSM2_CONF=") + std::getenv("SOFTHSM2_CONF"));
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);
  pid_t child = 0;
  ASSERT_EQ(posix_spawn(&child, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data()), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;

  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  base::Result<std::vector<uint8_t>> refused =
      (*signer)->Sign(key->id, base::Scheme::kSr25519, message);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::StatusCode::kNotFound);
  base::Result<std::vector<KeyInfo>> listed = (*signer)->List();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

// Labels are read back with base::MakeKeyTypeId, so a key stored under a type it refuses would be
// missing from every listing, backup and delete while its secret stayed on the token. Every way in
// refuses such a type before anything reaches the token.
TEST_F(Pkcs11CustodyTest, KeyTypesLabelsCannotCarryAreRefusedBeforeAnythingIsStored) {
  const std::vector<uint8_t> seed =
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto sr = [&] { return Keypair(Sr25519Keypair::FromMiniSecret(seed).value()); };
  auto ed = [&] { return Keypair(Ed25519Keypair::FromSeed(seed).value()); };
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  const size_t files_before = ReadAllFiles().size();
  const base::KeyTypeId control_bytes = {0x0a, 0x0b, 0x0c, 0x0d};
  const base::KeyTypeId with_colon = {'g', 'r', ':', 'n'};
  for (const base::KeyTypeId& key_type : {control_bytes, with_colon}) {
    EXPECT_EQ(custody->Import(key_type, sr()).status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_EQ(custody->Import(key_type, ed()).status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_EQ(custody->Generate(key_type, base::Scheme::kSr25519).status().code(),
              base::StatusCode::kInvalidArgument);
    EXPECT_EQ(custody->Generate(key_type, base::Scheme::kEcdsa).status().code(),
              base::StatusCode::kInvalidArgument);
    base::Result<std::unique_ptr<Pkcs11Custody::BulkImport>> bulk = custody->BeginBulkImport();
    ASSERT_TRUE(bulk.ok()) << bulk.status().message();
    EXPECT_EQ((*bulk)->Import(key_type, sr(), /*disabled=*/true).status().code(),
              base::StatusCode::kInvalidArgument);
    EXPECT_EQ((*bulk)->Import(key_type, ed(), /*disabled=*/false).status().code(),
              base::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(ReadAllFiles().size(), files_before) << "an object reached the token";
  base::Result<std::vector<KeyInfo>> all = custody->ListAll();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(Pkcs11CustodyTest, BulkImportChecksDuplicatesAndKeepsTheDisabledFlag) {
  // Known answers from the spec: the sp_core sr25519 mini-secret and the RFC 8032 ed25519 seed.
  const std::vector<uint8_t> seed =
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto sr = [&] { return Keypair(Sr25519Keypair::FromMiniSecret(seed).value()); };
  auto ed = [&] { return Keypair(Ed25519Keypair::FromSeed(seed).value()); };
  const std::vector<uint8_t> sr_public =
      Hex("44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f");
  const KeyId sr_id{Type("para"), sr_public};
  const KeyId ed_id{Type("gran"),
                    Hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")};
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  ASSERT_TRUE(custody->Import(Type("audi"), sr()).ok());  // on the token before the bulk import
  {
    base::Result<std::unique_ptr<Pkcs11Custody::BulkImport>> bulk = custody->BeginBulkImport();
    ASSERT_TRUE(bulk.ok()) << bulk.status().message();
    base::Result<KeyInfo> stored = (*bulk)->Import(Type("para"), sr(), /*disabled=*/false);
    ASSERT_TRUE(stored.ok()) << stored.status().message();
    EXPECT_EQ(stored->id, sr_id);
    EXPECT_FALSE(stored->generated_in_custody);
    EXPECT_FALSE(stored->disabled);
    base::Result<KeyInfo> disabled = (*bulk)->Import(Type("gran"), ed(), /*disabled=*/true);
    ASSERT_TRUE(disabled.ok()) << disabled.status().message();
    EXPECT_EQ(disabled->id, ed_id);
    EXPECT_TRUE(disabled->disabled);
    // Duplicates of a key stored in this bulk import and of one stored before it are refused.
    EXPECT_EQ((*bulk)->Import(Type("para"), sr(), false).status().code(),
              base::StatusCode::kInvalidArgument);
    EXPECT_EQ((*bulk)->Import(Type("gran"), ed(), true).status().code(),
              base::StatusCode::kInvalidArgument);
    EXPECT_EQ((*bulk)->Import(Type("audi"), sr(), false).status().code(),
              base::StatusCode::kInvalidArgument);
    EXPECT_EQ((*bulk)->Import(Type("gran"), sr(), false).status().code(),
              base::StatusCode::kInvalidArgument);  // wrong scheme for the key type
  }
  base::Result<std::vector<KeyInfo>> all = custody->ListAll();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  for (const KeyInfo& info : *all) EXPECT_EQ(info.disabled, info.id == ed_id);
  const std::vector<uint8_t> message = Bytes("m");
  base::Result<std::vector<uint8_t>> signature =
      custody->Sign(sr_id, base::Scheme::kSr25519, message);
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(Sr25519Verify(sr_public, message, *signature));
  EXPECT_EQ(custody->Sign(ed_id, base::Scheme::kEd25519, message).status().code(),
            base::StatusCode::kNotFound);
  ASSERT_TRUE(custody->Enable(ed_id).ok());
  EXPECT_TRUE(custody->Sign(ed_id, base::Scheme::kEd25519, message).ok());
}

TEST_F(Pkcs11CustodyTest, SearchesFailRatherThanTruncateAndAcceptExactlyTheLimit) {
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  for (const char* type : {"babe", "para", "audi"}) {
    ASSERT_TRUE(custody->Generate(Type(type), base::Scheme::kSr25519).ok());
  }
  base::Result<std::unique_ptr<pkcs11::SessionPool>> pool =
      pkcs11::SessionPool::Open(module_, slot_, Pin(kUserPin), 1);
  ASSERT_TRUE(pool.ok());
  base::Result<pkcs11::Session> session = (*pool)->Acquire();
  ASSERT_TRUE(session.ok());
  const std::vector<uint8_t> application = Bytes("polkadot-remote-signer/sr25519-wrapped/v1");
  CK_OBJECT_CLASS data_class = CKO_DATA;
  CK_ATTRIBUTE templ[] = {AttrOf(CKA_CLASS, data_class), AttrBytes(CKA_APPLICATION, application)};
  base::Result<std::vector<CK_OBJECT_HANDLE>> exact = pkcs11::FindObjects(*session, templ, 3);
  ASSERT_TRUE(exact.ok()) << exact.status().message();
  EXPECT_EQ(exact->size(), 3u);
  base::Result<std::vector<CK_OBJECT_HANDLE>> over = pkcs11::FindObjects(*session, templ, 2);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), base::StatusCode::kInternal);
  // The default is far above any fleet: the old 4,096 made larger tokens unlistable.
  EXPECT_GE(pkcs11::kMaxFoundObjects, size_t{1} << 20);
}

// LoadManyKeys is also the load benchmark of docs/benchmarks.md: KEYMGR_LOAD_BENCH_KEYS=10000 makes
// it store that many sr25519 keys, then time what signerd does at start (open the token, list every
// key) and a first signature with sampled keys. Figures are test properties (--gtest_output=xml or
// the log), never assertions: timing depends on the machine.
TEST_F(Pkcs11CustodyTest, LoadManyKeys) {
  size_t count = 100;
  if (const char* requested = std::getenv("KEYMGR_LOAD_BENCH_KEYS")) {
    count = static_cast<size_t>(std::strtoul(requested, nullptr, 10));
  }
  ASSERT_GT(count, 0u);
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::duration elapsed) {
    return std::to_string(std::chrono::duration<double>(elapsed).count());
  };
  std::vector<KeyId> ids;
  {
    std::unique_ptr<Pkcs11Custody> writer = OpenCustody();
    ASSERT_NE(writer, nullptr);
    const Clock::time_point started = Clock::now();
    base::Result<std::unique_ptr<Pkcs11Custody::BulkImport>> bulk = writer->BeginBulkImport();
    ASSERT_TRUE(bulk.ok());
    for (size_t i = 0; i < count; ++i) {
      std::vector<uint8_t> mini_secret(32, 0x5c);
      for (size_t byte = 0; byte < 8; ++byte) {
        mini_secret[byte] = static_cast<uint8_t>(i >> (8 * byte));
      }
      base::Result<KeyInfo> stored = (*bulk)->Import(
          Type("babe"), Keypair(Sr25519Keypair::FromMiniSecret(mini_secret).value()), false);
      ASSERT_TRUE(stored.ok()) << i << ": " << stored.status().message();
      ids.push_back(stored->id);
    }
    RecordProperty("bulk_import_seconds", seconds(Clock::now() - started));
  }
  const Clock::time_point opened_at = Clock::now();
  std::unique_ptr<Pkcs11Custody> custody = OpenCustody();
  ASSERT_NE(custody, nullptr);
  base::Result<std::vector<KeyInfo>> listed = custody->List();
  const Clock::duration load = Clock::now() - opened_at;
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), count);
  RecordProperty("keys", std::to_string(count));
  RecordProperty("open_and_list_seconds", seconds(load));

  // A first signature unwraps the key; with n keys on the token it must not read n labels.
  const size_t samples = std::min<size_t>(count, 50);
  const std::vector<uint8_t> message = Bytes("m");
  const Clock::time_point signing = Clock::now();
  for (size_t i = 0; i < samples; ++i) {
    const KeyId& id = ids[(i * count) / samples];
    base::Result<std::vector<uint8_t>> signature =
        custody->Sign(id, base::Scheme::kSr25519, message);
    ASSERT_TRUE(signature.ok()) << signature.status().message();
    EXPECT_TRUE(Sr25519Verify(id.public_key, message, *signature));
  }
  RecordProperty("first_sign_mean_seconds",
                 std::to_string(std::chrono::duration<double>(Clock::now() - signing).count() /
                                static_cast<double>(samples)));
}

class PinTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("keymgr-pin"); }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path Write(const std::string& name, const std::string& content, mode_t mode) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << content;
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
  fs::path dir_;
};

TEST_F(PinTest, FileMustBePrivate) {
  base::Result<base::SecretBytes> pin = ReadPinFromFile(Write("ok", "1234\n", 0600));
  ASSERT_TRUE(pin.ok()) << pin.status().message();
  EXPECT_TRUE(pin->Equals(Bytes("1234")));
  EXPECT_TRUE(ReadPinFromFile(Write("readonly", "1234", 0400)).ok());
  EXPECT_EQ(ReadPinFromFile(Write("group", "1234", 0640)).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadPinFromFile(Write("world", "1234", 0604)).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadPinFromFile(Write("empty", "\n", 0600)).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadPinFromFile((dir_ / "missing").string()).status().code(),
            base::StatusCode::kNotFound);
  fs::create_symlink(dir_ / "ok", dir_ / "link");
  EXPECT_EQ(ReadPinFromFile((dir_ / "link").string()).status().code(),
            base::StatusCode::kInvalidArgument);
}

TEST(PinEnvTest, ReadsEnvironment) {
  ASSERT_EQ(setenv("KEYMGR_TEST_PIN", "9876", 1), 0);
  base::Result<base::SecretBytes> pin = ReadPinFromEnv("KEYMGR_TEST_PIN");
  ASSERT_TRUE(pin.ok());
  EXPECT_TRUE(pin->Equals(Bytes("9876")));
  unsetenv("KEYMGR_TEST_PIN");
  EXPECT_EQ(ReadPinFromEnv("KEYMGR_TEST_PIN").status().code(), base::StatusCode::kNotFound);
}

TEST(InMemoryCustodyTest, SignsAndInjectsFaults) {
  InMemoryCustody custody(&FixedClock);
  base::Result<KeyInfo> gran = custody.Generate(Type("gran"), base::Scheme::kEd25519);
  base::Result<KeyInfo> beef = custody.Generate(Type("beef"), base::Scheme::kEcdsa);
  base::Result<KeyInfo> babe = custody.Generate(Type("babe"), base::Scheme::kSr25519);
  ASSERT_TRUE(gran.ok() && beef.ok() && babe.ok());
  EXPECT_EQ(gran->created_at_unix, kFixedTime);
  EXPECT_EQ(gran->protection, KeyProtection::kSoftwareMemory);
  const std::vector<uint8_t> message = Bytes("m");
  base::Result<std::vector<uint8_t>> ed = custody.Sign(gran->id, base::Scheme::kEd25519, message);
  base::Result<std::vector<uint8_t>> ec = custody.Sign(beef->id, base::Scheme::kEcdsa, message);
  base::Result<std::vector<uint8_t>> sr = custody.Sign(babe->id, base::Scheme::kSr25519, message);
  ASSERT_TRUE(ed.ok() && ec.ok() && sr.ok());
  EXPECT_TRUE(Ed25519Verify(gran->id.public_key, message, *ed));
  EXPECT_TRUE(EcdsaVerify(beef->id.public_key, message, *ec));
  EXPECT_TRUE(Sr25519Verify(babe->id.public_key, message, *sr));
  EXPECT_EQ(custody.Sign(gran->id, base::Scheme::kSr25519, message).status().code(),
            base::StatusCode::kNotFound);
  EXPECT_EQ(custody.EcdsaSignPrehashed(beef->id, std::vector<uint8_t>(31)).status().code(),
            base::StatusCode::kInvalidArgument);

  custody.FailNext(CustodyOp::kSign, base::Status::Unavailable("injected"), 2);
  EXPECT_EQ(custody.Sign(gran->id, base::Scheme::kEd25519, message).status().code(),
            base::StatusCode::kUnavailable);
  EXPECT_EQ(custody.Sign(gran->id, base::Scheme::kEd25519, message).status().code(),
            base::StatusCode::kUnavailable);
  EXPECT_TRUE(custody.Sign(gran->id, base::Scheme::kEd25519, message).ok());
  custody.SetUnavailable(true);
  EXPECT_EQ(custody.List().status().code(), base::StatusCode::kUnavailable);
  EXPECT_EQ(custody.VrfPreOutput(babe->id, VrfTranscriptData{"x", {}}).status().code(),
            base::StatusCode::kUnavailable);
  custody.SetUnavailable(false);
  EXPECT_TRUE(custody.VrfPreOutput(babe->id, VrfTranscriptData{"x", {}}).ok());
  EXPECT_EQ(custody.CallCount(CustodyOp::kSign), 7u);

  // Import keeps an independent copy: the caller may drop its keypair.
  base::Result<Ed25519Keypair> pair = Ed25519Keypair::FromSeed(std::vector<uint8_t>(32, 3));
  ASSERT_TRUE(pair.ok());
  std::optional<KeyInfo> imported;
  {
    Keypair owned(std::move(pair).value());
    base::Result<KeyInfo> stored = custody.Import(Type("acco"), owned);
    ASSERT_TRUE(stored.ok());
    imported = *stored;
    EXPECT_EQ(custody.Import(Type("acco"), owned).status().code(),
              base::StatusCode::kInvalidArgument);
  }
  base::Result<std::vector<uint8_t>> signature =
      custody.Sign(imported->id, base::Scheme::kEd25519, message);
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(Ed25519Verify(imported->id.public_key, message, *signature));
  ASSERT_TRUE(custody.Delete(imported->id).ok());
  EXPECT_EQ(custody.Delete(imported->id).code(), base::StatusCode::kNotFound);
  base::Result<std::vector<KeyInfo>> listed = custody.List();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 3u);
}

}  // namespace
}  // namespace keymgr
