// End-to-end tests of the mutual-TLS gRPC credentials: a real server on 127.0.0.1:0, real clients.
#include "tls/grpc_credentials.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>

#include "support/bytes.h"
#include "support/dev_pki.h"
#include "support/files.h"
#include "support/loopback.h"
#include "support/temp_dir.h"
#include "tls/dev_pki.h"

namespace tls {
namespace {

using support::AsBytes;
using support::ReadFile;
using support::TempDir;

constexpr char kIdentityMethod[] = "/test.Identity/Who";
constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";

// IdentityService answers every generic call with the caller's identity, as signerd will see it.
class IdentityService : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    ++calls;
    return new Reactor(context);
  }
  std::atomic<int> calls{0};

 private:
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(grpc::GenericCallbackServerContext* context) {
      auto identity = PeerIdentity(*context->auth_context());
      const std::string text = identity.ok() ? identity.value() : "denied";
      grpc::Slice slice(text);
      response_ = grpc::ByteBuffer(&slice, 1);
      StartRead(&request_);
    }
    void OnReadDone(bool /*ok*/) override {
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };
};

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) {
    return {};
  }
  std::string text;
  for (const grpc::Slice& slice : slices) {
    text.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return text;
}

struct CallResult {
  grpc::Status status;
  std::string response;
  std::string server_certificate_pem;  // as the client saw it in the handshake
};

// Connect opens a channel with `files`; an empty certificate means none is presented.
std::shared_ptr<grpc::Channel> Connect(int port, const ClientCredentialFiles& files) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(files.server_ca);
  if (!files.certificate.empty()) {
    options.pem_cert_chain = ReadFile(files.certificate);
    options.pem_private_key = ReadFile(files.private_key);
  }
  grpc::ChannelArguments arguments;
  // Each channel gets its own connection, so "a new connection" really is one.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  arguments.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::SslCredentials(options), arguments);
}

CallResult Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  // Generous for a sanitizer build on a busy 2-core machine: a refused handshake fails at once
  // (the call does not wait for the channel to become ready), so this bounds only slowness.
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  // An empty message is a valid HealthCheckRequest; gRPC needs it as a real (empty) slice.
  grpc::Slice empty;
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  CallResult result;
  result.status = done.get_future().get();
  result.response = ToString(response);
  if (result.status.ok()) {
    auto properties = context.auth_context()->FindPropertyValues("x509_pem_cert");
    if (!properties.empty()) {
      result.server_certificate_pem.assign(properties.front().data(), properties.front().size());
    }
  }
  return result;
}

std::string SerialOf(const std::string& pem) {
  auto info = InspectCertificate(AsBytes(pem));
  return info.ok() ? info->serial_hex : "unreadable";
}

// RawHandshake connects with OpenSSL directly so the TLS version can be forced. Returns the
// negotiated version, or 0 if the handshake failed.
// `out_reason`, if given, receives the OpenSSL reason code of a failure, and `out_bytes_sent` how
// many bytes the client wrote (a ClientHello was sent if non-zero).
int RawHandshake(int port, const ClientCredentialFiles& files, int max_version,
                 int* out_reason = nullptr, uint64_t* out_bytes_sent = nullptr) {
  const base::Result<int> connected = support::ConnectToLoopback(port);
  if (!connected.ok()) return -1;
  const int fd = *connected;
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  // The server's process-wide TLS 1.3-only default applies to this client context too; undo it,
  // so that a refused TLS 1.2 handshake is the server's refusal, not this client's.
  SSL_CTX_clear_options(context, SSL_OP_NO_TLSv1_2);
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(context, max_version);
  SSL_CTX_use_certificate_chain_file(context, files.certificate.c_str());
  SSL_CTX_use_PrivateKey_file(context, files.private_key.c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_load_verify_locations(context, files.server_ca.c_str(), nullptr);
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(context, kAlpn, sizeof(kAlpn));
  SSL* ssl = SSL_new(context);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  const int version = SSL_connect(ssl) == 1 ? SSL_version(ssl) : 0;
  if (out_reason != nullptr) {
    *out_reason = ERR_GET_REASON(ERR_peek_last_error());
  }
  if (out_bytes_sent != nullptr) {
    *out_bytes_sent = BIO_number_written(SSL_get_wbio(ssl));
  }
  ERR_clear_error();
  SSL_free(ssl);
  SSL_CTX_free(context);
  ::close(fd);
  return version;
}

class MutualTlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(support::MakeDevPki(pki_.path(), {"validator-alice", "intruder"}).ok());
    ASSERT_TRUE(support::MakeDevPki(other_pki_.path(), {"validator-alice"}).ok());

    auto credentials = ReloadableServerCredentials::Create(support::DevPkiServerFiles(pki_.path()));
    ASSERT_TRUE(credentials.ok()) << credentials.status().message();
    credentials_ = std::move(credentials.value());

    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials_->GrpcCredentials(), &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_ != nullptr);
    ASSERT_GT(port_, 0);
  }

  void TearDown() override {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    }
  }

  ClientCredentialFiles Client(const TempDir& pki, const std::string& identity) const {
    return support::DevPkiClientFiles(pki.path(), identity);
  }

  TempDir pki_;
  TempDir other_pki_;
  std::unique_ptr<ReloadableServerCredentials> credentials_;
  IdentityService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(MutualTlsServerTest, ClientWithCertificateIsServedAndIdentified) {
  auto channel = Connect(port_, Client(pki_, "validator-alice"));
  const CallResult identity = Call(channel, kIdentityMethod);
  ASSERT_TRUE(identity.status.ok()) << identity.status.error_message();
  EXPECT_EQ(identity.response, "validator-alice");
  EXPECT_EQ(SerialOf(identity.server_certificate_pem),
            SerialOf(ReadFile(pki_.path() / "server.crt")));

  // HealthCheckResponse{status: SERVING} is field 1 (varint) = 1, per grpc/health/v1/health.proto.
  const CallResult health = Call(channel, kHealthCheckMethod);
  ASSERT_TRUE(health.status.ok()) << health.status.error_message();
  EXPECT_EQ(health.response, std::string("\x08\x01", 2));

  const CallResult intruder = Call(Connect(port_, Client(pki_, "intruder")), kIdentityMethod);
  ASSERT_TRUE(intruder.status.ok()) << intruder.status.error_message();
  EXPECT_EQ(intruder.response, "intruder");
}

// The server remembers identities by certificate bytes: calls interleaved from two clients, each
// over two channels, must each get their own certificate's identity every time.
TEST_F(MutualTlsServerTest, InterleavedCallsKeepEachClientsOwnIdentity) {
  const std::vector<std::pair<std::shared_ptr<grpc::Channel>, std::string>> callers = {
      {Connect(port_, Client(pki_, "validator-alice")), "validator-alice"},
      {Connect(port_, Client(pki_, "intruder")), "intruder"},
      {Connect(port_, Client(pki_, "validator-alice")), "validator-alice"},
      {Connect(port_, Client(pki_, "intruder")), "intruder"},
  };
  for (int round = 0; round < 3; ++round) {
    for (const auto& [channel, expected] : callers) {
      const CallResult identity = Call(channel, kIdentityMethod);
      ASSERT_TRUE(identity.status.ok()) << identity.status.error_message();
      EXPECT_EQ(identity.response, expected) << "round " << round;
    }
  }
}

TEST_F(MutualTlsServerTest, ClientWithoutCertificateFailsTheHandshake) {
  ClientCredentialFiles files = Client(pki_, "validator-alice");
  files.certificate.clear();
  const CallResult result = Call(Connect(port_, files), kHealthCheckMethod);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(service_.calls.load(), 0);
}

TEST_F(MutualTlsServerTest, ClientCertificateFromAnotherCaFailsTheHandshake) {
  // The client trusts our server but presents a certificate our CA never signed.
  ClientCredentialFiles files = Client(other_pki_, "validator-alice");
  files.server_ca = pki_.path() / "ca.crt";
  const CallResult result = Call(Connect(port_, files), kIdentityMethod);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(service_.calls.load(), 0);
}

TEST_F(MutualTlsServerTest, OnlyTls13IsAccepted) {
  const ClientCredentialFiles files = Client(pki_, "validator-alice");
  EXPECT_EQ(RawHandshake(port_, files, TLS1_3_VERSION), TLS1_3_VERSION);
  int reason = 0;
  uint64_t bytes_sent = 0;
  EXPECT_EQ(RawHandshake(port_, files, TLS1_2_VERSION, &reason, &bytes_sent), 0);
  // The client did offer TLS 1.2 (it sent a ClientHello), and the server ended the handshake:
  // gRPC drops the connection, sometimes before its protocol_version alert is flushed.
  EXPECT_GT(bytes_sent, 0u);
  EXPECT_TRUE(reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
              reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
      << ERR_reason_error_string(static_cast<unsigned long>(ERR_PACK(ERR_LIB_SSL, 0, reason)));
}

TEST_F(MutualTlsServerTest, ReloadServesNewCertificatesWithoutDroppingTheListener) {
  auto old_channel = Connect(port_, Client(pki_, "validator-alice"));
  ASSERT_TRUE(Call(old_channel, kIdentityMethod).status.ok());
  EXPECT_EQ(credentials_->Generation(), 1u);

  // Switch the server to the other PKI, file by file, as an operator would, then reload.
  for (const char* name : {"ca.crt", "server.crt", "server.key"}) {
    ASSERT_TRUE(support::WriteFile(pki_.path() / name, ReadFile(other_pki_.path() / name),
                                   std::string(name).ends_with(".key") ? 0600 : 0644)
                    .ok());
  }
  ASSERT_TRUE(credentials_->Reload().ok());
  EXPECT_EQ(credentials_->Generation(), 2u);
  EXPECT_EQ(credentials_->ServerCertificate().serial_hex,
            SerialOf(ReadFile(other_pki_.path() / "server.crt")));

  const CallResult renewed =
      Call(Connect(port_, Client(other_pki_, "validator-alice")), kIdentityMethod);
  ASSERT_TRUE(renewed.status.ok()) << renewed.status.error_message();
  EXPECT_EQ(renewed.response, "validator-alice");
  EXPECT_EQ(SerialOf(renewed.server_certificate_pem),
            SerialOf(ReadFile(other_pki_.path() / "server.crt")));

  // The old CA is no longer trusted for new connections...
  EXPECT_FALSE(Call(Connect(port_, Client(pki_, "intruder")), kIdentityMethod).status.ok());
  // ...while the connection made before the reload keeps working.
  EXPECT_TRUE(Call(old_channel, kIdentityMethod).status.ok());
}

TEST_F(MutualTlsServerTest, FailedReloadKeepsTheCurrentCredentials) {
  const std::string original_serial = credentials_->ServerCertificate().serial_hex;
  // A new certificate whose key was not replaced: the pair does not match.
  ASSERT_TRUE(support::WriteFile(pki_.path() / "server.crt",
                                 ReadFile(other_pki_.path() / "server.crt"), 0644)
                  .ok());
  const base::Status status = credentials_->Reload();
  EXPECT_EQ(status.code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(credentials_->Generation(), 1u);
  EXPECT_EQ(credentials_->ServerCertificate().serial_hex, original_serial);

  const CallResult result = Call(Connect(port_, Client(pki_, "validator-alice")), kIdentityMethod);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(SerialOf(result.server_certificate_pem), original_serial);

  std::filesystem::remove(pki_.path() / "server.key");
  EXPECT_EQ(credentials_->Reload().code(), base::StatusCode::kNotFound);
  EXPECT_TRUE(Call(Connect(port_, Client(pki_, "validator-alice")), kIdentityMethod).status.ok());
}

TEST_F(MutualTlsServerTest, ReloadWhileClientsConnect) {
  // Reloads race new handshakes (each reading the current credentials); run under TSan this shows
  // the hand-over is properly locked. Both PKIs' clients stay acceptable: the files do not change.
  std::atomic<bool> stop{false};
  // The reloader pauses a millisecond between reloads: still hundreds of reloads across the
  // handshakes, without taking a whole core from them (which, under a sanitizer on two cores,
  // made handshakes miss their deadline).
  std::thread reloader([&] {
    while (!stop.load()) {
      EXPECT_TRUE(credentials_->Reload().ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  int served = 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    const CallResult result =
        Call(Connect(port_, Client(pki_, "validator-alice")), kIdentityMethod);
    served += result.status.ok() && result.response == "validator-alice" ? 1 : 0;
  }
  stop = true;
  reloader.join();
  EXPECT_EQ(served, 20);
  EXPECT_GT(credentials_->Generation(), 1u);
}

TEST_F(MutualTlsServerTest, ClientChannelCredentialsConnect) {
  auto credentials =
      ClientChannelCredentials({pki_.path() / "ca.crt", pki_.path() / "validator-alice.crt",
                                pki_.path() / "validator-alice.key"});
  ASSERT_TRUE(credentials.ok()) << credentials.status().message();
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("localhost");
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_),
                                           credentials.value(), arguments);
  const CallResult result = Call(channel, kIdentityMethod);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.response, "validator-alice");

  auto mismatched = ClientChannelCredentials(
      {pki_.path() / "ca.crt", pki_.path() / "validator-alice.crt", pki_.path() / "intruder.key"});
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.status().code(), base::StatusCode::kInvalidArgument);
  auto missing = ClientChannelCredentials(
      {pki_.path() / "absent.crt", pki_.path() / "intruder.crt", pki_.path() / "intruder.key"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);
}

TEST_F(MutualTlsServerTest, ExpiryDaysFollowTheCurrentCertificates) {
  const auto now = std::chrono::system_clock::now();
  const auto days = credentials_->DaysUntilExpiry(now);
  // The dev PKI's certificates run 365 days from five minutes before they were made.
  EXPECT_GT(days.server, 364.9);
  EXPECT_LE(days.server, 365.0);
  EXPECT_DOUBLE_EQ(days.ca, days.server);
  EXPECT_NEAR(credentials_->DaysUntilExpiry(now + std::chrono::hours(24 * 400)).server,
              days.server - 400, 1e-6);
}

TEST(ReloadableServerCredentials, CreateRefusesInvalidFiles) {
  TempDir pki;
  ASSERT_TRUE(support::MakeDevPki(pki.path(), {"validator-alice"}).ok());
  auto mismatched = ReloadableServerCredentials::Create(
      {pki.path() / "server.crt", pki.path() / "validator-alice.key", pki.path() / "ca.crt"});
  EXPECT_FALSE(mismatched.ok());
}

}  // namespace
}  // namespace tls
