// Fuzz target: the audit tail's chain checker, driven by fuzzed event orders and checked against
// a model of the contract in kafka/audit_tail.h.
//
// Input: three option bytes (from_beginning, max_buffered_per_signer - 1, reorder window in ms),
// then operations, each an opcode byte and its arguments (see the switch below). Four signers
// ("" has no signer_id header) each produce a genuine chain of audit lines into a pool; the
// operations deliver pooled lines in any order, drop them, deliver them again, deliver altered or
// forged ones, advance the injected clock and expire or flush the checker. Every verdict the
// checker gives is compared with what the header promises; any difference aborts.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/audit_format.h"
#include "kafka/audit_tail.h"

namespace {

using kafka::AuditChainChecker;
using kafka::AuditEvent;
using kafka::ChainStatus;
using kafka::CheckedEvent;

constexpr size_t kSignerCount = 4;
const char* const kSignerIds[kSignerCount] = {"", "signer-1", "signer-2", "signer-3"};
constexpr size_t kMaxOperations = 2'048;
constexpr size_t kMaxPool = 64;
// The checker remembers this many released hashes per signer (audit_tail.cc); past it a copy of
// an old event may only be reported as a gap.
constexpr uint64_t kRecentHashesPerSigner = 4'096;
const std::string kZeroHash(64, '0');

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "audit tail fuzz: %s\n", what);
  std::abort();
}

void Expect(bool condition, const char* what) {
  if (!condition) Fail(what);
}

// Input reads the operations front to back; reads past the end yield zeros, so every input is a
// complete program.
class Input {
 public:
  explicit Input(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool done() const { return bytes_.empty(); }
  uint8_t U8() {
    if (bytes_.empty()) return 0;
    const uint8_t value = bytes_[0];
    bytes_ = bytes_.subspan(1);
    return value;
  }
  uint64_t U64() {
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value = (value << 8) | U8();
    return value;
  }
  std::string Bytes(size_t size) {
    const size_t taken = std::min(size, bytes_.size());
    std::string out(reinterpret_cast<const char*>(bytes_.data()), taken);
    bytes_ = bytes_.subspan(taken);
    return out;
  }

 private:
  std::span<const uint8_t> bytes_;
};

struct Parsed {
  uint64_t seq = 0;
  std::string prev;
};

// ParseAsDocumented applies the rule of docs/signerd.md and the header: a JSON object with an
// unsigned `seq` and a string `prev`.
std::optional<Parsed> ParseAsDocumented(const std::string& line) {
  const auto object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return std::nullopt;
  const auto seq = object.find("seq");
  const auto prev = object.find("prev");
  if (seq == object.end() || prev == object.end() || !seq->is_number_unsigned() ||
      !prev->is_string()) {
    return std::nullopt;
  }
  return Parsed{seq->get<uint64_t>(), prev->get<std::string>()};
}

// AuditLine has the fields of the audit log in docs/signerd.md, in their order; the nonce keeps two
// lines with the same seq and prev distinct, as two real requests would be.
std::string AuditLine(uint64_t seq, const std::string& prev, uint64_t nonce) {
  return "{\"seq\":" + std::to_string(seq) + ",\"time_ms\":" + std::to_string(nonce) +
         ",\"identity\":\"validator-alice\",\"method\":\"SignWithAny\",\"operation\":\"sign\","
         "\"key_type\":\"gran\",\"public_key\":\"88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d"
         "4334014fa6b0ee\",\"domain\":\"grandpa_prevote\",\"position\":\"set_id=3 round=" +
         std::to_string(seq) + "\",\"verdict\":\"allowed_new\",\"reason\":\"\",\"latency_us\":" +
         std::to_string(nonce % 1000) + ",\"prev\":\"" + prev + "\"}";
}

// Model is the checker's contract (kafka/audit_tail.h) written down independently: per signer, the
// held events by seq, where the chain stands and every hash it released.
class Model {
 public:
  explicit Model(AuditChainChecker::Options options) : options_(options) {}

  // Add delivers one event to `checker` and checks what comes out.
  void Add(AuditChainChecker& checker, const std::string& signer_id, const std::string& line,
           uint64_t now_ms) {
    AuditEvent event{signer_id, "88dc3417", 0, next_offset_++, line};
    std::vector<CheckedEvent> out;
    checker.Add(event, TimePoint(now_ms), out);
    const std::optional<Parsed> parsed = ParseAsDocumented(line);
    if (!parsed) {
      ExpectSingle(out, line);
      Expect(!out[0].parsed && out[0].chain == ChainStatus::kBroken, "unparsed line not broken");
      return;
    }
    const uint64_t seq = parsed->seq;
    if (signer_id.empty()) {
      ExpectSingle(out, line);
      Expect(out[0].parsed && out[0].seq == seq && out[0].chain == ChainStatus::kBroken,
             "event without signer_id not broken");
      return;
    }
    if (seq == std::numeric_limits<uint64_t>::max()) {
      ExpectSingle(out, line);
      Expect(out[0].parsed && out[0].seq == seq && out[0].chain == ChainStatus::kBroken,
             "the last seq not reported broken");
      return;
    }
    if (!chains_.contains(signer_id) && chains_.size() >= options_.max_signers) {
      ExpectSingle(out, line);
      Expect(out[0].parsed && out[0].seq == seq && out[0].chain == ChainStatus::kBroken,
             "an event of a signer beyond the bound not reported broken");
      return;
    }
    auto [entry, created] = chains_.try_emplace(signer_id);
    Chain& chain = entry->second;
    if (created && options_.from_beginning) {
      chain.started = true;
      chain.next_seq = 0;
      chain.last_hash = kZeroHash;
    }
    const std::string hash = signer::AuditLineHash(line);
    if (chain.started && seq < chain.next_seq) {
      ExpectSingle(out, line);
      const CheckedEvent& verdict = out[0];
      Expect(verdict.parsed && verdict.seq == seq, "late event: wrong seq");
      const auto known = chain.released.find(seq);
      const bool remembered =
          known != chain.released.end() && chain.release_count <= kRecentHashesPerSigner;
      switch (verdict.chain) {
        case ChainStatus::kOk:
          Expect(known != chain.released.end() && known->second == hash && !verdict.problem.empty(),
                 "a late event reported ok is not a copy of the verified one");
          break;
        case ChainStatus::kBroken:
          Expect(known != chain.released.end() && known->second != hash,
                 "a late copy of a verified event reported broken");
          break;
        case ChainStatus::kGap:
          Expect(!remembered, "a late event at a remembered seq reported as a gap");
          break;
      }
      return;
    }
    if (const auto held = chain.held.find(seq); held != chain.held.end()) {
      ExpectSingle(out, line);
      const CheckedEvent& verdict = out[0];
      Expect(verdict.parsed && verdict.seq == seq, "held copy: wrong seq");
      if (held->second.hash == hash) {
        Expect(verdict.chain == ChainStatus::kOk && !verdict.problem.empty(),
               "copy of a held event not reported as a duplicate");
      } else {
        Expect(verdict.chain == ChainStatus::kBroken,
               "a different event at a held seq not reported broken");
      }
      return;
    }
    chain.held.emplace(seq, Held{line, hash, parsed->prev, now_ms});
    for (const CheckedEvent& released : out) {
      Expect(released.event.signer_id == signer_id, "Add released another signer's event");
      const bool drainable =
          chain.started && !chain.held.empty() && chain.held.begin()->first == chain.next_seq;
      Expect(drainable || chain.held.size() > options_.max_buffered_per_signer,
             "Add released an event it had no reason to release");
      Release(chain, released);
    }
    ExpectSettled(chain);
    Expect(chain.held.size() <= options_.max_buffered_per_signer, "held more than the bound");
  }

  void Expire(AuditChainChecker& checker, uint64_t now_ms) {
    std::vector<CheckedEvent> out;
    checker.Expire(TimePoint(now_ms), out);
    for (const CheckedEvent& released : out) {
      Chain& chain = ChainOf(released);
      bool expired = false;
      for (const auto& [seq, held] : chain.held) {
        expired = expired || now_ms - held.arrived_ms >= WindowMs();
      }
      const bool drainable =
          chain.started && !chain.held.empty() && chain.held.begin()->first == chain.next_seq;
      Expect(expired || drainable, "Expire released an event it had no reason to release");
      Release(chain, released);
    }
    for (const auto& [signer_id, chain] : chains_) {
      for (const auto& [seq, held] : chain.held) {
        Expect(now_ms - held.arrived_ms < WindowMs(), "Expire kept an expired event");
      }
      ExpectSettled(chain);
    }
  }

  void Flush(AuditChainChecker& checker) {
    std::vector<CheckedEvent> out;
    checker.Flush(out);
    for (const CheckedEvent& released : out) Release(ChainOf(released), released);
    for (const auto& [signer_id, chain] : chains_) {
      Expect(chain.held.empty(), "Flush kept an event");
    }
    Expect(checker.buffered() == 0, "buffered after Flush");
  }

  size_t held() const {
    size_t total = 0;
    for (const auto& [signer_id, chain] : chains_) total += chain.held.size();
    return total;
  }

 private:
  struct Held {
    std::string line;
    std::string hash;
    std::string prev;
    uint64_t arrived_ms = 0;
  };
  struct Chain {
    bool started = false;
    uint64_t next_seq = 0;
    std::string last_hash;
    std::map<uint64_t, Held> held;
    std::map<uint64_t, std::string> released;  // every hash ever released, by seq
    uint64_t release_count = 0;
  };

  static AuditChainChecker::Clock::time_point TimePoint(uint64_t ms) {
    return AuditChainChecker::Clock::time_point(std::chrono::milliseconds(ms));
  }

  uint64_t WindowMs() const { return static_cast<uint64_t>(options_.reorder_window.count()); }

  static void ExpectSingle(const std::vector<CheckedEvent>& out, const std::string& line) {
    Expect(out.size() == 1 && out[0].event.line == line,
           "an event decided on arrival was not reported alone");
  }

  Chain& ChainOf(const CheckedEvent& released) {
    const auto chain = chains_.find(released.event.signer_id);
    if (chain == chains_.end()) Fail("released an event of an unknown signer");
    return chain->second;
  }

  // ExpectSettled: after any call nothing that follows the chain is left waiting.
  static void ExpectSettled(const Chain& chain) {
    Expect(!chain.started || chain.held.empty() || chain.held.begin()->first != chain.next_seq,
           "the next event of a chain was left held");
  }

  // Release checks one released event: always the lowest held seq, with the verdict the chain
  // rule gives it (the brief's invariant: ok means it starts the chain or its prev is the hash of
  // the event released just before it).
  static void Release(Chain& chain, const CheckedEvent& released) {
    Expect(!chain.held.empty(), "released an event that was not held");
    const auto lowest = chain.held.begin();
    const uint64_t seq = lowest->first;
    const Held& held = lowest->second;
    Expect(released.parsed && released.seq == seq && released.event.line == held.line,
           "released an event other than the lowest held one");
    ChainStatus expected = ChainStatus::kOk;
    if (!chain.started) {
      chain.started = true;
    } else if (seq == chain.next_seq) {
      if (held.prev != chain.last_hash) expected = ChainStatus::kBroken;
    } else {
      Expect(seq > chain.next_seq, "released a seq behind the chain");
      expected = ChainStatus::kGap;
    }
    Expect(released.chain == expected, "released event got the wrong verdict");
    Expect((expected == ChainStatus::kOk) == released.problem.empty(),
           "problem text disagrees with the verdict");
    chain.next_seq = seq + 1;
    chain.last_hash = held.hash;
    chain.released[seq] = held.hash;
    ++chain.release_count;
    chain.held.erase(lowest);
  }

  AuditChainChecker::Options options_;
  std::map<std::string, Chain> chains_;
  int64_t next_offset_ = 0;
};

// Producer is one signer writing a genuine chain.
struct Producer {
  uint64_t next_seq = 0;
  std::string prev = kZeroHash;
};

struct Pooled {
  size_t signer = 0;
  std::string line;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input input(std::span<const uint8_t>(data, size));
  AuditChainChecker::Options options;
  options.from_beginning = (input.U8() & 1) != 0;
  options.max_buffered_per_signer = 1 + input.U8() % 16;
  options.reorder_window = std::chrono::milliseconds(input.U8());
  options.max_signers = 1 + input.U8() % kSignerCount;
  AuditChainChecker checker(options);
  Model model(options);

  Producer producers[kSignerCount];
  std::vector<Pooled> pool;       // produced, not yet delivered
  std::vector<Pooled> delivered;  // delivered at least once
  uint64_t now_ms = 0;
  uint64_t nonce = 0;
  auto deliver = [&](size_t signer, const std::string& line) {
    now_ms += input.U8();
    model.Add(checker, kSignerIds[signer], line, now_ms);
  };

  for (size_t operation = 0; operation < kMaxOperations && !input.done(); ++operation) {
    switch (input.U8() % 8) {
      case 0: {  // produce: [signer]
        const size_t signer = input.U8() % kSignerCount;
        if (pool.size() >= kMaxPool) break;
        Producer& producer = producers[signer];
        std::string line = AuditLine(producer.next_seq++, producer.prev, nonce++);
        producer.prev = signer::AuditLineHash(line);
        pool.push_back({signer, std::move(line)});
        break;
      }
      case 1: {  // deliver a produced line: [index][ms]
        if (pool.empty()) break;
        const size_t index = input.U8() % pool.size();
        Pooled chosen = std::move(pool[index]);
        pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(index));
        deliver(chosen.signer, chosen.line);
        if (delivered.size() >= kMaxPool) delivered.erase(delivered.begin());
        delivered.push_back(std::move(chosen));
        break;
      }
      case 2: {  // deliver a line again: [index][ms]
        if (delivered.empty()) break;
        const Pooled& chosen = delivered[input.U8() % delivered.size()];
        deliver(chosen.signer, chosen.line);
        break;
      }
      case 3: {  // deliver an altered copy: [index][position][xor][ms]
        const std::vector<Pooled>& source = pool.empty() ? delivered : pool;
        if (source.empty()) break;
        const Pooled& chosen = source[input.U8() % source.size()];
        std::string altered = chosen.line;
        const size_t position = input.U8() % altered.size();
        const uint8_t flip = input.U8();
        altered[position] = static_cast<char>(altered[position] ^ (flip == 0 ? 1 : flip));
        deliver(chosen.signer, altered);
        break;
      }
      case 4: {  // forge a line: [signer][flags][seq: delta or u64][ms]
        const size_t signer = input.U8() % kSignerCount;
        const uint8_t flags = input.U8();
        const Producer& producer = producers[signer];
        uint64_t seq = 0;
        if ((flags & 1) != 0) {
          seq = input.U64();
        } else {
          const uint64_t delta = input.U8() % 8;
          seq = producer.next_seq + delta >= 4 ? producer.next_seq + delta - 4 : 0;
        }
        std::string prev;
        switch ((flags >> 1) & 3) {
          case 0:
            prev = kZeroHash;
            break;
          case 1:
            prev = producer.prev;
            break;
          case 2:
            prev = signer::AuditLineHash(std::to_string(nonce));
            break;
          default:
            prev = "not a hash";
            break;
        }
        deliver(signer, AuditLine(seq, prev, nonce++));
        break;
      }
      case 5: {  // deliver raw bytes: [signer][length][bytes][ms]
        const size_t signer = input.U8() % kSignerCount;
        const std::string raw = input.Bytes(input.U8());
        deliver(signer, raw);
        break;
      }
      case 6: {  // advance the clock and expire: [ms u8 * 4]
        now_ms += input.U8() * 4u;
        model.Expire(checker, now_ms);
        break;
      }
      default: {  // lose a produced line: [index]
        if (pool.empty()) break;
        pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(input.U8() % pool.size()));
        break;
      }
    }
    Expect(checker.buffered() == model.held(), "buffered() disagrees with the held events");
    Expect(checker.buffered() <= options.max_buffered_per_signer * kSignerCount,
           "buffered beyond the per-signer bound");
  }
  model.Flush(checker);
  return 0;
}
