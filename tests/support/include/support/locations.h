// Where a test program finds the programs and files its build registered for it (signer_locations).
#pragma once

#include <string>
#include <string_view>

namespace support {

// Location returns the path registered under `name` for this test program by the CMake function
// signer_locations (tests/support/CMakeLists.txt), which generates its definition. An unknown name
// is a mistake in the build files, so it ends the program with a message naming it.
std::string Location(std::string_view name);

}  // namespace support
