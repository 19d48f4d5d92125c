// The pool's append-only history: time-ordered keys in day buckets on a synced store.
#include "rpc_pool/pool_history.h"

#include <algorithm>
#include <utility>

#include "base/json_depth.h"

namespace rpc_pool {
namespace {

using base::Result;
using base::Status;
using slashing::StoreBatch;

constexpr uint64_t kDayMs = uint64_t{24} * 3600 * 1000;
constexpr char kRecordPrefix = 'h';
constexpr size_t kRecordKeySize = 1 + 4 + 8 + 8;
// The metadata key: the next sequence number and the newest at_ms so far (8 bytes each, big
// endian), written in the same batch as the records.
const std::string kMetaKey = "m/next";
// Prune deletes in batches of this many keys, so one synced write stays small.
constexpr size_t kPruneBatch = 4096;
constexpr int kMaxJsonDepth = 16;

void AppendBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t ReadBigEndian(std::string_view in) {
  uint64_t value = 0;
  for (char c : in) value = (value << 8) | static_cast<uint8_t>(c);
  return value;
}

// DayPrefix is the key prefix of one day's records: readers seek to a day, pruning starts at
// the oldest.
std::string DayPrefix(uint64_t day) {
  std::string prefix(1, kRecordPrefix);
  AppendBigEndian(prefix, day, 4);
  return prefix;
}

std::string RecordKey(uint64_t at_ms, uint64_t sequence) {
  std::string key = DayPrefix(at_ms / kDayMs);
  AppendBigEndian(key, at_ms, 8);
  AppendBigEndian(key, sequence, 8);
  return key;
}

std::optional<HistoryKind> KindFromName(std::string_view name) {
  for (HistoryKind kind :
       {HistoryKind::kHeartbeat, HistoryKind::kEvent, HistoryKind::kPoints, HistoryKind::kPayout}) {
    if (HistoryKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

Result<HistoryRecord> DecodeRecord(std::string_view key, std::string_view value) {
  if (key.size() != kRecordKeySize) return Status::Corruption("history key of a wrong size");
  HistoryRecord record;
  record.at_ms = ReadBigEndian(key.substr(5, 8));
  record.sequence = ReadBigEndian(key.substr(13, 8));
  if (ReadBigEndian(key.substr(1, 4)) != record.at_ms / kDayMs) {
    return Status::Corruption("history key in the wrong day");
  }
  if (!base::JsonNestingWithin(value, kMaxJsonDepth)) {
    return Status::Corruption("history record nests too deep");
  }
  nlohmann::json body = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object() || body.size() != 3 || !body.contains("kind") ||
      !body["kind"].is_string() || !body.contains("node") || !body["node"].is_string() ||
      !body.contains("data") || !body["data"].is_object()) {
    return Status::Corruption("history record does not decode");
  }
  const std::optional<HistoryKind> kind = KindFromName(body["kind"].get<std::string>());
  if (!kind) return Status::Corruption("history record of an unknown kind");
  record.kind = *kind;
  record.node_id = body["node"].get<std::string>();
  if (!record.node_id.empty() && !IsValidNodeId(record.node_id)) {
    return Status::Corruption("history record with a bad node ID");
  }
  record.data = std::move(body["data"]);
  return record;
}

bool Selected(const HistoryQuery& query, const HistoryRecord& record) {
  return record.at_ms >= query.from_ms && record.at_ms <= query.to_ms &&
         (!query.kind || *query.kind == record.kind) &&
         (!query.node_id || *query.node_id == record.node_id);
}

}  // namespace

std::string_view HistoryKindName(HistoryKind kind) {
  switch (kind) {
    case HistoryKind::kHeartbeat:
      return "heartbeat";
    case HistoryKind::kEvent:
      return "event";
    case HistoryKind::kPoints:
      return "points";
    case HistoryKind::kPayout:
      return "payout";
  }
  return "unknown";
}

HistoryRecord MakeHeartbeatRecord(uint64_t at_ms, const Heartbeat& heartbeat) {
  return {.at_ms = at_ms,
          .sequence = 0,
          .kind = HistoryKind::kHeartbeat,
          .node_id = heartbeat.node_id,
          .data = {{"best", heartbeat.best_block},
                   {"finalized", heartbeat.finalized_block},
                   {"endpoint", heartbeat.rpc_endpoint},
                   {"peers", heartbeat.peers},
                   {"memory_bytes", heartbeat.memory_bytes}}};
}

HistoryRecord MakeEventRecord(const PoolEvent& event) {
  nlohmann::json data = {{"event", PoolEventKindName(event.kind)}};
  if (event.kind == PoolEventKind::kPenalised || event.kind == PoolEventKind::kRemoved) {
    data["offence"] = OffenceName(event.offence);
    data["cooldown_ms"] = event.cooldown_ms;
  }
  if (event.kind == PoolEventKind::kRefused) {
    data["refusal"] = HeartbeatVerdictName(event.refusal);
    if (event.refusal == HeartbeatVerdict::kMalformed) {
      data["reason"] = MalformedReasonName(event.malformed);
    }
  }
  return {.at_ms = event.at_ms,
          .sequence = 0,
          .kind = HistoryKind::kEvent,
          .node_id = event.node_id,
          .data = std::move(data)};
}

std::vector<HistoryRecord> MakePointsRecords(const PointsPeriod& period) {
  std::vector<HistoryRecord> records;
  for (const NodePoints& node : period.nodes) {
    records.push_back({.at_ms = period.end_ms,
                       .sequence = 0,
                       .kind = HistoryKind::kPoints,
                       .node_id = node.node_id,
                       .data = {{"period_start_ms", period.start_ms},
                                {"requests", node.requests},
                                {"live_ms", node.live_ms},
                                {"points", node.points}}});
  }
  return records;
}

Result<std::unique_ptr<PoolHistory>> PoolHistory::Open(slashing::HistoryStore& store,
                                                       uint64_t retention_ms) {
  SIGNER_ASSIGN_OR_RETURN(const std::optional<std::string> stored, store.Get(kMetaKey));
  uint64_t next_sequence = 1;
  uint64_t newest_ms = 0;
  if (stored) {
    if (stored->size() != 16) return Status::Corruption("history metadata of a wrong size");
    next_sequence = ReadBigEndian(std::string_view(*stored).substr(0, 8));
    newest_ms = ReadBigEndian(std::string_view(*stored).substr(8, 8));
  }
  return std::unique_ptr<PoolHistory>(
      new PoolHistory(store, retention_ms, next_sequence, newest_ms));
}

Result<std::vector<uint64_t>> PoolHistory::Append(std::span<const HistoryRecord> records) {
  std::vector<std::string> values;
  values.reserve(records.size());
  for (const HistoryRecord& record : records) {
    if (!record.node_id.empty() && !IsValidNodeId(record.node_id)) {
      return Status::InvalidArgument("history record with a bad node ID");
    }
    if (!record.data.is_object()) return Status::InvalidArgument("history data must be an object");
    nlohmann::json body = {
        {"kind", HistoryKindName(record.kind)}, {"node", record.node_id}, {"data", record.data}};
    // Replace invalid UTF-8 instead of throwing: telemetry text comes from the node.
    std::string value = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (value.size() > kMaxRecordBytes) {
      return Status::InvalidArgument("history record over " + std::to_string(kMaxRecordBytes) +
                                     " bytes");
    }
    values.push_back(std::move(value));
  }
  base::MutexLock lock(append_mutex_);
  StoreBatch batch;
  std::vector<uint64_t> sequences;
  uint64_t sequence = next_sequence_;
  uint64_t newest_ms = newest_ms_;
  for (size_t i = 0; i < records.size(); ++i) {
    batch.push_back({RecordKey(records[i].at_ms, sequence), std::move(values[i])});
    sequences.push_back(sequence++);
    newest_ms = std::max(newest_ms, records[i].at_ms);
  }
  // The metadata goes into the same atomic batch: after a crash, numbering resumes exactly after
  // the last record that was stored.
  std::string meta;
  AppendBigEndian(meta, sequence, 8);
  AppendBigEndian(meta, newest_ms, 8);
  batch.push_back({kMetaKey, std::move(meta)});
  SIGNER_RETURN_IF_ERROR(store_.WriteSynced(batch));
  next_sequence_ = sequence;
  newest_ms_ = newest_ms;
  return sequences;
}

Result<std::vector<HistoryRecord>> PoolHistory::Read(const HistoryQuery& query) const {
  std::vector<HistoryRecord> records;
  if (query.from_ms > query.to_ms || query.limit == 0) return records;
  Status decode_status;
  const auto visit = [&](std::string_view key, std::string_view value) {
    Result<HistoryRecord> record = DecodeRecord(key, value);
    if (!record.ok()) {
      decode_status = record.status();
      return false;
    }
    if (record->at_ms > query.to_ms) return false;
    if (Selected(query, *record)) records.push_back(std::move(record).value());
    return records.size() < query.limit;
  };
  // One day bucket at a time, from the later of the query's first day and the oldest stored one,
  // to the earlier of its last day and the newest stored one: no walking empty days.
  std::optional<uint64_t> oldest_day;
  SIGNER_RETURN_IF_ERROR(
      store_.Scan(std::string(1, kRecordPrefix), [&](std::string_view key, std::string_view) {
        if (key.size() == kRecordKeySize) {
          oldest_day = ReadBigEndian(key.substr(1, 4));
        }
        return false;
      }));
  if (!oldest_day) return records;
  uint64_t newest_ms = 0;
  {
    base::MutexLock lock(append_mutex_);
    newest_ms = newest_ms_;
  }
  const uint64_t last_day = std::min(query.to_ms, newest_ms) / kDayMs;
  for (uint64_t day = std::max(query.from_ms / kDayMs, *oldest_day);
       day <= last_day && records.size() < query.limit; ++day) {
    SIGNER_RETURN_IF_ERROR(store_.Scan(DayPrefix(day), visit));
    SIGNER_RETURN_IF_ERROR(decode_status);
  }
  return records;
}

Result<uint64_t> PoolHistory::Prune(uint64_t now_ms) {
  if (now_ms < retention_ms_) return uint64_t{0};
  const uint64_t cutoff_ms = now_ms - retention_ms_;
  uint64_t deleted = 0;
  while (true) {
    StoreBatch batch;
    SIGNER_RETURN_IF_ERROR(
        store_.Scan(std::string(1, kRecordPrefix), [&](std::string_view key, std::string_view) {
          if (key.size() != kRecordKeySize || ReadBigEndian(key.substr(5, 8)) >= cutoff_ms) {
            return false;
          }
          batch.push_back({std::string(key), std::nullopt});
          return batch.size() < kPruneBatch;
        }));
    if (batch.empty()) return deleted;
    SIGNER_RETURN_IF_ERROR(store_.WriteSynced(batch));
    deleted += batch.size();
  }
}

}  // namespace rpc_pool
