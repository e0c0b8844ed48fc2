// The Lambda function as a pure function: an API Gateway proxy event (REST API payload
// 1.0 or HTTP API payload 2.0) in, a proxy response out. It never throws and never
// crashes on bad input: every problem becomes a 4xx/5xx JSON error that names it.
//
// Routes (the original service's contract, extended):
//   POST /recommend  {"name": "Cowboy Bebop", "top_k": 10}  or  {"id": 1, "top_k": 10}
//                    or {"like": [1, 5], "dislike": [20], "dislike_weight": 0.25};
//                    the ranked anime in "hits" (and, deprecated, "results")
//                    optional "collection" (default: HandlerOptions::recommend_collection),
//                    filters "genres", "types", "exclude_genres", "exclude_types" (lists),
//                    "include_adult" / "family_safe" (the content policy, below).
//                    By name or id, the anime's own franchise (Item::franchise) is left
//                    out of "hits" and answered apart, ranked the same way, in
//                    "franchise": {"id", "hits"} (since 2026-12-07; the original
//                    service mixed sequels in); "franchise": "mixed" ranks them in the
//                    list as before. A failed franchise search leaves "franchise" out.
//   GET  /search?q=TEXT&collection=synopsis&top_k=10  [&genres=&types=&exclude_genres=
//                    &exclude_types= (comma-separated) &include_adult=true &family_safe=true]
//   GET  /titles?q=cowboy%20beb&top_k=8  title suggestions, best first, in "matches"
//                    [&collection=&include_adult=&family_safe=]
//   GET  /items/{id}[?collection=...]  (without collection: every served collection holding
//                    it, listed in "collections", with its synopsis where one has it)
//   GET  /health
//   OPTIONS *        CORS preflight
//
// Content policy (every list): adult titles (ContentLevel::kAdult: MAL age rating Rx,
// or Hentai or Erotica in any catalogue source) are left out unless include_adult is
// true; family_safe=true leaves out mature ones too (R+, nsfw gray/black, Yaoi, Yuri),
// and so does the list of an all-ages anime (rating G or PG, or Kids) unless
// include_adult. An adult anime's list is empty unless include_adult, and then holds
// adult titles only. The gRPC API applies no policy: Filter.max_content_level and
// min_content_level.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lambda/backend.h"

namespace simsearch::lambda {

struct HandlerOptions {
  std::string recommend_collection = "ncf";
  std::string search_collection = "synopsis";
  int default_n = 10;
  int max_n = 100;
  size_t max_body_bytes = 64 * 1024;
  // Time kept back from the invocation deadline to answer before Lambda cuts us off.
  absl::Duration deadline_margin = absl::Milliseconds(100);
  std::string cors_origin = "*";
};

struct Invocation {
  absl::Time deadline = absl::InfiniteFuture();  // from Lambda-Runtime-Deadline-Ms
  std::string request_id;
};

// Returns the proxy response JSON: {"statusCode", "headers", "body", "isBase64Encoded"}.
// 5xx bodies say what happened in general terms; the internal detail (the engine's
// error, an address, an exception's text) goes to `detail` (if given) for the log.
std::string HandleEvent(absl::string_view event_json, const Invocation& invocation,
                        const SearchBackend& backend, const HandlerOptions& options,
                        std::string* detail = nullptr);

// What an invocation did, for its log line and metrics.
struct Outcome {
  int status = 0;                  // the HTTP status answered
  std::string route;               // "/recommend", "/items/{id}", ...; "" when no route matched
  std::string collection_version;  // of the collection that answered a search; "" otherwise
  std::string detail;              // as above: the internal detail of a 5xx, for the log only
};
std::string HandleEvent(absl::string_view event_json, const Invocation& invocation,
                        const SearchBackend& backend, const HandlerOptions& options,
                        Outcome* outcome);

// The CloudWatch Embedded Metric Format line (one JSON object, no newline) for one
// invocation: metrics Latency (ms) and Requests (count) in namespace "simsearch" with
// dimensions Route and Status, plus request_id and collection_version as properties.
std::string EmfLine(const Outcome& outcome, absl::string_view request_id, double ms,
                    absl::Time now);

}  // namespace simsearch::lambda
