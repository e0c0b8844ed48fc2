// The gRPC face of the engine: proto <-> Engine, one Status mapping, no exception
// ever reaching gRPC. Its parts, each with its own header and tests:
//   call_queues.h     the completion queues and the threads that poll them (and why not
//                     gRPC's callback API)
//   admission.h       bearer tokens and the budget of answer bytes in flight
//   search_batcher.h  which Search calls share one pass over the vectors
//   idle_trimmer.h    giving freed memory back to the system when the server is idle
//
// Calls run on a WorkQueue: a fixed number of job slots and a bounded queue, so the
// threads and the calls the server holds do not grow with the number of clients. A
// small call runs on the polling thread that read it when a slot is free. Past the
// queue, and when the answers of the calls in progress (estimated at admission from
// top_k and the batch size, then measured) would take more than `max_inflight_bytes`
// until their clients have read them, calls are refused with RESOURCE_EXHAUSTED (retry
// with backoff). An answer larger than `max_response_bytes` (standard clients refuse
// more than 4 MiB by default) is an error that says what to lower.
//
// Search calls by item or by vector on an exact (flat) collection are not answered one
// by one: a polling thread keeps the ones it reads until gRPC has no more ready for it,
// then answers those that ask the same collection, top_k and filter as one batch, so the
// vectors are read once for all of them (docs/ARCHITECTURE.md, "Batching concurrent
// searches"). Alone or in a batch, a search gets the same answer to the bit
// (scan_kernel.h); a call waits for no timer, only for the calls read with it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "runtime/work_queue.h"
#include "server/admission.h"
#include "server/auth.h"
#include "server/call_queues.h"
#include "server/idle_trimmer.h"
#include "server/search_batcher.h"
#include "simsearch/v1/simsearch.grpc.pb.h"

namespace simsearch {

// Converts an absl::Status to a grpc::Status with the same code and a message cut to
// kMaxStatusMessageBytes (it travels in HTTP/2 headers, which clients limit to 8 KiB).
grpc::Status ToGrpcStatus(const absl::Status& st);
inline constexpr size_t kMaxStatusMessageBytes = 2048;

struct ServiceLimits {
  int pollers = 0;     // threads taking calls from gRPC; 0: one per CPU we may use
  int workers = 0;     // 0: one per CPU (at least 2)
  int max_queued = 0;  // calls waiting for a worker; 0: 64 per worker
  int64_t max_response_bytes = 4 << 20;    // largest answer sent
  int64_t max_inflight_bytes = 256 << 20;  // answers of calls in progress, until read by clients
  // Search calls that arrive together on one polling thread are answered as one batch
  // of at most this many (one pass over the vectors for all of them); 1: each alone.
  int search_batch = 32;
};

// One finished call, for metrics and logs.
struct CallRecord {
  absl::string_view rpc;         // "Search", "GetItems", ...
  absl::string_view collection;  // as the request named it; "" for ListCollections
  const grpc::Status& status;
  absl::Duration duration;  // from the call's arrival to its answer being handed to gRPC
  const grpc::ServerContextBase* context;  // for the peer's address
  int batch = 1;  // Search calls answered together with this one, itself included
};
using CallObserver = std::function<void(const CallRecord&)>;

// The call's "authorization" metadata, if it has one.
std::optional<absl::string_view> Authorization(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);
// True when the call's metadata carries "authorization: Bearer <a token of `tokens`>".
bool HasValidToken(const TokenSet& tokens,
                   const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

struct ServiceHooks {
  // When set, every SimSearch call must carry "authorization: Bearer <token>" with a
  // token of the set, or it is answered UNAUTHENTICATED (health and reflection are
  // separate services: see ServerOptions::protect_health_and_reflection).
  const TokenSet* tokens = nullptr;
  // Called once per call with its outcome, on the thread that finishes it: keep it cheap.
  CallObserver on_call;
};

class SimSearchService final : public v1::SimSearch::AsyncService {
 public:
  SimSearchService(const Engine* engine, const ServiceLimits& limits, ServiceHooks hooks = {});
  ~SimSearchService() override;  // after the queues stopped; runs the jobs still queued

  // Asks for the first call of every method on `q` (CallQueues::Start's `arm`).
  void Arm(CallQueue* q);

  const ServiceLimits& limits() const { return limits_; }
  // Bytes reserved for, then taken by, the answers of calls not done yet.
  int64_t inflight_bytes() const { return admission_.inflight_bytes(); }
  // Calls admitted and not yet done (queued, running or sending their answer).
  int64_t calls_in_flight() const { return admission_.calls_in_flight(); }

 private:
  class Call;  // the accounting of one call
  using Ctx = grpc::ServerContextBase;
  template <typename Req, typename Resp>
  struct Method;  // one RPC: its name and how to ask gRPC for its calls
  template <typename Req, typename Resp>
  class QueuedCall;   // one call of a method, from waiting for it to its answer sent
  struct BatchEntry;  // a Search call a polling thread keeps to answer with others

  // A call arrived on `q`: admits it and runs it, or keeps it for the queue's batch.
  template <typename Req, typename Resp>
  void Take(Call* call, const Ctx* ctx, const Req* req, Resp* resp, CallQueue* q);
  void Take(Call* call, const Ctx* ctx, const v1::SearchRequest* req, v1::SearchResponse* resp,
            CallQueue* q);
  // Answers kept calls on a job slot, or refuses them all when the queue is full.
  void FlushKept(std::vector<BatchEntry> kept);
  // Answers kept calls: those that ask the same search together, the others alone.
  void AnswerKept(const std::vector<BatchEntry>& kept);
  // One Engine::Search for `group` (indexes into `kept`); false, having answered none,
  // when they must be answered alone (an error, which each then gets as its own).
  bool AnswerTogether(const std::vector<BatchEntry>& kept, const std::vector<size_t>& group);
  void AnswerAlone(const BatchEntry& e);
  // Runs `body` guarded, checks the answer's size and finishes the call.
  template <typename Body>
  void Complete(Call* call, const grpc::ServerContextBase* ctx, google::protobuf::Message* resp,
                Body body, int batch = 1);

  // Checks the token, reserves `estimate` bytes (the answer's likely size) against
  // max_inflight_bytes until the real size is known, runs `body` on a job slot (or
  // refuses the call), then finishes the call with its status and `resp`, checking the
  // answer's size.
  template <typename Body>
  void AdmitAndRun(Call* call, const grpc::ServerContextBase* ctx, google::protobuf::Message* resp,
                   int64_t estimate, Body body);

  // Each RPC: the answer's likely size, and its work.
  int64_t Estimate(const v1::SearchRequest& req) const;
  int64_t Estimate(const v1::BatchSearchRequest& req) const;
  int64_t Estimate(const v1::GetItemsRequest& req) const;
  int64_t Estimate(const v1::LookupTitleRequest& req) const;
  int64_t Estimate(const v1::ListCollectionsRequest& req) const;
  int64_t Estimate(const v1::DescribeCollectionRequest& req) const;
  int64_t Estimate(const v1::ListItemsRequest& req) const;
  absl::Status Run(const Ctx* ctx, const v1::SearchRequest& req, v1::SearchResponse* resp) const;
  absl::Status Run(const Ctx* ctx, const v1::BatchSearchRequest& req,
                   v1::BatchSearchResponse* resp) const;
  absl::Status Run(const Ctx* ctx, const v1::GetItemsRequest& req,
                   v1::GetItemsResponse* resp) const;
  // GetItems over `collections`: which of the ids each holds.
  absl::Status GetItemsAcross(const v1::GetItemsRequest& req, v1::GetItemsResponse* resp) const;
  absl::Status Run(const Ctx* ctx, const v1::LookupTitleRequest& req,
                   v1::LookupTitleResponse* resp) const;
  absl::Status Run(const Ctx* ctx, const v1::ListCollectionsRequest& req,
                   v1::ListCollectionsResponse* resp) const;
  absl::Status Run(const Ctx* ctx, const v1::DescribeCollectionRequest& req,
                   v1::DescribeCollectionResponse* resp) const;
  absl::Status Run(const Ctx* ctx, const v1::ListItemsRequest& req,
                   v1::ListItemsResponse* resp) const;

  const Engine* engine_;
  ServiceLimits limits_;
  ServiceHooks hooks_;
  Admission admission_;                   // after hooks_ (its tokens)
  std::unique_ptr<IdleTrimmer> trimmer_;  // before queue_: outlives it (see the destructor)
  std::unique_ptr<WorkQueue> queue_;
  std::vector<std::unique_ptr<SearchBatcher<BatchEntry>>> batches_;  // one per polling thread
};

}  // namespace simsearch
