// signerctl demo: drives a running signerd over mTLS through the protections a validator relies on.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"
#include "ctl_command.h"
#include "keymgr/keypair.h"
#include "remote_keystore.grpc.pb.h"
#include "signer/config.h"
#include "tls/grpc_credentials.h"

namespace signerctl {
namespace {

namespace fs = std::filesystem;

namespace pb = parity::polkadot::signer;
using KeystoreStub = pb::RemoteKeystore::Stub;
constexpr auto kCallTimeout = std::chrono::seconds(10);

struct DemoOptions {
  std::string dev_dir;
  std::string config;
  std::string target;
  std::string ca;
  std::string client_cert;
  std::string client_key;
  std::string intruder_cert;
  std::string intruder_key;
};

std::span<const uint8_t> AsBytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string ToString(std::span<const uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

struct SignWithCall {
  std::string key_type;
  std::string crypto_type;
  std::string public_key;
  std::string message;
  std::string preimage;
};

struct SignWithResult {
  grpc::Status status;
  std::string signature;
  uint64_t keystore_error = 0;  // RemoteKeystoreError; 0 is "no error"
};

SignWithResult CallSignWith(KeystoreStub& stub, const SignWithCall& call) {
  pb::SignWithRequest request;
  request.set_key_type(call.key_type);
  request.set_crypto_type(call.crypto_type);
  request.set_public_key(call.public_key);
  request.set_message(call.message);
  request.set_preimage(call.preimage);
  pb::SignWithReply reply;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  SignWithResult result;
  result.status = stub.SignWith(&context, request, &reply);
  if (result.status.ok()) {
    result.signature = reply.signature().signature();
    result.keystore_error = static_cast<uint64_t>(reply.signature().error());
  }
  return result;
}

std::string LittleEndian(uint64_t value, int width) {
  std::string out;
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
  return out;
}

// GrandpaVote is the spec's 53-byte localized payload (section 4): stage, target hash, target
// number u32, round u64, set_id u64, all little-endian.
std::string GrandpaVote(uint8_t stage, uint8_t hash_byte, uint32_t number, uint64_t round,
                        uint64_t set_id) {
  return std::string(1, static_cast<char>(stage)) + std::string(32, static_cast<char>(hash_byte)) +
         LittleEndian(number, 4) + LittleEndian(round, 8) + LittleEndian(set_id, 8);
}

// BabeHeader SCALE-encodes a header with one PreRuntime(b"BABE", SecondaryPlain{authority 0,
// slot}) digest item (spec section 4); `number` must stay below 64 (single-byte compact).
std::string BabeHeader(uint8_t number, uint64_t slot) {
  std::string pre_digest = std::string(1, '\x02') + LittleEndian(0, 4) + LittleEndian(slot, 8);
  return std::string(32, '\x01') + std::string(1, static_cast<char>(number << 2)) +
         std::string(32, '\x02') + std::string(32, '\x03') + std::string(1, 1 << 2) + "\x06" +
         "BABE" + std::string(1, static_cast<char>(pre_digest.size() << 2)) + pre_digest;
}

// DisputeStatement is b"DISP" ++ SCALE(ExplicitDisputeStatement{valid, candidate_hash, session}).
std::string DisputeStatement(bool valid, uint8_t candidate_byte, uint32_t session) {
  return "DISP" + std::string(1, valid ? '\x01' : '\x00') +
         std::string(32, static_cast<char>(candidate_byte)) + LittleEndian(session, 4);
}

std::string HexOf(const std::string& bytes) { return HexWithPrefix(AsBytes(bytes)); }

// Demo runs the steps in order, printing one JSON line per step as it completes.
class Demo {
 public:
  Demo(std::unique_ptr<KeystoreStub> alice, std::unique_ptr<KeystoreStub> intruder,
       std::string target)
      : alice_(std::move(alice)), intruder_(std::move(intruder)), target_(std::move(target)) {}

  Outcome Run();

 private:
  // ExpectSigned checks the call succeeded and the signature verifies over `signed_bytes`.
  void ExpectSigned(nlohmann::ordered_json step, base::Scheme scheme, const std::string& public_key,
                    const std::string& signed_bytes, const SignWithResult& result);
  void ExpectRefused(nlohmann::ordered_json step, grpc::StatusCode expected,
                     const SignWithResult& result);
  void Emit(nlohmann::ordered_json step, bool passed);

  std::unique_ptr<KeystoreStub> alice_;
  std::unique_ptr<KeystoreStub> intruder_;
  std::string target_;
  int steps_ = 0;
  int failed_ = 0;
};

void Demo::Emit(nlohmann::ordered_json step, bool passed) {
  step["ok"] = passed;
  ++steps_;
  if (!passed) ++failed_;
  // Streamed rather than collected, so a slow or hanging step shows how far the demo got.
  std::cout << step.dump() << std::endl;
}

std::string StatusName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

void Demo::ExpectSigned(nlohmann::ordered_json step, base::Scheme scheme,
                        const std::string& public_key, const std::string& signed_bytes,
                        const SignWithResult& result) {
  step["status"] = StatusName(result.status.error_code());
  if (!result.status.ok()) step["message"] = result.status.error_message();
  bool verified = false;
  if (result.status.ok() && result.keystore_error == 0 && !result.signature.empty()) {
    step["signature"] = HexOf(result.signature);
    verified = keymgr::VerifySignature(scheme, AsBytes(public_key), AsBytes(signed_bytes),
                                       AsBytes(result.signature));
  } else if (result.keystore_error != 0) {
    step["keystore_error"] = result.keystore_error;
  }
  step["verified_locally"] = verified;
  Emit(std::move(step), verified);
}

void Demo::ExpectRefused(nlohmann::ordered_json step, grpc::StatusCode expected,
                         const SignWithResult& result) {
  step["expected"] = StatusName(expected);
  step["status"] = StatusName(result.status.error_code());
  step["message"] = result.status.error_message();
  const bool passed = result.status.error_code() == expected && result.signature.empty();
  Emit(std::move(step), passed);
}

Outcome Demo::Run() {
  auto ed = keymgr::KeypairFromSuri(base::Scheme::kEd25519, "//Alice");
  auto sr = keymgr::KeypairFromSuri(base::Scheme::kSr25519, "//Alice");
  if (!ed.ok() || !sr.ok()) return Outcome::Usage("demo: cannot derive //Alice's public keys");
  const std::string gran_key = ToString(ed->public_key());
  const std::string sr_key = ToString(sr->public_key());
  // Fixed positions keep the demo repeatable on one history: a second run re-signs the same
  // statements (allowed) and meets the same conflicts (refused).
  constexpr uint64_t kSetId = 5;
  constexpr uint64_t kRound = 42;

  const std::string prevote = GrandpaVote(0, 0xaa, 1000, kRound, kSetId);
  const SignWithCall vote_call{"gran", "ed25519", gran_key, prevote, {}};
  ExpectSigned({{"step", "grandpa_prevote"},
                {"target", target_},
                {"expected", "signed"},
                {"position", "set_id=5 round=42"},
                {"payload", HexOf(prevote)}},
               base::Scheme::kEd25519, gran_key, prevote, CallSignWith(*alice_, vote_call));
  ExpectSigned({{"step", "grandpa_prevote_resign"}, {"expected", "signed (identical statement)"}},
               base::Scheme::kEd25519, gran_key, prevote, CallSignWith(*alice_, vote_call));
  const std::string equivocation = GrandpaVote(0, 0xbb, 1001, kRound, kSetId);
  ExpectRefused({{"step", "grandpa_prevote_equivocation"}, {"payload", HexOf(equivocation)}},
                grpc::StatusCode::FAILED_PRECONDITION,
                CallSignWith(*alice_, {"gran", "ed25519", gran_key, equivocation, {}}));

  // A BABE seal is over blake2_256(header); the header goes along so the signer sees the slot.
  const std::string header = BabeHeader(10, 777);
  const auto header_hash = base::Blake2b256(AsBytes(header));
  const std::string seal_message = ToString(header_hash);
  ExpectSigned({{"step", "babe_seal"},
                {"expected", "signed"},
                {"position", "slot=777"},
                {"header", HexOf(header)},
                {"header_hash", HexOf(seal_message)}},
               base::Scheme::kSr25519, sr_key, seal_message,
               CallSignWith(*alice_, {"babe", "sr25519", sr_key, seal_message, header}));

  const std::string dispute_valid = DisputeStatement(true, 0x5c, 11);
  ExpectSigned({{"step", "dispute_valid"},
                {"expected", "signed"},
                {"position", "session=11"},
                {"payload", HexOf(dispute_valid)}},
               base::Scheme::kSr25519, sr_key, dispute_valid,
               CallSignWith(*alice_, {"para", "sr25519", sr_key, dispute_valid, {}}));
  const std::string dispute_invalid = DisputeStatement(false, 0x5c, 11);
  ExpectRefused({{"step", "dispute_invalid_same_candidate"}, {"payload", HexOf(dispute_invalid)}},
                grpc::StatusCode::FAILED_PRECONDITION,
                CallSignWith(*alice_, {"para", "sr25519", sr_key, dispute_invalid, {}}));

  if (intruder_ != nullptr) {
    const std::string vote = GrandpaVote(0, 0xcc, 2000, 77, kSetId);
    ExpectRefused({{"step", "intruder_sign"}, {"identity", "intruder"}},
                  grpc::StatusCode::PERMISSION_DENIED,
                  CallSignWith(*intruder_, {"gran", "ed25519", gran_key, vote, {}}));
  } else {
    Emit({{"step", "intruder_sign"}, {"skipped", "no intruder certificate given"}}, true);
  }

  nlohmann::ordered_json summary;
  summary["demo"] = failed_ == 0 ? "passed" : "failed";
  summary["steps"] = steps_;
  summary["failed"] = failed_;
  return Outcome::Json(std::move(summary), failed_ == 0 ? kExitOk : kExitInvalid);
}

// ClientFor opens a channel as the identity whose certificate and key are given.
base::Result<std::unique_ptr<KeystoreStub>> ClientFor(const std::string& target,
                                                      const std::string& ca,
                                                      const std::string& cert,
                                                      const std::string& key) {
  auto credentials = tls::ClientChannelCredentials({ca, cert, key});
  if (!credentials.ok()) return credentials.status();
  return pb::RemoteKeystore::NewStub(grpc::CreateChannel(target, *credentials));
}

// TargetFromConfig turns signerd's listen address into one a local client can dial.
base::Result<std::string> TargetFromConfig(const std::string& path) {
  auto config = signer::LoadSignerConfig(path);
  if (!config.ok()) return config.status();
  if (!config->server.has_value()) {
    return base::Status::InvalidArgument(path + " has no server section");
  }
  std::string listen = config->server->listen;
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return base::Status::InvalidArgument("bad server.listen");
  const std::string host = listen.substr(0, colon);
  if (host == "0.0.0.0" || host.empty()) listen = "127.0.0.1" + listen.substr(colon);
  if (host == "[::]") listen = "[::1]" + listen.substr(colon);
  if (listen.substr(colon + 1) == "0") {
    return base::Status::InvalidArgument(
        "server.listen uses port 0: pass --target with the port signerd printed");
  }
  return listen;
}

Outcome RunDemo(DemoOptions options) {
  if (!options.dev_dir.empty()) {
    const fs::path dir(options.dev_dir);
    const fs::path pki = dir / "pki";
    auto fill = [](std::string& value, const fs::path& path) {
      if (value.empty()) value = path.string();
    };
    fill(options.config, dir / "signerd.yaml");
    fill(options.ca, pki / "ca.crt");
    fill(options.client_cert, pki / "validator-alice.crt");
    fill(options.client_key, pki / "validator-alice.key");
    std::error_code ignored;
    if (fs::exists(pki / "intruder.crt", ignored)) {
      fill(options.intruder_cert, pki / "intruder.crt");
      fill(options.intruder_key, pki / "intruder.key");
    }
  }
  if (options.ca.empty() || options.client_cert.empty() || options.client_key.empty()) {
    return Outcome::Usage("demo: give --dev-dir, or --ca, --client-cert and --client-key");
  }
  if (options.intruder_cert.empty() != options.intruder_key.empty()) {
    return Outcome::Usage("demo: --intruder-cert and --intruder-key go together");
  }
  if (options.target.empty()) {
    if (options.config.empty()) return Outcome::Usage("demo: give --target or --config");
    auto target = TargetFromConfig(options.config);
    if (!target.ok()) return Outcome::Usage("demo: " + target.status().message());
    options.target = *target;
  }
  auto alice = ClientFor(options.target, options.ca, options.client_cert, options.client_key);
  if (!alice.ok()) return Outcome::Usage("demo: client credentials: " + alice.status().message());
  std::unique_ptr<KeystoreStub> intruder;
  if (!options.intruder_cert.empty()) {
    auto opened =
        ClientFor(options.target, options.ca, options.intruder_cert, options.intruder_key);
    if (!opened.ok()) {
      return Outcome::Usage("demo: intruder credentials: " + opened.status().message());
    }
    intruder = std::move(*opened);
  }
  return Demo(std::move(*alice), std::move(intruder), options.target).Run();
}

}  // namespace

void RegisterDemoCommands(CLI::App& app, CommandTable& table) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* demo = app.add_subcommand(
      "demo",
      "call a running signerd over mTLS as //Alice's validator: a GRANDPA prevote signed, "
      "re-signed "
      "and its equivocation refused, a BABE seal, a dispute double vote refused, an intruder "
      "denied (one JSON line per step; exit 0 only if every step behaved as expected)");
  demo->add_option("--dev-dir", options->dev_dir,
                   "a directory made by `signerctl dev init`: its signerd.yaml and pki/ supply "
                   "everything below");
  demo->add_option("--config", options->config, "signerd's config, for the address to call");
  demo->add_option("--target", options->target, "HOST:PORT to call (overrides the config)");
  demo->add_option("--ca", options->ca, "CA that signed the server certificate");
  demo->add_option("--client-cert", options->client_cert, "validator-alice's client certificate");
  demo->add_option("--client-key", options->client_key, "its private key (mode 0600)");
  demo->add_option("--intruder-cert", options->intruder_cert,
                   "a valid client certificate with no permissions (optional)");
  demo->add_option("--intruder-key", options->intruder_key, "its private key");
  table.Add(demo, [options] { return RunDemo(*options); });
}

}  // namespace signerctl
