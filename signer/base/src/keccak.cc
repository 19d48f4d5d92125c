// Keccak-f[1600] (shared by STROBE/Merlin) and the original Keccak-256 hash that BEEFY uses.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "base/hash.h"
#include "base/secret_bytes.h"

namespace base {
namespace {

constexpr int kKeccakRounds = 24;

// Iota constants, one per round (FIPS 202, section 3.2.5).
constexpr std::array<uint64_t, kKeccakRounds> kRoundConstants = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

// Rho rotation offsets, indexed by lane x + 5y.
constexpr std::array<int, 25> kRotations = {
    0,  1,  62, 28, 27,  //
    36, 44, 6,  55, 20,  //
    3,  10, 43, 25, 39,  //
    41, 45, 15, 21, 8,   //
    18, 2,  61, 56, 14,
};

// Pi moves lane (x, y) to (y, 2x + 3y); precomputed as a destination index per source lane.
constexpr std::array<int, 25> MakePiDestinations() {
  std::array<int, 25> destinations{};
  for (int x = 0; x < 5; ++x) {
    for (int y = 0; y < 5; ++y) {
      destinations[x + 5 * y] = y + 5 * ((2 * x + 3 * y) % 5);
    }
  }
  return destinations;
}
constexpr std::array<int, 25> kPiDestinations = MakePiDestinations();

// Pi is one 24-cycle through lanes 1..24 (lane 0 stays), so rho and pi can run in place by walking
// that cycle from lane 1 with a single carried lane. These tables list, for each step, the lane
// written and the rho offset of the lane that moves into it.
struct PiWalk {
  std::array<int, 24> lane{};
  std::array<int, 24> rotation{};
};
constexpr PiWalk MakePiWalk() {
  PiWalk walk;
  int source = 1;
  for (int step = 0; step < 24; ++step) {
    walk.lane[step] = kPiDestinations[source];
    walk.rotation[step] = kRotations[source];
    source = kPiDestinations[source];
  }
  return walk;
}
constexpr PiWalk kPiWalk = MakePiWalk();
static_assert(kPiWalk.lane[23] == 1, "pi must be a single cycle through lanes 1..24");

constexpr size_t kKeccak256Rate = 136;  // (1600 - 2 * 256) / 8

void XorBlockIntoLanes(std::array<uint64_t, 25>& lanes, const uint8_t* block, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    lanes[i / 8] ^= static_cast<uint64_t>(block[i]) << (8 * (i % 8));
  }
}

}  // namespace

void KeccakF1600(std::array<uint64_t, 25>& state) {
  // Working on locals with fully unrolled loops lets the compiler keep lanes in registers; this
  // permutation dominates Merlin's cost, and every signature runs it several times.
  uint64_t lanes[25];
  std::memcpy(lanes, state.data(), sizeof(lanes));
  for (int round = 0; round < kKeccakRounds; ++round) {
    // Theta: fold each column's parity into its neighbours.
    uint64_t parity[5];
#pragma GCC unroll 5
    for (int x = 0; x < 5; ++x) {
      parity[x] = lanes[x] ^ lanes[x + 5] ^ lanes[x + 10] ^ lanes[x + 15] ^ lanes[x + 20];
    }
#pragma GCC unroll 5
    for (int x = 0; x < 5; ++x) {
      const uint64_t mix = parity[(x + 4) % 5] ^ std::rotl(parity[(x + 1) % 5], 1);
#pragma GCC unroll 5
      for (int y = 0; y < 25; y += 5) {
        lanes[x + y] ^= mix;
      }
    }
    // Rho and pi together, along the pi cycle.
    uint64_t moving = lanes[1];
#pragma GCC unroll 24
    for (int step = 0; step < 24; ++step) {
      const int lane = kPiWalk.lane[step];
      const uint64_t displaced = lanes[lane];
      lanes[lane] = std::rotl(moving, kPiWalk.rotation[step]);
      moving = displaced;
    }
    // Chi: the only non-linear step, row by row.
#pragma GCC unroll 5
    for (int y = 0; y < 25; y += 5) {
      const uint64_t row[5] = {lanes[y], lanes[y + 1], lanes[y + 2], lanes[y + 3], lanes[y + 4]};
#pragma GCC unroll 5
      for (int x = 0; x < 5; ++x) {
        lanes[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
      }
    }
    lanes[0] ^= kRoundConstants[round];
  }
  std::memcpy(state.data(), lanes, sizeof(lanes));
  // STROBE keys pass through this function, so the working copy must not linger on the stack.
  Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(lanes), sizeof(lanes)));
}

Hash256 Keccak256(std::span<const uint8_t> data) {
  std::array<uint64_t, 25> lanes{};
  while (data.size() >= kKeccak256Rate) {
    XorBlockIntoLanes(lanes, data.data(), kKeccak256Rate);
    KeccakF1600(lanes);
    data = data.subspan(kKeccak256Rate);
  }
  // Original Keccak pads with 0x01 ... 0x80, not the SHA-3 domain byte 0x06.
  std::array<uint8_t, kKeccak256Rate> last{};
  if (!data.empty()) {
    std::memcpy(last.data(), data.data(), data.size());
  }
  last[data.size()] ^= 0x01;
  last[kKeccak256Rate - 1] ^= 0x80;
  XorBlockIntoLanes(lanes, last.data(), last.size());
  KeccakF1600(lanes);

  Hash256 digest;
  for (size_t i = 0; i < digest.size(); ++i) {
    digest[i] = static_cast<uint8_t>(lanes[i / 8] >> (8 * (i % 8)));
  }
  return digest;
}

}  // namespace base
