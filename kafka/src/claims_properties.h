// The librdkafka properties the claims topic's ordering, durability and offsets depend on.
#pragma once

#include <string_view>

namespace kafka {

// IsClaimsProducerProperty is true for the producer properties that ordering and durability of
// claims depend on (acks, idempotence and its gapless guarantee, transactions, retries, in-flight
// limit, partitioner, the timeout under both its names, brokers): the replication sets them
// itself and refuses an operator's value. Pure; thread-safe.
bool IsClaimsProducerProperty(std::string_view name);

// IsClaimsConsumerProperty is true for the consumer properties the applier's offset bookkeeping
// depends on (group, auto commit and offset store, offset reset, isolation level). Pure.
bool IsClaimsConsumerProperty(std::string_view name);

}  // namespace kafka
