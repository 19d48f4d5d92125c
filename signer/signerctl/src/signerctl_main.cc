// signerctl entry point: parses the command line, runs one command, enforces the output contract.
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "base/process_hardening.h"
#include "ctl_command.h"

namespace signerctl {
namespace {

// OneLine keeps an error to a single stderr line whatever text went into it.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  while (!text.empty() && text.back() == ' ') {
    text.pop_back();
  }
  return text;
}

// RedactArguments removes command-line values from a CLI11 message. CLI11 quotes the arguments it
// could not place, and a misplaced argument may be a SURI, so no value is ever echoed back.
std::string RedactArguments(std::string message, int argc, char** argv) {
  std::vector<std::string_view> values;
  for (int i = 1; i < argc; ++i) {
    std::string_view argument(argv[i]);
    if (argument.starts_with("-")) {
      size_t equals = argument.find('=');
      if (equals == std::string_view::npos) {
        continue;
      }
      argument.remove_prefix(equals + 1);
    }
    if (argument.size() >= 2) {
      values.push_back(argument);
    }
  }
  for (std::string_view value : values) {
    for (size_t at = message.find(value); at != std::string::npos;
         at = message.find(value, at + 1)) {
      message.replace(at, value.size(), "<value>");
    }
  }
  return message;
}

void PrintError(const std::string& message) {
  std::cerr << "signerctl: error: " << OneLine(message) << std::endl;
}

int Run(int argc, char** argv) {
  // Commands read SURIs, PINs and passphrases: no core file may hold them and no other process of
  // this user may attach or read this one's memory. Done first, before any input is read.
  if (const base::Status hardened = base::ForbidCoreDumps(); !hardened.ok()) {
    PrintError("cannot disable core dumps: " + hardened.message());
    return kExitUsage;
  }
  CLI::App app{
      "signerctl: operator tool of the remote signer.\n"
      "Secrets: pass a SURI with --suri-file or the SIGNER_SURI environment variable; an inline "
      "SURI on the command line is visible to other local users and is for development keys only.\n"
      "Exit codes: 0 success, 1 signature not valid, 2 bad input.",
      "signerctl"};
  app.require_subcommand(1);
  CommandTable table;
  RegisterCryptoCommands(app, table);
  RegisterKeysCommands(app, table);
  RegisterHistoryCommands(app, table);
  RegisterTlsCommands(app, table);
  RegisterAuditCommands(app, table);
  RegisterDemoCommands(app, table);
  RegisterDevCommands(app, table);
  RegisterThresholdCommands(app, table);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) {
      return app.exit(error);  // --help: usage text on stdout
    }
    if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
      PrintError("unexpected extra arguments (see --help)");
    } else {
      PrintError(RedactArguments(error.what(), argc, argv));
    }
    return kExitUsage;
  }

  Outcome outcome = table.RunParsed();
  if (!outcome.error.empty()) {
    PrintError(outcome.error);
  }
  if (!outcome.output.is_null()) {
    std::cout << outcome.output.dump() << std::endl;
  }
  return outcome.exit_code;
}

}  // namespace
}  // namespace signerctl

int main(int argc, char** argv) {
  // Nothing may escape as an uncaught exception (that would print an unbounded, possibly multi-line
  // message and abort); anything unexpected is reported as bad input without detail.
  try {
    return signerctl::Run(argc, argv);
  } catch (const std::exception&) {
    signerctl::PrintError("unexpected internal error");
  } catch (...) {
    signerctl::PrintError("unexpected internal error");
  }
  return signerctl::kExitUsage;
}
