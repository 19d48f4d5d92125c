// signerctl tls commands (being written).
#include "ctl_command.h"

namespace signerctl {

void RegisterTlsCommands(CLI::App& /*app*/, CommandTable& /*table*/) {}

}  // namespace signerctl
