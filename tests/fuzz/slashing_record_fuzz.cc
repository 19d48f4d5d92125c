// Fuzz target: stored-record decoding (keys, values, watermarks); accepted input re-encodes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "slashing/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto value = slashing::DecodeRecordValue(bytes); value.ok()) {
    if (slashing::EncodeRecordValue(*value) != bytes) std::abort();
  }
  if (auto key = slashing::DecodeRecordKey(bytes); key.ok()) {
    if (slashing::EncodeRecordKey(*key) != bytes) std::abort();
  }
  if (auto key = slashing::DecodeWatermarkKey(bytes); key.ok()) {
    if (slashing::EncodeWatermarkKey(key->public_key, key->domain) != bytes) std::abort();
  }
  if (auto watermark = slashing::DecodeWatermarkValue(bytes); watermark.ok()) {
    if (slashing::EncodeWatermarkValue(*watermark) != bytes) std::abort();
  }
  return 0;
}
