// Keys at start: makes a SoftHSM2 token holding many keys, then times what signerd does with it
// at start (open the token, list every key), a first signature with cold keys (on another thread,
// as signerd's workers sign), and the RSS.
//
//   keys_bench make  --dir DIR --keys N [--ed25519 M]   token in DIR/tokens, N sr25519 keys
//   keys_bench start --dir DIR [--samples S] [--disabled-refresh-ms MS]
//                                                       one start, as signerd does it
//
// `make` stores every key through Pkcs11Custody::BulkImport, so the token holds exactly what a
// `signerctl keys restore` would write (wrapped sr25519 objects, HSM-native ed25519 keys), with
// every check a real import makes. Keys are derived from their index, so two tokens made with the
// same N hold the same keys. `start` runs in a fresh process each time, so every key is cold: no
// handle, no unwrapped secret and no SoftHSM2 object cache survives from a previous run.
// Figures go to stdout as `name value` lines; the program checks nothing but that each step works.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/secret_bytes.h"
#include "base/substrate_types.h"
#include "keymgr/ed25519.h"
#include "keymgr/keypair.h"
#include "keymgr/pkcs11_custody.h"
#include "keymgr/pkcs11_token_init.h"
#include "keymgr/sr25519.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kTokenLabel = "keys-bench";
constexpr std::string_view kUserPin = "1234";
constexpr std::string_view kSoPin = "5678";

base::SecretBytes Pin(std::string_view pin) {
  return base::SecretBytes::CopyFrom(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(pin.data()), pin.size()));
}

double Seconds(Clock::duration elapsed) { return std::chrono::duration<double>(elapsed).count(); }

// StatusKb reads one `Name:   123 kB` line of /proc/self/status.
long StatusKb(std::string_view name) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(name) && line.size() > name.size() && line[name.size()] == ':') {
      return std::strtol(line.c_str() + name.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

// UseConfig points SoftHSM2 at DIR/softhsm2.conf (written if absent); it is read at C_Initialize.
bool UseConfig(const fs::path& dir) {
  const fs::path conf = dir / "softhsm2.conf";
  if (!fs::exists(conf)) {
    fs::create_directories(dir / "tokens");
    std::ofstream out(conf);
    out << "directories.tokendir = " << (dir / "tokens").string() << "\n"
        << "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n";
  }
  return setenv("SOFTHSM2_CONF", conf.c_str(), 1) == 0;
}

keymgr::Pkcs11Config Config(long disabled_refresh_ms = 2000) {
  keymgr::Pkcs11Config config;
  config.disabled_refresh = std::chrono::milliseconds(disabled_refresh_ms);
  config.module_path = SIGNER_SOFTHSM2_MODULE;
  config.token_label = std::string(kTokenLabel);
  config.pin = Pin(kUserPin);
  return config;
}

// MiniSecret is key `index`'s seed: the index in the first 8 bytes, a fixed filler after.
std::vector<uint8_t> MiniSecret(size_t index, uint8_t filler) {
  std::vector<uint8_t> seed(32, filler);
  for (size_t byte = 0; byte < 8; ++byte) seed[byte] = static_cast<uint8_t>(index >> (8 * byte));
  return seed;
}

int Make(const fs::path& dir, size_t keys, size_t ed25519_keys) {
  if (!UseConfig(dir)) return 1;
  base::Status initialized =
      keymgr::InitializeToken(SIGNER_SOFTHSM2_MODULE, kTokenLabel, Pin(kSoPin), Pin(kUserPin));
  if (!initialized.ok()) {
    std::fprintf(stderr, "init token: %s\n", initialized.message().c_str());
    return 1;
  }
  base::Result<std::unique_ptr<keymgr::Pkcs11Custody>> custody =
      keymgr::Pkcs11Custody::Open(Config());
  if (!custody.ok()) {
    std::fprintf(stderr, "open: %s\n", custody.status().message().c_str());
    return 1;
  }
  const Clock::time_point started = Clock::now();
  base::Result<std::unique_ptr<keymgr::Pkcs11Custody::BulkImport>> bulk =
      (*custody)->BeginBulkImport();
  if (!bulk.ok()) {
    std::fprintf(stderr, "bulk import: %s\n", bulk.status().message().c_str());
    return 1;
  }
  Clock::time_point batch_started = started;
  for (size_t i = 0; i < keys + ed25519_keys; ++i) {
    base::Result<keymgr::KeyInfo> stored = base::Status::Internal("unset");
    if (i < keys) {
      stored = (*bulk)->Import(
          base::kKeyTypeBabe,
          keymgr::Keypair(keymgr::Sr25519Keypair::FromMiniSecret(MiniSecret(i, 0x5c)).value()),
          /*disabled=*/false);
    } else {
      stored = (*bulk)->Import(
          base::kKeyTypeGrandpa,
          keymgr::Keypair(keymgr::Ed25519Keypair::FromSeed(MiniSecret(i, 0x3e)).value()),
          /*disabled=*/false);
    }
    if (!stored.ok()) {
      std::fprintf(stderr, "key %zu: %s\n", i, stored.status().message().c_str());
      return 1;
    }
    if ((i + 1) % 10000 == 0) {
      const Clock::time_point now = Clock::now();
      std::printf("stored %zu keys_per_second_last_10000 %.0f\n", i + 1,
                  10000 / Seconds(now - batch_started));
      std::fflush(stdout);
      batch_started = now;
    }
  }
  bulk->reset();
  std::printf("keys %zu\nbulk_import_seconds %.2f\n", keys + ed25519_keys,
              Seconds(Clock::now() - started));
  return 0;
}

int Start(const fs::path& dir, size_t samples, long disabled_refresh_ms) {
  if (!UseConfig(dir)) return 1;
  std::printf("rss_kb_before_open %ld\n", StatusKb("VmRSS"));
  const Clock::time_point started = Clock::now();
  base::Result<std::unique_ptr<keymgr::Pkcs11Custody>> custody =
      keymgr::Pkcs11Custody::Open(Config(disabled_refresh_ms));
  if (!custody.ok()) {
    std::fprintf(stderr, "open: %s\n", custody.status().message().c_str());
    return 1;
  }
  const Clock::time_point opened = Clock::now();
  base::Result<std::vector<keymgr::KeyInfo>> listed = (*custody)->List();
  const Clock::time_point done = Clock::now();
  if (!listed.ok()) {
    std::fprintf(stderr, "list: %s\n", listed.status().message().c_str());
    return 1;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("keys %zu\nopen_seconds %.3f\nlist_seconds %.3f\nopen_and_list_seconds %.3f\n",
              listed->size(), Seconds(opened - started), Seconds(done - opened),
              Seconds(done - started));
  std::printf("cpu_seconds %.3f\n",
              static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                  static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6);
  std::printf("rss_kb_after_list %ld\nhwm_kb_after_list %ld\n", StatusKb("VmRSS"),
              StatusKb("VmHWM"));
  // First signatures right after start, each with a key this process has not used, spread over
  // the token.
  std::vector<keymgr::KeyInfo> keys;
  samples = std::min(samples, listed->size());
  for (size_t i = 0; i < samples; ++i) keys.push_back((*listed)[(i * listed->size()) / samples]);
  // What signerd keeps after start is the custody, not the listing it logged and counted.
  listed->clear();
  listed->shrink_to_fit();
  std::printf("rss_kb_without_listing %ld\n", StatusKb("VmRSS"));
  // signerd signs on its worker threads, never on the thread that listed the keys at start, and so
  // does this. The thread matters at 100,000 keys: glibc's allocator keeps what the listing freed
  // (hundreds of thousands of small chunks, between SoftHSM2's live objects) in the listing
  // thread's arena and sorts them all at that thread's next large allocation, which put 7-14 ms
  // on a first signature made on the listing's thread.
  const std::vector<uint8_t> message(32, 0x17);
  // sign_each signs once with each key, adding each signature's time to `times_ms`; false at the
  // first failure.
  auto sign_each = [&](std::vector<double>& times_ms) {
    for (const keymgr::KeyInfo& key : keys) {
      const Clock::time_point signing = Clock::now();
      base::Result<std::vector<uint8_t>> signature = (*custody)->Sign(key.id, key.scheme, message);
      times_ms.push_back(Seconds(Clock::now() - signing) * 1e3);
      if (!signature.ok()) {
        std::fprintf(stderr, "sign: %s\n", signature.status().message().c_str());
        return false;
      }
    }
    return true;
  };
  std::vector<double> first_ms;
  std::vector<double> warm_ms;
  bool signed_all = false;
  std::thread signer([&] { signed_all = sign_each(first_ms) && sign_each(warm_ms); });
  signer.join();
  if (!signed_all) return 1;
  auto median = [](std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  };
  std::printf("first_sign_ms_median %.3f\nfirst_sign_ms_max %.3f\nwarm_sign_ms_median %.3f\n",
              median(first_ms), *std::max_element(first_ms.begin(), first_ms.end()),
              median(warm_ms));
  std::printf("rss_kb_after_signing %ld\n", StatusKb("VmRSS"));
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: keys_bench make --dir DIR --keys N [--ed25519 M]\n"
               "       keys_bench start --dir DIR [--samples S] [--disabled-refresh-ms MS]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  const std::string_view mode = argv[1];
  fs::path dir;
  size_t keys = 0;
  size_t ed25519_keys = 0;
  size_t samples = 20;
  long disabled_refresh_ms = 2000;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--dir") {
      dir = value;
    } else if (flag == "--keys") {
      keys = std::strtoul(value, nullptr, 10);
    } else if (flag == "--ed25519") {
      ed25519_keys = std::strtoul(value, nullptr, 10);
    } else if (flag == "--disabled-refresh-ms") {
      disabled_refresh_ms = std::strtol(value, nullptr, 10);
    } else if (flag == "--samples") {
      samples = std::strtoul(value, nullptr, 10);
    } else {
      return Usage();
    }
  }
  if (dir.empty()) return Usage();
  if (mode == "make" && keys + ed25519_keys > 0) return Make(dir, keys, ed25519_keys);
  if (mode == "start" && samples > 0) return Start(dir, samples, disabled_refresh_ms);
  return Usage();
}
