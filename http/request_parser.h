// HTTP/1.1 request parsing (RFC 9112), strict where leniency has been an attack: a
// pure function over bytes, with no sockets, so it is unit-tested and fuzzed alone
// (tests/http/request_parser_test.cc, tests/fuzz/fuzz_http_request.cc).
//
// Refused, each with the status RFC 9110/9112 ask for and a message naming the problem:
// a NUL anywhere in the request target, raw or as %00 (400: a path cut at the NUL
// would name another resource); control characters in the target or a header value;
// whitespace before a header's colon; obsolete line folding; a Content-Length that is
// not one plain decimal number, or two that differ (400); Content-Length beside
// Transfer-Encoding (400: request smuggling); a transfer coding other than chunked
// (501); an HTTP/1.1 request without exactly one Host (400); a version other than
// HTTP/1.0 or 1.1 (505); a head over the size or header-count limit (431).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace simsearch::http {

struct RequestHead {
  std::string method;     // as sent (methods are case-sensitive): "GET"
  std::string target;     // origin form, as sent: "/search?q=a%20b"
  std::string path;       // the target up to '?', still percent-encoded: "/search"
  std::string query;      // after the first '?', as sent ("" without one): "q=a%20b"
  int minor_version = 1;  // HTTP/1.<minor_version>: 0 or 1
  // In the order sent; names as sent (compare them case-insensitively), values without
  // surrounding whitespace.
  std::vector<std::pair<std::string, std::string>> headers;
  // From the headers:
  int64_t content_length = 0;  // 0 without a Content-Length
  bool chunked = false;        // Transfer-Encoding: chunked (then content_length is 0)
  bool keep_alive = true;      // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with keep-alive
  bool expect_continue = false;  // "Expect: 100-continue"

  // The first header named `name` (case-insensitive), or nullptr.
  const std::string* Find(absl::string_view name) const;
};

struct HeadLimits {
  size_t max_head_bytes = 16 * 1024;  // request line and headers, with their line ends
  size_t max_headers = 100;
};

struct ParseError {
  int status = 400;     // 400, 413, 417, 431, 501 or 505
  std::string message;  // what is wrong, for the client: "Content-Length '-1' is not ..."
};

// Where the head in `buf` ends: the offset just past its blank line, or 0 while the
// blank line has not arrived. `*scanned` (0 the first time) is where the search
// resumes on a longer buffer starting with the same bytes, and is moved on, so bytes
// arriving one at a time cost linear time in all. Lines end with CRLF or a bare LF
// (RFC 9112 section 2.2); empty lines before the request line are not its end.
size_t FindHeadEnd(absl::string_view buf, size_t* scanned);

// Parses a complete head: `head` is exactly the bytes FindHeadEnd delimited (up to and
// including the blank line). Empty lines before the request line are skipped (RFC 9112
// section 2.2). On error returns false and fills `error`; `out` is then unspecified.
bool ParseRequestHead(absl::string_view head, const HeadLimits& limits, RequestHead* out,
                      ParseError* error);

// Decodes a chunked body (RFC 9112 section 7.1) as its bytes arrive. Chunk extensions
// are skipped; trailer fields are read and dropped. The decoded body may not exceed
// `max_body_bytes` (413), a chunk-size line or a trailer section is bounded (400 and
// 431), and a chunk's data must be followed by its CRLF (400).
class ChunkedDecoder {
 public:
  enum class Result { kNeedMore, kDone, kError };
  ChunkedDecoder(size_t max_body_bytes, size_t max_trailer_bytes)
      : max_body_(max_body_bytes), max_trailer_(max_trailer_bytes) {}
  // Consumes a prefix of `in`: sets *consumed to its length and appends its data to
  // `body`. kDone once the last chunk and the trailers have been read (bytes after them
  // are not consumed: the next request's); kError fills error() and stays an error.
  Result Feed(absl::string_view in, size_t* consumed, std::string* body);
  const ParseError& error() const { return error_; }

 private:
  enum class State {
    kSize,
    kSizeSpace,
    kExtension,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailer,
    kDone,
    kError
  };
  Result Fail(int status, std::string message);
  bool EndSizeLine(const std::string& body);  // false: failed (413)
  State state_ = State::kSize;
  const size_t max_body_;
  const size_t max_trailer_;
  uint64_t remaining_ = 0;          // data bytes left in the current chunk
  int size_digits_ = 0;             // hex digits of the current chunk-size
  size_t line_bytes_ = 0;           // bytes of the current size line or trailer section
  bool trailer_line_empty_ = true;  // nothing yet on the current trailer line
  ParseError error_;
};

// The reason phrase of a status code ("Not Found"), or "Status" for an unlisted one.
const char* ReasonPhrase(int status);

}  // namespace simsearch::http
