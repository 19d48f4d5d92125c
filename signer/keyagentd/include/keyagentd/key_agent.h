// KeyAgent: one agent's FROST shares, nonces, DKG sessions, protection, policy and audit; no gRPC.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "keymgr/frost.h"
#include "keymgr/threshold.h"
#include "metrics/registry.h"
#include "signerd/pipeline_core.h"
#include "signerd/policy_file.h"
#include "slashing/clock.h"
#include "slashing/protector.h"

namespace signer {

// DkgDelivery borrows one round-two share on its way to the peer it is for.
struct DkgDelivery {
  std::span<const uint8_t> session_id;
  std::span<const uint8_t> share;      // an encoded frost::DkgShare (secret)
  std::span<const uint8_t> view_hash;  // the sender's round-one view hash, 32 bytes
};

// DkgPeers is how an agent reaches the other agents of a distributed key generation: the peers its
// own configuration lists (keyagentd: its threshold section, over mTLS with the agent's own client
// certificate). Implementations must be thread-safe.
class DkgPeers {
 public:
  virtual ~DkgPeers() = default;
  // Knows is true when `name` is one of the configured peers.
  virtual bool Knows(std::string_view name) const = 0;
  // Deliver hands `delivery` to peer `name` (its DkgDeliver). Fails with kNotFound for a name that
  // is not a peer, kUnavailable when the peer cannot be reached in time, and kFailedPrecondition,
  // quoting the peer, when the peer refused the share.
  virtual base::Status Deliver(std::string_view name, const DkgDelivery& delivery) = 0;
};

// KeyAgentDeps are the backends; all must outlive the KeyAgent.
struct KeyAgentDeps {
  keymgr::FrostShareStore& custody;  // Pkcs11Custody in production
  slashing::Protector& protector;
  AuditSink& audit;
  slashing::Clock& clock;
  MetricsRegistry* metrics = nullptr;  // optional
  // The peers for distributed key generation; nullptr means none are configured, and every DKG
  // method then fails with kRefused ("no peers configured").
  DkgPeers* peers = nullptr;
};

struct KeyAgentOptions {
  // At most this many unused nonce pairs are held at once (all keys); Commit beyond it fails with
  // kResourceExhausted, so a coordinator cannot make the agent hold unbounded secret state.
  size_t max_unused_nonces = 4096;
  // An unused nonce pair is dropped this long after Commit made it: a coordinator that vanished
  // between the rounds leaves nothing behind for long.
  std::chrono::milliseconds nonce_lifetime = std::chrono::seconds(60);
  uint32_t max_commit_batch = 64;
  // The agent's own participant name in a DKG (keyagentd: its configuration's signer_id, which is
  // also its client certificate's identity, so its peers can tell its deliveries from others').
  std::string name;
  // At most this many DKG sessions are open at once; DkgRound1 beyond it fails with
  // kResourceExhausted, so nobody can make the agent hold unbounded secret polynomials.
  size_t max_dkg_sessions = 8;
  // A DKG session not finished this long after DkgRound1 is dropped with its secrets.
  std::chrono::milliseconds dkg_session_lifetime = std::chrono::minutes(5);
};

// DkgParticipant is one participant of a DKG run as the coordinator lists it.
struct DkgParticipant {
  uint32_t identifier = 0;
  std::string name;
};

// DkgOpenInput borrows one DkgRound1 request's fields; they must outlive the call.
struct DkgOpenInput {
  std::span<const uint8_t> session_id;
  std::string_view key_type;
  uint32_t min_signers = 0;
  std::span<const DkgParticipant> participants;
};

// ShareSummary is the public description of one held share.
struct ShareSummary {
  keymgr::KeyId id;
  uint16_t identifier = 0;
  std::vector<uint8_t> public_package;
  int64_t created_at_unix = 0;
  bool generated = false;
};

// AgentSignInput borrows one SignShare request's bytes; they must outlive the call.
struct AgentSignInput {
  std::string_view key_type;
  std::span<const uint8_t> group_public_key;
  std::span<const uint8_t> message;
  std::optional<std::span<const uint8_t>> preimage;
  std::span<const uint8_t> commitment_list;
};

// KeyAgent answers a coordinator. SignShare runs in a fixed order and fails closed: authorize,
// take the nonce pair behind the agent's own commitment out of the table (so it can never serve
// two requests), decide durably with the agent's own history, sign the share, audit, reply. Nonces
// live only in memory, so a crash burns every outstanding one: "unusable before the share leaves"
// holds across restarts by construction. Thread-safe.
class KeyAgent {
 public:
  // Create loads every share from custody. Fails as Pkcs11Custody::LoadFrostShares does.
  static base::Result<std::unique_ptr<KeyAgent>> Create(KeyAgentDeps deps,
                                                        std::shared_ptr<const Policy> policy,
                                                        KeyAgentOptions options = {});
  ~KeyAgent();
  KeyAgent(const KeyAgent&) = delete;
  KeyAgent& operator=(const KeyAgent&) = delete;

  // Commit draws `count` nonce pairs (0 means 1) for the key and returns their commitments.
  Reply<std::vector<keymgr::frost::SigningCommitments>> Commit(
      const CallContext& context, std::string_view key_type,
      std::span<const uint8_t> group_public_key, uint32_t count);
  // SignShare: round two (see the class comment).
  Reply<keymgr::frost::SignatureShare> SignShare(const CallContext& context,
                                                 const AgentSignInput& input);
  // ImportShare checks a dealer's share against its VSS commitment and the public package, stores
  // it wrapped in custody and makes it usable; returns the share's verifying share.
  Reply<keymgr::frost::Element> ImportShare(const CallContext& context, std::string_view key_type,
                                            keymgr::frost::SecretShare share,
                                            std::span<const uint8_t> public_package);
  // ListShares lists the shares the caller may list (policy `list` on the key type).
  Reply<std::vector<ShareSummary>> ListShares(const CallContext& context);

  // Distributed key generation (docs/threshold.md, "Distributed key generation between the
  // agents"). A session is owned by the identity that opened it; only that identity may run its
  // later steps. A step of the owner's that fails drops the session and wipes its secrets (a
  // refused delivery from a peer drops it only when the two agents' round-one views differ, so a
  // stray caller cannot end a run). Every step is audited under operation `generate`.
  //
  // DkgRound1 opens session `input.session_id`: it checks the key type, t-of-n, that the agent's
  // own name is listed exactly once (which gives its identifier), that every other name is a peer
  // and that the identifiers are exactly 1..n; draws the agent's polynomial; returns its encoded
  // round-one package.
  Reply<std::vector<uint8_t>> DkgRound1(const CallContext& context, const DkgOpenInput& input);
  // DkgRound2 takes every participant's encoded round-one package (the agent's own must be the one
  // it made), verifies the proofs, fixes the agent's round-one view hash and delivers each peer's
  // share to that peer through DkgPeers. Succeeds only once every peer accepted its share.
  Reply<bool> DkgRound2(const CallContext& context, std::span<const uint8_t> session_id,
                        std::span<const std::span<const uint8_t>> round1_packages);
  // DkgDeliver accepts one share from a peer: the caller's identity must be the name of the share's
  // sender in the session, the share must be for this agent and arrive once, and `view_hash` must
  // equal this agent's view hash (checked at once, or in DkgRound2 when the share arrives first).
  // A view that differs drops the session.
  Reply<bool> DkgDeliver(const CallContext& context, std::span<const uint8_t> session_id,
                         std::span<const uint8_t> share, std::span<const uint8_t> view_hash);
  // DkgFinalize needs every peer's share: it checks each against its sender's commitment, stores
  // the agent's share in custody (marked generated), makes it usable, ends the session and returns
  // the group's serialized public package.
  Reply<std::vector<uint8_t>> DkgFinalize(const CallContext& context,
                                          std::span<const uint8_t> session_id);
  // DkgAbort ends the session and wipes its secrets.
  Reply<bool> DkgAbort(const CallContext& context, std::span<const uint8_t> session_id);

  // ReplacePolicy swaps the policy for requests that start afterwards. Thread-safe.
  void ReplacePolicy(std::shared_ptr<const Policy> policy);
  // UnusedNonces is how many nonce pairs are outstanding (tests, metrics); it drops the expired
  // ones first, so it never counts them.
  size_t UnusedNonces();
  // DropExpired drops the nonce pairs and DKG sessions past their lifetime, wiping their secrets.
  // Requests drop them too, but only when they come: keyagentd calls this every second, so no
  // secret outlives its lifetime by more than that.
  void DropExpired();

 private:
  struct Held;
  using Trace = RequestTrace;
  struct Metrics;
  struct DkgSession;
  using DkgSessionId = std::array<uint8_t, 16>;
  KeyAgent(KeyAgentDeps deps, std::shared_ptr<const Policy> policy, KeyAgentOptions options);
  template <typename T>
  Reply<T> Finish(Trace& trace, ReplyCode code, std::string message, T value = T{});
  std::shared_ptr<const Held> FindShare(const keymgr::KeyId& id) const EXCLUDES(shares_mutex_);
  void DropExpiredNonces(std::chrono::steady_clock::time_point now) REQUIRES(nonce_mutex_);

  KeyAgentDeps deps_;
  const KeyAgentOptions options_;
  std::atomic<std::shared_ptr<const Policy>> policy_;
  std::unique_ptr<Metrics> metrics_;

  mutable base::Mutex shares_mutex_;
  std::map<keymgr::KeyId, std::shared_ptr<const Held>> shares_ GUARDED_BY(shares_mutex_);

  // The nonce table: each unused pair under (key, its 96-byte commitments), with its deadline.
  struct UnusedNonce {
    keymgr::frost::SigningNonces nonces;
    std::chrono::steady_clock::time_point expires;
  };
  using NonceKey = std::pair<keymgr::KeyId, std::array<uint8_t, keymgr::frost::kCommitmentsSize>>;
  mutable base::Mutex nonce_mutex_;
  std::map<NonceKey, UnusedNonce> nonces_ GUARDED_BY(nonce_mutex_);

  // Open DKG sessions. The mutex is never held across a call to a peer: two agents delivering to
  // each other at once must not wait on each other's lock.
  void DropExpiredDkgSessions(std::chrono::steady_clock::time_point now) REQUIRES(dkg_mutex_);
  mutable base::Mutex dkg_mutex_;
  std::map<DkgSessionId, std::unique_ptr<DkgSession>> dkg_sessions_ GUARDED_BY(dkg_mutex_);
};

}  // namespace signer
