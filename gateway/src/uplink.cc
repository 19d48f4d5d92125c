// The gateway's side of SignerUplink: accept a dial-in signer's stream and send it the node's
// calls.
#include "gateway/uplink.h"

#include <grpcpp/alarm.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "gateway/log.h"
#include "tls/grpc_credentials.h"

namespace gateway {
namespace {

namespace pb = parity::polkadot::signer;

constexpr size_t kMaxHistoryIdSize = 512;

// StatusOf turns a reply frame's code and message back into a grpc::Status; a code outside gRPC's
// range is the signer's fault, and the node gets INTERNAL, never a success.
grpc::Status StatusOf(const pb::UplinkReply& reply) {
  const int32_t code = reply.code();
  if (code < 0 || code > static_cast<int32_t>(grpc::StatusCode::UNAUTHENTICATED)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "the signer sent an unknown status code");
  }
  return grpc::Status(static_cast<grpc::StatusCode>(code), reply.message());
}

}  // namespace

// UplinkStream is one accepted Attach stream: the frames waiting to be written (the callback API
// allows one write at a time), the calls in flight and the signer's last status. It outlives its
// reactor while calls or handles still point at it; then every operation fails UNAVAILABLE.
class UplinkStream : public std::enable_shared_from_this<UplinkStream> {
 public:
  using Reactor = grpc::ServerBidiReactor<pb::UplinkFromSigner, pb::UplinkToSigner>;

  UplinkStream(Reactor* reactor, grpc::CallbackServerContext* context, std::string upstream)
      : reactor_(reactor), context_(context), upstream_(std::move(upstream)) {}

  const std::string& upstream() const { return upstream_; }

  // Send queues `frame`; false when the stream is over.
  bool Send(pb::UplinkToSigner frame) {
    base::MutexLock lock(mutex_);
    if (closed_) return false;
    queue_.push_back(std::move(frame));
    if (!writing_) {
      writing_ = true;
      reactor_->StartWrite(&queue_.front());
    }
    return true;
  }

  // OnWriteDone drops the frame written and starts the next; a failed write means the stream is
  // going away (its read fails too, and that ends it).
  void OnWriteDone(bool ok) {
    bool finish = false;
    {
      base::MutexLock lock(mutex_);
      queue_.pop_front();
      if (ok && !closed_ && !queue_.empty()) {
        reactor_->StartWrite(&queue_.front());
        return;
      }
      writing_ = false;
      finish = closed_ && !finished_;
      if (finish) finished_ = true;
    }
    if (finish) reactor_->Finish(grpc::Status::OK);
  }

  // Close ends the stream: no more writes, every call in flight fails UNAVAILABLE with `why`,
  // and the reactor is finished once no write is outstanding.
  void Close(const std::string& why) {
    std::map<uint64_t, Pending> pending;
    bool finish = false;
    {
      base::MutexLock lock(mutex_);
      if (!closed_) {
        closed_ = true;
        pending.swap(pending_);
      }
      finish = !writing_ && !finished_;
      if (finish) finished_ = true;
    }
    if (finish) reactor_->Finish(grpc::Status::OK);
    for (auto& [id, call] : pending) {
      if (call.alarm) call.alarm->Cancel();
      call.done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "signer " + upstream_ + ": " + why),
                "");
    }
  }

  // End cancels the stream (a newer one of the same signer takes its place, or the signer left
  // the pool) and fails its calls with `why`.
  void End(const std::string& why) {
    {
      // Under the lock, and only while open: the reactor (and its context) lives until Close.
      base::MutexLock lock(mutex_);
      if (!closed_) context_->TryCancel();
    }
    Close(why);
  }

  // Start sends a call and remembers it until its reply, deadline or cancellation; 0 when the
  // stream is over (`done` has run with UNAVAILABLE then).
  uint64_t Start(const std::string& method, std::string request,
                 std::chrono::system_clock::time_point deadline, DialIn::Done done) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::system_clock::now());
    if (left.count() <= 0) {
      done(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed before sending"), "");
      return 0;
    }
    pb::UplinkToSigner frame;
    pb::UplinkCall* call = frame.mutable_call();
    call->set_method(method);
    call->set_request(std::move(request));
    call->set_timeout_ms(static_cast<uint32_t>(std::min<int64_t>(left.count(), UINT32_MAX)));
    uint64_t id = 0;
    std::optional<DialIn::Done> refused;  // `done`, when the stream is over already
    {
      base::MutexLock lock(mutex_);
      if (closed_) {
        refused = std::move(done);
      } else {
        id = ++next_id_;
        call->set_call_id(id);
        Pending& pending = pending_[id];
        pending.done = std::move(done);
        pending.alarm = std::make_unique<grpc::Alarm>();
        std::weak_ptr<UplinkStream> weak = weak_from_this();
        pending.alarm->Set(deadline, [weak, id](bool fired) {
          if (!fired) return;
          if (auto stream = weak.lock()) {
            stream->Drop(id, grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                          "the signer did not answer before the deadline"));
          }
        });
      }
    }
    if (refused) {
      (*refused)(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "signer " + upstream_ + " disconnected"), "");
      return 0;
    }
    // When Send fails, Close closed the stream under us and has failed the call already.
    if (!Send(std::move(frame))) return 0;
    return id;
  }

  // Resolve hands the signer's reply to its call; a reply for a call not in flight (answered,
  // timed out, cancelled, or never sent) is dropped.
  void Resolve(const pb::UplinkReply& reply) {
    std::optional<Pending> call = Take(reply.call_id());
    if (!call) {
      Log(LogLevel::kWarning, "uplink " + upstream_ + ": dropped a reply for call " +
                                  std::to_string(reply.call_id()) + ", which is not in flight");
      return;
    }
    call->alarm->Cancel();
    const grpc::Status status = StatusOf(reply);
    call->done(status, status.ok() ? reply.response() : std::string());
  }

  // Drop ends a call on this side with `status` and tells the signer not to start it.
  void Drop(uint64_t id, const grpc::Status& status) {
    std::optional<Pending> call = Take(id);
    if (!call) return;
    call->alarm->Cancel();
    pb::UplinkToSigner frame;
    frame.mutable_cancel()->set_call_id(id);
    Send(std::move(frame));
    call->done(status, "");
  }

  void SetStatus(const pb::UplinkStatus& status) {
    base::MutexLock lock(mutex_);
    status_ = status;
  }
  pb::UplinkStatus status() {
    base::MutexLock lock(mutex_);
    return status_;
  }

 private:
  struct Pending {
    DialIn::Done done;
    std::unique_ptr<grpc::Alarm> alarm;
  };
  std::optional<Pending> Take(uint64_t id) {
    base::MutexLock lock(mutex_);
    auto found = pending_.find(id);
    if (found == pending_.end()) return std::nullopt;
    Pending call = std::move(found->second);
    pending_.erase(found);
    return call;
  }

  Reactor* const reactor_;
  grpc::CallbackServerContext* const context_;
  const std::string upstream_;
  base::Mutex mutex_;
  bool closed_ GUARDED_BY(mutex_) = false;
  bool writing_ GUARDED_BY(mutex_) = false;
  bool finished_ GUARDED_BY(mutex_) = false;
  std::deque<pb::UplinkToSigner> queue_ GUARDED_BY(mutex_);
  std::map<uint64_t, Pending> pending_ GUARDED_BY(mutex_);
  uint64_t next_id_ GUARDED_BY(mutex_) = 0;
  pb::UplinkStatus status_ GUARDED_BY(mutex_);
};

namespace {

// AttachReactor reads a dial-in signer's frames; it deletes itself when gRPC is done with it.
class AttachReactor final : public UplinkStream::Reactor {
 public:
  AttachReactor(grpc::CallbackServerContext* context, const UplinkServiceOptions& options)
      : options_(options) {
    auto identity = tls::PeerIdentity(*context->auth_context());
    if (identity.ok()) dial_in_ = options_.find(*identity);
    if (dial_in_ == nullptr) {
      Log(LogLevel::kWarning,
          "uplink refused: the client certificate (identity " +
              (identity.ok() ? "\"" + identity->substr(0, 64) + "\"" : std::string("none")) +
              ") is no dial-in signer of this pool");
      Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "this certificate is no dial-in signer of the gateway's pool"));
      return;
    }
    stream_ = std::make_shared<UplinkStream>(this, context, dial_in_->name());
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      End("its stream ended");
      return;
    }
    if (!attached_) {
      if (!in_.has_status() || !ValidStatus(in_.status())) {
        Log(LogLevel::kWarning,
            "uplink " + dial_in_->name() + " refused: its first frame is no valid status");
        End("its first frame was no valid status");
        return;
      }
      stream_->SetStatus(in_.status());
      attached_ = true;
      dial_in_->Attach(stream_);
      Log(LogLevel::kInfo, "upstream " + dial_in_->name() + " dialed in");
      pb::UplinkToSigner welcome;
      welcome.mutable_welcome()->set_upstream(dial_in_->name());
      stream_->Send(std::move(welcome));
      if (options_.changed) options_.changed();
    } else if (in_.has_status()) {
      if (!ValidStatus(in_.status())) {
        Log(LogLevel::kWarning,
            "uplink " + dial_in_->name() + ": an invalid status frame; ending its stream");
        End("it sent an invalid status");
        return;
      }
      stream_->SetStatus(in_.status());
      if (options_.changed) options_.changed();
    } else if (in_.has_reply()) {
      stream_->Resolve(in_.reply());
    } else {
      Log(LogLevel::kWarning,
          "uplink " + dial_in_->name() + ": a frame of no known kind; ending its stream");
      End("it sent a frame of no known kind");
      return;
    }
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override { stream_->OnWriteDone(ok); }

  void OnDone() override {
    if (stream_) End("its stream ended");
    delete this;
  }

 private:
  static bool ValidStatus(const pb::UplinkStatus& status) {
    return status.signer().history_id().size() <= kMaxHistoryIdSize &&
           status.signer().signer_id().size() <= kMaxHistoryIdSize &&
           status.signer().history_kind().size() <= 64;
  }

  void End(const std::string& why) {
    if (ended_) return;
    ended_ = true;
    if (attached_) {
      dial_in_->Detach(stream_.get());
      Log(LogLevel::kWarning, "upstream " + dial_in_->name() + " disconnected: " + why);
      if (options_.changed) options_.changed();
    }
    stream_->Close(why);
  }

  const UplinkServiceOptions& options_;
  std::shared_ptr<DialIn> dial_in_;
  std::shared_ptr<UplinkStream> stream_;
  pb::UplinkFromSigner in_;
  bool attached_ = false;
  bool ended_ = false;
};

}  // namespace

grpc::ServerBidiReactor<pb::UplinkFromSigner, pb::UplinkToSigner>* UplinkService::Attach(
    grpc::CallbackServerContext* context) {
  return new AttachReactor(context, options_);
}

void DialInCall::Cancel() {
  std::shared_ptr<UplinkStream> stream;
  uint64_t id = 0;
  {
    base::MutexLock lock(mutex_);
    stream = stream_.lock();
    id = call_id_;
  }
  if (stream && id != 0) {
    stream->Drop(id, grpc::Status(grpc::StatusCode::CANCELLED, "no longer wanted"));
  }
}

void DialIn::Call(const std::string& method, std::string request,
                  std::chrono::system_clock::time_point deadline,
                  const std::shared_ptr<DialInCall>& handle, Done done) {
  std::shared_ptr<UplinkStream> stream;
  {
    base::MutexLock lock(mutex_);
    stream = stream_;
  }
  if (!stream) {
    done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "signer " + name_ + " has not dialed in"), "");
    return;
  }
  if (handle) {
    // Set before the call is sent, so a Cancel that races the send finds it.
    base::MutexLock lock(handle->mutex_);
    handle->stream_ = stream;
  }
  const uint64_t id = stream->Start(method, std::move(request), deadline, std::move(done));
  if (handle) {
    base::MutexLock lock(handle->mutex_);
    handle->call_id_ = id;
  }
}

DialInStatus DialIn::Status() {
  std::shared_ptr<UplinkStream> stream;
  {
    base::MutexLock lock(mutex_);
    stream = stream_;
  }
  DialInStatus status;
  if (!stream) return status;
  const pb::UplinkStatus last = stream->status();
  status.connected = true;
  status.serving = last.serving();
  status.signer = last.signer();
  return status;
}

void DialIn::Attach(const std::shared_ptr<UplinkStream>& stream) {
  std::shared_ptr<UplinkStream> replaced;
  {
    base::MutexLock lock(mutex_);
    replaced = std::exchange(stream_, stream);
  }
  if (replaced) replaced->End("its stream was replaced by a newer one");
}

void DialIn::Disconnect(const std::string& why) {
  std::shared_ptr<UplinkStream> stream;
  {
    base::MutexLock lock(mutex_);
    stream = std::move(stream_);
  }
  if (stream) stream->End(why);
}

void DialIn::Detach(const UplinkStream* stream) {
  base::MutexLock lock(mutex_);
  if (stream_.get() == stream) stream_.reset();
}

}  // namespace gateway
