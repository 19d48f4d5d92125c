// UplinkClient: signerd dials out to its gateway and serves RemoteKeystore calls over that stream.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "remote_keystore.pb.h"
#include "signer_uplink.pb.h"
#include "signerd/service_grpc.h"

namespace signer {

// UplinkOptions say where the gateway is and how the stream is kept.
struct UplinkOptions {
  std::string gateway;      // HOST:PORT of the gateway's uplink listener
  std::string server_name;  // the name the gateway's server certificate must carry
  // This signer's client certificate and the CA the gateway's certificate must chain to.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // A keepalive ping every `keepalive`; a ping unanswered for as long ends the stream, so a link
  // that went away silently is noticed and the signer dials again.
  std::chrono::milliseconds keepalive{10'000};
  // Reconnect delays: the first after a failure is about min_backoff, each next one doubles up to
  // max_backoff, each drawn at random between half and all of that (so signers that lost one
  // gateway do not all dial back at the same instant). A stream that was accepted resets it.
  std::chrono::milliseconds min_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};
  size_t max_calls_in_flight = 1024;  // per stream; more get RESOURCE_EXHAUSTED replies
  // How often the status (health and history) is re-read and sent when it changed: a replicated
  // signer's history identity needs its brokers, and one it could not read at connect time must
  // reach the gateway once it can.
  std::chrono::milliseconds status_interval{1'000};
};

// UplinkClient keeps one SignerUplink.Attach stream open to the gateway, on a thread of its own,
// and dials again with backoff whenever it ends. It first sends a status frame (health and
// `describe`'s history; sent again whenever either changes), then hands each call frame to
// `service.CallSerialized` (the same admission, pipeline and audit as the listener's calls; several
// in flight at once) and sends back each reply. The caller identity of every call is the identity
// of the gateway's server certificate as this stream's TLS handshake verified it (CA and server
// name), never anything the gateway sends. Frames that make no sense (an unknown method, a call id
// already in flight, a frame of no kind) get an error reply or end the stream; they never reach a
// key. Thread-safe; `service` must outlive the client.
class UplinkClient {
 public:
  using Describe = std::function<base::Result<parity::polkadot::signer::DescribeReply>()>;

  UplinkClient(UplinkOptions options, KeystoreService& service, Describe describe);
  // The destructor ends the stream and joins the thread. Calls still deciding finish on the worker
  // pool; their replies are dropped.
  ~UplinkClient();
  UplinkClient(const UplinkClient&) = delete;
  UplinkClient& operator=(const UplinkClient&) = delete;

  // SetServing records the signer's health and sends it to the gateway on the current stream (and
  // on every later one, as its first frame).
  void SetServing(bool serving);
  // connected is true while a stream is accepted by the gateway.
  bool connected() const { return connected_.load(); }
  // connects counts streams the gateway accepted; dials counts attempts.
  uint64_t connects() const { return connects_.load(); }
  uint64_t dials() const { return dials_.load(); }

  struct Session;  // one stream; defined in the implementation

 private:
  void Run();
  // RunSession dials once and serves the stream until it ends; true when the gateway accepted it.
  bool RunSession();
  std::chrono::milliseconds NextBackoff(std::chrono::milliseconds& backoff);
  parity::polkadot::signer::UplinkFromSigner StatusFrame();
  // RefreshStatus re-sends the status when it changed, every status_interval, until stopped.
  void RefreshStatus();
  // WaitForStop waits `delay`, or less if the client is being destroyed; true when it is.
  bool WaitForStop(std::chrono::milliseconds delay) EXCLUDES(mutex_);
  std::shared_ptr<Session> CurrentSession() EXCLUDES(mutex_);

  const UplinkOptions options_;
  KeystoreService& service_;
  const Describe describe_;
  std::atomic<bool> serving_{false};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> dials_{0};
  std::mt19937_64 random_;  // only the client's thread draws from it

  base::Mutex mutex_;
  base::CondVar wake_;
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::shared_ptr<Session> current_ GUARDED_BY(mutex_);
  std::thread thread_;
  std::thread status_thread_;
};

}  // namespace signer
