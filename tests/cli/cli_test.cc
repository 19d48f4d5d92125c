// End-to-end tests of the signerctl binary: known answers, round trips, and its bad-input contract.
//
// Known answers come from sp_core tests and RFC 8032 as quoted in the project's signing spec, and
// from the npm oracles pinned in tests/oracle (@polkadot/keyring and @polkadot/util-crypto 14.0.3,
// @scure/sr25519 2.3.0); each oracle value below says how it was made.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/files.h"
#include "support/locations.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/well_known_keys.h"

namespace {

const std::string kAliceSr25519(support::kAliceSr25519.hex_0x);
const std::string kAliceEd25519(support::kAliceEd25519.hex_0x);
const std::string kAliceEcdsa(support::kAliceEcdsa.hex_0x);
// The RFC 8032 test 1 seed, which sp_core's tests reuse as sr25519 mini-secret and ecdsa secret.
constexpr char kSeed9d61[] = "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
// A SURI whose pieces are easy to spot if they ever leak into an error message.
constexpr char kSecretSuri[] = "//SecretJunction///hunter2password";

using support::TempDir;

// RunSignerctl runs the binary with `args`, the test's environment minus SIGNER_SURI plus
// `extra_env`, and stdin from /dev/null.
support::ProcessResult RunSignerctl(std::vector<std::string> args,
                                    const std::vector<std::string>& extra_env = {}) {
  args.insert(args.begin(), support::Location("signerctl"));
  support::ProcessOptions options;
  options.unset_env = {"SIGNER_SURI"};
  options.set_env = extra_env;
  return support::ResultOrStartFailure(support::RunProcess(args, options));
}

// ----- inspect -----

struct InspectCase {
  std::string scheme;
  std::string suri;
  std::string network;  // empty: the default
  std::string public_key;
  std::string ss58;  // empty: not checked
};

class InspectTest : public ::testing::TestWithParam<InspectCase> {};

TEST_P(InspectTest, PrintsPublicKeyAndAddress) {
  const InspectCase& c = GetParam();
  std::vector<std::string> args = {"inspect", "--scheme", c.scheme};
  if (!c.network.empty()) {
    args.insert(args.end(), {"--network", c.network});
  }
  args.push_back(c.suri);
  const support::ProcessResult run = RunSignerctl(args);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.err, "");
  const nlohmann::json json = run.Json();
  ASSERT_TRUE(json.is_object()) << run.out;
  EXPECT_EQ(json.size(), 3u);
  EXPECT_EQ(json.value("scheme", ""), c.scheme);
  EXPECT_EQ(json.value("public_key", ""), c.public_key);
  if (!c.ss58.empty()) {
    EXPECT_EQ(json.value("ss58", ""), c.ss58);
  }
}

// Public keys: the spec's known answers. Addresses: the spec's for //Alice sr25519 on 42; the rest
// from `new Keyring({type, ss58Format}).addFromUri(suri).address` (@polkadot/keyring 14.0.3), which
// for ecdsa is the address of blake2_256(public key).
INSTANTIATE_TEST_SUITE_P(
    KnownKeys, InspectTest,
    ::testing::Values(
        InspectCase{"sr25519", "//Alice", "", kAliceSr25519,
                    std::string(support::kAliceSr25519.ss58)},
        InspectCase{"sr25519", "//Alice", "0", kAliceSr25519,
                    "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"},
        InspectCase{"sr25519", "//Alice", "2", kAliceSr25519,
                    "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F"},
        InspectCase{"sr25519", "//Alice", "7391", kAliceSr25519,
                    "unjKJQJrRd238pkUZZvzDQrfKuM39zBSnQ5zjAGAGcdRhaJTx"},
        InspectCase{"ed25519", "//Alice", "", kAliceEd25519,
                    std::string(support::kAliceEd25519.ss58)},
        InspectCase{"ed25519", "//Alice", "0", kAliceEd25519,
                    "146SvjUZXoMaemdeiecyxgALeYMm8ZWh1yrGo8RtpoPfe7WL"},
        InspectCase{"ecdsa", "//Alice", "", kAliceEcdsa, std::string(support::kAliceEcdsa.ss58)},
        InspectCase{"ecdsa", "//Alice", "2", kAliceEcdsa,
                    "CcogsRk8xzpfweM7Ak3Ds9nw2DemLhCC6gbisMpBhptpgcr"},
        InspectCase{"sr25519", kSeed9d61, "",
                    "0x44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f", ""},
        InspectCase{"sr25519", "0x3132333435363738393031323334353637383930313233343536373839303132",
                    "", "0x741c08a06f41c596608f6774259bd9043304adfa5d3eea62760bd9be97634d63", ""},
        InspectCase{"ed25519", kSeed9d61, "",
                    "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", ""},
        InspectCase{"ecdsa", kSeed9d61, "",
                    "0x028db55b05db86c0b1786ca49f095d76344c9e6056b2f02701a7e7f3c20aabfd91", ""}));

TEST(SuriSources, FileAndEnvironmentGiveTheSameKeyAsTheCommandLine) {
  TempDir dir;
  const std::string with_newline = dir.Write("suri", "//Alice\n", 0600);
  const std::string with_crlf = dir.Write("suri-crlf", "//Alice\r\nignored second line\n", 0400);
  const std::vector<support::ProcessResult> runs = {
      RunSignerctl({"inspect", "--scheme", "sr25519", "--suri-file", with_newline}),
      RunSignerctl({"inspect", "--scheme", "sr25519", "--suri-file", with_crlf}),
      RunSignerctl({"inspect", "--scheme", "sr25519"}, {"SIGNER_SURI=//Alice"}),
  };
  for (const support::ProcessResult& run : runs) {
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
    EXPECT_EQ(run.Json().value("public_key", ""), kAliceSr25519);
  }
  // A file given on the command line wins over the environment.
  const support::ProcessResult file_first = RunSignerctl(
      {"inspect", "--scheme", "sr25519", "--suri-file", with_newline}, {"SIGNER_SURI=//Bob"});
  ASSERT_EQ(file_first.exit_code, 0) << file_first.Describe();
  EXPECT_EQ(file_first.Json().value("public_key", ""), kAliceSr25519);
}

// A SURI file is held to the PIN file's rules: one that others may read or write must be treated as
// disclosed, and a symlink may be pointed at another file after the operator checked it.
TEST(SuriSources, FileOthersMayReadOrASymlinkIsRefused) {
  TempDir dir;
  const std::string private_file = dir.Write("private", "//Alice\n", 0600);
  const std::string link = dir.Path("link");
  ASSERT_EQ(::symlink(private_file.c_str(), link.c_str()), 0);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {dir.Write("world-readable", "//Alice\n", 0644), "mode 0600 or stricter"},
      {dir.Write("group-writable", "//Alice\n", 0620), "mode 0600 or stricter"},
      {link, "must not be a symlink"},
  };
  for (const auto& [path, reason] : refused) {
    const support::ProcessResult run =
        RunSignerctl({"inspect", "--scheme", "sr25519", "--suri-file", path});
    EXPECT_EQ(run.exit_code, 2) << path << ": " << run.Describe();
    EXPECT_EQ(run.out, "");
    EXPECT_NE(run.err.find(reason), std::string::npos) << run.err;
  }
  // Another user's file, checkable only where the test may give a file away.
  if (::geteuid() == 0) {
    const std::string foreign = dir.Write("foreign", "//Alice\n", 0600);
    ASSERT_EQ(::chown(foreign.c_str(), 65534, 65534), 0);
    const support::ProcessResult run =
        RunSignerctl({"inspect", "--scheme", "sr25519", "--suri-file", foreign});
    EXPECT_EQ(run.exit_code, 2) << run.Describe();
    EXPECT_NE(run.err.find("owned by this user"), std::string::npos) << run.err;
  }
  const support::ProcessResult accepted =
      RunSignerctl({"inspect", "--scheme", "sr25519", "--suri-file", private_file});
  ASSERT_EQ(accepted.exit_code, 0) << accepted.Describe();
  EXPECT_EQ(accepted.Json().value("public_key", ""), kAliceSr25519);
}

// ----- process hardening -----

// ProcessWithArgument returns the id of a running process one of whose arguments is `argument`, or
// 0 if there is none.
pid_t ProcessWithArgument(const std::string& argument) {
  std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), &::closedir);
  if (proc == nullptr) return 0;
  while (const dirent* entry = ::readdir(proc.get())) {
    const std::string name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::stringstream arguments(support::ReadFile("/proc/" + name + "/cmdline"));
    for (std::string each; std::getline(arguments, each, '\0');) {
      if (each == argument) return static_cast<pid_t>(std::stol(name));
    }
  }
  return 0;
}

// CoreLimitOf returns the soft and hard "Max core file size" of process `pid`, as /proc shows them.
std::string CoreLimitOf(pid_t pid) {
  std::stringstream limits(support::ReadFile("/proc/" + std::to_string(pid) + "/limits"));
  for (std::string line; std::getline(limits, line);) {
    if (!line.starts_with("Max core file size")) continue;
    std::stringstream fields(line.substr(sizeof("Max core file size") - 1));
    std::string soft;
    std::string hard;
    fields >> soft >> hard;
    soft += ' ';
    soft += hard;
    return soft;
  }
  return "not found";
}

// signerctl forbids core dumps (ForbidCoreDumps, as the daemons do) before it reads any input. It
// is caught holding a FIFO given as its transcript file open and waiting for data, and looked at
// through /proc. The dumpable flag shows as the owner of the files in /proc/PID (root when not
// dumpable), which only means something when the test runs as another user; RLIMIT_CORE, set to 0
// by the same call, is checked always.
TEST(ProcessHardening, SignerctlForbidsCoreDumpsBeforeReadingInput) {
  // The child inherits this limit, so it must start above 0 for the check to mean anything.
  rlimit core{};
  ASSERT_EQ(::getrlimit(RLIMIT_CORE, &core), 0);
  if (core.rlim_cur == 0) {
    core.rlim_cur = core.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : core.rlim_max;
    if (core.rlim_cur == 0 || ::setrlimit(RLIMIT_CORE, &core) != 0) {
      GTEST_SKIP() << "RLIMIT_CORE cannot be raised above 0 here";
    }
  }
  TempDir dir;
  const std::string fifo = dir.Path("transcript.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  support::ProcessResult run;
  std::thread signerctl([&] {
    run = RunSignerctl({"vrf-verify", "--public", kAliceSr25519, "--transcript", fifo,
                        "--signature", "0x" + std::string(192, '1')});
  });
  // A writer that does not block can open the FIFO only once a reader has it open; holding it open
  // keeps signerctl waiting in read() while it is looked at.
  int writer = -1;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (writer < 0 && std::chrono::steady_clock::now() < give_up) {
    writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (writer < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const pid_t pid = writer >= 0 ? ProcessWithArgument(fifo) : 0;
  const std::string core_limit = pid != 0 ? CoreLimitOf(pid) : "no process";
  struct stat proc_entry {};
  const bool proc_entry_read =
      pid != 0 && ::stat(("/proc/" + std::to_string(pid) + "/status").c_str(), &proc_entry) == 0;
  if (writer >= 0) ::close(writer);  // an empty transcript: signerctl ends with a usage error
  signerctl.join();
  ASSERT_GE(writer, 0) << "signerctl never opened its transcript: " << run.Describe();
  ASSERT_NE(pid, 0);
  EXPECT_EQ(core_limit, "0 0");
  if (::geteuid() != 0) {
    ASSERT_TRUE(proc_entry_read);
    EXPECT_EQ(proc_entry.st_uid, 0u) << "signerctl is still dumpable";
  }
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
}

// ----- sign and verify -----

std::string SignOk(const std::vector<std::string>& args) {
  std::vector<std::string> full = {"sign"};
  full.insert(full.end(), args.begin(), args.end());
  const support::ProcessResult run = RunSignerctl(full);
  EXPECT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.err, "");
  const nlohmann::json json = run.Json();
  EXPECT_TRUE(json.is_object() && json.size() == 1) << run.out;
  return json.is_object() ? json.value("signature", "") : "";
}

support::ProcessResult Verify(const std::string& scheme, const std::string& public_key,
                              const std::string& message, const std::string& signature,
                              bool prehashed = false) {
  std::vector<std::string> args = {"verify",   "--scheme",    scheme,
                                   "--public", public_key,    "--message-hex",
                                   message,    "--signature", signature};
  if (prehashed) {
    args.push_back("--prehashed");
  }
  return RunSignerctl(args);
}

void ExpectVerdict(const support::ProcessResult& run, bool valid) {
  EXPECT_EQ(run.exit_code, valid ? 0 : 1) << run.Describe();
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(run.Json(), nlohmann::json({{"valid", valid}})) << run.out;
}

// FlipHexDigit changes one hex digit of a 0x string (at `index` counted after the prefix).
std::string FlipHexDigit(std::string hex, size_t index) {
  char& digit = hex[2 + index];
  digit = digit == '0' ? '1' : '0';
  return hex;
}

TEST(SignVerify, Ed25519MatchesRfc8032) {
  // RFC 8032 section 7.1 test 1: empty message.
  EXPECT_EQ(SignOk({"--scheme", "ed25519", "--suri", kSeed9d61, "--message-hex", "0x"}),
            "0xe5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
            "39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
}

TEST(SignVerify, EcdsaMatchesKnownAnswers) {
  // sp_core's ecdsa test: seed 9d61..., empty message.
  EXPECT_EQ(SignOk({"--scheme", "ecdsa", "--suri", kSeed9d61, "--message-hex", ""}),
            "0x3dde91174bd9359027be59a428b8146513df80a2a3c7eda2194f64de04a69ab97b753169e94db6ffd509"
            "21a2668a48b94ca11e3d32c1ff19cfe88890aa7e8f3c00");
  // `new Keyring({type: 'ecdsa'}).addFromUri('//Alice').sign(stringToU8a('abc'))`
  // (@polkadot/keyring 14.0.3); the digest is `blake2AsU8a('abc', 256)`, so signing it prehashed
  // must agree.
  const std::string alice_abc =
      "0xd4379d03112803fd880828dce2d451f7d4e97e75c24198a3258c53532a78ba0d6f2b48593acbae0a3e7604cc8d"
      "6fba4ec05eca6ab0995780d6ce875529323f7201";
  const std::string abc_digest =
      "0xbddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319";
  EXPECT_EQ(SignOk({"--scheme", "ecdsa", "--suri", "//Alice", "--message-hex", "0x616263"}),
            alice_abc);
  EXPECT_EQ(SignOk({"--scheme", "ecdsa", "--suri", "//Alice", "--message-hex", abc_digest,
                    "--prehashed"}),
            alice_abc);
  ExpectVerdict(Verify("ecdsa", kAliceEcdsa, "0x616263", alice_abc), true);
  ExpectVerdict(Verify("ecdsa", kAliceEcdsa, abc_digest, alice_abc, /*prehashed=*/true), true);
  ExpectVerdict(Verify("ecdsa", kAliceEcdsa, abc_digest, alice_abc, /*prehashed=*/false), false);
}

TEST(SignVerify, Sr25519OracleSignatureVerifies) {
  // `new Keyring({type: 'sr25519'}).addFromUri('//Alice').sign(stringToU8a('signerctl sr25519
  // oracle'))` (@polkadot/keyring 14.0.3).
  const std::string message = "0x7369676e657263746c2073723235353139206f7261636c65";
  const std::string signature =
      "0x6ae3091c57f8d07f68ee17ed9d3d1ff14f1e785b6a1d68dbeedde4e66159ae44cdde80dd844ea7fe12863384"
      "5de87b54734672ab477643980b0bda803d389b88";
  ExpectVerdict(Verify("sr25519", kAliceSr25519, message, signature), true);
  // The public key may be given as an SS58 address too.
  ExpectVerdict(
      Verify("sr25519", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", message, signature),
      true);
  ExpectVerdict(Verify("sr25519", kAliceSr25519, FlipHexDigit(message, 5), signature), false);
}

class RoundTripTest : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(RoundTripTest, SignatureVerifiesAndTamperingFails) {
  const auto& [scheme, public_key] = GetParam();
  const std::string message = "0x" + std::string(64, 'a');  // 32 bytes, like a block hash
  const std::string signature =
      SignOk({"--scheme", scheme, "--suri", "//Alice", "--message-hex", message});
  ASSERT_FALSE(signature.empty());
  ExpectVerdict(Verify(scheme, public_key, message, signature), true);
  ExpectVerdict(Verify(scheme, public_key, FlipHexDigit(message, 0), signature), false);
  ExpectVerdict(Verify(scheme, public_key, message, FlipHexDigit(signature, 10)), false);
  // Another key's public key (//Bob's) must not accept Alice's signature.
  const support::ProcessResult bob = RunSignerctl({"inspect", "--scheme", scheme, "//Bob"});
  ASSERT_EQ(bob.exit_code, 0) << bob.Describe();
  ExpectVerdict(Verify(scheme, bob.Json().value("public_key", ""), message, signature), false);
}

INSTANTIATE_TEST_SUITE_P(AllSchemes, RoundTripTest,
                         ::testing::Values(std::make_pair("sr25519", kAliceSr25519),
                                           std::make_pair("ed25519", kAliceEd25519),
                                           std::make_pair("ecdsa", kAliceEcdsa)));

TEST(SignVerify, EcdsaPrehashedRoundTrip) {
  const std::string digest = "0x" + std::string(64, '7');
  const std::string signature =
      SignOk({"--scheme", "ecdsa", "--suri", "//Alice", "--message-hex", digest, "--prehashed"});
  ExpectVerdict(Verify("ecdsa", kAliceEcdsa, digest, signature, /*prehashed=*/true), true);
  ExpectVerdict(Verify("ecdsa", kAliceEcdsa, FlipHexDigit(digest, 3), signature, true), false);
}

// ----- VRF -----

// BabeTranscript is BABE's slot-claim transcript for slot 0x1234, epoch 7 and randomness 0x42...;
// u64 values are little-endian.
std::string BabeTranscript(const std::string& slot_le_hex) {
  return R"({"label":"BABE","items":[["slot number",")" + slot_le_hex +
         R"("],["current epoch","0x0700000000000000"],["chain randomness","0x)" +
         std::string(64, '4') + R"("]],"extra":null})";
}

TEST(Vrf, BabeSignVerifyRoundTrip) {
  TempDir dir;
  const std::string transcript = dir.Write("babe.json", BabeTranscript("0x3412000000000000"));
  const std::string other_slot = dir.Write("other.json", BabeTranscript("0x3512000000000000"));

  const support::ProcessResult first =
      RunSignerctl({"vrf-sign", "--suri", "//Alice", "--transcript", transcript});
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  EXPECT_EQ(first.err, "");
  const nlohmann::json signed_once = first.Json();
  ASSERT_TRUE(signed_once.is_object()) << first.out;
  const std::string pre_output = signed_once.value("pre_output", "");
  const std::string proof = signed_once.value("proof", "");
  const std::string signature = signed_once.value("signature", "");
  EXPECT_EQ(pre_output.size(), 2u + 64u);
  EXPECT_EQ(proof.size(), 2u + 128u);
  EXPECT_EQ(signature, pre_output + proof.substr(2));

  // The pre-output is a function of key and input; the proof is randomised.
  const support::ProcessResult second =
      RunSignerctl({"vrf-sign", "--transcript", transcript}, {"SIGNER_SURI=//Alice"});
  ASSERT_EQ(second.exit_code, 0) << second.Describe();
  EXPECT_EQ(second.Json().value("pre_output", ""), pre_output);
  EXPECT_NE(second.Json().value("proof", ""), proof);

  auto vrf_verify = [](const std::string& public_key, const std::string& file,
                       const std::string& sig) {
    return RunSignerctl(
        {"vrf-verify", "--public", public_key, "--transcript", file, "--signature", sig});
  };
  ExpectVerdict(vrf_verify(kAliceSr25519, transcript, signature), true);
  ExpectVerdict(vrf_verify(kAliceSr25519, other_slot, signature), false);
  ExpectVerdict(vrf_verify(kAliceSr25519, transcript, FlipHexDigit(signature, 70)), false);
  ExpectVerdict(vrf_verify(kAliceSr25519, transcript, FlipHexDigit(signature, 4)), false);
  const support::ProcessResult bob = RunSignerctl({"inspect", "--scheme", "sr25519", "//Bob"});
  ExpectVerdict(vrf_verify(bob.Json().value("public_key", ""), transcript, signature), false);
}

TEST(Vrf, ExtraTranscriptIsBoundIntoTheProof) {
  TempDir dir;
  const std::string items = R"("items":[["slot number","0x0100000000000000"]])";
  const std::string with_extra =
      dir.Write("extra.json", R"({"label":"BABE",)" + items +
                                  R"(,"extra":{"label":"VRF","items":[["extra","0xdeadbeef"]]}})");
  const std::string other_extra =
      dir.Write("other.json", R"({"label":"BABE",)" + items +
                                  R"(,"extra":{"label":"VRF","items":[["extra","0xdeadbeee"]]}})");
  const support::ProcessResult run =
      RunSignerctl({"vrf-sign", "--suri", "//Alice", "--transcript", with_extra});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  const std::string signature = run.Json().value("signature", "");
  ExpectVerdict(RunSignerctl({"vrf-verify", "--public", kAliceSr25519, "--transcript", with_extra,
                              "--signature", signature}),
                true);
  ExpectVerdict(RunSignerctl({"vrf-verify", "--public", kAliceSr25519, "--transcript", other_extra,
                              "--signature", signature}),
                false);
}

TEST(Vrf, OracleSignatureVerifies) {
  // `sr25519VrfSign(stringToU8a('signerctl vrf oracle'), sr25519PairFromSeed(0x9d61...),
  // stringToU8a('substrate'))` (@polkadot/util-crypto 14.0.3 over @scure/sr25519 2.3.0), whose
  // input transcript is SigningContext: append("", ctx), append("sign-bytes", msg); no extra bytes
  // means the default extra transcript.
  TempDir dir;
  const std::string transcript = dir.Write(
      "ctx.json", R"({"label":"SigningContext","items":[["","0x737562737472617465"],)"
                  R"(["sign-bytes","0x7369676e657263746c20767266206f7261636c65"]],"extra":null})");
  const std::string signature =
      "0x0e5c5575afcccf565c2ec08758271406a4fbda7d35ab70df1e8c4b0042beec021fa9ed903de14fa973472e40"
      "574701ce81c8482e3a9defec21928b51a3cb7003f883b7fd0ccbf25ac22a4c472992ad91216fd62d959c4a1f8d"
      "53e948e7bf5502";
  const std::string public_key =
      "0x44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f";
  ExpectVerdict(RunSignerctl({"vrf-verify", "--public", public_key, "--transcript", transcript,
                              "--signature", signature}),
                true);
  // Our own pre-output for the same key and input must equal the oracle's (it is deterministic).
  const support::ProcessResult ours =
      RunSignerctl({"vrf-sign", "--suri", kSeed9d61, "--transcript", transcript});
  ASSERT_EQ(ours.exit_code, 0) << ours.Describe();
  EXPECT_EQ(ours.Json().value("pre_output", ""), signature.substr(0, 66));
}

// ----- bad input -----

struct BadInputCase {
  std::string name;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<std::string> secrets;  // none of these may appear in stderr
};

class BadInputTest : public ::testing::TestWithParam<BadInputCase> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    dir_->Write("malformed.json", R"({"label":"BABE","items":[["slot number",)");
    dir_->Write("not_array.json", R"({"label":"BABE","items":{"slot number":"0x00"}})");
    dir_->Write("bad_hex.json", R"({"label":"BABE","items":[["slot number","0xzz"]]})");
    dir_->Write("unknown_field.json", R"({"label":"BABE","items":[],"extras":null})");
    dir_->Write("label_number.json", R"({"label":7,"items":[]})");
    dir_->Write("item_triple.json", R"({"label":"BABE","items":[["a","0x00","0x01"]]})");
    dir_->Write("bad_extra.json", R"({"label":"BABE","items":[],"extra":[1]})");
    dir_->Write("deep.json", std::string(100000, '[') + std::string(100000, ']'));
    dir_->Write("transcript.json", R"({"label":"BABE","items":[],"extra":null})");
    dir_->Write("empty_suri", "\n", 0600);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

 public:
  static TempDir* dir_;
};

TempDir* BadInputTest::dir_ = nullptr;

// File names in cases are resolved against the suite's directory when they start with '@'.
std::vector<std::string> ResolveFiles(std::vector<std::string> args) {
  for (std::string& arg : args) {
    if (arg.starts_with("@")) {
      arg = BadInputTest::dir_->Path(arg.substr(1));
    }
  }
  return args;
}

TEST_P(BadInputTest, ExitsTwoWithOneStderrLine) {
  const BadInputCase& c = GetParam();
  const support::ProcessResult run = RunSignerctl(ResolveFiles(c.args), c.env);
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_EQ(run.out, "");
  ASSERT_FALSE(run.err.empty());
  EXPECT_EQ(run.err.back(), '\n') << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  for (const std::string& secret : c.secrets) {
    EXPECT_EQ(run.err.find(secret), std::string::npos) << "stderr repeats a secret: " << run.err;
  }
}

const std::vector<std::string> kSecretPieces = {kSecretSuri, "SecretJunction", "hunter2password"};
const std::string kSig64 = "0x" + std::string(128, '1');
// A valid phrase shape with a wrong checksum (the valid one ends in "about").
const std::string kBadChecksumPhrase =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
    "abandon//SecretJunction";

INSTANTIATE_TEST_SUITE_P(
    Cases, BadInputTest,
    ::testing::Values(
        BadInputCase{"NoArguments", {}, {}, {}},
        BadInputCase{"UnknownCommand", {"frobnicate", kSecretSuri}, {}, kSecretPieces},
        BadInputCase{"InspectMissingScheme", {"inspect", kSecretSuri}, {}, kSecretPieces},
        BadInputCase{
            "InspectUnknownScheme", {"inspect", "--scheme", "rsa", kSecretSuri}, {}, kSecretPieces},
        BadInputCase{"InspectSuriInSchemeSlot",
                     {"inspect", "--scheme", kSecretSuri, kSecretSuri},
                     {},
                     kSecretPieces},
        BadInputCase{"InspectTwoSuris",
                     {"inspect", "--scheme", "sr25519", "//Alice", kSecretSuri},
                     {},
                     kSecretPieces},
        BadInputCase{"InspectNoSuri", {"inspect", "--scheme", "sr25519"}, {}, {}},
        BadInputCase{"InspectEmptySuri", {"inspect", "--scheme", "sr25519", ""}, {}, {}},
        BadInputCase{
            "InspectNotAPhrase",
            {"inspect", "--scheme", "sr25519", "correct horse battery staple//SecretJunction"},
            {},
            {"correct", "horse", "battery", "staple", "SecretJunction"}},
        BadInputCase{"InspectBadChecksum",
                     {"inspect", "--scheme", "sr25519", kBadChecksumPhrase},
                     {},
                     {kBadChecksumPhrase, "abandon", "SecretJunction"}},
        BadInputCase{"InspectBadSeedHex",
                     {"inspect", "--scheme", "ed25519", "0x9d61zz//SecretJunction"},
                     {},
                     {"9d61zz", "SecretJunction"}},
        BadInputCase{"InspectSoftJunctionEd25519",
                     {"inspect", "--scheme", "ed25519", "//Alice/SecretSoft"},
                     {},
                     {"SecretSoft"}},
        BadInputCase{"InspectSoftJunctionEcdsa",
                     {"inspect", "--scheme", "ecdsa", "//Alice/SecretSoft"},
                     {},
                     {"SecretSoft"}},
        BadInputCase{"InspectReservedNetwork",
                     {"inspect", "--scheme", "sr25519", "--network", "46", kSecretSuri},
                     {},
                     kSecretPieces},
        BadInputCase{"InspectNetworkTooLarge",
                     {"inspect", "--scheme", "sr25519", "--network", "16384", kSecretSuri},
                     {},
                     kSecretPieces},
        BadInputCase{"InspectNetworkNotANumber",
                     {"inspect", "--scheme", "sr25519", "--network", "polkadot", kSecretSuri},
                     {},
                     kSecretPieces},
        BadInputCase{
            "InspectSuriFileAndInline",
            {"inspect", "--scheme", "sr25519", "--suri-file", "@transcript.json", kSecretSuri},
            {},
            kSecretPieces},
        BadInputCase{"InspectSuriFileMissing",
                     {"inspect", "--scheme", "sr25519", "--suri-file", "@no_such_file"},
                     {},
                     {}},
        BadInputCase{"InspectSuriFileEmptyLine",
                     {"inspect", "--scheme", "sr25519", "--suri-file", "@empty_suri"},
                     {},
                     {}},
        BadInputCase{"InspectSuriFileIsDirectory",
                     {"inspect", "--scheme", "sr25519", "--suri-file", "@"},
                     {},
                     {}},
        BadInputCase{"InspectBadSuriFromEnvironment",
                     {"inspect", "--scheme", "sr25519"},
                     {"SIGNER_SURI=not a phrase//SecretJunction"},
                     {"SecretJunction", "phrase"}},
        BadInputCase{"SignMissingMessage",
                     {"sign", "--scheme", "sr25519", "--suri", kSecretSuri},
                     {},
                     kSecretPieces},
        BadInputCase{
            "SignBadHex",
            {"sign", "--scheme", "sr25519", "--suri", kSecretSuri, "--message-hex", "0xzz"},
            {},
            kSecretPieces},
        BadInputCase{
            "SignOddHex",
            {"sign", "--scheme", "ed25519", "--suri", kSecretSuri, "--message-hex", "0xabc"},
            {},
            kSecretPieces},
        BadInputCase{
            "SignUnknownScheme",
            {"sign", "--scheme", "sr25520", "--suri", kSecretSuri, "--message-hex", "0x00"},
            {},
            kSecretPieces},
        BadInputCase{"SignSuriAsExtraArgument",
                     {"sign", "--scheme", "sr25519", "--message-hex", "0x00", kSecretSuri},
                     {},
                     kSecretPieces},
        BadInputCase{"SignSuriWithEqualsAndExtra",
                     {"sign", "--scheme", "sr25519", "--message-hex", "0x00",
                      std::string("--suri=") + kSecretSuri, "stray"},
                     {},
                     kSecretPieces},
        BadInputCase{
            "SignNoSuri", {"sign", "--scheme", "sr25519", "--message-hex", "0x00"}, {}, {}},
        BadInputCase{"SignPrehashedSr25519",
                     {"sign", "--scheme", "sr25519", "--suri", kSecretSuri, "--message-hex",
                      "0x" + std::string(64, '0'), "--prehashed"},
                     {},
                     kSecretPieces},
        BadInputCase{"SignPrehashedWrongLength",
                     {"sign", "--scheme", "ecdsa", "--suri", kSecretSuri, "--message-hex",
                      "0x" + std::string(62, '0'), "--prehashed"},
                     {},
                     kSecretPieces},
        BadInputCase{
            "VerifyMissingSignature",
            {"verify", "--scheme", "ed25519", "--public", kAliceEd25519, "--message-hex", "0x00"},
            {},
            {}},
        BadInputCase{"VerifyShortPublicKey",
                     {"verify", "--scheme", "ecdsa", "--public", kAliceSr25519, "--message-hex",
                      "0x00", "--signature", "0x" + std::string(130, '1')},
                     {},
                     {}},
        BadInputCase{"VerifyPublicNeitherHexNorSs58",
                     {"verify", "--scheme", "sr25519", "--public", "5GrwvaEF5zXb26Fz9rcQpDWS57Ct",
                      "--message-hex", "0x00", "--signature", kSig64},
                     {},
                     {}},
        BadInputCase{"VerifyShortSignature",
                     {"verify", "--scheme", "sr25519", "--public", kAliceSr25519, "--message-hex",
                      "0x00", "--signature", "0x" + std::string(126, '1')},
                     {},
                     {}},
        BadInputCase{"VerifyBadSignatureHex",
                     {"verify", "--scheme", "ed25519", "--public", kAliceEd25519, "--message-hex",
                      "0x00", "--signature", "0x" + std::string(126, '1') + "g1"},
                     {},
                     {}},
        BadInputCase{"VerifyPrehashedEd25519",
                     {"verify", "--scheme", "ed25519", "--public", kAliceEd25519, "--message-hex",
                      "0x" + std::string(64, '0'), "--signature", kSig64, "--prehashed"},
                     {},
                     {}},
        BadInputCase{"VrfSignMissingTranscriptOption",
                     {"vrf-sign", "--suri", kSecretSuri},
                     {},
                     kSecretPieces},
        BadInputCase{"VrfSignTranscriptMissing",
                     {"vrf-sign", "--suri", kSecretSuri, "--transcript", "@no_such.json"},
                     {},
                     kSecretPieces},
        BadInputCase{"VrfSignTranscriptIsDirectory",
                     {"vrf-sign", "--suri", kSecretSuri, "--transcript", "@"},
                     {},
                     kSecretPieces},
        BadInputCase{"VrfSignMalformedJson",
                     {"vrf-sign", "--suri", kSecretSuri, "--transcript", "@malformed.json"},
                     {},
                     kSecretPieces},
        BadInputCase{"VrfSignItemsNotArray",
                     {"vrf-sign", "--suri", kSecretSuri, "--transcript", "@not_array.json"},
                     {},
                     kSecretPieces},
        BadInputCase{"VrfSignItemNotHex",
                     {"vrf-sign", "--suri", kSecretSuri, "--transcript", "@bad_hex.json"},
                     {},
                     kSecretPieces},
        BadInputCase{"VrfSignUnknownField",
                     {"vrf-sign", "--suri", kSecretSuri, "--transcript", "@unknown_field.json"},
                     {},
                     kSecretPieces},
        BadInputCase{"VrfSignLabelNotString",
                     {"vrf-sign", "--suri", kSecretSuri, "--transcript", "@label_number.json"},
                     {},
                     kSecretPieces},
        BadInputCase{"VrfSignItemTriple",
                     {"vrf-sign", "--suri", kSecretSuri, "--transcript", "@item_triple.json"},
                     {},
                     kSecretPieces},
        BadInputCase{"VrfSignExtraNotObject",
                     {"vrf-sign", "--suri", kSecretSuri, "--transcript", "@bad_extra.json"},
                     {},
                     kSecretPieces},
        BadInputCase{"VrfSignDeeplyNested",
                     {"vrf-sign", "--suri", kSecretSuri, "--transcript", "@deep.json"},
                     {},
                     kSecretPieces},
        BadInputCase{
            "VrfSignInvalidSuri",
            {"vrf-sign", "--suri", "0x1234//SecretJunction", "--transcript", "@transcript.json"},
            {},
            {"0x1234", "SecretJunction"}},
        BadInputCase{"VrfVerifyShortSignature",
                     {"vrf-verify", "--public", kAliceSr25519, "--transcript", "@transcript.json",
                      "--signature", kSig64},
                     {},
                     {}},
        BadInputCase{"VrfVerifyEcdsaLengthPublic",
                     {"vrf-verify", "--public", kAliceEcdsa, "--transcript", "@transcript.json",
                      "--signature", "0x" + std::string(192, '1')},
                     {},
                     {}}),
    [](const ::testing::TestParamInfo<BadInputCase>& param_info) { return param_info.param.name; });

TEST(Help, PrintsUsageAndSucceeds) {
  const support::ProcessResult run = RunSignerctl({"--help"});
  EXPECT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_NE(run.out.find("vrf-sign"), std::string::npos);
  EXPECT_NE(run.out.find("SIGNER_SURI"), std::string::npos);
}

}  // namespace
