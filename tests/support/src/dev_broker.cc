// StartDevBroker: the broker started with its stdin on a pipe, its first line checked and parsed.
#include "support/dev_broker.h"

#include <chrono>
#include <optional>
#include <string_view>
#include <utility>

#include "support/files.h"
#include "support/locations.h"

namespace support {
namespace {

// A loaded machine running sanitizer builds can take tens of seconds to bring the mock cluster up.
constexpr std::chrono::seconds kFirstLineTimeout{60};

constexpr std::string_view kPrefix = "kafka-dev-broker bootstrap=";
constexpr std::string_view kSuffix = " (development and test only)";

// BootstrapOf returns the address in the broker's first line; nullopt if the line is not
// `<kPrefix>ADDRESS<kSuffix>` with a non-empty address.
std::optional<std::string> BootstrapOf(std::string_view line) {
  if (!line.starts_with(kPrefix) || !line.ends_with(kSuffix)) return std::nullopt;
  if (line.size() <= kPrefix.size() + kSuffix.size()) return std::nullopt;
  return std::string(line.substr(kPrefix.size(), line.size() - kPrefix.size() - kSuffix.size()));
}

}  // namespace

base::Result<DevBroker> StartDevBroker(const std::vector<std::string>& arguments,
                                       const std::filesystem::path& stderr_file) {
  std::vector<std::string> argv = {Location("kafka-dev-broker")};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  ChildOptions options;
  // The broker reads its down/up commands from stdin, and keeps running when stdin closes.
  options.pipe_stdin = true;
  options.stderr_file = stderr_file;
  SIGNER_ASSIGN_OR_RETURN(ChildProcess process, ChildProcess::Start(argv, options));
  const std::optional<std::string> first = process.ReadLine(kFirstLineTimeout);
  if (!first.has_value()) {
    std::string message = "kafka-dev-broker said nothing";
    if (!stderr_file.empty()) message += "; its stderr:\n" + ReadFile(stderr_file);
    return base::Status::Unavailable(std::move(message));
  }
  std::optional<std::string> bootstrap = BootstrapOf(*first);
  if (!bootstrap.has_value()) {
    return base::Status::Internal("kafka-dev-broker's first line is not its bootstrap line: " +
                                  *first);
  }
  return DevBroker{std::move(process), std::move(*bootstrap)};
}

}  // namespace support
