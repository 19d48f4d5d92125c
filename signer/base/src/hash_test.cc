// Known-answer tests for BLAKE2b-256/512, SHA-512 and PBKDF2-HMAC-SHA512.
#include "base/hash.h"

#include <gtest/gtest.h>

#include <string_view>

#include "base/hex.h"

namespace base {
namespace {

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Sources: BLAKE2b-512("abc") is RFC 7693 Appendix A; the empty-input and BLAKE2b-256 digests are
// the published values of the BLAKE2 reference implementation (b2sum -l 256 / -l 512), also given
// by Python's hashlib.blake2b. SHA-512 digests are from FIPS 180-2 Appendix C.1 and NIST's
// examples.
TEST(HashTest, Blake2b256KnownAnswers) {
  EXPECT_EQ(HexEncode(Blake2b256(Bytes(""))),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(HexEncode(Blake2b256(Bytes("abc"))),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(HashTest, Blake2b512KnownAnswers) {
  EXPECT_EQ(HexEncode(Blake2b512(Bytes(""))),
            "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
            "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce");
  EXPECT_EQ(HexEncode(Blake2b512(Bytes("abc"))),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

TEST(HashTest, Sha512KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha512(Bytes(""))),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
            "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
  EXPECT_EQ(HexEncode(Sha512(Bytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

struct Pbkdf2Vector {
  std::string_view password;
  std::string_view salt;
  uint32_t iterations;
  std::string_view derived_hex;
};

// PBKDF2-HMAC-SHA512 vectors: the RFC 6070 inputs run with SHA-512 and dkLen 64, as published in
// the Stack Overflow question "PBKDF2-HMAC-SHA-512 test vectors" (independently reproduced by
// several answers there). The last one is BIP-39's own test vector from trezor/python-mnemonic
// vectors.json: the phrase for 16 zero bytes with passphrase "TREZOR" (salt "mnemonicTREZOR", 2048
// iterations).
constexpr Pbkdf2Vector kPbkdf2Vectors[] = {
    {"password", "salt", 1,
     "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
     "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce"},
    {"password", "salt", 2,
     "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53c"
     "f76cab2868a39b9f7840edce4fef5a82be67335c77a6068e04112754f27ccf4e"},
    {"password", "salt", 4096,
     "d197b1b33db0143e018b12f3d1d1479e6cdebdcc97c5c0f87f6902e072f457b5"
     "143f30602641b3d55cd335988cb36b84376060ecd532e039b742a239434af2d5"},
    {"passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096,
     "8c0511f4c6e597c6ac6315d8f0362e225f3c501495ba23b868c005174dc4ee71"
     "115b59f9e60cd9532fa33e0f75aefe30225c583a186cd82bd4daea9724a3d3b8"},
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "about",
     "mnemonicTREZOR", 2048,
     "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e5349553"
     "1f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"},
};

TEST(HashTest, Pbkdf2HmacSha512KnownAnswers) {
  for (const Pbkdf2Vector& vector : kPbkdf2Vectors) {
    Result<SecretBytes> derived =
        Pbkdf2HmacSha512(Bytes(vector.password), Bytes(vector.salt), vector.iterations, 64);
    ASSERT_TRUE(derived.ok()) << vector.password;
    EXPECT_EQ(HexEncode(derived->span()), vector.derived_hex) << vector.password;
  }
}

TEST(HashTest, Pbkdf2TruncatedOutputIsAPrefix) {
  Result<SecretBytes> derived = Pbkdf2HmacSha512(Bytes("password"), Bytes("salt"), 1, 20);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(HexEncode(derived->span()), kPbkdf2Vectors[0].derived_hex.substr(0, 40));
}

TEST(HashTest, Pbkdf2RejectsDegenerateArguments) {
  EXPECT_EQ(Pbkdf2HmacSha512(Bytes("p"), Bytes("s"), 0, 32).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Pbkdf2HmacSha512(Bytes("p"), Bytes("s"), 1, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Pbkdf2HmacSha512(Bytes("p"), Bytes("s"), 0x80000000u, 32).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(HashTest, Pbkdf2AcceptsEmptyPasswordAndSalt) {
  Result<SecretBytes> derived = Pbkdf2HmacSha512({}, {}, 1, 64);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(derived->size(), 64u);
}

}  // namespace
}  // namespace base
