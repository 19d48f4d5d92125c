// signerctl helpers every subcommand group uses: SURI sources, hex arguments, bounded file reads.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/file_descriptor.h"
#include "base/hex.h"
#include "ctl_command.h"
#include "keymgr/private_file.h"

namespace signerctl {
namespace {

// A SURI is a phrase plus a short path; anything near this size is not one.
constexpr size_t kMaxSuriFileSize = 4096;

// ReadInto fills `buffer` from `path` and returns how many bytes it read. Reading one byte more
// than the caller accepts is how an oversized file is told apart from one of exactly the limit;
// reading with read() rather than fstat sizes lets pipes such as /dev/stdin work too.
base::Result<size_t> ReadInto(const std::string& path, std::span<uint8_t> buffer) {
  base::FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) {
    return base::Status::InvalidArgument(std::string("cannot open file: ") + std::strerror(errno));
  }
  size_t total = 0;
  while (total < buffer.size()) {
    ssize_t got = ::read(file.get(), buffer.data() + total, buffer.size() - total);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return base::Status::InvalidArgument(std::string("cannot read file: ") +
                                           std::strerror(errno));
    }
    if (got == 0) {
      break;
    }
    total += static_cast<size_t>(got);
  }
  return total;
}

// ContainsFragmentOf reports whether `message` repeats `secret` or any '/'- or space-separated
// piece of it at least two characters long (a phrase word, a junction, a password).
bool ContainsFragmentOf(std::string_view message, std::string_view secret) {
  if (!secret.empty() && message.find(secret) != std::string_view::npos) {
    return true;
  }
  size_t start = 0;
  while (start < secret.size()) {
    size_t end = secret.find_first_of(" /", start);
    if (end == std::string_view::npos) {
      end = secret.size();
    }
    std::string_view piece = secret.substr(start, end - start);
    if (piece.size() >= 2 && message.find(piece) != std::string_view::npos) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// TakeSuriFromEnvironment copies SIGNER_SURI into guarded memory, wipes the environment's copy in
// place and removes the variable, so no child process inherits it and /proc/PID/environ (which
// shows the memory the environment started in, whatever unsetenv does) no longer holds it. Empty
// when the variable is unset.
base::SecretBytes TakeSuriFromEnvironment() {
  const std::string name(kSuriEnvVariable);
  char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return {};
  }
  const size_t size = std::strlen(value);
  base::SecretBytes suri = base::SecretBytes::CopyFrom({reinterpret_cast<uint8_t*>(value), size});
  base::Wipe({reinterpret_cast<uint8_t*>(value), size});
  ::unsetenv(name.c_str());
  return suri;
}

}  // namespace

Outcome CommandTable::RunParsed() const {
  for (const auto& [subcommand, run] : entries_) {
    if (subcommand->parsed()) {
      return run();
    }
  }
  return Outcome::Usage("no command given (see --help)");
}

void AddSuriOptions(CLI::App* command, SuriOptions& options, bool positional) {
  const char* inline_help =
      "secret URI, e.g. //Alice or '<phrase>//hard/soft///password' or a 0x seed; anything on the "
      "command line is visible to other local users, so use this for development keys only";
  // A positional SURI (as subkey takes it) is also accepted as --suri, so every command takes the
  // same spelling.
  options.inline_option =
      command->add_option(positional ? "suri,--suri" : "--suri", options.inline_suri, inline_help);
  options.file_option =
      command->add_option("--suri-file", options.suri_file,
                          "read the secret URI from the first line of this file (a regular file "
                          "owned by you, mode 0600 or stricter; or set " +
                              std::string(kSuriEnvVariable) + ")");
}

base::Result<base::SecretBytes> ResolveSuri(SuriOptions& options) {
  // Taken whichever source wins, so the secret never stays behind in the environment.
  base::SecretBytes from_env = TakeSuriFromEnvironment();
  const bool from_line = options.inline_option != nullptr && options.inline_option->count() > 0;
  const bool from_file = options.file_option != nullptr && options.file_option->count() > 0;
  if (from_line && from_file) {
    return base::Status::InvalidArgument("give the SURI once: inline or with --suri-file");
  }
  if (from_line) {
    auto suri = base::SecretBytes::CopyFrom(
        {reinterpret_cast<const uint8_t*>(options.inline_suri.data()), options.inline_suri.size()});
    base::Wipe(
        {reinterpret_cast<uint8_t*>(options.inline_suri.data()), options.inline_suri.size()});
    if (suri.empty()) {
      return base::Status::InvalidArgument("the SURI is empty");
    }
    return suri;
  }
  if (from_file) {
    // A SURI is as secret as the PIN, so its file passes the PIN file's checks.
    auto buffer = keymgr::ReadPrivateFile(options.suri_file, "SURI file", kMaxSuriFileSize);
    if (!buffer.ok()) {
      return base::Status::InvalidArgument("--suri-file: " + buffer.status().message());
    }
    // Only the first line counts, so a trailing newline (or CRLF) from an editor is harmless.
    size_t length = 0;
    while (length < buffer->size() && buffer->data()[length] != '\n') {
      ++length;
    }
    if (length > 0 && buffer->data()[length - 1] == '\r') {
      --length;
    }
    if (length == 0) {
      return base::Status::InvalidArgument("--suri-file: the first line is empty");
    }
    return base::SecretBytes::CopyFrom(buffer->span().first(length));
  }
  if (!from_env.empty()) {
    return from_env;
  }
  return base::Status::InvalidArgument("no SURI given: use --suri-file, " +
                                       std::string(kSuriEnvVariable) + " or --suri");
}

std::string SafeSuriError(const base::Status& status, std::string_view suri) {
  if (ContainsFragmentOf(status.message(), suri)) {
    return "invalid SURI";
  }
  return "invalid SURI: " + status.message();
}

base::Result<std::vector<uint8_t>> DecodeHexArgument(std::string_view name, std::string_view text,
                                                     std::optional<size_t> expected_size) {
  auto bytes = base::HexDecode(text);
  if (!bytes.ok()) {
    return base::Status::InvalidArgument(std::string(name) + ": not valid hex");
  }
  if (expected_size.has_value() && bytes->size() != *expected_size) {
    return base::Status::InvalidArgument(std::string(name) + ": expected " +
                                         std::to_string(*expected_size) + " bytes, got " +
                                         std::to_string(bytes->size()));
  }
  return bytes;
}

std::string HexWithPrefix(std::span<const uint8_t> bytes) { return "0x" + base::HexEncode(bytes); }

base::Result<std::string> ReadTextFile(const std::string& path, size_t max_size) {
  std::string text(max_size + 1, '\0');
  SIGNER_ASSIGN_OR_RETURN(auto read,
                          ReadInto(path, {reinterpret_cast<uint8_t*>(text.data()), text.size()}));
  if (read > max_size) {
    return base::Status::InvalidArgument("file larger than " + std::to_string(max_size) + " bytes");
  }
  text.resize(read);
  return text;
}

}  // namespace signerctl
