// ThresholdCustody: keys held as FROST shares by key agents, signed for as a coordinator, beside
// another custody's keys.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "keymgr/custody.h"
#include "keymgr/frost.h"
#include "signer/config.h"

namespace signer {

// AgentStats counts, per agent, what the coordinator saw (metrics and tests).
struct AgentStats {
  std::string name;
  uint64_t shares = 0;          // valid signature shares received
  uint64_t invalid_shares = 0;  // shares that failed FROST's per-share verification
  uint64_t refusals = 0;        // the agent's own protection refused
  uint64_t failures = 0;        // unreachable, timed out, or answered with an error
};

// ThresholdCustody implements KeyCustody for a threshold coordinator. Keys the agents hold as
// shares are listed, held and signed for here; every other call goes to `inner`, the HSM custody.
// The shares are learnt with ListShares: at Open; in the background, once a second, from every
// agent that did not answer its last listing (so an agent down at start becomes a holder once it
// is back); and, at most once a second, for a request that finds too few usable holders or a key
// that is not known. An agent that stops answering keeps its last listing: it stays a holder.
//
// Signing a threshold key (docs/threshold.md): round one asks every agent holding the key for a
// commitment at once and takes the first t answers; round two sends the payload, its preimage and
// the commitment list to those t; each agent decides with its own history before it returns a
// share. The shares are aggregated and the signature verified against the group key before it is
// returned. An agent whose share does not verify is named, counted and left out, and the attempt
// is repeated with the others while t remain. An agent's refusal is never worked around by asking
// a different set for the same payload: refusals are final (kFailedPrecondition). Fewer than t
// reachable agents: kUnavailable, and no signature.
//
// A key's public package is the one its agents report. When they disagree, it is the one a strict
// majority of them report, provided at least t of those agree on it with distinct identifiers the
// package lists; otherwise the key is not used (logged at each listing). An agent reporting another
// package, or an identifier the package does not list, is left out of the key and named in a
// warning; two agents claiming one identifier are never in the same signing set. Keys with
// t <= n/2 are not used either. Thread-safe.
class ThresholdCustody final : public keymgr::KeyCustody {
 public:
  // Open connects to the agents of `config` with its client certificate and lists their shares.
  // Agents that cannot be reached are listed again in the background until they answer; Open
  // fails only on bad TLS files.
  static base::Result<std::unique_ptr<ThresholdCustody>> Open(keymgr::KeyCustody& inner,
                                                              const ThresholdConfig& config);
  ~ThresholdCustody() override;
  ThresholdCustody(const ThresholdCustody&) = delete;
  ThresholdCustody& operator=(const ThresholdCustody&) = delete;

  base::Result<std::vector<keymgr::KeyInfo>> List() override;
  base::Result<keymgr::KeyInfo> Generate(const base::KeyTypeId& key_type,
                                         base::Scheme scheme) override;
  base::Result<keymgr::KeyInfo> Import(const base::KeyTypeId& key_type,
                                       const keymgr::Keypair& pair) override;
  base::Status Delete(const keymgr::KeyId& id) override;
  base::Result<bool> Holds(const keymgr::KeyId& id) override;
  base::Result<std::vector<uint8_t>> Sign(const keymgr::KeyId& id, base::Scheme scheme,
                                          std::span<const uint8_t> message) override;
  base::Result<std::vector<uint8_t>> SignBound(
      const keymgr::KeyId& id, base::Scheme scheme, std::span<const uint8_t> message,
      std::optional<std::span<const uint8_t>> preimage) override;
  base::Result<keymgr::EcdsaSignature> EcdsaSignPrehashed(const keymgr::KeyId& id,
                                                          std::span<const uint8_t> digest) override;
  base::Result<keymgr::Sr25519VrfSignature> VrfSign(
      const keymgr::KeyId& id, const keymgr::VrfTranscriptData& input,
      const std::optional<keymgr::VrfTranscriptData>& extra) override;
  base::Result<keymgr::Sr25519VrfPreOutput> VrfPreOutput(
      const keymgr::KeyId& id, const keymgr::VrfTranscriptData& input) override;

  // Refresh lists every agent's shares again now. Fails with kUnavailable, changing nothing, only
  // if no agent answered.
  base::Status Refresh();
  // ThresholdKeys describes the usable threshold keys: id, t, n (for `signerctl` and logs).
  struct KeySummary {
    keymgr::KeyId id;
    uint16_t min_signers = 0;
    uint16_t max_signers = 0;
    std::vector<std::string> agents;  // names of the agents holding a share
  };
  std::vector<KeySummary> ThresholdKeys() const;
  std::vector<AgentStats> Stats() const;

 private:
  struct Impl;
  explicit ThresholdCustody(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace signer
