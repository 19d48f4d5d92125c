// Tests of the key-backup file: round trip, refusal of wrong passphrases and of every modified
// byte, bounds on crafted headers, and a decryption done by hand from the layout in docs/keys.md.
#include "keymgr/keys_backup.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "keymgr/sr25519.h"
#include "support/files.h"
#include "support/temp_dir.h"

namespace keymgr {
namespace {

using base::StatusCode;

// The cheapest limits libsodium allows, so the many derivations below stay fast; files made with
// them are still opened by the same code path as the MODERATE ones the CLI writes.
BackupKdfLimits FastLimits() {
  return BackupKdfLimits{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

std::span<const uint8_t> Text(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

const std::string kPassphrase = "correct horse battery staple";

std::vector<uint8_t> SecretOf(uint8_t fill) {
  // An sr25519 secret is a canonical scalar plus a nonce; a mini-secret expansion gives one.
  std::vector<uint8_t> mini(32, fill);
  auto pair = keymgr::Sr25519Keypair::FromMiniSecret(mini);
  EXPECT_TRUE(pair.ok());
  return {pair->secret().begin(), pair->secret().end()};
}

std::vector<BackupEntry> SampleEntries() {
  std::vector<BackupEntry> entries;
  BackupEntry babe;
  babe.key_type = base::MakeKeyTypeId("babe").value();
  babe.scheme = base::Scheme::kSr25519;
  babe.public_key.assign(32, 0x11);
  babe.generated_in_custody = true;
  babe.created_at_unix = 1700000000;
  babe.secret = base::SecretBytes::CopyFrom(SecretOf(0x5a));
  entries.push_back(std::move(babe));
  BackupEntry gran;
  gran.key_type = base::MakeKeyTypeId("gran").value();
  gran.scheme = base::Scheme::kEd25519;
  gran.public_key.assign(32, 0x22);
  gran.created_at_unix = 1700000001;
  gran.disabled = true;
  entries.push_back(std::move(gran));
  BackupEntry beef;
  beef.key_type = base::MakeKeyTypeId("beef").value();
  beef.scheme = base::Scheme::kEcdsa;
  beef.public_key.assign(33, 0x03);
  beef.created_at_unix = -5;
  entries.push_back(std::move(beef));
  return entries;
}

bool Contains(std::span<const uint8_t> haystack, std::span<const uint8_t> needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

TEST(KeysBackupTest, RoundTripKeepsEveryFieldAndHidesTheSecret) {
  const std::vector<BackupEntry> entries = SampleEntries();
  auto file = SealBackup(entries, Text(kPassphrase), FastLimits());
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_FALSE(Contains(*file, entries[0].secret.span().first(32)));
  EXPECT_FALSE(Contains(*file, entries[0].secret.span().last(32)));
  EXPECT_FALSE(Contains(*file, entries[0].public_key)) << "identities are encrypted too";

  auto opened = OpenBackup(*file, Text(kPassphrase));
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  ASSERT_EQ(opened->size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const BackupEntry& got = (*opened)[i];
    EXPECT_EQ(got.key_type, entries[i].key_type);
    EXPECT_EQ(got.scheme, entries[i].scheme);
    EXPECT_EQ(got.public_key, entries[i].public_key);
    EXPECT_EQ(got.generated_in_custody, entries[i].generated_in_custody);
    EXPECT_EQ(got.disabled, entries[i].disabled);
    EXPECT_EQ(got.created_at_unix, entries[i].created_at_unix);
    EXPECT_EQ(got.secret.size(), entries[i].secret.size());
    EXPECT_TRUE(got.secret.Equals(entries[i].secret.span()));
  }

  // Salt and nonce are fresh each time, so two backups of the same keys differ everywhere after
  // the fixed header fields.
  auto again = SealBackup(entries, Text(kPassphrase), FastLimits());
  ASSERT_TRUE(again.ok());
  EXPECT_NE(std::vector<uint8_t>(file->begin() + 28, file->end()),
            std::vector<uint8_t>(again->begin() + 28, again->end()));
}

TEST(KeysBackupTest, WrongPassphraseIsRefused) {
  auto file = SealBackup(SampleEntries(), Text(kPassphrase), FastLimits());
  ASSERT_TRUE(file.ok());
  auto opened = OpenBackup(*file, Text(kPassphrase + "!"));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(opened.status().message().find(kPassphrase), std::string::npos);
}

TEST(KeysBackupTest, EveryModifiedByteIsRefused) {
  auto file = SealBackup(SampleEntries(), Text(kPassphrase), FastLimits());
  ASSERT_TRUE(file.ok());
  for (size_t i = 0; i < file->size(); ++i) {
    std::vector<uint8_t> tampered = *file;
    tampered[i] ^= 0x01;
    EXPECT_FALSE(OpenBackup(tampered, Text(kPassphrase)).ok()) << "byte " << i;
  }
  for (size_t size : {size_t{0}, size_t{8}, size_t{67}, size_t{84}, file->size() - 1}) {
    EXPECT_FALSE(OpenBackup(std::span(*file).first(size), Text(kPassphrase)).ok()) << size;
  }
  std::vector<uint8_t> longer = *file;
  longer.push_back(0);
  EXPECT_FALSE(OpenBackup(longer, Text(kPassphrase)).ok());
}

TEST(KeysBackupTest, CraftedLimitsAreRefusedBeforeAnyWork) {
  auto file = SealBackup(SampleEntries(), Text(kPassphrase), FastLimits());
  ASSERT_TRUE(file.ok());
  std::vector<uint8_t> huge_memory = *file;
  huge_memory[20 + 7] = 0x10;  // memlimit far above SENSITIVE
  auto opened = OpenBackup(huge_memory, Text(kPassphrase));
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("limits out of range"), std::string::npos);
  std::vector<uint8_t> huge_ops = *file;
  huge_ops[12 + 4] = 0x01;
  EXPECT_FALSE(OpenBackup(huge_ops, Text(kPassphrase)).ok());
}

TEST(KeysBackupTest, SealRefusesShortPassphrasesAndBadEntries) {
  EXPECT_FALSE(SealBackup(SampleEntries(), Text("short"), FastLimits()).ok());
  EXPECT_FALSE(SealBackup(SampleEntries(), Text(kPassphrase), BackupKdfLimits{0, 0}).ok());
  std::vector<BackupEntry> entries = SampleEntries();
  entries[1].secret = base::SecretBytes::CopyFrom(SecretOf(1));  // an ed25519 "secret"
  EXPECT_FALSE(SealBackup(entries, Text(kPassphrase), FastLimits()).ok());
  entries = SampleEntries();
  entries[2].public_key.resize(32);  // ecdsa keys are 33 bytes
  EXPECT_FALSE(SealBackup(entries, Text(kPassphrase), FastLimits()).ok());
  entries = SampleEntries();
  entries[0].key_type = {0x0a, 0x0b, 0x0c, 0x0d};  // no token label can carry it
  EXPECT_FALSE(SealBackup(entries, Text(kPassphrase), FastLimits()).ok());
}

// A key type the token cannot hold is refused on opening, so a restore stores nothing of the file.
// The file is sealed, its payload changed and sealed again by hand, since SealBackup refuses it.
TEST(KeysBackupTest, OpenRefusesAKeyTypeTheTokenCannotHold) {
  auto file = SealBackup(SampleEntries(), Text(kPassphrase), FastLimits());
  ASSERT_TRUE(file.ok());
  const BackupKdfLimits limits = FastLimits();
  const uint8_t* salt = file->data() + 28;
  const uint8_t* nonce = file->data() + 44;
  std::vector<uint8_t> key(32);
  ASSERT_EQ(crypto_pwhash(key.data(), key.size(), kPassphrase.data(), kPassphrase.size(), salt,
                          limits.opslimit, static_cast<size_t>(limits.memlimit),
                          crypto_pwhash_ALG_ARGON2ID13),
            0);
  std::vector<uint8_t> plain(file->size() - 68 - 16);
  ASSERT_EQ(crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), nullptr, nullptr,
                                                       file->data() + 68, file->size() - 68,
                                                       file->data(), 68, nonce, key.data()),
            0);
  // The first entry's key type follows the version byte and the entry count.
  ASSERT_EQ(std::string(plain.begin() + 5, plain.begin() + 9), "babe");
  const std::array<uint8_t, 4> control_bytes = {0x0a, 0x0b, 0x0c, 0x0d};
  std::copy(control_bytes.begin(), control_bytes.end(), plain.begin() + 5);
  std::vector<uint8_t> crafted(file->begin(), file->begin() + 68);
  crafted.resize(68 + plain.size() + 16);
  ASSERT_EQ(crypto_aead_xchacha20poly1305_ietf_encrypt(crafted.data() + 68, nullptr, plain.data(),
                                                       plain.size(), crafted.data(), 68, nullptr,
                                                       nonce, key.data()),
            0);
  auto refused = OpenBackup(crafted, Text(kPassphrase));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("key type"), std::string::npos)
      << refused.status().message();
  sodium_memzero(plain.data(), plain.size());
  sodium_memzero(key.data(), key.size());
}

// Decrypts by hand from the documented layout, with libsodium directly, so the format document and
// the code cannot drift apart unnoticed.
TEST(KeysBackupTest, LayoutMatchesTheDocumentedFormat) {
  const std::vector<BackupEntry> entries = SampleEntries();
  auto file = SealBackup(entries, Text(kPassphrase), ModerateBackupKdfLimits());
  ASSERT_TRUE(file.ok());
  ASSERT_EQ(std::string(file->begin(), file->begin() + 8), "PRSKBACK");
  EXPECT_EQ((*file)[8], 1);   // format version
  EXPECT_EQ((*file)[9], 1);   // Argon2id v1.3
  EXPECT_EQ((*file)[10], 1);  // XChaCha20-Poly1305 (IETF)
  EXPECT_EQ((*file)[11], 0);
  uint64_t ops = 0;
  uint64_t mem = 0;
  for (int i = 7; i >= 0; --i) {
    ops = (ops << 8) | (*file)[static_cast<size_t>(12 + i)];
    mem = (mem << 8) | (*file)[static_cast<size_t>(20 + i)];
  }
  EXPECT_EQ(ops, 3u);                  // libsodium's documented OPSLIMIT_MODERATE
  EXPECT_EQ(mem, 256u * 1024 * 1024);  // and MEMLIMIT_MODERATE
  const uint8_t* salt = file->data() + 28;
  const uint8_t* nonce = file->data() + 44;
  std::vector<uint8_t> key(32);
  ASSERT_EQ(crypto_pwhash(key.data(), key.size(), kPassphrase.data(), kPassphrase.size(), salt, ops,
                          mem, crypto_pwhash_ALG_ARGON2ID13),
            0);
  std::vector<uint8_t> plain(file->size() - 68 - 16);
  unsigned long long plain_size = 0;
  ASSERT_EQ(crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &plain_size, nullptr,
                                                       file->data() + 68, file->size() - 68,
                                                       file->data(), 68, nonce, key.data()),
            0);
  ASSERT_EQ(plain_size, plain.size());
  // payload: version 1, count 3 (LE32), then the first entry: "babe", scheme 0, flags 1,
  // created-at LE64, public length 32, public key, secret length 64, secret.
  ASSERT_GE(plain.size(), 5u + 4 + 1 + 1 + 8 + 1 + 32 + 1 + 64);
  EXPECT_EQ(plain[0], 1);
  EXPECT_EQ(std::vector<uint8_t>(plain.begin() + 1, plain.begin() + 5),
            (std::vector<uint8_t>{3, 0, 0, 0}));
  EXPECT_EQ(std::string(plain.begin() + 5, plain.begin() + 9), "babe");
  EXPECT_EQ(plain[9], 0);
  EXPECT_EQ(plain[10], 1);
  EXPECT_EQ(std::vector<uint8_t>(plain.begin() + 11, plain.begin() + 19),
            (std::vector<uint8_t>{0x00, 0xf1, 0x53, 0x65, 0, 0, 0, 0}));  // 1700000000
  EXPECT_EQ(plain[19], 32);
  EXPECT_EQ(plain[52], 64);
  EXPECT_TRUE(entries[0].secret.Equals(std::span(plain).subspan(53, 64)));
  // Exactly the three entries and nothing after them.
  const size_t expected_size = 5 + (4 + 1 + 1 + 8 + 1 + 32 + 1 + 64) +
                               (4 + 1 + 1 + 8 + 1 + 32 + 1) + (4 + 1 + 1 + 8 + 1 + 33 + 1);
  EXPECT_EQ(plain.size(), expected_size);
  // The second entry (gran, not generated in custody, disabled) has flags = bit 1 only.
  const size_t gran_at = 5 + (4 + 1 + 1 + 8 + 1 + 32 + 1 + 64);
  EXPECT_EQ(std::string(plain.begin() + gran_at, plain.begin() + gran_at + 4), "gran");
  EXPECT_EQ(plain[gran_at + 5], 2);

  // A flag bit this version does not know is refused, not ignored: a reader that predates the
  // disabled bit must not restore a disabled key as enabled. Re-sealed by hand under the same key.
  plain[gran_at + 5] = 0x04;
  std::vector<uint8_t> crafted(file->begin(), file->begin() + 68);
  crafted.resize(68 + plain.size() + 16);
  unsigned long long crafted_size = 0;
  ASSERT_EQ(crypto_aead_xchacha20poly1305_ietf_encrypt(crafted.data() + 68, &crafted_size,
                                                       plain.data(), plain.size(), crafted.data(),
                                                       68, nullptr, nonce, key.data()),
            0);
  auto refused = OpenBackup(crafted, Text(kPassphrase));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::StatusCode::kInvalidArgument);
  sodium_memzero(plain.data(), plain.size());
  sodium_memzero(key.data(), key.size());
}

class PassphraseFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& content, mode_t mode) {
    const std::string path = dir_.Path("passphrase");
    EXPECT_TRUE(support::WriteFile(path, content, mode).ok());
    return path;
  }
  support::TempDir dir_;
};

TEST_F(PassphraseFileTest, PrivateFileIsReadWithoutItsNewline) {
  auto passphrase = ReadPassphraseFile(Write(kPassphrase + "\n", 0600));
  ASSERT_TRUE(passphrase.ok()) << passphrase.status().message();
  EXPECT_TRUE(passphrase->Equals(Text(kPassphrase)));
}

TEST_F(PassphraseFileTest, LooseModesSymlinksEmptyAndMissingFilesAreRefused) {
  for (mode_t mode : {0640, 0604, 0660}) {
    auto refused = ReadPassphraseFile(Write(kPassphrase, mode));
    ASSERT_FALSE(refused.ok()) << mode;
    EXPECT_NE(refused.status().message().find("0600"), std::string::npos);
  }
  EXPECT_FALSE(ReadPassphraseFile(Write("\n", 0600)).ok());
  const std::string target = Write(kPassphrase, 0600);
  const std::string link = dir_.Path("link");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_FALSE(ReadPassphraseFile(link).ok());
  EXPECT_EQ(ReadPassphraseFile(dir_.Path("missing")).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace keymgr
