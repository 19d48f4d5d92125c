// gateway_cache_bench: what a cached key look-up costs inside the gateway (no transport): the
// forwarder's whole path for a node's Ed25519PublicKeys answered from the key cache.
//
// Prints the per-call p50, p99 and mean in microseconds over N calls (default 200000) after a
// warm-up, for one thread and for two threads at once (the gateway's callback threads share the
// cache's mutex). Usage: gateway_cache_bench [--calls N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "gateway/forwarder.h"
#include "gateway/pool.h"
#include "remote_keystore.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr char kLookup[] = "/parity.polkadot.signer.RemoteKeystore/Ed25519PublicKeys";

struct Figures {
  double p50_us = 0;
  double p99_us = 0;
  double mean_us = 0;
};

// Measure times each of `calls` look-ups on its own (the clock read is about 20 ns, small beside
// the figures).
std::vector<double> Measure(gateway::Forwarder& forwarder, const std::string& request,
                            size_t calls) {
  std::vector<double> micros;
  micros.reserve(calls);
  size_t answered = 0;
  for (size_t i = 0; i < calls; ++i) {
    const auto start = Clock::now();
    forwarder.Handle(kLookup, request, std::chrono::system_clock::now() + std::chrono::seconds(5),
                     [&answered](const grpc::Status& status, const std::string& reply) {
                       if (status.ok() && !reply.empty()) ++answered;
                     });
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  if (answered != calls) {
    std::fprintf(stderr, "gateway_cache_bench: %zu of %zu look-ups were not cache hits\n",
                 calls - answered, calls);
    std::exit(1);
  }
  return micros;
}

Figures Summarise(std::vector<double> micros) {
  std::sort(micros.begin(), micros.end());
  Figures figures;
  figures.p50_us = micros[micros.size() / 2];
  figures.p99_us = micros[std::min(micros.size() - 1, micros.size() * 99 / 100)];
  double sum = 0;
  for (double value : micros) sum += value;
  figures.mean_us = sum / double(micros.size());
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  size_t calls = 200'000;
  if (argc == 3 && std::string(argv[1]) == "--calls") {
    calls = std::strtoul(argv[2], nullptr, 10);
  } else if (argc != 1) {
    std::fprintf(stderr, "usage: gateway_cache_bench [--calls N]\n");
    return 2;
  }
  // A pool whose one signer is never asked: every look-up below is answered from the cache.
  gateway::GatewayConfig config;
  config.history_id = "bench";
  gateway::UpstreamConfig upstream;
  upstream.name = "never-asked";
  upstream.address = "127.0.0.1:1";
  config.upstreams.push_back(upstream);
  auto pool = gateway::UpstreamPool::Create(config, grpc::InsecureChannelCredentials());
  auto metrics = pool.ok() ? gateway::GatewayMetrics::Create(**pool)
                           : base::Result<std::unique_ptr<gateway::GatewayMetrics>>(pool.status());
  if (!metrics.ok()) {
    std::fprintf(stderr, "gateway_cache_bench: %s\n", metrics.status().message().c_str());
    return 1;
  }
  gateway::KeyCache cache(std::chrono::hours(1), 4096);
  gateway::Forwarder forwarder(**pool, cache, **metrics, std::chrono::seconds(5));

  parity::polkadot::signer::Ed25519PublicKeysRequest request;
  request.set_key_type("gran");
  parity::polkadot::signer::Ed25519PublicKeysReply reply;
  // A validator's look-up answer: a handful of 32-byte keys.
  for (int i = 0; i < 4; ++i) reply.add_public_keys(std::string(32, static_cast<char>('a' + i)));
  const std::string request_bytes = request.SerializeAsString();
  cache.Store(kLookup, request_bytes, reply.SerializeAsString(), cache.Generation());

  Measure(forwarder, request_bytes, std::min<size_t>(calls, 20'000));  // warm-up
  const Figures one = Summarise(Measure(forwarder, request_bytes, calls));
  std::vector<double> first, second;
  std::thread other([&] { second = Measure(forwarder, request_bytes, calls); });
  first = Measure(forwarder, request_bytes, calls);
  other.join();
  first.insert(first.end(), second.begin(), second.end());
  const Figures two = Summarise(std::move(first));
  std::printf("cached Ed25519PublicKeys in the gateway, %zu calls per thread\n", calls);
  std::printf("1 thread : p50 %.2f us  p99 %.2f us  mean %.2f us\n", one.p50_us, one.p99_us,
              one.mean_us);
  std::printf("2 threads: p50 %.2f us  p99 %.2f us  mean %.2f us\n", two.p50_us, two.p99_us,
              two.mean_us);
  return 0;
}
