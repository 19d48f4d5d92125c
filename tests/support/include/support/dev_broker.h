// Starts kafka-dev-broker beside a test and reads the bootstrap address its first line announces.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"
#include "support/process.h"

namespace support {

// DevBroker is a running kafka-dev-broker and the address its clients bootstrap from. Its stdin is
// a pipe, so a test can send the broker's commands ("down 1", "up all") with process.Write and read
// each one-line answer with process.ReadLine. Destroying it kills the broker (ChildProcess).
struct DevBroker {
  ChildProcess process;
  // HOST:PORT[,HOST:PORT...], as librdkafka's bootstrap.servers takes it.
  std::string bootstrap;
};

// StartDevBroker starts the program the test registered as "kafka-dev-broker" (signer_locations)
// with `arguments` and waits for its first line, `kafka-dev-broker bootstrap=ADDRESS (development
// and test only)`. The broker's stderr is appended to `stderr_file`, or shares the test's stderr
// when it is empty. Fails with kUnavailable if the broker cannot be started or prints nothing in
// time, and with kInternal if its first line breaks that contract; the message quotes the line, or
// the stderr file when the broker said nothing.
base::Result<DevBroker> StartDevBroker(const std::vector<std::string>& arguments = {},
                                       const std::filesystem::path& stderr_file = {});

}  // namespace support
