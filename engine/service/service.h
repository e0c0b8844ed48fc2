// The gRPC face of the engine: proto <-> Engine, one Status mapping, no exception
// ever reaching gRPC.
//
// Calls use gRPC's callback API and run on a WorkQueue: a fixed number of workers and a
// bounded queue, so the threads and the calls the server holds do not grow with the
// number of clients. Past the queue, and when the answers of the calls in progress
// (estimated at admission from top_k and the batch size, then measured) would take more
// than `max_inflight_bytes` until their clients have read them, calls are refused with
// RESOURCE_EXHAUSTED (retry with backoff). An answer larger than `max_response_bytes` (standard clients
// refuse more than 4 MiB by default) is an error that says what to lower.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include "absl/strings/string_view.h"
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/service/auth.h"
#include "core/work_queue.h"
#include "google/protobuf/arena.h"
#include "grpcpp/support/message_allocator.h"
#include "simsearch/v1/simsearch.grpc.pb.h"

namespace simsearch {

// The request and response of one call on a protobuf arena whose first block lives in
// the holder: an answer's dozens of messages and strings then cost no malloc each
// (malloc and free were a fifth of the engine's CPU at 16 clients before).
template <typename Req, typename Resp>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Req, Resp> {
 public:
  grpc::MessageHolder<Req, Resp>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Req, Resp> {
   public:
    Holder() : arena_(Options(block_, sizeof(block_))) {
      this->set_request(google::protobuf::Arena::CreateMessage<Req>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Resp>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block, size_t size) {
      google::protobuf::ArenaOptions o;
      o.initial_block = block;
      o.initial_block_size = size;
      return o;
    }
    alignas(16) char block_[16 << 10];  // a top-10 answer with metadata takes ~4 KiB
    google::protobuf::Arena arena_;
  };
};

// Converts an absl::Status to a grpc::Status with the same code and a message cut to
// kMaxStatusMessageBytes (it travels in HTTP/2 headers, which clients limit to 8 KiB).
grpc::Status ToGrpcStatus(const absl::Status& st);
inline constexpr size_t kMaxStatusMessageBytes = 2048;

struct ServiceLimits {
  int workers = 0;                         // 0: one per CPU (at least 2)
  int max_queued = 0;                      // calls waiting for a worker; 0: 64 per worker
  int64_t max_response_bytes = 4 << 20;    // largest answer sent
  int64_t max_inflight_bytes = 256 << 20;  // answers of calls in progress, until read by clients
};

// One finished call, for metrics and logs.
struct CallRecord {
  absl::string_view rpc;         // "Search", "GetItems", ...
  absl::string_view collection;  // as the request named it; "" for ListCollections
  const grpc::Status& status;
  absl::Duration duration;      // from the call's arrival to its answer being handed to gRPC
  grpc::CallbackServerContext* context;  // for the peer's address
};
using CallObserver = std::function<void(const CallRecord&)>;

// True when the call's metadata carries "authorization: Bearer <a token of `tokens`>".
bool HasValidToken(const TokenSet& tokens, const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

struct ServiceHooks {
  // When set, every SimSearch call must carry "authorization: Bearer <token>" with a
  // token of the set, or it is answered UNAUTHENTICATED (health and reflection are
  // separate services: see ServerOptions::protect_health_and_reflection).
  const TokenSet* tokens = nullptr;
  // Called once per call with its outcome, on the thread that finishes it: keep it cheap.
  CallObserver on_call;
};

class SimSearchService final : public simsearch::v1::SimSearch::CallbackService {
 public:
  SimSearchService(const Engine* engine, const ServiceLimits& limits, ServiceHooks hooks = {});
  ~SimSearchService() override;  // runs the calls still queued

  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* ctx, const v1::SearchRequest* req,
                                   v1::SearchResponse* resp) override;
  grpc::ServerUnaryReactor* BatchSearch(grpc::CallbackServerContext* ctx,
                                        const v1::BatchSearchRequest* req,
                                        v1::BatchSearchResponse* resp) override;
  grpc::ServerUnaryReactor* GetItems(grpc::CallbackServerContext* ctx, const v1::GetItemsRequest* req,
                                     v1::GetItemsResponse* resp) override;
  grpc::ServerUnaryReactor* LookupTitle(grpc::CallbackServerContext* ctx,
                                        const v1::LookupTitleRequest* req,
                                        v1::LookupTitleResponse* resp) override;
  grpc::ServerUnaryReactor* ListCollections(grpc::CallbackServerContext* ctx,
                                            const v1::ListCollectionsRequest* req,
                                            v1::ListCollectionsResponse* resp) override;
  grpc::ServerUnaryReactor* DescribeCollection(grpc::CallbackServerContext* ctx,
                                               const v1::DescribeCollectionRequest* req,
                                               v1::DescribeCollectionResponse* resp) override;

  const ServiceLimits& limits() const { return limits_; }
  // Bytes reserved for, then taken by, the answers of calls not done yet.
  int64_t inflight_bytes() const { return inflight_bytes_.load(); }
  // Calls admitted and not yet done (queued, running or sending their answer).
  int64_t calls_in_flight() const { return calls_in_flight_.load(std::memory_order_relaxed); }

 private:
  class Call;
  // Runs `body` on a worker (or refuses the call), then finishes the call with its
  // status and `resp`, checking the answer's size.
  // `estimate`: the answer's likely size, reserved against max_inflight_bytes until
  // the real size is known.
  template <typename Body>
  grpc::ServerUnaryReactor* Dispatch(absl::string_view rpc, absl::string_view collection,
                                     grpc::CallbackServerContext* ctx, google::protobuf::Message* resp,
                                     int64_t estimate, Body body);
  void ReturnMemoryWhenIdle();  // the trimmer thread

  const Engine* engine_;
  ServiceLimits limits_;
  ServiceHooks hooks_;
  std::atomic<int64_t> inflight_bytes_{0};
  std::atomic<int64_t> calls_in_flight_{0};
  std::atomic<int64_t> calls_done_{0};  // since the trimmer last looked
  std::unique_ptr<WorkQueue> queue_;
  ArenaMessageAllocator<v1::SearchRequest, v1::SearchResponse> search_messages_;
  ArenaMessageAllocator<v1::BatchSearchRequest, v1::BatchSearchResponse> batch_messages_;
  ArenaMessageAllocator<v1::GetItemsRequest, v1::GetItemsResponse> items_messages_;
  ArenaMessageAllocator<v1::LookupTitleRequest, v1::LookupTitleResponse> title_messages_;
  absl::Mutex trim_mu_;
  bool stop_trimming_ ABSL_GUARDED_BY(trim_mu_) = false;
  std::thread trimmer_;
};

}  // namespace simsearch
