// Encoding and strict decoding of stored history keys and values.
#include "slashing/record.h"

#include <algorithm>

#include "slashing/scale.h"

namespace slashing {
namespace {

// kConflictFlag marks a record holding several digests; other flag bits are reserved and refused.
constexpr uint8_t kConflictFlag = 0x01;

void AppendBigEndian(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

uint64_t LoadBigEndian(std::string_view bytes) {
  uint64_t value = 0;
  for (char byte : bytes) value = (value << 8) | static_cast<uint8_t>(byte);
  return value;
}

void AppendPublicKey(std::string& out, std::span<const uint8_t> public_key) {
  out.push_back(static_cast<char>(public_key.size()));
  out.append(reinterpret_cast<const char*>(public_key.data()), public_key.size());
}

std::span<const uint8_t> AsBytes(std::string_view bytes) {
  return {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
}

// ReadPublicKeyAndDomain parses `tag | len | key | domain` and returns the offset after it.
std::optional<size_t> ReadPublicKeyAndDomain(std::string_view bytes, char tag,
                                             std::vector<uint8_t>& public_key, Domain& domain) {
  if (bytes.size() < 2 || bytes[0] != tag) return std::nullopt;
  const size_t key_size = static_cast<uint8_t>(bytes[1]);
  if (key_size == 0 || key_size > kMaxPublicKeySize || bytes.size() < 2 + key_size + 1) {
    return std::nullopt;
  }
  auto key_bytes = AsBytes(bytes.substr(2, key_size));
  public_key.assign(key_bytes.begin(), key_bytes.end());
  auto parsed = DomainFromByte(static_cast<uint8_t>(bytes[2 + key_size]));
  if (!parsed) return std::nullopt;
  domain = *parsed;
  return 2 + key_size + 1;
}

}  // namespace

std::string EncodeRecordKey(const RecordKey& key) {
  std::string out = RecordKeyPrefix(key.public_key, key.domain);
  AppendBigEndian(out, key.position.major);
  AppendBigEndian(out, key.position.minor);
  out.append(reinterpret_cast<const char*>(key.position.candidate.data()), 32);
  return out;
}

base::Result<RecordKey> DecodeRecordKey(std::string_view bytes) {
  RecordKey key;
  auto offset = ReadPublicKeyAndDomain(bytes, kRecordKeyTag, key.public_key, key.domain);
  if (!offset || bytes.size() != *offset + 8 + 8 + 32) {
    return base::Status::Corruption("malformed record key");
  }
  key.position.major = LoadBigEndian(bytes.substr(*offset, 8));
  key.position.minor = LoadBigEndian(bytes.substr(*offset + 8, 8));
  auto candidate = AsBytes(bytes.substr(*offset + 16, 32));
  std::copy(candidate.begin(), candidate.end(), key.position.candidate.begin());
  // Only dispute positions use the candidate and only GRANDPA/BEEFY the minor part; anything else
  // was not written by us.
  const bool has_candidate = key.position.candidate != base::Hash256{};
  if (has_candidate && key.domain != Domain::kDispute) {
    return base::Status::Corruption("candidate hash outside the dispute domain");
  }
  if ((key.domain == Domain::kBabe || key.domain == Domain::kDispute) && key.position.minor != 0) {
    return base::Status::Corruption("minor position in a single-number domain");
  }
  return key;
}

std::string RecordKeyPrefix(std::span<const uint8_t> public_key, std::optional<Domain> domain) {
  std::string out(1, kRecordKeyTag);
  AppendPublicKey(out, public_key);
  if (domain) out.push_back(static_cast<char>(*domain));
  return out;
}

std::string EncodeRecordValue(const StoredRecord& record) {
  ScaleWriter writer;
  writer.WriteU8(kRecordFormatVersion);
  writer.WriteU8(record.conflicted() ? kConflictFlag : 0);
  writer.WriteU64(record.recorded_at_ms);
  writer.WriteCompact(record.digests.size());
  for (const auto& digest : record.digests) writer.WriteByteVec(digest);
  const auto& bytes = writer.bytes();
  return std::string(bytes.begin(), bytes.end());
}

base::Result<StoredRecord> DecodeRecordValue(std::string_view bytes) {
  ScaleReader reader(AsBytes(bytes));
  auto version = reader.ReadU8();
  auto flags = reader.ReadU8();
  auto recorded_at = reader.ReadU64();
  auto count = reader.ReadVecLength(kMaxDigestsPerRecord, 1);
  if (!reader.ok() || *version != kRecordFormatVersion || (*flags & ~kConflictFlag) != 0 ||
      *count == 0) {
    return base::Status::Corruption("malformed record header");
  }
  StoredRecord record;
  record.recorded_at_ms = *recorded_at;
  for (size_t i = 0; i < *count; ++i) {
    auto digest = reader.ReadByteVec(kMaxDigestSize);
    if (!digest || digest->empty()) return base::Status::Corruption("malformed record digest");
    std::vector<uint8_t> copy(digest->begin(), digest->end());
    if (std::find(record.digests.begin(), record.digests.end(), copy) != record.digests.end()) {
      return base::Status::Corruption("duplicate digest in record");
    }
    record.digests.push_back(std::move(copy));
  }
  if (!reader.Finish() || ((*flags & kConflictFlag) != 0) != record.conflicted()) {
    return base::Status::Corruption("malformed record");
  }
  return record;
}

std::string EncodeWatermarkKey(std::span<const uint8_t> public_key, Domain domain) {
  std::string out(1, kWatermarkKeyTag);
  AppendPublicKey(out, public_key);
  out.push_back(static_cast<char>(domain));
  return out;
}

base::Result<WatermarkKey> DecodeWatermarkKey(std::string_view bytes) {
  WatermarkKey key;
  auto offset = ReadPublicKeyAndDomain(bytes, kWatermarkKeyTag, key.public_key, key.domain);
  if (!offset || *offset != bytes.size())
    return base::Status::Corruption("malformed watermark key");
  return key;
}

std::string EncodeWatermarkValue(const Watermark& watermark) {
  ScaleWriter writer;
  writer.WriteU8(kRecordFormatVersion);
  writer.WriteU64(watermark.major);
  writer.WriteU64(watermark.minor);
  const auto& bytes = writer.bytes();
  return std::string(bytes.begin(), bytes.end());
}

base::Result<Watermark> DecodeWatermarkValue(std::string_view bytes) {
  ScaleReader reader(AsBytes(bytes));
  auto version = reader.ReadU8();
  auto major = reader.ReadU64();
  auto minor = reader.ReadU64();
  if (!reader.Finish() || *version != kRecordFormatVersion) {
    return base::Status::Corruption("malformed watermark");
  }
  return Watermark{*major, *minor};
}

std::string MetaFormatKey() { return std::string(1, kMetaKeyTag) + "format"; }
std::string MetaGenesisKey() { return std::string(1, kMetaKeyTag) + "genesis"; }
std::string MetaInstanceKey() { return std::string(1, kMetaKeyTag) + "instance"; }

}  // namespace slashing
