// KeyAgent: one key agent's FROST shares, unused nonces, own protection, policy and audit; no gRPC.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "base/thread_annotations.h"
#include "keymgr/frost.h"
#include "keymgr/threshold.h"
#include "metrics/registry.h"
#include "signerd/pipeline_core.h"
#include "signerd/policy_file.h"
#include "slashing/clock.h"
#include "slashing/protector.h"

namespace signer {

// KeyAgentDeps are the backends; all must outlive the KeyAgent.
struct KeyAgentDeps {
  keymgr::FrostShareStore& custody;  // Pkcs11Custody in production
  slashing::Protector& protector;
  AuditSink& audit;
  slashing::Clock& clock;
  MetricsRegistry* metrics = nullptr;  // optional
};

struct KeyAgentOptions {
  // At most this many unused nonce pairs are held at once (all keys); Commit beyond it fails with
  // kResourceExhausted, so a coordinator cannot make the agent hold unbounded secret state.
  size_t max_unused_nonces = 4096;
  // An unused nonce pair is dropped this long after Commit made it: a coordinator that vanished
  // between the rounds leaves nothing behind for long.
  std::chrono::milliseconds nonce_lifetime = std::chrono::seconds(60);
  uint32_t max_commit_batch = 64;
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

  // ReplacePolicy swaps the policy for requests that start afterwards. Thread-safe.
  void ReplacePolicy(std::shared_ptr<const Policy> policy);
  // UnusedNonces is how many nonce pairs are outstanding (tests, metrics).
  size_t UnusedNonces() const;

 private:
  struct Held;
  struct Trace;
  struct Metrics;
  KeyAgent(KeyAgentDeps deps, std::shared_ptr<const Policy> policy, KeyAgentOptions options);
  template <typename T>
  Reply<T> Finish(Trace& trace, ReplyCode code, std::string message, T value = T{});
  std::shared_ptr<const Held> FindShare(const keymgr::KeyId& id) const;
  void DropExpiredNonces(std::chrono::steady_clock::time_point now) REQUIRES(nonce_mutex_);

  KeyAgentDeps deps_;
  const KeyAgentOptions options_;
  std::atomic<std::shared_ptr<const Policy>> policy_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex shares_mutex_;
  std::map<keymgr::KeyId, std::shared_ptr<const Held>> shares_;

  // The nonce table: each unused pair under (key, its 96-byte commitments), with its deadline.
  struct UnusedNonce {
    keymgr::frost::SigningNonces nonces;
    std::chrono::steady_clock::time_point expires;
  };
  using NonceKey = std::pair<keymgr::KeyId, std::array<uint8_t, keymgr::frost::kCommitmentsSize>>;
  mutable base::Mutex nonce_mutex_;
  std::map<NonceKey, UnusedNonce> nonces_ GUARDED_BY(nonce_mutex_);
};

}  // namespace signer
