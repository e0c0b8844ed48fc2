// simsearch-grpc-floor: the cheapest server of SimSearch.Search that gRPC 1.51 allows,
// for telling gRPC's own cost from the engine's. It answers every Search with the same
// ten hits (metadata as long as the ncf collection's), computed once, with no search,
// through one of gRPC's two asynchronous server APIs:
//   --api callback   the callback API the engine used until 2026-12-02 (gRPC's own
//                    polling threads: max(2, cores / 2) "nexting" threads, not
//                    configurable)
//   --api cq         the completion-queue API, polled by --threads threads of ours,
//                    each with its own queue, as the engine now serves every call
// Run it where the engine would run and point simsearch-loadgen at it (docs/BENCHMARKS.md,
// "Who uses the cores"):
//
//   taskset -c 0 build/bench/simsearch-grpc-floor --listen 127.0.0.1:50120 --api cq --threads 1
//   taskset -c 1 build/bench/simsearch-loadgen --index_root var/index --collection ncf
//       (same line:) --server 127.0.0.1:50120 --clients 16 --client_threads 1 --duration 3s
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/cli.h"
#include "simsearch/v1/simsearch.grpc.pb.h"

namespace simsearch {
namespace {

v1::SearchResponse CannedAnswer() {
  v1::SearchResponse r;
  r.set_collection_version("v000001");
  for (int i = 0; i < 10; ++i) {
    v1::Hit* h = r.add_hits();
    h->set_id(1000 + i);
    h->set_score(0.9f - 0.01f * static_cast<float>(i));
    v1::Item* it = h->mutable_item();
    it->set_id(1000 + i);
    it->set_title(absl::StrCat("Shingeki no Kyojin Season ", i));
    it->set_english_title(absl::StrCat("Attack on Titan Season ", i));
    for (const char* g : {"Action", "Drama", "Suspense"}) it->add_genres(g);
    it->set_type("TV");
    it->set_episodes(25);
    it->set_members(3000000);
  }
  return r;
}

class CallbackFloor final : public v1::SimSearch::CallbackService {
 public:
  explicit CallbackFloor(const v1::SearchResponse& answer) : answer_(answer) {}
  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* ctx, const v1::SearchRequest*,
                                   v1::SearchResponse* resp) override {
    *resp = answer_;
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }

 private:
  const v1::SearchResponse& answer_;
};

// One Search call of the completion-queue API: created waiting for a call, answers it,
// deletes itself when the answer has gone, and creates its successor first.
class CqCall {
 public:
  CqCall(v1::SimSearch::AsyncService* service, grpc::ServerCompletionQueue* cq,
         const v1::SearchResponse& answer)
      : service_(service), cq_(cq), answer_(answer), writer_(&ctx_) {
    service_->RequestSearch(&ctx_, &request_, &writer_, cq_, cq_, this);
  }
  void Proceed(bool ok) {
    if (!ok || answered_) {  // shutting down, or the answer has been sent
      delete this;
      return;
    }
    new CqCall(service_, cq_, answer_);
    answered_ = true;
    writer_.Finish(answer_, grpc::Status::OK, this);
  }

 private:
  v1::SimSearch::AsyncService* service_;
  grpc::ServerCompletionQueue* cq_;
  const v1::SearchResponse& answer_;
  grpc::ServerContext ctx_;
  v1::SearchRequest request_;
  grpc::ServerAsyncResponseWriter<v1::SearchResponse> writer_;
  bool answered_ = false;
};

volatile std::sig_atomic_t g_stop = 0;

int Run(int argc, char** argv) {
  std::string listen = "127.0.0.1:50120", api = "callback";
  int threads = 1;
  ArgParser p(
      "simsearch-grpc-floor",
      "simsearch-grpc-floor: SimSearch.Search answered with ten canned hits and no search,\n"
      "through gRPC's callback API or its completion-queue API (as the engine); the floor\n"
      "under the engine's cost per call. Stops on SIGINT or SIGTERM.");
  p.AddString("listen", &listen, "address to serve on (default 127.0.0.1:50120)", "HOST:PORT");
  p.AddString("api", &api, "callback (gRPC's threads) or cq (our threads, as the engine)", "API");
  p.AddInt("threads", &threads, "--api cq: polling threads, each with its own queue (default 1)");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  if (api != "callback" && api != "cq") {
    std::fprintf(stderr, "simsearch-grpc-floor: --api must be 'callback' or 'cq', got '%s'\n",
                 api.c_str());
    return 2;
  }
  if (threads < 1) {
    std::fprintf(stderr, "simsearch-grpc-floor: --threads must be >= 1\n");
    return 2;
  }
  const v1::SearchResponse answer = CannedAnswer();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  CallbackFloor callback(answer);
  v1::SimSearch::AsyncService async;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs;
  if (api == "callback") {
    builder.RegisterService(&callback);
  } else {
    builder.RegisterService(&async);
    for (int t = 0; t < threads; ++t) cqs.push_back(builder.AddCompletionQueue());
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "simsearch-grpc-floor: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::printf("simsearch-grpc-floor: %s API%s on port %d\n", api.c_str(),
              api == "cq" ? absl::StrCat(", ", threads, " polling threads").c_str() : "", port);
  std::fflush(stdout);
  std::vector<std::thread> pollers;
  for (auto& cq : cqs) {
    new CqCall(&async, cq.get(), answer);
    pollers.emplace_back([q = cq.get()] {
      void* tag;
      bool ok;
      while (q->Next(&tag, &ok)) static_cast<CqCall*>(tag)->Proceed(ok);
    });
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server->Shutdown();
  for (auto& cq : cqs) cq->Shutdown();
  for (auto& t : pollers) t.join();
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) {
  return simsearch::Run(argc, argv);
}
