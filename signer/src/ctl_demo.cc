// signerctl demo (being written).
#include "ctl_command.h"

namespace signerctl {

void RegisterDemoCommands(CLI::App& /*app*/, CommandTable& /*table*/) {}

}  // namespace signerctl
