// signerctl history commands (being written).
#include "ctl_command.h"

namespace signerctl {

void RegisterHistoryCommands(CLI::App& /*app*/, CommandTable& /*table*/) {}

}  // namespace signerctl
