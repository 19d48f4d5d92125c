// signerctl audit commands (being written).
#include "ctl_command.h"

namespace signerctl {

void RegisterAuditCommands(CLI::App& /*app*/, CommandTable& /*table*/) {}

}  // namespace signerctl
