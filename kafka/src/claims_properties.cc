// The one list of librdkafka properties that the claims topic's producers and consumer set.
#include "claims_properties.h"

#include <algorithm>
#include <iterator>

namespace kafka {
namespace {

constexpr std::string_view kProducerProperties[] = {
    "acks",
    "request.required.acks",
    "enable.idempotence",
    "enable.gapless.guarantee",
    "retries",
    "message.send.max.retries",
    "max.in.flight",
    "max.in.flight.requests.per.connection",
    // A transactional producer fails every produce made outside a transaction.
    "transactional.id",
    "partitioner",
    "message.timeout.ms",
    // librdkafka's other name for message.timeout.ms, which the claim timeout sets.
    "delivery.timeout.ms",
    "bootstrap.servers",
    "metadata.broker.list",
};

constexpr std::string_view kConsumerProperties[] = {
    "group.id",          "enable.auto.commit", "auto.commit.enable", "enable.auto.offset.store",
    "auto.offset.reset", "isolation.level",
};

template <size_t N>
bool Contains(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

}  // namespace

bool IsClaimsProducerProperty(std::string_view name) { return Contains(kProducerProperties, name); }

bool IsClaimsConsumerProperty(std::string_view name) { return Contains(kConsumerProperties, name); }

}  // namespace kafka
