// One synced write per request, standalone: a decision is written unsynced and becomes durable in
// its audit line's commit group, before the line is written and before the signature leaves.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/hex.h"
#include "keymgr/keypair.h"
#include "signerd/pipeline_core.h"
#include "signerd/replication.h"
#include "slashing/history_admin.h"
#include "slashing/protector.h"
#include "support/fake_clock.h"
#include "support/in_memory_custody.h"
#include "support/rocksdb_faults.h"
#include "support/temp_dir.h"
#include "support/well_known_keys.h"
#include "test_payloads.h"

namespace signer {
namespace {

using base::Scheme;

// StandaloneSigner is signerd's standalone wiring (signer_daemon.cc) over a real RocksDB history
// whose files count unsynced write-ahead log bytes, a real audit log and an in-memory custody.
class StandaloneSigner {
 public:
  // `install_barrier` false leaves out the daemon's SetGroupBarrier call: the control that shows
  // what the barrier is for.
  StandaloneSigner(const support::TempDir& dir, bool install_barrier) {
    slashing::RocksDbStoreOptions options;
    options.file_system = slashing::FaultyFileSystem(faults);
    auto store =
        slashing::OpenHistory(dir.Path("history"), slashing::testing::FilledHash(0x11), options);
    EXPECT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    auto replication = Replication::Open(SignerConfig{}, *store_);
    EXPECT_TRUE(replication.ok()) << replication.status().message();
    replication_ = std::move(*replication);
    auto audit = AuditLog::Open(dir.Path("audit.jsonl"));
    EXPECT_TRUE(audit.ok()) << audit.status().message();
    audit_ = std::move(*audit);
    replication_->DeferHistorySyncs();
    if (install_barrier) {
      audit_->SetGroupBarrier([this] {
        unsynced_before_barrier.push_back(faults->unsynced_wal_bytes());
        base::Status status = store_->SyncWrites();
        unsynced_after_barrier.push_back(faults->unsynced_wal_bytes());
        return status;
      });
    }
    protector_ = std::make_unique<slashing::Protector>(replication_->history_log(), clock_,
                                                       slashing::ProtectionPolicy{});
    auto pair = keymgr::KeypairFromSuri(Scheme::kEd25519, "//Alice");
    EXPECT_TRUE(pair.ok() && custody_.Import(*base::MakeKeyTypeId("gran"), *pair).ok());
    auto policy = Policy::Parse(std::string(R"(
identities:
  validator-alice:
    - key_types: [gran]
      operations: [sign]
      public_keys: [")") + std::string(support::kAliceEd25519.hex()) +
                                "\"]\n");
    EXPECT_TRUE(policy.ok()) << policy.status().message();
    policy_ = std::make_unique<Policy>(std::move(*policy));
    pipeline_ =
        std::make_unique<Pipeline>(PipelineDeps{custody_, *protector_, *policy_, *audit_, clock_});
  }

  Reply<std::vector<uint8_t>> SignPrevote(uint64_t round, uint8_t target) {
    const std::vector<uint8_t> key = support::kAliceEd25519.Bytes();
    const std::vector<uint8_t> vote =
        slashing::testing::GrandpaMessage(0, slashing::testing::FilledHash(target), 1, round, 1);
    SignInput input;
    input.key_type = "gran";
    input.scheme = Scheme::kEd25519;
    input.public_key = key;
    input.message = vote;
    return pipeline_->SignWith(CallContext{"validator-alice", "SignWith"}, input);
  }

  std::shared_ptr<slashing::FaultInjector> faults = std::make_shared<slashing::FaultInjector>();
  std::vector<uint64_t> unsynced_before_barrier, unsynced_after_barrier;

 private:
  std::unique_ptr<slashing::RocksDbStore> store_;
  std::unique_ptr<Replication> replication_;
  std::unique_ptr<AuditLog> audit_;
  slashing::FakeClock clock_{support::kTestClockStartMs};
  keymgr::InMemoryCustody custody_;
  std::unique_ptr<slashing::Protector> protector_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST(OneSyncPerRequestTest, TheDecisionIsSyncedInItsAuditGroupBeforeTheLineAndTheReply) {
  support::TempDir dir;
  StandaloneSigner signer(dir, /*install_barrier=*/true);
  for (uint64_t round = 1; round <= 3; ++round) {
    const auto reply = signer.SignPrevote(round, 0xaa);
    ASSERT_EQ(reply.code, ReplyCode::kOk) << reply.message;
    // The decision reached the write-ahead log unsynced; the barrier synced it before the line.
    ASSERT_EQ(signer.unsynced_before_barrier.size(), round);
    EXPECT_GT(signer.unsynced_before_barrier.back(), 0u) << "the decision was synced on its own";
    EXPECT_EQ(signer.unsynced_after_barrier.back(), 0u);
    EXPECT_EQ(signer.faults->unsynced_wal_bytes(), 0u);
  }
  // Binding before durable changes nothing for the rules: the conflicting vote is refused.
  EXPECT_EQ(signer.SignPrevote(2, 0xbb).code, ReplyCode::kRefused);
  const auto verified = VerifyAuditFile(dir.Path("audit.jsonl"));
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok);
  EXPECT_EQ(verified->lines, 4u);
}

// The control: with deferred decisions and no barrier, a signature would leave while its decision
// could still be lost to a power cut. This is what the test above would see if signerd did not
// install the barrier.
TEST(OneSyncPerRequestTest, WithoutTheBarrierADecisionWouldNotBeDurableAtTheReply) {
  support::TempDir dir;
  StandaloneSigner signer(dir, /*install_barrier=*/false);
  ASSERT_EQ(signer.SignPrevote(1, 0xaa).code, ReplyCode::kOk);
  EXPECT_GT(signer.faults->unsynced_wal_bytes(), 0u);
}

TEST(OneSyncPerRequestTest, AFailedHistorySyncWithholdsTheSignatureAndStopsSigning) {
  support::TempDir dir;
  StandaloneSigner signer(dir, /*install_barrier=*/true);
  ASSERT_EQ(signer.SignPrevote(1, 0xaa).code, ReplyCode::kOk);
  signer.faults->FailSyncs(true);
  const auto failed = signer.SignPrevote(2, 0xaa);
  EXPECT_EQ(failed.code, ReplyCode::kUnavailable);
  EXPECT_TRUE(failed.value.empty());
  // Fail closed until an operator restarts it: the disk misbehaved once.
  signer.faults->FailSyncs(false);
  const auto later = signer.SignPrevote(3, 0xaa);
  EXPECT_EQ(later.code, ReplyCode::kUnavailable);
  EXPECT_TRUE(later.value.empty());
  // No line claims the signature that was withheld; the chain still verifies.
  const auto verified = VerifyAuditFile(dir.Path("audit.jsonl"));
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok);
  EXPECT_EQ(verified->lines, 1u);
}

}  // namespace
}  // namespace signer
