// The signer pool: periodic health and history checks, eligibility, and the preferred signer.
#include "gateway/pool.h"

#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <future>
#include <span>
#include <string_view>
#include <utility>

#include "base/file_io.h"
#include "byte_buffer.h"
#include "gateway/log.h"
#include "remote_keystore.pb.h"

namespace gateway {
namespace {

namespace pb = parity::polkadot::signer;

constexpr std::chrono::milliseconds kCheckTimeout{1'000};
constexpr char kPoolHistoryFile[] = "pool-history";
constexpr char kStandaloneOwnerFile[] = "pool-standalone-owner";
constexpr size_t kMaxHistoryIdSize = 512;

// CallOnce makes one unary call through a generic stub and waits for it.
grpc::Status CallOnce(const Upstream& upstream, const std::string& method,
                      const grpc::ByteBuffer& request, grpc::ByteBuffer& reply) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCheckTimeout);
  std::promise<grpc::Status> done;
  upstream.stub->UnaryCall(&context, method, grpc::StubOptions(), &request, &reply,
                           [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

// EmptyMessage is a message with no fields set (an empty HealthCheckRequest asks about the whole
// server): zero bytes, but a message; a default ByteBuffer is no message, which gRPC refuses.
grpc::ByteBuffer EmptyMessage() { return BufferOf(""); }

// IsServing reads a grpc.health.v1 HealthCheckResponse without its generated code (Debian ships
// no health.proto): the message has one field, `status` (number 1, varint), and SERVING is 1, so
// the encoding of a SERVING reply is exactly the two bytes 08 01.
bool IsServing(const grpc::ByteBuffer& reply) {
  return BytesOf(reply) == std::string_view("\x08\x01", 2);
}

}  // namespace

std::shared_ptr<Upstream> UpstreamPool::MakeUpstream(
    const UpstreamConfig& upstream_config,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  auto upstream = std::make_shared<Upstream>();
  upstream->config = upstream_config;
  if (upstream_config.dial_in) {
    upstream->dial_in = std::make_shared<DialIn>(upstream_config.name, upstream_config.identity);
    return upstream;
  }
  grpc::ChannelArguments arguments;
  if (!upstream_config.server_name.empty()) {
    arguments.SetSslTargetNameOverride(upstream_config.server_name);
  }
  // Fail fast while a signer is down, so a request moves on to the next one at once.
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1'000);
  upstream->channel = grpc::CreateCustomChannel(upstream_config.address, credentials, arguments);
  upstream->stub = std::make_unique<grpc::GenericStub>(upstream->channel);
  return upstream;
}

base::Result<std::unique_ptr<UpstreamPool>> UpstreamPool::Create(
    const GatewayConfig& config, const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  std::vector<std::shared_ptr<Upstream>> upstreams;
  for (const UpstreamConfig& upstream_config : config.upstreams) {
    upstreams.push_back(MakeUpstream(upstream_config, credentials));
  }
  std::string history = config.history_id;
  if (history.empty()) {
    const std::filesystem::path file = std::filesystem::path(config.state_dir) / kPoolHistoryFile;
    std::error_code error;
    if (std::filesystem::exists(file, error)) {
      auto remembered = base::ReadPublicFile(file);
      if (!remembered.ok() || remembered->empty() || remembered->size() > kMaxHistoryIdSize) {
        return base::Status::FailedPrecondition(
            "cannot read the pool's remembered history " + file.string() + ": " +
            (remembered.ok() ? "empty or too long" : remembered.status().message()));
      }
      history = *remembered;
    }
  }
  std::string standalone_owner;
  if (!config.state_dir.empty()) {
    const std::filesystem::path file =
        std::filesystem::path(config.state_dir) / kStandaloneOwnerFile;
    std::error_code error;
    if (std::filesystem::exists(file, error)) {
      auto remembered = base::ReadPublicFile(file);
      if (!remembered.ok() || remembered->empty() || remembered->size() > kMaxHistoryIdSize) {
        return base::Status::FailedPrecondition(
            "cannot read the signer remembered as the standalone history's " + file.string() +
            ": " + (remembered.ok() ? "empty or too long" : remembered.status().message()));
      }
      standalone_owner = *remembered;
    }
  }
  return std::unique_ptr<UpstreamPool>(new UpstreamPool(
      config, credentials, std::move(upstreams), std::move(history), std::move(standalone_owner)));
}

UpstreamPool::UpstreamPool(const GatewayConfig& config,
                           std::shared_ptr<grpc::ChannelCredentials> credentials,
                           std::vector<std::shared_ptr<Upstream>> upstreams, std::string history,
                           std::string standalone_owner)
    : config_(config), credentials_(std::move(credentials)) {
  base::MutexLock lock(mutex_);
  upstreams_ = std::move(upstreams);
  history_ = std::move(history);
  standalone_owner_ = std::move(standalone_owner);
  states_.resize(upstreams_.size());
  for (UpstreamState& state : states_) state.reason = "not checked yet";
}

std::string UpstreamPool::Reload(const std::vector<UpstreamConfig>& configs) {
  std::vector<std::shared_ptr<Upstream>> removed;
  std::string summary;
  {
    base::MutexLock lock(mutex_);
    std::vector<std::shared_ptr<Upstream>> upstreams;
    std::vector<UpstreamState> states;
    const Upstream* preferred =
        preferred_ < upstreams_.size() ? upstreams_[preferred_].get() : nullptr;
    size_t kept = 0;
    for (const UpstreamConfig& wanted : configs) {
      // An entry whose every field is unchanged keeps its channel or stream and its state.
      auto same = std::find_if(upstreams_.begin(), upstreams_.end(), [&](const auto& upstream) {
        const UpstreamConfig& have = upstream->config;
        return have.name == wanted.name && have.address == wanted.address &&
               have.server_name == wanted.server_name && have.dial_in == wanted.dial_in &&
               have.identity == wanted.identity;
      });
      if (same != upstreams_.end()) {
        states.push_back(states_[static_cast<size_t>(same - upstreams_.begin())]);
        upstreams.push_back(*same);
        ++kept;
      } else {
        upstreams.push_back(MakeUpstream(wanted, credentials_));
        states.emplace_back().reason = "not checked yet";
        summary += (summary.empty() ? "" : ", ") + std::string("added ") + wanted.name;
      }
    }
    for (const auto& upstream : upstreams_) {
      if (std::find(upstreams.begin(), upstreams.end(), upstream) == upstreams.end()) {
        removed.push_back(upstream);
        summary += (summary.empty() ? "" : ", ") + std::string("removed ") + upstream->config.name;
      }
    }
    upstreams_ = std::move(upstreams);
    states_ = std::move(states);
    preferred_ = 0;
    for (size_t i = 0; i < upstreams_.size(); ++i) {
      if (upstreams_[i].get() == preferred) preferred_ = i;
    }
    summary += (summary.empty() ? "" : ", ") + std::to_string(kept) + " kept";
  }
  // Calls in flight to a removed signer keep its channel (their attempt holds it) and finish; a
  // removed signer that dialed in is disconnected, so it stops being sent anything.
  for (const auto& upstream : removed) {
    if (upstream->dial_in) upstream->dial_in->Disconnect("it was removed from the pool");
  }
  CheckSoon();
  return summary;
}

UpstreamPool::~UpstreamPool() {
  {
    base::MutexLock lock(stop_mutex_);
    stopping_ = true;
  }
  wake_.SignalAll();
  if (checker_.joinable()) checker_.join();
}

void UpstreamPool::StartChecking() {
  checker_ = std::thread([this] {
    const std::chrono::milliseconds interval(config_.health_interval_ms);
    do {
      CheckAll();
    } while (!WaitForNextCheck(interval));
  });
}

bool UpstreamPool::WaitForNextCheck(std::chrono::milliseconds interval) {
  base::MutexLock lock(stop_mutex_);
  const auto until = std::chrono::steady_clock::now() + interval;
  while (!stopping_ && !check_soon_) {
    if (!wake_.WaitUntil(stop_mutex_, until)) break;
  }
  check_soon_ = false;
  return stopping_;
}

void UpstreamPool::CheckSoon() {
  {
    base::MutexLock lock(stop_mutex_);
    check_soon_ = true;
  }
  wake_.SignalAll();
}

std::shared_ptr<DialIn> UpstreamPool::FindDialIn(const std::string& identity) {
  base::MutexLock lock(mutex_);
  for (const auto& upstream : upstreams_) {
    if (upstream->dial_in && upstream->dial_in->identity() == identity) return upstream->dial_in;
  }
  return nullptr;
}

UpstreamState UpstreamPool::Check(const Upstream& upstream) {
  UpstreamState state;
  if (upstream.dial_in) {
    // Health and history come from the signer's status frames instead of calls.
    const DialInStatus status = upstream.dial_in->Status();
    if (!status.connected) {
      state.reason = "has not dialed in";
      return state;
    }
    if (!status.serving) {
      state.reason = "not serving (starting, or catching up with its history)";
      return state;
    }
    if (status.signer.history_id().empty() ||
        status.signer.history_id().size() > kMaxHistoryIdSize) {
      state.reason = "sent an unreadable history description";
      return state;
    }
    state.signer_id = status.signer.signer_id();
    state.history_kind = status.signer.history_kind();
    state.history_id = status.signer.history_id();
    state.eligible = true;  // for now: the pool's rules below may still refuse it
    return state;
  }
  grpc::ByteBuffer health_reply;
  const grpc::Status health =
      CallOnce(upstream, "/grpc.health.v1.Health/Check", EmptyMessage(), health_reply);
  if (!health.ok()) {
    state.reason = "health check failed: " + health.error_message();
    return state;
  }
  if (!IsServing(health_reply)) {
    state.reason = "not serving (starting, or catching up with its history)";
    return state;
  }
  grpc::ByteBuffer describe_reply;
  const grpc::Status described =
      CallOnce(upstream, "/parity.polkadot.signer.SignerInfo/Describe",
               BufferOf(pb::DescribeRequest().SerializeAsString()), describe_reply);
  pb::DescribeReply reply;
  if (!described.ok()) {
    state.reason = "cannot say which history it uses: " + described.error_message();
    return state;
  }
  if (!reply.ParseFromString(BytesOf(describe_reply)) || reply.history_id().empty() ||
      reply.history_id().size() > kMaxHistoryIdSize) {
    state.reason = "sent an unreadable history description";
    return state;
  }
  state.signer_id = reply.signer_id();
  state.history_kind = reply.history_kind();
  state.history_id = reply.history_id();
  state.eligible = true;  // for now: the pool's rules below may still refuse it
  return state;
}

base::Status UpstreamPool::AdoptHistory(const std::string& history_id) {
  if (config_.history_id.empty()) {
    const std::filesystem::path file = std::filesystem::path(config_.state_dir) / kPoolHistoryFile;
    std::error_code error;
    std::filesystem::create_directories(config_.state_dir, error);
    SIGNER_RETURN_IF_ERROR(base::WriteFileAtomically(
        file, std::span(reinterpret_cast<const uint8_t*>(history_id.data()), history_id.size()),
        0600));
  }
  history_ = history_id;
  Log(LogLevel::kInfo, "pool history adopted: " + history_id);
  return base::Status::Ok();
}

base::Status UpstreamPool::AdoptStandaloneOwner(const std::string& upstream_name) {
  if (!config_.state_dir.empty()) {
    const std::filesystem::path file =
        std::filesystem::path(config_.state_dir) / kStandaloneOwnerFile;
    std::error_code error;
    std::filesystem::create_directories(config_.state_dir, error);
    SIGNER_RETURN_IF_ERROR(base::WriteFileAtomically(
        file,
        std::span(reinterpret_cast<const uint8_t*>(upstream_name.data()), upstream_name.size()),
        0600));
  }
  standalone_owner_ = upstream_name;
  Log(LogLevel::kInfo, "standalone pool history served by " + upstream_name + " for good");
  return base::Status::Ok();
}

void UpstreamPool::CheckAll() {
  std::vector<std::shared_ptr<Upstream>> snapshot;
  {
    base::MutexLock lock(mutex_);
    snapshot = upstreams_;
  }
  std::vector<UpstreamState> checked;
  checked.reserve(snapshot.size());
  for (const auto& upstream : snapshot) checked.push_back(Check(*upstream));

  base::MutexLock lock(mutex_);
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    // The list may have been reloaded while the checks ran: a signer added since waits for the
    // next round.
    const auto found = std::find(snapshot.begin(), snapshot.end(), upstreams_[i]);
    if (found == snapshot.end()) continue;
    UpstreamState state = std::move(checked[static_cast<size_t>(found - snapshot.begin())]);
    if (state.eligible && history_.empty()) {
      if (base::Status adopted = AdoptHistory(state.history_id); !adopted.ok()) {
        state.eligible = false;
        state.reason = "cannot remember the pool's history: " + adopted.message();
      }
    }
    if (state.eligible && state.history_id != history_) {
      state.eligible = false;
      state.reason = "reports history " + state.history_id + ", not the pool's " + history_ +
                     ": it has never seen what the pool signed, so it may not serve this node";
    }
    // A standalone history has one signer. Which one is settled once, by upstream entry, not by
    // what the signers say of themselves (a cloned machine reports the same signer id too), and
    // not again while the first is down: failing over to a copy of its store would sign against
    // a history that has not seen what the first signed since the copy was made.
    const std::string& name = upstreams_[i]->config.name;
    if (state.eligible && state.history_kind == "standalone" && standalone_owner_.empty()) {
      if (base::Status adopted = AdoptStandaloneOwner(name); !adopted.ok()) {
        state.eligible = false;
        state.reason =
            "cannot remember which signer serves the standalone history: " + adopted.message();
      }
    }
    if (state.eligible && state.history_kind == "standalone" && standalone_owner_ != name) {
      state.eligible = false;
      state.reason = "standalone history " + state.history_id + " is served by " +
                     standalone_owner_ +
                     " only: a standalone history has one signer, so this is a copy of its store";
    }
    const UpstreamState& before = states_[i];
    if (before.eligible != state.eligible || before.reason != state.reason) {
      Log(state.eligible ? LogLevel::kInfo : LogLevel::kWarning,
          "upstream " + upstreams_[i]->config.name + " " +
              (state.eligible ? std::string("eligible") : "not eligible: " + state.reason));
    }
    states_[i] = std::move(state);
  }
}

std::vector<std::shared_ptr<const Upstream>> UpstreamPool::Candidates() {
  base::MutexLock lock(mutex_);
  std::vector<std::shared_ptr<const Upstream>> candidates;
  if (preferred_ < states_.size() && states_[preferred_].eligible) {
    candidates.push_back(upstreams_[preferred_]);
  }
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    if (i != preferred_ && states_[i].eligible) candidates.push_back(upstreams_[i]);
  }
  return candidates;
}

void UpstreamPool::ReportFailure(const Upstream* upstream, const std::string& why) {
  base::MutexLock lock(mutex_);
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    if (upstreams_[i].get() != upstream) continue;
    if (states_[i].eligible) {
      Log(LogLevel::kWarning, "upstream " + upstream->config.name + " failed a request: " + why);
    }
    states_[i].eligible = false;
    states_[i].reason = "failed a request: " + why;
    if (preferred_ == i) preferred_ = (i + 1) % upstreams_.size();
  }
}

void UpstreamPool::ReportSuccess(const Upstream* upstream) {
  base::MutexLock lock(mutex_);
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    if (upstreams_[i].get() == upstream) preferred_ = i;
  }
}

std::string UpstreamPool::Summary() {
  base::MutexLock lock(mutex_);
  std::string summary;
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    if (!summary.empty()) summary += "; ";
    summary += upstreams_[i]->config.name + ": " +
               (states_[i].eligible ? std::string("eligible") : states_[i].reason);
  }
  return summary;
}

std::vector<std::pair<std::string, UpstreamState>> UpstreamPool::States() {
  base::MutexLock lock(mutex_);
  std::vector<std::pair<std::string, UpstreamState>> states;
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    states.emplace_back(upstreams_[i]->config.name, states_[i]);
  }
  return states;
}

std::string UpstreamPool::PoolHistory() {
  base::MutexLock lock(mutex_);
  return history_;
}

}  // namespace gateway
