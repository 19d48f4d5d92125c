// rpc-pool-payout: pays one period's points as one utility.batch_all of transfers, signed by the
// signer appliance (RemoteKeystore.SignWith, key type acco), exactly once per period.
//
// Order of a run (docs/rpc-pool.md, "Payout"): lock the ledger; a submitted period ends here; a
// prepared one resubmits its recorded bytes; otherwise check the node's chain against the pinned
// profile, read the nonce, build, sign, verify the signature, run the check command, record
// "prepared" durably, submit, record "submitted". Exit 0: paid (now or before) or nothing to pay.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"
#include "base/json_depth.h"
#include "keymgr/sr25519.h"
#include "keymgr/ss58.h"
#include "remote_keystore.grpc.pb.h"
#include "rpc_pool/node_client.h"
#include "rpc_pool/payout.h"
#include "rpc_pool/payout_extrinsic.h"
#include "rpc_pool/payout_ledger.h"
#include "tls/grpc_credentials.h"

extern char** environ;

namespace {

namespace pb = parity::polkadot::signer;
using base::Result;
using base::Status;
using Json = nlohmann::json;
using rpc_pool::PayoutRecord;
using rpc_pool::PayoutState;

constexpr int kExitFailure = 1;
// A points file of a pool of a few hundred nodes is a few tens of KiB.
constexpr size_t kMaxInputFileBytes = size_t{4} * 1024 * 1024;
constexpr std::string_view kAccountKeyType = "acco";

void Log(const std::string& line) { std::fprintf(stderr, "rpc-pool-payout: %s\n", line.c_str()); }

// Say prints one progress line on stdout and flushes it: the controller (and the tests) follow
// the run by these lines, also when the process is killed right after one.
void Say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

struct Options {
  std::string period;
  std::string points_file;
  uint64_t total = 0;
  uint32_t fee_per_mille = 0;
  std::string profile_file;
  std::string signer;
  std::string signer_ca;
  std::string certificate;
  std::string private_key;
  std::string pool_public_key;
  std::string node_rpc;
  std::string ledger_dir;
  size_t max_transfers = 256;
  uint64_t timeout_ms = 10'000;
  std::string check_command;
  std::vector<std::string> check_args;
};

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::string text(kMaxInputFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxInputFileBytes) return Status::InvalidArgument(path + " is too large");
  return text;
}

// ReadPayees reads the points file: [{"account": SS58 or 0x hex, "points": N}, ...].
Result<std::vector<rpc_pool::Payee>> ReadPayees(const std::string& path, uint16_t ss58_prefix) {
  SIGNER_ASSIGN_OR_RETURN(const std::string text, ReadSmallFile(path));
  if (!base::JsonNestingWithin(text, 2)) return Status::InvalidArgument(path + ": nested too deep");
  const Json document = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_array()) {
    return Status::InvalidArgument(path + ": not a JSON array of {account, points}");
  }
  std::vector<rpc_pool::Payee> payees;
  for (const Json& entry : document) {
    if (!entry.is_object() || entry.size() != 2 || !entry.contains("account") ||
        !entry["account"].is_string() || !entry.contains("points") ||
        !entry["points"].is_number_unsigned()) {
      return Status::InvalidArgument(path + ": every entry must be {account, points}");
    }
    SIGNER_ASSIGN_OR_RETURN(
        const rpc_pool::AccountId account,
        rpc_pool::ParseAccount(entry["account"].get<std::string>(), ss58_prefix));
    payees.push_back({account, entry["points"].get<uint64_t>()});
  }
  return payees;
}

// InputDigest binds a ledger record to the run's inputs: a re-run of a period with other inputs
// is refused instead of being taken for the same payout.
std::string InputDigest(const Options& options, const rpc_pool::ChainProfile& profile,
                        const rpc_pool::AccountId& pool,
                        const std::vector<rpc_pool::Payee>& payees) {
  std::string text = "rpc-pool-payout/1\n" + profile.chain + "\n" + options.period + "\n" +
                     std::to_string(options.total) + "\n" + std::to_string(options.fee_per_mille) +
                     "\n" + base::HexEncode(pool) + "\n";
  for (const rpc_pool::Payee& payee : payees) {
    text += base::HexEncode(payee.account) + " " + std::to_string(payee.points) + "\n";
  }
  return "0x" + base::HexEncode(
                    base::Blake2b256({reinterpret_cast<const uint8_t*>(text.data()), text.size()}));
}

// Field returns object[key], or null when `object` is not an object or lacks it. The node's answers
// are untrusted and nlohmann's value() throws on a type mismatch; comparisons with the result never
// throw.
const Json& Field(const Json& object, const char* key) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  const auto found = object.find(key);
  return found == object.end() ? kNull : *found;
}

// Node is the node's JSON-RPC as the payout uses it.
class Node {
 public:
  explicit Node(rpc_pool::NodeClientOptions options) : client_(std::move(options)) {}

  // Call returns the result of `method`. kUnavailable: the node could not be reached or did not
  // answer; kFailedPrecondition: it answered with a JSON-RPC error (its words in the message);
  // kInvalidArgument: the answer is not JSON-RPC.
  Result<Json> Call(std::string_view method, const Json& params) {
    const uint64_t id = ++next_id_;
    SIGNER_ASSIGN_OR_RETURN(const std::string body, client_.Call(id, method, params.dump()));
    if (!base::JsonNestingWithin(body, 8)) {
      return Status::InvalidArgument("the node's answer is nested too deep");
    }
    const Json answer = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (answer.is_discarded() || !answer.is_object() || Field(answer, "jsonrpc") != "2.0" ||
        Field(answer, "id") != id) {
      return Status::InvalidArgument("the node's answer to " + std::string(method) +
                                     " is not JSON-RPC 2.0");
    }
    if (answer.contains("error")) {
      return Status::FailedPrecondition("the node refused " + std::string(method) + ": " +
                                        answer["error"].dump());
    }
    if (!answer.contains("result")) {
      return Status::InvalidArgument("the node's answer to " + std::string(method) +
                                     " has no result");
    }
    return answer["result"];
  }

  Result<uint32_t> NextNonce(const std::string& address) {
    SIGNER_ASSIGN_OR_RETURN(const Json result, Call("system_accountNextIndex", {address}));
    if (!result.is_number_unsigned() || result.get<uint64_t>() > UINT32_MAX) {
      return Status::InvalidArgument("system_accountNextIndex did not answer a u32");
    }
    return static_cast<uint32_t>(result.get<uint64_t>());
  }

 private:
  rpc_pool::NodeRpcClient client_;
  uint64_t next_id_ = 0;
};

// CheckChain refuses a node that is not on the profile's chain and runtime: a signature over
// another genesis or runtime version would be invalid on chain at best.
Status CheckChain(Node& node, const rpc_pool::ChainProfile& profile) {
  SIGNER_ASSIGN_OR_RETURN(const Json genesis, node.Call("chain_getBlockHash", {0}));
  const std::string expected = "0x" + base::HexEncode(profile.genesis_hash);
  if (!genesis.is_string() || genesis.get<std::string>() != expected) {
    return Status::FailedPrecondition("the node's genesis is " + genesis.dump() + ", the " +
                                      profile.chain + " profile pins " + expected);
  }
  SIGNER_ASSIGN_OR_RETURN(const Json version, node.Call("state_getRuntimeVersion", Json::array()));
  if (Field(version, "specName") != profile.spec_name ||
      Field(version, "specVersion") != profile.spec_version ||
      Field(version, "transactionVersion") != profile.transaction_version) {
    return Status::FailedPrecondition(
        "the node runs " + version.dump() + ", the profile pins " + profile.spec_name + " spec " +
        std::to_string(profile.spec_version) + " transaction version " +
        std::to_string(profile.transaction_version) + ": regenerate the chain profile");
  }
  return Status::Ok();
}

// Sign asks signerd for an sr25519 signature of `message` by the acco key `pool` and verifies it
// before returning it: a wrong signature is an error here, never a submission.
Result<std::array<uint8_t, rpc_pool::kSr25519SignatureSize>> Sign(
    pb::RemoteKeystore::Stub& signer, const rpc_pool::AccountId& pool,
    const std::vector<uint8_t>& message, uint64_t timeout_ms) {
  pb::SignWithRequest request;
  request.set_key_type(std::string(kAccountKeyType));
  request.set_crypto_type("sr25519");
  request.set_public_key(pool.data(), pool.size());
  request.set_message(message.data(), message.size());
  pb::SignWithReply reply;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  const grpc::Status status = signer.SignWith(&context, request, &reply);
  if (!status.ok()) {
    return Status::Unavailable("the signer refused or could not be reached: " +
                               std::to_string(status.error_code()) + " " + status.error_message());
  }
  if (reply.signature().error() == pb::REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND) {
    return Status::NotFound("the signer holds no acco key 0x" + base::HexEncode(pool) +
                            " for this client");
  }
  const std::string& signature = reply.signature().signature();
  if (signature.size() != rpc_pool::kSr25519SignatureSize) {
    return Status::Internal("the signer answered no sr25519 signature");
  }
  std::array<uint8_t, rpc_pool::kSr25519SignatureSize> out{};
  std::copy(signature.begin(), signature.end(), out.begin());
  if (!keymgr::Sr25519Verify(pool, message, out)) {
    return Status::Internal("the signer's signature does not verify under the pool's key");
  }
  return out;
}

// RunCheckCommand runs the operator's check: `command args... --expect FILE` with the extrinsic
// hex on stdin; exit 0 lets the payout go on. The expectation is written from the plan, not from
// the encoded bytes, so the check judges the encoder.
Status RunCheckCommand(const Options& options, const std::filesystem::path& dir,
                       const std::string& extrinsic_hex, uint32_t nonce,
                       const rpc_pool::AccountId& pool, const rpc_pool::PayoutPlan& plan) {
  Json transfers = Json::array();
  for (const rpc_pool::Transfer& transfer : plan.transfers) {
    transfers.push_back({{"account", "0x" + base::HexEncode(transfer.dest)},
                         {"amount", std::to_string(transfer.amount)}});
  }
  const Json expect = {
      {"signer", "0x" + base::HexEncode(pool)}, {"nonce", nonce}, {"transfers", transfers}};
  const std::filesystem::path expect_file = dir / ("check-" + options.period + ".json");
  const std::filesystem::path input_file = dir / ("check-" + options.period + ".hex");
  {
    std::ofstream out(expect_file, std::ios::trunc);
    out << expect.dump();
    std::ofstream hex(input_file, std::ios::trunc);
    hex << extrinsic_hex << "\n";
    if (!out || !hex) return Status::Unavailable("cannot write the check command's input");
  }
  std::vector<std::string> argv = {options.check_command};
  argv.insert(argv.end(), options.check_args.begin(), options.check_args.end());
  argv.insert(argv.end(), {"--expect", expect_file.string()});
  std::vector<char*> raw;
  raw.reserve(argv.size() + 1);
  for (std::string& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, input_file.c_str(), O_RDONLY, 0);
  // Its output goes to our stderr: stdout is the payout's own progress lines.
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, raw[0], &actions, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  int wait_status = 0;
  const bool waited = spawned == 0 && ::waitpid(pid, &wait_status, 0) == pid;
  std::error_code ignored;
  std::filesystem::remove(expect_file, ignored);
  std::filesystem::remove(input_file, ignored);
  if (!waited) return Status::Unavailable("cannot run the check command " + options.check_command);
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return Status::FailedPrecondition("the check command refused the extrinsic");
  }
  return Status::Ok();
}

// Submit sends the recorded extrinsic and records "submitted" once the node took it. A refusal
// still counts as paid when the account's nonce has moved past the recorded one: the chain used
// that nonce, and only this record's bytes carried it (the pool account signs nothing else).
Status Submit(Node& node, rpc_pool::PayoutLedger& ledger, PayoutRecord record,
              const std::string& pool_address) {
  const Result<Json> answer = node.Call("author_submitExtrinsic", {record.extrinsic_hex});
  if (answer.ok()) {
    if (!answer->is_string() || answer->get<std::string>() != record.tx_hash_hex) {
      return Status::Internal("the node reports hash " + answer->dump() + " for extrinsic " +
                              record.tx_hash_hex + "; left prepared");
    }
  } else if (answer.status().code() == base::StatusCode::kFailedPrecondition) {
    SIGNER_ASSIGN_OR_RETURN(const uint32_t next, node.NextNonce(pool_address));
    if (next <= record.nonce) {
      return Status::FailedPrecondition(answer.status().message() + "; nonce " +
                                        std::to_string(record.nonce) +
                                        " is still unused, the period stays prepared");
    }
    Say("period " + record.period +
        ": the node refused the resubmission but the account's nonce "
        "is " +
        std::to_string(next) + ", past " + std::to_string(record.nonce) +
        ": the recorded extrinsic was taken before");
  } else {
    return answer.status();
  }
  record.state = PayoutState::kSubmitted;
  SIGNER_RETURN_IF_ERROR(ledger.Record(record));
  Say("period " + record.period + ": submitted tx " + record.tx_hash_hex);
  return Status::Ok();
}

Result<rpc_pool::NodeClientOptions> NodeOptions(const Options& options) {
  const std::string& text = options.node_rpc;
  const size_t colon = text.rfind(':');
  uint16_t port = 0;
  const char* end = text.data() + text.size();
  if (colon == std::string::npos || colon == 0 ||
      std::from_chars(text.data() + colon + 1, end, port).ptr != end || port == 0) {
    return Status::InvalidArgument("--node-rpc must be HOST:PORT");
  }
  rpc_pool::NodeClientOptions node;
  node.host = text.substr(0, colon);
  node.port = port;
  node.timeout = std::chrono::milliseconds(options.timeout_ms);
  return node;
}

Status Run(const Options& options) {
  if (!rpc_pool::ValidPeriodId(options.period)) {
    return Status::InvalidArgument("--period must be 1..64 of [A-Za-z0-9._-], not starting with .");
  }
  SIGNER_ASSIGN_OR_RETURN(const std::string profile_text, ReadSmallFile(options.profile_file));
  SIGNER_ASSIGN_OR_RETURN(const rpc_pool::ChainProfile profile,
                          rpc_pool::ParseChainProfile(profile_text));
  SIGNER_ASSIGN_OR_RETURN(const rpc_pool::AccountId pool,
                          rpc_pool::ParseAccount(options.pool_public_key, profile.ss58_prefix));
  SIGNER_ASSIGN_OR_RETURN(const std::string pool_address,
                          keymgr::Ss58Encode(pool, profile.ss58_prefix));
  SIGNER_ASSIGN_OR_RETURN(const std::vector<rpc_pool::Payee> payees,
                          ReadPayees(options.points_file, profile.ss58_prefix));
  SIGNER_ASSIGN_OR_RETURN(
      const rpc_pool::PayoutPlan plan,
      rpc_pool::ComputePayout(options.total, options.fee_per_mille, payees, options.max_transfers));
  SIGNER_ASSIGN_OR_RETURN(const rpc_pool::NodeClientOptions node_options, NodeOptions(options));
  Node node(node_options);
  const std::string digest = InputDigest(options, profile, pool, payees);

  SIGNER_ASSIGN_OR_RETURN(rpc_pool::PayoutLedger ledger,
                          rpc_pool::PayoutLedger::Open(options.ledger_dir));
  SIGNER_ASSIGN_OR_RETURN(const std::optional<PayoutRecord> found, ledger.Find(options.period));
  if (found.has_value()) {
    if (found->input_digest != digest || found->chain != profile.chain) {
      return Status::FailedPrecondition("period " + options.period + " is " +
                                        std::string(rpc_pool::PayoutStateName(found->state)) +
                                        " with other inputs; refusing to pay it differently");
    }
    if (found->state == PayoutState::kSubmitted) {
      Say("period " + options.period + ": already paid, tx " + found->tx_hash_hex);
      return Status::Ok();
    }
    Say("period " + options.period + ": resubmitting the prepared extrinsic, nonce " +
        std::to_string(found->nonce) + ", tx " + found->tx_hash_hex);
    return Submit(node, ledger, *found, pool_address);
  }
  if (plan.transfers.empty()) {
    Say("period " + options.period + ": nothing to pay");
    return Status::Ok();
  }
  // One period in flight at a time: a new one would take the nonce the prepared one holds, and
  // the nonce rule of Submit would then take the other period's transaction for this one's.
  SIGNER_ASSIGN_OR_RETURN(const std::vector<PayoutRecord> in_flight, ledger.InFlight());
  if (!in_flight.empty()) {
    return Status::FailedPrecondition("period " + in_flight.front().period +
                                      " is prepared and not yet submitted: run it first");
  }

  SIGNER_RETURN_IF_ERROR(CheckChain(node, profile));
  SIGNER_ASSIGN_OR_RETURN(const uint32_t nonce, node.NextNonce(pool_address));
  const std::vector<uint8_t> call = rpc_pool::EncodeBatchCall(profile, plan.transfers);
  const std::vector<uint8_t> message =
      rpc_pool::SignedMessage(rpc_pool::SigningPayload(profile, call, nonce));

  SIGNER_ASSIGN_OR_RETURN(auto credentials,
                          tls::ClientChannelCredentials({.server_ca = options.signer_ca,
                                                         .certificate = options.certificate,
                                                         .private_key = options.private_key}));
  auto signer = pb::RemoteKeystore::NewStub(grpc::CreateChannel(options.signer, credentials));
  SIGNER_ASSIGN_OR_RETURN(const auto signature, Sign(*signer, pool, message, options.timeout_ms));
  const std::vector<uint8_t> extrinsic =
      rpc_pool::EncodeSignedExtrinsic(profile, call, pool, signature, nonce);

  PayoutRecord record;
  record.period = options.period;
  record.state = PayoutState::kPrepared;
  record.chain = profile.chain;
  record.input_digest = digest;
  record.nonce = nonce;
  record.extrinsic_hex = "0x" + base::HexEncode(extrinsic);
  record.tx_hash_hex = "0x" + base::HexEncode(rpc_pool::ExtrinsicHash(extrinsic));
  if (!options.check_command.empty()) {
    SIGNER_RETURN_IF_ERROR(
        RunCheckCommand(options, ledger.dir(), record.extrinsic_hex, nonce, pool, plan));
  }
  SIGNER_RETURN_IF_ERROR(ledger.Record(record));
  Say("period " + options.period + ": prepared nonce " + std::to_string(nonce) + ", " +
      std::to_string(plan.transfers.size()) + " transfers, fee " + std::to_string(plan.fee) +
      ", remainder " + std::to_string(plan.remainder) + ", tx " + record.tx_hash_hex);
  return Submit(node, ledger, record, pool_address);
}

// PlainDecimal admits a value of an amount-like option, on the command line or from --config, only
// as a plain decimal in [min, max] (rpc_pool::ParseDecimalAmount). CLI11 2.1 converts numbers with
// strtoull base 0: without this, `--total -1` would ask for 2^64 - 1 planck and `total = 0100` 64.
// A refusal is CLI11's ValidationError: the usage error's exit code, before anything runs.
CLI::Validator PlainDecimal(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        const Result<uint64_t> value = rpc_pool::ParseDecimalAmount(text, min, max);
        return value.ok() ? "" : value.status().message();
      },
      "DECIMAL " + std::to_string(min) + " to " + std::to_string(max), "PlainDecimal");
}

int Main(int argc, char** argv) {
  Options options;
  CLI::App app("rpc-pool-payout: pays one period's points exactly once (docs/rpc-pool.md)");
  app.add_option("--period", options.period, "the period's id, [A-Za-z0-9._-]{1,64}")->required();
  app.add_option("--points", options.points_file,
                 "JSON file [{\"account\": SS58 or 0x hex, \"points\": N}, ...]")
      ->required();
  // A total of 0 would record the period paid with nothing paid: refused as a mistake.
  app.add_option("--total", options.total, "amount to pay for the period, in planck")
      ->required()
      ->check(PlainDecimal(1, UINT64_MAX));
  app.add_option("--fee-per-mille", options.fee_per_mille, "the operator's fee, taken out first")
      ->required()
      ->check(PlainDecimal(0, rpc_pool::kMaxFeePerMille));
  app.add_option("--chain-profile", options.profile_file,
                 "the pinned chain profile (gateway/rpc_pool/chains/<chain>.json)")
      ->required();
  app.add_option("--signer", options.signer, "signerd (or the gateway), HOST:PORT")->required();
  app.add_option("--signer-ca", options.signer_ca, "CA of signerd's certificate")->required();
  app.add_option("--cert", options.certificate, "this client's certificate")->required();
  app.add_option("--key", options.private_key, "its private key (mode 0600)")->required();
  app.add_option("--pool-public-key", options.pool_public_key,
                 "the pool account's acco sr25519 public key, 0x hex or SS58")
      ->required();
  app.add_option("--node-rpc", options.node_rpc, "the node's HTTP JSON-RPC, HOST:PORT")->required();
  app.add_option("--ledger-dir", options.ledger_dir, "the payout ledger's directory")->required();
  app.add_option("--max-transfers", options.max_transfers, "refuse a batch with more transfers")
      ->check(PlainDecimal(1, 10'000));
  app.add_option("--timeout-ms", options.timeout_ms, "per node or signer call")
      ->check(PlainDecimal(100, 600'000));
  app.add_option("--check-command", options.check_command,
                 "run with the extrinsic hex on stdin before submitting; non-zero refuses");
  app.add_option("--check-arg", options.check_args, "an argument of the check command (repeat)");
  // The operator's fixed settings (signer, certificates, chain profile, total, node) may come from
  // a file (TOML, one `flag = value` per line); the controller passes it with --config and adds the
  // period, the points and the fee. A key that is not a flag is an error.
  app.set_config("--config", "", "a file of settings, one `flag = value` per line (TOML)");
  app.allow_config_extras(CLI::config_extras_mode::error);
  CLI11_PARSE(app, argc, argv);

  const Status status = Run(options);
  if (!status.ok()) {
    Log("period " + options.period + ": " + status.message());
    return kExitFailure;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Nothing may escape as an uncaught exception (a library throwing on a bad argument, say): it
  // would abort with an unbounded message instead of a clear error and an exit code.
  try {
    return Main(argc, argv);
  } catch (const std::exception& error) {
    Log(std::string("fatal: ") + error.what());
  } catch (...) {
    Log("fatal: unknown exception");
  }
  return kExitFailure;
}
