// Forwarding the node's calls: key cache, the pool's candidates in order, failover on UNAVAILABLE.
#include "gateway/forwarder.h"

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <array>
#include <set>
#include <utility>
#include <vector>

#include "byte_buffer.h"
#include "tls/grpc_credentials.h"

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
    if (!forwarder_.Admits(*context_->auth_context())) {
      Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "this client certificate's identity is not in listen.tls.identities"));
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
    Erase(entry);
    return false;
  }
  reply = entry->second.reply;
  return true;
}

uint64_t KeyCache::Generation() {
  base::MutexLock lock(mutex_);
  return generation_;
}

void KeyCache::Erase(Entries::iterator entry) {
  bytes_ -= entry->first.size() + entry->second.reply.size();
  entries_.erase(entry);
}

void KeyCache::Store(const std::string& method, const std::string& request, std::string reply,
                     uint64_t generation) {
  if (ttl_.count() == 0) return;
  std::string key = method + '\0' + request;
  const size_t size = key.size() + reply.size();
  if (size > kMaxEntryBytes || size > max_bytes_) return;
  base::MutexLock lock(mutex_);
  if (generation != generation_) return;
  if (auto same = entries_.find(key); same != entries_.end()) Erase(same);
  while (!entries_.empty() && (entries_.size() >= max_ || bytes_ + size > max_bytes_)) {
    auto oldest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.stored < oldest->second.stored) oldest = it;
    }
    Erase(oldest);
  }
  bytes_ += size;
  entries_.emplace(std::move(key), Entry{std::move(reply), std::chrono::steady_clock::now()});
}

void KeyCache::Clear() {
  base::MutexLock lock(mutex_);
  entries_.clear();
  bytes_ = 0;
  ++generation_;
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
  SIGNER_ASSIGN_OR_RETURN(
      metrics->hedges,
      registry.AddCounter("gateway_hedges_total",
                          "Signing calls also sent to a second signer after hedge_delay_ms, by "
                          "outcome: sent, won (the second signer answered first), over_budget "
                          "(not sent: hedge_budget_percent spent)",
                          {"outcome"}));
  SIGNER_ASSIGN_OR_RETURN(metrics->cache,
                          registry.AddCounter("gateway_key_cache_lookups_total",
                                              "Key look-ups by result (hit, miss)", {"result"}));
  SIGNER_ASSIGN_OR_RETURN(
      metrics->eligible,
      registry.AddGauge("gateway_upstream_eligible",
                        "1 when the signer may serve (healthy, the pool's history), else 0",
                        {"upstream"}));
  signer::Family<signer::Gauge>* eligible = metrics->eligible;
  SIGNER_ASSIGN_OR_RETURN(
      signer::Family<signer::Gauge> * in_flight,
      registry.AddGauge("gateway_requests_in_flight",
                        "Node calls that arrived and are not answered yet", {}));
  metrics->in_flight = &in_flight->With({});
  // A signer a reload removed reads 0 from then on, rather than its last value.
  struct Seen {
    base::Mutex mutex;
    std::set<std::string> names GUARDED_BY(mutex);
  };
  registry.AddScrapeHook([&pool, eligible, seen = std::make_shared<Seen>()] {
    std::set<std::string> current;
    for (const auto& [name, state] : pool.States()) {
      eligible->With({name}).Set(state.eligible ? 1 : 0);
      current.insert(name);
    }
    base::MutexLock lock(seen->mutex);
    for (const std::string& name : seen->names) {
      if (!current.contains(name)) eligible->With({name}).Set(0);
    }
    seen->names.insert(current.begin(), current.end());
  });
  return metrics;
}

bool Forwarder::Admits(const grpc::AuthContext& context) const {
  if (callers_.empty()) return true;
  auto identity = tls::PeerIdentity(context);
  return identity.ok() && callers_.contains(*identity);
}

grpc::ServerGenericBidiReactor* Forwarder::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  return new ForwardReactor(*this, context);
}

void HedgeBudget::Earn() {
  base::MutexLock lock(mutex_);
  saved_ = std::min(10.0, saved_ + per_call_);
}

bool HedgeBudget::Spend() {
  base::MutexLock lock(mutex_);
  if (saved_ < 1.0) return false;
  saved_ -= 1.0;
  return true;
}

bool Hedges(std::string_view method) {
  const std::string_view name = ShortName(method);
  return name == "SignWith" || name == "SignWithAny" || name == "SignWithAll" ||
         name == "Sr25519VrfSign" || name == "Sr25519VrfPreOutput" || name == "EcdsaSignPrehashed";
}

// Leg is one call of an attempt to one signer.
struct Forwarder::Leg {
  const Upstream* upstream = nullptr;
  grpc::ClientContext context;
  std::shared_ptr<DialInCall> dial_in_call;  // the call over a dial-in signer's stream
  grpc::ByteBuffer reply;
  std::chrono::steady_clock::time_point started;
  bool hedge = false;
};

// Attempt is one node call on its way through the pool: its legs (one at a time, or two once
// hedged) and whether the node has been answered.
struct Forwarder::Attempt {
  std::string method;
  // The request as every leg sends it; its bytes are read back only to key the cache.
  grpc::ByteBuffer request;
  std::chrono::system_clock::time_point deadline;
  Done done;
  // Set before the first leg starts and never changed after, so read without the lock.
  std::vector<std::shared_ptr<const Upstream>> candidates;  // held: a reload may drop them
  bool hedgeable = false;
  uint64_t cache_generation = 0;  // the key cache's, read before any leg was sent

  base::Mutex mutex;
  size_t next GUARDED_BY(mutex) = 0;  // the next candidate to try
  int running GUARDED_BY(mutex) = 0;  // legs in flight
  bool answered GUARDED_BY(mutex) = false;
  bool hedge_armed GUARDED_BY(mutex) = false;
  std::vector<std::unique_ptr<Leg>> legs GUARDED_BY(mutex);
  grpc::Alarm hedge_alarm;
};

void Forwarder::Handle(const std::string& method, std::string request,
                       std::chrono::system_clock::time_point deadline, Done done) {
  const auto arrived = std::chrono::steady_clock::now();
  const std::string_view label = MethodLabel(method);
  // Every answer, cached, forwarded or refused here, is counted once on its way to the node.
  metrics_.in_flight->Add(1);
  Done answer = [this, label, arrived, done = std::move(done)](grpc::Status status,
                                                               std::string reply) {
    metrics_.in_flight->Add(-1);
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
  attempt->hedgeable = hedge_.delay.count() > 0 && Hedges(method);
  attempt->cache_generation = cache_.Generation();
  if (attempt->candidates.empty()) {
    attempt->done(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "no signer of the pool may serve now: " + pool_.Summary()),
                  "");
    return;
  }
  if (attempt->hedgeable) hedge_budget_.Earn();
  StartLeg(attempt, false);
  if (attempt->hedgeable && attempt->candidates.size() > 1) ArmHedge(attempt);
}

void Forwarder::ArmHedge(const std::shared_ptr<Attempt>& attempt) {
  base::MutexLock lock(attempt->mutex);
  if (attempt->answered) return;
  attempt->hedge_armed = true;
  // The alarm holds only a weak reference: the attempt owns the alarm, and an attempt whose legs
  // are all done must be free to go (its destructor cancels the alarm).
  std::weak_ptr<Attempt> weak = attempt;
  attempt->hedge_alarm.Set(std::chrono::system_clock::now() + hedge_.delay,
                           [this, weak](bool fired) {
                             std::shared_ptr<Attempt> alive = weak.lock();
                             if (!fired || alive == nullptr) return;
                             {
                               base::MutexLock inner(alive->mutex);
                               if (alive->answered || alive->running == 0) return;
                             }
                             if (!hedge_budget_.Spend()) {
                               metrics_.hedges->With({"over_budget"}).Increment();
                               return;
                             }
                             if (StartLeg(alive, true)) metrics_.hedges->With({"sent"}).Increment();
                           });
}

bool Forwarder::StartLeg(const std::shared_ptr<Attempt>& attempt, bool hedge) {
  Leg* leg = nullptr;
  {
    base::MutexLock lock(attempt->mutex);
    if (attempt->answered || attempt->next >= attempt->candidates.size()) return false;
    auto owned = std::make_unique<Leg>();
    leg = owned.get();
    leg->upstream = attempt->candidates[attempt->next++].get();
    leg->hedge = hedge;
    leg->context.set_deadline(attempt->deadline);
    leg->started = std::chrono::steady_clock::now();
    if (leg->upstream->dial_in) leg->dial_in_call = std::make_shared<DialInCall>();
    attempt->legs.push_back(std::move(owned));
    ++attempt->running;
  }
  if (leg->upstream->dial_in) {
    leg->upstream->dial_in->Call(
        attempt->method, BytesOf(attempt->request), attempt->deadline, leg->dial_in_call,
        [this, attempt, leg](const grpc::Status& status, const std::string& reply) {
          if (status.ok()) leg->reply = BufferOf(reply);
          OnLegDone(attempt, leg, status);
        });
    return true;
  }
  leg->upstream->stub->UnaryCall(
      &leg->context, attempt->method, grpc::StubOptions(), &attempt->request, &leg->reply,
      [this, attempt, leg](const grpc::Status& status) { OnLegDone(attempt, leg, status); });
  return true;
}

void Forwarder::OnLegDone(const std::shared_ptr<Attempt>& attempt, Leg* leg,
                          const grpc::Status& status) {
  const Upstream* upstream = leg->upstream;
  metrics_.upstream_seconds->With({upstream->config.name}).Observe(SecondsSince(leg->started));
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    // Unreachable, or the signer itself could not decide (history not caught up, Kafka down):
    // nothing was signed, and the next signer decides against the same history.
    pool_.ReportFailure(upstream, status.error_message());
  } else if (status.ok()) {
    pool_.ReportSuccess(upstream);
  }
  std::vector<Leg*> to_cancel;
  bool cancel_hedge = false;
  {
    base::MutexLock lock(attempt->mutex);
    --attempt->running;
    if (attempt->answered) return;  // the other leg answered the node already
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      if (attempt->running > 0) return;  // a hedged leg is still out: its answer decides
      if (attempt->next < attempt->candidates.size() &&
          std::chrono::system_clock::now() < attempt->deadline) {
        metrics_.failovers->With({upstream->config.name}).Increment();
      } else {
        attempt->answered = true;
      }
    } else {
      attempt->answered = true;
      for (const auto& other : attempt->legs) {
        if (other.get() != leg) to_cancel.push_back(other.get());
      }
    }
    cancel_hedge = attempt->answered && attempt->hedge_armed;
  }
  // Outside the lock: a firing alarm's callback takes it.
  if (cancel_hedge) attempt->hedge_alarm.Cancel();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    bool answered = false;
    {
      base::MutexLock lock(attempt->mutex);
      answered = attempt->answered;
    }
    if (!answered) {
      StartLeg(attempt, false);
      return;
    }
    attempt->done(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "no signer of the pool could serve: " + upstream->config.name +
                                   ": " + status.error_message()),
                  "");
    return;
  }
  // The node's answer is this leg's; a leg still out is no longer wanted.
  for (Leg* other : to_cancel) {
    if (other->dial_in_call) {
      other->dial_in_call->Cancel();
    } else {
      other->context.TryCancel();
    }
  }
  if (leg->hedge) metrics_.hedges->With({"won"}).Increment();
  if (status.ok()) {
    std::string reply = BytesOf(leg->reply);
    if (KeyCache::Caches(attempt->method)) {
      cache_.Store(attempt->method, BytesOf(attempt->request), reply, attempt->cache_generation);
    } else if (KeyCache::ChangesKeys(attempt->method)) {
      cache_.Clear();
    }
    attempt->done(status, std::move(reply));
    return;
  }
  // A refusal, a bad request or a deadline: the node gets the signer's own answer.
  attempt->done(status, "");
}

}  // namespace gateway
