// Internal plumbing shared by signerctl's subcommand groups: outcomes, registration, secret input.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace signerctl {

// Exit codes are part of the CLI contract: scripts branch on them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;  // a verification ran and the signature is not valid
inline constexpr int kExitUsage = 2;    // bad input of any kind; nothing was signed or verified

// Outcome is what a command hands back to main: a JSON document for stdout, or a one-line error for
// stderr. Commands never print themselves, so main alone enforces the output contract.
struct Outcome {
  int exit_code = kExitOk;
  nlohmann::ordered_json output;  // printed on stdout when not null, keys in the order given
  std::string error;              // printed on stderr when not empty; must never contain a secret

  static Outcome Json(nlohmann::ordered_json document, int exit_code = kExitOk) {
    return Outcome{exit_code, std::move(document), {}};
  }
  static Outcome Usage(std::string message) {
    return Outcome{kExitUsage, nullptr, std::move(message)};
  }
};

// CommandTable maps parsed subcommands to the code that runs them. A subcommand group registers
// itself with one Register*Commands function, so groups live in separate files. Not thread-safe.
class CommandTable {
 public:
  using Runner = std::function<Outcome()>;

  // Add makes `run` the action of `subcommand`, which must belong to the App being parsed.
  void Add(CLI::App* subcommand, Runner run) { entries_.emplace_back(subcommand, std::move(run)); }

  // RunParsed runs the action of the subcommand the command line selected; a usage outcome if none.
  Outcome RunParsed() const;

 private:
  std::vector<std::pair<CLI::App*, Runner>> entries_;
};

// SuriOptions holds where a command's SURI may come from. Only one source may be given on the
// command line; the environment variable is the fallback.
struct SuriOptions {
  std::string
      inline_suri;        // --suri or a positional argument: visible in `ps`, for development only
  std::string suri_file;  // --suri-file: the first line of the file
  CLI::Option* inline_option = nullptr;
  CLI::Option* file_option = nullptr;
};

inline constexpr std::string_view kSuriEnvVariable = "SIGNER_SURI";

// AddSuriOptions adds --suri (or a positional SURI when `positional`) and --suri-file to `command`.
void AddSuriOptions(CLI::App* command, SuriOptions& options, bool positional);

// ResolveSuri returns the SURI from the one source given, in guarded memory, and wipes the copy
// CLI11 kept. The --suri-file file must pass the PIN file's checks (keymgr::ReadPrivateFile: a
// regular file, not a symlink, owned by this user, mode 0600 or stricter). Fails with
// kInvalidArgument if no source or more than one command-line source is given, or the file breaks
// those rules or cannot be read; the message names the source, never its content. SIGNER_SURI is
// wiped and removed from the environment whichever source is used. Not thread-safe (it changes
// the environment).
base::Result<base::SecretBytes> ResolveSuri(SuriOptions& options);

// SuriView views a SURI held in SecretBytes as text, without copying it.
inline std::string_view SuriView(const base::SecretBytes& suri) {
  return {reinterpret_cast<const char*>(suri.data()), suri.size()};
}

// SafeSuriError turns a failed SURI status into a one-line message. keymgr promises not to repeat
// secrets; this checks anyway and drops the detail if any fragment of the SURI shows up in it.
std::string SafeSuriError(const base::Status& status, std::string_view suri);

// DecodeHexArgument decodes the value of option `name`, optionally requiring `expected_size` bytes.
// The message names the option and the sizes, never the value.
base::Result<std::vector<uint8_t>> DecodeHexArgument(std::string_view name, std::string_view text,
                                                     std::optional<size_t> expected_size = {});

// HexWithPrefix renders bytes as "0x" + lower-case hex, the CLI's output form.
std::string HexWithPrefix(std::span<const uint8_t> bytes);

// ReadTextFile reads a whole file of at most `max_size` bytes into a string (for non-secret input).
base::Result<std::string> ReadTextFile(const std::string& path, size_t max_size);

// Register*Commands add one subcommand group to `app` and its actions to `table`.
void RegisterCryptoCommands(CLI::App& app, CommandTable& table);
void RegisterKeysCommands(CLI::App& app, CommandTable& table);
void RegisterHistoryCommands(CLI::App& app, CommandTable& table);
void RegisterTlsCommands(CLI::App& app, CommandTable& table);
void RegisterAuditCommands(CLI::App& app, CommandTable& table);
void RegisterDemoCommands(CLI::App& app, CommandTable& table);
void RegisterDevCommands(CLI::App& app, CommandTable& table);
void RegisterThresholdCommands(CLI::App& app, CommandTable& table);

}  // namespace signerctl
