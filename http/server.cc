#include "http/server.h"
#include "http/security_headers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/errors.h"
#include "runtime/work_queue.h"

namespace simsearch::http {

const std::string* Request::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, name)) return &v;
  }
  return nullptr;
}

int64_t RaiseOpenFileLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  return lim.rlim_cur == RLIM_INFINITY ? INT64_MAX : static_cast<int64_t>(lim.rlim_cur);
}

namespace {

constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
constexpr absl::Duration kTick = absl::Milliseconds(100);  // how often deadlines are checked
constexpr absl::Duration kLinger = absl::Seconds(2);       // reading what follows a closing answer
constexpr int kAcceptsPerTurn = 64;
constexpr size_t kReadChunk = 16 * 1024;

// The open-file limit leaves room for a quarter of the descriptors (files, gRPC).
int FitToFileLimit(int wanted) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
    return std::max(1, wanted);
  const int64_t fit = static_cast<int64_t>(lim.rlim_cur) * 3 / 4;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(wanted, fit)));
}

// host:port or [v6]:port -> a listening socket, bound without SO_REUSEPORT.
absl::StatusOr<int> Listen(const std::string& flag, const std::string& listen, int backlog) {
  const size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = -1;
  if (colon == std::string::npos || host.empty() ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " takes host:port (e.g. 127.0.0.1:8080; port 0 picks one), got '", listen, "'"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot listen on ", listen, ": '", host,
                                                   "' is not an address (", gai_strerror(rc), ")"));
  }
  std::string problem = "no address to bind";
  int fd = -1;
  for (addrinfo* a = res; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      problem = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
                 sizeof(one));  // restarts past TIME_WAIT; not REUSEPORT
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, std::max(1, backlog)) != 0) {
      problem = errno == EADDRINUSE
                    ? "address already in use: another process is listening there (stop it, or "
                      "choose another address)"
                    : absl::StrCat(std::strerror(errno), " (not a local address?)");
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0)
    return absl::UnavailableError(absl::StrCat(flag, ": cannot listen on ", listen, ": ", problem));
  return fd;
}

std::string PeerName(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return absl::StrCat(text, ":", ntohs(in->sin_port));
  }
  if (a.ss_family == AF_INET6) {
    const auto* in = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof(text));
    return absl::StrCat("[", text, "]:", ntohs(in->sin6_port));
  }
  return "?";
}

bool HeaderNameOk(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        std::strchr("!#$%&'*+-.^_`|~", c) == nullptr) {
      return false;
    }
  }
  return !absl::EqualsIgnoreCase(name, "Content-Length") &&
         !absl::EqualsIgnoreCase(name, "Connection") &&
         !absl::EqualsIgnoreCase(name, "Transfer-Encoding") &&
         !absl::EqualsIgnoreCase(name, "Date");
}

bool HeaderValueOk(absl::string_view value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

}  // namespace

// Everything runs on the loop thread but the handler (workers) and stop/stats.
class Server::Loop {
 public:
  Loop(ServerOptions options, Handler handler, int listen_fd)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        listen_fd_(listen_fd),
        max_connections_(FitToFileLimit(options_.max_connections)),
        workers_(std::make_unique<WorkQueue>(std::max(1, options_.threads),
                                             std::max(0, options_.max_queued))) {}

  absl::Status Init() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0)
      return absl::InternalError(absl::StrCat("epoll: ", std::strerror(errno)));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenId;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    ev.data.u64 = kWakeId;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  ~Loop() {
    if (thread_.joinable()) {
      stop_.store(true);
      Wake();
      thread_.join();
    }
    workers_.reset();  // runs what is queued; its answers find no connection
    for (int fd : {listen_fd_, wake_fd_, epoll_fd_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  int max_connections() const { return max_connections_; }
  ServerStats stats() const {
    ServerStats s;
    s.accepted = accepted_.load();
    s.open = open_.load();
    s.shed = shed_.load();
    s.timed_out = timed_out_.load();
    s.requests = requests_.load();
    s.rejected = rejected_.load();
    return s;
  }

 private:
  enum class Phase {
    kRequest,   // reading a request (or waiting for one: idle)
    kHandling,  // the handler has it
    kWriting,   // sending the answer
    kLinger,    // answer sent, connection closing: reading what the client still sends
  };
  struct Conn {
    uint64_t id = 0;
    int fd = -1;
    std::string peer;
    Phase phase = Phase::kRequest;
    absl::Time deadline;
    uint32_t interest = 0;  // epoll events asked for now
    std::list<Conn*>::iterator waiting;
    bool in_waiting = false;
    bool peer_closed = false;  // read 0: the client sends nothing more
    // kRequest
    std::string in;  // received and not yet consumed
    size_t scanned = 0;
    bool started = false;  // a byte of the current request arrived
    absl::Time arrived;    // ... at this time
    bool have_head = false;
    RequestHead head;
    std::unique_ptr<ChunkedDecoder> chunks;
    std::string body;
    // kHandling, kWriting
    bool head_only = false;
    bool keep_alive = true;
    std::string out;
    size_t sent = 0;
  };

  void Wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  }

  void Run() {
    std::vector<epoll_event> events(256);
    absl::Time next_sweep = absl::Now() + kTick;
    absl::Time stop_by = absl::InfiniteFuture();
    for (;;) {
      const int wait_ms = static_cast<int>(
          std::max<int64_t>(0, absl::ToInt64Milliseconds(next_sweep - absl::Now())));
      const int n =
          ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms + 1);
      now_ = absl::Now();
      for (int i = 0; i < n; ++i) {
        const uint64_t id = events[i].data.u64;
        if (id == kListenId) {
          AcceptSome();
        } else if (id == kWakeId) {
          uint64_t count = 0;
          [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof(count));
          Completions();
        } else if (auto it = conns_.find(id); it != conns_.end()) {
          OnEvent(it->second.get(), events[i].events);
        }
      }
      RunPending();
      if (now_ >= next_sweep) {
        Sweep();
        next_sweep = now_ + kTick;
      }
      if (stop_.load() && stop_by == absl::InfiniteFuture()) {
        stop_by = now_ + std::min(options_.write_timeout, absl::Seconds(10));
        BeginStop();
      }
      if (stop_by != absl::InfiniteFuture() && (conns_.empty() || now_ >= stop_by)) break;
    }
    abandoned_.store(true);  // requests still queued now are not worth answering
    for (auto& [id, c] : conns_) {
      if (c->fd >= 0) ::close(c->fd);
    }
    open_.store(0);
    conns_.clear();
  }

  // Stops accepting (the listening socket closes: new connections are refused, not
  // left hanging); connections waiting for a request close; requests in progress go on.
  void BeginStop() {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    ::close(listen_fd_);
    listen_fd_ = -1;
    std::vector<Conn*> idle;
    for (auto& [id, c] : conns_) {
      if (c->phase == Phase::kRequest || c->phase == Phase::kLinger) idle.push_back(c.get());
    }
    for (Conn* c : idle) Close(c);
  }

  void AcceptSome() {
    for (int i = 0; i < kAcceptsPerTurn; ++i) {
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: make room from the oldest waiting connection, or stop
          // accepting for a tick (the kernel queues meanwhile).
          if (ShedOldest()) continue;
          PauseAccepting();
        }
        return;
      }
      accepted_.fetch_add(1);
      if (static_cast<int>(conns_.size()) >= max_connections_ && !ShedOldest()) {
        ::close(fd);  // every connection has a request in progress: no room
        shed_.fetch_add(1);
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto conn = std::make_unique<Conn>();
      Conn* c = conn.get();
      c->id = next_id_++;
      c->fd = fd;
      c->peer = PeerName(addr);
      conns_.emplace(c->id, std::move(conn));
      open_.fetch_add(1);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = c->id;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
      c->interest = EPOLLIN;
      StartWaiting(c, Phase::kRequest, now_ + options_.idle_timeout);
      OnReadable(c);  // a prompt client's request is often there already
    }
  }

  void PauseAccepting() {
    if (accept_paused_) return;
    epoll_event ev{};
    ev.events = 0;
    ev.data.u64 = kListenId;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    accept_paused_ = true;
  }

  void ResumeAccepting() {
    if (!accept_paused_ || stop_.load()) return;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenId;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    accept_paused_ = false;
  }

  // Closes the connection that has waited longest without a complete request or
  // without taking its answer. False when every connection has a request in progress.
  bool ShedOldest() {
    if (waiting_.empty()) return false;
    Close(waiting_.front());
    shed_.fetch_add(1);
    return true;
  }

  // Puts `c` at the back of the waiting list (the newest) in `phase` until `deadline`.
  void StartWaiting(Conn* c, Phase phase, absl::Time deadline) {
    StopWaiting(c);
    c->phase = phase;
    c->deadline = deadline;
    c->waiting = waiting_.insert(waiting_.end(), c);
    c->in_waiting = true;
  }

  void StopWaiting(Conn* c) {
    if (!c->in_waiting) return;
    waiting_.erase(c->waiting);
    c->in_waiting = false;
  }

  void SetInterest(Conn* c, uint32_t events) {
    if (c->fd < 0 || c->interest == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = c->id;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
    c->interest = events;
  }

  void Close(Conn* c) {
    StopWaiting(c);
    if (c->fd >= 0) {
      ::close(c->fd);  // also leaves the epoll set
      c->fd = -1;
      open_.fetch_sub(1);
    }
    // A connection whose request the handler has stays until the answer comes back.
    if (c->phase != Phase::kHandling) conns_.erase(c->id);
  }

  void OnEvent(Conn* c, uint32_t events) {
    switch (c->phase) {
      case Phase::kRequest:
      case Phase::kLinger:
        OnReadable(c);
        break;
      case Phase::kWriting:
        if (events & (EPOLLERR | EPOLLHUP)) {
          Close(c);
        } else {
          Flush(c);
        }
        break;
      case Phase::kHandling:
        // Nothing is asked for but errors and hang-ups: the client is gone.
        if (events & (EPOLLERR | EPOLLHUP)) Close(c);
        break;
    }
  }

  // Reads what has arrived (up to what a request may still need), then parses.
  void OnReadable(Conn* c) {
    const size_t cap =
        options_.head_limits.max_head_bytes + options_.max_body_bytes + 4 * kReadChunk;
    char buf[kReadChunk];
    for (int round = 0; round < 4 && !c->peer_closed; ++round) {
      const bool linger = c->phase == Phase::kLinger;
      if (!linger && c->in.size() >= cap) break;
      const ssize_t n =
          ::recv(c->fd, buf, linger ? sizeof(buf) : std::min(sizeof(buf), cap - c->in.size()), 0);
      if (n > 0) {
        if (linger) continue;  // discarded
        c->in.append(buf, static_cast<size_t>(n));
        MarkStarted(c);
      } else if (n == 0) {
        c->peer_closed = true;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      } else {
        Close(c);
        return;
      }
    }
    if (c->phase == Phase::kLinger) {
      if (c->peer_closed) Close(c);
      return;
    }
    Advance(c);
  }

  // The head timeout runs from a request's first byte. Line ends before a request line
  // (a stray CRLF after a body, which some clients send) do not start one: the
  // connection is still idle.
  void MarkStarted(Conn* c) {
    if (c->started || c->in.find_first_not_of("\r\n") == std::string::npos) return;
    c->started = true;
    c->arrived = now_;
    c->deadline = now_ + options_.head_timeout;
  }

  // Parses as much of the request as has arrived; a complete one goes to a worker.
  void Advance(Conn* c) {
    if (!c->have_head) {
      const size_t end = FindHeadEnd(c->in, &c->scanned);
      if (end == 0) {
        if (c->in.size() > options_.head_limits.max_head_bytes) {
          return Reject(c, 431,
                        absl::StrCat("the request head is over ",
                                     options_.head_limits.max_head_bytes, " bytes"));
        }
        if (c->peer_closed) Close(c);
        return;
      }
      ParseError error;
      if (!ParseRequestHead(absl::string_view(c->in).substr(0, end), options_.head_limits, &c->head,
                            &error)) {
        return Reject(c, error.status, error.message);
      }
      c->in.erase(0, end);
      c->scanned = 0;
      c->have_head = true;
      c->deadline = now_ + options_.body_timeout;
      // Refused from the declared length, before a byte of the body is read.
      if (c->head.content_length > static_cast<int64_t>(options_.max_body_bytes)) {
        return Reject(c, 413,
                      absl::StrCat("request body is ", c->head.content_length,
                                   " bytes; the limit is ", options_.max_body_bytes));
      }
      if (c->head.chunked) {
        c->chunks = std::make_unique<ChunkedDecoder>(options_.max_body_bytes,
                                                     options_.head_limits.max_head_bytes);
      }
      if (c->head.expect_continue && (c->head.chunked || c->head.content_length > 0) &&
          c->in.empty()) {
        constexpr absl::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        if (::send(c->fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(kContinue.size())) {
          return Close(c);
        }
      }
    }
    if (c->head.chunked) {
      size_t used = 0;
      const ChunkedDecoder::Result r = c->chunks->Feed(c->in, &used, &c->body);
      c->in.erase(0, used);
      if (r == ChunkedDecoder::Result::kError)
        return Reject(c, c->chunks->error().status, c->chunks->error().message);
      if (r == ChunkedDecoder::Result::kNeedMore) {
        if (c->peer_closed) Close(c);
        return;
      }
    } else {
      const size_t length = static_cast<size_t>(c->head.content_length);
      if (c->in.size() < length) {
        if (c->peer_closed) Close(c);
        return;
      }
      c->body.assign(c->in, 0, length);
      c->in.erase(0, length);
    }
    Dispatch(c);
  }

  void Dispatch(Conn* c) {
    Request req;
    req.method = std::move(c->head.method);
    req.target = std::move(c->head.target);
    req.path = std::move(c->head.path);
    req.query = std::move(c->head.query);
    req.headers = std::move(c->head.headers);
    req.body = std::move(c->body);
    req.peer = c->peer;
    req.arrived = c->arrived;
    c->head_only = req.method == "HEAD";
    // A client that half-closed after sending still gets every complete request it
    // sent answered (the connection closes once none is left: Advance).
    c->keep_alive = c->head.keep_alive;
    c->have_head = false;
    c->started = false;
    c->chunks.reset();
    c->body.clear();
    if (c->in.empty() && c->in.capacity() > kReadChunk)
      std::string().swap(c->in);  // after a large request
    StopWaiting(c);
    c->phase = Phase::kHandling;
    SetInterest(c, 0);
    requests_.fetch_add(1);
    const uint64_t id = c->id;
    const bool queued = workers_->TrySubmit([this, id, req = std::move(req)] {
      if (abandoned_.load()) return;  // the server stopped before this request's turn
      Response r;
      try {
        r = handler_(req);
      } catch (...) {
        r = ErrorResponse(500, "the handler failed");
      }
      {
        absl::MutexLock lock(&done_mu_);
        done_.emplace_back(id, std::move(r));
      }
      Wake();
    });
    if (!queued) {
      rejected_.fetch_add(1);
      Respond(c, ErrorResponse(503, "the server is busy; retry"));
    }
  }

  void Completions() {
    std::vector<std::pair<uint64_t, Response>> done;
    {
      absl::MutexLock lock(&done_mu_);
      done.swap(done_);
    }
    for (auto& [id, response] : done) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      Conn* c = it->second.get();
      if (c->fd < 0) {  // the client left while the handler ran
        conns_.erase(it);
        continue;
      }
      Respond(c, std::move(response));
    }
  }

  Response ErrorResponse(int status, absl::string_view message) const {
    Response r;
    r.status = status;
    r.headers = {{"Content-Type", "application/json"}};
    for (const auto& [k, v] : kApiSecurityHeaders) r.headers.emplace_back(k, v);
    r.headers.insert(r.headers.end(), options_.error_headers.begin(), options_.error_headers.end());
    std::string escaped;
    for (char ch : message) {
      const unsigned char u = static_cast<unsigned char>(ch);
      if (ch == '"' || ch == '\\') {
        escaped += '\\';
        escaped += ch;
      } else if (u < 0x20 || u >= 0x7f) {
        escaped += '?';  // messages quote client bytes: keep the JSON valid
      } else {
        escaped += ch;
      }
    }
    r.body = absl::StrCat("{\"error\":\"", escaped, "\",\"status\":", status, ",\"reason\":\"",
                          HttpStatusReason(status), "\"}");
    return r;
  }

  // The server's own answer to a request it cannot take; the connection then closes
  // (its stream cannot be trusted any more).
  void Reject(Conn* c, int status, absl::string_view message) {
    rejected_.fetch_add(1);
    c->head_only = c->have_head && c->head.method == "HEAD";  // e.g. a 413 to HEAD: no body
    c->keep_alive = false;
    Response r = ErrorResponse(status, message);
    r.close = true;
    Respond(c, std::move(r));
  }

  const std::string& DateHeader() {
    const int64_t second = absl::ToUnixSeconds(now_);
    if (second != date_second_) {
      date_second_ = second;
      date_ = absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", now_, absl::UTCTimeZone());
    }
    return date_;
  }

  void Respond(Conn* c, Response r) {
    if (r.status < 200 || r.status > 599)
      r = ErrorResponse(500, "the handler gave no valid status");
    const bool close = r.close || !c->keep_alive || stop_.load();
    std::string& out = c->out;
    out = absl::StrCat("HTTP/1.1 ", r.status, " ", ReasonPhrase(r.status),
                       "\r\nDate: ", DateHeader(), "\r\n");
    for (const auto& [k, v] : r.headers) {
      if (HeaderNameOk(k) && HeaderValueOk(v)) absl::StrAppend(&out, k, ": ", v, "\r\n");
    }
    // 204 and 304 answers have no body and no Content-Length (RFC 9110 section 8.6).
    const bool bodiless = r.status == 204 || r.status == 304;
    if (!bodiless) absl::StrAppend(&out, "Content-Length: ", r.body.size(), "\r\n");
    if (close) out += "Connection: close\r\n";
    out += "\r\n";
    if (!c->head_only && !bodiless) out += r.body;
    c->sent = 0;
    c->keep_alive = !close;
    StartWaiting(c, Phase::kWriting, now_ + options_.write_timeout);
    Flush(c);
  }

  void Flush(Conn* c) {
    while (c->sent < c->out.size()) {
      const ssize_t n =
          ::send(c->fd, c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL);
      if (n > 0) {
        c->sent += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        SetInterest(c, EPOLLOUT);
        return;
      } else {
        return Close(c);
      }
    }
    c->out.clear();
    c->out.shrink_to_fit();
    if (!c->keep_alive || stop_.load()) {
      // Lingering close: a close() with unread bytes would send a reset that can
      // destroy the answer before the client reads it (a 413 while the body arrives).
      ::shutdown(c->fd, SHUT_WR);
      if (stop_.load()) return Close(c);  // stopping: no time to linger
      StartWaiting(c, Phase::kLinger, now_ + kLinger);
      SetInterest(c, EPOLLIN);
      return;
    }
    // Kept alive: wait for the next request, which may have arrived already.
    c->head = RequestHead();
    StartWaiting(c, Phase::kRequest, now_ + options_.idle_timeout);
    SetInterest(c, EPOLLIN);
    if (!c->in.empty() || c->peer_closed) pending_.push_back(c->id);
  }

  // Pipelined requests already read, taken one at a time here rather than by recursion.
  void RunPending() {
    while (!pending_.empty()) {
      const uint64_t id = pending_.back();
      pending_.pop_back();
      auto it = conns_.find(id);
      if (it == conns_.end() || it->second->phase != Phase::kRequest) continue;
      Conn* c = it->second.get();
      MarkStarted(c);
      Advance(c);
    }
  }

  void Sweep() {
    if (accept_paused_) ResumeAccepting();
    std::vector<Conn*> expired;
    for (Conn* c : waiting_) {
      if (c->deadline <= now_) expired.push_back(c);
    }
    for (Conn* c : expired) {
      timed_out_.fetch_add(1);
      if (c->phase == Phase::kRequest && c->started) {
        Reject(c, 408,
               c->have_head ? "the request body took too long to arrive"
                            : "the request head took too long to arrive");
        // Its answer has write_timeout to go out; the connection closes after it.
      } else {
        Close(c);  // idle, not taking its answer, or done lingering
      }
    }
  }

  const ServerOptions options_;
  const Handler handler_;
  int listen_fd_;  // -1 once stopping
  const int max_connections_;
  std::unique_ptr<WorkQueue> workers_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> abandoned_{false};  // the loop has exited: queued jobs skip the handler

  // Loop thread only.
  absl::Time now_;
  uint64_t next_id_ = 2;  // 0 and 1 name the listening socket and the wake-up
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::list<Conn*> waiting_;  // connections not with the handler, longest waiting first
  std::vector<uint64_t> pending_;
  bool accept_paused_ = false;
  int64_t date_second_ = -1;
  std::string date_;

  absl::Mutex done_mu_;
  std::vector<std::pair<uint64_t, Response>> done_ ABSL_GUARDED_BY(done_mu_);

  std::atomic<int64_t> accepted_{0}, open_{0}, shed_{0}, timed_out_{0}, requests_{0}, rejected_{0};
};

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const std::string& listen,
                                                      ServerOptions options, Handler handler) {
  auto fd = Listen(options.flag, listen, options.backlog);
  if (!fd.ok()) return fd.status();
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::unique_ptr<Server> s(new Server());
  s->port_ = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  s->loop_ = std::make_unique<Loop>(std::move(options), std::move(handler), *fd);
  if (absl::Status st = s->loop_->Init(); !st.ok()) return st;
  return s;
}

Server::~Server() = default;

int Server::max_connections() const {
  return loop_->max_connections();
}
ServerStats Server::stats() const {
  return loop_->stats();
}

}  // namespace simsearch::http
