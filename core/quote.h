// Client-supplied text quoted in an error message, cut to a readable length.
//
// Errors name what was wrong ("unknown genre 'Spaec'"), but a message echoing 20 KB of
// input is worse than useless: gRPC carries messages in HTTP/2 headers, and standard
// clients refuse headers past 8 KiB, so the client sees RESOURCE_EXHAUSTED "received
// initial metadata size exceeds limit" instead of the error. Quote() keeps the first
// `max_bytes` (on a UTF-8 character boundary), says how long the whole was, and
// replaces control characters so a message stays one line.
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace simsearch {

inline constexpr size_t kMaxQuotedBytes = 100;

std::string Quote(absl::string_view text, size_t max_bytes = kMaxQuotedBytes);

}  // namespace simsearch
