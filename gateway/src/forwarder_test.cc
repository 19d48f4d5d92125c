// The forwarder's own rules, without signers: the key cache, method labels, and refusals.
#include "gateway/forwarder.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>

#include "support/dev_pki.h"
#include "support/temp_dir.h"
#include "tls/dev_pki.h"
#include "tls/grpc_credentials.h"

namespace gateway {
namespace {

const std::string kKeys = "/parity.polkadot.signer.RemoteKeystore/Ed25519PublicKeys";
const std::string kInsert = "/parity.polkadot.signer.RemoteKeystore/Insert";
const std::string kSign = "/parity.polkadot.signer.RemoteKeystore/SignWith";

TEST(KeyCacheTest, AnswersLookupsUntilTheyAgeOrKeysChange) {
  KeyCache cache(std::chrono::milliseconds(60'000), 8);
  std::string reply;
  EXPECT_FALSE(cache.Lookup(kKeys, "gran", reply));
  cache.Store(kKeys, "gran", "three keys", cache.Generation());
  ASSERT_TRUE(cache.Lookup(kKeys, "gran", reply));
  EXPECT_EQ(reply, "three keys");
  EXPECT_FALSE(cache.Lookup(kKeys, "babe", reply)) << "another request is another entry";
  cache.Clear();
  EXPECT_FALSE(cache.Lookup(kKeys, "gran", reply));
}

TEST(KeyCacheTest, ExpiredEntriesAndAZeroTtlNeverAnswer) {
  KeyCache short_lived(std::chrono::milliseconds(1), 8);
  short_lived.Store(kKeys, "gran", "x", short_lived.Generation());
  // Waiting out a 1 ms lifetime, not synchronising with anything.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::string reply;
  EXPECT_FALSE(short_lived.Lookup(kKeys, "gran", reply));
  KeyCache off(std::chrono::milliseconds(0), 8);
  off.Store(kKeys, "gran", "x", off.Generation());
  EXPECT_FALSE(off.Lookup(kKeys, "gran", reply));
}

TEST(KeyCacheTest, KeepsAtMostItsBoundDroppingTheOldest) {
  KeyCache cache(std::chrono::milliseconds(60'000), 2);
  cache.Store(kKeys, "a", "1", cache.Generation());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));  // distinct store times
  cache.Store(kKeys, "b", "2", cache.Generation());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  cache.Store(kKeys, "c", "3", cache.Generation());
  std::string reply;
  EXPECT_FALSE(cache.Lookup(kKeys, "a", reply));
  EXPECT_TRUE(cache.Lookup(kKeys, "b", reply));
  EXPECT_TRUE(cache.Lookup(kKeys, "c", reply));
}

// A caller that pads its look-ups must not fill the gateway's memory: an entry past
// kMaxEntryBytes is never kept, and the entries kept stay within the byte bound.
TEST(KeyCacheTest, KeepsAtMostItsByteBound) {
  KeyCache cache(std::chrono::milliseconds(60'000), 4096, 4 * KeyCache::kMaxEntryBytes);
  std::string reply;
  const std::string padded(KeyCache::kMaxEntryBytes, 'p');
  cache.Store(kKeys, padded, "x", cache.Generation());
  EXPECT_FALSE(cache.Lookup(kKeys, padded, reply));
  const std::string large(KeyCache::kMaxEntryBytes / 2, 'l');
  for (char tag = 'a'; tag <= 'z'; ++tag) {
    cache.Store(kKeys, std::string(1, tag) + large, "x", cache.Generation());
  }
  int kept = 0;
  for (char tag = 'a'; tag <= 'z'; ++tag) {
    kept += cache.Lookup(kKeys, std::string(1, tag) + large, reply) ? 1 : 0;
  }
  // Each entry is half an entry bound and a few bytes: seven fit in four entry bounds.
  EXPECT_EQ(kept, 7);
  // The last one stored is kept: the oldest go first.
  EXPECT_TRUE(cache.Lookup(kKeys, "z" + large, reply));
}

// A look-up answered by a signer before an Insert, whose reply arrives after the Insert cleared
// the cache, must not be stored: it would answer with the old key list for a whole ttl.
TEST(KeyCacheTest, AReplyFromBeforeAKeyChangeIsNotStored) {
  KeyCache cache(std::chrono::milliseconds(60'000), 8);
  const uint64_t sent_at = cache.Generation();
  cache.Clear();  // an Insert went through meanwhile
  cache.Store(kKeys, "gran", "the old list", sent_at);
  std::string reply;
  EXPECT_FALSE(cache.Lookup(kKeys, "gran", reply));
  cache.Store(kKeys, "gran", "the new list", cache.Generation());
  ASSERT_TRUE(cache.Lookup(kKeys, "gran", reply));
  EXPECT_EQ(reply, "the new list");
}

TEST(KeyCacheTest, OnlyLookupsAreCachedAndOnlyKeyChangesClear) {
  EXPECT_TRUE(KeyCache::Caches(kKeys));
  EXPECT_TRUE(KeyCache::Caches("/parity.polkadot.signer.RemoteKeystore/HasKeys"));
  EXPECT_FALSE(KeyCache::Caches(kSign));
  EXPECT_FALSE(KeyCache::Caches("/other.Service/Ed25519PublicKeys"));
  EXPECT_TRUE(KeyCache::ChangesKeys(kInsert));
  EXPECT_TRUE(KeyCache::ChangesKeys("/parity.polkadot.signer.RemoteKeystore/Sr25519GenerateNew"));
  EXPECT_FALSE(KeyCache::ChangesKeys(kSign));
}

TEST(MethodLabelTest, BoundsWhatAClientCanPutInALabel) {
  EXPECT_EQ(MethodLabel(kSign), "SignWith");
  EXPECT_EQ(MethodLabel("/parity.polkadot.signer.RemoteKeystore/Nope"), "other");
  EXPECT_EQ(MethodLabel("/parity.polkadot.signer.SignerInfo/Describe"), "other");
  EXPECT_EQ(MethodLabel("garbage\n"), "other");
}

// With no signer reachable the node gets UNAVAILABLE naming why, and a method outside the
// keystore API is never forwarded.
TEST(ForwarderTest, NoEligibleSignerMeansUnavailableAndForeignMethodsAreRefused) {
  support::TempDir state;
  GatewayConfig config;
  config.state_dir = state.path().string();
  config.upstreams.push_back(UpstreamConfig{"down", "127.0.0.1:1", "", false, ""});
  auto pool = UpstreamPool::Create(config, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  (*pool)->CheckAll();
  EXPECT_TRUE((*pool)->Candidates().empty());
  EXPECT_EQ((*pool)->PoolHistory(), "")
      << "no history is adopted from a signer that never answered";
  KeyCache cache(std::chrono::milliseconds(1'000), 8);
  auto metrics = GatewayMetrics::Create(**pool);
  ASSERT_TRUE(metrics.ok());
  Forwarder forwarder(**pool, cache, **metrics, std::chrono::milliseconds(1'000));

  auto call = [&](const std::string& method) {
    std::promise<grpc::Status> answered;
    forwarder.Handle(
        method, "", std::chrono::system_clock::now() + std::chrono::seconds(5),
        [&](const grpc::Status& status, const std::string&) { answered.set_value(status); });
    return answered.get_future().get();
  };
  const grpc::Status sign = call(kSign);
  EXPECT_EQ(sign.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(sign.error_message().find("down: health check failed"), std::string::npos)
      << sign.error_message();
  EXPECT_EQ(call("/parity.polkadot.signer.SignerInfo/Describe").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  const std::string page = (*metrics)->registry.Render();
  EXPECT_NE(page.find("gateway_requests_total{method=\"SignWith\",code=\"UNAVAILABLE\"} 1"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("gateway_upstream_eligible{upstream=\"down\"} 0"), std::string::npos);
}

// On loopback TCP any certificate of listen.tls.client_ca gets through the handshake; with
// listen.tls.identities only the node's certificate may have its calls forwarded. Another
// certificate of the same CA (a deployment with one CA for everything) is refused before
// anything reaches a signer.
TEST(ForwarderTest, OnlyListedIdentitiesHaveTheirCallsForwarded) {
  support::TempDir dir("forwarder-callers");
  ASSERT_TRUE(support::MakeDevPki(dir.path(), {"node", "intruder"}).ok());
  GatewayConfig config;
  config.history_id = "kafka:c/claims";
  config.upstreams = {UpstreamConfig{"down", "127.0.0.1:1", "", false, ""}};
  auto pool = UpstreamPool::Create(config, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(pool.ok());
  KeyCache cache(std::chrono::milliseconds(0), 8);
  auto metrics = GatewayMetrics::Create(**pool);
  ASSERT_TRUE(metrics.ok());
  Forwarder forwarder(**pool, cache, **metrics, std::chrono::milliseconds(1'000), {}, {"node"});
  auto server_credentials =
      tls::ReloadableServerCredentials::Create(support::DevPkiServerFiles(dir.path()));
  ASSERT_TRUE(server_credentials.ok()) << server_credentials.status().message();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", (*server_credentials)->GrpcCredentials(), &port);
  builder.RegisterCallbackGenericService(&forwarder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server && port > 0);

  auto call_as = [&](const std::string& identity) {
    auto credentials = support::DevPkiClientCredentials(dir.path(), identity);
    EXPECT_TRUE(credentials.ok());
    grpc::ChannelArguments arguments;
    arguments.SetSslTargetNameOverride("localhost");
    grpc::GenericStub stub(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), *credentials, arguments));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice empty(std::string{});
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer reply;
    std::promise<grpc::Status> answered;
    stub.UnaryCall(&context, kSign, grpc::StubOptions(), &request, &reply,
                   [&](grpc::Status status) { answered.set_value(std::move(status)); });
    return answered.get_future().get();
  };
  // The node's call is forwarded (and finds no signer up); the intruder's never is.
  EXPECT_EQ(call_as("node").error_code(), grpc::StatusCode::UNAVAILABLE);
  const grpc::Status intruder = call_as("intruder");
  EXPECT_EQ(intruder.error_code(), grpc::StatusCode::PERMISSION_DENIED) << intruder.error_message();
  const std::string page = (*metrics)->registry.Render();
  EXPECT_NE(page.find("gateway_requests_total{method=\"SignWith\",code=\"UNAVAILABLE\"} 1"),
            std::string::npos)
      << page;
  server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace gateway
