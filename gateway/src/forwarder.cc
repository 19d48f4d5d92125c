// Forwarding the node's calls: key cache, the pool's candidates in order, failover on UNAVAILABLE.
#include "gateway/forwarder.h"

#include <grpcpp/grpcpp.h>

#include <array>
#include <utility>
#include <vector>

#include "byte_buffer.h"

namespace gateway {
namespace {

constexpr std::string_view kServicePrefix = "/parity.polkadot.signer.RemoteKeystore/";

constexpr std::array<std::string_view, 15> kMethods = {"Sr25519PublicKeys",
                                                       "Sr25519GenerateNew",
                                                       "Sr25519VrfSign",
                                                       "Ed25519PublicKeys",
                                                       "Ed25519GenerateNew",
                                                       "EcdsaPublicKeys",
                                                       "EcdsaGenerateNew",
                                                       "SignWithAny",
                                                       "SignWith",
                                                       "SignWithAll",
                                                       "Sr25519VrfPreOutput",
                                                       "EcdsaSignPrehashed",
                                                       "Insert",
                                                       "Keys",
                                                       "HasKeys"};

std::string_view ShortName(std::string_view method) {
  if (!method.starts_with(kServicePrefix)) return "";
  return method.substr(kServicePrefix.size());
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Latency buckets in seconds: the gateway adds well under a millisecond; a signer's sign request
// is milliseconds; the tail reaches the deadline.
std::vector<double> LatencyBounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};
}

// ForwardReactor reads the node's one request message, hands it to the forwarder and writes what
// comes back. It deletes itself when gRPC is done with the call.
class ForwardReactor final : public grpc::ServerGenericBidiReactor {
 public:
  ForwardReactor(Forwarder& forwarder, grpc::GenericCallbackServerContext* context)
      : forwarder_(forwarder), context_(context) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request message"));
      return;
    }
    forwarder_.Handle(context_->method(), BytesOf(request_), context_->deadline(),
                      [this](const grpc::Status& status, const std::string& reply) {
                        if (!status.ok()) {
                          Finish(status);
                          return;
                        }
                        reply_ = BufferOf(reply);
                        StartWriteAndFinish(&reply_, grpc::WriteOptions(), status);
                      });
  }

  void OnDone() override { delete this; }

 private:
  Forwarder& forwarder_;
  grpc::GenericCallbackServerContext* const context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer reply_;
};

}  // namespace

std::string_view MethodLabel(std::string_view method) {
  const std::string_view name = ShortName(method);
  for (std::string_view known : kMethods) {
    if (name == known) return known;
  }
  return "other";
}

bool KeyCache::Caches(std::string_view method) {
  const std::string_view name = ShortName(method);
  return name == "Sr25519PublicKeys" || name == "Ed25519PublicKeys" || name == "EcdsaPublicKeys" ||
         name == "Keys" || name == "HasKeys";
}

bool KeyCache::ChangesKeys(std::string_view method) {
  const std::string_view name = ShortName(method);
  return name == "Insert" || name == "Sr25519GenerateNew" || name == "Ed25519GenerateNew" ||
         name == "EcdsaGenerateNew";
}

bool KeyCache::Lookup(const std::string& method, const std::string& request, std::string& reply) {
  if (ttl_.count() == 0) return false;
  base::MutexLock lock(mutex_);
  auto entry = entries_.find(method + '\0' + request);
  if (entry == entries_.end()) return false;
  if (std::chrono::steady_clock::now() - entry->second.stored >= ttl_) {
    entries_.erase(entry);
    return false;
  }
  reply = entry->second.reply;
  return true;
}

void KeyCache::Store(const std::string& method, const std::string& request, std::string reply) {
  if (ttl_.count() == 0) return;
  base::MutexLock lock(mutex_);
  if (entries_.size() >= max_) {
    auto oldest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.stored < oldest->second.stored) oldest = it;
    }
    entries_.erase(oldest);
  }
  entries_[method + '\0' + request] = Entry{std::move(reply), std::chrono::steady_clock::now()};
}

void KeyCache::Clear() {
  base::MutexLock lock(mutex_);
  entries_.clear();
}

base::Result<std::unique_ptr<GatewayMetrics>> GatewayMetrics::Create(UpstreamPool& pool) {
  auto metrics = std::make_unique<GatewayMetrics>();
  signer::MetricsRegistry& registry = metrics->registry;
  SIGNER_ASSIGN_OR_RETURN(metrics->requests,
                          registry.AddCounter("gateway_requests_total",
                                              "Node calls answered, by method and gRPC status code",
                                              {"method", "code"}));
  SIGNER_ASSIGN_OR_RETURN(metrics->request_seconds,
                          registry.AddHistogram("gateway_request_seconds",
                                                "Time from a node call's arrival to its answer",
                                                {"method"}, LatencyBounds()));
  SIGNER_ASSIGN_OR_RETURN(
      metrics->upstream_seconds,
      registry.AddHistogram("gateway_upstream_request_seconds", "Time of one call to one signer",
                            {"upstream"}, LatencyBounds()));
  SIGNER_ASSIGN_OR_RETURN(
      metrics->failovers,
      registry.AddCounter("gateway_failovers_total",
                          "Calls moved on from this signer after it was unreachable or UNAVAILABLE",
                          {"upstream"}));
  SIGNER_ASSIGN_OR_RETURN(metrics->cache,
                          registry.AddCounter("gateway_key_cache_lookups_total",
                                              "Key look-ups by result (hit, miss)", {"result"}));
  SIGNER_ASSIGN_OR_RETURN(
      metrics->eligible,
      registry.AddGauge("gateway_upstream_eligible",
                        "1 when the signer may serve (healthy, the pool's history), else 0",
                        {"upstream"}));
  signer::Family<signer::Gauge>* eligible = metrics->eligible;
  registry.AddScrapeHook([&pool, eligible] {
    for (const auto& [name, state] : pool.States()) {
      eligible->With({name}).Set(state.eligible ? 1 : 0);
    }
  });
  return metrics;
}

grpc::ServerGenericBidiReactor* Forwarder::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  return new ForwardReactor(*this, context);
}

struct Forwarder::Attempt {
  std::string method;
  // The request as every try sends it; its bytes are read back only to key the cache.
  grpc::ByteBuffer request;
  grpc::ByteBuffer reply;
  std::chrono::system_clock::time_point deadline;
  Done done;
  std::vector<const Upstream*> candidates;
  size_t next = 0;
  std::unique_ptr<grpc::ClientContext> context;
};

void Forwarder::Handle(const std::string& method, std::string request,
                       std::chrono::system_clock::time_point deadline, Done done) {
  const auto arrived = std::chrono::steady_clock::now();
  const std::string_view label = MethodLabel(method);
  // Every answer, cached, forwarded or refused here, is counted once on its way to the node.
  Done answer = [this, label, arrived, done = std::move(done)](grpc::Status status,
                                                               std::string reply) {
    metrics_.requests->With({label, signer::GrpcCodeName(status.error_code())}).Increment();
    metrics_.request_seconds->With({label}).Observe(SecondsSince(arrived));
    done(std::move(status), std::move(reply));
  };
  if (label == "other") {
    answer(
        grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "the gateway forwards RemoteKeystore only"),
        "");
    return;
  }
  if (KeyCache::Caches(method)) {
    std::string cached;
    if (cache_.Lookup(method, request, cached)) {
      metrics_.cache->With({"hit"}).Increment();
      answer(grpc::Status::OK, std::move(cached));
      return;
    }
    metrics_.cache->With({"miss"}).Increment();
  }
  auto attempt = std::make_shared<Attempt>();
  attempt->method = method;
  attempt->request = BufferOf(request);
  attempt->deadline = std::min(deadline, std::chrono::system_clock::now() + upstream_timeout_);
  attempt->done = std::move(answer);
  attempt->candidates = pool_.Candidates();
  if (attempt->candidates.empty()) {
    attempt->done(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "no signer of the pool may serve now: " + pool_.Summary()),
                  "");
    return;
  }
  Try(attempt);
}

void Forwarder::Try(const std::shared_ptr<Attempt>& attempt) {
  const Upstream* upstream = attempt->candidates[attempt->next++];
  attempt->context = std::make_unique<grpc::ClientContext>();
  attempt->context->set_deadline(attempt->deadline);
  attempt->reply.Clear();
  const auto started = std::chrono::steady_clock::now();
  upstream->stub->UnaryCall(
      attempt->context.get(), attempt->method, grpc::StubOptions(), &attempt->request,
      &attempt->reply, [this, attempt, upstream, started](const grpc::Status& status) {
        metrics_.upstream_seconds->With({upstream->config.name}).Observe(SecondsSince(started));
        if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
          // Unreachable, or the signer itself could not decide (history not caught up, Kafka
          // down): nothing was signed, and the next signer decides against the same history.
          pool_.ReportFailure(upstream, status.error_message());
          if (attempt->next < attempt->candidates.size() &&
              std::chrono::system_clock::now() < attempt->deadline) {
            metrics_.failovers->With({upstream->config.name}).Increment();
            Try(attempt);
            return;
          }
          attempt->done(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                     "no signer of the pool could serve: " + upstream->config.name +
                                         ": " + status.error_message()),
                        "");
          return;
        }
        if (status.ok()) {
          pool_.ReportSuccess(upstream);
          std::string reply = BytesOf(attempt->reply);
          if (KeyCache::Caches(attempt->method)) {
            cache_.Store(attempt->method, BytesOf(attempt->request), reply);
          } else if (KeyCache::ChangesKeys(attempt->method)) {
            cache_.Clear();
          }
          attempt->done(status, std::move(reply));
          return;
        }
        // A refusal, a bad request or a deadline: the node gets the signer's own answer.
        attempt->done(status, "");
      });
}

}  // namespace gateway
