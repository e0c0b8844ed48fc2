#include "server/health.h"

#include <cassert>

#include "absl/strings/str_cat.h"

namespace simsearch {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

HealthService::Status HealthService::StatusOf(const std::string& service, bool watch) const {
  auto it = statuses_.find(service);
  if (it != statuses_.end()) return it->second;
  return watch ? HealthCheckResponse::SERVICE_UNKNOWN : HealthCheckResponse::UNKNOWN;
}

// One Check, from waiting for it to its answer sent.
class HealthService::CheckCall final : public QueuedTag {
 public:
  CheckCall(HealthService* service, CallQueue* q) : service_(service), q_(q), writer_(&ctx_) {
    q_->owner->TagBorn();
    StartGrpcOp([&](void* tag) {
      service_->RequestCheck(&ctx_, &req_, &writer_, q_->cq.get(), q_->cq.get(), tag);
    });
  }
  void Proceed(bool ok) override {
    if (!ok || answered_) {
      delete this;
      return;
    }
    answered_ = true;
    CallQueues::Ask(q_, [this] { new CheckCall(service_, q_); });
    HealthCheckResponse resp;
    {
      absl::ReaderMutexLock lock(&service_->mu_);
      resp.set_status(service_->StatusOf(req_.service(), /*watch=*/false));
    }
    if (resp.status() == HealthCheckResponse::UNKNOWN) {
      const grpc::Status st(grpc::StatusCode::NOT_FOUND,
                            absl::StrCat("no health status for service '", req_.service(), "'"));
      StartGrpcOp([&](void* tag) { writer_.FinishWithError(st, tag); });
    } else {
      StartGrpcOp([&](void* tag) { writer_.Finish(resp, grpc::Status::OK, tag); });
    }
  }

 private:
  ~CheckCall() { q_->owner->TagGone(); }
  HealthService* const service_;
  CallQueue* const q_;
  grpc::ServerContext ctx_;
  HealthCheckRequest req_;
  grpc::ServerAsyncResponseWriter<HealthCheckResponse> writer_;
  bool answered_ = false;
};

// One Watch stream. Two tags: the object itself for the stream's operations (one at a
// time: a write, then the final status), and `done_` for the end of the call, however it
// ends. It is deleted when both are over. Its state is guarded by the service's mutex.
class HealthService::WatchCall final : public QueuedTag {
 public:
  WatchCall(HealthService* service, CallQueue* q)
      : service_(service), q_(q), writer_(&ctx_), done_(this) {
    q_->owner->TagBorn();
    ctx_.AsyncNotifyWhenDone(&done_);  // delivered only if a call arrives
    StartGrpcOp([&](void* tag) {
      service_->RequestWatch(&ctx_, &req_, &writer_, q_->cq.get(), q_->cq.get(), tag);
    });
  }
  void Proceed(bool ok) override {
    absl::MutexLock lock(&service_->mu_);
    if (!arrived_) {
      if (!ok) {  // the server shut down before a call came
        Delete();
        return;
      }
      arrived_ = true;
      CallQueues::Ask(q_, [this] { new WatchCall(service_, q_); });
      service_->watchers_.insert(this);
      want_ = service_->StatusOf(req_.service(), /*watch=*/true);
      closing_ = service_->shut_down_;
      Step();
      return;
    }
    busy_ = false;  // the write or the final status completed
    if (!ok) broken_ = true;
    if (finished_ || broken_) {
      MaybeDelete();
      return;
    }
    Step();
  }
  const std::string& service() const { return req_.service(); }
  // Tells clang's analysis that the caller's lock is this call's service_->mu_, which it
  // cannot see through the pointer: every watcher belongs to the service that holds it.
  void AssertOwnerLocked(const HealthService* owner) const
      ABSL_ASSERT_EXCLUSIVE_LOCK(service_->mu_) {
    assert(owner == service_);
    service_->mu_.AssertHeld();
  }
  // The status changed (under the service's mutex).
  void Update(Status s, bool closing) ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mu_) {
    want_ = s;
    closing_ = closing_ || closing;
    if (!busy_ && !broken_ && !finished_) Step();
  }

 private:
  class Done final : public QueuedTag {
   public:
    explicit Done(WatchCall* call) : call_(call) {}
    void Proceed(bool) override { call_->OnDone(); }

   private:
    WatchCall* call_;
  };

  ~WatchCall() { q_->owner->TagGone(); }
  // Starts the next operation, if any: a write of a status not yet sent, else the end of
  // the stream once the service shut down.
  void Step() ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mu_) {
    if (!sent_any_ || want_ != sent_) {
      sent_ = want_;
      sent_any_ = true;
      HealthCheckResponse resp;
      resp.set_status(sent_);
      busy_ = true;
      StartGrpcOp([&](void* tag) { writer_.Write(resp, tag); });
    } else if (closing_) {
      finished_ = true;
      busy_ = true;
      StartGrpcOp([&](void* tag) { writer_.Finish(grpc::Status::OK, tag); });
    }
  }
  void OnDone() {
    absl::MutexLock lock(&service_->mu_);
    done_seen_ = true;
    broken_ = true;
    service_->watchers_.erase(this);
    MaybeDelete();
  }
  void MaybeDelete() ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mu_) {
    if (done_seen_ && !busy_) Delete();
  }
  void Delete() ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mu_) { delete this; }

  HealthService* const service_;
  CallQueue* const q_;
  grpc::ServerContext ctx_;
  HealthCheckRequest req_;
  grpc::ServerAsyncWriter<HealthCheckResponse> writer_;
  Done done_;
  bool arrived_ = false, busy_ = false, finished_ = false, broken_ = false, done_seen_ = false;
  bool sent_any_ = false, closing_ = false;
  Status sent_ = HealthCheckResponse::UNKNOWN, want_ = HealthCheckResponse::UNKNOWN;
};

HealthService::~HealthService() = default;

void HealthService::Arm(CallQueue* q) {
  CallQueues::Ask(q, [this, q] {
    new CheckCall(this, q);
    new WatchCall(this, q);
  });
}

void HealthService::SetStatus(const std::string& service, bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;  // NOT_SERVING for good
  const Status s = serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
  statuses_[service] = s;
  for (WatchCall* w : watchers_) {
    w->AssertOwnerLocked(this);
    if (w->service() == service) w->Update(s, false);
  }
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  for (auto& [name, s] : statuses_) s = HealthCheckResponse::NOT_SERVING;
  for (WatchCall* w : watchers_) {
    w->AssertOwnerLocked(this);
    w->Update(StatusOf(w->service(), /*watch=*/true), /*closing=*/true);
  }
}

}  // namespace simsearch
