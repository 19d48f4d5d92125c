// Signing and verification throughput of sr25519, ed25519 and ecdsa; the names are read by scripts.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "keymgr/ecdsa.h"
#include "keymgr/ed25519.h"
#include "keymgr/merlin.h"
#include "keymgr/sr25519.h"

namespace {

// Fixed inputs keep runs comparable; the seed is RFC 8032's test 1 seed, the message a
// block-hash-sized 32 bytes, which is what a validator signs for a BABE seal or a BEEFY vote.
constexpr std::array<uint8_t, 32> kSeed = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};

std::array<uint8_t, 32> Message() {
  std::array<uint8_t, 32> message{};
  for (size_t i = 0; i < message.size(); ++i) {
    message[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  return message;
}

// BabeSlotTranscript is the slot-claim transcript BABE VRF-signs every slot.
keymgr::VrfTranscriptData BabeSlotTranscript() {
  keymgr::VrfTranscriptData transcript;
  transcript.label = "BABE";
  transcript.items.emplace_back("slot number", std::vector<uint8_t>{0x34, 0x12, 0, 0, 0, 0, 0, 0});
  transcript.items.emplace_back("current epoch", std::vector<uint8_t>{7, 0, 0, 0, 0, 0, 0, 0});
  transcript.items.emplace_back("chain randomness", std::vector<uint8_t>(32, 0x42));
  return transcript;
}

void BM_Sr25519Sign(benchmark::State& state) {
  auto pair = keymgr::Sr25519Keypair::FromMiniSecret(kSeed);
  if (!pair.ok()) {
    state.SkipWithError("sr25519 keypair failed");
    return;
  }
  const auto message = Message();
  for (auto _ : state) {
    benchmark::DoNotOptimize(pair->Sign(message));
  }
}
BENCHMARK(BM_Sr25519Sign);

void BM_Sr25519Verify(benchmark::State& state) {
  auto pair = keymgr::Sr25519Keypair::FromMiniSecret(kSeed);
  if (!pair.ok()) {
    state.SkipWithError("sr25519 keypair failed");
    return;
  }
  const auto message = Message();
  const auto signature = pair->Sign(message);
  if (!keymgr::Sr25519Verify(pair->public_key(), message, signature)) {
    state.SkipWithError("sr25519 signature does not verify");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(keymgr::Sr25519Verify(pair->public_key(), message, signature));
  }
}
BENCHMARK(BM_Sr25519Verify);

// BM_Sr25519VrfSign includes building the Merlin transcript, as a signer does per request.
void BM_Sr25519VrfSign(benchmark::State& state) {
  auto pair = keymgr::Sr25519Keypair::FromMiniSecret(kSeed);
  if (!pair.ok()) {
    state.SkipWithError("sr25519 keypair failed");
    return;
  }
  const keymgr::VrfTranscriptData transcript = BabeSlotTranscript();
  for (auto _ : state) {
    benchmark::DoNotOptimize(pair->VrfSign(transcript.Build(), std::nullopt));
  }
}
BENCHMARK(BM_Sr25519VrfSign);

void BM_Ed25519Sign(benchmark::State& state) {
  auto pair = keymgr::Ed25519Keypair::FromSeed(kSeed);
  if (!pair.ok()) {
    state.SkipWithError("ed25519 keypair failed");
    return;
  }
  const auto message = Message();
  for (auto _ : state) {
    benchmark::DoNotOptimize(pair->Sign(message));
  }
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  auto pair = keymgr::Ed25519Keypair::FromSeed(kSeed);
  if (!pair.ok()) {
    state.SkipWithError("ed25519 keypair failed");
    return;
  }
  const auto message = Message();
  const auto signature = pair->Sign(message);
  if (!keymgr::Ed25519Verify(pair->public_key(), message, signature)) {
    state.SkipWithError("ed25519 signature does not verify");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(keymgr::Ed25519Verify(pair->public_key(), message, signature));
  }
}
BENCHMARK(BM_Ed25519Verify);

// The ecdsa figures include the blake2_256 of the message, as Substrate's ecdsa::Pair::sign does.
void BM_EcdsaSign(benchmark::State& state) {
  auto pair = keymgr::EcdsaKeypair::FromSeed(kSeed);
  if (!pair.ok()) {
    state.SkipWithError("ecdsa keypair failed");
    return;
  }
  const auto message = Message();
  for (auto _ : state) {
    benchmark::DoNotOptimize(pair->Sign(message));
  }
}
BENCHMARK(BM_EcdsaSign);

void BM_EcdsaVerify(benchmark::State& state) {
  auto pair = keymgr::EcdsaKeypair::FromSeed(kSeed);
  if (!pair.ok()) {
    state.SkipWithError("ecdsa keypair failed");
    return;
  }
  const auto message = Message();
  const auto signature = pair->Sign(message);
  if (!keymgr::EcdsaVerify(pair->public_key(), message, signature)) {
    state.SkipWithError("ecdsa signature does not verify");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(keymgr::EcdsaVerify(pair->public_key(), message, signature));
  }
}
BENCHMARK(BM_EcdsaVerify);

}  // namespace

BENCHMARK_MAIN();
