// End to end: a real signerd process over mTLS, a SoftHSM2 token, a dev PKI and the C++ gRPC
// client.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "base/hash.h"
#include "base/hex.h"
#include "keymgr/keypair.h"
#include "keymgr/pkcs11_custody.h"
#include "remote_keystore.grpc.pb.h"
#include "support/bytes.h"
#include "support/dev_pki.h"
#include "support/environment.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/softhsm.h"
#include "support/temp_dir.h"
#include "support/well_known_keys.h"
#include "tls/certificate.h"
#include "tls/grpc_credentials.h"

namespace {

namespace fs = std::filesystem;
namespace pb = parity::polkadot::signer;

constexpr char kPin[] = "e2e-user-pin";
const std::string kAliceEd25519(support::kAliceEd25519.hex());
const std::string kAliceSr25519(support::kAliceSr25519.hex());
const std::string kAliceEcdsa(support::kAliceEcdsa.hex());
constexpr char kGenesis[] = "91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";

std::string Bytes(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

// GrandpaVote builds the 53-byte localized payload of the spec (section 4).
std::string GrandpaVote(uint8_t stage, uint8_t hash_byte, uint32_t number, uint64_t round,
                        uint64_t set_id) {
  std::string out(1, static_cast<char>(stage));
  out.append(32, static_cast<char>(hash_byte));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(number >> (8 * i)));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(round >> (8 * i)));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(set_id >> (8 * i)));
  return out;
}

class SignerdE2eTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new support::TempDir("signerd_e2e");
    const fs::path& dir = dir_->path();
    auto softhsm = support::SoftHsm::Create(dir);
    ASSERT_TRUE(softhsm.ok()) << softhsm.status().message();
    const base::Status token = softhsm->InitToken("e2e", kPin, "e2e-so-pin");
    ASSERT_TRUE(token.ok()) << token.message();
    // Inherited by signerd; this process opens the token with it below.
    softhsm_conf_ =
        new support::ScopedEnvironmentVariable("SOFTHSM2_CONF", softhsm->config_path().string());
    ASSERT_TRUE(support::WriteFile(dir / "hsm.pin", kPin, 0600).ok());

    // Put //Alice's GRANDPA key on the token, then let go of it: signerd opens it on its own.
    {
      keymgr::Pkcs11Config hsm;
      hsm.module_path = SIGNER_SOFTHSM2_MODULE;
      hsm.token_label = "e2e";
      auto pin = keymgr::ReadPinFromFile((dir / "hsm.pin").string());
      ASSERT_TRUE(pin.ok());
      hsm.pin = std::move(*pin);
      auto custody = keymgr::Pkcs11Custody::Open(std::move(hsm));
      ASSERT_TRUE(custody.ok()) << custody.status().message();
      auto alice = keymgr::KeypairFromSuri(base::Scheme::kEd25519, "//Alice");
      ASSERT_TRUE(alice.ok());
      ASSERT_EQ(base::HexEncode(alice->public_key()), kAliceEd25519);
      auto imported = (*custody)->Import(*base::MakeKeyTypeId("gran"), *alice);
      ASSERT_TRUE(imported.ok()) << imported.status().message();
      auto alice_sr = keymgr::KeypairFromSuri(base::Scheme::kSr25519, "//Alice");
      ASSERT_TRUE(alice_sr.ok());
      ASSERT_EQ(base::HexEncode(alice_sr->public_key()), kAliceSr25519);
      imported = (*custody)->Import(*base::MakeKeyTypeId("babe"), *alice_sr);
      ASSERT_TRUE(imported.ok()) << imported.status().message();
      imported = (*custody)->Import(*base::MakeKeyTypeId("para"), *alice_sr);
      ASSERT_TRUE(imported.ok()) << imported.status().message();
      auto alice_ecdsa = keymgr::KeypairFromSuri(base::Scheme::kEcdsa, "//Alice");
      ASSERT_TRUE(alice_ecdsa.ok());
      ASSERT_EQ(base::HexEncode(alice_ecdsa->public_key()), kAliceEcdsa);
      imported = (*custody)->Import(*base::MakeKeyTypeId("beef"), *alice_ecdsa);
      ASSERT_TRUE(imported.ok()) << imported.status().message();
    }

    auto files = support::MakeDevPki(dir / "pki", {"validator-alice", "intruder"});
    ASSERT_TRUE(files.ok()) << files.status().message();

    const std::string& ed = kAliceEd25519;
    const std::string& sr = kAliceSr25519;
    const std::string& ec = kAliceEcdsa;
    ASSERT_TRUE(
        support::WriteFile(
            dir / "policy.yaml",
            "identities:\n"
            "  validator-alice:\n"
            "    - {key_types: [gran], operations: [sign, list], public_keys: [\"" +
                ed +
                "\"]}\n"
                "    - {key_types: [babe], operations: [sign, vrf, list], public_keys: [\"" +
                sr +
                "\"]}\n"
                "    - {key_types: [para], operations: [sign], public_keys: [\"" +
                sr +
                "\"]}\n"
                "    - {key_types: [beef], operations: [sign], public_keys: [\"" +
                ec +
                "\"]}\n"
                "    - {key_types: [audi], operations: [insert, list], public_keys: [\"" +
                sr +
                "\"]}\n"
                "    - {key_types: [imon], operations: [insert, sign], public_keys: [\"" +
                sr +
                "\"]}\n"
                "    - {key_types: [acco], operations: [insert, sign], public_keys: [\"" +
                ed +
                "\"]}\n"
                "  intruder: []\n",
            0600)
            .ok());
    ASSERT_TRUE(support::WriteFile(
                    dir / "signerd.yaml",
                    std::string("signer_id: e2e\nhsm:\n  module: ") + SIGNER_SOFTHSM2_MODULE +
                        "\n  token_label: e2e\n  pin_file: hsm.pin\nhistory:\n  data_dir: history\n"
                        "  genesis_hash: \"0x" +
                        kGenesis +
                        "\"\nserver:\n  listen: \"127.0.0.1:0\"\n"
                        "  tls:\n    cert_file: pki/server.crt\n    key_file: pki/server.key\n"
                        "    client_ca_file: pki/ca.crt\n  policy_file: policy.yaml\n"
                        "  audit_log: audit.jsonl\n  max_in_flight: 32\n  worker_threads: 2\n"
                        "  metrics_listen: \"127.0.0.1:0\"\n",
                    0600)
                    .ok());
    StartSignerd();
  }

  static void StartSignerd() {
    support::ChildOptions options;
    options.stderr_file = dir_->path() / "signerd.log";
    // Start signerd with core dumps allowed (as far as we may), so that it must turn them off: it
    // inherits this process's limit, which is put back right after.
    rlimit core{};
    ::getrlimit(RLIMIT_CORE, &core);
    rlimit allowed = core;
    allowed.rlim_cur = core.rlim_max;
    const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    if (::setrlimit(RLIMIT_CORE, &unlimited) != 0) ::setrlimit(RLIMIT_CORE, &allowed);
    auto started = support::ChildProcess::Start(
        {support::Location("signerd"), "--config", (dir_->path() / "signerd.yaml").string()},
        options);
    ::setrlimit(RLIMIT_CORE, &core);
    ASSERT_TRUE(started.ok()) << started.status().message();
    signerd_ = new support::ChildProcess(std::move(started).value());
    // Wait for the two lines that say the listeners are up (gRPC, then metrics), and take the
    // ports from them. Both are read before the pipe is closed, so signerd never writes to a
    // closed pipe.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    const auto next_line = [&] {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          give_up - std::chrono::steady_clock::now());
      return signerd_->ReadLine(left).value_or("");
    };
    const std::string listening = next_line();
    const std::string metrics = next_line();
    signerd_->CloseStdout();
    const std::string prefix = "signerd listening on 127.0.0.1:";
    ASSERT_EQ(listening.rfind(prefix, 0), 0u) << "signerd said: " << listening << "\nlog:\n"
                                              << support::ReadFile(dir_->path() / "signerd.log");
    port_ = std::stoi(listening.substr(prefix.size()));
    ASSERT_GT(port_, 0);
    const std::string metrics_prefix = "signerd metrics on 127.0.0.1:";
    ASSERT_EQ(metrics.rfind(metrics_prefix, 0), 0u) << "signerd said: " << metrics;
    metrics_port_ = std::stoi(metrics.substr(metrics_prefix.size()));
    ASSERT_GT(metrics_port_, 0);
  }

  // StopSignerd sends `signal` to signerd and waits for it.
  static void StopSignerd(int signal) {
    if (signerd_ == nullptr) return;
    signerd_->Stop(signal);
    delete signerd_;
    signerd_ = nullptr;
  }

  static void TearDownTestSuite() {
    StopSignerd(SIGTERM);
    delete softhsm_conf_;
    softhsm_conf_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  static std::unique_ptr<pb::RemoteKeystore::Stub> Client(const std::string& identity) {
    auto credentials = support::DevPkiClientCredentials(dir_->path() / "pki", identity);
    EXPECT_TRUE(credentials.ok()) << credentials.status().message();
    return pb::RemoteKeystore::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), *credentials));
  }

  static grpc::Status Sign(pb::RemoteKeystore::Stub& stub, const std::string& vote,
                           pb::SignWithReply& reply) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::SignWithRequest request;
    request.set_key_type("gran");
    request.set_crypto_type("ed25519");
    request.set_public_key(Bytes(*base::HexDecode(kAliceEd25519)));
    request.set_message(vote);
    return stub.SignWith(&context, request, &reply);
  }

  // HttpGet sends one plain GET over loopback to the metrics port and returns the response.
  static std::string HttpGet(const std::string& path) {
    return support::HttpRequest(metrics_port_, "GET", path);
  }

  // Scrape returns the body of GET /metrics (empty unless the answer was 200).
  static std::string Scrape() {
    const std::string response = HttpGet("/metrics");
    const size_t body = response.find("\r\n\r\n");
    if (response.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) return "";
    return response.substr(body + 4);
  }

  // Sample is the value of one series as rendered (name and labels), 0 when it is absent: the
  // counters of a label set appear on first use.
  static double Sample(const std::string& text, const std::string& series) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return 0;
  }

  static support::TempDir* dir_;
  static support::ScopedEnvironmentVariable* softhsm_conf_;
  static support::ChildProcess* signerd_;
  static int port_;
  static int metrics_port_;
};

support::TempDir* SignerdE2eTest::dir_ = nullptr;
support::ScopedEnvironmentVariable* SignerdE2eTest::softhsm_conf_ = nullptr;
support::ChildProcess* SignerdE2eTest::signerd_ = nullptr;
int SignerdE2eTest::port_ = 0;
int SignerdE2eTest::metrics_port_ = 0;

TEST_F(SignerdE2eTest, GrandpaVoteSignedResignAllowedEquivocationRefused) {
  auto alice = Client("validator-alice");
  const std::string vote = GrandpaVote(0, 0xaa, 1000, 42, 5);
  pb::SignWithReply reply;
  grpc::Status status = Sign(*alice, vote, reply);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  ASSERT_EQ(reply.signature().error(), pb::REMOTE_KEYSTORE_ERROR_UNKNOWN);
  const std::string& signature = reply.signature().signature();
  const auto public_key = *base::HexDecode(kAliceEd25519);
  EXPECT_TRUE(keymgr::VerifySignature(
      base::Scheme::kEd25519, public_key,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(vote.data()), vote.size()),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(signature.data()),
                               signature.size())));
  EXPECT_EQ(reply.signature().crypto_type(), "ed25519");

  pb::SignWithReply again;
  status = Sign(*alice, vote, again);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(again.signature().signature().empty());

  pb::SignWithReply conflicting;
  status = Sign(*alice, GrandpaVote(0, 0xbb, 1001, 42, 5), conflicting);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("set_id=5 round=42"), std::string::npos)
      << status.error_message();
  EXPECT_TRUE(conflicting.signature().signature().empty());
}

TEST_F(SignerdE2eTest, IntruderIsPermissionDenied) {
  auto intruder = Client("intruder");
  pb::SignWithReply reply;
  grpc::Status status = Sign(*intruder, GrandpaVote(0, 0xcc, 2000, 77, 5), reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_TRUE(reply.signature().signature().empty());
  // The denial is in the audit log and in signerd's own log.
  const std::string audit_text = support::ReadFile(dir_->path() / "audit.jsonl");
  EXPECT_NE(audit_text.find(R"("identity":"intruder")"), std::string::npos);
  const std::string log_text = support::ReadFile(dir_->path() / "signerd.log");
  EXPECT_NE(log_text.find(R"(event=decision verdict=denied identity="intruder")"),
            std::string::npos)
      << log_text;
}

TEST_F(SignerdE2eTest, NoClientCertificateFailsTheHandshake) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = support::ReadFile(dir_->path() / "pki" / "ca.crt");
  auto stub = pb::RemoteKeystore::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::SslCredentials(options)));
  pb::SignWithReply reply;
  grpc::Status status = Sign(*stub, GrandpaVote(0, 0xdd, 3000, 88, 5), reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(reply.signature().signature().empty());
}

TEST_F(SignerdE2eTest, ListingAndUnknownKeysFollowTheStatusMapping) {
  auto alice = Client("validator-alice");
  {
    grpc::ClientContext context;
    pb::Ed25519PublicKeysRequest request;
    request.set_key_type("gran");
    pb::Ed25519PublicKeysReply reply;
    ASSERT_TRUE(alice->Ed25519PublicKeys(&context, request, &reply).ok());
    ASSERT_EQ(reply.public_keys_size(), 1);
    EXPECT_EQ(reply.public_keys(0), Bytes(*base::HexDecode(kAliceEd25519)));
  }
  {
    grpc::ClientContext context;
    pb::SignWithRequest request;
    request.set_key_type("gran");
    request.set_crypto_type("ed25519");
    request.set_public_key(std::string(32, '\x01'));
    request.set_message(GrandpaVote(0, 0xaa, 1, 1, 1));
    pb::SignWithReply reply;
    ASSERT_TRUE(alice->SignWith(&context, request, &reply).ok());
    EXPECT_EQ(reply.signature().error(), pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
    EXPECT_TRUE(reply.signature().signature().empty());
  }
  {
    grpc::ClientContext context;
    pb::SignWithRequest request;
    request.set_key_type("gran");
    request.set_crypto_type("rsa");
    request.set_public_key(Bytes(*base::HexDecode(kAliceEd25519)));
    pb::SignWithReply reply;
    EXPECT_EQ(alice->SignWith(&context, request, &reply).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(SignerdE2eTest, HealthServiceReportsServing) {
  const fs::path pki = dir_->path() / "pki";
  auto credentials = tls::ClientChannelCredentials(
      {pki / "ca.crt", pki / "validator-alice.crt", pki / "validator-alice.key"});
  ASSERT_TRUE(credentials.ok());
  grpc::GenericStub stub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), *credentials));
  // grpc.health.v1.HealthCheckRequest{service: ""} encodes to no bytes; the reply
  // HealthCheckResponse{status: SERVING (1)} encodes to field 1 varint 1: 08 01.
  grpc::Slice empty_slice(std::string{});
  grpc::ByteBuffer request(&empty_slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status status) { done.set_value(status); });
  const grpc::Status status = done.get_future().get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
}

TEST_F(SignerdE2eTest, CoreDumpsAreDisabled) {
  // RLIMIT_CORE is visible in /proc. PR_SET_DUMPABLE 0 shows from outside only as /proc files
  // owned by root, which proves nothing when the test itself runs as root, so it is not checked.
  std::ifstream limits("/proc/" + std::to_string(signerd_->pid()) + "/limits");
  std::string line;
  bool found = false;
  while (std::getline(limits, line)) {
    if (line.rfind("Max core file size", 0) == 0) {
      found = true;
      std::istringstream fields(line.substr(std::string("Max core file size").size()));
      std::string soft;
      std::string hard;
      fields >> soft >> hard;
      EXPECT_EQ(soft, "0");
      EXPECT_EQ(hard, "0");
    }
  }
  EXPECT_TRUE(found);
}

pb::Sr25519VrfSignRequest::VrfTranscriptData BabeTranscript(uint64_t slot) {
  pb::Sr25519VrfSignRequest::VrfTranscriptData data;
  data.set_label("BABE");
  std::string slot_bytes;
  for (int i = 0; i < 8; ++i) slot_bytes.push_back(static_cast<char>(slot >> (8 * i)));
  auto* item = data.add_items();
  item->set_label("slot number");
  item->set_value(slot_bytes);
  item = data.add_items();
  item->set_label("current epoch");
  item->set_value(std::string(8, '\x02'));
  item = data.add_items();
  item->set_label("chain randomness");
  item->set_value(std::string(32, '\x03'));
  return data;
}

TEST_F(SignerdE2eTest, VrfSignatureOverTheWireVerifies) {
  auto alice = Client("validator-alice");
  pb::Sr25519VrfSignRequest request;
  request.set_key_type("babe");
  request.set_public_key(Bytes(*base::HexDecode(kAliceSr25519)));
  *request.mutable_transcript_data() = BabeTranscript(12345);
  pb::Sr25519VrfSignReply reply;
  {
    grpc::ClientContext context;
    const grpc::Status status = alice->Sr25519VrfSign(&context, request, &reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const auto& wire = reply.signature();
  ASSERT_EQ(wire.output().size(), 32u);
  ASSERT_EQ(wire.challenge().size(), 32u);
  ASSERT_EQ(wire.proof().size(), 32u);
  keymgr::Sr25519VrfSignature signature;
  std::copy(wire.output().begin(), wire.output().end(), signature.pre_output.begin());
  const std::string proof = wire.challenge() + wire.proof();
  std::copy(proof.begin(), proof.end(), signature.proof.begin());
  keymgr::VrfTranscriptData input;
  input.label = "BABE";
  for (const auto& item : request.transcript_data().items()) {
    input.items.emplace_back(item.label(),
                             std::vector<uint8_t>(item.value().begin(), item.value().end()));
  }
  EXPECT_TRUE(keymgr::Sr25519VrfVerify(*base::HexDecode(kAliceSr25519), input.Build(), std::nullopt,
                                       signature));
  // Another slot's transcript does not verify with this proof.
  keymgr::VrfTranscriptData other = input;
  other.items[0].second[0] ^= 1;
  EXPECT_FALSE(keymgr::Sr25519VrfVerify(*base::HexDecode(kAliceSr25519), other.Build(),
                                        std::nullopt, signature));

  // The pre-output RPC agrees with the signature's pre-output.
  pb::Sr25519VrfPreOutputRequest pre_request;
  pre_request.set_key_type("babe");
  pre_request.set_public_key(request.public_key());
  *pre_request.mutable_transcript_data() = request.transcript_data();
  pb::Sr25519VrfPreOutputReply pre_reply;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(alice->Sr25519VrfPreOutput(&context, pre_request, &pre_reply).ok());
  }
  EXPECT_EQ(pre_reply.pre_output(), wire.output());

  // The seed's unlabelled values cannot describe a Merlin transcript.
  request.mutable_transcript_data()->add_values()->set_uint64_value(1);
  grpc::ClientContext context;
  EXPECT_EQ(alice->Sr25519VrfSign(&context, request, &reply).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SignerdE2eTest, SignWithAllKeysAndHasKeys) {
  auto alice = Client("validator-alice");
  const std::string alice_key = Bytes(*base::HexDecode(kAliceEd25519));
  const std::string unknown_key(32, '\x07');
  const std::string vote = GrandpaVote(1, 0x11, 7000, 300, 6);
  pb::SignWithAllRequest request;
  request.set_key_type("gran");
  request.set_crypto_type("ed25519");
  request.add_public_keys(alice_key);
  request.add_public_keys(unknown_key);
  request.set_message(vote);
  pb::SignWithAllReply reply;
  {
    grpc::ClientContext context;
    const grpc::Status status = alice->SignWithAll(&context, request, &reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_EQ(reply.signatures_size(), 2);
  const std::string& signature = reply.signatures(0).signature();
  EXPECT_TRUE(keymgr::VerifySignature(
      base::Scheme::kEd25519, *base::HexDecode(kAliceEd25519),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(vote.data()), vote.size()),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(signature.data()),
                               signature.size())));
  EXPECT_EQ(reply.signatures(1).error(), pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
  EXPECT_TRUE(reply.signatures(1).signature().empty());

  pb::KeysRequest keys_request;
  keys_request.set_key_type("gran");
  pb::KeysReply keys_reply;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(alice->Keys(&context, keys_request, &keys_reply).ok());
  }
  ASSERT_EQ(keys_reply.public_keys_size(), 1);
  EXPECT_EQ(keys_reply.public_keys(0), alice_key);

  pb::HasKeysRequest has_request;
  auto* ref = has_request.add_keys();
  ref->set_key_type("gran");
  ref->set_public_key(alice_key);
  pb::HasKeysReply has_reply;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(alice->HasKeys(&context, has_request, &has_reply).ok());
  }
  EXPECT_TRUE(has_reply.all_present());
  ref = has_request.add_keys();
  ref->set_key_type("gran");
  ref->set_public_key(unknown_key);
  {
    grpc::ClientContext context;
    ASSERT_TRUE(alice->HasKeys(&context, has_request, &has_reply).ok());
  }
  EXPECT_FALSE(has_reply.all_present());
}

grpc::Status CallKeys(const std::shared_ptr<grpc::ChannelCredentials>& credentials, int port) {
  auto stub = pb::RemoteKeystore::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), credentials));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  pb::KeysRequest request;
  request.set_key_type("gran");
  pb::KeysReply reply;
  return stub->Keys(&context, request, &reply);
}

TEST_F(SignerdE2eTest, SighupReloadsCertificatesWithoutRestart) {
  const fs::path pki = dir_->path() / "pki";
  const tls::ClientCredentialFiles alice_files = support::DevPkiClientFiles(pki, "validator-alice");
  auto old_credentials = tls::ClientChannelCredentials(alice_files);
  ASSERT_TRUE(old_credentials.ok());
  ASSERT_TRUE(CallKeys(*old_credentials, port_).ok());

  // A whole new PKI (new CA) replaces the files; signerd must pick it up on SIGHUP alone.
  tls::DevPkiOptions options;
  options.directory = pki;
  options.client_identities = {"validator-alice", "intruder"};
  options.overwrite = true;
  options.validity_days = 10;  // inside the 14-day alert window, unlike the first PKI
  const std::string expiry_series = "signer_tls_certificate_expiry_seconds{certificate=\"server\"}";
  const double expiry_before = Sample(Scrape(), expiry_series);
  EXPECT_GT(expiry_before, 300 * 86400.0);
  ASSERT_TRUE(tls::CreateDevPki(options).ok());
  ASSERT_TRUE(signerd_->Signal(SIGHUP).ok());
  auto new_credentials = tls::ClientChannelCredentials(alice_files);
  ASSERT_TRUE(new_credentials.ok());
  grpc::Status status;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  do {
    status = CallKeys(*new_credentials, port_);
    if (!status.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (!status.ok() && std::chrono::steady_clock::now() < give_up);
  EXPECT_TRUE(status.ok()) << status.error_message();
  // The same process and port serve the new PKI only: the old CA's client is refused.
  EXPECT_TRUE(signerd_->Running());
  EXPECT_EQ(CallKeys(*old_credentials, port_).error_code(), grpc::StatusCode::UNAVAILABLE);
  // The expiry metric follows the reload.
  const double expiry_after = Sample(Scrape(), expiry_series);
  EXPECT_GT(expiry_after, 9 * 86400.0);
  EXPECT_LT(expiry_after, 10 * 86400.0 + 3600);
}

// Grants change on SIGHUP without a restart; a policy that does not parse keeps the last good one.
// The original policy is put back at the end, since the signerd process is shared by every test.
TEST_F(SignerdE2eTest, SighupReloadsThePolicyAndABrokenPolicyKeepsTheLastGrants) {
  const fs::path policy_path = dir_->path() / "policy.yaml";
  const std::string original = support::ReadFile(policy_path);
  const std::string no_grant = "  intruder: []\n";
  const size_t at = original.find(no_grant);
  ASSERT_NE(at, std::string::npos);
  std::string granting = original;
  granting.replace(at, no_grant.size(),
                   std::string("  intruder:\n    - {key_types: [gran], operations: [sign], "
                               "public_keys: [\"") +
                       kAliceEd25519 + "\"]}\n");
  const std::string ok_series = "signer_policy_reloads_total{result=\"ok\"}";
  const std::string failed_series = "signer_policy_reloads_total{result=\"failed\"}";
  // SignUntil resends one vote until its code is `wanted` or 15 s pass, and returns the last code.
  auto intruder = Client("intruder");
  const auto sign_until = [&](const std::string& vote, grpc::StatusCode wanted) {
    pb::SignWithReply reply;
    grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (;;) {
      code = Sign(*intruder, vote, reply).error_code();
      if (code == wanted || std::chrono::steady_clock::now() >= give_up) return code;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };

  pb::SignWithReply reply;
  ASSERT_EQ(Sign(*intruder, GrandpaVote(0, 0x41, 12000, 700, 41), reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const double ok_before = Sample(Scrape(), ok_series);
  ASSERT_TRUE(support::WriteFile(policy_path, granting, 0600).ok());
  ASSERT_TRUE(signerd_->Signal(SIGHUP).ok());
  EXPECT_EQ(sign_until(GrandpaVote(0, 0x41, 12000, 700, 41), grpc::StatusCode::OK),
            grpc::StatusCode::OK);
  EXPECT_EQ(Sample(Scrape(), ok_series) - ok_before, 1);

  // A broken file is refused; the grants loaded last stay in force. The failure is counted, so
  // poll the counter rather than guess when the signal was handled.
  const double failed_before = Sample(Scrape(), failed_series);
  ASSERT_TRUE(support::WriteFile(policy_path, "identities:\n  intruder: [\n", 0600).ok());
  ASSERT_TRUE(signerd_->Signal(SIGHUP).ok());
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (Sample(Scrape(), failed_series) == failed_before &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(Sample(Scrape(), failed_series) - failed_before, 1);
  EXPECT_EQ(Sign(*intruder, GrandpaVote(0, 0x42, 12001, 701, 41), reply).error_code(),
            grpc::StatusCode::OK);
  EXPECT_TRUE(signerd_->Running());

  ASSERT_TRUE(support::WriteFile(policy_path, original, 0600).ok());
  ASSERT_TRUE(signerd_->Signal(SIGHUP).ok());
  EXPECT_EQ(sign_until(GrandpaVote(0, 0x43, 12002, 702, 41), grpc::StatusCode::PERMISSION_DENIED),
            grpc::StatusCode::PERMISSION_DENIED);
}

// BabeHeader SCALE-encodes a header as the spec (section 4) describes: parent_hash ++
// compact(number) ++ state_root ++ extrinsics_root ++ digest, where the digest holds one
// PreRuntime(b"BABE", SecondaryPlain{authority_index u32, slot u64}) item.
std::string BabeHeader(uint8_t number, uint64_t slot, uint8_t state_root_byte) {
  std::string out(32, '\x01');                         // parent hash
  out.push_back(static_cast<char>(number << 2));       // compact, single-byte mode (< 64)
  out.append(32, static_cast<char>(state_root_byte));  // state root
  out.append(32, '\x03');                              // extrinsics root
  out.push_back(static_cast<char>(1 << 2));            // Vec<DigestItem> of length 1
  out.push_back('\x06');                               // DigestItem::PreRuntime
  out += "BABE";                                       // consensus engine id
  std::string pre_digest(1, '\x02');                   // PreDigest::SecondaryPlain
  pre_digest.append(4, '\x00');                        // authority_index 0
  for (int i = 0; i < 8; ++i) pre_digest.push_back(static_cast<char>(slot >> (8 * i)));
  out.push_back(static_cast<char>(pre_digest.size() << 2));  // Vec<u8> length
  out += pre_digest;
  return out;
}

TEST_F(SignerdE2eTest, BabeSealNeedsItsHeaderAndRefusesASecondBlockInTheSlot) {
  auto alice = Client("validator-alice");
  auto seal = [&](const std::string& header, bool send_preimage, pb::SignWithReply& reply) {
    const auto hash = base::Blake2b256(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(header.data()), header.size()));
    grpc::ClientContext context;
    pb::SignWithRequest request;
    request.set_key_type("babe");
    request.set_crypto_type("sr25519");
    request.set_public_key(Bytes(*base::HexDecode(kAliceSr25519)));
    request.set_message(std::string(hash.begin(), hash.end()));
    if (send_preimage) request.set_preimage(header);
    return alice->SignWith(&context, request, &reply);
  };
  const std::string header = BabeHeader(10, 777, 0x02);
  pb::SignWithReply reply;
  // Without the header the signer would sign blind: refused.
  EXPECT_EQ(seal(header, false, reply).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  grpc::Status status = seal(header, true, reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto hash = base::Blake2b256(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(header.data()), header.size()));
  const std::string& signature = reply.signature().signature();
  EXPECT_TRUE(keymgr::VerifySignature(
      base::Scheme::kSr25519, *base::HexDecode(kAliceSr25519), hash,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(signature.data()),
                               signature.size())));
  // Another block (another state root) in the same slot is an equivocation.
  status = seal(BabeHeader(10, 777, 0x09), true, reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("slot=777"), std::string::npos) << status.error_message();
}

TEST_F(SignerdE2eTest, DecisionSurvivesSigkillAndRestart) {
  auto alice = Client("validator-alice");
  pb::SignWithReply reply;
  ASSERT_TRUE(Sign(*alice, GrandpaVote(0, 0x21, 9000, 500, 7), reply).ok());
  ASSERT_FALSE(reply.signature().signature().empty());
  // The signature was acknowledged: kill without any chance to flush, then start again.
  ASSERT_TRUE(signerd_->Signal(SIGKILL).ok());
  StopSignerd(SIGKILL);
  StartSignerd();
  ASSERT_NE(signerd_, nullptr);
  auto again = Client("validator-alice");
  pb::SignWithReply conflicting;
  const grpc::Status status = Sign(*again, GrandpaVote(0, 0x22, 9001, 500, 7), conflicting);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_TRUE(conflicting.signature().signature().empty());
  // The audit chain written before the kill is intact and was continued.
  auto report = signer::VerifyAuditFile((dir_->path() / "audit.jsonl").string());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
}

// BeefyCommitment SCALE-encodes Commitment{payload: [(b"mh", root)], block_number u32,
// validator_set_id u64} (spec section 4).
std::string BeefyCommitment(uint8_t root_byte, uint32_t block, uint64_t set_id) {
  std::string out(1, static_cast<char>(1 << 2));  // Vec of 1 payload item
  out += "mh";                                    // [u8; 2] payload id
  out.push_back(static_cast<char>(32 << 2));      // Vec<u8> of 32 bytes, compact single-byte mode
  out.append(32, static_cast<char>(root_byte));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(block >> (8 * i)));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(set_id >> (8 * i)));
  return out;
}

TEST_F(SignerdE2eTest, BeefyVoteSignedPrehashedAndConflictRefused) {
  auto alice = Client("validator-alice");
  auto vote = [&](const std::string& commitment, pb::EcdsaSignPrehashedReply& reply) {
    const auto digest = base::Keccak256(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(commitment.data()), commitment.size()));
    grpc::ClientContext context;
    pb::EcdsaSignPrehashedRequest request;
    request.set_key_type("beef");
    request.set_public_key(Bytes(*base::HexDecode(kAliceEcdsa)));
    request.set_message(std::string(digest.begin(), digest.end()));
    request.set_preimage(commitment);
    return alice->EcdsaSignPrehashed(&context, request, &reply);
  };
  const std::string commitment = BeefyCommitment(0x44, 4000, 9);
  pb::EcdsaSignPrehashedReply reply;
  grpc::Status status = vote(commitment, reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto digest = base::Keccak256(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(commitment.data()), commitment.size()));
  const std::string& signature = reply.signature().signature();
  ASSERT_EQ(signature.size(), 65u);
  EXPECT_TRUE(keymgr::VerifySignature(
      base::Scheme::kEcdsa, *base::HexDecode(kAliceEcdsa), digest,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(signature.data()),
                               signature.size()),
      /*prehashed=*/true));
  status = vote(BeefyCommitment(0x45, 4000, 9), reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("set_id=9 block=4000"), std::string::npos)
      << status.error_message();
}

TEST_F(SignerdE2eTest, DisputeDoubleVoteRefused) {
  auto alice = Client("validator-alice");
  auto sign = [&](const std::string& message) {
    grpc::ClientContext context;
    pb::SignWithRequest request;
    request.set_key_type("para");
    request.set_crypto_type("sr25519");
    request.set_public_key(Bytes(*base::HexDecode(kAliceSr25519)));
    request.set_message(message);
    pb::SignWithReply reply;
    return alice->SignWith(&context, request, &reply);
  };
  const std::string candidate(32, '\x5c');
  const std::string session("\x0b\x00\x00\x00", 4);  // session 11, u32 LE
  // Backing statement Valid: "BKNG" ++ 02 ++ candidate ++ SigningContext{session, parent_hash}.
  const std::string backing =
      "BKNG" + std::string(1, '\x02') + candidate + session + std::string(32, '\x01');
  grpc::Status status = sign(backing);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Dispute statement ("DISP", valid, candidate, session): invalid after valid is slashable.
  const std::string dispute_invalid = "DISP" + std::string(1, '\x00') + candidate + session;
  status = sign(dispute_invalid);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("refused_dispute_conflict"), std::string::npos)
      << status.error_message();
  const std::string dispute_valid = "DISP" + std::string(1, '\x01') + candidate + session;
  EXPECT_TRUE(sign(dispute_valid).ok());
}

TEST_F(SignerdE2eTest, InsertStoresTheKeyTheSuriNames) {
  auto alice = Client("validator-alice");
  pb::InsertRequest request;
  request.set_key_type("audi");
  request.set_suri("//Alice");
  request.set_public_key(Bytes(*base::HexDecode(kAliceSr25519)));
  pb::InsertReply reply;
  {
    grpc::ClientContext context;
    const grpc::Status status = alice->Insert(&context, request, &reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  pb::KeysRequest keys_request;
  keys_request.set_key_type("audi");
  pb::KeysReply keys_reply;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(alice->Keys(&context, keys_request, &keys_reply).ok());
  }
  ASSERT_EQ(keys_reply.public_keys_size(), 1);
  EXPECT_EQ(keys_reply.public_keys(0), request.public_key());
  // The intruder may not insert anything.
  auto intruder = Client("intruder");
  grpc::ClientContext context;
  EXPECT_EQ(intruder->Insert(&context, request, &reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The keys-loaded gauge is refreshed in the background right after the insert (a scrape never
  // lists the HSM), so it shows the key within moments, not necessarily at the very next scrape.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Sample(Scrape(), "signer_keys_loaded{key_type=\"audi\"}") != 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Sample(Scrape(), "signer_keys_loaded{key_type=\"audi\"}"), 1);
}

// One public key under a slashable and a non-slashable key type (the review's reproduction, over
// gRPC): the slashable role's rule judges the message whatever key type the request names.
TEST_F(SignerdE2eTest, SecondKeyTypeOfASlashableKeyGetsNoUnprotectedSignature) {
  auto alice = Client("validator-alice");
  const auto insert = [&](const std::string& key_type, const std::string& public_hex) {
    pb::InsertRequest request;
    request.set_key_type(key_type);
    request.set_suri("//Alice");
    request.set_public_key(Bytes(*base::HexDecode(public_hex)));
    pb::InsertReply reply;
    grpc::ClientContext context;
    return alice->Insert(&context, request, &reply);
  };
  const auto sign = [&](const std::string& key_type, const std::string& crypto_type,
                        const std::string& public_hex, const std::string& message,
                        const std::optional<std::string>& preimage) {
    pb::SignWithRequest request;
    request.set_key_type(key_type);
    request.set_crypto_type(crypto_type);
    request.set_public_key(Bytes(*base::HexDecode(public_hex)));
    request.set_message(message);
    if (preimage) request.set_preimage(*preimage);
    pb::SignWithReply reply;
    grpc::ClientContext context;
    return alice->SignWith(&context, request, &reply);
  };
  const auto hash_of = [](const std::string& header) {
    const auto hash = base::Blake2b256(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(header.data()), header.size()));
    return std::string(hash.begin(), hash.end());
  };
  ASSERT_TRUE(insert("imon", kAliceSr25519).ok());
  ASSERT_TRUE(insert("acco", kAliceEd25519).ok());

  const std::string header_a = BabeHeader(12, 9001, 0x02);
  const std::string header_b = BabeHeader(12, 9001, 0x09);
  grpc::Status status = sign("babe", "sr25519", kAliceSr25519, hash_of(header_a), header_a);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(sign("imon", "sr25519", kAliceSr25519, hash_of(header_b), std::nullopt).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  status = sign("imon", "sr25519", kAliceSr25519, hash_of(header_b), header_b);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("slot=9001"), std::string::npos) << status.error_message();
  // What no slashable role protects (a heartbeat-sized payload) still signs through imon.
  status = sign("imon", "sr25519", kAliceSr25519, std::string(90, 'h'), std::nullopt);
  EXPECT_TRUE(status.ok()) << status.error_message();

  status =
      sign("gran", "ed25519", kAliceEd25519, GrandpaVote(0, 0x61, 9001, 9001, 9), std::nullopt);
  ASSERT_TRUE(status.ok()) << status.error_message();
  status =
      sign("acco", "ed25519", kAliceEd25519, GrandpaVote(0, 0x62, 9002, 9001, 9), std::nullopt);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("refused_grandpa_equivocation"), std::string::npos)
      << status.error_message();
}

TEST_F(SignerdE2eTest, SignWithAnySkipsKeysNotHeld) {
  auto alice = Client("validator-alice");
  const std::string vote = GrandpaVote(0, 0x31, 11000, 600, 8);
  pb::SignWithAnyRequest request;
  request.set_key_type("gran");
  request.set_crypto_type("ed25");  // Substrate's crypto id form
  request.add_public_keys(std::string(32, '\x07'));
  request.add_public_keys(Bytes(*base::HexDecode(kAliceEd25519)));
  request.set_message(vote);
  pb::SignWithAnyReply reply;
  {
    grpc::ClientContext context;
    const grpc::Status status = alice->SignWithAny(&context, request, &reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(reply.signature().public_key(), request.public_keys(1));
  const std::string& signature = reply.signature().signature();
  EXPECT_TRUE(keymgr::VerifySignature(
      base::Scheme::kEd25519, *base::HexDecode(kAliceEd25519),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(vote.data()), vote.size()),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(signature.data()),
                               signature.size())));
  request.mutable_public_keys()->RemoveLast();
  grpc::ClientContext context;
  ASSERT_TRUE(alice->SignWithAny(&context, request, &reply).ok());
  EXPECT_EQ(reply.signature().error(), pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND);
  EXPECT_TRUE(reply.signature().signature().empty());
}

// A list of keys is bounded: each key is a decision with its own audit line, and a 1 MiB request
// could otherwise name tens of thousands and hold a worker and the audit log for seconds.
TEST_F(SignerdE2eTest, SignWithAnyAndAllTakeAtMost64Keys) {
  auto alice = Client("validator-alice");
  const std::string vote = GrandpaVote(0, 0x32, 11001, 601, 8);
  const std::string alice_key = Bytes(*base::HexDecode(kAliceEd25519));
  auto keys_ending_with_alice = [&](int count) {
    std::vector<std::string> keys;
    for (int i = 0; i + 1 < count; ++i)
      keys.push_back(std::string(31, '\x09') + static_cast<char>(i));
    keys.push_back(alice_key);
    return keys;
  };
  for (const int count : {64, 65}) {
    SCOPED_TRACE(count);
    const std::vector<std::string> keys = keys_ending_with_alice(count);
    // Both requests carry the same fields.
    auto fill = [&](auto& request) {
      request.set_key_type("gran");
      request.set_crypto_type("ed25");
      for (const std::string& key : keys) request.add_public_keys(key);
      request.set_message(vote);
    };
    pb::SignWithAnyRequest any;
    fill(any);
    pb::SignWithAnyReply any_reply;
    grpc::ClientContext any_context;
    const grpc::Status any_status = alice->SignWithAny(&any_context, any, &any_reply);
    pb::SignWithAllRequest all;
    fill(all);
    pb::SignWithAllReply all_reply;
    grpc::ClientContext all_context;
    const grpc::Status all_status = alice->SignWithAll(&all_context, all, &all_reply);
    if (count == 64) {
      ASSERT_TRUE(any_status.ok()) << any_status.error_message();
      EXPECT_EQ(any_reply.signature().public_key(), alice_key);
      EXPECT_FALSE(any_reply.signature().signature().empty());
      ASSERT_TRUE(all_status.ok()) << all_status.error_message();
      ASSERT_EQ(all_reply.signatures_size(), 64);
      EXPECT_FALSE(all_reply.signatures(63).signature().empty());  // a re-sign of the same vote
    } else {
      EXPECT_EQ(any_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_NE(any_status.error_message().find("at most 64"), std::string::npos);
      EXPECT_TRUE(any_reply.signature().signature().empty());
      EXPECT_EQ(all_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_EQ(all_reply.signatures_size(), 0);
    }
  }
}

// RunPromtool pipes `text` through `promtool check metrics`; returns its exit status, -1 if absent.
int PromtoolCheckMetrics(const std::string& text, std::string& output) {
  if (!fs::exists("/usr/bin/promtool")) return -1;
  support::ProcessOptions options;
  options.stdin_text = text;
  const support::ProcessResult run = support::ResultOrStartFailure(
      support::RunProcess({"/usr/bin/promtool", "check", "metrics"}, options));
  output = run.out + run.err;
  return run.exit_code < 0 ? -2 : run.exit_code;
}

TEST_F(SignerdE2eTest, MetricsCountRequestsAndDecisionsAndPassPromtool) {
  const std::string before = Scrape();
  ASSERT_FALSE(before.empty()) << HttpGet("/metrics");
  const std::string domain = "domain=\"grandpa_prevote\"";
  const auto decisions = [&](const std::string& text, const std::string& verdict) {
    return Sample(text, "signer_decisions_total{" + domain + ",verdict=\"" + verdict + "\"}");
  };
  const auto requests = [](const std::string& text, const std::string& code) {
    return Sample(text, "signer_requests_total{method=\"SignWith\",code=\"" + code + "\"}");
  };

  // A new vote, its identical re-sign, an equivocation (refused) and the intruder (denied).
  auto alice = Client("validator-alice");
  pb::SignWithReply reply;
  ASSERT_TRUE(Sign(*alice, GrandpaVote(0, 0x51, 7000, 11, 21), reply).ok());
  ASSERT_TRUE(Sign(*alice, GrandpaVote(0, 0x51, 7000, 11, 21), reply).ok());
  EXPECT_EQ(Sign(*alice, GrandpaVote(0, 0x52, 7001, 11, 21), reply).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  auto intruder = Client("intruder");
  EXPECT_EQ(Sign(*intruder, GrandpaVote(0, 0x53, 7002, 12, 21), reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  const std::string after = Scrape();
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(decisions(after, "allowed_new") - decisions(before, "allowed_new"), 1);
  EXPECT_EQ(decisions(after, "allowed_resign") - decisions(before, "allowed_resign"), 1);
  EXPECT_EQ(decisions(after, "refused_grandpa_equivocation") -
                decisions(before, "refused_grandpa_equivocation"),
            1);
  // The denial stopped before the protector: no decision, but a request with its code.
  EXPECT_EQ(requests(after, "OK") - requests(before, "OK"), 2);
  EXPECT_EQ(requests(after, "FAILED_PRECONDITION") - requests(before, "FAILED_PRECONDITION"), 1);
  EXPECT_EQ(requests(after, "PERMISSION_DENIED") - requests(before, "PERMISSION_DENIED"), 1);
  EXPECT_EQ(Sample(after, "signer_request_duration_seconds_count{method=\"SignWith\"}") -
                Sample(before, "signer_request_duration_seconds_count{method=\"SignWith\"}"),
            4);
  EXPECT_EQ(Sample(after, "signer_decision_duration_seconds_count{" + domain + "}") -
                Sample(before, "signer_decision_duration_seconds_count{" + domain + "}"),
            3);
  EXPECT_EQ(Sample(after, "signer_keys_loaded{key_type=\"gran\"}"), 1);
  EXPECT_EQ(Sample(after, "signer_hsm_errors_total{operation=\"sign\"}"), 0);
  EXPECT_EQ(Sample(after, "signer_audit_write_failures_total"), 0);
  EXPECT_EQ(Sample(after, "signer_replicated"), 0);
  EXPECT_NE(after.find("signer_requests_in_flight "), std::string::npos);
  // The expiry is the served certificate's, as read from its file (the SIGHUP test, when run in
  // the same process, replaces it with a 10-day one).
  const std::string certificate_pem = support::ReadFile(dir_->path() / "pki" / "server.crt");
  auto certificate = tls::InspectCertificate(support::AsBytes(certificate_pem));
  ASSERT_TRUE(certificate.ok()) << certificate.status().message();
  const double expected_expiry =
      std::chrono::duration<double>(certificate->not_after - std::chrono::system_clock::now())
          .count();
  EXPECT_GT(expected_expiry, 86400.0);
  EXPECT_NEAR(Sample(after, "signer_tls_certificate_expiry_seconds{certificate=\"server\"}"),
              expected_expiry, 120);

  std::string output;
  const int promtool = PromtoolCheckMetrics(after, output);
  if (promtool == -1) GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  EXPECT_EQ(promtool, 0) << output << "\n" << after;

  // Only GET /metrics is served.
  EXPECT_EQ(HttpGet("/").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(HttpGet("/metrics.txt").rfind("HTTP/1.1 404", 0), 0u);
}

// Runs last (alphabetically after the others is not guaranteed, so it only checks the chain).
TEST_F(SignerdE2eTest, AuditChainVerifies) {
  auto alice = Client("validator-alice");
  pb::SignWithReply reply;
  ASSERT_TRUE(Sign(*alice, GrandpaVote(1, 0xee, 5000, 99, 5), reply).ok());
  auto report = signer::VerifyAuditFile((dir_->path() / "audit.jsonl").string());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_GE(report->lines, 1u);
}

}  // namespace
