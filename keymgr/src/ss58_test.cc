// Tests for SS58: known addresses, round trips, and refusal of malformed or reserved input.
#include "keymgr/ss58.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "support/well_known_keys.h"

namespace keymgr {
namespace {

// //Alice public keys from the spec (sr25519, 32 bytes; ecdsa, 33 bytes compressed).
const std::vector<uint8_t> kAliceSr25519 = support::kAliceSr25519.Bytes();
const std::vector<uint8_t> kAliceEcdsa = support::kAliceEcdsa.Bytes();

struct AddressVector {
  uint16_t prefix;
  std::string_view sr25519_address;
  std::string_view ecdsa_address;
};

// Prefix 42 for sr25519 is the well-known Alice address (Substrate docs, sp_core tests). The rest
// were made with the polkadot-js oracle: @polkadot/util-crypto 14.0.3 encodeAddress(publicKey,
// prefix).
constexpr AddressVector kAddresses[] = {
    {0, "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5",
     "1CoWvCoktJHtTXSDybnqa1Evg2weWuhRusAiry1dU1fNR2Fy"},
    {2, "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F",
     "tHsFGA2BfG62RaZjiCCzuPQVaUACck5vVSowrvHnXp72WSsp"},
    {42, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
     "KW39r9CJjAVzmkf9zQ4YDb2hqfAVGdRqn53eRqyruqpxAP5YL"},
    {63, "7NPoMQbiA6trJKkjB35uk96MeJD4PGWkLQLH7k7hXEkZpiba",
     "UkTL1kh4DJbrDQE1scHuubYSJ9jG5ggux9dtHLVHZ2jbZMwSE"},
    {64, "cEaNSpz4PxFcZ7nT1VEKrKewH67rfx6MfcM6yKojyyPz7qaqp",
     "3gWZKMRUNqs15vNt3osuuSoXGNC83H4Zrq6XP9kaVSAVVQrGvky"},
    {255, "yGHXkYLYqxijLKKfd9Q2CB9shRVu8rPNBS53wvwGTutYg4zTg",
     "5HL6zRbzpQf4mqsoqVGNhWRzzZbfL9oNw6jAXobdhyV1Z7818AR"},
    {16383, "yNa8JpqfFB3q8A29rCwSgxvdU94ufJw2yKKxDgznS5m1PoFvn",
     "5HorEx6qJf7V5QCkY4v1PdW2Xky92UEYiKFQJXA7EFQaH3JwwzM"},
};

TEST(Ss58Test, EncodesKnownAddresses) {
  for (const AddressVector& vector : kAddresses) {
    base::Result<std::string> sr = Ss58Encode(kAliceSr25519, vector.prefix);
    ASSERT_TRUE(sr.ok()) << vector.prefix;
    EXPECT_EQ(*sr, vector.sr25519_address) << vector.prefix;
    base::Result<std::string> ec = Ss58Encode(kAliceEcdsa, vector.prefix);
    ASSERT_TRUE(ec.ok()) << vector.prefix;
    EXPECT_EQ(*ec, vector.ecdsa_address) << vector.prefix;
  }
}

TEST(Ss58Test, DecodesKnownAddresses) {
  for (const AddressVector& vector : kAddresses) {
    base::Result<Ss58Address> sr = Ss58Decode(vector.sr25519_address);
    ASSERT_TRUE(sr.ok()) << vector.sr25519_address;
    EXPECT_EQ(sr->prefix, vector.prefix);
    EXPECT_EQ(sr->public_key, kAliceSr25519);
    base::Result<Ss58Address> ec = Ss58Decode(vector.ecdsa_address);
    ASSERT_TRUE(ec.ok()) << vector.ecdsa_address;
    EXPECT_EQ(ec->prefix, vector.prefix);
    EXPECT_EQ(ec->public_key, kAliceEcdsa);
  }
}

TEST(Ss58Test, RoundTripsEveryPrefixAndLeadingZeroKeys) {
  std::vector<uint8_t> key(32, 0);
  key[31] = 1;  // leading zero bytes exercise base58's '1' handling only with prefix 0
  for (uint32_t prefix = 0; prefix <= 16383; prefix += (prefix < 300 ? 1 : 97)) {
    if (prefix == 46 || prefix == 47) continue;
    base::Result<std::string> address = Ss58Encode(key, static_cast<uint16_t>(prefix));
    ASSERT_TRUE(address.ok()) << prefix;
    base::Result<Ss58Address> decoded = Ss58Decode(*address);
    ASSERT_TRUE(decoded.ok()) << prefix;
    EXPECT_EQ(decoded->prefix, prefix);
    EXPECT_EQ(decoded->public_key, key);
  }
}

TEST(Ss58Test, EncodeRejectsReservedOrOutOfRangePrefixesAndBadKeyLengths) {
  for (uint16_t prefix : {uint16_t{46}, uint16_t{47}, uint16_t{16384}, uint16_t{65535}}) {
    EXPECT_EQ(Ss58Encode(kAliceSr25519, prefix).status().code(), base::StatusCode::kInvalidArgument)
        << prefix;
  }
  for (size_t size : {0u, 1u, 31u, 34u, 64u}) {
    const std::vector<uint8_t> key(size, 7);
    EXPECT_EQ(Ss58Encode(key, 42).status().code(), base::StatusCode::kInvalidArgument) << size;
  }
}

TEST(Ss58Test, DecodeRejectsMalformedInput) {
  const std::string alice(kAddresses[2].sr25519_address);
  std::string flipped = alice;
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  const std::string cases[] = {
      "",
      "1",
      "11",
      alice.substr(0, alice.size() - 1),  // truncated
      alice + "1",                        // extended
      flipped,                            // checksum no longer matches
      "0" + alice.substr(1),              // '0', 'O', 'I' and 'l' are not base58 digits
      alice.substr(0, 5) + "O" + alice.substr(6),
      alice.substr(0, 5) + "I" + alice.substr(6),
      alice.substr(0, 5) + "l" + alice.substr(6),
      alice + " ",
      " " + alice,
      std::string(alice.data(), 10) + std::string(1, '\0') + alice.substr(11),
      std::string(1000, 'z'),
      // Made with an independent Python base58 + blake2b script: correct checksums, but prefix 46
      // and 47 (reserved), a two-byte spelling of prefix 42 (non-canonical), 31- and 34-byte keys,
      // and a first byte of 128 (no such prefix form).
      "5g1axYPrdA2VeKsqmz8WKpa8f3n4T9ou8Qv3f8BaeheH3ApS",
      "5moFDXwG1SuDoPHJgX1XhiqZJXvMWLSRKMUBGopt7ZEmKmWa",
      "Zp5wgt7iipcBBD8qrDbgQerUy6vWeg3np21675SE43SmZaPo9",
      "yA3vprfzKUKan9P1eXE6iMGCMSMDZEnAtb6wEjTEf86ZXt",
      "2SFj1cxgiXHSwfuNbTawUXFRZRHc6JuJxoXyrWpifFAgUPMC8A2",
      "yNfuy5qCeZLhrK5ZK7UKiLpttnZ3xN7fVWGWMJgRjYcbt5ZVR",
  };
  for (const std::string& address : cases) {
    base::Result<Ss58Address> decoded = Ss58Decode(address);
    EXPECT_FALSE(decoded.ok()) << address;
    EXPECT_EQ(decoded.status().code(), base::StatusCode::kInvalidArgument) << address;
  }
}

TEST(Ss58Test, DecodeSurvivesRandomInput) {
  // Never crash and never accept: random strings pass a 16-bit checksum about once in 65536 tries,
  // and must also have a valid length, so acceptance here would mean a broken check.
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> length(0, 80);
  std::uniform_int_distribution<int> byte(0, 255);
  int accepted = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string text(static_cast<size_t>(length(rng)), '\0');
    for (char& c : text) c = static_cast<char>(byte(rng));
    if (Ss58Decode(text).ok()) ++accepted;
  }
  EXPECT_EQ(accepted, 0);
}

}  // namespace
}  // namespace keymgr
