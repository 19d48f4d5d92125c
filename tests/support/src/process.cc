// Child processes for tests: posix_spawnp with an explicit environment, pipes read under poll.
#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "base/file_descriptor.h"

extern char** environ;

namespace support {
namespace {

using Clock = std::chrono::steady_clock;

// After a timeout kill, output is still drained this long, so a grandchild that inherited the
// pipes cannot hold RunProcess forever.
constexpr std::chrono::milliseconds kDrainAfterKill{1000};

struct Pipe {
  base::FileDescriptor read;
  base::FileDescriptor write;
};

// MakePipe makes a pipe whose ends are not inherited by children (they get dup2'ed copies).
base::Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return base::Status::Unavailable(std::string("pipe2: ") + std::strerror(errno));
  }
  return Pipe{base::FileDescriptor(fds[0]), base::FileDescriptor(fds[1])};
}

std::string_view NameOf(std::string_view entry) { return entry.substr(0, entry.find('=')); }

// ChildEnvironment is this process's environment without `unset_env`, with `set_env` on top.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& unset_env,
                                          const std::vector<std::string>& set_env) {
  std::vector<std::string> out;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view name = NameOf(*entry);
    const bool unset = std::find(unset_env.begin(), unset_env.end(), name) != unset_env.end();
    const bool replaced = std::any_of(set_env.begin(), set_env.end(),
                                      [&](const std::string& set) { return NameOf(set) == name; });
    if (!unset && !replaced) out.emplace_back(*entry);
  }
  out.insert(out.end(), set_env.begin(), set_env.end());
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& text : strings) out.push_back(text.data());
  out.push_back(nullptr);
  return out;
}

// Wiring names the descriptors that become the child's stdin, stdout and stderr; -1 means
// /dev/null for stdin and "the test's own" for the other two.
struct Wiring {
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

base::Result<pid_t> Spawn(std::vector<std::string> argv, std::vector<std::string> env,
                          const Wiring& wiring) {
  if (argv.empty()) return base::Status::InvalidArgument("no program to run");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (wiring.stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, wiring.stdin_fd, STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  if (wiring.stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, wiring.stdout_fd, STDOUT_FILENO);
  }
  if (wiring.stderr_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, wiring.stderr_fd, STDERR_FILENO);
  }
  std::vector<char*> arg_pointers = Pointers(argv);
  std::vector<char*> env_pointers = Pointers(env);
  pid_t pid = -1;
  const int error = ::posix_spawnp(&pid, arg_pointers[0], &actions, nullptr, arg_pointers.data(),
                                   env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    return base::Status::Unavailable("cannot start " + argv[0] + ": " + std::strerror(error));
  }
  return pid;
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return -WTERMSIG(wait_status);
  return -1;
}

int Reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return ExitCodeOf(status);
}

// StdinFromText holds `text` in an anonymous in-memory file, read from its start: the child reads
// it at its own pace and no writer can block or take SIGPIPE.
base::Result<base::FileDescriptor> StdinFromText(const std::string& text) {
  base::FileDescriptor fd(::memfd_create("support-stdin", MFD_CLOEXEC));
  if (fd.get() < 0)
    return base::Status::Unavailable(std::string("memfd_create: ") + std::strerror(errno));
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t got = ::write(fd.get(), text.data() + written, text.size() - written);
    if (got <= 0) return base::Status::Unavailable(std::string("write: ") + std::strerror(errno));
    written += static_cast<size_t>(got);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
    return base::Status::Unavailable(std::string("lseek: ") + std::strerror(errno));
  }
  return fd;
}

int MillisecondsUntil(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1'000'000));
}

}  // namespace

std::string ProcessResult::Describe() const {
  return "exit " + std::to_string(exit_code) + (timed_out ? " (timed out)" : "") +
         "\nstdout: " + out + "\nstderr: " + err;
}

nlohmann::json ProcessResult::Json() const { return nlohmann::json::parse(out, nullptr, false); }

base::Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                       const ProcessOptions& options) {
  SIGNER_ASSIGN_OR_RETURN(Pipe out, MakePipe());
  SIGNER_ASSIGN_OR_RETURN(Pipe err, MakePipe());
  base::FileDescriptor stdin_fd;
  if (options.stdin_text.has_value()) {
    SIGNER_ASSIGN_OR_RETURN(stdin_fd, StdinFromText(*options.stdin_text));
  }
  SIGNER_ASSIGN_OR_RETURN(const pid_t pid,
                          Spawn(argv, ChildEnvironment(options.unset_env, options.set_env),
                                Wiring{stdin_fd.get(), out.write.get(), err.write.get()}));
  out.write.Reset();
  err.write.Reset();
  stdin_fd.Reset();

  ProcessResult result;
  std::optional<Clock::time_point> deadline;
  if (options.timeout.has_value()) deadline = Clock::now() + *options.timeout;
  pollfd fds[2] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const int wait_ms = deadline.has_value() ? MillisecondsUntil(*deadline) : -1;
    const int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    if (ready == 0) {
      if (result.timed_out) break;  // killed, and the drain time is up
      ::kill(pid, SIGKILL);
      result.timed_out = true;
      deadline = Clock::now() + kDrainAfterKill;
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char chunk[4096];
      const ssize_t got = ::read(fds[i].fd, chunk, sizeof(chunk));
      if (got > 0) {
        sinks[i]->append(chunk, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        fds[i].fd = -1;  // poll skips negative descriptors
      }
    }
  }
  result.exit_code = Reap(pid);
  return result;
}

ProcessResult ResultOrStartFailure(base::Result<ProcessResult> run) {
  if (run.ok()) return std::move(run).value();
  ProcessResult failed;
  failed.err = run.status().message();
  return failed;
}

base::Result<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                               const ChildOptions& options) {
  SIGNER_ASSIGN_OR_RETURN(Pipe out, MakePipe());
  Pipe in;
  if (options.pipe_stdin) {
    SIGNER_ASSIGN_OR_RETURN(in, MakePipe());
  }
  base::FileDescriptor err;
  if (!options.stderr_file.empty()) {
    err.Reset(::open(options.stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (err.get() < 0) {
      return base::Status::Unavailable("cannot open " + options.stderr_file.string() + ": " +
                                       std::strerror(errno));
    }
  }
  SIGNER_ASSIGN_OR_RETURN(const pid_t pid,
                          Spawn(argv, ChildEnvironment(options.unset_env, options.set_env),
                                Wiring{in.read.get(), out.write.get(), err.get()}));
  ChildProcess child;
  child.pid_ = pid;
  child.stdout_fd_ = out.read.Release();
  child.stdin_fd_ = in.write.Release();
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept { *this = std::move(other); }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    End();
    pid_ = std::exchange(other.pid_, -1);
    exit_code_ = std::exchange(other.exit_code_, std::nullopt);
    stdin_fd_ = std::exchange(other.stdin_fd_, -1);
    stdout_fd_ = std::exchange(other.stdout_fd_, -1);
    stdout_ended_ = other.stdout_ended_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

ChildProcess::~ChildProcess() { End(); }

void ChildProcess::End() {
  if (pid_ > 0 && !exit_code_.has_value()) {
    ::kill(pid_, SIGKILL);
    exit_code_ = Reap(pid_);
  }
  CloseStdin();
  CloseStdout();
}

std::optional<std::string> ChildProcess::TakeLine() {
  const size_t end = buffer_.find('\n');
  if (end == std::string::npos) return std::nullopt;
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, end + 1);
  return line;
}

bool ChildProcess::Fill(std::chrono::milliseconds timeout) {
  if (stdout_fd_ < 0 || stdout_ended_) return false;
  pollfd poll_fd{stdout_fd_, POLLIN, 0};
  const int wait_ms = static_cast<int>(std::max<int64_t>(timeout.count(), 0));
  if (::poll(&poll_fd, 1, wait_ms) <= 0) return false;
  char chunk[4096];
  const ssize_t got = ::read(stdout_fd_, chunk, sizeof(chunk));
  if (got < 0 && errno == EINTR) return true;
  if (got <= 0) {
    stdout_ended_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<size_t>(got));
  return true;
}

std::optional<std::string> ChildProcess::ReadLine(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    if (std::optional<std::string> line = TakeLine()) return line;
    if (stdout_fd_ < 0 || stdout_ended_ || Clock::now() >= deadline) return std::nullopt;
    Fill(std::chrono::milliseconds(MillisecondsUntil(deadline)));
  }
}

std::optional<std::string> ChildProcess::ReadSome(std::chrono::milliseconds timeout) {
  if (buffer_.empty()) Fill(timeout);
  if (buffer_.empty() && (stdout_fd_ < 0 || stdout_ended_)) return std::nullopt;
  return std::exchange(buffer_, std::string());
}

void ChildProcess::CloseStdout() {
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
}

base::Status ChildProcess::Write(const std::string& text) {
  if (stdin_fd_ < 0) return base::Status::FailedPrecondition("no pipe to the child's stdin");
  // A child that has exited makes write fail with EPIPE and raise SIGPIPE, which would end the
  // test: the signal is blocked on this thread and a pending one is taken back afterwards.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
  size_t written = 0;
  int error = 0;
  while (written < text.size()) {
    const ssize_t got = ::write(stdin_fd_, text.data() + written, text.size() - written);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      error = errno;
      break;
    }
    written += static_cast<size_t>(got);
  }
  if (error == EPIPE) {
    const timespec no_wait{0, 0};
    sigtimedwait(&pipe_signal, nullptr, &no_wait);
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (error != 0) {
    return base::Status::Unavailable(std::string("write to the child: ") + std::strerror(error));
  }
  return base::Status::Ok();
}

void ChildProcess::CloseStdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

base::Status ChildProcess::Signal(int signal) {
  if (pid_ <= 0 || exit_code_.has_value()) {
    return base::Status::FailedPrecondition("the child has already been reaped");
  }
  if (::kill(pid_, signal) != 0) {
    return base::Status::Unavailable(std::string("kill: ") + std::strerror(errno));
  }
  return base::Status::Ok();
}

bool ChildProcess::Running() {
  if (pid_ <= 0 || exit_code_.has_value()) return false;
  int status = 0;
  const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
  if (reaped == 0 || (reaped < 0 && errno == EINTR)) return true;
  exit_code_ = reaped == pid_ ? ExitCodeOf(status) : -1;
  return false;
}

int ChildProcess::Wait() {
  if (!exit_code_.has_value()) exit_code_ = pid_ > 0 ? Reap(pid_) : -1;
  return *exit_code_;
}

int ChildProcess::Stop(int signal) {
  if (Running()) (void)Signal(signal);
  return Wait();
}

}  // namespace support
