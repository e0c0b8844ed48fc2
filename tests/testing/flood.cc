// simsearch-flood: a connection flood against an HTTP server, with a probe that must
// keep being answered (docs/RELIABILITY.md, "Connection floods").
//
// It holds --idle connections that send nothing and --slow connections that send a
// request line and then one header line every --slow_interval (slowloris), for
// --seconds. With --reconnect, every connection the server cuts is opened again at
// once. Meanwhile a probe asks GET --probe on a new connection every --probe_every and
// must get a 200 within --probe_deadline. With --pid, the server's resident memory is
// sampled from /proc.
//
// Exit status: 0 when every probe was answered in time (and memory stayed under
// --max_rss_mb), 1 otherwise, 2 for bad usage. The last line is a summary:
//   flood: probes=300 late=0 failed=0 max_ms=12.3 p99_ms=4.1 cut=1187 reconnects=1187 ...
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/cli.h"

namespace {

constexpr char kUsage[] =
    "simsearch-flood: idle and slowloris connections against an HTTP server while a probe\n"
    "must keep being answered.\n"
    "\n"
    "  simsearch-flood --port 8080 --probe /health --idle 1000 --slow 200 --seconds 30\n"
    "  simsearch-flood --port 9464 --probe /metrics --reconnect --pid 1234 --max_rss_mb 200\n"
    "\n"
    "Exit status 0 when every probe got a 200 within --probe_deadline, 1 otherwise.";

sockaddr_in Address(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A non-blocking connect; -1 when no socket could be made (the connect completes later).
int OpenNonBlocking(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const sockaddr_in a = Address(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0 &&
      errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

double RssMb(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      double kb = 0;
      in >> kb;
      return kb / 1024.0;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return -1;
}

struct ProbeResult {
  bool ok = false;
  double ms = 0;
  std::string problem;
};

// One GET on a new connection; the whole answer (Connection: close) must arrive within
// `deadline`, with status 200.
ProbeResult Probe(int port, const std::string& path, absl::Duration deadline) {
  ProbeResult r;
  const absl::Time start = absl::Now();
  const absl::Time end = start + deadline;
  const int fd = OpenNonBlocking(port);
  if (fd < 0) {
    r.problem = absl::StrCat("socket: ", std::strerror(errno));
    return r;
  }
  const std::string req =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n");
  size_t sent = 0;
  std::string got;
  bool closed = false;
  while (absl::Now() < end && !closed) {
    pollfd p{fd, static_cast<short>(sent < req.size() ? POLLOUT : POLLIN), 0};
    const int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(end - absl::Now())) + 1;
    if (::poll(&p, 1, wait_ms) <= 0) continue;
    if (sent < req.size()) {
      const ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        r.problem = absl::StrCat("send: ", std::strerror(errno));
        break;
      }
      continue;
    }
    char buf[8192];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      got.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      closed = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      r.problem = absl::StrCat("recv: ", std::strerror(errno));
      break;
    }
  }
  ::close(fd);
  r.ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (!r.problem.empty()) return r;
  if (!closed) {
    r.problem = got.empty() ? "no answer in time" : "answer incomplete in time";
  } else if (got.rfind("HTTP/1.1 200", 0) != 0 && got.rfind("HTTP/1.0 200", 0) != 0) {
    r.problem = absl::StrCat("answered '", got.substr(0, got.find('\r')), "'");
  } else {
    r.ok = true;
  }
  return r;
}

struct Attacker {
  int fd = -1;
  bool slow = false;
  bool started = false;  // slow: the request line went out
  int lines = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0, idle = 1000, slow = 200, pid = 0;
  double seconds = 30, slow_interval = 2, probe_every = 0.1, probe_deadline = 1, max_rss_mb = 0;
  std::string probe_path = "/health";
  bool reconnect = false;
  simsearch::ArgParser p("simsearch-flood", kUsage);
  p.AddInt("port", &port, "the server's port on 127.0.0.1 (required)", "PORT");
  p.AddString("probe", &probe_path, "the path the probe GETs (default /health)", "PATH");
  p.AddInt("idle", &idle, "connections that send nothing (default 1000)", "N");
  p.AddInt("slow", &slow,
           "slowloris connections: one header line every --slow_interval (default 200)", "N");
  p.AddDouble("slow_interval", &slow_interval,
              "seconds between a slow connection's lines (default 2)", "SECONDS");
  p.AddDouble("seconds", &seconds, "how long the flood lasts (default 30)", "SECONDS");
  p.AddDouble("probe_every", &probe_every, "seconds between probes (default 0.1)", "SECONDS");
  p.AddDouble("probe_deadline", &probe_deadline,
              "a probe's whole answer must arrive within this (default 1)", "SECONDS");
  p.AddBool("reconnect", &reconnect, "open every connection the server cuts again at once");
  p.AddInt("pid", &pid, "the server's process id: its resident memory is sampled", "PID");
  p.AddDouble("max_rss_mb", &max_rss_mb,
              "fail when the server's resident memory exceeds this (0: no limit)", "MB");
  p.Require("port");
  if (int code = p.ParseOrExitCode(argc, argv, 1, nullptr); code >= 0) return code;
  if (port <= 0 || port > 65535 || idle < 0 || slow < 0 || seconds <= 0 || probe_every <= 0) {
    std::fprintf(stderr,
                 "simsearch-flood: --port is required; counts and durations must be positive (see "
                 "--help)\n");
    return 2;
  }
  // One descriptor per connection, and the probe's.
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }

  std::atomic<bool> done{false};
  std::vector<ProbeResult> probes;
  double peak_rss = 0;
  std::thread prober([&] {
    const absl::Time began = absl::Now();
    absl::Time next = began;
    while (!done.load()) {
      probes.push_back(Probe(port, probe_path, absl::Seconds(probe_deadline)));
      const ProbeResult& r = probes.back();
      if (!r.ok || r.ms > probe_deadline * 1000) {
        std::fprintf(stderr, "flood: probe %zu at %.1f s: %s after %.1f ms\n", probes.size(),
                     absl::ToDoubleSeconds(absl::Now() - began), r.ok ? "late" : r.problem.c_str(),
                     r.ms);
      }
      if (pid > 0) peak_rss = std::max(peak_rss, RssMb(pid));
      next += absl::Seconds(probe_every);
      const absl::Duration wait = next - absl::Now();
      if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    }
  });

  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::unordered_map<int, Attacker> attackers;
  int64_t opened = 0, cut = 0, reopened = 0, open_failures = 0;
  auto open_one = [&](bool is_slow) -> Attacker* {
    const int fd = OpenNonBlocking(port);
    if (fd < 0) {
      ++open_failures;
      return nullptr;
    }
    ++opened;
    attackers[fd] = Attacker{fd, is_slow, false, 0};
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    return &attackers[fd];
  };
  // A slow connection's next piece: the request line first, then one header line.
  auto dribble = [&](Attacker& a) {
    const std::string piece =
        a.started ? absl::StrCat("X-Slow-", a.lines, ": y\r\n")
                  : absl::StrCat("GET ", probe_path, " HTTP/1.1\r\nHost: flood\r\n");
    if (::send(a.fd, piece.data(), piece.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(piece.size())) {
      if (a.started) ++a.lines;
      a.started = true;
    }
  };
  for (int i = 0; i < idle; ++i) open_one(false);
  for (int i = 0; i < slow; ++i) open_one(true);
  std::fprintf(
      stderr, "flood: %lld connections open (%d idle, %d slow)%s\n", static_cast<long long>(opened),
      idle, slow,
      open_failures ? absl::StrCat(", ", open_failures, " could not be made").c_str() : "");

  const absl::Time start = absl::Now();
  absl::Time next_dribble = start;
  std::vector<epoll_event> events(256);
  while (absl::Now() - start < absl::Seconds(seconds)) {
    if (absl::Now() >= next_dribble) {
      for (auto& [fd, a] : attackers) {
        if (a.slow) dribble(a);
      }
      next_dribble += absl::Seconds(slow_interval);
    }
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      char buf[4096];
      const ssize_t got = ::recv(fd, buf, sizeof(buf), 0);
      if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
        continue;  // e.g. a 408: read on
      // The server cut this connection.
      auto it = attackers.find(fd);
      const bool was_slow = it != attackers.end() && it->second.slow;
      ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
      ::close(fd);
      if (it != attackers.end()) attackers.erase(it);
      ++cut;
      if (reconnect) {
        Attacker* a = open_one(was_slow);
        ++reopened;
        // A slowloris starts dribbling on the new connection at once.
        if (a != nullptr && was_slow) dribble(*a);
      }
    }
  }
  done = true;
  prober.join();
  const size_t alive = attackers.size();
  for (auto& [fd, a] : attackers) ::close(fd);
  ::close(ep);

  std::vector<double> ms;
  int failed = 0, late = 0;
  for (const ProbeResult& r : probes) {
    ms.push_back(r.ms);
    failed += !r.ok;
    late += r.ok && r.ms > probe_deadline * 1000;
  }
  std::sort(ms.begin(), ms.end());
  const double max_ms = ms.empty() ? 0 : ms.back();
  const double p99 = ms.empty() ? 0 : ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  const double p50 = ms.empty() ? 0 : ms[ms.size() / 2];
  const bool rss_over = max_rss_mb > 0 && peak_rss > max_rss_mb;
  std::printf(
      "flood: probes=%zu late=%d failed=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f opened=%lld "
      "cut=%lld "
      "reconnects=%lld still_open=%zu open_failures=%lld peak_rss_mb=%.1f\n",
      probes.size(), late, failed, p50, p99, max_ms, static_cast<long long>(opened),
      static_cast<long long>(cut), static_cast<long long>(reopened), alive,
      static_cast<long long>(open_failures), pid > 0 ? peak_rss : 0.0);
  if (rss_over)
    std::fprintf(stderr, "flood: the server's memory reached %.1f MB (limit %.1f)\n", peak_rss,
                 max_rss_mb);
  return probes.empty() || failed > 0 || late > 0 || rss_over ? 1 : 0;
}
