// Replicated signers end to end: kafka-dev-broker and three signerd processes, each with its own
// SoftHSM2 token, called at once with conflicting votes; an independent checker proves one digest
// per position.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "audit/audit_log.h"
#include "base/hash.h"
#include "base/hex.h"
#include "keymgr/keypair.h"
#include "remote_keystore.grpc.pb.h"
#include "support/bytes.h"
#include "support/dev_broker.h"
#include "support/dev_pki.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/process.h"
#include "support/softhsm.h"
#include "support/temp_dir.h"
#include "support/well_known_keys.h"

namespace {

namespace fs = std::filesystem;
namespace pb = parity::polkadot::signer;
using Clock = std::chrono::steady_clock;

const std::string kAliceEd25519(support::kAliceEd25519.hex());
const std::string kAliceSr25519(support::kAliceSr25519.hex());
const std::string kAliceEcdsa(support::kAliceEcdsa.hex());
constexpr char kGenesis[] = "dede000000000000000000000000000000000000000000000000000000000002";
constexpr int kSigners = 3;
constexpr uint64_t kGrandpaSetId = 3;
constexpr uint64_t kBeefySetId = 4;
constexpr uint32_t kDisputeSession = 11;

using support::AsBytes;

std::string Unhex(const std::string& hex) {
  auto bytes = base::HexDecode(hex);
  return {bytes->begin(), bytes->end()};
}

void AppendLittleEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

using support::ReadFile;

// ----- votes -----

enum class Kind { kGrandpa, kBabe, kBeefy, kDispute };

struct Position {
  Kind kind;
  uint32_t index;
  std::string Name() const {
    static const char* const kNames[] = {"grandpa", "babe", "beefy", "dispute"};
    return std::string(kNames[static_cast<int>(kind)]) + "#" + std::to_string(index);
  }
};

int VariantCount(Kind kind) { return kind == Kind::kDispute ? 2 : 3; }

// Vote is one request the clients send and what an independent checker needs to judge its reply.
struct Vote {
  std::string key_type;
  base::Scheme scheme = base::Scheme::kEd25519;
  std::string public_key;
  std::string message;   // the bytes signed (a hash for BABE and BEEFY)
  std::string preimage;  // header or commitment the signer must see
  bool prehashed = false;
  // The history record this vote makes, in the interchange file's terms (docs/interchange.md):
  // domain|field=value...|digest, fields in alphabetical order.
  std::string record;
};

std::string Hex0x(std::span<const uint8_t> bytes) { return "0x" + base::HexEncode(bytes); }

// GRANDPA prevote (spec section 4): stage ++ target hash ++ u32 number ++ u64 round ++ u64 set id.
// BABE: SCALE header whose digest holds PreRuntime(BABE, SecondaryPlain{0, slot}).
// BEEFY: Commitment{[(b"mh", root)], block u32, set id u64}. Dispute: "DISP" ++ valid ++ candidate
// ++ session. Variants differ only in a hash byte (dispute: in validity), so they conflict.
Vote MakeVote(const Position& position, int variant) {
  Vote vote;
  const auto v = static_cast<uint8_t>(variant);
  switch (position.kind) {
    case Kind::kGrandpa: {
      const uint32_t number = 1000 + position.index;
      const uint64_t round = position.index + 1;
      vote.key_type = "gran";
      vote.scheme = base::Scheme::kEd25519;
      vote.public_key = Unhex(kAliceEd25519);
      vote.message.assign(1, '\0');  // prevote
      std::string target(32, static_cast<char>(0x10 + v));
      vote.message += target;
      AppendLittleEndian(vote.message, number, 4);
      AppendLittleEndian(vote.message, round, 8);
      AppendLittleEndian(vote.message, kGrandpaSetId, 8);
      std::string digest = target;
      AppendLittleEndian(digest, number, 4);
      vote.record = "grandpa_prevote|round=" + std::to_string(round) +
                    "|set_id=" + std::to_string(kGrandpaSetId) + "|" + Hex0x(AsBytes(digest));
      break;
    }
    case Kind::kBabe: {
      const uint64_t slot = 5000 + position.index;
      std::string header(32, '\x01');
      header.push_back(static_cast<char>(10 << 2));
      header.append(32, static_cast<char>(0x20 + v));  // state root
      header.append(32, '\x03');
      header.push_back(static_cast<char>(1 << 2));
      header.push_back('\x06');
      header += "BABE";
      std::string pre_digest(1, '\x02');
      pre_digest.append(4, '\0');
      AppendLittleEndian(pre_digest, slot, 8);
      header.push_back(static_cast<char>(pre_digest.size() << 2));
      header += pre_digest;
      const auto hash = base::Blake2b256(AsBytes(header));
      vote.key_type = "babe";
      vote.scheme = base::Scheme::kSr25519;
      vote.public_key = Unhex(kAliceSr25519);
      vote.message.assign(hash.begin(), hash.end());
      vote.preimage = header;
      vote.record = "babe|slot=" + std::to_string(slot) + "|" + Hex0x(hash);
      break;
    }
    case Kind::kBeefy: {
      const uint32_t block = position.index + 1;
      std::string commitment(1, static_cast<char>(1 << 2));
      commitment += "mh";
      commitment.push_back(static_cast<char>(32 << 2));
      commitment.append(32, static_cast<char>(0x30 + v));
      AppendLittleEndian(commitment, block, 4);
      AppendLittleEndian(commitment, kBeefySetId, 8);
      const auto hash = base::Keccak256(AsBytes(commitment));
      vote.key_type = "beef";
      vote.scheme = base::Scheme::kEcdsa;
      vote.public_key = Unhex(kAliceEcdsa);
      vote.message.assign(hash.begin(), hash.end());
      vote.preimage = commitment;
      vote.prehashed = true;
      vote.record = "beefy|block_number=" + std::to_string(block) +
                    "|validator_set_id=" + std::to_string(kBeefySetId) + "|" + Hex0x(hash);
      break;
    }
    case Kind::kDispute: {
      std::string candidate;
      AppendLittleEndian(candidate, position.index, 4);
      candidate.append(28, '\x5c');
      const bool valid = variant == 0;
      vote.key_type = "para";
      vote.scheme = base::Scheme::kSr25519;
      vote.public_key = Unhex(kAliceSr25519);
      vote.message = "DISP" + std::string(1, valid ? '\x01' : '\x00') + candidate;
      AppendLittleEndian(vote.message, kDisputeSession, 4);
      vote.record = "dispute|candidate_hash=" + Hex0x(AsBytes(candidate)) +
                    "|session=" + std::to_string(kDisputeSession) + (valid ? "|0x01" : "|0x00");
      break;
    }
  }
  return vote;
}

struct Reply {
  grpc::Status status;
  std::string signature;
};

// SendAsync sends `vote` on `stub` and calls `done` with the reply on gRPC's thread.
void SendAsync(pb::RemoteKeystore::Stub& stub, const Vote& vote,
               std::function<void(const Reply&)> done) {
  struct Call {
    grpc::ClientContext context;
    pb::SignWithRequest sign;
    pb::EcdsaSignPrehashedRequest prehashed;
    pb::SignWithReply sign_reply;
    pb::EcdsaSignPrehashedReply prehashed_reply;
  };
  auto* call = new Call;
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (vote.prehashed) {
    call->prehashed.set_key_type(vote.key_type);
    call->prehashed.set_public_key(vote.public_key);
    call->prehashed.set_message(vote.message);
    call->prehashed.set_preimage(vote.preimage);
    stub.async()->EcdsaSignPrehashed(
        &call->context, &call->prehashed, &call->prehashed_reply,
        [call, done = std::move(done)](grpc::Status status) {
          done(Reply{status, call->prehashed_reply.signature().signature()});
          delete call;
        });
    return;
  }
  call->sign.set_key_type(vote.key_type);
  call->sign.set_crypto_type(vote.scheme == base::Scheme::kEd25519 ? "ed25519" : "sr25519");
  call->sign.set_public_key(vote.public_key);
  call->sign.set_message(vote.message);
  if (!vote.preimage.empty()) call->sign.set_preimage(vote.preimage);
  stub.async()->SignWith(&call->context, &call->sign, &call->sign_reply,
                         [call, done = std::move(done)](grpc::Status status) {
                           done(Reply{status, call->sign_reply.signature().signature()});
                           delete call;
                         });
}

// Checker judges replies without trusting signerd: each returned signature is verified against
// every variant the clients sent for its position, and the variant it verifies under is the digest
// it commits to. Thread-safe.
class Checker {
 public:
  void Record(const Position& position, int signer, int variant_sent, const Reply& reply) {
    std::lock_guard lock(mutex_);
    ++replies_;
    ++codes_[reply.status.error_code()];
    if (!reply.status.ok()) {
      if (!reply.signature.empty()) {
        problems_.push_back(position.Name() + ": a signature came with status " +
                            std::to_string(reply.status.error_code()));
      }
      return;
    }
    if (reply.signature.empty()) {
      problems_.push_back(position.Name() + ": OK without a signature from signer " +
                          std::to_string(signer + 1));
      return;
    }
    std::optional<int> committed;
    for (int variant = 0; variant < VariantCount(position.kind); ++variant) {
      const Vote vote = MakeVote(position, variant);
      if (keymgr::VerifySignature(vote.scheme, AsBytes(vote.public_key), AsBytes(vote.message),
                                  AsBytes(reply.signature), vote.prehashed)) {
        committed = variant;
      }
    }
    if (!committed) {
      problems_.push_back(position.Name() + ": signer " + std::to_string(signer + 1) +
                          " returned a signature over none of the messages sent");
      return;
    }
    if (*committed != variant_sent) {
      problems_.push_back(position.Name() + ": signer " + std::to_string(signer + 1) +
                          " signed a message it was not sent");
    }
    ++signatures_;
    last_signature_ = Clock::now();
    std::set<int>& variants = signed_[position.Name()];
    variants.insert(*committed);
    positions_.emplace(position.Name(), position);
    if (variants.size() > 1) {
      problems_.push_back(position.Name() + ": " + std::to_string(variants.size()) +
                          " different digests signed (signer " + std::to_string(signer + 1) +
                          " signed the last)");
    }
  }

  std::vector<std::string> problems() const {
    std::lock_guard lock(mutex_);
    return problems_;
  }
  size_t signed_positions() const {
    std::lock_guard lock(mutex_);
    return signed_.size();
  }
  size_t conflicted_positions() const {
    std::lock_guard lock(mutex_);
    size_t out = 0;
    for (const auto& [name, variants] : signed_) out += variants.size() > 1 ? 1 : 0;
    return out;
  }
  uint64_t signatures() const {
    std::lock_guard lock(mutex_);
    return signatures_;
  }
  uint64_t count(grpc::StatusCode code) const {
    std::lock_guard lock(mutex_);
    auto it = codes_.find(code);
    return it == codes_.end() ? 0 : it->second;
  }
  std::string Summary() const {
    std::lock_guard lock(mutex_);
    std::ostringstream out;
    out << replies_ << " replies, " << signatures_ << " signatures over " << signed_.size()
        << " positions; status codes:";
    for (const auto& [code, count] : codes_) out << " " << code << "x" << count;
    return out.str();
  }
  // SignedRecords lists, per signed position, the history record its one digest makes.
  std::vector<std::string> SignedRecords() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [name, variants] : signed_) {
      out.push_back(MakeVote(positions_.at(name), *variants.begin()).record);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::set<int>> signed_;
  std::map<std::string, Position> positions_;
  std::map<grpc::StatusCode, uint64_t> codes_;
  std::vector<std::string> problems_;
  uint64_t replies_ = 0;
  uint64_t signatures_ = 0;
  Clock::time_point last_signature_{};
};

// HistoryRecords reads an interchange file (docs/interchange.md) into one string per record in
// the same form as Vote::record, digests comma-joined, recorded_at_ms left out (each signer
// stamps its own apply time).
std::set<std::string> HistoryRecords(const std::string& text) {
  std::set<std::string> out;
  const nlohmann::json document = nlohmann::json::parse(text);
  for (const auto& key : document.at("data")) {
    for (const auto& domain : key.at("domains")) {
      for (const auto& record : domain.at("records")) {
        std::string line = domain.at("domain").get<std::string>();
        for (const auto& [field, value] : record.items()) {
          if (field == "digests" || field == "recorded_at_ms") continue;
          line += "|" + field + "=" + value.get<std::string>();
        }
        std::string digests;
        for (const auto& digest : record.at("digests")) {
          if (!digests.empty()) digests += ',';
          digests += digest.get<std::string>();
        }
        out.insert(line + "|" + digests);
      }
    }
  }
  return out;
}

// ----- the cluster -----

struct SignerProcess {
  fs::path dir;
  std::string id;
  std::optional<support::SoftHsm> hsm;
  std::mutex mutex;  // guards process, port and stub, replaced on restart
  std::optional<support::ChildProcess> process;
  int port = 0;
  std::shared_ptr<pb::RemoteKeystore::Stub> stub;
};

class KafkaClusterTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartBroker());

    auto files = support::MakeDevPki(dir_.path() / "pki", {"validator-alice"});
    ASSERT_TRUE(files.ok()) << files.status().message();
    auto credentials = support::DevPkiClientCredentials(dir_.path() / "pki", "validator-alice");
    ASSERT_TRUE(credentials.ok()) << credentials.status().message();
    credentials_ = *credentials;
    ASSERT_TRUE(support::WriteFile(
                    dir_.path() / "policy.yaml",
                    "identities:\n  validator-alice:\n"
                    "    - {key_types: [gran], operations: [sign], public_keys: [\"" +
                        kAliceEd25519 + "\"]}\n" +
                        "    - {key_types: [babe, para], operations: [sign], public_keys: [\"" +
                        kAliceSr25519 + "\"]}\n" +
                        "    - {key_types: [beef], operations: [sign], public_keys: [\"" +
                        kAliceEcdsa + "\"]}\n",
                    0600)
                    .ok());

    for (int i = 0; i < kSigners; ++i) {
      signers_[static_cast<size_t>(i)] = std::make_unique<SignerProcess>();
      ASSERT_NO_FATAL_FAILURE(MakeSignerDirectory(i));
    }
    for (int i = 0; i < kSigners; ++i) {
      ASSERT_TRUE(StartSigner(i)) << "signer " << i + 1 << " did not start";
    }
  }

  void TearDown() override {
    // Signers are killed (the ChildProcess destructor sends SIGKILL); the broker is asked to stop.
    for (auto& signer : signers_) {
      if (signer) signer->process.reset();
    }
    if (broker_) broker_->Stop(SIGTERM);
    if (HasFailure()) {
      std::cerr << "kept for inspection: " << dir_.path() << "\n";
      dir_.Keep();
    }
  }

  void StartBroker() {
    auto broker = support::StartDevBroker({}, dir_.path() / "broker.log");
    ASSERT_TRUE(broker.ok()) << broker.status().message();
    bootstrap_ = broker->bootstrap;
    broker_ = std::move(broker->process);
  }

  // BrokerCommand sends one line to the dev broker and returns its one-line answer.
  std::string BrokerCommand(const std::string& command) {
    if (!broker_->Write(command + "\n").ok()) return "write failed";
    return broker_->ReadLine(std::chrono::seconds(10)).value_or("no answer");
  }

  void MakeSignerDirectory(int index) {
    SignerProcess& signer = *signers_[static_cast<size_t>(index)];
    signer.id = "signer-" + std::to_string(index + 1);
    signer.dir = dir_.path() / signer.id;
    auto hsm = support::SoftHsm::Create(signer.dir);
    ASSERT_TRUE(hsm.ok()) << hsm.status().message();
    const base::Status token = hsm->InitToken(signer.id, "cluster-pin", "cluster-so-pin");
    ASSERT_TRUE(token.ok()) << token.message();
    signer.hsm = *hsm;
    ASSERT_TRUE(support::WriteFile(signer.dir / "hsm.pin", "cluster-pin", 0600).ok());
    ASSERT_TRUE(
        support::WriteFile(
            signer.dir / "signerd.yaml",
            "signer_id: " + signer.id + "\nhsm:\n  module: " + SIGNER_SOFTHSM2_MODULE +
                "\n  token_label: " + signer.id +
                "\n  pin_file: hsm.pin\nhistory:\n  data_dir: history\n"
                "  genesis_hash: \"0x" +
                kGenesis +
                "\"\nserver:\n  listen: \"127.0.0.1:0\"\n"
                "  tls:\n    cert_file: ../pki/server.crt\n    key_file: ../pki/server.key\n"
                "    client_ca_file: ../pki/ca.crt\n  policy_file: ../policy.yaml\n"
                "  audit_log: audit.jsonl\n  max_in_flight: 256\n  worker_threads: 4\n" +
                (replicated_ ? "kafka:\n  brokers: \"" + bootstrap_ +
                                   "\"\n  claim_timeout_ms: 2000\n  catch_up_timeout_ms: 60000\n"
                             : std::string()),
            0600)
            .ok());
    // The same //Alice keys on every token (ed25519/ecdsa cannot leave an HSM, so each token
    // imports them from the SURI; the test does the same for sr25519 to stay fast).
    support::ProcessOptions import_options;
    import_options.set_env = {hsm->ConfigEnv(), "SIGNER_SURI=//Alice"};
    for (const char* key_type : {"gran", "babe", "para", "beef"}) {
      const support::ProcessResult run = support::ResultOrStartFailure(
          support::RunProcess({support::Location("signerctl"), "keys", "import", "--config",
                               (signer.dir / "signerd.yaml").string(), "--type", key_type},
                              import_options));
      ASSERT_EQ(run.exit_code, 0) << run.Describe();
    }
  }

  // LaunchSigner starts signerd for signer `index`, its stderr appended to its signerd.log.
  base::Result<support::ChildProcess> LaunchSigner(int index) {
    const SignerProcess& signer = *signers_[static_cast<size_t>(index)];
    support::ChildOptions options;
    options.set_env = {signer.hsm->ConfigEnv()};
    options.stderr_file = signer.dir / "signerd.log";
    return support::ChildProcess::Start(
        {support::Location("signerd"), "--config", (signer.dir / "signerd.yaml").string()},
        options);
  }

  // StartSigner starts signer `index` and waits for its listening line, which signerd prints only
  // once its history has caught up with the claims topic.
  bool StartSigner(int index) {
    SignerProcess& signer = *signers_[static_cast<size_t>(index)];
    base::Result<support::ChildProcess> child = LaunchSigner(index);
    if (!child.ok()) {
      ADD_FAILURE() << signer.id << ": " << child.status().message();
      return false;
    }
    auto line = child->ReadLine(std::chrono::seconds(90));
    child->CloseStdout();
    const std::string prefix = "signerd listening on 127.0.0.1:";
    if (!line || line->rfind(prefix, 0) != 0) {
      // Returning drops the child, which kills it.
      ADD_FAILURE() << signer.id << " said: " << line.value_or("nothing") << "\nlog:\n"
                    << ReadFile(signer.dir / "signerd.log");
      return false;
    }
    const int port = std::stoi(line->substr(prefix.size()));
    auto stub = std::shared_ptr<pb::RemoteKeystore::Stub>(pb::RemoteKeystore::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), credentials_)));
    std::lock_guard lock(signer.mutex);
    signer.process = std::move(child).value();
    signer.port = port;
    signer.stub = std::move(stub);
    return true;
  }

  // StopSigner sends `signal` and reaps the process; its stub is dropped first so no new request
  // goes to it.
  void StopSigner(int index, int signal) {
    SignerProcess& signer = *signers_[static_cast<size_t>(index)];
    std::optional<support::ChildProcess> process;
    {
      std::lock_guard lock(signer.mutex);
      process = std::exchange(signer.process, std::nullopt);
      signer.stub.reset();
    }
    if (!process.has_value()) return;
    const int exit_code = process->Stop(signal);
    if (signal == SIGTERM) {
      EXPECT_EQ(exit_code, 0) << signer.id << " did not stop cleanly: " << exit_code;
    }
  }

  std::shared_ptr<pb::RemoteKeystore::Stub> StubOf(int index) {
    SignerProcess& signer = *signers_[static_cast<size_t>(index)];
    std::lock_guard lock(signer.mutex);
    return signer.stub;
  }

  // Serving asks the standard health service of signer `index`.
  bool Serving(int index) {
    int port = 0;
    {
      SignerProcess& signer = *signers_[static_cast<size_t>(index)];
      std::lock_guard lock(signer.mutex);
      port = signer.port;
    }
    return HealthOf(port) == kHealthServing;
  }

  // HealthCheckResponse.status values (grpc.health.v1).
  static constexpr int kHealthServing = 1;
  static constexpr int kHealthNotServing = 2;

  // HealthOf asks the standard health service on `port`: the status, or nullopt if the call
  // failed.
  std::optional<int> HealthOf(int port) {
    grpc::GenericStub stub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port), credentials_));
    grpc::Slice empty_slice(std::string{});
    grpc::ByteBuffer request(&empty_slice, 1);
    grpc::ByteBuffer response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                   &response, [&](grpc::Status status) { done.set_value(status); });
    if (!done.get_future().get().ok()) return std::nullopt;
    std::vector<grpc::Slice> slices;
    if (!response.Dump(&slices).ok()) return std::nullopt;
    std::string bytes;
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    // HealthCheckResponse{status}: field 1, varint; proto3 leaves out UNKNOWN (0).
    if (bytes.empty()) return 0;
    if (bytes.size() != 2 || bytes[0] != '\x08') return std::nullopt;
    return static_cast<int>(bytes[1]);
  }

  Position NextPosition(Kind kind) { return Position{kind, next_index_++}; }

  // SignOnce sends variant 0 of a fresh GRANDPA position to `stub` and waits for the reply, which
  // the checker judges like every other.
  Reply SignOnce(pb::RemoteKeystore::Stub& stub, int signer) {
    const Position position = NextPosition(Kind::kGrandpa);
    std::promise<Reply> done;
    SendAsync(stub, MakeVote(position, 0), [&](const Reply& reply) {
      checker_.Record(position, signer, 0, reply);
      done.set_value(reply);
    });
    return done.get_future().get();
  }

  // PortFromLog polls signer `index`'s log, from byte `from` on (earlier runs wrote before it),
  // for the port it reports while NOT_SERVING.
  std::optional<int> PortFromLog(int index, size_t from, std::chrono::seconds timeout) {
    const fs::path log = signers_[static_cast<size_t>(index)]->dir / "signerd.log";
    const std::string marker = "event=not_serving port=";
    const auto give_up = Clock::now() + timeout;
    while (Clock::now() < give_up) {
      const std::string text = ReadFile(log);
      if (size_t at = text.find(marker, std::min(from, text.size())); at != std::string::npos) {
        return std::stoi(text.substr(at + marker.size()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::nullopt;
  }

  // Conflict sends a different variant of `position` to every live signer at once (which signer
  // gets which variant rotates with the position) and waits for every reply.
  void Conflict(const Position& position, std::vector<std::pair<int, Reply>>* replies = nullptr) {
    const int variants = VariantCount(position.kind);
    std::vector<std::pair<int, std::shared_ptr<pb::RemoteKeystore::Stub>>> targets;
    for (int i = 0; i < kSigners; ++i) {
      if (auto stub = StubOf(i)) targets.emplace_back(i, std::move(stub));
    }
    std::latch finished(static_cast<std::ptrdiff_t>(targets.size()));
    std::mutex replies_mutex;
    for (const auto& [signer, stub] : targets) {
      const int variant = static_cast<int>((static_cast<uint32_t>(signer) + position.index) %
                                           static_cast<uint32_t>(variants));
      SendAsync(*stub, MakeVote(position, variant),
                [&, signer_index = signer, variant](const Reply& reply) {
                  checker_.Record(position, signer_index, variant, reply);
                  if (reply.status.ok()) successes_.fetch_add(1);
                  if (replies != nullptr) {
                    std::lock_guard lock(replies_mutex);
                    replies->emplace_back(signer_index, reply);
                  }
                  finished.count_down();
                });
    }
    finished.wait();
  }

  // Storm runs Conflict over `positions` with `workers` client threads.
  void Storm(const std::vector<Position>& positions, int workers) {
    std::atomic<size_t> next{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&] {
        for (size_t i = next++; i < positions.size(); i = next++) Conflict(positions[i]);
      });
    }
    for (std::thread& thread : threads) thread.join();
  }

  // Settle makes every signer apply everything produced so far: one fresh position per public
  // key goes to every signer, and a signer answers it (won or lost) only after applying its own
  // claim, hence every claim before it in that key's partition.
  void Settle() {
    for (Kind kind : {Kind::kGrandpa, Kind::kBabe, Kind::kBeefy}) {
      const Position position = NextPosition(kind);
      for (int attempt = 0; attempt < 10; ++attempt) {
        std::vector<std::pair<int, Reply>> replies;
        Conflict(position, &replies);
        bool all_applied = replies.size() == static_cast<size_t>(kSigners);
        for (const auto& [signer, reply] : replies) {
          const auto code = reply.status.error_code();
          if (code != grpc::StatusCode::OK && code != grpc::StatusCode::FAILED_PRECONDITION) {
            all_applied = false;
          }
        }
        if (all_applied) break;
        ASSERT_LT(attempt, 9) << "signers did not settle on " << position.Name();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    }
  }

  void ExpectNoProblems() {
    const auto problems = checker_.problems();
    EXPECT_TRUE(problems.empty()) << problems.size() << " problems, first: " << problems.front();
  }

  // StopAllAndCompareHistories stops every signer and exports each history: all must hold the
  // same records, and (unless a prune deleted some) every digest the checker saw signed must be
  // recorded at its position. Returns signer-1's records.
  std::set<std::string> StopAllAndCompareHistories(bool every_signature_recorded = true) {
    for (int i = 0; i < kSigners; ++i) StopSigner(i, SIGTERM);
    std::vector<std::set<std::string>> histories;
    for (int i = 0; i < kSigners; ++i) {
      std::optional<std::set<std::string>> history = ExportHistory(i);
      if (!history.has_value()) return {};
      histories.push_back(std::move(*history));
    }
    for (int i = 1; i < kSigners; ++i) {
      std::vector<std::string> only_first;
      std::vector<std::string> only_other;
      std::set_difference(histories[0].begin(), histories[0].end(),
                          histories[static_cast<size_t>(i)].begin(),
                          histories[static_cast<size_t>(i)].end(), std::back_inserter(only_first));
      std::set_difference(histories[static_cast<size_t>(i)].begin(),
                          histories[static_cast<size_t>(i)].end(), histories[0].begin(),
                          histories[0].end(), std::back_inserter(only_other));
      EXPECT_TRUE(only_first.empty() && only_other.empty())
          << "signer-1 and signer-" << i + 1 << " disagree: " << only_first.size()
          << " records only in signer-1 (first: " << (only_first.empty() ? "" : only_first.front())
          << "), " << only_other.size() << " only in signer-" << i + 1
          << " (first: " << (only_other.empty() ? "" : only_other.front()) << ")";
    }
    if (every_signature_recorded) {
      size_t missing = 0;
      std::string first_missing;
      for (const std::string& record : checker_.SignedRecords()) {
        if (histories[0].count(record) == 0) {
          if (missing++ == 0) first_missing = record;
        }
      }
      EXPECT_EQ(missing, 0u) << "signed but not recorded as the only digest, first: "
                             << first_missing;
      EXPECT_GE(histories[0].size(), checker_.signed_positions());
    }
    return histories[0];
  }

  // SendToAll sends `variant` of `position` to every live signer and returns the replies.
  std::vector<std::pair<int, Reply>> SendToAll(const Position& position, int variant) {
    std::vector<std::pair<int, Reply>> replies;
    for (int i = 0; i < kSigners; ++i) {
      auto stub = StubOf(i);
      if (!stub) continue;
      std::promise<Reply> done;
      SendAsync(*stub, MakeVote(position, variant), [&](const Reply& reply) {
        checker_.Record(position, i, variant, reply);
        done.set_value(reply);
      });
      replies.emplace_back(i, done.get_future().get());
    }
    return replies;
  }

  // ExportHistory runs `signerctl history export` for stopped signer `index` and returns its
  // records as HistoryRecords reads them; nullopt, failing the test, if the export fails.
  std::optional<std::set<std::string>> ExportHistory(int index) {
    const SignerProcess& signer = *signers_[static_cast<size_t>(index)];
    const fs::path out = signer.dir / "history-export.json";
    const support::ProcessResult run =
        Signerctl({"history", "export", "--config", (signer.dir / "signerd.yaml").string(), "--out",
                   out.string()});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    if (run.exit_code != 0) return std::nullopt;
    return HistoryRecords(ReadFile(out));
  }

  // Signerctl runs signerctl with `arguments` to completion.
  static support::ProcessResult Signerctl(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), support::Location("signerctl"));
    return support::ResultOrStartFailure(support::RunProcess(arguments));
  }

  std::vector<Position> MixedPositions(int per_kind) {
    std::vector<Position> out;
    for (int i = 0; i < per_kind; ++i) {
      for (Kind kind : {Kind::kGrandpa, Kind::kBabe, Kind::kBeefy, Kind::kDispute}) {
        out.push_back(NextPosition(kind));
      }
    }
    return out;
  }

  bool replicated_ = true;  // false: every signer decides alone (the checker's negative control)
  support::TempDir dir_{"kafka_cluster"};
  std::optional<support::ChildProcess> broker_;
  std::string bootstrap_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::array<std::unique_ptr<SignerProcess>, kSigners> signers_;
  std::atomic<uint32_t> next_index_{0};
  std::atomic<uint64_t> successes_{0};
  Checker checker_;
};

// The same three signers without Kafka, each with its own history: proof that the checker and the
// history comparison do catch double signing, so their silence in the tests below means something.
class StandaloneSignersTest : public KafkaClusterTest {
 protected:
  StandaloneSignersTest() { replicated_ = false; }
};

TEST_F(StandaloneSignersTest, CheckerCatchesSeparateHistoriesSigningConflictingDigests) {
  Storm(MixedPositions(5), 4);
  const auto problems = checker_.problems();
  // Every position gets a different variant on each signer, and each standalone signer allows it.
  EXPECT_EQ(checker_.conflicted_positions(), 20u) << checker_.Summary();
  EXPECT_FALSE(problems.empty());
  for (const std::string& problem : problems) {
    EXPECT_NE(problem.find("different digests signed"), std::string::npos) << problem;
  }
  for (int i = 0; i < kSigners; ++i) StopSigner(i, SIGTERM);
  std::vector<std::set<std::string>> histories;
  for (int i = 0; i < kSigners; ++i) {
    std::optional<std::set<std::string>> history = ExportHistory(i);
    ASSERT_TRUE(history.has_value());
    histories.push_back(std::move(*history));
  }
  EXPECT_NE(histories[0], histories[1]);
  EXPECT_NE(histories[1], histories[2]);
}

TEST_F(KafkaClusterTest, ConflictingRequestsToAllSignersSignOneDigestPerPosition) {
  const std::vector<Position> positions = MixedPositions(260);  // 1,040 positions
  const auto start = Clock::now();
  Storm(positions, 12);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::cerr << "linearizability storm: " << checker_.Summary() << " in " << seconds << " s\n";
  ExpectNoProblems();
  // Without faults every position has a winner, and it is signed exactly once per digest.
  EXPECT_EQ(checker_.signed_positions(), positions.size()) << checker_.Summary();
  EXPECT_EQ(checker_.count(grpc::StatusCode::UNAVAILABLE), 0u) << checker_.Summary();
  ASSERT_NO_FATAL_FAILURE(Settle());
  ExpectNoProblems();
  StopAllAndCompareHistories();
}

TEST_F(KafkaClusterTest, SigkilledSignersRestartAndCatchUpWhileTheStormGoesOn) {
  struct Kill {
    int signer;
    Clock::time_point killed;
    Clock::time_point restarted;
    uint64_t successes_at_kill;
    uint64_t successes_at_restart;
  };
  std::vector<Kill> kills;
  // The storm: fresh conflicting positions for about 20 seconds, and for as long as a signer the
  // killer took down is still down (until the survivors have served a request), so every kill has
  // clients to serve: a kill just before the end of a fixed-length storm would otherwise see no
  // success, however fast the survivors are.
  // It also lasts until three kills are done (a sanitizer build manages about three in 20 s),
  // bounded at 90 s.
  const auto storm_end = Clock::now() + std::chrono::seconds(20);
  const auto storm_limit = Clock::now() + std::chrono::seconds(90);
  std::atomic<bool> kill_in_progress{false};
  std::atomic<size_t> kills_done{0};
  std::atomic<bool> killer_done{false};
  std::thread killer([&] {
    std::mt19937 random(std::random_device{}());
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    for (;;) {
      // Raised before the clock is read: a client that saw the storm over and this flag down
      // read the clock earlier (and kills_done no lower), so this check sees the storm over too
      // and no kill starts.
      kill_in_progress = true;
      const auto now = Clock::now();
      if ((now >= storm_end && kills.size() >= 3) || now >= storm_limit) {
        kill_in_progress = false;
        break;
      }
      const int victim = static_cast<int>(random() % kSigners);
      Kill kill{victim, Clock::now(), {}, successes_.load(), 0};
      StopSigner(victim, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
      // Under a sanitizer the survivors may need longer than 600 ms for their next success; wait
      // for one (bounded) rather than let the assertion below depend on the machine's speed.
      const auto wait_end = Clock::now() + std::chrono::seconds(10);
      while (successes_.load() == kill.successes_at_kill && Clock::now() < wait_end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      // The downtime is over: the clients need not outlast the restart, whose catch-up would
      // chase a storm that never ends.
      kill_in_progress = false;
      const bool restarted = StartSigner(victim);
      kill.restarted = Clock::now();
      kill.successes_at_restart = successes_.load();
      if (!restarted) {
        ADD_FAILURE() << "signer-" << victim + 1 << " did not restart after SIGKILL";
        break;
      }
      kills.push_back(kill);
      kills_done = kills.size();
      std::this_thread::sleep_for(std::chrono::milliseconds(800));
    }
    killer_done = true;
  });
  std::vector<std::thread> clients;
  for (int w = 0; w < 8; ++w) {
    clients.emplace_back([&] {
      while (!killer_done.load() &&
             (Clock::now() < storm_end || kill_in_progress.load() || kills_done.load() < 3)) {
        Conflict(NextPosition(static_cast<Kind>(next_index_.load() % 4)));
      }
    });
  }
  killer.join();
  for (std::thread& client : clients) client.join();
  std::cerr << "kill storm: " << kills.size() << " kills; " << checker_.Summary() << "\n";
  ASSERT_GE(kills.size(), 3u);
  for (const Kill& kill : kills) {
    EXPECT_GT(kill.successes_at_restart, kill.successes_at_kill)
        << "no request succeeded while signer-" << kill.signer + 1 << " was down";
  }
  ExpectNoProblems();
  for (int i = 0; i < kSigners; ++i) {
    EXPECT_TRUE(Serving(i)) << "signer-" << i + 1 << " is not SERVING after the storm";
  }
  ASSERT_NO_FATAL_FAILURE(Settle());
  // Every restarted signer signs again.
  const uint64_t before = successes_.load();
  Storm(MixedPositions(5), 4);
  EXPECT_GE(successes_.load() - before, 20u);
  ExpectNoProblems();
  ASSERT_NO_FATAL_FAILURE(Settle());
  StopAllAndCompareHistories();
  for (int i = 0; i < kSigners; ++i) {
    auto report =
        signer::VerifyAuditFile((signers_[static_cast<size_t>(i)]->dir / "audit.jsonl").string());
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok) << "signer-" << i + 1 << ": " << report->problem;
  }
}

TEST_F(KafkaClusterTest, BrokersDownMeansUnavailableAndNoSignatureThenSigningResumes) {
  Storm(MixedPositions(10), 4);
  ASSERT_EQ(checker_.signed_positions(), 40u) << checker_.Summary();

  // Claims in flight when every broker goes down.
  const std::vector<Position> in_flight = MixedPositions(8);
  std::thread racing([&] { Storm(in_flight, 8); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(BrokerCommand("down all"), "ok down all");
  racing.join();

  // With no broker, nothing is signed: every new position is UNAVAILABLE.
  const uint64_t signatures_before = checker_.signatures();
  for (int i = 0; i < 3; ++i) {
    std::vector<std::pair<int, Reply>> replies;
    Conflict(NextPosition(static_cast<Kind>(i)), &replies);
    ASSERT_EQ(replies.size(), static_cast<size_t>(kSigners));
    for (const auto& [signer, reply] : replies) {
      EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::UNAVAILABLE)
          << "signer-" << signer + 1 << ": " << reply.status.error_message();
      EXPECT_TRUE(reply.signature.empty());
    }
  }
  EXPECT_EQ(checker_.signatures(), signatures_before);

  ASSERT_EQ(BrokerCommand("up all"), "ok up all");
  // Signing resumes on every signer.
  for (int i = 0; i < kSigners; ++i) {
    auto stub = StubOf(i);
    bool signed_again = false;
    const auto give_up = Clock::now() + std::chrono::seconds(60);
    while (!signed_again && Clock::now() < give_up) {
      const Position position = NextPosition(Kind::kGrandpa);
      std::promise<Reply> done;
      SendAsync(*stub, MakeVote(position, 0), [&](const Reply& reply) {
        checker_.Record(position, i, 0, reply);
        done.set_value(reply);
      });
      signed_again = done.get_future().get().status.ok();
      if (!signed_again) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    EXPECT_TRUE(signed_again) << "signer-" << i + 1 << " did not sign again after up all";
  }
  // The claims produced just before the failure may be applied only now: send every position of
  // the failure again, in every variant, and still only one digest per position may be signed.
  for (int round = 0; round < 2; ++round) Storm(in_flight, 8);
  ASSERT_NO_FATAL_FAILURE(Settle());
  std::cerr << "broker faults: " << checker_.Summary() << "\n";
  ExpectNoProblems();
  StopAllAndCompareHistories();
}

// A signer restarted while every broker is down must not exit (it once did after 10 s): it listens,
// reports NOT_SERVING, refuses to sign, keeps retrying, and serves once the brokers are back and
// its history has caught up.
TEST_F(KafkaClusterTest, SignerStartedDuringABrokerOutageServesOnceTheBrokersReturn) {
  Storm(MixedPositions(3), 4);
  ASSERT_EQ(checker_.signed_positions(), 12u) << checker_.Summary();
  StopSigner(0, SIGTERM);
  ASSERT_EQ(BrokerCommand("down all"), "ok down all");

  SignerProcess& signer = *signers_[0];
  const size_t log_size = ReadFile(signer.dir / "signerd.log").size();
  base::Result<support::ChildProcess> started = LaunchSigner(0);
  ASSERT_TRUE(started.ok()) << started.status().message();
  support::ChildProcess* child = nullptr;
  {
    std::lock_guard lock(signer.mutex);
    signer.process = std::move(started).value();  // TearDown kills it whatever happens below
    child = &*signer.process;
  }
  const std::optional<int> port = PortFromLog(0, log_size, std::chrono::seconds(30));
  ASSERT_TRUE(port.has_value()) << "no NOT_SERVING report; log:\n"
                                << ReadFile(signer.dir / "signerd.log");
  auto stub = std::shared_ptr<pb::RemoteKeystore::Stub>(pb::RemoteKeystore::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(*port), credentials_)));

  // For longer than the 10 s after which it used to give up: alive, NOT_SERVING, no signature.
  const auto outage_end = Clock::now() + std::chrono::seconds(12);
  int refused = 0;
  while (Clock::now() < outage_end) {
    ASSERT_TRUE(child->Running()) << "signerd exited during the outage; log:\n"
                                  << ReadFile(signer.dir / "signerd.log");
    EXPECT_EQ(HealthOf(*port), kHealthNotServing);
    const Reply reply = SignOnce(*stub, 0);
    EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << reply.status.error_message();
    EXPECT_TRUE(reply.signature.empty());
    ++refused;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // pacing, not synchronisation
  }
  EXPECT_GT(refused, 0);

  ASSERT_EQ(BrokerCommand("up all"), "ok up all");
  const auto give_up = Clock::now() + std::chrono::seconds(60);
  while (HealthOf(*port) != kHealthServing && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(HealthOf(*port), kHealthServing) << ReadFile(signer.dir / "signerd.log");
  // The listening line still means "serving", as scripts expect.
  const std::optional<std::string> line = child->ReadLine(std::chrono::seconds(10));
  child->CloseStdout();
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "signerd listening on 127.0.0.1:" + std::to_string(*port));
  {
    std::lock_guard lock(signer.mutex);
    signer.port = *port;
    signer.stub = stub;
  }
  bool signed_again = false;
  for (int attempt = 0; attempt < 20 && !signed_again; ++attempt) {
    signed_again = SignOnce(*stub, 0).status.ok();
    if (!signed_again) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(signed_again) << checker_.Summary();
  Storm(MixedPositions(3), 4);
  ASSERT_NO_FATAL_FAILURE(Settle());
  ExpectNoProblems();
  StopAllAndCompareHistories();
}

// An approval of more candidates than one version 1 claim record holds (64) is signed in Kafka mode
// as standalone: the classifier accepts up to 1024, and every signer then refuses an invalid vote
// on any of them.
TEST_F(KafkaClusterTest, ApprovalOfMoreThanSixtyFourCandidatesIsSignedAndProtected) {
  constexpr uint32_t kCandidates = 300;
  constexpr uint32_t kSession = 21;
  std::string approval = "APPR";
  AppendLittleEndian(approval, (kCandidates << 2) | 1, 2);  // SCALE compact length, two bytes
  for (uint32_t i = 0; i < kCandidates; ++i) {
    AppendLittleEndian(approval, i, 4);
    approval.append(28, '\x6a');
  }
  AppendLittleEndian(approval, kSession, 4);
  Vote vote;
  vote.key_type = "para";
  vote.scheme = base::Scheme::kSr25519;
  vote.public_key = Unhex(kAliceSr25519);
  vote.message = approval;
  for (int i = 0; i < kSigners; ++i) {
    std::promise<Reply> done;
    SendAsync(*StubOf(i), vote, [&](const Reply& reply) { done.set_value(reply); });
    const Reply reply = done.get_future().get();
    ASSERT_TRUE(reply.status.ok()) << "signer-" << i + 1 << ": " << reply.status.error_message();
    EXPECT_TRUE(keymgr::VerifySignature(vote.scheme, AsBytes(vote.public_key),
                                        AsBytes(vote.message), AsBytes(reply.signature), false));
  }
  // An invalid dispute vote on the last candidate: refused by every signer.
  std::string candidate;
  AppendLittleEndian(candidate, kCandidates - 1, 4);
  candidate.append(28, '\x6a');
  Vote invalid = vote;
  invalid.message = "DISP" + std::string(1, '\0') + candidate;
  AppendLittleEndian(invalid.message, kSession, 4);
  for (int i = 0; i < kSigners; ++i) {
    std::promise<Reply> done;
    SendAsync(*StubOf(i), invalid, [&](const Reply& reply) { done.set_value(reply); });
    const Reply reply = done.get_future().get();
    EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << "signer-" << i + 1 << ": " << reply.status.error_message();
    EXPECT_TRUE(reply.signature.empty());
  }
  ASSERT_NO_FATAL_FAILURE(Settle());
  StopAllAndCompareHistories();
}

// Digest of a vote's history record: the last field of Vote::record.
std::string RecordDigest(const Vote& vote) {
  return vote.record.substr(vote.record.rfind('|') + 1);
}

// signerctl history import and prune with a replicated signer's config go through the claims topic:
// all three running signers apply them, refuse alike, and end with identical histories. A local
// import or prune of a replicated history is refused.
TEST_F(KafkaClusterTest, HistoryImportAndPruneThroughTheClaimsTopicReachEverySigner) {
  Storm(MixedPositions(3), 4);
  ASSERT_NO_FATAL_FAILURE(Settle());

  // An interchange file recording variant 0 of a fresh GRANDPA position (as if signed elsewhere).
  const Position imported = NextPosition(Kind::kGrandpa);
  const uint64_t imported_round = imported.index + 1;
  const std::string file = (dir_.path() / "import.json").string();
  ASSERT_TRUE(support::WriteFile(
                  file,
                  std::string("{\"metadata\":{\"interchange_format\":") +
                      "\"substrate-slashing-protection\",\"interchange_format_version\":\"1\"," +
                      "\"genesis_hash\":\"0x" + kGenesis + "\"},\"data\":[{\"public_key\":\"0x" +
                      kAliceEd25519 + "\",\"domains\":[{\"domain\":\"grandpa_prevote\"," +
                      "\"records\":[{\"set_id\":\"" + std::to_string(kGrandpaSetId) +
                      "\",\"round\":\"" + std::to_string(imported_round) + "\",\"digests\":[\"" +
                      RecordDigest(MakeVote(imported, 0)) + "\"],\"recorded_at_ms\":\"1\"}]}]}]}",
                  0600)
                  .ok());
  const support::ProcessResult import =
      Signerctl({"history", "import", "--config", (signers_[0]->dir / "signerd.yaml").string(),
                 "--in", file});
  ASSERT_EQ(import.exit_code, 0) << import.err;
  const nlohmann::json import_report = nlohmann::json::parse(import.out);
  EXPECT_EQ(import_report.at("records_produced"), 1);
  // The import was acknowledged before these requests, so on every signer it precedes their
  // claims in the key's partition: variant 1 loses everywhere, variant 0 is a re-sign.
  for (const auto& [signer, reply] : SendToAll(imported, 1)) {
    EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << "signer-" << signer + 1 << ": " << reply.status.error_message();
  }
  for (const auto& [signer, reply] : SendToAll(imported, 0)) {
    EXPECT_TRUE(reply.status.ok())
        << "signer-" << signer + 1 << ": " << reply.status.error_message();
  }

  // Prune GRANDPA prevotes below a position above a fresh, never signed one.
  const Position below_watermark = NextPosition(Kind::kGrandpa);
  const uint64_t watermark_round = below_watermark.index + 2;
  const support::ProcessResult prune =
      Signerctl({"history", "prune", "--config", (signers_[1]->dir / "signerd.yaml").string(),
                 "--domain", "grandpa_prevote", "--below",
                 std::to_string(kGrandpaSetId) + ":" + std::to_string(watermark_round)});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  const nlohmann::json prune_report = nlohmann::json::parse(prune.out);
  EXPECT_EQ(prune_report.at("records_produced"), 8) << "one per partition of the dev topic";
  for (int variant = 0; variant < 3; ++variant) {
    for (const auto& [signer, reply] : SendToAll(below_watermark, variant)) {
      EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
          << "signer-" << signer + 1 << " variant " << variant << ": "
          << reply.status.error_message();
    }
  }
  ASSERT_NO_FATAL_FAILURE(Settle());
  ExpectNoProblems();
  const std::set<std::string> history = StopAllAndCompareHistories(false);
  for (const std::string& record : history) {
    if (record.rfind("grandpa_prevote|", 0) != 0) continue;
    const size_t at = record.find("|round=") + 7;
    EXPECT_GE(std::stoull(record.substr(at)), watermark_round) << "not pruned: " << record;
  }

  // Locally, without the kafka section, the same commands refuse the replicated history.
  const SignerProcess& signer = *signers_[2];
  const std::string config = ReadFile(signer.dir / "signerd.yaml");
  const fs::path local_config = signer.dir / "local.yaml";
  ASSERT_TRUE(support::WriteFile(local_config, config.substr(0, config.find("kafka:")), 0600).ok());
  const support::ProcessResult local_import =
      Signerctl({"history", "import", "--config", local_config.string(), "--in", file});
  EXPECT_EQ(local_import.exit_code, 2);
  EXPECT_NE(local_import.err.find("replicated signer"), std::string::npos) << local_import.err;
  const support::ProcessResult local_prune = Signerctl(
      {"history", "prune", "--config", local_config.string(), "--domain", "babe", "--below", "1"});
  EXPECT_EQ(local_prune.exit_code, 2);
  EXPECT_NE(local_prune.err.find("replicated signer"), std::string::npos) << local_prune.err;
  const support::ProcessResult local_export =
      Signerctl({"history", "export", "--config", local_config.string(), "--out",
                 (signer.dir / "after.json").string()});
  ASSERT_EQ(local_export.exit_code, 0) << local_export.err;
  EXPECT_EQ(HistoryRecords(ReadFile(signer.dir / "after.json")), history)
      << "the refused commands changed the history";

  // Nor does signerd sign alone on it: started with that config, it refuses to start.
  support::ProcessOptions standalone;
  standalone.set_env = {signer.hsm->ConfigEnv()};
  standalone.timeout = std::chrono::seconds(60);
  const support::ProcessResult alone = support::ResultOrStartFailure(support::RunProcess(
      {support::Location("signerd"), "--config", local_config.string()}, standalone));
  EXPECT_FALSE(alone.timed_out) << "signerd served a replicated history standalone";
  EXPECT_NE(alone.exit_code, 0) << alone.Describe();
  EXPECT_NE(alone.err.find("belongs to a replicated signer"), std::string::npos) << alone.err;
}

TEST_F(KafkaClusterTest, AuditTailSeesEveryDecisionOfEverySignerWithIntactChains) {
  Storm(MixedPositions(30), 6);
  ASSERT_NO_FATAL_FAILURE(Settle());
  ExpectNoProblems();
  // A signer's orderly shutdown flushes its audit producer (lines not delivered by then are counted
  // as failed, never dropped silently), so after it every published line is in the topic.
  for (int i = 0; i < kSigners; ++i) StopSigner(i, SIGTERM);
  // The tail stops once it has reported every local line, and waits as long as it takes for an
  // event held behind a hole: a signer's lines are spread over partitions that may arrive seconds
  // apart on a loaded machine, and the default one-second reorder window would call that a gap.
  // A line that never arrives still fails the test, at the idle bound, as a gap.
  size_t expected_events = 0;
  for (int i = 0; i < kSigners; ++i) {
    std::istringstream local(ReadFile(signers_[static_cast<size_t>(i)]->dir / "audit.jsonl"));
    std::string local_line;
    while (std::getline(local, local_line)) expected_events += local_line.empty() ? 0 : 1;
  }
  const support::ProcessResult tail =
      Signerctl({"audit", "tail", "--brokers", bootstrap_, "--from-beginning", "--max-events",
                 std::to_string(expected_events), "--reorder-window-ms", "600000", "--idle-exit-ms",
                 "60000"});
  EXPECT_EQ(tail.exit_code, 0) << tail.err;

  std::map<std::string, std::map<uint64_t, nlohmann::json>> streamed;
  std::istringstream lines(tail.out);
  std::string line;
  size_t events = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const nlohmann::json event = nlohmann::json::parse(line);
    ++events;
    EXPECT_EQ(event.at("chain"), "ok") << line;
    const nlohmann::json& audit_line = event.at("event");
    streamed[event.at("signer_id").get<std::string>()][audit_line.at("seq").get<uint64_t>()] =
        audit_line;
  }
  size_t local_lines = 0;
  for (int i = 0; i < kSigners; ++i) {
    const SignerProcess& signer = *signers_[static_cast<size_t>(i)];
    std::istringstream local(ReadFile(signer.dir / "audit.jsonl"));
    const auto& seen = streamed[signer.id];
    uint64_t count = 0;
    while (std::getline(local, line)) {
      const nlohmann::json local_line = nlohmann::json::parse(line);
      const uint64_t seq = local_line.at("seq").get<uint64_t>();
      auto it = seen.find(seq);
      if (it == seen.end()) {
        ADD_FAILURE() << signer.id << " seq " << seq << " is not in the audit stream";
      } else {
        EXPECT_EQ(it->second, local_line) << signer.id << " seq " << seq;
      }
      ++count;
    }
    EXPECT_GT(count, 0u);
    EXPECT_EQ(seen.size(), count) << signer.id;
    local_lines += count;
  }
  EXPECT_EQ(events, local_lines);
}

}  // namespace
