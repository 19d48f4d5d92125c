// SignerDaemon: signerd as one object with build, listen, serve, reload and shutdown steps.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/status.h"
#include "signer/config.h"

namespace signer {

// SignerDaemon owns everything a running signerd holds: custody, history, replication, policy,
// audit log, credentials, the pipeline, the gRPC server and the metrics listener. main() only reads
// arguments and signals and calls these steps. Not thread-safe: one thread drives it (Reload and
// Shutdown from the signal loop); the server's own threads run inside.
class SignerDaemon {
 public:
  // Build opens the HSM token (and lists it once, so a wrong PIN or missing token stops startup
  // here), the history (its directory lock makes a second signer on it fail here), replication,
  // the policy, the audit log and the TLS credentials, and wires the request pipeline. Nothing
  // listens yet. Fails with the first step's status, its message naming the step.
  static base::Result<std::unique_ptr<SignerDaemon>> Build(SignerConfig config);
  ~SignerDaemon();
  SignerDaemon(const SignerDaemon&) = delete;
  SignerDaemon& operator=(const SignerDaemon&) = delete;

  // Listen binds the gRPC listener (health NOT_SERVING) and, when configured, the metrics
  // listener, before the history has caught up, so lag can be watched during a catch-up. Fails
  // when a listener cannot bind.
  base::Status Listen();
  // port is the gRPC port Listen bound (0 before).
  int port() const;
  // listen_host is the host part of server.listen, for the "listening on" line.
  std::string listen_host() const;
  // metrics_address is "host:port" of the metrics listener, empty when there is none.
  std::string metrics_address() const;
  // catch_up_warning_after is how long a catch-up may take before it is reported as late.
  std::chrono::milliseconds catch_up_warning_after() const;

  // WaitForHistory waits at most `timeout` for the history to catch up with the claims topic
  // (standalone: at once). kUnavailable when it is not there yet (call again); any other failure
  // cannot be fixed by retrying.
  base::Status WaitForHistory(std::chrono::milliseconds timeout);
  // StartServing sets health to SERVING: from now on sign requests are decided.
  void StartServing();

  // Reload re-reads the TLS credentials and the policy file. Each keeps its current version when
  // the new one does not load, and says so in the log; neither failure stops the daemon.
  void Reload();

  // Shutdown stops accepting requests, lets those in flight finish for up to `grace`, and closes
  // the listeners. The object may be destroyed afterwards.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  struct Parts;
  explicit SignerDaemon(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace signer
