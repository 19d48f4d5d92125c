// Replication: the history signerd decides against, standalone or replicated through Kafka.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "audit/audit_log.h"
#include "base/status.h"
#include "signer/config.h"
#include "slashing/history_log.h"
#include "slashing/history_store.h"

namespace signer {

// ReplicationStats is a snapshot for metrics. Every field is zero in standalone mode.
struct ReplicationStats {
  bool replicated = false;
  int64_t consumer_lag = 0;       // claims records not yet applied, summed over partitions
  uint64_t claims_produced = 0;   // claims this signer sent
  uint64_t claims_won = 0;        // own claims applied and allowed
  uint64_t claims_lost = 0;       // own claims applied and refused (another claim came first)
  uint64_t claims_timed_out = 0;  // own claims not applied within claim_timeout_ms
  uint64_t records_applied = 0;   // claims records applied, from every signer
  uint64_t audit_published = 0;   // audit lines the audit topic acknowledged
  uint64_t audit_failed = 0;      // audit lines dropped or not acknowledged
};

// Replication owns the HistoryLog the Protector decides against. Standalone (no kafka section)
// it is a LocalHistoryLog over the store; replicated, claims go through the claims topic first
// (docs/kafka.md). Thread-safe.
class Replication {
 public:
  virtual ~Replication() = default;

  // Open builds the replication `config` asks for over `store`, which must outlive it. It never
  // waits for Kafka: in Kafka mode the connection to the claims topic is made, and retried while
  // the brokers are unreachable, in the background; history_log() refuses every call (kIoError,
  // so nothing is signed) until WaitUntilCaughtUp has succeeded once.
  static base::Result<std::unique_ptr<Replication>> Open(const SignerConfig& config,
                                                         slashing::HistoryStore& store);

  virtual slashing::HistoryLog& history_log() = 0;

  // AuditStreamPublisher returns what publishes one durable audit line to the audit topic, or an
  // empty function when there is no audit topic (standalone, or no kafka.audit_topic). The caller
  // installs it on the audit log (the daemon's audit fan-out). Publishing never blocks: a slow or
  // dead stream only counts failures in stats(). Call at most once.
  virtual AuditLog::LineObserver AuditStreamPublisher() = 0;
  // DeferHistorySyncs makes the history write decisions (standalone) or applied claims
  // (replicated) without a sync each, from now on. The caller takes the duty on: before the first
  // decision it installs the store's SyncWrites as the audit log's group barrier, so a request's
  // decision and its audit line wait for one commit group (docs/signerd.md, "One synced write per
  // request").
  virtual void DeferHistorySyncs() = 0;

  // WaitUntilCaughtUp returns once the history holds every claim that was in the topic when it
  // was called (standalone: at once), and from then on history_log() decides. kUnavailable after
  // `timeout` (brokers unreachable or still catching up: call again); kInvalidArgument or
  // kInternal when retrying cannot help (bad Kafka options, a history bound to another claims
  // topic or partition count).
  virtual base::Status WaitUntilCaughtUp(std::chrono::milliseconds timeout) = 0;

  // SetClaimRoundTripObserver receives, for each own claim, the time from produce to applied.
  virtual void SetClaimRoundTripObserver(
      std::function<void(std::chrono::nanoseconds)> observer) = 0;

  // SetStoppedHandler is called once if the history stops deciding for good (replicated: the
  // claims topic no longer holds records the history needs), from then on every decision fails.
  // Standalone never calls it. Set it before serving.
  virtual void SetStoppedHandler(std::function<void(const base::Status& cause)> handler) = 0;

  virtual ReplicationStats stats() const = 0;

  // HistoryIdentity says which history this signer decides against, so a gateway pools only
  // signers that share one (docs/gateway.md): `kind` is "standalone" or "replicated"; `id` is the
  // store's random instance id standalone, "kafka:<cluster id>/<claims topic>" replicated. Two
  // signers with equal ids reach the same verdicts. kUnavailable while a replicated signer has not
  // connected to its brokers yet.
  struct Identity {
    std::string kind;
    std::string id;
  };
  virtual base::Result<Identity> HistoryIdentity() = 0;
};

}  // namespace signer
