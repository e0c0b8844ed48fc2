// http::Server over real sockets on 127.0.0.1: keep-alive and pipelining, HEAD, the
// refusals of bad requests (before the handler sees them), 100-continue, and what idle,
// slow, greedy and non-reading clients meet: timeouts, shedding, 503 (http/server.h).
#include "http/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "tests/testing/raw_http.h"

namespace simsearch::http {
namespace {

using testing::Connect;
using testing::Exchange;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Read;
using testing::Send;
using ::testing::StartsWith;

std::string StatusLine(const std::string& answer) {
  return answer.substr(0, answer.find("\r\n"));
}

// How many complete answers `wire` holds (each with a Content-Length).
int CountAnswers(const std::string& wire) {
  int n = 0;
  size_t pos = 0;
  while (true) {
    const size_t head_end = wire.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) return n;
    const size_t cl = wire.find("Content-Length: ", pos);
    if (cl == std::string::npos || cl > head_end) return n;
    pos = head_end + 4 + std::stoul(wire.substr(cl + 16));
    if (pos > wire.size()) return n;
    ++n;
  }
}

// Echoes the method, path, query, body size and peer; counts its calls.
struct Echo {
  std::atomic<int> calls{0};
  Handler handler() {
    return [this](const Request& r) {
      ++calls;
      Response a;
      a.headers = {{"Content-Type", "text/plain"}};
      const std::string* x = r.Header("x-echo");
      a.body = absl::StrCat(r.method, " ", r.path, " ?", r.query, " body=", r.body.size(),
                            " peer=", r.peer.rfind("127.0.0.1:", 0) == 0 ? "ok" : r.peer,
                            x ? " x=" + *x : "");
      return a;
    };
  }
};

std::unique_ptr<Server> StartServer(ServerOptions o, Handler h) {
  auto s = Server::Start("127.0.0.1:0", std::move(o), std::move(h));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

TEST(HttpServer, AnswersKeptAliveAndPipelinedRequestsInOrder) {
  Echo echo;
  auto s = StartServer({}, echo.handler());
  ASSERT_NE(s, nullptr);
  const int fd = Connect(s->port());
  for (int i = 0; i < 3; ++i) {
    Send(fd, absl::StrCat("GET /one?i=", i, " HTTP/1.1\r\nHost: t\r\n\r\n"));
    const std::string r = Read(fd, absl::Seconds(5), nullptr, 1);
    EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(r, HasSubstr(absl::StrCat("GET /one ?i=", i, " body=0 peer=ok")));
    EXPECT_THAT(r, HasSubstr("\r\nDate: "));
    EXPECT_THAT(r, Not(HasSubstr("Connection: close")));
  }
  // 300 pipelined requests in one write, the last asking to close: every answer, in
  // order, then the close (a single worker: the connection's requests go one at a time).
  std::string burst;
  for (int i = 0; i < 300; ++i)
    absl::StrAppend(&burst, "GET /p", i, " HTTP/1.1\r\nHost: t\r\n\r\n");
  burst += "POST /last HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc";
  Send(fd, burst);
  bool closed = false;
  const std::string all = Read(fd, absl::Seconds(10), &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(CountAnswers(all), 301);
  size_t pos = 0;
  for (int i = 0; i < 300; ++i) {
    const size_t at = all.find(absl::StrCat("GET /p", i, " "), pos);
    ASSERT_NE(at, std::string::npos) << i;
    pos = at;
  }
  EXPECT_THAT(all.substr(pos), HasSubstr("POST /last ? body=3"));
  EXPECT_THAT(all.substr(pos), HasSubstr("Connection: close"));
  ::close(fd);
  EXPECT_EQ(echo.calls.load(), 304);
}

TEST(HttpServer, HeadAnswersWithoutTheBodyButWithItsLength) {
  Echo echo;
  auto s = StartServer({}, echo.handler());
  ASSERT_NE(s, nullptr);
  const std::string get =
      Exchange(s->port(), "GET /h HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  const std::string head =
      Exchange(s->port(), "HEAD /h HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  const std::string get_body = get.substr(get.find("\r\n\r\n") + 4);
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(head, HasSubstr(absl::StrCat("Content-Length: ", get_body.size() + 1, "\r\n")))
      << "the length of HEAD's own would-be body ('HEAD' is one letter longer than 'GET')";
  EXPECT_EQ(head.size(), head.find("\r\n\r\n") + 4) << "no body";
}

TEST(HttpServer, RefusesBadRequestsBeforeTheHandler) {
  Echo echo;
  ServerOptions o;
  o.error_headers = {{"Access-Control-Allow-Origin", "*"}};
  auto s = StartServer(o, echo.handler());
  ASSERT_NE(s, nullptr);
  struct Case {
    std::string raw;
    std::string status;
  };
  const std::vector<Case> cases = {
      {"GET /items/1%00.json HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"GET /health%00x HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"POST /r HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"GET / HTTP/3.0\r\nHost: t\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported"},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
       "HTTP/1.1 501 Not Implemented"},
      {"GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(20000, 'a') + "\r\n\r\n",
       "HTTP/1.1 431 Request Header Fields Too Large"},
      {"GET /" + std::string(20000, 'a'), "HTTP/1.1 431 Request Header Fields Too Large"},
  };
  for (const Case& c : cases) {
    const std::string r = Exchange(s->port(), c.raw);
    EXPECT_EQ(StatusLine(r), c.status) << c.raw.substr(0, 80);
    EXPECT_THAT(r, HasSubstr("Connection: close"));
    EXPECT_THAT(r, HasSubstr("Content-Type: application/json"));
    EXPECT_THAT(r, HasSubstr("Access-Control-Allow-Origin: *"));
    EXPECT_THAT(r, HasSubstr("\"error\":\""));
  }
  EXPECT_EQ(echo.calls.load(), 0);
  EXPECT_GE(s->stats().rejected, static_cast<int64_t>(cases.size()));
}

TEST(HttpServer, BodiesByLengthOrChunkedWithinTheLimit) {
  Echo echo;
  ServerOptions o;
  o.max_body_bytes = 1000;
  auto s = StartServer(o, echo.handler());
  ASSERT_NE(s, nullptr);
  std::string r = Exchange(
      s->port(),
      "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_THAT(r, HasSubstr("body=5"));
  r = Exchange(
      s->port(),
      "POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "3\r\nabc\r\n4;x=1\r\ndefg\r\n0\r\nT: 1\r\n\r\n");
  EXPECT_THAT(r, HasSubstr("body=7"));
  // Over the limit: refused from the declared length at once, before the body arrives.
  const absl::Time start = absl::Now();
  r = Exchange(s->port(),
               "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 629145600\r\n\r\n{\"id\": 1");
  EXPECT_EQ(StatusLine(r), "HTTP/1.1 413 Content Too Large");
  EXPECT_THAT(r, HasSubstr("the limit is 1000"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  r = Exchange(s->port(),
               "POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" +
                   std::string(1000, 'x') + "\r\n1\r\n");
  EXPECT_EQ(StatusLine(r), "HTTP/1.1 413 Content Too Large");
  EXPECT_EQ(echo.calls.load(), 2);
}

TEST(HttpServer, ExpectContinueGetsTheGoAheadBeforeTheBody) {
  Echo echo;
  auto s = StartServer({}, echo.handler());
  ASSERT_NE(s, nullptr);
  const int fd = Connect(s->port());
  Send(fd, "POST /c HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(Read(fd, absl::Seconds(5), nullptr, 25), "HTTP/1.1 100 Continue\r\n\r\n");
  Send(fd, "data");
  EXPECT_THAT(Read(fd, absl::Seconds(5), nullptr, 1), HasSubstr("body=4"));
  ::close(fd);
}

TEST(HttpServer, DropsResponseHeadersThatWouldBreakTheHead) {
  auto s = StartServer({}, [](const Request&) {
    Response r;
    r.headers = {{"X-Ok", "yes"},
                 {"X-Bad", "a\r\nSet-Cookie: evil=1"},
                 {"Bad Name", "x"},
                 {"Content-Length", "999"},
                 {"X-Nul", std::string("a\0b", 3)}};
    r.body = "body";
    return r;
  });
  ASSERT_NE(s, nullptr);
  const std::string r =
      Exchange(s->port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(r, HasSubstr("X-Ok: yes\r\n"));
  EXPECT_THAT(r, Not(HasSubstr("evil")));
  EXPECT_THAT(r, Not(HasSubstr("Bad Name")));
  EXPECT_THAT(r, Not(HasSubstr("999")));
  EXPECT_THAT(r, Not(HasSubstr("X-Nul")));
  EXPECT_THAT(r, HasSubstr("Content-Length: 4\r\n"));
}

TEST(HttpServer, IdleAndSlowConnectionsAreTimedOut) {
  Echo echo;
  ServerOptions o;
  o.idle_timeout = absl::Milliseconds(300);
  o.head_timeout = absl::Milliseconds(800);
  auto s = StartServer(o, echo.handler());
  ASSERT_NE(s, nullptr);
  // Sends nothing: closed without a word after the idle timeout.
  const int idle = Connect(s->port());
  // Dribbles a header line every 100 ms (always within the idle timeout): 408 once the
  // whole head has taken longer than the head timeout.
  const int slow = Connect(s->port());
  const absl::Time start = absl::Now();
  Send(slow, "GET / HTTP/1.1\r\nHost: t\r\n");
  std::string slow_got;
  bool slow_closed = false;
  for (int i = 0; i < 30 && !slow_closed; ++i) {
    Send(slow, absl::StrCat("X-", i, ": y\r\n"));
    slow_got += Read(slow, absl::Milliseconds(100), &slow_closed);
  }
  const absl::Duration slow_took = absl::Now() - start;
  EXPECT_EQ(StatusLine(slow_got), "HTTP/1.1 408 Request Timeout");
  EXPECT_THAT(slow_got, HasSubstr("request head took too long"));
  EXPECT_TRUE(slow_closed);
  EXPECT_GE(slow_took, absl::Milliseconds(800));
  EXPECT_LT(slow_took, absl::Milliseconds(2500));
  bool idle_closed = false;
  EXPECT_EQ(Read(idle, absl::Seconds(3), &idle_closed), "");
  EXPECT_TRUE(idle_closed);
  // A kept-alive connection is idle again after its answer.
  const int kept = Connect(s->port());
  Send(kept, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_THAT(Read(kept, absl::Seconds(2), nullptr, 1), StartsWith("HTTP/1.1 200"));
  bool kept_closed = false;
  Read(kept, absl::Seconds(3), &kept_closed);
  EXPECT_TRUE(kept_closed);
  for (int fd : {idle, slow, kept}) ::close(fd);
  EXPECT_GE(s->stats().timed_out, 3);
}

// At the connection limit, a new connection sheds the one that has waited longest
// without a complete request; the newcomer is served.
TEST(HttpServer, ANewConnectionShedsTheLongestWaiting) {
  Echo echo;
  ServerOptions o;
  o.max_connections = 4;
  auto s = StartServer(o, echo.handler());
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->max_connections(), 4);
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(Connect(s->port()));
    if (i % 2) Send(held.back(), "GET / HTTP/1.1\r\n");  // half a head
    absl::SleepFor(absl::Milliseconds(20));              // accepted in this order
  }
  const std::string r =
      Exchange(s->port(), "GET /new HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(r, HasSubstr("GET /new"));
  bool closed = false;
  Read(held[0], absl::Seconds(2), &closed);
  EXPECT_TRUE(closed) << "the oldest was shed";
  for (size_t i = 1; i < held.size(); ++i) {
    Read(held[i], absl::Milliseconds(100), &closed);
    EXPECT_FALSE(closed) << "newer ones stay: " << i;
  }
  EXPECT_EQ(s->stats().shed, 1);
  for (int fd : held) ::close(fd);
}

TEST(HttpServer, BusyWorkersAnswer503AtOnce) {
  absl::Notification release;
  std::atomic<int> started{0};
  ServerOptions o;
  o.threads = 1;
  o.max_queued = 0;
  auto s = StartServer(o, [&](const Request&) {
    ++started;
    release.WaitForNotification();
    return Response{};
  });
  ASSERT_NE(s, nullptr);
  const int first = Connect(s->port());
  Send(first, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  for (int i = 0; i < 200 && started.load() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  const absl::Time start = absl::Now();
  const std::string second =
      Exchange(s->port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusLine(second), "HTTP/1.1 503 Service Unavailable");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  release.Notify();
  EXPECT_THAT(Read(first, absl::Seconds(5), nullptr, 1), StartsWith("HTTP/1.1 200"));
  ::close(first);
}

// A client that asks for a large answer and never reads it is cut after the write
// timeout; others are served meanwhile.
TEST(HttpServer, ClientsThatDoNotReadTheirAnswerAreCut) {
  ServerOptions o;
  o.write_timeout = absl::Milliseconds(500);
  auto s = StartServer(o, [](const Request& r) {
    Response a;
    a.body = r.path == "/big" ? std::string(32 << 20, 'x') : "small";
    return a;
  });
  ASSERT_NE(s, nullptr);
  const int greedy = Connect(s->port());
  const int tiny = 4096;
  ::setsockopt(greedy, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny));
  Send(greedy, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_THAT(Exchange(s->port(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
              HasSubstr("small"));
  for (int i = 0; i < 40 && s->stats().timed_out == 0; ++i) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(s->stats().timed_out, 1);
  ::close(greedy);
}

TEST(HttpServer, StoppingLetsRequestsInProgressFinish) {
  absl::Notification entered;
  auto s = StartServer({}, [&](const Request&) {
    entered.Notify();
    absl::SleepFor(absl::Milliseconds(300));
    Response r;
    r.body = "finished";
    return r;
  });
  ASSERT_NE(s, nullptr);
  const int port = s->port();
  const int fd = Connect(port);
  Send(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  entered.WaitForNotification();
  std::thread stopper([&] { s.reset(); });
  bool closed = false;
  const std::string r = Read(fd, absl::Seconds(5), &closed);
  stopper.join();
  EXPECT_THAT(r, HasSubstr("finished"));
  EXPECT_THAT(r, HasSubstr("Connection: close"));
  EXPECT_TRUE(closed);
  ::close(fd);
  EXPECT_LT(Connect(port), 0) << "no longer listening";
}

// A client that sends two requests and half-closes at once gets both answers, however
// the bytes and the end of its stream fall into the server's reads.
TEST(HttpServer, AHalfClosedClientGetsEveryRequestItSentAnswered) {
  Echo echo;
  auto s = StartServer({}, echo.handler());
  ASSERT_NE(s, nullptr);
  for (int round = 0; round < 20; ++round) {
    const int fd = Connect(s->port());
    Send(fd, "GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    ::shutdown(fd, SHUT_WR);
    bool closed = false;
    const std::string all = Read(fd, absl::Seconds(5), &closed);
    EXPECT_EQ(CountAnswers(all), 2) << round << ": " << all;
    EXPECT_THAT(all, HasSubstr("GET /b"));
    EXPECT_TRUE(closed);
    ::close(fd);
  }
}

// 204 and 304 carry neither a body nor a Content-Length (RFC 9110 section 8.6), and the
// connection's next answer is framed right; a handler's 1xx is turned into a 500.
TEST(HttpServer, NoContentAnswersHaveNoBodyOrLength) {
  auto s = StartServer({}, [](const Request& r) {
    Response a;
    a.status = r.path == "/none" ? 204 : r.path == "/weird" ? 101 : 200;
    a.body = "body";
    return a;
  });
  ASSERT_NE(s, nullptr);
  const int fd = Connect(s->port());
  Send(fd,
       "OPTIONS /none HTTP/1.1\r\nHost: t\r\n\r\nGET /x HTTP/1.1\r\nHost: t\r\nConnection: "
       "close\r\n\r\n");
  const std::string both = Read(fd, absl::Seconds(2));
  ::close(fd);
  EXPECT_THAT(both, StartsWith("HTTP/1.1 204 No Content\r\n"));
  const std::string first = both.substr(0, both.find("\r\n\r\n") + 4);
  EXPECT_THAT(first, Not(HasSubstr("Content-Length")));
  EXPECT_EQ(both.substr(first.size(), 15), "HTTP/1.1 200 OK") << "no body between the two answers";
  EXPECT_EQ(StatusLine(
                Exchange(s->port(), "GET /weird HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")),
            "HTTP/1.1 500 Internal Server Error");
}

// A stray CRLF after a request's body (some clients send one) does not start a request:
// the connection stays idle and is closed quietly, not answered 408.
TEST(HttpServer, LineEndsBetweenRequestsLeaveTheConnectionIdle) {
  Echo echo;
  ServerOptions o;
  o.idle_timeout = absl::Milliseconds(300);
  o.head_timeout = absl::Seconds(1);
  auto s = StartServer(o, echo.handler());
  ASSERT_NE(s, nullptr);
  const int fd = Connect(s->port());
  Send(fd, "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab\r\n");
  EXPECT_THAT(Read(fd, absl::Seconds(2), nullptr, 1), HasSubstr("body=2"));
  bool closed = false;
  const std::string after = Read(fd, absl::Seconds(3), &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(after, "") << "closed quietly, no 408";
  ::close(fd);
}

// Stopping: requests still queued when the server gives up waiting are not run, and a
// kept-alive connection whose answer was being written is closed after it.
TEST(HttpServer, StoppingDoesNotRunWhatIsStillQueued) {
  std::atomic<int> calls{0};
  ServerOptions o;
  o.threads = 1;
  o.max_queued = 20;
  o.write_timeout = absl::Milliseconds(300);  // also how long stopping waits
  auto s = StartServer(o, [&](const Request&) {
    ++calls;
    absl::SleepFor(absl::Milliseconds(200));
    return Response{};
  });
  ASSERT_NE(s, nullptr);
  std::vector<int> fds;
  for (int i = 0; i < 10; ++i) {
    fds.push_back(Connect(s->port()));
    Send(fds.back(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  for (int i = 0; i < 100 && calls.load() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  const absl::Time start = absl::Now();
  s.reset();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  EXPECT_LE(calls.load(), 4) << "10 queued requests of 200 ms; stopping waited 300 ms";
  for (int fd : fds) ::close(fd);
}

TEST(HttpServer, ABusyPortOrABadAddressFailsToStart) {
  auto first = StartServer({}, Echo().handler());
  ASSERT_NE(first, nullptr);
  ServerOptions o;
  o.flag = "--metrics_listen";
  auto second = Server::Start(absl::StrCat("127.0.0.1:", first->port()), o, Echo().handler());
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(),
              HasSubstr("--metrics_listen: cannot listen on 127.0.0.1:"));
  EXPECT_THAT(second.status().message(), HasSubstr("address already in use"));
  for (const std::string bad : {"nope", "127.0.0.1:99999", ":80", "127.0.0.1:x"}) {
    auto s = Server::Start(bad, o, Echo().handler());
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_THAT(s.status().message(), HasSubstr("--metrics_listen")) << bad;
  }
  EXPECT_FALSE(Server::Start("no-such-host.invalid:80", o, Echo().handler()).ok());
}

}  // namespace
}  // namespace simsearch::http
