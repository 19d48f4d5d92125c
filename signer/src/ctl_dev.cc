// signerctl dev: one-command development setups.
#include "ctl_command.h"

namespace signerctl {

void RegisterDevCommands(CLI::App& /*app*/, CommandTable& /*table*/) {}

}  // namespace signerctl
