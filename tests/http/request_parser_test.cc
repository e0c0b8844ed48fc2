// The HTTP request parser against hand-written heads (each refusal with the status RFC
// 9110/9112 asks for) and against independent oracles: heads built line by line, whose
// end is known, found when fed a byte at a time; bodies chunked at random, which must
// decode to the original bytes however the encoding is split.
#include "http/request_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace simsearch::http {
namespace {

using ::testing::HasSubstr;

bool Parse(const std::string& head, RequestHead* out, ParseError* error, HeadLimits limits = {}) {
  size_t scanned = 0;
  const size_t end = FindHeadEnd(head, &scanned);
  EXPECT_EQ(end, head.size()) << "the test's head must be whole: " << head;
  return ParseRequestHead(head, limits, out, error);
}

TEST(RequestParser, ReadsTheRequestLineAndHeaders) {
  RequestHead h;
  ParseError e;
  ASSERT_TRUE(Parse(
      "GET /search?q=a%20b&k=5 HTTP/1.1\r\nHost: x\r\nX-Pad:   v w \t\r\nAccept:\r\n\r\n", &h, &e))
      << e.message;
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/search?q=a%20b&k=5");
  EXPECT_EQ(h.path, "/search");
  EXPECT_EQ(h.query, "q=a%20b&k=5");
  EXPECT_EQ(h.minor_version, 1);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(h.headers.size(), 3u);
  EXPECT_EQ(*h.Find("x-pad"), "v w") << "values lose surrounding whitespace only";
  EXPECT_EQ(*h.Find("ACCEPT"), "");
  EXPECT_EQ(h.Find("Cookie"), nullptr);
  EXPECT_EQ(h.content_length, 0);
  EXPECT_FALSE(h.chunked);
}

TEST(RequestParser, ConnectionsStayOpenByVersionAndHeader) {
  RequestHead h;
  ParseError e;
  ASSERT_TRUE(Parse("GET / HTTP/1.0\r\n\r\n", &h, &e)) << e.message;
  EXPECT_FALSE(h.keep_alive) << "HTTP/1.0 closes unless asked";
  ASSERT_TRUE(Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h, &e));
  EXPECT_TRUE(h.keep_alive);
  ASSERT_TRUE(Parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: TE, close\r\n\r\n", &h, &e));
  EXPECT_FALSE(h.keep_alive);
}

TEST(RequestParser, AcceptsWhatRfc9112AsksServersToAccept) {
  RequestHead h;
  ParseError e;
  // Empty lines before the request line, bare LF line ends.
  ASSERT_TRUE(Parse("\r\n\nGET /a HTTP/1.1\nHost: x\n\n", &h, &e)) << e.message;
  EXPECT_EQ(h.path, "/a");
  // Absolute form, reduced to origin form.
  ASSERT_TRUE(Parse("GET http://example.com:8080/items/1?x=2 HTTP/1.1\r\nHost: example.com\r\n\r\n",
                    &h, &e));
  EXPECT_EQ(h.path, "/items/1");
  EXPECT_EQ(h.query, "x=2");
  ASSERT_TRUE(Parse("GET https://example.com?x HTTP/1.1\r\nHost: example.com\r\n\r\n", &h, &e));
  EXPECT_EQ(h.target, "/?x");
  EXPECT_EQ(h.path, "/");
  ASSERT_TRUE(Parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", &h, &e));
  EXPECT_EQ(h.path, "*");
  // Lengths, codings, expectations.
  ASSERT_TRUE(Parse(
      "POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 0012\r\ncontent-length: 12\r\n\r\n", &h, &e))
      << "leading zeros, and a repeated equal length: " << e.message;
  EXPECT_EQ(h.content_length, 12);
  ASSERT_TRUE(Parse(
      "POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", &h, &e));
  EXPECT_EQ(h.content_length, INT64_MAX) << "too large for int64: kept as the largest, for a 413";
  ASSERT_TRUE(Parse(
      "POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nExpect: 100-continue\r\n\r\n",
      &h, &e));
  EXPECT_TRUE(h.chunked);
  EXPECT_TRUE(h.expect_continue);
  // A percent sign that does not encode NUL.
  ASSERT_TRUE(Parse("GET /a%2500b?q=%0a%01%20 HTTP/1.1\r\nHost: x\r\n\r\n", &h, &e)) << e.message;
}

struct Bad {
  std::string head;
  int status;
  std::string says;
};

TEST(RequestParser, RefusesEachMalformedHeadWithItsStatus) {
  const std::string host = "Host: x\r\n";
  const std::vector<Bad> cases = {
      // NUL, raw or encoded, anywhere in the target (a path cut there names another file).
      {"GET /items/1%00.json HTTP/1.1\r\n" + host + "\r\n", 400, "%00"},
      {"GET /app.js%00.html HTTP/1.1\r\n" + host + "\r\n", 400, "%00"},
      {"GET /health%00x HTTP/1.1\r\n" + host + "\r\n", 400, "%00"},
      {"GET /search?q=a%00b HTTP/1.1\r\n" + host + "\r\n", 400, "%00"},
      {std::string("GET /a\0b HTTP/1.1\r\n", 19) + host + "\r\n", 400, "NUL"},
      {"GET /a\x01 HTTP/1.1\r\n" + host + "\r\n", 400, "control character"},
      {"GET /a\x7f HTTP/1.1\r\n" + host + "\r\n", 400, "control character"},
      {std::string("GET / HTTP/1.1\r\nX: a\0b\r\n", 24) + host + "\r\n", 400, "control character"},
      // Content-Length that is not one plain number.
      {"POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", 400, "Content-Length '-1'"},
      {"POST / HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\n", 400, "digits only"},
      {"POST / HTTP/1.1\r\n" + host + "Content-Length: 1e3\r\n\r\n", 400, "digits only"},
      {"POST / HTTP/1.1\r\n" + host + "Content-Length: 0x10\r\n\r\n", 400, "digits only"},
      {"POST / HTTP/1.1\r\n" + host + "Content-Length: 5, 5\r\n\r\n", 400, "digits only"},
      {"POST / HTTP/1.1\r\n" + host + "Content-Length:\r\n\r\n", 400, "digits only"},
      {"POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
       "differ"},
      // Framing that invites request smuggling, and codings we do not decode.
      {"POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
       400, "both"},
      {"POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "'gzip'"},
      {"POST / HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       400, "twice"},
      {"POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: ,\r\n\r\n", 400,
       "empty Transfer-Encoding"},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0"},
      // Host.
      {"GET / HTTP/1.1\r\n\r\n", 400, "needs a Host"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host"},
      // The request line.
      {"GET / HTTP/2.0\r\n" + host + "\r\n", 505, "HTTP/2.0"},
      {"GET / HTTP/1.1x\r\n" + host + "\r\n", 400, "not an HTTP version"},
      {"GET / http/1.1\r\n" + host + "\r\n", 400, "not an HTTP version"},
      {"GET  / HTTP/1.1\r\n" + host + "\r\n", 400, "is not METHOD"},
      {"GET /a b HTTP/1.1\r\n" + host + "\r\n", 400, "is not METHOD"},
      {" GET / HTTP/1.1\r\n" + host + "\r\n", 400, "is not METHOD"},
      {"GET / HTTP/1.1 \r\n" + host + "\r\n", 400, "is not METHOD"},
      {"G(T / HTTP/1.1\r\n" + host + "\r\n", 400, "not a method"},
      {"GET a/b HTTP/1.1\r\n" + host + "\r\n", 400, "must start with '/'"},
      {"CONNECT example.com:443 HTTP/1.1\r\n" + host + "\r\n", 400, "must start with '/'"},
      // Header lines.
      {"GET / HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n", 400, "obsolete line folding"},
      {"GET / HTTP/1.1\r\n" + host + "X : a\r\n\r\n", 400, "whitespace between"},
      {"GET / HTTP/1.1\r\n" + host + ": a\r\n\r\n", 400, "no name"},
      {"GET / HTTP/1.1\r\n" + host + "NoColon\r\n\r\n", 400, "no name"},
      {"GET / HTTP/1.1\r\n" + host + "X(: a\r\n\r\n", 400, "not a header name"},
      {"GET / HTTP/1.1\r\n" + host + "X: a\rb\r\n\r\n", 400, "bare CR"},
      {"GET / HTTP/1.1\r\n" + host + "Expect: 200-ok\r\n\r\n", 417, "100-continue"},
  };
  for (const Bad& c : cases) {
    RequestHead h;
    ParseError e;
    EXPECT_FALSE(Parse(c.head, &h, &e)) << c.head;
    EXPECT_EQ(e.status, c.status) << c.head << " -> " << e.message;
    EXPECT_THAT(e.message, HasSubstr(c.says)) << c.head;
  }
}

TEST(RequestParser, LimitsTheHeadsSizeAndHeaderCount) {
  HeadLimits limits;
  limits.max_head_bytes = 200;
  limits.max_headers = 3;
  RequestHead h;
  ParseError e;
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(200, 'a') + "\r\n\r\n",
                     &h, &e, limits));
  EXPECT_EQ(e.status, 431);
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &h, &e, limits));
  EXPECT_EQ(e.status, 431);
  EXPECT_THAT(e.message, HasSubstr("more than 3 header lines"));
  EXPECT_TRUE(Parse("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n", &h, &e, limits))
      << e.message;
}

// Heads built from lines (so the blank line's place is known), with random line ends
// and random bytes after them, fed one byte at a time: the end is found exactly when
// its last byte arrives, and never before.
TEST(RequestParser, FindsTheHeadsEndAByteAtATime) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    auto eol = [&] { return rng() % 2 ? std::string("\r\n") : std::string("\n"); };
    std::string head;
    for (int i = 0, blanks = static_cast<int>(rng() % 3); i < blanks; ++i) head += eol();
    head += "GET /x HTTP/1.1" + eol();
    for (int i = 0, n = static_cast<int>(rng() % 6); i < n; ++i) {
      std::string value(rng() % 20, 'v');
      head += absl::StrCat("H", i, ": ", value, eol());
    }
    head += eol();
    std::string after;
    for (int i = 0, n = static_cast<int>(rng() % 30); i < n; ++i) after += "\r\nab"[rng() % 4];
    const std::string all = head + after;
    size_t scanned = 0;
    size_t found = 0, found_at = 0;
    for (size_t len = 1; len <= all.size() && found == 0; ++len) {
      found = FindHeadEnd(absl::string_view(all).substr(0, len), &scanned);
      found_at = len;
    }
    ASSERT_EQ(found, head.size()) << round << ": " << absl::CEscape(all);
    EXPECT_EQ(found_at, head.size()) << "found as soon as the blank line is complete";
    size_t fresh = 0;
    EXPECT_EQ(FindHeadEnd(all, &fresh), head.size()) << "the same in one call";
  }
}

// The chunked encoding of `body` split at random, with random extensions, hex case and
// trailers.
std::string Chunk(const std::string& body, std::mt19937& rng) {
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    const size_t n = std::min(body.size() - pos, static_cast<size_t>(1 + rng() % 300));
    std::string size = absl::StrCat(absl::Hex(n));
    if (rng() % 2) {
      for (char& c : size) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (rng() % 4 == 0) size = "00" + size;
    out += size;
    if (rng() % 3 == 0) out += rng() % 2 ? ";name=value" : " ; x";
    out += "\r\n" + body.substr(pos, n) + "\r\n";
    pos += n;
  }
  out += "0\r\n";
  if (rng() % 2) out += "Trailer-A: 1\r\nTrailer-B: two\r\n";
  out += "\r\n";
  return out;
}

TEST(ChunkedDecoder, DecodesTheOriginalBodyHoweverTheBytesArrive) {
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    std::string body(rng() % 2000, '\0');
    for (char& c : body) c = static_cast<char>(rng());  // any byte, CR and LF included
    const std::string next = "GET /next HTTP/1.1\r\n";
    const std::string wire = Chunk(body, rng) + next;
    ChunkedDecoder d(1 << 20, 1024);
    std::string decoded;
    size_t pos = 0;
    ChunkedDecoder::Result r = ChunkedDecoder::Result::kNeedMore;
    while (r == ChunkedDecoder::Result::kNeedMore && pos < wire.size()) {
      const size_t piece = std::min(wire.size() - pos, static_cast<size_t>(1 + rng() % 50));
      size_t used = 0;
      r = d.Feed(absl::string_view(wire).substr(pos, piece), &used, &decoded);
      ASSERT_LE(used, piece);
      pos += used;
      if (r == ChunkedDecoder::Result::kNeedMore) {
        ASSERT_EQ(used, piece) << "consumes all it is given until done";
      }
    }
    ASSERT_EQ(r, ChunkedDecoder::Result::kDone) << d.error().message;
    EXPECT_EQ(decoded, body) << round;
    EXPECT_EQ(wire.substr(pos), next)
        << "stops at the end of the body: the next request is not consumed";
  }
}

TEST(ChunkedDecoder, RefusesMalformedAndOversizedBodies) {
  const std::vector<Bad> cases = {
      {"5\r\nabcdefg\r\n0\r\n\r\n", 400, "not followed by CRLF"},
      {"\r\n", 400, "without a size"},
      {";x\r\n", 400, "in a chunk-size line"},
      {"5g\r\nabcde\r\n", 400, "in a chunk-size line"},
      {"5 6\r\nabcde\r\n", 400, "in a chunk-size line"},
      {"5\rX", 400, "CR without LF"},
      {"1000000000000000\r\n", 400, "15 hex digits"},
      {"41\r\n", 413, "larger than 64 bytes"},
      {"20\r\n" + std::string(32, 'a') + "\r\n21\r\n", 413, "larger than 64 bytes"},
      {"0\r\n" + std::string(300, 'T'), 431, "trailers longer than 256"},
      {"0\r\nT: \x01\r\n", 400, "control character"},
      {"5;\x01\r\n", 400, "in a chunk-size line"},
  };
  for (const Bad& c : cases) {
    ChunkedDecoder d(64, 256);
    std::string body;
    size_t used = 0;
    EXPECT_EQ(d.Feed(c.head, &used, &body), ChunkedDecoder::Result::kError)
        << absl::CEscape(c.head);
    EXPECT_EQ(d.error().status, c.status) << absl::CEscape(c.head) << " -> " << d.error().message;
    EXPECT_THAT(d.error().message, HasSubstr(c.says)) << absl::CEscape(c.head);
    EXPECT_EQ(d.Feed("0\r\n\r\n", &used, &body), ChunkedDecoder::Result::kError)
        << "an error stays an error";
  }
  // Exactly at the limit is fine; whitespace before an extension too.
  ChunkedDecoder d(64, 256);
  std::string body;
  size_t used = 0;
  EXPECT_EQ(d.Feed("40 ;x=y\r\n" + std::string(64, 'a') + "\r\n0\r\n\r\n", &used, &body),
            ChunkedDecoder::Result::kDone)
      << d.error().message;
  EXPECT_EQ(body.size(), 64u);
}

}  // namespace
}  // namespace simsearch::http
