// simsearch-loadgen: a closed-loop load generator. N clients each send one query, wait
// for the answer, and send the next, for a fixed duration; reports QPS, latency
// percentiles and errors. With --inprocess the same loop calls the Engine library
// directly (no gRPC), so the two runs' ratio is the serving overhead.
//
// How the clients are driven. By default each client is a thread of its own making
// blocking calls through the Client library: what N independent programs would do, and
// on a machine the server shares, N threads of load generator competing with it for
// the cores. With --client_threads T the N clients (still N connections, one call in
// flight each) are driven asynchronously by T threads, each polling a gRPC completion
// queue, as gRPC's own benchmark clients are: the same load on the server for far less
// CPU of the load generator's, so on a small machine the figures are closer to what
// clients on other machines would see.
//
//   simsearch-loadgen --index_root ROOT --collection genres --clients 4 --duration 10s
//       [--server 127.0.0.1:50051 | --inprocess] [--client_threads T] [--k 10] [--json]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "client/client.h"
#include "core/array_file.h"
#include "core/bundle.h"
#include "core/cli.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "simsearch/v1/simsearch.grpc.pb.h"

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace simsearch {
namespace {

struct Result {
  std::vector<double> latencies_us;
  int64_t errors = 0;
  std::string first_error;
};

// One asynchronous call in flight, from its start to its completion-queue tag.
struct AsyncCall {
  int client = 0;
  int phase = 0;  // the run's phase when the call started
  absl::Time start;
  grpc::ClientContext ctx;
  v1::SearchRequest request;
  v1::SearchResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::SearchResponse>> reader;
};

// Drives `clients` (each with its own connection) from this thread until the phase is
// 2 and every call in flight has completed. Records into results[client].
void DriveAsync(const std::vector<int>& clients, const ClientOptions& base,
                const std::string& collection, int k, const std::vector<int64_t>& ids,
                const std::atomic<int>& phase, uint64_t seed, std::vector<Result>* results) {
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<v1::SimSearch::Stub>> stubs;
  for (size_t i = 0; i < clients.size(); ++i) {
    ClientOptions co = base;
    co.dedicated_connection = true;  // N clients = N connections
    stubs.push_back(v1::SimSearch::NewStub(NewChannel(co)));
  }
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, ids.size() - 1);
  const std::string authorization = base.token.empty() ? "" : absl::StrCat("Bearer ", base.token);
  auto start = [&](size_t slot) {
    auto call = std::make_unique<AsyncCall>();
    call->client = static_cast<int>(slot);
    call->phase = phase.load(std::memory_order_relaxed);
    call->request.set_collection(collection);
    call->request.set_top_k(k);
    call->request.mutable_query()->set_item_id(ids[pick(rng)]);
    call->start = absl::Now();
    call->ctx.set_deadline(absl::ToChronoTime(call->start + base.timeout));
    if (!authorization.empty()) call->ctx.AddMetadata("authorization", authorization);
    call->reader = stubs[slot]->AsyncSearch(&call->ctx, call->request, &cq);
    AsyncCall* tag = call.release();  // owned by the queue until its tag comes back
    tag->reader->Finish(&tag->response, &tag->status, tag);
  };
  size_t in_flight = 0;
  for (size_t slot = 0; slot < clients.size(); ++slot, ++in_flight) start(slot);
  void* tag;
  bool ok;
  while (in_flight > 0 && cq.Next(&tag, &ok)) {
    std::unique_ptr<AsyncCall> call(static_cast<AsyncCall*>(tag));
    --in_flight;
    const double us = absl::ToDoubleMicroseconds(absl::Now() - call->start);
    Result& res = (*results)[static_cast<size_t>(clients[static_cast<size_t>(call->client)])];
    if (call->phase == 1) {
      if (ok && call->status.ok()) {
        res.latencies_us.push_back(us);
      } else if (res.errors++ == 0) {
        // gRPC's status codes are absl's, number for number.
        res.first_error = absl::StrCat(
            absl::StatusCodeToString(static_cast<absl::StatusCode>(call->status.error_code())),
            ": ", call->status.error_message());
      }
    }
    if (phase.load(std::memory_order_relaxed) != 2) {
      start(static_cast<size_t>(call->client));
      ++in_flight;
    }
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t i =
      std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

int Run(int argc, char** argv) {
  std::string root, collection, server = "127.0.0.1:50051", duration_text = "10s",
                                warmup_text = "1s";
  int clients = 1, k = 10;
  bool inprocess = false, json = false;
  ArgParser p("simsearch-loadgen",
              "simsearch-loadgen: closed-loop load of search-by-id queries (\"more like this\")\n"
              "over gRPC, or in-process with --inprocess; reports QPS, p50/p99/p99.9 latency\n"
              "and errors. Item ids are drawn uniformly from the collection's current bundle.");
  p.AddString("index_root", &root,
              "index root holding the collection (for its ids; and served\n"
              "from directly with --inprocess)",
              "ROOT");
  p.AddString("collection", &collection, "collection to query", "NAME");
  p.AddString("server", &server, "engine address (default 127.0.0.1:50051)", "HOST:PORT");
  p.AddBool("inprocess", &inprocess, "call the Engine library directly instead of gRPC");
  p.AddInt("clients", &clients, "concurrent closed-loop clients (default 1)");
  int client_threads = 0;
  p.AddInt("client_threads", &client_threads,
           "drive the clients asynchronously from this many threads, each polling a gRPC\n"
           "completion queue (still one connection and one call in flight per client).\n"
           "Default 0: one thread per client, blocking calls through the Client library");
  p.AddInt("k", &k, "top_k (default 10)");
  p.AddString("duration", &duration_text, "measured time (default 10s)", "DURATION");
  p.AddString("warmup", &warmup_text, "unmeasured time before (default 1s)", "DURATION");
  p.AddBool("json", &json, "print one JSON line");
  std::string tls_ca, tls_cert, tls_key;
  const char* env_token = std::getenv("SIMSEARCH_TOKEN");
  ClientOptions base;
  base.address = server;
  base.token = env_token ? env_token : "";
  p.AddString("tls_ca", &tls_ca, "connect with TLS, trusting this CA (PEM)", "FILE");
  p.AddString("tls_cert", &tls_cert, "client certificate for mutual TLS (PEM)", "FILE");
  p.AddString("tls_key", &tls_key, "key of --tls_cert (PEM)", "FILE");
  p.AddString("tls_server_name", &base.tls_server_name, "name the server's certificate carries",
              "NAME");
  p.AddString("token", &base.token, "bearer token (default $SIMSEARCH_TOKEN)", "TOKEN");
  p.AddInt("max_attempts", &base.max_attempts,
           "attempts per call when it fails UNAVAILABLE, with backoff (default 4; 1: no retry)");
  p.Require("index_root");
  p.Require("collection");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  absl::Duration duration, warmup;
  absl::Status st;
  if (!absl::ParseDuration(duration_text, &duration) ||
      !absl::ParseDuration(warmup_text, &warmup)) {
    st = absl::InvalidArgumentError("--duration/--warmup take durations such as 10s");
  }
  if (st.ok() && clients < 1) st = absl::InvalidArgumentError("--clients must be >= 1");
  if (st.ok() && (client_threads < 0 || client_threads > clients)) {
    st = absl::InvalidArgumentError(
        "--client_threads must be between 0 (one thread per client) and --clients");
  }
  if (st.ok() && client_threads > 0 && inprocess) {
    st = absl::InvalidArgumentError(
        "--client_threads drives gRPC calls; it does not apply to --inprocess");
  }
  if (st.ok()) st = LoadTlsFiles(tls_ca, tls_cert, tls_key, &base);
  base.address = server;
  if (!st.ok()) {
    std::fprintf(stderr, "simsearch-loadgen: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);

  const std::string cdir = (std::filesystem::path(root) / collection).string();
  auto version = ReadCurrentVersion(cdir);
  if (!version.ok()) {
    std::fprintf(stderr, "simsearch-loadgen: %s\n",
                 std::string(version.status().message()).c_str());
    return 1;
  }
  auto ids_file = MappedArray::Open(cdir + "/" + *version + "/" + kIdsFile, ArrayDType::kInt64);
  if (!ids_file.ok()) {
    std::fprintf(stderr, "simsearch-loadgen: %s\n",
                 std::string(ids_file.status().message()).c_str());
    return 1;
  }
  std::vector<int64_t> ids(ids_file->int64s(), ids_file->int64s() + ids_file->count());

  std::unique_ptr<CollectionRegistry> registry;
  std::unique_ptr<Engine> engine;
  if (inprocess) {
    registry = std::make_unique<CollectionRegistry>(root, CollectionOptions{});
    if (auto r = registry->Refresh(); !r.ok() || registry->Get(collection) == nullptr) {
      std::fprintf(stderr, "simsearch-loadgen: cannot open collection '%s' under %s\n",
                   collection.c_str(), root.c_str());
      return 1;
    }
    engine = std::make_unique<Engine>(registry.get(), EngineLimits{});
  }

  std::atomic<int> phase{0};  // 0 warm-up, 1 measuring, 2 stop
  std::vector<Result> results(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  for (int t = 0; t < client_threads; ++t) {
    std::vector<int> mine;  // clients t, t + T, t + 2T, ...
    for (int c = t; c < clients; c += client_threads) mine.push_back(c);
    threads.emplace_back(DriveAsync, mine, std::cref(base), std::cref(collection), k,
                         std::cref(ids), std::cref(phase), 1234 + static_cast<uint64_t>(t),
                         &results);
  }
  for (int c = 0; c < clients && client_threads == 0; ++c) {
    threads.emplace_back([&, c] {
      std::unique_ptr<Client> client;
      if (!inprocess) {
        ClientOptions co = base;
        co.dedicated_connection = true;  // N clients = N connections
        client = Client::Create(co);
      }
      std::mt19937_64 rng(1234 + static_cast<uint64_t>(c));
      std::uniform_int_distribution<size_t> pick(0, ids.size() - 1);
      Result& res = results[static_cast<size_t>(c)];
      SearchOptions so;
      so.collection = collection;
      so.top_k = k;
      int ph;
      while ((ph = phase.load(std::memory_order_relaxed)) != 2) {
        const SearchQuery q = SearchQuery::Item(ids[pick(rng)]);
        const absl::Time t0 = absl::Now();
        absl::Status status;
        if (inprocess) {
          status = engine->Search(collection, {q}, k, {}, absl::Now() + absl::Seconds(10)).status();
        } else {
          status = client->Search(q, so).status();
        }
        const double us = absl::ToDoubleMicroseconds(absl::Now() - t0);
        if (ph != 1) continue;
        if (status.ok()) {
          res.latencies_us.push_back(us);
        } else {
          if (res.errors++ == 0) res.first_error = status.ToString();
        }
      }
    });
  }
  absl::SleepFor(warmup);
  phase = 1;
  const absl::Time start = absl::Now();
  absl::SleepFor(duration);
  phase = 2;
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  for (auto& t : threads) t.join();

  std::vector<double> all;
  int64_t errors = 0;
  std::string first_error;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
  }
  const double qps = static_cast<double>(all.size()) / seconds;
  const double p50 = Percentile(all, 50), p99 = Percentile(all, 99), p999 = Percentile(all, 99.9);
  const char* mode = inprocess ? "inprocess" : client_threads > 0 ? "grpc-async" : "grpc";
  if (json) {
    std::printf(
        "{\"mode\":\"%s\",\"collection\":\"%s\",\"clients\":%d,\"client_threads\":%d,"
        "\"k\":%d,\"seconds\":%.2f,"
        "\"ok\":%zu,\"errors\":%lld,\"qps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
        "\"p999_us\":%.1f}\n",
        mode, collection.c_str(), clients, client_threads, k, seconds, all.size(),
        static_cast<long long>(errors), qps, p50, p99, p999);
  } else {
    std::printf(
        "%-9s %-10s clients %3d  k %3d  %8.0f qps  p50 %8.1f us  p99 %8.1f us  "
        "p99.9 %8.1f us  ok %zu  errors %lld\n",
        mode, collection.c_str(), clients, k, qps, p50, p99, p999, all.size(),
        static_cast<long long>(errors));
  }
  if (errors > 0) std::fprintf(stderr, "first error: %s\n", first_error.c_str());
  if (all.empty()) {
    std::fprintf(stderr, "simsearch-loadgen: no call succeeded%s\n",
                 errors > 0 ? " (see the first error above)"
                            : " in the measured time; try a longer --duration");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) {
  return simsearch::Run(argc, argv);
}
