// simsearch-lambda-start-bench: time from starting the Lambda bootstrap to its first
// GET /runtime/invocation/next, with the demo's bundles as the embedded backend, against
// a fake Runtime API on loopback. Medians of --repeat runs, page cache warm (the index
// read just before) and cold (dropped with posix_fadvise).
//
//   ./scripts/demo.sh --no-serve && build/bench/simsearch-lambda-start-bench
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/cli.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

void Cache(const std::string& root, bool warm) {
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    int fd = ::open(e.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    if (warm) {
      std::vector<char> buf(1 << 20);
      while (::read(fd, buf.data(), buf.size()) > 0) {
      }
    } else {
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    }
    ::close(fd);
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string root = std::string(SIMSEARCH_SOURCE_DIR) + "/var/index";
  std::string binary = (fs::path(argv[0]).parent_path() / "../lambda/simsearch-lambda").string();
  int repeat = 11;
  simsearch::ArgParser p(
      "simsearch-lambda-start-bench",
      "simsearch-lambda-start-bench: bootstrap start to first GET /next (median).");
  p.AddString("index_root", &root, "bundles for the embedded backend (default var/index)", "ROOT");
  p.AddString("binary", &binary, "simsearch-lambda binary", "PATH");
  p.AddInt("repeat", &repeat, "runs per figure (default 11)");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  httplib::Server fake;
  std::atomic<int64_t> first_next_ns{0};
  fake.Get("/2018-06-01/runtime/invocation/next",
           [&](const httplib::Request&, httplib::Response& res) {
             int64_t expected = 0;
             first_next_ns.compare_exchange_strong(expected, absl::GetCurrentTimeNanos());
             res.status = 500;  // no invocation: the bootstrap exits
           });
  const int port = fake.bind_to_any_port("127.0.0.1");
  std::thread server([&] { fake.listen_after_bind(); });
  auto once = [&]() -> double {
    first_next_ns = 0;
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    env.push_back(absl::StrCat("AWS_LAMBDA_RUNTIME_API=127.0.0.1:", port));
    env.push_back("INDEX_ROOT=" + root);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string b = binary;
    char* args[] = {b.data(), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    const int64_t start = absl::GetCurrentTimeNanos();
    pid_t pid;
    if (posix_spawn(&pid, binary.c_str(), &fa, nullptr, args, envp.data()) != 0) {
      std::fprintf(stderr, "cannot start %s\n", binary.c_str());
      std::exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    ::waitpid(pid, nullptr, 0);
    if (first_next_ns.load() == 0) {
      std::fprintf(stderr, "%s never called GET /next (is %s a bundle root?)\n", binary.c_str(),
                   root.c_str());
      std::exit(1);
    }
    return static_cast<double>(first_next_ns.load() - start) / 1e6;
  };
  std::vector<double> warm, cold;
  for (int i = 0; i < repeat; ++i) {
    Cache(root, true);
    warm.push_back(once());
    Cache(root, false);
    cold.push_back(once());
  }
  std::printf("bootstrap start to first GET /next, embedded backend over %s (median of %d)\n",
              root.c_str(), repeat);
  std::printf("  page cache warm: %.1f ms\n  page cache cold: %.1f ms\n", Median(warm),
              Median(cold));
  fake.stop();
  server.join();
  return 0;
}
