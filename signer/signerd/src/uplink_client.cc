// The signer's side of SignerUplink: dial, authenticate the gateway, serve its call frames, redial.
#include "signerd/uplink_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <utility>

#include "signer_uplink.grpc.pb.h"
#include "tls/grpc_credentials.h"

namespace signer {

namespace pb = parity::polkadot::signer;

namespace {

// A call frame holds one request (at most 1 MiB, as on the listener) and a few small fields.
constexpr int kMaxFrameBytes = (1 << 20) + 4096;
constexpr size_t kMaxMethodLength = 128;

pb::UplinkFromSigner ReplyFrame(uint64_t call_id, const grpc::Status& status, std::string reply) {
  pb::UplinkFromSigner frame;
  pb::UplinkReply* out = frame.mutable_reply();
  out->set_call_id(call_id);
  out->set_code(static_cast<int32_t>(status.error_code()));
  out->set_message(status.error_message());
  out->set_response(std::move(reply));
  return frame;
}

}  // namespace

// Session is one stream: its context, the calls in flight on it, and the lock that makes its
// writes one at a time. Calls hold it (shared) until they reply, so a reply that comes after the
// stream ended finds it closed and is dropped instead of writing to a finished stream. The calls
// have a lock of their own, so a write waiting on the network never holds up the reader.
struct UplinkClient::Session {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<pb::UplinkFromSigner, pb::UplinkToSigner>> stream;

  base::Mutex mutex;
  std::map<uint64_t, bool> calls GUARDED_BY(mutex);  // call id -> cancelled

  base::Mutex write_mutex;
  bool closed GUARDED_BY(write_mutex) = false;  // no write after this
  // The status frame sent last, serialized.
  std::string last_status GUARDED_BY(write_mutex);

  // WriteStatus sends `frame` unless it says what the last status frame said.
  bool WriteStatus(const pb::UplinkFromSigner& frame) {
    std::string serialized = frame.SerializeAsString();
    base::MutexLock lock(write_mutex);
    if (closed) return false;
    if (serialized == last_status) return true;
    last_status = std::move(serialized);
    return stream->Write(frame);
  }
  // Write sends one frame unless the stream is closed; false when it could not.
  bool Write(const pb::UplinkFromSigner& frame) {
    base::MutexLock lock(write_mutex);
    if (closed) return false;
    return stream->Write(frame);
  }
  // Reply forgets the call and sends its answer.
  void Reply(uint64_t call_id, const grpc::Status& status, std::string reply) {
    {
      base::MutexLock lock(mutex);
      calls.erase(call_id);
    }
    Write(ReplyFrame(call_id, status, std::move(reply)));
  }
  bool Cancelled(uint64_t call_id) {
    base::MutexLock lock(mutex);
    auto call = calls.find(call_id);
    return call == calls.end() || call->second;
  }
  void Close() {
    base::MutexLock lock(write_mutex);
    closed = true;
  }
};

UplinkClient::UplinkClient(UplinkOptions options, KeystoreService& service, Describe describe)
    : options_(std::move(options)),
      service_(service),
      describe_(std::move(describe)),
      random_(std::random_device{}()) {
  thread_ = std::thread([this] { Run(); });
  status_thread_ = std::thread([this] { RefreshStatus(); });
}

UplinkClient::~UplinkClient() {
  std::shared_ptr<Session> session;
  {
    base::MutexLock lock(mutex_);
    stopping_ = true;
    session = current_;
  }
  if (session) session->context.TryCancel();
  wake_.SignalAll();
  thread_.join();
  status_thread_.join();
}

pb::UplinkFromSigner UplinkClient::StatusFrame() {
  pb::UplinkFromSigner frame;
  frame.mutable_status()->set_serving(serving_.load());
  // A signer that cannot say which history it decides against (a replicated signer whose
  // brokers are unreachable) is not serving, as far as the gateway is concerned.
  if (auto described = describe_(); described.ok()) {
    *frame.mutable_status()->mutable_signer() = std::move(*described);
  } else {
    frame.mutable_status()->set_serving(false);
  }
  return frame;
}

void UplinkClient::SetServing(bool serving) {
  serving_.store(serving);
  if (std::shared_ptr<Session> session = CurrentSession()) session->WriteStatus(StatusFrame());
}

std::shared_ptr<UplinkClient::Session> UplinkClient::CurrentSession() {
  base::MutexLock lock(mutex_);
  return current_;
}

bool UplinkClient::WaitForStop(std::chrono::milliseconds delay) {
  base::MutexLock lock(mutex_);
  const auto until = std::chrono::steady_clock::now() + delay;
  while (!stopping_) {
    if (!wake_.WaitUntil(mutex_, until)) break;
  }
  return stopping_;
}

void UplinkClient::RefreshStatus() {
  while (!WaitForStop(options_.status_interval)) {
    if (std::shared_ptr<Session> session = CurrentSession()) session->WriteStatus(StatusFrame());
  }
}

std::chrono::milliseconds UplinkClient::NextBackoff(std::chrono::milliseconds& backoff) {
  const std::chrono::milliseconds ceiling = backoff;
  backoff = std::min(backoff * 2, options_.max_backoff);
  std::uniform_int_distribution<int64_t> draw(ceiling.count() / 2, ceiling.count());
  return std::chrono::milliseconds(draw(random_));
}

void UplinkClient::Run() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  while (!WaitForStop(std::chrono::milliseconds(0))) {
    if (RunSession()) backoff = options_.min_backoff;
    if (WaitForStop(NextBackoff(backoff))) return;
    spdlog::info("event=uplink_dial gateway={}", options_.gateway);
  }
}

bool UplinkClient::RunSession() {
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride(options_.server_name);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options_.keepalive.count()));
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(options_.keepalive.count()));
  arguments.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // The stream may sit idle between calls for a long time: pings must go on regardless.
  arguments.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  arguments.SetMaxReceiveMessageSize(kMaxFrameBytes);
  // Every session dials afresh: a channel kept across sessions would hide a dead link behind its
  // own reconnect logic.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(options_.gateway, options_.credentials, arguments);
  auto stub = pb::SignerUplink::NewStub(channel);

  ++dials_;
  auto session = std::make_shared<Session>();
  session->context.set_wait_for_ready(false);
  session->stream = stub->Attach(&session->context);
  // Published only with its stream set: SetServing writes to the current session from another
  // thread. A stop that came first is honoured here, since the destructor could not cancel it.
  {
    base::MutexLock lock(mutex_);
    current_ = session;
    if (stopping_) session->context.TryCancel();
  }
  // Whatever happens below, the session is no longer current when this returns.
  struct Forget {
    UplinkClient& client;
    ~Forget() {
      base::MutexLock lock(client.mutex_);
      client.current_.reset();
    }
  } forget{*this};

  const pb::UplinkFromSigner hello = StatusFrame();
  // The gateway welcomes the stream once it has checked this signer's certificate against its
  // pool; a gateway that does not know this signer ends the stream instead.
  pb::UplinkToSigner frame;
  bool accepted =
      session->WriteStatus(hello) && session->stream->Read(&frame) && frame.has_welcome();
  // The identity every call is decided for: the gateway's certificate, as verified by this
  // connection's handshake (CA and server name), never anything the gateway sends.
  std::string identity;
  if (accepted) {
    auto peer = tls::PeerIdentity(*session->context.auth_context());
    if (peer.ok()) {
      identity = *peer;
      connected_.store(true);
      ++connects_;
      spdlog::info("event=uplink_connected gateway={} identity=\"{}\" as=\"{}\"", options_.gateway,
                   identity, frame.welcome().upstream().substr(0, 64));
    } else {
      spdlog::error(
          "event=uplink_refused gateway={} reason=\"the gateway's certificate has no "
          "identity: {}\"",
          options_.gateway, peer.status().message());
      accepted = false;
    }
  }
  while (accepted && session->stream->Read(&frame)) {
    if (frame.has_cancel()) {
      base::MutexLock lock(session->mutex);
      auto call = session->calls.find(frame.cancel().call_id());
      if (call != session->calls.end()) call->second = true;
      continue;
    }
    if (!frame.has_call()) {
      // A gateway that speaks another version of the protocol: nothing here can be trusted to
      // mean what it seems to, so the stream ends (and is dialed again).
      spdlog::error("event=uplink_protocol_error gateway={} reason=\"a frame of no known kind\"",
                    options_.gateway);
      break;
    }
    pb::UplinkCall& call = *frame.mutable_call();
    const uint64_t call_id = call.call_id();
    grpc::Status refused;
    {
      base::MutexLock lock(session->mutex);
      if (session->calls.contains(call_id)) {
        refused = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                               "call id " + std::to_string(call_id) + " is already in flight");
      } else if (session->calls.size() >= options_.max_calls_in_flight) {
        refused = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               "too many calls in flight on this uplink");
      } else if (call.method().size() > kMaxMethodLength) {
        refused = grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "method name too long");
      } else {
        session->calls.emplace(call_id, false);
      }
    }
    if (!refused.ok()) {
      spdlog::warn("event=uplink_call_refused gateway={} call_id={} reason=\"{}\"",
                   options_.gateway, call_id, refused.error_message());
      // The refusal carries the id but touches no call in flight: only Reply forgets a call.
      session->Write(ReplyFrame(call_id, refused, ""));
      continue;
    }
    SerializedCall serialized;
    serialized.method = std::move(*call.mutable_method());
    serialized.request = std::move(*call.mutable_request());
    serialized.identity = identity;
    serialized.deadline =
        std::chrono::system_clock::now() + std::chrono::milliseconds(call.timeout_ms());
    serialized.cancelled = [session, call_id] { return session->Cancelled(call_id); };
    service_.CallSerialized(std::move(serialized),
                            [session, call_id](const grpc::Status& status, std::string reply) {
                              session->Reply(call_id, status, std::move(reply));
                            });
  }
  const bool was_connected = accepted;
  session->Close();
  connected_.store(false);
  session->context.TryCancel();
  const grpc::Status ended = session->stream->Finish();
  if (was_connected) {
    spdlog::warn("event=uplink_disconnected gateway={} reason=\"{}\"", options_.gateway,
                 ended.error_message());
  } else {
    spdlog::warn("event=uplink_failed gateway={} code={} reason=\"{}\"", options_.gateway,
                 static_cast<int>(ended.error_code()), ended.error_message());
  }
  return was_connected;
}

}  // namespace signer
