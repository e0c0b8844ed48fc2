// grpc.health.v1.Health served from our CallQueues (call_queues.h) instead of gRPC's
// built-in service: that one is a callback service, and its mere presence puts gRPC's
// own threads on our sockets. It behaves as the built-in one does:
//   Check: SERVING or NOT_SERVING; NOT_FOUND for a name never set.
//   Watch: the current status (SERVICE_UNKNOWN for a name never set), then each change.
// Shutdown sets every name NOT_SERVING for good and ends the Watch streams (which the
// built-in service of gRPC 1.51 left open until the server's grace ran out).
#pragma once

#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/call_queues.h"

namespace simsearch {

class HealthService final : public grpc::health::v1::Health::AsyncService {
 public:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService() = default;
  ~HealthService() override;  // after the queues stopped: every call is gone

  void SetStatus(const std::string& service, bool serving);
  void Shutdown();
  // Asks for the first Check and Watch calls on `q` (CallQueues::Start's `arm`).
  void Arm(CallQueue* q);

 private:
  class CheckCall;
  class WatchCall;
  Status StatusOf(const std::string& service, bool watch) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Status> statuses_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::set<WatchCall*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace simsearch
