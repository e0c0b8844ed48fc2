// The HTTP request parser on arbitrary bytes, as http::Server feeds it: the head found
// incrementally and parsed, then a chunked body decoded. Beyond not crashing, the
// answers must not depend on how the bytes arrive: the head's end found a byte at a
// time equals the one found at once, and a body decoded in pieces equals the body
// decoded whole (same result, same bytes, same consumption).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"

#include "http/request_parser.h"

namespace simsearch::http {
namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

struct Decoded {
  ChunkedDecoder::Result result;
  std::string body;
  size_t consumed = 0;
  int status = 0;
};

// Feeds `in` in pieces of `piece` bytes (0: whole).
Decoded Decode(absl::string_view in, size_t piece) {
  ChunkedDecoder d(4096, 512);
  Decoded out;
  out.result = ChunkedDecoder::Result::kNeedMore;
  while (out.result == ChunkedDecoder::Result::kNeedMore && out.consumed < in.size()) {
    const size_t n =
        piece == 0 ? in.size() - out.consumed : std::min(piece, in.size() - out.consumed);
    size_t used = 0;
    out.result = d.Feed(in.substr(out.consumed, n), &used, &out.body);
    Check(used <= n);
    if (out.result == ChunkedDecoder::Result::kNeedMore) Check(used == n);
    out.consumed += used;
  }
  if (out.result == ChunkedDecoder::Result::kError) {
    out.status = d.error().status;
    Check(!d.error().message.empty());
    out.consumed = 0;  // where an error stops is not part of the contract
    out.body.clear();
  }
  Check(out.body.size() <= 4096);
  return out;
}

}  // namespace
}  // namespace simsearch::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simsearch::http;
  if (size == 0) return 0;
  const size_t piece = data[0] % 17;  // how the bytes arrive
  const absl::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  size_t scanned = 0, end_at_once = FindHeadEnd(in, &scanned);
  size_t incremental = 0;
  scanned = 0;
  for (size_t len = 1; len <= in.size() && incremental == 0; ++len)
    incremental = FindHeadEnd(in.substr(0, len), &scanned);
  Check(end_at_once == incremental);
  Check(end_at_once <= in.size());

  absl::string_view rest = in;
  if (end_at_once > 0) {
    RequestHead head;
    ParseError error;
    HeadLimits limits;
    limits.max_head_bytes = 2048;
    limits.max_headers = 20;
    if (ParseRequestHead(in.substr(0, end_at_once), limits, &head, &error)) {
      Check(!head.method.empty());
      Check(head.path.find('\0') == std::string::npos &&
            head.query.find('\0') == std::string::npos);
      Check(head.target.find("%00") == std::string::npos);
      Check(head.content_length >= 0);
      Check(!(head.chunked && head.content_length > 0));
      Check(head.headers.size() <= limits.max_headers);
    } else {
      Check(error.status >= 400 && error.status <= 505 && !error.message.empty());
    }
    rest = in.substr(end_at_once);
  }
  const Decoded whole = Decode(rest, 0);
  const Decoded pieces = Decode(rest, piece == 0 ? 1 : piece);
  Check(whole.result == pieces.result);
  Check(whole.status == pieces.status);
  Check(whole.body == pieces.body);
  Check(whole.consumed == pieces.consumed);
  return 0;
}
