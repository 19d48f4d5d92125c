// KeyAgent's private parts its source files share: request trace, audit step, DKG session, helpers.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyagentd/key_agent.h"
#include "signerd/request_trace.h"

namespace signer {
namespace agent_internal {

// FromStatus maps a custody or library failure to the reply code the caller sees.
inline ReplyCode FromStatus(const base::Status& status) {
  switch (status.code()) {
    case base::StatusCode::kNotFound:
      return ReplyCode::kPairNotFound;
    case base::StatusCode::kInvalidArgument:
      return ReplyCode::kInvalidArgument;
    case base::StatusCode::kInternal:
      return ReplyCode::kInternal;
    default:
      return ReplyCode::kUnavailable;
  }
}

// SecondsSince is the time from `start` to now, for latency histograms.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace agent_internal

// Held is one loaded share. Immutable once made; shared by the requests using it.
struct KeyAgent::Held {
  keymgr::FrostShare share;
};

// DkgSession is one distributed key generation this agent takes part in, from DkgRound1 until
// DkgFinalize, DkgAbort, a failed step or expiry drops it (which wipes its polynomial and the
// shares received).
struct KeyAgent::DkgSession {
  // kOpened: round one done. kDelivering: the view is fixed and the secret is out with the call
  // delivering this agent's shares. kDelivered: every peer accepted its share.
  enum class Stage { kOpened, kDelivering, kDelivered };
  // ReceivedShare is a peer's share and the view hash it came with.
  struct ReceivedShare {
    keymgr::frost::DkgShare share;
    base::Hash256 view_hash{};
  };

  std::string owner;  // the identity that opened the session; only it runs the later steps
  base::KeyTypeId key_type{};
  keymgr::frost::Suite suite = keymgr::frost::Suite::kEd25519;
  uint16_t min_signers = 0;
  std::vector<std::string> names;  // names[i - 1] is participant i's
  keymgr::frost::Identifier self;
  std::vector<uint8_t> own_package;  // this agent's round-one package as it returned it
  Stage stage = Stage::kOpened;
  keymgr::frost::DkgSecret secret;  // empty while a DkgRound2 call holds it
  base::Hash256 view_hash{};        // set when DkgRound2 leaves kOpened
  std::vector<keymgr::frost::DkgRound1Package> peer_packages;  // the others', ascending
  std::map<uint16_t, ReceivedShare> received;                  // by sender identifier
  std::chrono::steady_clock::time_point expires;
};

// Metrics: shares issued and refused by key type and outcome, and SignShare latency.
struct KeyAgent::Metrics {
  Family<Counter>* requests = nullptr;
  Family<Histogram>* latency = nullptr;
  Family<Gauge>* unused_nonces = nullptr;
};

template <typename T>
Reply<T> KeyAgent::Finish(Trace& trace, ReplyCode code, std::string message, T value) {
  Reply<T> reply =
      FinishRequest(trace, deps_.audit, deps_.clock, code, std::move(message), std::move(value));
  if (metrics_ != nullptr) {
    metrics_->requests->With({trace.context.method, trace.key_type, trace.Outcome(reply.code)})
        .Increment();
  }
  return reply;
}

}  // namespace signer
