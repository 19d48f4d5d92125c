// signerd_load: N concurrent mTLS clients drive real signerd processes with a validator's request
// mix.
//
// Closed loop (every client keeps one request in flight) measures the peak signed rate and its
// latency; the same channels then measure a null RPC (grpc.health.v1.Health/Check) so the two rates
// are comparable; an open loop at a fixed offered rate (by default half the measured peak) measures
// latency below saturation, timed from each request's scheduled send time so a stalled server
// cannot hide its queueing; null RPCs on the same schedule then give that loop's floor. Every
// equivocation attempt must be refused: one that is not makes the program exit 1, as does any
// failed normal request.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"
#include "keymgr/keypair.h"
#include "remote_keystore.grpc.pb.h"
#include "tls/grpc_credentials.h"

namespace {

namespace fs = std::filesystem;
namespace pb = parity::polkadot::signer;
using Clock = std::chrono::steady_clock;

// //Alice's public keys, from the spec's known answers: the keys a dev signer holds.
constexpr char kAliceEd25519[] = "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee";
constexpr char kAliceSr25519[] = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

struct Options {
  std::vector<std::string> targets;
  fs::path pki;
  std::string identity = "validator-alice";
  int clients = 64;
  int channels = 0;  // per target; 0: one per client, at most 16
  double seconds = 5;
  uint64_t requests = 0;  // per phase; when set, phases end after this many instead of `seconds`
  int repetitions = 3;
  bool half_peak = true;
  bool null_phase = true;  // --no-null: signed phases only (for a profile of the signed path)
  // --mix grandpa: every request a GRANDPA vote (ed25519 keys only); --mix sr25519: BABE seals and
  // backing statements only (the HSM-wrapped sr25519 keys signerd holds unwrapped in memory).
  enum class Mix { kStandard, kGrandpa, kSr25519 } mix = Mix::kStandard;
  double open_loop_rate = 0;  // requests/s; 0: half the measured peak
  int pid = 0;
  bool verify = false;
};

void Usage() {
  std::fprintf(stderr,
               "usage: signerd_load --target HOST:PORT|unix:PATH [--target ...] --pki DIR "
               "[--identity NAME]\n"
               "  [--clients N] [--channels N] [--seconds S | --requests N] [--repetitions R]\n"
               "  [--rate R | --no-half-peak] [--no-null] [--pid PID] [--verify] [--mix "
               "standard|grandpa|sr25519]\n"
               "DIR holds ca.crt, NAME.crt and NAME.key (a dev signer's pki directory).\n");
}

std::optional<Options> ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    auto value = [&]() -> std::string { return argv[++i]; };
    if (flag == "--target" && has_value) {
      options.targets.push_back(value());
    } else if (flag == "--pki" && has_value) {
      options.pki = value();
    } else if (flag == "--identity" && has_value) {
      options.identity = value();
    } else if (flag == "--clients" && has_value) {
      options.clients = std::atoi(value().c_str());
    } else if (flag == "--channels" && has_value) {
      options.channels = std::atoi(value().c_str());
    } else if (flag == "--seconds" && has_value) {
      options.seconds = std::atof(value().c_str());
    } else if (flag == "--requests" && has_value) {
      options.requests = std::strtoull(value().c_str(), nullptr, 10);
    } else if (flag == "--repetitions" && has_value) {
      options.repetitions = std::atoi(value().c_str());
    } else if (flag == "--rate" && has_value) {
      options.open_loop_rate = std::atof(value().c_str());
    } else if (flag == "--no-half-peak") {
      options.half_peak = false;
    } else if (flag == "--no-null") {
      options.null_phase = false;
    } else if (flag == "--pid" && has_value) {
      options.pid = std::atoi(value().c_str());
    } else if (flag == "--mix" && has_value) {
      const std::string mix = value();
      if (mix == "standard") {
        options.mix = Options::Mix::kStandard;
      } else if (mix == "grandpa") {
        options.mix = Options::Mix::kGrandpa;
      } else if (mix == "sr25519") {
        options.mix = Options::Mix::kSr25519;
      } else {
        return std::nullopt;
      }
    } else if (flag == "--verify") {
      options.verify = true;
    } else {
      return std::nullopt;
    }
  }
  if (options.targets.empty() || options.pki.empty() || options.clients < 1 ||
      options.repetitions < 1 || options.channels < 0 ||
      (options.requests == 0 && options.seconds <= 0)) {
    return std::nullopt;
  }
  return options;
}

// VmRssKb reads a process's resident set size from /proc (0 if it cannot).
uint64_t VmRssKb(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtoull(line.c_str() + 6, nullptr, 10);
    }
  }
  return 0;
}

// ProcessCpuSeconds reads a process's user plus system CPU time from /proc (0 if it cannot): the
// server's CPU cost per request is the profile this benchmark can take without perf.
double ProcessCpuSeconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  const size_t end_of_name = text.rfind(')');
  if (end_of_name == std::string::npos) return 0;
  std::istringstream fields(text.substr(end_of_name + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  // After the name: state is field 3; utime and stime are fields 14 and 15.
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (number == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return double(utime + stime) / double(::sysconf(_SC_CLK_TCK));
}

void AppendLe(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out.push_back(static_cast<char>(value >> (8 * i)));
  }
}

// AppendCompact SCALE-encodes an unsigned integer below 2^30 (the modes a block number needs).
void AppendCompact(std::string& out, uint32_t value) {
  if (value < (1u << 6)) {
    out.push_back(static_cast<char>(value << 2));
  } else if (value < (1u << 14)) {
    AppendLe(out, (uint64_t{value} << 2) | 1, 2);
  } else {
    AppendLe(out, (uint64_t{value} << 2) | 2, 4);
  }
}

// UniqueHash fills 32 bytes that differ for every (tag, value): block and candidate hashes.
std::string UniqueHash(char tag, uint64_t value) {
  std::string out(32, tag);
  for (int i = 0; i < 8; ++i) {
    out[static_cast<size_t>(i)] = static_cast<char>(value >> (8 * i));
  }
  return out;
}

// GrandpaVote is the 53-byte payload of spec section 4: stage, target hash, number, round, set id.
std::string GrandpaVote(uint8_t stage, const std::string& target_hash, uint32_t number,
                        uint64_t round, uint64_t set_id) {
  std::string out(1, static_cast<char>(stage));
  out += target_hash;
  AppendLe(out, number, 4);
  AppendLe(out, round, 8);
  AppendLe(out, set_id, 8);
  return out;
}

// BabeHeader is a SCALE header (spec section 4) whose digest holds one
// PreRuntime(b"BABE", SecondaryPlain{authority_index 0, slot}).
std::string BabeHeader(uint32_t number, uint64_t slot) {
  std::string out = UniqueHash('\x01', slot);  // parent hash
  AppendCompact(out, number);
  out += UniqueHash('\x02', slot);           // state root
  out.append(32, '\x03');                    // extrinsics root
  out.push_back(static_cast<char>(1 << 2));  // one digest item
  out.push_back('\x06');                     // DigestItem::PreRuntime
  out += "BABE";
  std::string pre_digest(1, '\x02');  // PreDigest::SecondaryPlain
  AppendLe(pre_digest, 0, 4);
  AppendLe(pre_digest, slot, 8);
  out.push_back(static_cast<char>(pre_digest.size() << 2));
  out += pre_digest;
  return out;
}

// BackingStatement is "BKNG" ++ Valid(02) ++ candidate hash ++ SigningContext{session, parent}.
std::string BackingStatement(uint64_t unique, uint32_t session) {
  std::string out = "BKNG";
  out.push_back('\x02');
  out += UniqueHash('\x5c', unique);
  AppendLe(out, session, 4);
  out += UniqueHash('\x07', unique);
  return out;
}

std::span<const uint8_t> AsBytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

enum class Kind { kGrandpa, kBabe, kBacking, kEquivocation };

// Outcome of one request as the tally sees it.
struct Sample {
  Kind kind;
  bool ok;  // an allowed request was signed (and verified, with --verify); an equivocation refused
  bool equivocation_accepted;
  uint64_t latency_us;
};

// Tally collects samples from gRPC callback threads.
class Tally {
 public:
  void Add(const Sample& sample) {
    std::lock_guard<std::mutex> lock(mutex_);
    latencies_us_.push_back(sample.latency_us);
    ++count_;
    if (sample.kind == Kind::kEquivocation) {
      ++equivocations_;
      if (sample.equivocation_accepted) ++equivocations_accepted_;
    }
    if (!sample.ok && !sample.equivocation_accepted) ++errors_;
  }
  struct Summary {
    uint64_t count = 0;
    uint64_t errors = 0;
    uint64_t equivocations = 0;
    uint64_t equivocations_accepted = 0;
    double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  };
  Summary Summarize() {
    std::lock_guard<std::mutex> lock(mutex_);
    Summary summary{count_, errors_, equivocations_, equivocations_accepted_};
    std::sort(latencies_us_.begin(), latencies_us_.end());
    auto at = [&](double quantile) {
      if (latencies_us_.empty()) return 0.0;
      const size_t index = std::min(latencies_us_.size() - 1,
                                    static_cast<size_t>(quantile * double(latencies_us_.size())));
      return double(latencies_us_[index]) / 1000.0;
    };
    summary.p50_ms = at(0.50);
    summary.p99_ms = at(0.99);
    summary.p999_ms = at(0.999);
    return summary;
  }

 private:
  std::mutex mutex_;
  std::vector<uint64_t> latencies_us_;
  uint64_t count_ = 0, errors_ = 0, equivocations_ = 0, equivocations_accepted_ = 0;
};

// Channel is one mTLS connection to one target, with both stubs on it.
struct Channel {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::RemoteKeystore::Stub> keystore;
  std::unique_ptr<grpc::GenericStub> generic;
};

// Positions come from one counter shared by all clients, offset by the start time, so every
// normal request is new to the signer's history: across clients, repetitions and earlier runs.
class PositionSource {
 public:
  PositionSource()
      : base_(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count()) *
              1000) {}
  uint64_t Next() { return base_ + counter_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t base() const { return base_; }

 private:
  uint64_t base_;
  std::atomic<uint64_t> counter_{0};
};

struct Vote {
  uint64_t round;
  std::string target_hash;
};

// Client is one logical validator client: its own request mix and its last signed GRANDPA vote
// (what an equivocation attempt contradicts).
struct Client {
  int index = 0;
  Channel* channel = nullptr;
  std::mt19937_64 random;
  uint64_t sent = 0;
  std::mutex mutex;  // the open loop may complete several of this client's requests at once
  std::optional<Vote> last_vote;
};

struct Shared {
  Options options;
  PositionSource positions;
  uint64_t set_id = 0;
  uint32_t session = 0;
  std::vector<uint8_t> ed25519_key, sr25519_key;
};

// Call is one request in flight; it deletes itself when its callback has run.
struct Call {
  grpc::ClientContext context;
  pb::SignWithRequest request;
  pb::SignWithReply reply;
  Kind kind = Kind::kGrandpa;
  std::optional<Vote> vote;  // for a GRANDPA vote: remembered once signed
  std::string signed_bytes;  // for --verify
  Clock::time_point start;
};

std::unique_ptr<Call> NextCall(Shared& shared, Client& client) {
  auto call = std::make_unique<Call>();
  const uint64_t number = client.sent++;
  std::optional<Vote> last;
  {
    std::lock_guard<std::mutex> lock(client.mutex);
    last = client.last_vote;
  }
  // 1% equivocation attempts; of the rest about 55% GRANDPA, 30% BABE, 15% backing statements
  // (--mix grandpa: all GRANDPA, the one ed25519 key type, for threshold against HSM custody;
  // --mix sr25519: two BABE seals to one backing statement, and so no equivocation attempts, which
  // repeat a GRANDPA vote).
  const Options::Mix mix = shared.options.mix;
  const uint64_t pick =
      mix == Options::Mix::kSr25519 ? 55 + client.random() % 45 : client.random() % 100;
  if (number % 100 == 50 && last) {
    call->kind = Kind::kEquivocation;
  } else if (mix == Options::Mix::kGrandpa || pick < 55) {
    call->kind = Kind::kGrandpa;
  } else if (pick < 85) {
    call->kind = Kind::kBabe;
  } else {
    call->kind = Kind::kBacking;
  }
  pb::SignWithRequest& request = call->request;
  switch (call->kind) {
    case Kind::kGrandpa:
    case Kind::kEquivocation: {
      Vote vote;
      if (call->kind == Kind::kEquivocation) {
        // Same stage, round and set as a vote already signed, another target.
        vote.round = last->round;
        vote.target_hash = UniqueHash('\x0e', shared.positions.Next());
      } else {
        vote.round = shared.positions.Next();
        vote.target_hash = UniqueHash('\x0a', vote.round);
        call->vote = vote;
      }
      request.set_key_type("gran");
      request.set_crypto_type("ed25519");
      request.set_public_key(std::string(shared.ed25519_key.begin(), shared.ed25519_key.end()));
      request.set_message(GrandpaVote(0, vote.target_hash, 1000, vote.round, shared.set_id));
      call->signed_bytes = request.message();
      break;
    }
    case Kind::kBabe: {
      const std::string header =
          BabeHeader(static_cast<uint32_t>(client.random() % 100000), shared.positions.Next());
      const auto hash = base::Blake2b256(AsBytes(header));
      request.set_key_type("babe");
      request.set_crypto_type("sr25519");
      request.set_public_key(std::string(shared.sr25519_key.begin(), shared.sr25519_key.end()));
      request.set_message(std::string(hash.begin(), hash.end()));
      request.set_preimage(header);
      call->signed_bytes = request.message();
      break;
    }
    case Kind::kBacking:
      request.set_key_type("para");
      request.set_crypto_type("sr25519");
      request.set_public_key(std::string(shared.sr25519_key.begin(), shared.sr25519_key.end()));
      request.set_message(BackingStatement(shared.positions.Next(), shared.session));
      call->signed_bytes = request.message();
      break;
  }
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return call;
}

// Judge turns a finished call into a sample and remembers a signed vote.
Sample Judge(const Shared& shared, Client& client, const Call& call, const grpc::Status& status,
             Clock::time_point measured_from) {
  Sample sample{call.kind, false, false,
                static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          Clock::now() - measured_from)
                                          .count())};
  const std::string& signature = call.reply.signature().signature();
  if (call.kind == Kind::kEquivocation) {
    sample.ok = status.error_code() == grpc::StatusCode::FAILED_PRECONDITION && signature.empty();
    sample.equivocation_accepted = status.ok() && !signature.empty();
    return sample;
  }
  sample.ok = status.ok() && !signature.empty();
  if (sample.ok && shared.options.verify) {
    const bool ed = call.kind == Kind::kGrandpa;
    sample.ok = keymgr::VerifySignature(ed ? base::Scheme::kEd25519 : base::Scheme::kSr25519,
                                        ed ? shared.ed25519_key : shared.sr25519_key,
                                        AsBytes(call.signed_bytes), AsBytes(signature));
  }
  if (!sample.ok && !status.ok()) {
    static std::atomic<int> reported{0};
    if (reported.fetch_add(1) < 5) {
      std::fprintf(stderr, "request failed: %d %s\n", int(status.error_code()),
                   status.error_message().c_str());
    }
  }
  if (sample.ok && call.vote) {
    std::lock_guard<std::mutex> lock(client.mutex);
    client.last_vote = call.vote;
  }
  return sample;
}

// Phase runs one measurement; `Start` issues requests, the callbacks report, `Wait` ends it.
class Phase {
 public:
  // A phase ends after `requests` requests if nonzero, else after `seconds`.
  Phase(uint64_t requests, double seconds) : requests_(requests), seconds_(seconds) {}

  // Admit says whether another request may start (closed loop: before the time or count is up).
  bool Admit() {
    if (requests_ > 0) {
      return issued_.fetch_add(1, std::memory_order_relaxed) < requests_;
    }
    return Clock::now() < stop_at_;
  }
  void Begin() {
    begin_ = Clock::now();
    stop_at_ = begin_ + std::chrono::microseconds(static_cast<int64_t>(seconds_ * 1e6));
  }
  void Opened() { outstanding_.fetch_add(1, std::memory_order_relaxed); }
  void Closed() {
    if (outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      idle_.notify_all();
    }
  }
  // Wait returns the phase's wall time once nothing is outstanding.
  double Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [&] { return outstanding_.load(std::memory_order_acquire) == 0; });
    return std::chrono::duration<double>(Clock::now() - begin_).count();
  }
  Tally tally;

 private:
  const uint64_t requests_;
  const double seconds_;
  std::atomic<uint64_t> issued_{0};
  std::atomic<int64_t> outstanding_{0};
  Clock::time_point begin_, stop_at_;
  std::mutex mutex_;
  std::condition_variable idle_;
};

void IssueSigned(Shared& shared, Client& client, Phase& phase, bool closed_loop,
                 Clock::time_point measured_from);

void IssueSigned(Shared& shared, Client& client, Phase& phase, bool closed_loop,
                 Clock::time_point measured_from) {
  Call* call = NextCall(shared, client).release();
  call->start = measured_from;
  phase.Opened();
  client.channel->keystore->async()->SignWith(
      &call->context, &call->request, &call->reply,
      [&shared, &client, &phase, call, closed_loop](grpc::Status status) {
        phase.tally.Add(Judge(shared, client, *call, status, call->start));
        delete call;
        // Closed loop: this client's next request starts as soon as its last one is answered.
        if (closed_loop && phase.Admit()) {
          IssueSigned(shared, client, phase, true, Clock::now());
        }
        phase.Closed();
      });
}

struct NullCall {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  Clock::time_point start;
};

void IssueNull(Client& client, Phase& phase, bool closed_loop, Clock::time_point measured_from) {
  auto* call = new NullCall;
  // grpc.health.v1.HealthCheckRequest{service: ""} encodes to no bytes.
  grpc::Slice empty_slice(std::string{});
  call->request = grpc::ByteBuffer(&empty_slice, 1);
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  call->start = measured_from;
  phase.Opened();
  client.channel->generic->UnaryCall(
      &call->context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &call->request,
      &call->response, [&client, &phase, call, closed_loop](const grpc::Status& status) {
        const auto latency =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call->start);
        phase.tally.Add(Sample{Kind::kGrandpa, status.ok(), false, uint64_t(latency.count())});
        delete call;
        if (closed_loop && phase.Admit()) IssueNull(client, phase, true, Clock::now());
        phase.Closed();
      });
}

struct Result {
  double rate = 0;  // completed requests per second
  Tally::Summary summary;
  double server_cpu_us = 0;  // server CPU time per request, with --pid
};

// Measure runs one phase and charges the server's CPU time during it to its requests.
template <typename Run>
Result Measure(int pid, Run run) {
  const double cpu_before = pid > 0 ? ProcessCpuSeconds(pid) : 0;
  Result result = run();
  if (pid > 0 && result.summary.count > 0) {
    result.server_cpu_us =
        (ProcessCpuSeconds(pid) - cpu_before) * 1e6 / double(result.summary.count);
  }
  return result;
}

Result RunClosedLoop(Shared& shared, std::vector<std::unique_ptr<Client>>& clients, bool null_rpc,
                     uint64_t requests) {
  Phase phase(requests, shared.options.seconds);
  phase.Begin();
  // The phase counts as one outstanding request until every client has started.
  phase.Opened();
  for (auto& client : clients) {
    if (!phase.Admit()) break;
    if (null_rpc) {
      IssueNull(*client, phase, true, Clock::now());
    } else {
      IssueSigned(shared, *client, phase, true, Clock::now());
    }
  }
  phase.Closed();
  const double seconds = phase.Wait();
  Result result;
  result.summary = phase.tally.Summarize();
  result.rate = double(result.summary.count) / seconds;
  return result;
}

// RunOpenLoop offers `rate` requests per second whatever the answers do, round-robin over the
// clients; latency counts from each request's scheduled time. With `null_rpc` the requests are
// null RPCs: the same schedule then measures the tail that the machine, the load generator's own
// scheduling and the transport give without any signing.
Result RunOpenLoop(Shared& shared, std::vector<std::unique_ptr<Client>>& clients, double rate,
                   bool null_rpc) {
  Phase phase(shared.options.requests, shared.options.seconds);
  phase.Begin();
  phase.Opened();
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  const Clock::time_point start = Clock::now();
  for (uint64_t i = 0; phase.Admit(); ++i) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(interval * double(i));
    std::this_thread::sleep_until(due);
    if (null_rpc) {
      IssueNull(*clients[i % clients.size()], phase, false, due);
    } else {
      IssueSigned(shared, *clients[i % clients.size()], phase, false, due);
    }
  }
  phase.Closed();
  const double seconds = phase.Wait();
  Result result;
  result.summary = phase.tally.Summarize();
  result.rate = double(result.summary.count) / seconds;
  return result;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

void PrintResult(const char* label, const Result& result) {
  std::printf("%-28s %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  p99.9 %7.3f ms  (%llu requests",
              label, result.rate, result.summary.p50_ms, result.summary.p99_ms,
              result.summary.p999_ms, static_cast<unsigned long long>(result.summary.count));
  if (result.server_cpu_us > 0) {
    std::printf(", server CPU %.0f us each", result.server_cpu_us);
  }
  std::printf(")\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Options> parsed = ParseOptions(argc, argv);
  if (!parsed) {
    Usage();
    return 2;
  }
  Shared shared;
  shared.options = *parsed;
  const Options& options = shared.options;
  shared.ed25519_key = *base::HexDecode(kAliceEd25519);
  shared.sr25519_key = *base::HexDecode(kAliceSr25519);
  // Set ids and sessions also start from the clock, so reruns against one history stay new.
  shared.set_id = shared.positions.base() / 1000;
  shared.session = static_cast<uint32_t>(shared.positions.base() / 1000 / 1000);

  auto credentials = tls::ClientChannelCredentials({options.pki / "ca.crt",
                                                    options.pki / (options.identity + ".crt"),
                                                    options.pki / (options.identity + ".key")});
  if (!credentials.ok()) {
    std::fprintf(stderr, "signerd_load: %s\n", credentials.status().message().c_str());
    return 2;
  }
  const int per_target = options.channels > 0 ? options.channels : std::min(options.clients, 16);
  std::vector<std::unique_ptr<Channel>> channels;
  for (const std::string& target : options.targets) {
    for (int i = 0; i < per_target; ++i) {
      grpc::ChannelArguments arguments;
      // Distinct arguments keep gRPC from sharing one connection between these channels.
      arguments.SetInt("signerd_load.channel", int(channels.size()));
      auto channel = std::make_unique<Channel>();
      // A gateway's Unix socket (unix:PATH) is plaintext: its file permissions admit the node.
      channel->channel = grpc::CreateCustomChannel(
          target, target.starts_with("unix:") ? grpc::InsecureChannelCredentials() : *credentials,
          arguments);
      channel->keystore = pb::RemoteKeystore::NewStub(channel->channel);
      channel->generic = std::make_unique<grpc::GenericStub>(channel->channel);
      if (!channel->channel->WaitForConnected(std::chrono::system_clock::now() +
                                              std::chrono::seconds(10))) {
        std::fprintf(stderr, "signerd_load: cannot connect to %s\n", target.c_str());
        return 2;
      }
      channels.push_back(std::move(channel));
    }
  }
  // Clients are spread over targets round-robin (and over each target's channels).
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < options.clients; ++i) {
    auto client = std::make_unique<Client>();
    client->index = i;
    const size_t target = size_t(i) % options.targets.size();
    const size_t slot = (size_t(i) / options.targets.size()) % size_t(per_target);
    client->channel = channels[target * size_t(per_target) + slot].get();
    client->random.seed(uint64_t(i) + 1);
    clients.push_back(std::move(client));
  }

  const uint64_t idle_rss_kb = options.pid > 0 ? VmRssKb(options.pid) : 0;
  std::printf(
      "signerd_load: %zu target(s), %d clients, %zu channels, %s per phase, %d repetition(s)\n",
      options.targets.size(), options.clients, channels.size(),
      options.requests > 0 ? (std::to_string(options.requests) + " requests").c_str()
                           : (std::to_string(options.seconds) + " s").c_str(),
      options.repetitions);
  if (options.pid > 0) {
    std::printf("signerd idle RSS (pid %d): %.1f MB\n", options.pid, double(idle_rss_kb) / 1024);
  }

  // A short warm-up so the first repetition does not pay for handshakes and first allocations.
  const uint64_t warm_up = std::min<uint64_t>(options.requests > 0 ? options.requests : 500, 500);
  const Result warm_null = RunClosedLoop(shared, clients, true, warm_up);
  const Result warm_signed = RunClosedLoop(shared, clients, false, warm_up);
  uint64_t errors = warm_null.summary.errors + warm_signed.summary.errors;
  uint64_t equivocations = warm_signed.summary.equivocations;
  uint64_t accepted = warm_signed.summary.equivocations_accepted;

  std::vector<double> signed_rates, null_rates, ratios, p50s, p99s, p999s, null_cpu, signed_cpu;
  for (int repetition = 0; repetition < options.repetitions; ++repetition) {
    char label[64];
    std::optional<Result> null_result;
    if (options.null_phase) {
      null_result = Measure(options.pid,
                            [&] { return RunClosedLoop(shared, clients, true, options.requests); });
      null_cpu.push_back(null_result->server_cpu_us);
      std::snprintf(label, sizeof(label), "[%d] null RPC (health)", repetition + 1);
      PrintResult(label, *null_result);
      null_rates.push_back(null_result->rate);
      errors += null_result->summary.errors;
    }
    const Result signed_result = Measure(
        options.pid, [&] { return RunClosedLoop(shared, clients, false, options.requests); });
    signed_cpu.push_back(signed_result.server_cpu_us);
    std::snprintf(label, sizeof(label), "[%d] signed, closed loop", repetition + 1);
    PrintResult(label, signed_result);
    signed_rates.push_back(signed_result.rate);
    if (null_result) ratios.push_back(signed_result.rate / null_result->rate);
    p50s.push_back(signed_result.summary.p50_ms);
    p99s.push_back(signed_result.summary.p99_ms);
    p999s.push_back(signed_result.summary.p999_ms);
    errors += signed_result.summary.errors;
    equivocations += signed_result.summary.equivocations;
    accepted += signed_result.summary.equivocations_accepted;
  }
  const double peak = Median(signed_rates);
  if (options.null_phase) {
    std::printf(
        "median: signed %.0f req/s, null %.0f req/s, ratio %.3f; p50 %.3f ms, p99 %.3f ms, "
        "p99.9 %.3f ms\n",
        peak, Median(null_rates), Median(ratios), Median(p50s), Median(p99s), Median(p999s));
  } else {
    std::printf("median: signed %.0f req/s; p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms\n", peak,
                Median(p50s), Median(p99s), Median(p999s));
  }
  if (options.pid > 0) {
    std::printf("median server CPU per request: null %.0f us, signed %.0f us\n", Median(null_cpu),
                Median(signed_cpu));
  }

  std::optional<Result> open_loop;
  std::optional<Result> null_open_loop;
  double offered = options.open_loop_rate;
  if (offered <= 0 && options.half_peak) offered = peak / 2;
  if (offered > 0) {
    open_loop = RunOpenLoop(shared, clients, offered, false);
    char label[64];
    std::snprintf(label, sizeof(label), "open loop at %.0f req/s", offered);
    PrintResult(label, *open_loop);
    errors += open_loop->summary.errors;
    equivocations += open_loop->summary.equivocations;
    accepted += open_loop->summary.equivocations_accepted;
    if (options.null_phase) {
      null_open_loop = RunOpenLoop(shared, clients, offered, true);
      std::snprintf(label, sizeof(label), "null RPC, same open loop");
      PrintResult(label, *null_open_loop);
      errors += null_open_loop->summary.errors;
    }
  }
  const uint64_t after_rss_kb = options.pid > 0 ? VmRssKb(options.pid) : 0;
  if (options.pid > 0) {
    std::printf("signerd RSS after the load: %.1f MB\n", double(after_rss_kb) / 1024);
  }
  std::printf("equivocation attempts: %llu, not refused: %llu; failed requests: %llu\n",
              static_cast<unsigned long long>(equivocations),
              static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(errors));

  std::ostringstream json;
  json << "{\"targets\":" << options.targets.size() << ",\"clients\":" << options.clients
       << ",\"channels\":" << channels.size() << ",\"repetitions\":" << options.repetitions
       << ",\"signed_rps\":" << peak << ",\"null_rps\":" << Median(null_rates)
       << ",\"ratio\":" << Median(ratios) << ",\"p50_ms\":" << Median(p50s)
       << ",\"p99_ms\":" << Median(p99s) << ",\"p999_ms\":" << Median(p999s);
  if (options.pid > 0) {
    json << ",\"server_cpu_us_per_null\":" << Median(null_cpu)
         << ",\"server_cpu_us_per_signed\":" << Median(signed_cpu);
  }
  if (open_loop) {
    json << ",\"open_loop_offered_rps\":" << offered << ",\"open_loop_rps\":" << open_loop->rate
         << ",\"open_loop_p50_ms\":" << open_loop->summary.p50_ms
         << ",\"open_loop_p99_ms\":" << open_loop->summary.p99_ms
         << ",\"open_loop_p999_ms\":" << open_loop->summary.p999_ms;
  }
  if (null_open_loop) {
    json << ",\"null_open_loop_p50_ms\":" << null_open_loop->summary.p50_ms
         << ",\"null_open_loop_p99_ms\":" << null_open_loop->summary.p99_ms;
  }
  if (options.pid > 0) {
    json << ",\"idle_rss_kb\":" << idle_rss_kb << ",\"after_load_rss_kb\":" << after_rss_kb;
  }
  json << ",\"equivocations\":" << equivocations << ",\"equivocations_not_refused\":" << accepted
       << ",\"failed_requests\":" << errors << "}";
  std::printf("%s\n", json.str().c_str());
  std::fflush(stdout);
  if (accepted > 0) {
    std::fprintf(stderr, "signerd_load: %llu equivocation(s) were signed\n",
                 static_cast<unsigned long long>(accepted));
    return 1;
  }
  if (errors > 0) {
    std::fprintf(stderr, "signerd_load: %llu request(s) failed\n",
                 static_cast<unsigned long long>(errors));
    return 1;
  }
  return 0;
}
