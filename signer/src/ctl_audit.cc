// signerctl audit commands: verify the hash chain of a signerd audit log (docs/signerd.md).
#include <memory>
#include <string>

#include "audit_log.h"
#include "ctl_command.h"

namespace signerctl {
namespace {

// RunVerify exits 0 when the whole chain verifies, kExitInvalid naming the first bad line when it
// does not, and kExitUsage when the file cannot be read.
Outcome RunVerify(const std::string& path) {
  auto report = signer::VerifyAuditFile(path);
  if (!report.ok()) {
    return Outcome::Usage(report.status().message());
  }
  nlohmann::ordered_json output;
  output["ok"] = report->ok;
  output["lines"] = report->lines;
  if (!report->ok) {
    output["first_bad_line"] = report->first_bad_line;
    output["problem"] = report->problem;
    return Outcome::Json(std::move(output), kExitInvalid);
  }
  output["last_hash"] = report->last_hash;
  return Outcome::Json(std::move(output));
}

}  // namespace

void RegisterAuditCommands(CLI::App& app, CommandTable& table) {
  CLI::App* audit = app.add_subcommand("audit", "signerd's hash-chained audit log");
  audit->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  CLI::App* verify = audit->add_subcommand(
      "verify", "check the hash chain of an audit log and report the first bad line");
  verify->add_option("file", *path, "audit log (JSON lines)")->required();
  table.Add(verify, [path] { return RunVerify(*path); });
}

}  // namespace signerctl
