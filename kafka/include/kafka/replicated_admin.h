// Replicated history administration: `signerctl history import|prune` as records of the claims
// topic.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "slashing/history_store.h"
#include "slashing/interchange.h"
#include "slashing/types.h"

namespace kafka {

// Each call below opens and closes its own producer: the functions are thread-safe and keep no
// state between calls.

// ReplicatedAdminOptions says how to reach the claims topic (docs/kafka.md).
struct ReplicatedAdminOptions {
  std::string brokers;  // required
  std::string claims_topic = "signer-claims";
  std::string signer_id;  // written into every record, so readers of the topic see who ran it
  // Extra librdkafka properties (TLS, SASL, ...); the ones ordering and durability depend on are
  // refused, as for the signers.
  std::vector<std::pair<std::string, std::string>> properties;
  // How long to wait for the topic's partitions and then for every record to be acknowledged.
  std::chrono::milliseconds timeout{30'000};
};

// ReplicatedAdminReport says what was produced.
struct ReplicatedAdminReport {
  int32_t partitions = 0;            // the claims topic's partition count
  uint64_t records_produced = 0;     // import or prune records acknowledged by the brokers
  uint64_t public_keys = 0;          // import: keys in the file
  uint64_t interchange_records = 0;  // import: history records in the file
};

// ProduceImport splits `interchange` per public key (and into records of at most
// kMaxImportJsonSize bytes of interchange text) and produces each part to its key's partition,
// where every signer's applier merges it in order with the key's claims. It returns once every
// record was acknowledged (acks=all), not once signers applied them. kInvalidArgument for bad
// options or a key whose single history record is too large for one record; kIoError when the
// topic cannot be reached or a record is not acknowledged within the timeout (some parts may have
// been produced: importing the same file again is harmless, a merge is idempotent).
base::Result<ReplicatedAdminReport> ProduceImport(const ReplicatedAdminOptions& options,
                                                  const slashing::Interchange& interchange);

// ProducePrune produces one prune record to every partition of the claims topic; each signer's
// applier prunes the keys of that partition when it reaches it. Errors as for ProduceImport
// (running it again is harmless: a prune is idempotent).
base::Result<ReplicatedAdminReport> ProducePrune(const ReplicatedAdminOptions& options,
                                                 const base::Hash256& genesis_hash,
                                                 slashing::Domain domain,
                                                 const slashing::Watermark& below);

// IsReplicatedHistory is true when `store` was bound to a claims topic by a replicated signer, so
// local administration would change this signer's history alone. kIoError if it cannot be read.
base::Result<bool> IsReplicatedHistory(slashing::HistoryStore& store);

}  // namespace kafka
