// ThresholdCustody: learn which agents hold which shares, run FROST's two rounds, aggregate.
#include "threshold/threshold_custody.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include "base/hex.h"
#include "base/thread_annotations.h"
#include "key_agent.grpc.pb.h"
#include "keymgr/threshold.h"
#include "threshold/agent_channels.h"

namespace signer {
namespace {

namespace frost = keymgr::frost;
namespace pb = keyagent::v1;
using keymgr::KeyId;

std::span<const uint8_t> BytesOf(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string StringOf(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string Describe(const KeyId& id) {
  return base::KeyTypeName(id.key_type) + ":" + base::HexEncode(id.public_key);
}

std::string JoinProblems(const std::vector<std::string>& problems) {
  std::string joined;
  for (const std::string& problem : problems) joined += (joined.empty() ? "" : "; ") + problem;
  return joined;
}

// Outcome is how one agent answered one call.
enum class Outcome { kPending, kOk, kRefused, kFailed };

// Calls runs one RPC per agent at once and lets the caller wait for a number of good answers or
// for all answers, whichever comes first. Each call's context, request and reply live in the
// shared state, so a late answer after the caller moved on lands in memory that still exists.
template <typename Request, typename Reply>
class Calls {
 public:
  // One call. Once started, `outcome` and `status` are written by its callback and read, like
  // `context` is cancelled, only with State::mutex held (a GUARDED_BY here cannot name it).
  struct One {
    size_t agent = 0;
    grpc::ClientContext context;
    Request request;
    Reply reply;
    Outcome outcome = Outcome::kPending;
    grpc::Status status;
  };
  struct State {
    base::Mutex mutex;
    base::CondVar changed;
    // Filled by Add before Start and never resized after, so the vector itself is read without the
    // lock (Start issues calls without it: a callback may run before Start returns).
    std::vector<std::unique_ptr<One>> calls;
    size_t done GUARDED_BY(mutex) = 0;
    size_t good GUARDED_BY(mutex) = 0;
    std::vector<size_t> good_order GUARDED_BY(mutex);  // indexes into calls, in arrival order
  };

  Calls() : state_(std::make_shared<State>()) {}

  // Add prepares a call to `agent`; fill in the returned request, then Start. With
  // `wait_for_ready`, a call to an agent that is not connected waits (until the deadline) for it to
  // connect rather than failing at once.
  One& Add(size_t agent, std::chrono::system_clock::time_point deadline,
           bool wait_for_ready = false) {
    auto one = std::make_unique<One>();
    one->agent = agent;
    one->context.set_deadline(deadline);
    one->context.set_wait_for_ready(wait_for_ready);
    state_->calls.push_back(std::move(one));
    return *state_->calls.back();
  }

  // Start issues every call with `invoke(agent, context, request, reply, done)`.
  template <typename Invoke>
  void Start(Invoke&& invoke) {
    for (size_t i = 0; i < state_->calls.size(); ++i) {
      One* one = state_->calls[i].get();
      invoke(one->agent, &one->context, &one->request, &one->reply,
             [state = state_, i](const grpc::Status& status) {
               base::MutexLock lock(state->mutex);
               One& call = *state->calls[i];
               call.status = status;
               if (status.ok()) {
                 call.outcome = Outcome::kOk;
                 ++state->good;
                 state->good_order.push_back(i);
               } else {
                 call.outcome = status.error_code() == grpc::StatusCode::FAILED_PRECONDITION
                                    ? Outcome::kRefused
                                    : Outcome::kFailed;
               }
               ++state->done;
               state->changed.SignalAll();
             });
    }
  }

  // Wait returns once `enough` calls succeeded or every call has answered. Calls have deadlines,
  // so this ends. What it returns is a snapshot; late answers are ignored.
  struct Snapshot {
    std::vector<const One*> good;  // in arrival order
    std::vector<const One*> refused;
    std::vector<const One*> failed;
  };
  Snapshot Wait(size_t enough) {
    base::MutexLock lock(state_->mutex);
    while (state_->good < enough && state_->done != state_->calls.size()) {
      state_->changed.Wait(state_->mutex);
    }
    Snapshot snapshot;
    for (size_t index : state_->good_order) snapshot.good.push_back(state_->calls[index].get());
    for (const auto& call : state_->calls) {
      if (call->outcome == Outcome::kRefused) snapshot.refused.push_back(call.get());
      // A call still pending when enough others succeeded is neither: it is simply not used.
      if (call->outcome == Outcome::kFailed) snapshot.failed.push_back(call.get());
    }
    return snapshot;
  }

  // TryCancel cancels the calls still running (their answers are no longer wanted).
  void CancelPending() { CancelPendingOf(*state_); }

  // Watch is what a CallTracker keeps of these calls: whether any of them still holds its
  // context (the state lives on in their callbacks), and how to cancel those still running.
  std::pair<std::weak_ptr<void>, std::function<void()>> Watch() const {
    std::weak_ptr<State> weak = state_;
    return {weak, [weak] {
              if (std::shared_ptr<State> state = weak.lock()) CancelPendingOf(*state);
            }};
  }

 private:
  static void CancelPendingOf(State& state) {
    base::MutexLock lock(state.mutex);
    for (const auto& call : state.calls) {
      if (call->outcome == Outcome::kPending) call->context.TryCancel();
    }
  }

  std::shared_ptr<State> state_;
};

// CallTracker knows every batch of calls to the agents that may still be running, so the
// coordinator can end them before its channels go. Why it must: a call's context holds a
// reference to its channel, and a call left running when the coordinator is destroyed would drop
// the channel's last reference in its callback, on one of gRPC's callback threads. When that is
// the process's last callback channel, gRPC 1.51 shuts its callback thread pool down from one of
// its own threads and frees the pool's completion queue twice. Thread-safe.
class CallTracker {
 public:
  template <typename Request, typename Reply>
  void Track(const Calls<Request, Reply>& calls) {
    base::MutexLock lock(mutex_);
    std::erase_if(watched_, [](const auto& watched) { return watched.first.expired(); });
    watched_.push_back(calls.Watch());
  }
  // CancelAndWait cancels every call still running and returns once every one has finished and
  // released its context. Calls have deadlines, and cancelled ones end at once, so this ends.
  void CancelAndWait() {
    std::vector<std::pair<std::weak_ptr<void>, std::function<void()>>> watched;
    {
      base::MutexLock lock(mutex_);
      watched.swap(watched_);
    }
    for (const auto& [state, cancel] : watched) cancel();
    for (const auto& [state, cancel] : watched) {
      while (!state.expired()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  base::Mutex mutex_;
  std::vector<std::pair<std::weak_ptr<void>, std::function<void()>>> watched_ GUARDED_BY(mutex_);
};

}  // namespace

// Commitments are fetched in batches of this size per agent and key.
constexpr uint32_t kCommitmentBatch = 16;
// A pooled commitment is used only while younger than this: the agent drops unused nonces after
// 60 s (KeyAgentOptions::nonce_lifetime), and a commitment whose nonce is gone costs a retry.
constexpr auto kPooledCommitmentLifetime = std::chrono::seconds(20);
// Agents that did not answer their last ListShares are asked again this often, in the background,
// so an agent that was down when the keys were listed becomes a holder again once it is back. A
// request that finds too few holders lists the agents again itself, at most this often too.
constexpr auto kRelistInterval = std::chrono::seconds(1);

struct PooledCommitment {
  frost::SigningCommitments commitments;
  std::chrono::steady_clock::time_point fetched;
};

struct ThresholdCustody::Impl {
  struct Agent {
    ThresholdAgentConfig config;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<pb::KeyAgent::Stub> stub;
    std::atomic<uint64_t> shares{0};
    std::atomic<uint64_t> invalid_shares{0};
    std::atomic<uint64_t> refusals{0};
    std::atomic<uint64_t> failures{0};

    // Health: an agent that failed is suspect until `suspect_until`, doubling the wait while it
    // keeps failing. A suspect agent is chosen only when too few healthy ones hold the key, and
    // then waited for (it may be reconnecting after a restart) instead of failed at once.
    base::Mutex health_mutex;
    std::chrono::steady_clock::time_point suspect_until GUARDED_BY(health_mutex){};
    std::chrono::milliseconds backoff GUARDED_BY(health_mutex){0};

    // Preprocessed commitments (RFC 9591 allows round one ahead of time): one round trip per
    // signature while the pool lasts. The nonces behind them live only in the agent's memory and
    // each signs once; a pool is emptied when the agent says a nonce is unknown (it restarted).
    base::Mutex pool_mutex;
    std::map<KeyId, std::deque<PooledCommitment>> pools GUARDED_BY(pool_mutex);

    bool Suspect(std::chrono::steady_clock::time_point now) EXCLUDES(health_mutex) {
      base::MutexLock lock(health_mutex);
      return now < suspect_until;
    }
    // Ready: neither suspect nor known to be disconnected. A call to a ready agent fails at once
    // if it cannot be made; a call to any other agent waits for it to connect (it may be coming
    // back from a restart), which is worth it only when too few ready agents hold the key.
    bool Ready(std::chrono::steady_clock::time_point now) {
      if (Suspect(now)) return false;
      const grpc_connectivity_state state = channel->GetState(false);
      return state == GRPC_CHANNEL_READY || state == GRPC_CHANNEL_IDLE;
    }
    void MarkFailed(std::chrono::steady_clock::time_point now) EXCLUDES(health_mutex) {
      base::MutexLock lock(health_mutex);
      backoff = std::min<std::chrono::milliseconds>(
          std::chrono::seconds(30),
          std::max<std::chrono::milliseconds>(std::chrono::milliseconds(500), backoff * 2));
      suspect_until = now + backoff;
    }
    void MarkHealthy() EXCLUDES(health_mutex) {
      base::MutexLock lock(health_mutex);
      backoff = std::chrono::milliseconds(0);
      suspect_until = {};
    }
    // TakeCommitment pops a pooled commitment of `id` young enough for the agent to still hold its
    // nonces, or nothing.
    std::optional<frost::SigningCommitments> TakeCommitment(
        const KeyId& id, std::chrono::steady_clock::time_point now) EXCLUDES(pool_mutex) {
      base::MutexLock lock(pool_mutex);
      std::deque<PooledCommitment>& pool = pools[id];
      while (!pool.empty() && now - pool.front().fetched > kPooledCommitmentLifetime) {
        pool.pop_front();
      }
      if (pool.empty()) return std::nullopt;
      frost::SigningCommitments commitments = pool.front().commitments;
      pool.pop_front();
      return commitments;
    }
    void AddCommitments(const KeyId& id, const std::vector<frost::SigningCommitments>& fresh,
                        std::chrono::steady_clock::time_point now) EXCLUDES(pool_mutex) {
      base::MutexLock lock(pool_mutex);
      std::deque<PooledCommitment>& pool = pools[id];
      for (const frost::SigningCommitments& commitments : fresh) {
        pool.push_back(PooledCommitment{commitments, now});
      }
    }
    void DropCommitments(const KeyId& id) EXCLUDES(pool_mutex) {
      base::MutexLock lock(pool_mutex);
      pools.erase(id);
    }
  };
  // Holder is one agent holding a share of a key. Two holders may claim the same identifier (one
  // of them lies or is misconfigured): a signing set takes at most one of them, and FROST's
  // per-share check names the one whose share does not fit.
  struct Holder {
    size_t agent = 0;
    frost::Identifier identifier;
  };
  struct Key {
    frost::PublicKeyPackage public_package;
    std::vector<Holder> holders;
  };
  // ListedShare is one share as an agent reported it.
  struct ListedShare {
    KeyId id;
    frost::Identifier identifier;
    std::string public_package;
  };
  // Listing is what one agent last said it holds. An agent that stops answering keeps its last
  // answer: it stays a holder, to be waited for if it is needed, and is asked again until it
  // answers (`answered_last`).
  struct Listing {
    bool answered_last = false;
    std::vector<ListedShare> shares;
  };

  Impl(keymgr::KeyCustody& inner_in, const ThresholdConfig& config_in)
      : inner(inner_in), config(config_in) {}
  ~Impl() {
    StopRelister();
    calls_in_flight.CancelAndWait();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::chrono::system_clock::time_point Deadline() const {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(config.timeout_ms);
  }

  std::shared_ptr<const Key> KnownKey(const KeyId& id) const EXCLUDES(keys_mutex) {
    base::MutexLock lock(keys_mutex);
    auto it = keys.find(id);
    return it == keys.end() ? nullptr : it->second;
  }

  // TakeListingTurn is true when a listing asked for by a request may run now: at most one per
  // kRelistInterval, so a node asking for keys nobody holds, or a key short of agents, does not
  // cost a round trip to the agents on every request.
  bool TakeListingTurn() EXCLUDES(keys_mutex) {
    const auto now = std::chrono::steady_clock::now();
    base::MutexLock lock(keys_mutex);
    if (last_requested_listing != std::chrono::steady_clock::time_point{} &&
        now - last_requested_listing < kRelistInterval) {
      return false;
    }
    last_requested_listing = now;
    return true;
  }

  std::shared_ptr<const Key> FindKey(const KeyId& id) EXCLUDES(keys_mutex) {
    if (std::shared_ptr<const Key> known = KnownKey(id)) return known;
    // Unknown: the shares may have been imported since the last listing.
    if (!TakeListingTurn()) return nullptr;
    (void)ListAgents(AllAgents(), /*wait_for_ready=*/false);
    return KnownKey(id);
  }

  // ListAgainFor is called when too few holders of `key` are usable: an agent that was down when
  // the keys were listed may hold a share and be back. It lists every agent not holding the key
  // (waiting for each to connect, within the timeout, as the request would wait for a holder) and
  // returns the key as now listed if that found a holder it did not have, or nothing.
  std::shared_ptr<const Key> ListAgainFor(const KeyId& id, const Key& key) EXCLUDES(keys_mutex) {
    std::vector<size_t> others;
    for (size_t agent = 0; agent < agents.size(); ++agent) {
      if (std::none_of(key.holders.begin(), key.holders.end(),
                       [&](const Holder& holder) { return holder.agent == agent; })) {
        others.push_back(agent);
      }
    }
    if (others.empty() || !TakeListingTurn()) return nullptr;
    if (!ListAgents(others, /*wait_for_ready=*/true).ok()) return nullptr;
    std::shared_ptr<const Key> relisted = KnownKey(id);
    if (relisted == nullptr) return nullptr;
    for (const Holder& holder : relisted->holders) {
      if (std::find(others.begin(), others.end(), holder.agent) != others.end()) return relisted;
    }
    return nullptr;
  }

  std::vector<size_t> AllAgents() const {
    std::vector<size_t> all(agents.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    return all;
  }
  std::vector<size_t> AgentsNotListed() const EXCLUDES(keys_mutex) {
    base::MutexLock lock(keys_mutex);
    std::vector<size_t> missing;
    for (size_t i = 0; i < listings.size(); ++i) {
      if (!listings[i].answered_last) missing.push_back(i);
    }
    return missing;
  }

  // ListAgents asks `which` agents for their shares and makes the keys again from every agent's
  // latest answer. Fails with kUnavailable, changing nothing, when none of them answered.
  base::Status ListAgents(const std::vector<size_t>& which, bool wait_for_ready)
      EXCLUDES(keys_mutex);
  // MakeKeys decides, from every agent's latest listing, which keys are usable and who holds them.
  void MakeKeys() REQUIRES(keys_mutex);
  base::Result<std::vector<uint8_t>> SignThreshold(
      const KeyId& id, std::shared_ptr<const Key> key, std::span<const uint8_t> message,
      std::optional<std::span<const uint8_t>> preimage);

  // The relister: lists the agents that did not answer their last listing, every kRelistInterval,
  // until stopped.
  void StartRelister() {
    relister = std::thread([this] { RelistUntilStopped(); });
  }
  void RelistUntilStopped() EXCLUDES(relister_mutex) {
    for (;;) {
      {
        base::MutexLock lock(relister_mutex);
        const auto deadline = std::chrono::steady_clock::now() + kRelistInterval;
        while (!relister_stopping) {
          if (!relister_wake.WaitUntil(relister_mutex, deadline)) break;  // the interval is up
        }
        if (relister_stopping) return;
      }
      // Waiting for the agent to connect: it may be coming back from a restart, and this thread
      // is nobody's request.
      if (std::vector<size_t> missing = AgentsNotListed(); !missing.empty()) {
        (void)ListAgents(missing, /*wait_for_ready=*/true);
      }
    }
  }
  void StopRelister() EXCLUDES(relister_mutex) {
    {
      base::MutexLock lock(relister_mutex);
      relister_stopping = true;
    }
    relister_wake.SignalAll();
    if (relister.joinable()) relister.join();
  }

  keymgr::KeyCustody& inner;
  const ThresholdConfig config;
  std::vector<std::unique_ptr<Agent>> agents;
  mutable base::Mutex keys_mutex;
  std::vector<Listing> listings GUARDED_BY(keys_mutex);  // by agent
  std::map<KeyId, std::shared_ptr<const Key>> keys GUARDED_BY(keys_mutex);
  std::chrono::steady_clock::time_point last_requested_listing GUARDED_BY(keys_mutex){};
  std::atomic<size_t> next_rotation{0};
  base::Mutex relister_mutex;
  base::CondVar relister_wake;
  bool relister_stopping GUARDED_BY(relister_mutex) = false;
  std::thread relister;
  CallTracker calls_in_flight;  // ended by ~Impl before any member (the channels above) goes
};

base::Status ThresholdCustody::Impl::ListAgents(const std::vector<size_t>& which,
                                                bool wait_for_ready) {
  Calls<pb::ListSharesRequest, pb::ListSharesReply> calls;
  for (size_t agent : which) calls.Add(agent, Deadline(), wait_for_ready);
  calls_in_flight.Track(calls);
  calls.Start([this](size_t agent, grpc::ClientContext* context,
                     const pb::ListSharesRequest* request, pb::ListSharesReply* reply,
                     std::function<void(grpc::Status)> done) {
    agents[agent]->stub->async()->ListShares(context, request, reply, std::move(done));
  });
  auto answers = calls.Wait(which.size());
  std::vector<std::pair<size_t, std::vector<ListedShare>>> answered;
  for (const auto* answer : answers.good) {
    std::vector<ListedShare> shares;
    for (const pb::ListSharesReply::Share& share : answer->reply.shares()) {
      base::Result<base::KeyTypeId> key_type = base::MakeKeyTypeId(share.key_type());
      base::Result<frost::Identifier> identifier = frost::Identifier::Create(share.identifier());
      if (!key_type.ok() || !identifier.ok()) continue;
      shares.push_back(
          ListedShare{KeyId{*key_type, std::vector<uint8_t>(share.group_public_key().begin(),
                                                            share.group_public_key().end())},
                      *identifier, share.public_key_package()});
    }
    answered.emplace_back(answer->agent, std::move(shares));
  }
  base::MutexLock lock(keys_mutex);
  for (size_t agent : which) listings[agent].answered_last = false;
  if (answered.empty()) return base::Status::Unavailable("no key agent answered ListShares");
  for (auto& [agent, shares] : answered) {
    listings[agent].answered_last = true;
    listings[agent].shares = std::move(shares);
  }
  MakeKeys();
  return base::Status::Ok();
}

void ThresholdCustody::Impl::MakeKeys() {
  struct Report {
    size_t agent = 0;
    const ListedShare* share = nullptr;
  };
  std::map<KeyId, std::vector<Report>> reported;
  for (size_t agent = 0; agent < listings.size(); ++agent) {
    for (const ListedShare& share : listings[agent].shares) {
      reported[share.id].push_back(Report{agent, &share});
    }
  }
  std::map<KeyId, std::shared_ptr<const Key>> fresh;
  for (const auto& [id, reports] : reported) {
    // When the key's agents disagree on its public package, the one a strict majority of them
    // report is the key's if at least t of those agree on it with distinct identifiers: the
    // others are left out, so one agent (or any minority) can neither define the package nor
    // make the key unusable. Without such a majority nobody can tell which package is the key's.
    std::map<std::string_view, size_t> votes;
    for (const Report& report : reports) ++votes[report.share->public_package];
    const bool unanimous = votes.size() == 1;
    const auto most =
        std::max_element(votes.begin(), votes.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    if (!unanimous && most->second * 2 <= reports.size()) {
      spdlog::error(
          "threshold key {}: its {} agents report {} different public packages, none of them "
          "by a majority; not used",
          Describe(id), reports.size(), votes.size());
      continue;
    }
    const std::string_view agreed = most->first;
    base::Result<frost::PublicKeyPackage> package = frost::PublicKeyPackage::Parse(BytesOf(agreed));
    if (!package.ok() ||
        !std::equal(id.public_key.begin(), id.public_key.end(), package->group_public_key.begin(),
                    package->group_public_key.end())) {
      spdlog::error("threshold key {}: the public package does not parse or names another key",
                    Describe(id));
      continue;
    }
    base::Status safe = keymgr::CheckThresholdSafety(
        package->min_signers, static_cast<uint16_t>(package->verifying_shares.size()));
    base::Result<frost::Suite> suite = keymgr::ThresholdSuiteForKeyType(id.key_type);
    if (!safe.ok() || !suite.ok() || *suite != package->suite) {
      spdlog::error("threshold key {}: {}", Describe(id),
                    !safe.ok() ? safe.message() : "suite does not fit the key type");
      continue;
    }
    auto key = std::make_shared<Key>();
    std::map<uint16_t, size_t> claimed;  // identifier -> the first agent claiming it
    for (const Report& report : reports) {
      const std::string& name = agents[report.agent]->config.name;
      const uint16_t identifier = report.share->identifier.value();
      if (report.share->public_package != agreed) {
        spdlog::warn(
            "threshold key {}: agent {} reports another public package than the {} agents that "
            "agree; left out",
            Describe(id), name, most->second);
        continue;
      }
      if (!package->VerifyingShare(report.share->identifier).ok()) {
        spdlog::warn(
            "threshold key {}: agent {} reports identifier {}, which the public package does not "
            "list; left out",
            Describe(id), name, identifier);
        continue;
      }
      if (auto [first, inserted] = claimed.emplace(identifier, report.agent); !inserted) {
        spdlog::warn(
            "threshold key {}: agents {} and {} both report identifier {}; no signing set takes "
            "both",
            Describe(id), agents[first->second]->config.name, name, identifier);
      }
      key->holders.push_back(Holder{report.agent, report.share->identifier});
    }
    // With every agent agreeing, fewer than t holders is an outage (agents not listed yet), not
    // a dispute: the key stays known, and requests for it list the agents again.
    if (claimed.empty() || (!unanimous && claimed.size() < package->min_signers)) {
      spdlog::error(
          "threshold key {}: {} agents with distinct identifiers agree on its public package, {} "
          "needed; not used",
          Describe(id), claimed.size(), package->min_signers);
      continue;
    }
    key->public_package = std::move(package).value();
    fresh.emplace(id, std::move(key));
  }
  keys = std::move(fresh);
}

base::Result<std::vector<uint8_t>> ThresholdCustody::Impl::SignThreshold(
    const KeyId& id, std::shared_ptr<const Key> key, std::span<const uint8_t> message,
    std::optional<std::span<const uint8_t>> preimage) {
  std::set<size_t> excluded;          // agents that failed or cheated during this request
  std::vector<std::string> problems;  // why each agent left out was, in order
  std::set<size_t> stale_once;        // agents whose pooled commitment was unknown once already
  bool listed_again = false;          // the agents were listed again for this request
  auto leave_out = [&](size_t agent, std::string problem) {
    excluded.insert(agent);
    problems.push_back(agents[agent]->config.name + ": " + std::move(problem));
  };
  // Spread the work over the agents: each request starts its choice at the next holder.
  const size_t rotation = next_rotation.fetch_add(1, std::memory_order_relaxed);
  while (true) {
    const frost::PublicKeyPackage& package = key->public_package;
    const size_t needed = package.min_signers;
    const auto now = std::chrono::steady_clock::now();
    // Ready holders first (in rotating order), then the others; one holder per identifier.
    std::vector<Holder> candidates;
    std::set<uint16_t> identifiers;
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t k = 0; k < key->holders.size(); ++k) {
        const Holder& holder = key->holders[(rotation + k) % key->holders.size()];
        if (excluded.contains(holder.agent)) continue;
        if (agents[holder.agent]->Ready(now) != (pass == 0)) continue;
        if (!identifiers.insert(holder.identifier.value()).second) continue;
        candidates.push_back(holder);
      }
    }
    if (candidates.size() < needed && !listed_again) {
      // An agent that was down when the keys were listed may be back with its share: only a
      // request that would fail otherwise pays for finding out, once.
      listed_again = true;
      if (std::shared_ptr<const Key> relisted = ListAgainFor(id, *key)) {
        key = std::move(relisted);
        continue;
      }
    }
    if (candidates.size() < needed) {
      return base::Status::Unavailable(
          "threshold key " + Describe(id) + ": " + std::to_string(candidates.size()) +
          " usable key agents, " + std::to_string(needed) + " needed" +
          (problems.empty() ? "" : " (" + JoinProblems(problems) + ")"));
    }
    candidates.resize(needed);

    // Round one, from the pools; agents whose pool is empty are asked for a batch, all at once.
    std::vector<std::optional<frost::SigningCommitments>> chosen(needed);
    Calls<pb::CommitRequest, pb::CommitReply> fetches;
    std::map<size_t, size_t> fetching;  // agent -> slot in `chosen`
    for (size_t slot = 0; slot < needed; ++slot) {
      Impl::Agent& agent = *agents[candidates[slot].agent];
      chosen[slot] = agent.TakeCommitment(id, now);
      if (chosen[slot]) continue;
      auto& call = fetches.Add(candidates[slot].agent, Deadline(), !agent.Ready(now));
      call.request.mutable_key()->set_key_type(base::KeyTypeName(id.key_type));
      call.request.mutable_key()->set_group_public_key(StringOf(id.public_key));
      call.request.set_count(kCommitmentBatch);
      fetching[candidates[slot].agent] = slot;
    }
    if (!fetching.empty()) {
      calls_in_flight.Track(fetches);
      fetches.Start([this](size_t agent, grpc::ClientContext* context,
                           const pb::CommitRequest* request, pb::CommitReply* reply,
                           std::function<void(grpc::Status)> done) {
        agents[agent]->stub->async()->Commit(context, request, reply, std::move(done));
      });
      auto fetched = fetches.Wait(fetching.size());
      // A commitment promises nothing, so an agent that does not give one (whatever it says) is
      // not asked again during this request.
      for (const auto* list : {&fetched.failed, &fetched.refused}) {
        for (const auto* failed : *list) {
          agents[failed->agent]->failures.fetch_add(1, std::memory_order_relaxed);
          agents[failed->agent]->MarkFailed(now);
          leave_out(failed->agent, failed->status.error_message());
        }
      }
      for (const auto* answer : fetched.good) {
        const size_t slot = fetching[answer->agent];
        std::vector<frost::SigningCommitments> batch;
        // More than asked for is malformed too: nothing else bounds what an agent makes the
        // coordinator decode and keep, and a repeated commitment would sign only once.
        const int count = answer->reply.commitments_size();
        bool malformed = count == 0 || count > static_cast<int>(kCommitmentBatch);
        std::set<std::string_view> seen;
        for (int i = 0; i < count && !malformed; ++i) {
          const std::string& bytes = answer->reply.commitments(i);
          auto decoded = frost::SigningCommitments::Decode(package.suite, BytesOf(bytes));
          malformed = !decoded.ok() || decoded->identifier != candidates[slot].identifier ||
                      !seen.insert(bytes).second;
          if (!malformed) batch.push_back(*decoded);
        }
        if (malformed) {
          agents[answer->agent]->failures.fetch_add(1, std::memory_order_relaxed);
          leave_out(answer->agent, "malformed commitment");
          continue;
        }
        chosen[slot] = batch.front();
        batch.erase(batch.begin());
        agents[answer->agent]->AddCommitments(id, batch, now);
      }
    }
    if (std::any_of(chosen.begin(), chosen.end(), [](const auto& c) { return !c.has_value(); })) {
      continue;  // someone was left out; choose again among the rest
    }
    std::vector<frost::SigningCommitments> commitments;
    commitments.reserve(chosen.size());
    for (const auto& c : chosen) commitments.push_back(*c);
    base::Result<frost::CommitmentList> list = frost::MakeCommitmentList(std::move(commitments));
    if (!list.ok()) return base::Status::Internal("commitment list: " + list.status().message());
    const std::string encoded_list = StringOf(frost::EncodeCommitmentList(*list));

    // Round two: the payload (and its preimage) to the t chosen agents; each decides first.
    Calls<pb::SignShareRequest, pb::SignShareReply> shares;
    for (const Holder& holder : candidates) {
      auto& call = shares.Add(holder.agent, Deadline(), !agents[holder.agent]->Ready(now));
      call.request.mutable_key()->set_key_type(base::KeyTypeName(id.key_type));
      call.request.mutable_key()->set_group_public_key(StringOf(id.public_key));
      call.request.set_message(StringOf(message));
      if (preimage) call.request.set_preimage(StringOf(*preimage));
      call.request.set_commitment_list(encoded_list);
    }
    calls_in_flight.Track(shares);
    shares.Start([this](size_t agent, grpc::ClientContext* context,
                        const pb::SignShareRequest* request, pb::SignShareReply* reply,
                        std::function<void(grpc::Status)> done) {
      agents[agent]->stub->async()->SignShare(context, request, reply, std::move(done));
    });
    auto signed_shares = shares.Wait(candidates.size());
    if (!signed_shares.refused.empty()) {
      // Refusals are final: asking another set for the same payload is exactly what an attacker
      // who controls the coordinator would do, and the agents' intersection is what stops it.
      std::string refusals;
      for (const auto* refused : signed_shares.refused) {
        agents[refused->agent]->refusals.fetch_add(1, std::memory_order_relaxed);
        if (!refusals.empty()) refusals += "; ";
        refusals += agents[refused->agent]->config.name + ": " + refused->status.error_message();
      }
      return base::Status::FailedPrecondition("key agents refused: " + refusals);
    }
    for (const auto* failed : signed_shares.failed) {
      Impl::Agent& agent = *agents[failed->agent];
      if (failed->status.error_code() == grpc::StatusCode::NOT_FOUND &&
          !stale_once.contains(failed->agent)) {
        // The agent no longer holds the nonce behind a pooled commitment (it restarted, or the
        // commitment outlived it): forget its pool and fetch afresh, once per request.
        agent.DropCommitments(id);
        stale_once.insert(failed->agent);
        continue;
      }
      agent.failures.fetch_add(1, std::memory_order_relaxed);
      agent.MarkFailed(now);
      agent.DropCommitments(id);
      leave_out(failed->agent, failed->status.error_message());
    }
    if (!signed_shares.failed.empty()) continue;
    std::vector<frost::SignatureShare> decoded;
    bool malformed = false;
    for (const auto* answer : signed_shares.good) {
      base::Result<frost::SignatureShare> share =
          frost::SignatureShare::Decode(BytesOf(answer->reply.signature_share()));
      const Holder& holder =
          *std::find_if(candidates.begin(), candidates.end(),
                        [&](const Holder& h) { return h.agent == answer->agent; });
      if (!share.ok() || share->identifier != holder.identifier) {
        agents[answer->agent]->invalid_shares.fetch_add(1, std::memory_order_relaxed);
        leave_out(answer->agent, "malformed share");
        malformed = true;
        continue;
      }
      decoded.push_back(*share);
    }
    if (malformed) continue;
    std::vector<frost::Identifier> invalid;
    base::Result<frost::Signature> signature =
        frost::Aggregate(package, message, *list, decoded, &invalid);
    if (signature.ok()) {
      for (const Holder& holder : candidates) {
        agents[holder.agent]->shares.fetch_add(1, std::memory_order_relaxed);
        agents[holder.agent]->MarkHealthy();
      }
      return std::vector<uint8_t>(signature->begin(), signature->end());
    }
    if (invalid.empty()) {
      return base::Status::Internal("aggregate: " + signature.status().message());
    }
    for (const frost::Identifier& culprit : invalid) {
      for (const Holder& holder : candidates) {
        if (holder.identifier != culprit) continue;
        agents[holder.agent]->invalid_shares.fetch_add(1, std::memory_order_relaxed);
        agents[holder.agent]->MarkFailed(now);
        leave_out(holder.agent, "invalid signature share");
        spdlog::error("event=invalid_signature_share agent={} key={}",
                      agents[holder.agent]->config.name, Describe(id));
      }
    }
  }
}

ThresholdCustody::ThresholdCustody(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ThresholdCustody::~ThresholdCustody() = default;

base::Result<std::unique_ptr<ThresholdCustody>> ThresholdCustody::Open(
    keymgr::KeyCustody& inner, const ThresholdConfig& config) {
  SIGNER_ASSIGN_OR_RETURN(std::vector<AgentChannel> channels, ConnectAgents(config));
  auto impl = std::make_unique<Impl>(inner, config);
  for (AgentChannel& channel : channels) {
    auto agent = std::make_unique<Impl::Agent>();
    agent->config = std::move(channel.config);
    agent->channel = std::move(channel.channel);
    agent->stub = std::move(channel.stub);
    impl->agents.push_back(std::move(agent));
  }
  {
    base::MutexLock lock(impl->keys_mutex);
    impl->listings.resize(impl->agents.size());
  }
  if (base::Status listed = impl->ListAgents(impl->AllAgents(), /*wait_for_ready=*/false);
      !listed.ok()) {
    spdlog::warn("threshold: {}; agents are listed again until they answer", listed.message());
  }
  impl->StartRelister();
  return std::unique_ptr<ThresholdCustody>(new ThresholdCustody(std::move(impl)));
}

base::Status ThresholdCustody::Refresh() {
  return impl_->ListAgents(impl_->AllAgents(), /*wait_for_ready=*/false);
}

std::vector<ThresholdCustody::KeySummary> ThresholdCustody::ThresholdKeys() const {
  std::vector<KeySummary> summaries;
  base::MutexLock lock(impl_->keys_mutex);
  for (const auto& [id, key] : impl_->keys) {
    KeySummary summary{id,
                       key->public_package.min_signers,
                       static_cast<uint16_t>(key->public_package.verifying_shares.size()),
                       {}};
    for (const Impl::Holder& holder : key->holders) {
      summary.agents.push_back(impl_->agents[holder.agent]->config.name);
    }
    summaries.push_back(std::move(summary));
  }
  return summaries;
}

std::vector<AgentStats> ThresholdCustody::Stats() const {
  std::vector<AgentStats> stats;
  for (const auto& agent : impl_->agents) {
    stats.push_back(AgentStats{agent->config.name, agent->shares.load(),
                               agent->invalid_shares.load(), agent->refusals.load(),
                               agent->failures.load()});
  }
  return stats;
}

base::Result<std::vector<keymgr::KeyInfo>> ThresholdCustody::List() {
  SIGNER_ASSIGN_OR_RETURN(std::vector<keymgr::KeyInfo> listed, impl_->inner.List());
  base::MutexLock lock(impl_->keys_mutex);
  for (const auto& [id, key] : impl_->keys) {
    keymgr::KeyInfo info;
    info.id = id;
    info.scheme = key->public_package.suite == frost::Suite::kEd25519 ? base::Scheme::kEd25519
                                                                      : base::Scheme::kSr25519;
    info.protection = keymgr::KeyProtection::kThresholdShares;
    listed.push_back(std::move(info));
  }
  return listed;
}

base::Result<keymgr::KeyInfo> ThresholdCustody::Generate(const base::KeyTypeId& key_type,
                                                         base::Scheme scheme) {
  return impl_->inner.Generate(key_type, scheme);
}

base::Result<keymgr::KeyInfo> ThresholdCustody::Import(const base::KeyTypeId& key_type,
                                                       const keymgr::Keypair& pair) {
  return impl_->inner.Import(key_type, pair);
}

base::Status ThresholdCustody::Delete(const KeyId& id) {
  if (impl_->FindKey(id) != nullptr) {
    return base::Status::InvalidArgument(
        "a threshold key is deleted on its agents (signerctl threshold), not here");
  }
  return impl_->inner.Delete(id);
}

base::Result<bool> ThresholdCustody::Holds(const KeyId& id) {
  {
    base::MutexLock lock(impl_->keys_mutex);
    if (impl_->keys.contains(id)) return true;
  }
  return impl_->inner.Holds(id);
}

base::Result<std::vector<uint8_t>> ThresholdCustody::Sign(const KeyId& id, base::Scheme scheme,
                                                          std::span<const uint8_t> message) {
  return SignBound(id, scheme, message, std::nullopt);
}

base::Result<std::vector<uint8_t>> ThresholdCustody::SignBound(
    const KeyId& id, base::Scheme scheme, std::span<const uint8_t> message,
    std::optional<std::span<const uint8_t>> preimage) {
  // Known threshold keys are found in memory; anything else is the HSM's, and only a key neither
  // holds makes the agents be listed again (FindKey, at most once a second).
  std::shared_ptr<const Impl::Key> key = impl_->KnownKey(id);
  if (key == nullptr) {
    base::Result<std::vector<uint8_t>> signed_in_hsm =
        impl_->inner.SignBound(id, scheme, message, preimage);
    if (signed_in_hsm.ok() || signed_in_hsm.status().code() != base::StatusCode::kNotFound) {
      return signed_in_hsm;
    }
    key = impl_->FindKey(id);
    if (key == nullptr) return signed_in_hsm;
  }
  const base::Scheme key_scheme = key->public_package.suite == frost::Suite::kEd25519
                                      ? base::Scheme::kEd25519
                                      : base::Scheme::kSr25519;
  if (scheme != key_scheme) return base::Status::NotFound("key not held as that scheme");
  return impl_->SignThreshold(id, std::move(key), message, preimage);
}

base::Result<keymgr::EcdsaSignature> ThresholdCustody::EcdsaSignPrehashed(
    const KeyId& id, std::span<const uint8_t> digest) {
  return impl_->inner.EcdsaSignPrehashed(id, digest);
}

base::Result<keymgr::Sr25519VrfSignature> ThresholdCustody::VrfSign(
    const KeyId& id, const keymgr::VrfTranscriptData& input,
    const std::optional<keymgr::VrfTranscriptData>& extra) {
  return impl_->inner.VrfSign(id, input, extra);
}

base::Result<keymgr::Sr25519VrfPreOutput> ThresholdCustody::VrfPreOutput(
    const KeyId& id, const keymgr::VrfTranscriptData& input) {
  return impl_->inner.VrfPreOutput(id, input);
}

}  // namespace signer
