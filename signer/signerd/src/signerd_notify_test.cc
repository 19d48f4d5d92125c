// signerd under a fake systemd: READY=1 reaches NOTIFY_SOCKET only once signerd serves, and the
// watchdog is pinged while it catches up and while it serves.
//
// Each test makes a dev signer with the built signerctl (`dev init`), binds a unix datagram socket
// as systemd would, and runs the built signerd with NOTIFY_SOCKET and WATCHDOG_USEC pointing at it.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/file_descriptor.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// Short enough that a test sees several pings in a few seconds, long enough for a loaded machine.
constexpr char kWatchdogUsec[] = "400000";
constexpr milliseconds kStartupBound{30'000};

// NotifySocket is the service manager's end: a bound unix datagram socket that collects what
// signerd sends.
class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& path) : path_(path) {
    fd_.Reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string text = path.string();
    bound_ = fd_.get() >= 0 && text.size() < sizeof(address.sun_path);
    if (bound_) {
      std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
      bound_ = ::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    }
  }

  bool bound() const { return bound_; }
  const fs::path& path() const { return path_; }

  // WaitFor reads datagrams until one has `line` as one of its lines, for at most `timeout`.
  // True when it came; every datagram read (that one included) is appended to received().
  bool WaitFor(const std::string& line, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd readable{fd_.get(), POLLIN, 0};
      if (::poll(&readable, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t size = ::recv(fd_.get(), buffer, sizeof(buffer), 0);
      if (size <= 0) continue;
      received_.emplace_back(buffer, static_cast<size_t>(size));
      if (HasLine(received_.back(), line)) return true;
    }
  }

  // Count is how many datagrams received so far have `line` as one of their lines.
  int Count(const std::string& line) const {
    int count = 0;
    for (const std::string& message : received_) count += HasLine(message, line) ? 1 : 0;
    return count;
  }

  // Describe lists what was received, for failure messages.
  std::string Describe() const {
    std::string text;
    for (const std::string& message : received_) text += "[" + message + "] ";
    return text;
  }

 private:
  static bool HasLine(const std::string& message, const std::string& line) {
    size_t start = 0;
    while (start <= message.size()) {
      const size_t end = std::min(message.find('\n', start), message.size());
      if (message.compare(start, end - start, line) == 0) return true;
      start = end + 1;
    }
    return false;
  }

  fs::path path_;
  base::FileDescriptor fd_;
  bool bound_ = false;
  std::vector<std::string> received_;
};

class SignerdNotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    support::ProcessOptions options;
    options.unset_env = {"SOFTHSM2_CONF"};
    const support::ProcessResult init = support::ResultOrStartFailure(
        support::RunProcess({support::Location("signerctl"), "dev", "init", "--dir",
                             dev_dir().string(), "--module", SIGNER_SOFTHSM2_MODULE},
                            options));
    ASSERT_EQ(init.exit_code, 0) << init.Describe();
    ASSERT_TRUE(socket_.bound()) << "cannot bind " << socket_.path();
  }

  fs::path dev_dir() const { return dir_ / "dev"; }

  // WriteConfig writes the dev config with a free port and `extra` appended, and returns its path.
  fs::path WriteConfig(const std::string& extra) {
    std::string config = support::ReadFile(dev_dir() / "signerd.yaml");
    const size_t listen = config.find("  listen: ");
    EXPECT_NE(listen, std::string::npos) << config;
    config.replace(listen, config.find('\n', listen) - listen, "  listen: \"127.0.0.1:0\"");
    fs::path path = dir_ / "signerd-notify.yaml";
    EXPECT_TRUE(support::WriteFile(path, config + extra, 0600).ok());
    return path;
  }

  // StartSignerd runs the built signerd on `config` as a Type=notify unit with a watchdog would.
  support::ChildProcess StartSignerd(const fs::path& config) {
    support::ChildOptions options;
    options.set_env = {"NOTIFY_SOCKET=" + socket_.path().string(),
                       std::string("WATCHDOG_USEC=") + kWatchdogUsec,
                       "SOFTHSM2_CONF=" + (dev_dir() / "softhsm2.conf").string()};
    options.unset_env = {"WATCHDOG_PID"};
    options.stderr_file = dir_ / "signerd.log";
    auto child = support::ChildProcess::Start(
        {support::Location("signerd"), "--config", config.string()}, options);
    EXPECT_TRUE(child.ok()) << child.status().message();
    return std::move(*child);
  }

  std::string Log() const { return support::ReadFile(dir_ / "signerd.log"); }

  support::TempDir dir_{"signerd_notify_test"};
  NotifySocket socket_{dir_ / "notify.sock"};
};

TEST_F(SignerdNotifyTest, ReadyComesOnceServingThenTheWatchdogIsPingedAndStoppingOnSigterm) {
  support::ChildProcess signerd = StartSignerd(WriteConfig(""));

  ASSERT_TRUE(socket_.WaitFor("READY=1", kStartupBound)) << socket_.Describe() << Log();
  // The signer answers as soon as it said it is ready: the demo's signatures and refusals pass.
  const std::optional<std::string> listening = signerd.ReadLine(kStartupBound);
  ASSERT_TRUE(listening && listening->starts_with("signerd listening on ")) << Log();
  const std::string target = listening->substr(std::strlen("signerd listening on "));
  const support::ProcessResult demo = support::ResultOrStartFailure(
      support::RunProcess({support::Location("signerctl"), "demo", "--dev-dir", dev_dir().string(),
                           "--target", target}));
  EXPECT_EQ(demo.exit_code, 0) << demo.Describe();

  // While serving, the watchdog is pinged (twice, so the pings repeat, not only once).
  EXPECT_TRUE(socket_.WaitFor("WATCHDOG=1", kStartupBound)) << socket_.Describe();
  EXPECT_TRUE(socket_.WaitFor("WATCHDOG=1", kStartupBound)) << socket_.Describe();

  ASSERT_TRUE(signerd.Signal(SIGTERM).ok());
  EXPECT_TRUE(socket_.WaitFor("STOPPING=1", kStartupBound)) << socket_.Describe();
  EXPECT_EQ(signerd.Wait(), 0) << Log();
  EXPECT_EQ(socket_.Count("READY=1"), 1) << socket_.Describe();
}

TEST_F(SignerdNotifyTest, NoReadyWhileTheHistoryCannotCatchUpButTheWatchdogKeepsBeingPinged) {
  // A replicated signer whose brokers do not answer cannot catch up with the claims topic, so it
  // must never report READY=1, while showing systemd it is alive and why it is not serving.
  const std::string kafka =
      "kafka:\n"
      "  brokers: \"127.0.0.1:1\"\n";
  support::ChildProcess signerd = StartSignerd(WriteConfig(kafka));

  ASSERT_TRUE(socket_.WaitFor("WATCHDOG=1", kStartupBound)) << socket_.Describe() << Log();
  ASSERT_TRUE(socket_.WaitFor("WATCHDOG=1", kStartupBound)) << socket_.Describe() << Log();
  ASSERT_TRUE(socket_.WaitFor("WATCHDOG=1", kStartupBound)) << socket_.Describe() << Log();
  EXPECT_EQ(socket_.Count("READY=1"), 0) << socket_.Describe();
  EXPECT_NE(socket_.Describe().find("STATUS=not serving yet"), std::string::npos)
      << socket_.Describe();

  ASSERT_TRUE(signerd.Signal(SIGTERM).ok());
  EXPECT_TRUE(socket_.WaitFor("STOPPING=1", kStartupBound)) << socket_.Describe();
  EXPECT_EQ(signerd.Wait(), 0) << Log();
  EXPECT_EQ(socket_.Count("READY=1"), 0) << socket_.Describe();
}

}  // namespace
