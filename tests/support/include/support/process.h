// Runs programs for tests from an argv vector (never through a shell), to completion or alongside.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace support {

// ProcessOptions says how a child's environment and standard input differ from this process's.
struct ProcessOptions {
  // Names of inherited variables the child does not get (the machine's SOFTHSM2_CONF, say).
  std::vector<std::string> unset_env;
  // NAME=value entries that replace or add variables.
  std::vector<std::string> set_env;
  // RunProcess writes this to the child's stdin and closes it; without it stdin is /dev/null.
  std::optional<std::string> stdin_text;
  // RunProcess kills the child (SIGKILL) once this has passed and reports timed_out.
  std::optional<std::chrono::milliseconds> timeout;
};

// ProcessResult is how a finished child ended and everything it wrote.
struct ProcessResult {
  int exit_code = -1;  // its exit status, or minus the signal that ended it
  bool timed_out = false;
  std::string out;
  std::string err;

  // Describe renders the result for a failure message.
  std::string Describe() const;
  // Json parses stdout; a discarded value (is_discarded()) when it is not JSON.
  nlohmann::json Json() const;
};

// RunProcess runs argv[0] (looked up in PATH unless it contains a slash) with the other elements
// as its arguments, waits for it, and captures stdout and stderr. Fails with kInvalidArgument on
// an empty argv and kUnavailable when the program cannot be started.
base::Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                       const ProcessOptions& options = {});

// ResultOrStartFailure turns a failure to start into a result with exit code -1 and the reason on
// err, for tests whose assertions on exit_code (printing Describe()) then report it like any other
// unexpected outcome.
ProcessResult ResultOrStartFailure(base::Result<ProcessResult> run);

// ChildOptions says how a ChildProcess is wired.
struct ChildOptions {
  std::vector<std::string> unset_env;  // as in ProcessOptions
  std::vector<std::string> set_env;    // as in ProcessOptions
  // pipe_stdin gives the test a pipe to the child's stdin (Write, CloseStdin); otherwise it reads
  // /dev/null.
  bool pipe_stdin = false;
  // The child's stderr is appended to this file; empty: it shares the test's stderr.
  std::filesystem::path stderr_file;
};

// ChildProcess is a program running beside the test, its stdout on a pipe the test reads. The
// destructor kills (SIGKILL) and reaps a child that is still running. Move-only. ReadLine and
// ReadSome may run on one thread while Signal, Running and Wait run on another.
class ChildProcess {
 public:
  // Start starts argv[0] as RunProcess does. Fails with kInvalidArgument on an empty argv and
  // kUnavailable when the program cannot be started.
  static base::Result<ChildProcess> Start(const std::vector<std::string>& argv,
                                          const ChildOptions& options = {});
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }

  // ReadLine returns the next line of stdout without its newline; nullopt if none is complete
  // within `timeout` or stdout has ended.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  // ReadSome returns what stdout holds within `timeout`: an empty string if nothing came in time,
  // nullopt once stdout has ended and nothing is left.
  std::optional<std::string> ReadSome(std::chrono::milliseconds timeout);
  // CloseStdout stops reading; the child gets SIGPIPE if it writes to stdout afterwards.
  void CloseStdout();

  // Write sends `text` to the child's stdin. Fails with kFailedPrecondition without pipe_stdin or
  // after CloseStdin, kUnavailable if the child stopped reading.
  base::Status Write(const std::string& text);
  // CloseStdin closes the pipe to the child's stdin, which then reads end of file.
  void CloseStdin();

  // Signal sends `signal` to the child. Fails with kFailedPrecondition once it has been reaped.
  base::Status Signal(int signal);
  // Running is true until the child has exited; an exited child is reaped here.
  bool Running();
  // Wait waits for the child and returns its exit status, or minus the signal that ended it.
  int Wait();
  // Stop sends `signal` (unless the child has already exited) and waits, as Wait returns.
  int Stop(int signal);

 private:
  ChildProcess() = default;
  // End kills and reaps a child still running and closes the pipes.
  void End();
  // TakeLine moves the first complete line out of the buffer, if there is one.
  std::optional<std::string> TakeLine();
  // Fill reads once from stdout within `timeout`: false at end of output or on timeout.
  bool Fill(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  bool stdout_ended_ = false;
  std::string buffer_;
};

}  // namespace support
