// Signers that dial in: the gateway's SignerUplink listener and each such signer's place in the
// pool.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/thread_annotations.h"
#include "remote_keystore.pb.h"
#include "signer_uplink.grpc.pb.h"

namespace gateway {

class UplinkStream;

// DialInCall is the handle of one call sent over an uplink, so a leg that is no longer wanted
// (the other leg of a hedge answered) can cancel it. Thread-safe.
class DialInCall {
 public:
  // Cancel tells the signer the answer is no longer wanted; the call's `done` runs with CANCELLED
  // unless it ran already. A no-op after `done`.
  void Cancel();

 private:
  friend class DialIn;
  base::Mutex mutex_;
  std::weak_ptr<UplinkStream> stream_ GUARDED_BY(mutex_);
  uint64_t call_id_ GUARDED_BY(mutex_) = 0;
};

// DialInStatus is what the pool reads of a dial-in signer: whether a stream is attached and what
// its last status frame said.
struct DialInStatus {
  bool connected = false;
  bool serving = false;
  parity::polkadot::signer::DescribeReply signer;
};

// DialIn is one configured signer that dials in (`dial_in: true` in the pool): the stream it is
// attached by, when it is. A newer stream from the same certificate identity replaces an older one
// (a signer that redials after its link broke is not locked out until the old stream times out);
// the calls of the replaced stream end UNAVAILABLE, as on any lost connection, and the forwarder
// moves them on within the pool's history. Thread-safe.
class DialIn {
 public:
  DialIn(std::string name, std::string identity)
      : name_(std::move(name)), identity_(std::move(identity)) {}

  const std::string& name() const { return name_; }
  const std::string& identity() const { return identity_; }

  using Done = std::function<void(const grpc::Status& status, std::string reply)>;
  // Call sends `method` with `request` over the attached stream and runs `done` once with the
  // signer's answer, DEADLINE_EXCEEDED at `deadline` (the signer is told to drop it), or
  // UNAVAILABLE when no stream is attached or it ends first. `handle` (may be null) can cancel it.
  // `done` may run before Call returns, and on any thread.
  void Call(const std::string& method, std::string request,
            std::chrono::system_clock::time_point deadline,
            const std::shared_ptr<DialInCall>& handle, Done done);
  DialInStatus Status();

  // Attach makes `stream` the current one, ending the one it replaces. Detach forgets `stream`
  // if it is still the current one.
  void Attach(const std::shared_ptr<UplinkStream>& stream);
  void Detach(const UplinkStream* stream);
  // Disconnect ends the attached stream, if any, failing its calls UNAVAILABLE with `why`.
  void Disconnect(const std::string& why);

 private:
  const std::string name_;
  const std::string identity_;
  base::Mutex mutex_;
  std::shared_ptr<UplinkStream> stream_ GUARDED_BY(mutex_);
};

// UplinkOptions bound what an uplink listener accepts.
struct UplinkServiceOptions {
  // Which dial-in signer a verified client certificate identity is; nullptr: none (refused).
  std::function<std::shared_ptr<DialIn>(const std::string& identity)> find;
  // Called whenever a dial-in signer's status or connection changes (the pool re-checks then).
  std::function<void()> changed;
};

// UplinkService serves SignerUplink.Attach on the gateway's uplink listener (mutual TLS, the
// client CA of `uplink_tls`). A stream is accepted only from a client certificate whose identity
// is a configured dial-in signer; anything else ends with PERMISSION_DENIED before a call is
// sent. The signer's first frame must be a status; replies for calls not in flight are dropped
// and logged; a frame of no known kind ends the stream. Thread-safe.
class UplinkService final : public parity::polkadot::signer::SignerUplink::CallbackService {
 public:
  explicit UplinkService(UplinkServiceOptions options) : options_(std::move(options)) {}

  grpc::ServerBidiReactor<parity::polkadot::signer::UplinkFromSigner,
                          parity::polkadot::signer::UplinkToSigner>*
  Attach(grpc::CallbackServerContext* context) override;

 private:
  const UplinkServiceOptions options_;
};

}  // namespace gateway
