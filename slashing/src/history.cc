// Genesis binding, pruning and summaries over a HistoryStore.
#include "slashing/history.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>

#include "base/hex.h"
#include "slashing/record.h"

namespace slashing {

base::Result<std::optional<base::Hash256>> ReadGenesis(HistoryStore& store) {
  SIGNER_ASSIGN_OR_RETURN(auto format, store.Get(MetaFormatKey()));
  SIGNER_ASSIGN_OR_RETURN(auto genesis, store.Get(MetaGenesisKey()));
  if (!format.has_value() && !genesis.has_value()) return std::optional<base::Hash256>();
  if (!format.has_value() || *format != std::string(1, static_cast<char>(kStoreFormatVersion))) {
    return base::Status::FailedPrecondition("history store has an unknown format version");
  }
  if (!genesis.has_value() || (genesis)->size() != 32) {
    return base::Status::Corruption("history store genesis hash is malformed");
  }
  base::Hash256 hash;
  std::copy((genesis)->begin(), (genesis)->end(), reinterpret_cast<char*>(hash.data()));
  return std::optional<base::Hash256>(hash);
}

base::Status BindGenesis(HistoryStore& store, const base::Hash256& genesis) {
  SIGNER_ASSIGN_OR_RETURN(auto bound, ReadGenesis(store));
  if (bound.has_value()) {
    if (*bound != genesis) {
      return base::Status::FailedPrecondition("history store belongs to another genesis hash");
    }
    return base::Status::Ok();
  }
  StoreBatch batch;
  batch.push_back({MetaFormatKey(), std::string(1, static_cast<char>(kStoreFormatVersion))});
  batch.push_back({MetaGenesisKey(), std::string(genesis.begin(), genesis.end())});
  return store.WriteSynced(batch);
}

base::Result<std::string> HistoryInstanceId(HistoryStore& store) {
  SIGNER_ASSIGN_OR_RETURN(std::optional<std::string> stored, store.Get(MetaInstanceKey()));
  if (stored.has_value()) {
    if (stored->size() != 32 ||
        stored->find_first_not_of("0123456789abcdef") != std::string::npos) {
      return base::Status::FailedPrecondition("history store has a malformed instance id");
    }
    return *stored;
  }
  std::array<uint8_t, 16> random{};
  randombytes_buf(random.data(), random.size());
  std::string id = base::HexEncode(random);
  StoreBatch batch;
  batch.push_back({MetaInstanceKey(), id});
  SIGNER_RETURN_IF_ERROR(store.WriteSynced(batch));
  return id;
}

base::Result<std::optional<Watermark>> ReadWatermark(HistoryStore& store,
                                                     std::span<const uint8_t> public_key,
                                                     Domain domain) {
  SIGNER_ASSIGN_OR_RETURN(auto stored, store.Get(EncodeWatermarkKey(public_key, domain)));
  if (!stored.has_value()) return std::optional<Watermark>();
  SIGNER_ASSIGN_OR_RETURN(auto decoded, DecodeWatermarkValue(*stored));
  return std::optional<Watermark>(decoded);
}

base::Result<PruneReport> PruneBelow(HistoryStore& store, Domain domain, const Watermark& below) {
  // Collect the keys with history in this domain and the records to delete.
  std::set<std::vector<uint8_t>> keys;
  std::vector<std::string> doomed;
  base::Status failure;
  base::Status scanned =
      store.Scan(std::string(1, kRecordKeyTag), [&](std::string_view key, std::string_view) {
        auto decoded = DecodeRecordKey(key);
        if (!decoded.ok()) {
          failure = decoded.status();
          return false;
        }
        if (decoded->domain != domain) return true;
        keys.insert(decoded->public_key);
        if (IsBelow(decoded->position, below)) doomed.emplace_back(key);
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!failure.ok()) return failure;
  scanned =
      store.Scan(std::string(1, kWatermarkKeyTag), [&](std::string_view key, std::string_view) {
        auto decoded = DecodeWatermarkKey(key);
        if (!decoded.ok()) {
          failure = decoded.status();
          return false;
        }
        if (decoded->domain == domain) keys.insert(decoded->public_key);
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!failure.ok()) return failure;

  PruneReport report;
  StoreBatch watermarks;
  for (const auto& public_key : keys) {
    SIGNER_ASSIGN_OR_RETURN(auto current, ReadWatermark(store, public_key, domain));
    if (current.has_value() && *current >= below) continue;
    watermarks.push_back({EncodeWatermarkKey(public_key, domain), EncodeWatermarkValue(below)});
    ++report.keys;
  }
  // Watermarks first and synced: only once they refuse the old positions may the records go.
  if (!watermarks.empty()) {
    base::Status written = store.WriteSynced(watermarks);
    if (!written.ok()) return written;
  }
  StoreBatch deletions;
  for (auto& key : doomed) deletions.push_back({std::move(key), std::nullopt});
  if (!deletions.empty()) {
    base::Status written = store.WriteSynced(deletions);
    if (!written.ok()) return written;
  }
  report.records_deleted = deletions.size();
  return report;
}

base::Result<HistorySummary> Summarize(HistoryStore& store) {
  HistorySummary summary;
  auto genesis = ReadGenesis(store);
  if (!genesis.ok()) return genesis.status();
  summary.genesis = *genesis;
  std::set<std::vector<uint8_t>> keys;
  base::Status failure;
  base::Status scanned = store.Scan("", [&](std::string_view key, std::string_view value) {
    if (!key.empty() && key[0] == kRecordKeyTag) {
      auto decoded_key = DecodeRecordKey(key);
      auto decoded = DecodeRecordValue(value);
      if (!decoded_key.ok() || !decoded.ok()) {
        failure = !decoded_key.ok() ? decoded_key.status() : decoded.status();
        return false;
      }
      keys.insert(decoded_key->public_key);
      ++summary.records[decoded_key->domain];
      if (decoded->conflicted()) ++summary.conflicted[decoded_key->domain];
      const uint64_t at = decoded->recorded_at_ms;
      summary.oldest_recorded_at_ms = std::min(summary.oldest_recorded_at_ms.value_or(at), at);
      summary.newest_recorded_at_ms = std::max(summary.newest_recorded_at_ms.value_or(at), at);
    } else if (!key.empty() && key[0] == kWatermarkKeyTag) {
      auto decoded_key = DecodeWatermarkKey(key);
      if (!decoded_key.ok() || !DecodeWatermarkValue(value).ok()) {
        failure = base::Status::Corruption("malformed watermark entry");
        return false;
      }
      keys.insert(decoded_key->public_key);
      ++summary.watermarks[decoded_key->domain];
    } else if (key.empty() || key[0] != kMetaKeyTag) {
      failure = base::Status::Corruption("unknown key kind in history store");
      return false;
    }
    return true;
  });
  if (!scanned.ok()) return scanned;
  if (!failure.ok()) return failure;
  summary.public_keys = keys.size();
  return summary;
}

}  // namespace slashing
