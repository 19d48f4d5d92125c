// signerctl keys commands (being written).
#include "ctl_command.h"

namespace signerctl {

void RegisterKeysCommands(CLI::App& /*app*/, CommandTable& /*table*/) {}

}  // namespace signerctl
