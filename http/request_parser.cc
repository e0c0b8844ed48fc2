#include "http/request_parser.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace simsearch::http {
namespace {

// RFC 9110 section 5.6.2: the characters of a token (method and header names).
bool IsTokenChar(unsigned char c) {
  if (absl::ascii_isalnum(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return IsTokenChar(static_cast<unsigned char>(c));
  });
}

// Control characters other than horizontal tab, and DEL.
bool IsControl(unsigned char c) {
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

// A short, printable rendering of client bytes for an error message.
std::string Shown(absl::string_view s) {
  std::string out;
  for (char ch : s.substr(0, 40)) {
    const unsigned char c = static_cast<unsigned char>(ch);
    out += c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? ch : '?';
  }
  if (s.size() > 40) out += "...";
  return out;
}

bool Fail(ParseError* error, int status, std::string message) {
  error->status = status;
  error->message = std::move(message);
  return false;
}

// The request target: origin form ("/path?query"), absolute form ("http://host/path",
// which servers must accept: RFC 9112 section 3.2.2) reduced to origin form, or "*".
bool ParseTarget(absl::string_view target, RequestHead* out, ParseError* error) {
  if (target.empty()) return Fail(error, 400, "the request line has no target");
  for (char ch : target) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == 0) return Fail(error, 400, "the request target holds a NUL byte");
    if (c <= 0x20 || c == 0x7f)
      return Fail(error, 400, "the request target holds a control character");
  }
  // %00 decodes to NUL: a path or parameter cut there would name something else.
  for (size_t i = target.find('%'); i != absl::string_view::npos; i = target.find('%', i + 1)) {
    if (i + 2 < target.size() && target[i + 1] == '0' && target[i + 2] == '0') {
      return Fail(error, 400, "the request target holds %00 (a NUL byte): remove it");
    }
  }
  std::string origin;
  if (target.front() == '/' || target == "*") {
    origin = std::string(target);
  } else {
    absl::string_view rest = target;
    if (!absl::ConsumePrefix(&rest, "http://") && !absl::ConsumePrefix(&rest, "https://") &&
        !absl::ConsumePrefix(&rest, "HTTP://") && !absl::ConsumePrefix(&rest, "HTTPS://")) {
      return Fail(error, 400,
                  absl::StrCat("the request target '", Shown(target), "' must start with '/'"));
    }
    const size_t at = rest.find_first_of("/?");
    if (at == absl::string_view::npos) {
      origin = "/";
    } else {
      if (rest[at] == '?') origin = "/";
      origin.append(rest.data() + at, rest.size() - at);
    }
  }
  const size_t q = origin.find('?');
  out->path = origin.substr(0, q);
  out->query = q == std::string::npos ? "" : origin.substr(q + 1);
  out->target = std::move(origin);
  return true;
}

bool ParseRequestLine(absl::string_view line, RequestHead* out, ParseError* error) {
  const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3) {
    return Fail(error, 400,
                absl::StrCat("the request line '", Shown(line),
                             "' is not METHOD SP TARGET SP HTTP-VERSION"));
  }
  if (!IsToken(parts[0]))
    return Fail(error, 400, absl::StrCat("'", Shown(parts[0]), "' is not a method"));
  out->method = std::string(parts[0]);
  if (!ParseTarget(parts[1], out, error)) return false;
  const absl::string_view version = parts[2];
  if (version == "HTTP/1.1") {
    out->minor_version = 1;
  } else if (version == "HTTP/1.0") {
    out->minor_version = 0;
  } else if (version.size() == 8 && absl::StartsWith(version, "HTTP/") &&
             absl::ascii_isdigit(version[5]) && version[6] == '.' &&
             absl::ascii_isdigit(version[7])) {
    return Fail(error, 505, absl::StrCat(version, " is not supported: send HTTP/1.1"));
  } else {
    return Fail(error, 400, absl::StrCat("'", Shown(version), "' is not an HTTP version"));
  }
  out->keep_alive = out->minor_version == 1;  // until a Connection header says otherwise
  return true;
}

// Content-Length: one plain decimal number (RFC 9110 section 8.6). Values too large
// for int64 are kept as INT64_MAX: the body limit refuses them with 413.
bool ParseContentLength(absl::string_view value, int64_t* out, ParseError* error) {
  if (value.empty() ||
      !std::all_of(value.begin(), value.end(), [](char c) { return absl::ascii_isdigit(c); })) {
    return Fail(
        error, 400,
        absl::StrCat("Content-Length '", Shown(value), "' is not a number of bytes (digits only)"));
  }
  int64_t n = 0;
  for (char c : value) {
    if (n > (INT64_MAX - 9) / 10) {
      n = INT64_MAX;
      break;
    }
    n = n * 10 + (c - '0');
  }
  *out = n;
  return true;
}

bool ApplyHeader(absl::string_view name, absl::string_view value, RequestHead* out,
                 bool* saw_length, int* hosts, bool* saw_encoding, ParseError* error) {
  if (absl::EqualsIgnoreCase(name, "Content-Length")) {
    int64_t n = 0;
    if (!ParseContentLength(value, &n, error)) return false;
    if (*saw_length && n != out->content_length) {
      return Fail(error, 400, "two Content-Length headers that differ");
    }
    *saw_length = true;
    out->content_length = n;
  } else if (absl::EqualsIgnoreCase(name, "Transfer-Encoding")) {
    for (absl::string_view coding : absl::StrSplit(value, ',')) {
      coding = absl::StripAsciiWhitespace(coding);
      if (coding.empty()) continue;
      if (!absl::EqualsIgnoreCase(coding, "chunked")) {
        return Fail(
            error, 501,
            absl::StrCat("transfer coding '", Shown(coding),
                         "' is not supported: send the body with Content-Length or chunked"));
      }
      if (out->chunked) return Fail(error, 400, "Transfer-Encoding names chunked twice");
      out->chunked = true;
    }
    *saw_encoding = true;
  } else if (absl::EqualsIgnoreCase(name, "Host")) {
    ++*hosts;
  } else if (absl::EqualsIgnoreCase(name, "Connection")) {
    for (absl::string_view option : absl::StrSplit(value, ',')) {
      option = absl::StripAsciiWhitespace(option);
      if (absl::EqualsIgnoreCase(option, "close")) out->keep_alive = false;
      if (absl::EqualsIgnoreCase(option, "keep-alive") && out->minor_version == 0)
        out->keep_alive = true;
    }
  } else if (absl::EqualsIgnoreCase(name, "Expect")) {
    if (!absl::EqualsIgnoreCase(value, "100-continue")) {
      return Fail(
          error, 417,
          absl::StrCat("Expect: '", Shown(value), "' is not supported (only 100-continue)"));
    }
    out->expect_continue = out->minor_version == 1;
  }
  return true;
}

}  // namespace

const std::string* RequestHead::Find(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, name)) return &v;
  }
  return nullptr;
}

size_t FindHeadEnd(absl::string_view buf, size_t* scanned) {
  size_t start = 0;
  while (start < buf.size() && (buf[start] == '\r' || buf[start] == '\n')) ++start;
  size_t i = std::max(*scanned, start);
  for (; i < buf.size(); ++i) {
    if (buf[i] != '\n') continue;
    if (i + 1 < buf.size() && buf[i + 1] == '\n') return i + 2;
    if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
  }
  // The last two bytes may begin the blank line: look at them again next time.
  *scanned = std::max(start, buf.size() >= 2 ? buf.size() - 2 : 0);
  return 0;
}

bool ParseRequestHead(absl::string_view head, const HeadLimits& limits, RequestHead* out,
                      ParseError* error) {
  *out = RequestHead();
  if (head.size() > limits.max_head_bytes) {
    return Fail(error, 431,
                absl::StrCat("the request head is ", head.size(), " bytes; the limit is ",
                             limits.max_head_bytes));
  }
  bool have_request_line = false, saw_length = false, saw_encoding = false;
  int hosts = 0;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t end = head.find('\n', pos);
    if (end == absl::string_view::npos) end = head.size();
    absl::string_view line = head.substr(pos, end - pos);
    pos = end + 1;
    absl::ConsumeSuffix(&line, "\r");
    if (line.find('\r') != absl::string_view::npos)
      return Fail(error, 400, "a bare CR in the request head");
    if (!have_request_line) {
      if (line.empty()) continue;  // empty lines before the request line
      if (!ParseRequestLine(line, out, error)) return false;
      have_request_line = true;
      continue;
    }
    if (line.empty()) break;  // the blank line that ends the head
    if (line.front() == ' ' || line.front() == '\t') {
      return Fail(error, 400,
                  "a header line starts with whitespace (obsolete line folding is not accepted)");
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return Fail(error, 400,
                  absl::StrCat("the header line '", Shown(line), "' has no name and colon"));
    }
    const absl::string_view name = line.substr(0, colon);
    if (name.back() == ' ' || name.back() == '\t') {
      return Fail(error, 400,
                  absl::StrCat("whitespace between the header name '",
                               Shown(absl::StripAsciiWhitespace(name)), "' and its colon"));
    }
    if (!IsToken(name))
      return Fail(error, 400, absl::StrCat("'", Shown(name), "' is not a header name"));
    absl::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    for (char c : value) {
      if (IsControl(static_cast<unsigned char>(c))) {
        return Fail(error, 400, absl::StrCat("the header '", name, "' holds a control character"));
      }
    }
    if (out->headers.size() >= limits.max_headers) {
      return Fail(error, 431, absl::StrCat("more than ", limits.max_headers, " header lines"));
    }
    if (!ApplyHeader(name, value, out, &saw_length, &hosts, &saw_encoding, error)) return false;
    out->headers.emplace_back(std::string(name), std::string(value));
  }
  if (!have_request_line) return Fail(error, 400, "no request line");
  if (out->minor_version == 1 && hosts != 1) {
    return Fail(
        error, 400,
        hosts == 0 ? "an HTTP/1.1 request needs a Host header" : "more than one Host header");
  }
  if (saw_encoding && out->minor_version == 0) {
    return Fail(error, 400, "Transfer-Encoding in an HTTP/1.0 request");
  }
  if (saw_encoding && saw_length) {
    return Fail(error, 400, "both Content-Length and Transfer-Encoding: send one of them");
  }
  if (saw_encoding && !out->chunked) return Fail(error, 400, "an empty Transfer-Encoding");
  return true;
}

ChunkedDecoder::Result ChunkedDecoder::Fail(int status, std::string message) {
  state_ = State::kError;
  error_.status = status;
  error_.message = std::move(message);
  return Result::kError;
}

bool ChunkedDecoder::EndSizeLine(const std::string& body) {
  size_digits_ = 0;
  line_bytes_ = 0;
  if (remaining_ == 0) {  // the last chunk: trailers follow
    state_ = State::kTrailer;
    trailer_line_empty_ = true;
  } else if (remaining_ > max_body_ || body.size() + remaining_ > max_body_) {
    Fail(413, absl::StrCat("request body is larger than ", max_body_, " bytes"));
    return false;
  } else {
    state_ = State::kData;
  }
  return true;
}

ChunkedDecoder::Result ChunkedDecoder::Feed(absl::string_view in, size_t* consumed,
                                            std::string* body) {
  constexpr size_t kMaxSizeLine = 4096;
  *consumed = 0;
  size_t i = 0;
  while (i < in.size() && state_ != State::kDone && state_ != State::kError) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    switch (state_) {
      case State::kSize:
      case State::kSizeSpace:
      case State::kExtension:
        if (++line_bytes_ > kMaxSizeLine)
          return Fail(400, "a chunk-size line longer than 4096 bytes");
        ++i;
        if (c == '\r' || c == '\n') {
          if (size_digits_ == 0) return Fail(400, "a chunk without a size");
          if (c == '\r') {
            state_ = State::kSizeLf;
          } else if (!EndSizeLine(*body)) {
            return Result::kError;
          }
        } else if (state_ == State::kSize && absl::ascii_isxdigit(c)) {
          if (++size_digits_ > 15) return Fail(400, "a chunk size of more than 15 hex digits");
          remaining_ =
              remaining_ * 16 +
              static_cast<uint64_t>(absl::ascii_isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
        } else if (state_ != State::kExtension && (c == ' ' || c == '\t') && size_digits_ > 0) {
          state_ = State::kSizeSpace;  // whitespace before an extension
        } else if (state_ != State::kExtension && c == ';' && size_digits_ > 0) {
          state_ = State::kExtension;  // chunk extensions are skipped
        } else if (state_ != State::kExtension || IsControl(c)) {
          return Fail(400, absl::StrCat("byte 0x", absl::Hex(c), " in a chunk-size line"));
        }
        break;
      case State::kSizeLf:
        if (c != '\n') return Fail(400, "a chunk-size line ends with CR without LF");
        ++i;
        if (!EndSizeLine(*body)) return Result::kError;
        break;
      case State::kData: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
        body->append(in.data() + i, take);
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
      case State::kDataLf:
        if (c != '\n' && (c != '\r' || state_ == State::kDataLf)) {
          return Fail(400, "a chunk's data is not followed by CRLF (is its size right?)");
        }
        ++i;
        state_ = c == '\r' ? State::kDataLf : State::kSize;
        break;
      case State::kTrailer:
        if (++line_bytes_ > max_trailer_) {
          return Fail(431, absl::StrCat("chunked trailers longer than ", max_trailer_, " bytes"));
        }
        ++i;
        if (c == '\n') {
          if (trailer_line_empty_) state_ = State::kDone;
          trailer_line_empty_ = true;
        } else if (c != '\r') {
          if (IsControl(c)) return Fail(400, "a control character in a chunked trailer");
          trailer_line_empty_ = false;
        }
        break;
      case State::kDone:
      case State::kError:
        break;
    }
  }
  *consumed = i;
  if (state_ == State::kError) return Result::kError;
  return state_ == State::kDone ? Result::kDone : Result::kNeedMore;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

}  // namespace simsearch::http
