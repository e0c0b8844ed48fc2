#include "lambda/handler.h"
#include "lambda/routes.h"

#include "client/item_json.h"
#include "http/security_headers.h"

#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/errors.h"
#include "core/quote.h"
#include "core/status_macros.h"

namespace simsearch::lambda {
namespace {

using json = nlohmann::json;

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// An HTTP response on its way out.
struct Reply {
  Reply() = default;
  Reply(int s, json b, std::map<std::string, std::string> h = {})
      : status(s), body(std::move(b)), headers(std::move(h)) {}
  int status = 200;
  json body;
  std::map<std::string, std::string> headers;
  std::string detail;  // what went wrong inside, for the log only: never sent
};

// Every error answer has one shape (README.md, "Errors"): {"error": what to change, for
// people; "status": the HTTP status; "reason": a stable name for programs (the engine's
// google.rpc ErrorInfo reasons, core/errors.h); "field": the request field at fault, when
// one is}, and what the route adds (suggestions, ignored, ...).
Reply Error(int status, std::string message, json extra = json::object(),
            absl::string_view reason = {}, absl::string_view field = {}) {
  json body = {{"error", std::move(message)},
               {"status", status},
               {"reason", std::string(reason.empty() ? HttpStatusReason(status) : reason)}};
  if (!field.empty()) body["field"] = std::string(field);
  body.update(extra);
  return {status, body, {}};
}

// A 400 about request field `field` (a body field or query parameter).
Reply Bad(absl::string_view field, std::string message,
          absl::string_view reason = reason::kInvalidArgument) {
  return Error(400, std::move(message), json::object(), reason, field);
}

// The HTTP API's name for a field the engine names by its gRPC path: the filter's lists
// and the search params are top-level fields here, a watch list's ids are like/dislike,
// and the query itself is what the route calls it (`query_name`: q, id, name or like);
// `count_name` is the route's name for how many (top_k, or its older n or k).
std::string HttpField(absl::string_view field, absl::string_view count_name,
                      absl::string_view query_name) {
  if (field.empty()) return "";
  if (field == "top_k") return std::string(count_name);
  if (absl::ConsumePrefix(&field, "filter.")) {
    // The content level is the policy's: include_adult and family_safe set it.
    return absl::StartsWith(field, "max_content") || absl::StartsWith(field, "min_content")
               ? "family_safe"
               : std::string(field);
  }
  if (absl::ConsumePrefix(&field, "params.")) return std::string(field);
  if (absl::StartsWith(field, "query.items.negative_weight")) return "dislike_weight";
  if (absl::StartsWith(field, "query.items.negative_ids")) return "dislike";
  if (absl::StartsWith(field, "query.items")) return "like";
  if (absl::StartsWith(field, "query.text_options.")) return std::string(field.substr(19));
  if (field == "query" || absl::StartsWith(field, "query.")) return std::string(query_name);
  if (field == "filter") return "genres";
  return std::string(field);
}

int HttpStatus(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kResourceExhausted:
      // The engine is busy (the body limit is checked before, as a 413), unless the
      // answer was too large: retrying cannot help then.
      return ReasonOf(st) == reason::kAnswerTooLarge ? 400 : 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:  // a damaged bundle version (VERSION_DAMAGED)
      return 502;
    default:
      return 500;
  }
}

// 4xx answers say what to change; 5xx answers say what happened in general terms, and
// the engine's own text (addresses, paths, gRPC internals) goes to the log only.
// `count_name` and `query_name`: the request's names for how many and for the query
// (HttpField).
Reply FromStatus(const absl::Status& st, absl::string_view count_name = "top_k",
                 absl::string_view query_name = "q") {
  const int code = HttpStatus(st);
  const ErrorDetail d = DetailOf(st);
  Reply r;
  switch (code) {
    case 502:
      r = Error(code, "the search engine is unavailable; retry shortly", json::object(), d.reason);
      break;
    case 503:
      r = Error(code, "the search engine is busy; retry shortly", json::object(), d.reason);
      if (d.retry_delay > absl::ZeroDuration()) {
        r.headers["Retry-After"] =
            absl::StrCat(absl::ToInt64Seconds(absl::Ceil(d.retry_delay, absl::Seconds(1))));
      }
      break;
    case 504:
      r = Error(code, "the search took longer than the request's deadline; retry", json::object(),
                d.reason);
      break;
    case 500:
      r = Error(code, "internal error", json::object(), d.reason);
      break;
    default:
      return Error(code, std::string(st.message()), json::object(), d.reason,
                   HttpField(d.field, count_name, query_name));
  }
  r.detail =
      absl::StrCat(st.ToString(absl::StatusToStringMode::kWithNoExtraData), " [", d.reason, "]");
  return r;
}

// The titles of a watch list's anime, for the reasons a recommendation gives.
using TitleMap = absl::flat_hash_map<int64_t, std::pair<std::string, std::string>>;

json HitsJson(const std::vector<ClientHit>& hits, const TitleMap& titles = {}) {
  json arr = json::array();
  for (const ClientHit& h : hits) {
    json j = ItemJson(h.item);
    j["score"] = h.score;
    if (!h.because.empty()) {
      // "Because you liked ...": the liked anime with the largest parts of the score.
      json because = json::array();
      for (const auto& [id, share] : h.because) {
        json b = {{"id", id}, {"share", share}};
        if (auto t = titles.find(id); t != titles.end()) {
          b["title"] = t->second.first;
          b["english_title"] = t->second.second;
        }
        because.push_back(std::move(b));
      }
      j["because"] = std::move(because);
    }
    arr.push_back(std::move(j));
  }
  return arr;
}

// A ranked list into `body`: as "hits", the gRPC API's name for it, and as "results",
// the name the HTTP API gave it until 2026-12-08, kept for a release (deprecated in
// api/openapi.yaml).
void PutHits(json* body, json hits) {
  (*body)["results"] = hits;
  (*body)["hits"] = std::move(hits);
}

// Event fields, type-checked: an absent (or null) field is empty, a field of the wrong
// type is a 400 naming it (never an exception from the JSON library).
absl::Status WrongType(absl::string_view field, absl::string_view want) {
  return absl::InvalidArgumentError(absl::StrCat("malformed event: '", field, "' must be ", want));
}
absl::StatusOr<std::string> StringField(const json& j, const char* key, absl::string_view path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return WrongType(path, "a string");
  return it->get<std::string>();
}
absl::StatusOr<bool> BoolField(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) return WrongType(key, "true or false");
  return it->get<bool>();
}
absl::StatusOr<const json*> ObjectField(const json& j, const char* key, absl::string_view path) {
  static const json kEmpty = json::object();
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return &kEmpty;
  if (!it->is_object()) return WrongType(path, "an object");
  return &*it;
}

// Parses an API Gateway proxy event of either payload version.
absl::StatusOr<Request> ParseEvent(absl::string_view event_json, const HandlerOptions& o) {
  // The JSON parser takes a NUL byte for the end of its input: what follows would be
  // ignored, so an event carrying one is rejected rather than half read.
  if (event_json.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("the event contains a NUL byte");
  }
  json e = json::parse(event_json, nullptr, false);
  if (e.is_discarded() || !e.is_object()) {
    return absl::InvalidArgumentError("the event is not JSON: expected an API Gateway proxy event");
  }
  Request r;
  SIMSEARCH_ASSIGN_OR_RETURN(const json* ctx, ObjectField(e, "requestContext", "requestContext"));
  SIMSEARCH_ASSIGN_OR_RETURN(const std::string version, StringField(e, "version", "version"));
  if (version == "2.0") {
    SIMSEARCH_ASSIGN_OR_RETURN(const json* http, ObjectField(*ctx, "http", "requestContext.http"));
    SIMSEARCH_ASSIGN_OR_RETURN(r.method,
                               StringField(*http, "method", "requestContext.http.method"));
    SIMSEARCH_ASSIGN_OR_RETURN(r.path, StringField(e, "rawPath", "rawPath"));
    if (r.path.empty()) {
      SIMSEARCH_ASSIGN_OR_RETURN(r.path, StringField(*http, "path", "requestContext.http.path"));
    }
    // Payload 2.0 keeps the query string raw too; the parsed map is enough here.
  } else if (version.empty() || version == "1.0") {
    SIMSEARCH_ASSIGN_OR_RETURN(r.method, StringField(e, "httpMethod", "httpMethod"));
    SIMSEARCH_ASSIGN_OR_RETURN(r.path, StringField(e, "path", "path"));
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown event version '", Quote(version),
                                                   "' (API Gateway sends 1.0 or 2.0)"));
  }
  SIMSEARCH_ASSIGN_OR_RETURN(const std::string stage,
                             StringField(*ctx, "stage", "requestContext.stage"));
  if (r.method.empty() || r.path.empty()) {
    return absl::InvalidArgumentError(
        "not an API Gateway proxy event: no HTTP method or path (payload 1.0 httpMethod/path, "
        "2.0 requestContext.http.method/rawPath)");
  }
  // A named stage ("/prod/recommend") is not part of the route.
  if (!stage.empty() && stage != "$default" && absl::StartsWith(r.path, "/" + stage + "/")) {
    r.path = r.path.substr(stage.size() + 1);
  }
  r.method = absl::AsciiStrToUpper(r.method);
  SIMSEARCH_ASSIGN_OR_RETURN(const json* query,
                             ObjectField(e, "queryStringParameters", "queryStringParameters"));
  for (auto it = query->begin(); it != query->end(); ++it) {
    if (it->is_string()) r.query[it.key()] = it->get<std::string>();
  }
  SIMSEARCH_ASSIGN_OR_RETURN(const json* headers, ObjectField(e, "headers", "headers"));
  for (auto it = headers->begin(); it != headers->end(); ++it) {
    if (it->is_string()) r.headers[absl::AsciiStrToLower(it.key())] = it->get<std::string>();
  }
  SIMSEARCH_ASSIGN_OR_RETURN(const bool base64, BoolField(e, "isBase64Encoded"));
  SIMSEARCH_ASSIGN_OR_RETURN(const std::string raw, StringField(e, "body", "body"));
  if (!raw.empty()) {
    // Base64 grows a body by a third; the limit applies to the decoded bytes.
    if (raw.size() > o.max_body_bytes * 4 / 3 + 4) {
      return absl::ResourceExhaustedError(
          absl::StrCat("request body is larger than ", o.max_body_bytes, " bytes"));
    }
    if (base64) {
      if (!absl::Base64Unescape(raw, &r.body)) {
        return absl::InvalidArgumentError(
            "isBase64Encoded is true but the body is not valid base64");
      }
    } else {
      r.body = raw;
    }
    if (r.body.size() > o.max_body_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat("request body is ", r.body.size(),
                                                       " bytes; the limit is ", o.max_body_bytes));
    }
  }
  return r;
}

class Router {
 public:
  Router(const Request& r, const Invocation& inv, const SearchBackend& b, const HandlerOptions& o)
      : req_(r), backend_(b), o_(o) {
    deadline_ = inv.deadline == absl::InfiniteFuture() ? absl::Now() + absl::Seconds(10)
                                                       : inv.deadline - o.deadline_margin;
  }

  // The route matched last ("" when none), and the version of the collection that
  // answered a search, for the invocation's log line.
  const std::string& route() const { return route_; }
  const std::string& version() const { return version_; }

  Reply Route() {
    absl::string_view param;
    const auto r = MatchRoute(req_.path, &param);
    if (!r) {
      std::vector<std::string> routes;
      for (const auto& known : kRoutes)
        routes.push_back(absl::StrCat(known.method, " ", known.path));
      return Error(404,
                   absl::StrCat("no route ", req_.method, " ", req_.path,
                                "; routes: ", absl::StrJoin(routes, ", ")),
                   json::object(), reason::kRouteNotFound);
    }
    route_ = std::string(r->path);
    // HEAD is allowed wherever GET is (RFC 9110 section 9.3.2): the same answer, whose
    // body the server in front leaves out.
    const bool get = r->method == "GET";
    if (req_.method == r->method || (get && req_.method == "HEAD")) {
      switch (r->id) {
        case RouteId::kRecommend:
          return Recommend();
        case RouteId::kSearch:
          return SearchText();
        case RouteId::kTitles:
          return Titles();
        case RouteId::kItem:
          return ItemById(std::string(param));
        case RouteId::kItems:
          return ItemsByIds();
        case RouteId::kBrowse:
          return Browse();
        case RouteId::kCollections:
          return Collections();
        case RouteId::kHealth:
          return Health();
        case RouteId::kOpenApi:
          return {200, json::parse(OpenApiDocument()), {}};
      }
    }
    Reply bad = Error(405,
                      absl::StrCat("method ", req_.method, " is not allowed on ", route_, "; use ",
                                   get ? "GET or HEAD" : r->method),
                      json::object(), reason::kMethodNotAllowed);
    bad.headers["Allow"] = get ? "GET, HEAD, OPTIONS" : absl::StrCat(r->method, ", OPTIONS");
    return bad;
  }

 private:
  bool DeadlinePassed() const { return absl::Now() >= deadline_; }

  // n: an integer in 1..max_n, or the default when absent.
  std::optional<Reply> ReadN(const json& body, int* n) {
    *n = o_.default_n;
    if (body.contains("n") && body.contains("top_k")) {
      return Bad("top_k", "give 'top_k' or its older name 'n', not both");
    }
    const char* key = body.contains("top_k") ? "top_k" : "n";
    count_name_ = key;
    auto it = body.find(key);
    if (it == body.end()) return std::nullopt;
    if (!it->is_number_integer()) {
      return Bad(key, absl::StrCat("'", key, "' must be an integer (how many recommendations)"),
                 reason::kTopKOutOfRange);
    }
    const int64_t v = it->get<int64_t>();
    if (v < 1 || v > o_.max_n) {
      return Bad(key, absl::StrCat("'", key, "' must be between 1 and ", o_.max_n, ", got ", v),
                 reason::kTopKOutOfRange);
    }
    *n = static_cast<int>(v);
    return std::nullopt;
  }

  // The search knobs and pages of a /recommend body (proto SearchParams, page_size,
  // page_token): exact, ef, nprobe, min_score, page_size, page_token; all optional.
  std::optional<Reply> ReadBodyKnobs(const json& body, SearchKnobs* k) {
    if (auto it = body.find("exact"); it != body.end()) {
      if (!it->is_boolean()) return Bad("exact", "'exact' must be true or false");
      k->exact = it->get<bool>();
    }
    const std::pair<const char*, std::optional<int>*> ints[] = {{"ef", &k->ef},
                                                                {"nprobe", &k->nprobe}};
    for (const auto& [key, out] : ints) {
      if (auto it = body.find(key); it != body.end()) {
        if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 4096)
          return Bad(key, absl::StrCat("'", key, "' must be an integer between 1 and 4096"));
        *out = it->get<int>();
      }
    }
    if (auto it = body.find("min_score"); it != body.end()) {
      const double v = it->is_number() ? it->get<double>() : NAN;
      if (!(std::fabs(v) <= std::numeric_limits<float>::max())) {
        return Bad("min_score", "'min_score' must be a finite number within float range");
      }
      k->min_score = static_cast<float>(v);
    }
    if (auto it = body.find("page_size"); it != body.end()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > o_.max_n) {
        return Bad("page_size",
                   absl::StrCat("'page_size' must be an integer between 1 and ", o_.max_n),
                   reason::kTopKOutOfRange);
      }
      k->page_size = it->get<int>();
    }
    if (auto it = body.find("page_token"); it != body.end()) {
      if (!it->is_string()) return Bad("page_token", "'page_token' must be a string");
      k->page_token = it->get<std::string>();
    }
    return std::nullopt;
  }

  // The same from a query string (exact=true|false, numbers as text).
  std::optional<Reply> ReadQueryKnobs(SearchKnobs* k) {
    if (auto it = req_.query.find("exact"); it != req_.query.end()) {
      if (it->second != "true" && it->second != "false")
        return Bad("exact",
                   absl::StrCat("'exact' must be true or false, got '", Quote(it->second), "'"));
      k->exact = it->second == "true";
    }
    const std::tuple<const char*, std::optional<int>*, int> ints[] = {{"ef", &k->ef, 4096},
                                                                      {"nprobe", &k->nprobe, 4096}};
    for (const auto& [key, out, most] : ints) {
      if (auto it = req_.query.find(key); it != req_.query.end()) {
        int v = 0;
        if (!absl::SimpleAtoi(it->second, &v) || v < 1 || v > most) {
          return Bad(key, absl::StrCat("'", key, "' must be an integer between 1 and ", most,
                                       ", got '", Quote(it->second), "'"));
        }
        *out = v;
      }
    }
    if (auto it = req_.query.find("min_score"); it != req_.query.end()) {
      float v = 0;
      if (!absl::SimpleAtof(it->second, &v) || !std::isfinite(v)) {
        return Bad("min_score",
                   absl::StrCat("'min_score' must be a number, got '", Quote(it->second), "'"));
      }
      k->min_score = v;
    }
    if (auto it = req_.query.find("page_size"); it != req_.query.end()) {
      if (!absl::SimpleAtoi(it->second, &k->page_size) || k->page_size < 1 ||
          k->page_size > o_.max_n) {
        return Bad("page_size",
                   absl::StrCat("'page_size' must be an integer between 1 and ", o_.max_n,
                                ", got '", Quote(it->second), "'"),
                   reason::kTopKOutOfRange);
      }
    }
    if (auto it = req_.query.find("page_token"); it != req_.query.end()) {
      k->page_token = it->second;
    }
    return std::nullopt;
  }

  // Filters from a JSON body: lists of names, and the content policy's include_adult
  // and family_safe (booleans, default false).
  std::optional<Reply> ReadBodyFilter(const json& body, FilterSpec* f) {
    const std::pair<const char*, std::vector<std::string>*> lists[] = {
        {"genres", &f->genres},
        {"types", &f->types},
        {"exclude_genres", &f->exclude_genres},
        {"exclude_types", &f->exclude_types}};
    for (const auto& [key, out] : lists) {
      auto it = body.find(key);
      if (it == body.end()) continue;
      if (!it->is_array()) return Bad(key, absl::StrCat("'", key, "' must be a list of names"));
      for (const json& v : *it) {
        if (!v.is_string()) return Bad(key, absl::StrCat("'", key, "' must hold names (strings)"));
        out->push_back(v.get<std::string>());
      }
    }
    for (auto [key, out] : {std::pair{"include_adult", &policy_.include_adult},
                            std::pair{"family_safe", &policy_.family_safe}}) {
      if (auto it = body.find(key); it != body.end()) {
        if (!it->is_boolean()) return Bad(key, absl::StrCat("'", key, "' must be true or false"));
        *out = it->get<bool>();
      }
    }
    if (auto it = body.find("max_age_rating"); it != body.end()) {
      if (!it->is_string())
        return Bad("max_age_rating", "'max_age_rating' must be g, pg, pg_13, r, r+ or rx");
      f->max_age_rating = it->get<std::string>();
    }
    return ApplyContentPolicy(f);
  }

  // The same from query parameters: comma-separated names, include_adult=true|false.
  std::optional<Reply> ReadQueryFilter(FilterSpec* f) {
    const std::pair<const char*, std::vector<std::string>*> lists[] = {
        {"genres", &f->genres},
        {"types", &f->types},
        {"exclude_genres", &f->exclude_genres},
        {"exclude_types", &f->exclude_types}};
    for (const auto& [key, out] : lists) {
      auto it = req_.query.find(key);
      if (it == req_.query.end()) continue;
      for (absl::string_view name : absl::StrSplit(it->second, ',', absl::SkipWhitespace())) {
        out->emplace_back(absl::StripAsciiWhitespace(name));
      }
    }
    if (auto it = req_.query.find("max_age_rating"); it != req_.query.end()) {
      f->max_age_rating = it->second;
    }
    if (auto r = ReadQueryPolicy()) return *r;
    return ApplyContentPolicy(f);
  }

  // include_adult=true|false and family_safe=true|false from the query string.
  std::optional<Reply> ReadQueryPolicy() {
    for (auto [key, out] : {std::pair{"include_adult", &policy_.include_adult},
                            std::pair{"family_safe", &policy_.family_safe}}) {
      if (auto it = req_.query.find(key); it != req_.query.end()) {
        if (it->second != "true" && it->second != "false") {
          return Bad(key, absl::StrCat("'", key, "' must be true or false, got '",
                                       Quote(it->second), "'"));
        }
        *out = it->second == "true";
      }
    }
    return std::nullopt;
  }

  // The public API's content policy (README.md, "Content policy"): adult titles
  // (MAL age rating Rx, or Hentai or Erotica in any catalogue source) are left out
  // unless include_adult; family_safe leaves out mature ones too (R+, explicit BL/GL).
  std::optional<Reply> ApplyContentPolicy(FilterSpec* f) {
    if (policy_.include_adult && policy_.family_safe) {
      return Bad(
          "family_safe",
          "'include_adult' and 'family_safe' contradict each other; set at most one to true");
    }
    f->max_content = MaxContent();
    // An engine from before content levels ignores max_content_level: the adult genres
    // are excluded by name too, so the policy never fails open (on a newer engine a
    // genre no item has excludes nothing).
    if (!policy_.include_adult) {
      for (const char* g : {"Hentai", "Erotica"}) f->exclude_genres.push_back(g);
    }
    return std::nullopt;
  }
  ContentLevel MaxContent() const {
    return policy_.include_adult ? ContentLevel::kAdult
           : policy_.family_safe ? ContentLevel::kGeneral
                                 : ContentLevel::kMature;
  }

  static json FilterJson(const FilterSpec& f) {
    json j = json::object();
    if (!f.genres.empty()) j["genres"] = f.genres;
    if (!f.types.empty()) j["types"] = f.types;
    if (!f.exclude_genres.empty()) j["exclude_genres"] = f.exclude_genres;
    if (!f.exclude_types.empty()) j["exclude_types"] = f.exclude_types;
    if (f.max_content != ContentLevel::kAdult)
      j["max_content_level"] = std::string(ContentLevelName(f.max_content));
    if (f.min_content != ContentLevel::kGeneral)
      j["min_content_level"] = std::string(ContentLevelName(f.min_content));
    if (!f.exclude_franchises.empty()) j["exclude_franchise_ids"] = f.exclude_franchises;
    if (f.min_members != 0) j["min_members"] = f.min_members;
    if (!f.max_age_rating.empty()) j["max_age_rating"] = f.max_age_rating;
    if (f.min_start_year != 0) j["min_year"] = f.min_start_year;
    if (f.max_start_year != 0) j["max_year"] = f.max_start_year;
    if (!f.seasons.empty()) {
      json seasons = json::array();
      for (int s : f.seasons) seasons.push_back(std::string(kSeasonNames[s]));
      j["seasons"] = std::move(seasons);
    }
    return j;
  }

  std::optional<Reply> ReadIds(const json& body, const char* key, std::vector<int64_t>* out) {
    auto it = body.find(key);
    if (it == body.end()) return std::nullopt;
    if (!it->is_array()) return Bad(key, absl::StrCat("'", key, "' must be a list of anime ids"));
    for (const json& v : *it) {
      if (!v.is_number_integer())
        return Bad(key, absl::StrCat("'", key, "' must hold integer anime ids"));
      out->push_back(v.get<int64_t>());
    }
    return std::nullopt;
  }

  // What a /recommend body asks for, besides its filters.
  struct RecommendAsk {
    std::string collection;
    int n = 0;
    bool has_name = false, has_id = false, has_like = false;
    bool franchise_apart = false;  // list the anime's own franchise apart
  };

  // The /recommend body: a JSON object of known fields.
  std::optional<Reply> ReadRecommendBody(json* body) {
    if (req_.body.empty()) {
      return Bad("body", "empty body: send JSON such as {\"name\": \"Cowboy Bebop\", \"n\": 10}");
    }
    // The JSON parser stops at a NUL byte and would ignore what follows it.
    if (req_.body.find('\0') != std::string::npos)
      return Bad("body", "the body contains a NUL byte; send plain JSON");
    *body = json::parse(req_.body, nullptr, false);
    if (body->is_discarded()) return Bad("body", "the body is not valid JSON");
    if (!body->is_object()) return Bad("body", "the body must be a JSON object");
    static const std::vector<std::string> kFields = {
        "name",           "id",          "like",           "dislike",
        "dislike_weight", "n",           "top_k",          "collection",
        "genres",         "types",       "exclude_genres", "exclude_types",
        "include_adult",  "family_safe", "max_age_rating", "franchise",
        "exact",          "ef",          "nprobe",         "min_score",
        "page_size",      "page_token"};
    for (auto it = body->begin(); it != body->end(); ++it) {
      if (std::find(kFields.begin(), kFields.end(), it.key()) == kFields.end()) {
        return Bad(it.key(), absl::StrCat("unknown field '", Quote(it.key()), "'; expected ",
                                          absl::StrJoin(kFields, ", ")));
      }
    }
    return std::nullopt;
  }

  // The collection, n, which query (exactly one of name, id and like) and the franchise
  // mode of a /recommend body.
  std::optional<Reply> ReadRecommendAsk(const json& body, RecommendAsk* a) {
    a->collection = o_.recommend_collection;
    if (auto c = body.find("collection"); c != body.end()) {
      if (!c->is_string() || c->get<std::string>().empty())
        return Bad("collection", "'collection' must be a non-empty string");
      a->collection = c->get<std::string>();
    }
    if (auto r = ReadN(body, &a->n)) return *r;
    a->has_name = body.contains("name");
    a->has_id = body.contains("id");
    a->has_like = body.contains("like");
    query_name_ = a->has_like ? "like" : a->has_id ? "id" : "name";
    if (a->has_name + a->has_id + a->has_like != 1) {
      return Bad(
          "name",
          "give exactly one of 'name' (a title), 'id' (an anime id) or 'like' (a list of ids)",
          reason::kEmptyQuery);
    }
    if (body.contains("dislike") && !a->has_like)
      return Bad("dislike", "'dislike' goes with 'like'");
    // An anime's own seasons, films and OVAs are listed apart from "more like this" by
    // default ("franchise": {"id", "hits"}), so they neither fill the list nor vanish
    // from it; "mixed" ranks them in the list like any other anime.
    a->franchise_apart = !a->has_like;
    if (auto f = body.find("franchise"); f != body.end()) {
      if (!f->is_string() || (*f != "apart" && *f != "mixed")) {
        return Bad("franchise",
                   "'franchise' must be \"apart\" (the anime's own franchise listed apart: the "
                   "default) or "
                   "\"mixed\" (ranked in the list)");
      }
      if (a->has_like)
        return Bad("franchise",
                   "'franchise' goes with 'name' or 'id' (a watch list's franchises are mixed)");
      a->franchise_apart = *f == "apart";
    }
    return std::nullopt;
  }

  // A watch list is kept by the visitor across collections: anime this collection
  // does not hold (not in the catalogue; no synopsis in `synopsis`) are left out of
  // `like` and `dislike` and listed in `ignored`, rather than failing the whole list.
  // (`ncf` holds every catalogue anime: a learned or a predicted vector.)
  std::optional<Reply> DropAnimeNotHeld(const std::string& collection, std::vector<int64_t>* like,
                                        std::vector<int64_t>* dislike, json* ignored) {
    std::vector<int64_t> all(like->begin(), like->end());
    all.insert(all.end(), dislike->begin(), dislike->end());
    // Which of the ids the collection holds: one call per kChunk ids (the engine's
    // max_ids is 1000 by default).
    constexpr size_t kChunk = 500;
    absl::flat_hash_set<int64_t> missing;
    for (size_t at = 0; at < all.size(); at += kChunk) {
      const std::vector<int64_t> chunk(
          all.begin() + static_cast<ptrdiff_t>(at),
          all.begin() + static_cast<ptrdiff_t>(std::min(all.size(), at + kChunk)));
      auto held = backend_.GetItemsIn({collection}, chunk, deadline_);
      if (!held.ok()) return Fail(held.status());
      missing.insert((*held)[0].missing_ids.begin(), (*held)[0].missing_ids.end());
      for (const ItemRecord& r : (*held)[0].items) {
        liked_titles_[r.item.id] = {r.item.title, r.item.english_title};
      }
    }
    for (std::vector<int64_t>* ids : {like, dislike}) {
      std::vector<int64_t> kept;
      for (int64_t id : *ids) {
        if (missing.contains(id)) {
          ignored->push_back(id);
        } else {
          kept.push_back(id);
        }
      }
      *ids = std::move(kept);
    }
    return std::nullopt;
  }

  // A long list (an imported MyAnimeList export) is asked with its most recently added
  // anime: the last kMostAsked ids, liked ones first (what the engine takes in one query,
  // max_ids), and the answer's notice says so.
  void KeepMostRecent(std::vector<int64_t>* like, std::vector<int64_t>* dislike) {
    const size_t listed = like->size() + dislike->size();
    if (listed <= kMostAsked) return;
    if (like->size() > kMostAsked) like->erase(like->begin(), like->end() - kMostAsked);
    const size_t room = kMostAsked - like->size();
    if (dislike->size() > room) dislike->erase(dislike->begin(), dislike->end() - room);
    notice_ = absl::StrCat("Your list has ", listed,
                           " anime in our catalogue; these "
                           "recommendations come from the ",
                           kMostAsked, " most recently added (liked ones first).");
  }
  static constexpr size_t kMostListed = 5000;  // a watch list's anime, as the website keeps
  static constexpr size_t kMostAsked = 1000;   // the engine's max_ids by default

  // The query of a watch list ('like', 'dislike', 'dislike_weight'), and its echo.
  std::optional<Reply> WatchListQuery(const json& body, const std::string& collection,
                                      SearchQuery* q, json* query) {
    std::vector<int64_t> like, dislike;
    if (auto r = ReadIds(body, "like", &like)) return *r;
    if (auto r = ReadIds(body, "dislike", &dislike)) return *r;
    if (like.empty())
      return Bad("like", "'like' must name at least one anime id", reason::kEmptyQuery);
    if (like.size() + dislike.size() > kMostListed) {
      return Bad("like",
                 absl::StrCat("a watch list holds at most ", kMostListed, " anime, got ",
                              like.size() + dislike.size()),
                 reason::kTooManyIds);
    }
    json ignored = json::array();
    if (auto r = DropAnimeNotHeld(collection, &like, &dislike, &ignored)) return *r;
    KeepMostRecent(&like, &dislike);
    if (like.empty()) {
      return Error(404,
                   absl::StrCat("none of the liked anime is in collection '", Quote(collection),
                                "'; like anime that have recommendations there"),
                   {{"ignored", ignored}}, reason::kItemNotInCollection, "like");
    }
    ignored_ = std::move(ignored);
    *q = SearchQuery::Items(like, dislike);
    q->explain = true;  // each result says which liked anime it comes from
    if (auto w = body.find("dislike_weight"); w != body.end()) {
      if (!w->is_number())
        return Bad("dislike_weight", "'dislike_weight' must be a number in (0, 1]");
      q->negative_weight = w->get<float>();
    }
    *query = {{"like", like}, {"dislike", dislike}};
    return std::nullopt;
  }

  // A 404 for a title the collection does not resolve: its closest titles ("did you
  // mean"), and the anime the title names when the collection does not hold it.
  Reply TitleNotFound(const TitleLookup& lookup, const absl::Status& why) const {
    json suggestions = json::array();
    for (const TitleCandidate& m : lookup.matches) {
      if (m.item.content > MaxContent()) continue;  // the content policy, as for /titles
      suggestions.push_back({{"id", m.item.id}, {"title", m.matched_title}, {"match", m.score}});
    }
    json extra = {{"suggestions", suggestions}};
    if (lookup.better_elsewhere && lookup.better_elsewhere->score >= kConfidentTitleMatch &&
        lookup.better_elsewhere->item.content <= MaxContent()) {
      const TitleCandidate& e = *lookup.better_elsewhere;
      extra["not_in_collection"] = {{"id", e.item.id},
                                    {"title", e.matched_title},
                                    {"match", e.score},
                                    {"collections", lookup.better_elsewhere_in}};
    }
    // The client library's reason: TITLE_NOT_FOUND, or ITEM_NOT_IN_COLLECTION when the
    // title names an anime of another collection (as over gRPC).
    const std::string why_reason = ReasonOf(why);
    return Error(404, std::string(why.message()), extra,
                 why_reason == "NOT_FOUND" ? std::string(reason::kTitleNotFound) : why_reason,
                 "name");
  }

  // The anime a body's 'id' or 'name' names (a title resolved in the collection), and
  // the query's echo.
  std::optional<Reply> ReadAnime(const json& body, const RecommendAsk& a, int64_t* id,
                                 json* query) {
    if (a.has_id) {
      const json& v = body.at("id");
      if (!v.is_number_integer()) return Bad("id", "'id' must be an integer anime id");
      *id = v.get<int64_t>();
      *query = {{"id", *id}};
      return std::nullopt;
    }
    const json& v = body.at("name");
    if (!v.is_string() || absl::StripAsciiWhitespace(v.get<std::string>()).empty()) {
      return Bad("name", "'name' must be a non-empty title");
    }
    const std::string name = v.get<std::string>();
    auto lookup = backend_.LookupTitle(a.collection, name, 5, deadline_);
    if (!lookup.ok()) return Fail(lookup.status());
    auto resolved = ResolveTitle(*lookup, name, a.collection);
    if (!resolved.ok()) return TitleNotFound(*lookup, resolved.status());
    *id = resolved->item.id;
    *query = {{"name", name}, {"id", *id}, {"title", resolved->matched_title}};
    return std::nullopt;
  }

  // The anime's own level shapes its list: an all-ages anime's list is family safe
  // unless adult titles were asked for (a Kids title must not lead to R+ or explicit
  // BL/GL titles), and an adult anime's list holds adult titles only, and only when
  // asked for (else the answer is an empty list with a notice). (Watch lists are not
  // shaped by their anime: the policy's limit holds.) Sets the anime's *franchise.
  std::optional<Reply> ShapeByAnime(const std::string& collection, int64_t id, const json& query,
                                    SearchOptions* so, int64_t* franchise) {
    *franchise = id;  // an anime in no group is its own franchise
    auto items = backend_.GetItems(collection, {id}, deadline_);
    if (!items.ok() && items.status().code() != absl::StatusCode::kNotFound)
      return Fail(items.status());
    if (!items.ok() || items->empty()) return std::nullopt;  // the search names the id
    const Item& it = (*items)[0].item;
    *franchise = it.franchise != 0 ? it.franchise : id;
    if (it.content == ContentLevel::kAdult) {
      if (!policy_.include_adult) {
        return Reply{
            200,
            {{"collection", collection},
             {"query", query},
             {"filter", FilterJson(so->filter)},
             {"hits", json::array()},
             {"results", json::array()},
             {"notice",
              "this anime is for adults (MAL age rating Rx, or the genre Hentai or Erotica): "
              "its list is shown with include_adult=true"}},
            {}};
      }
      so->filter.min_content = ContentLevel::kAdult;
    } else if (it.all_ages() && !policy_.include_adult) {
      so->filter.max_content = ContentLevel::kGeneral;
    }
    return std::nullopt;
  }

  // The anime's own franchise, searched apart ({"id", "hits"}) and then excluded
  // from the main list; null when the engine cannot (the list then answers alone, its
  // franchise entries mixed in).
  json FranchiseApart(const SearchQuery& q, int64_t franchise, SearchOptions* so) {
    SearchOptions fo = *so;
    fo.filter.franchises = {franchise};
    fo.knobs.page_size = 0;  // the franchise is listed whole, beside every page
    fo.knobs.page_token.clear();
    fo.next_page_token = nullptr;
    auto same = backend_.Search(q, fo);
    // Else the list answers alone, its franchise entries mixed in (no "franchise"); but
    // the pages of one list must all be cut from the same ranking, so a paged list
    // leaves the franchise out either way.
    const bool paged = so->knobs.page_size != 0 || !so->knobs.page_token.empty();
    if (!same.ok() && paged) so->filter.exclude_franchises = {franchise};
    if (!same.ok()) return json();
    // (The client holds an older engine's answer to the filters too.)
    so->filter.exclude_franchises = {franchise};
    json group = {{"id", franchise}};
    PutHits(&group, HitsJson(*same));
    return group;
  }

  Reply Recommend() {
    json body;
    if (auto r = ReadRecommendBody(&body)) return *r;
    RecommendAsk a;
    if (auto r = ReadRecommendAsk(body, &a)) return *r;
    if (DeadlinePassed())
      return Error(504, "the request's deadline passed before the search began");
    SearchOptions so;
    so.collection_version = &version_;
    so.collection = a.collection;
    so.top_k = a.n;
    so.deadline = deadline_;
    if (auto r = ReadBodyFilter(body, &so.filter)) return *r;
    if (auto r = ReadBodyKnobs(body, &so.knobs)) return *r;
    so.next_page_token = &next_page_token_;
    // A paged search's depth: top_k when given, else the most this API answers.
    if ((so.knobs.page_size != 0 || !so.knobs.page_token.empty()) && !body.contains("n") &&
        !body.contains("top_k")) {
      so.top_k = o_.max_n;
    }
    json query;
    SearchQuery q;
    int64_t franchise = 0;  // the queried anime's, when its franchise is listed apart
    if (a.has_like) {
      if (auto r = WatchListQuery(body, a.collection, &q, &query)) return *r;
    } else {
      int64_t id = 0;
      if (auto r = ReadAnime(body, a, &id, &query)) return *r;
      q = SearchQuery::Item(id);
      if (auto r = ShapeByAnime(a.collection, id, query, &so, &franchise)) return *r;
    }
    json group;
    if (a.franchise_apart && franchise != 0) group = FranchiseApart(q, franchise, &so);
    auto hits = backend_.Search(q, so);
    if (!hits.ok()) return Fail(hits.status());
    Reply r{200,
            {{"collection", a.collection}, {"query", query}, {"filter", FilterJson(so.filter)}},
            {}};
    PutHits(&r.body, HitsJson(*hits, liked_titles_));
    if (!group.is_null()) r.body["franchise"] = std::move(group);
    if (!ignored_.empty()) r.body["ignored"] = ignored_;
    if (!notice_.empty()) r.body["notice"] = notice_;
    if (!next_page_token_.empty()) r.body["next_page_token"] = next_page_token_;
    return r;
  }

  Reply SearchText() {
    auto q = req_.query.find("q");
    if (q == req_.query.end() || absl::StripAsciiWhitespace(q->second).empty()) {
      return Bad("q", "missing query parameter 'q' (the text to search for)", reason::kEmptyQuery);
    }
    SearchOptions so;
    so.collection_version = &version_;
    so.collection = o_.search_collection;
    if (auto c = req_.query.find("collection"); c != req_.query.end() && !c->second.empty())
      so.collection = c->second;
    if (req_.query.count("k") && req_.query.count("top_k")) {
      return Bad("top_k", "give 'top_k' or its older name 'k', not both");
    }
    const char* count = req_.query.count("top_k") ? "top_k" : "k";
    count_name_ = count;
    if (auto r = ReadQueryKnobs(&so.knobs)) return *r;
    // A paged search's depth: top_k when given, else the most this API answers.
    const bool paged = so.knobs.page_size != 0 || !so.knobs.page_token.empty();
    int k = paged ? o_.max_n : o_.default_n;
    if (auto kv = req_.query.find(count); kv != req_.query.end()) {
      if (!absl::SimpleAtoi(kv->second, &k) || k < 1 || k > o_.max_n) {
        return Bad(count,
                   absl::StrCat("'", count, "' must be an integer between 1 and ", o_.max_n,
                                ", got '", Quote(kv->second), "'"),
                   reason::kTopKOutOfRange);
      }
    }
    so.top_k = k;
    so.deadline = deadline_;
    so.next_page_token = &next_page_token_;
    if (auto r = ReadQueryFilter(&so.filter)) return *r;
    SearchQuery text = SearchQuery::Text(q->second);
    json query = {{"q", q->second}};
    if (auto m = req_.query.find("mode"); m != req_.query.end()) {
      const auto mode = TextModeFromName(m->second);
      if (!mode) {
        return Bad("mode", absl::StrCat("'mode' must be dense, lexical or hybrid, got '",
                                        Quote(m->second), "'"));
      }
      text.text_options.mode = *mode;
      if (!m->second.empty()) query["mode"] = m->second;
    }
    if (auto f = req_.query.find("fusion"); f != req_.query.end()) {
      const auto fusion = FusionFromName(f->second);
      if (!fusion)
        return Bad("fusion",
                   absl::StrCat("'fusion' must be rrf or convex, got '", Quote(f->second), "'"));
      text.text_options.fusion = *fusion;
      if (!f->second.empty()) query["fusion"] = f->second;
    }
    if (DeadlinePassed())
      return Error(504, "the request's deadline passed before the search began");
    auto hits = backend_.Search(text, so);
    if (!hits.ok()) return Fail(hits.status());
    Reply r{200,
            {{"collection", so.collection}, {"query", query}, {"filter", FilterJson(so.filter)}},
            {}};
    PutHits(&r.body, HitsJson(*hits));
    if (!next_page_token_.empty()) r.body["next_page_token"] = next_page_token_;
    return r;
  }

  // One anime: from the named collection, or (without `collection`) from every served
  // collection that holds it, with their names in "collections" (the lists it has).
  Reply ItemById(const std::string& tail) {
    int64_t id;
    if (!absl::SimpleAtoi(tail, &id))
      return Bad("id", absl::StrCat("'", Quote(tail), "' is not an anime id"));
    std::vector<std::string> names;
    if (auto c = req_.query.find("collection"); c != req_.query.end() && !c->second.empty()) {
      names.push_back(c->second);
    } else {
      auto list = backend_.ListCollections(deadline_);
      if (!list.ok()) return Fail(list.status());
      for (const CollectionInfo& info : *list) names.push_back(info.name);
    }
    if (names.empty())
      return Error(502, "no collection is served", json::object(), reason::kCollectionNotServed);
    // One call: which of the collections hold the anime.
    const bool named = req_.query.count("collection") && !req_.query.at("collection").empty();
    auto answers = HeldBy(names, id, /*listed=*/!named);
    if (!answers.ok()) return Fail(answers.status());
    std::optional<Item> found;
    json held = json::array();
    json vectors = json::object();  // per collection that says: where the vector came from
    for (const CollectionItems& in : *answers) {
      if (in.items.empty()) continue;  // not in this collection
      const std::string& name = in.collection;
      held.push_back(name);
      const Item& it = in.items[0].item;
      if (it.vector_source != Item::VectorSource::kUnknown) {
        vectors[name] = {
            {"source", it.vector_source == Item::VectorSource::kLearned ? "learned" : "predicted"},
            {"viewers", it.viewers}};
      }
      if (!found || (found->synopsis.empty() && !it.synopsis.empty()) ||
          (found->title.empty() && !it.title.empty())) {
        std::string synopsis = found && it.synopsis.empty() ? found->synopsis : std::string();
        found = it;
        if (found->synopsis.empty()) found->synopsis = std::move(synopsis);
      }
    }
    if (!found && named) {
      return Error(404, absl::StrCat("item ", id, " is not in collection '", Quote(names[0]), "'"),
                   json::object(), reason::kItemNotInCollection);
    }
    if (!found) {
      return Error(404, absl::StrCat("anime ", id, " is in no served collection"), json::object(),
                   reason::kItemNotFound);
    }
    json j = ItemJson(*found);
    if (!found->synopsis.empty()) j["synopsis"] = found->synopsis;
    j["collections"] = std::move(held);
    j.erase("vector_source");  // per collection instead:
    j.erase("viewers");
    j["vectors"] = std::move(vectors);
    return {200, std::move(j), {}};
  }

  // GetItemsIn over collections ListCollections named: one that went away since (not
  // found, withdrawn, damaged) is skipped, as if it held none of the ids.
  absl::StatusOr<std::vector<CollectionItems>> GetItemsInListed(
      const std::vector<std::string>& names, const std::vector<int64_t>& ids) const {
    auto held = backend_.GetItemsIn(names, ids, deadline_);
    if (held.ok() || !Gone(held.status())) return held;
    std::vector<CollectionItems> out;
    for (const std::string& name : names) {  // one at a time, past the one that went
      auto one = backend_.GetItemsIn({name}, ids, deadline_);
      if (!one.ok() && Gone(one.status())) continue;
      if (!one.ok()) return one.status();
      out.insert(out.end(), one->begin(), one->end());
    }
    return out;
  }
  static bool Gone(const absl::Status& st) {
    const std::string r = ReasonOf(st);
    return r == reason::kCollectionNotFound || r == reason::kCollectionNotServed ||
           r == reason::kVersionDamaged;
  }

  // Which of the collections `names` hold anime `id`: one call per 64 collections (the
  // most one GetItems names). A collection `listed` by ListCollections that went away
  // since (not found, withdrawn, damaged) is skipped, as if it did not hold the anime.
  absl::StatusOr<std::vector<CollectionItems>> HeldBy(const std::vector<std::string>& names,
                                                      int64_t id, bool listed) const {
    constexpr size_t kMostPerCall = 64;
    std::vector<CollectionItems> out;
    for (size_t at = 0; at < names.size(); at += kMostPerCall) {
      const std::vector<std::string> chunk(
          names.begin() + static_cast<ptrdiff_t>(at),
          names.begin() + static_cast<ptrdiff_t>(std::min(names.size(), at + kMostPerCall)));
      auto held =
          listed ? GetItemsInListed(chunk, {id}) : backend_.GetItemsIn(chunk, {id}, deadline_);
      if (!held.ok()) return held.status();
      out.insert(out.end(), held->begin(), held->end());
    }
    return out;
  }

  // Title suggestions as you type, in "matches": GET /titles?q=cowboy%20beb&top_k=8
  // [&collection=NAME]
  // [&include_adult=true]. Case- and accent-insensitive over original and English
  // titles, best first (the engine's title index). The collection defaults to the
  // served one with the most items (the whole catalogue in the demo: genres).
  Reply Titles() {
    auto q = req_.query.find("q");
    if (q == req_.query.end() || absl::StripAsciiWhitespace(q->second).empty()) {
      return Bad("q", "missing query parameter 'q' (the start of a title)", reason::kEmptyQuery);
    }
    if (req_.query.count("n") && req_.query.count("top_k")) {
      return Bad("top_k", "give 'top_k' or its older name 'n', not both");
    }
    const char* count = req_.query.count("top_k") ? "top_k" : "n";
    count_name_ = count;
    int n = 8;
    if (auto kv = req_.query.find(count); kv != req_.query.end()) {
      if (!absl::SimpleAtoi(kv->second, &n) || n < 1 || n > 50) {
        return Bad(count,
                   absl::StrCat("'", count, "' must be an integer between 1 and 50, got '",
                                Quote(kv->second), "'"),
                   reason::kTopKOutOfRange);
      }
    }
    if (auto r = ReadQueryPolicy()) return *r;
    FilterSpec policy;
    if (auto r = ApplyContentPolicy(&policy)) return *r;
    std::string collection;
    if (auto r = CollectionOrLargest(&collection)) return *r;
    // Ask for more than n: the content policy may drop some.
    auto found = backend_.LookupTitle(collection, q->second, std::min(100, n * 2 + 10), deadline_);
    if (!found.ok()) return Fail(found.status());
    json results = json::array();
    for (const TitleCandidate& m : found->matches) {
      if (static_cast<int>(results.size()) == n) break;
      if (m.item.content > policy.max_content) continue;
      json j = ItemJson(m.item);
      j["score"] = m.score;
      j["matched_title"] = m.matched_title;
      results.push_back(std::move(j));
    }
    // "matches", as the gRPC API names them; "results" as before (deprecated).
    return {200,
            {{"collection", collection},
             {"query", {{"q", q->second}}},
             {"matches", results},
             {"results", results}},
            {}};
  }

  // The query's `collection`, or the served collection with the most items (the whole
  // catalogue in the demo: genres).
  std::optional<Reply> CollectionOrLargest(std::string* collection) {
    if (auto c = req_.query.find("collection"); c != req_.query.end() && !c->second.empty()) {
      *collection = c->second;
      return std::nullopt;
    }
    auto list = backend_.ListCollections(deadline_);
    if (!list.ok()) return Fail(list.status());
    int64_t most = -1;
    for (const CollectionInfo& info : *list) {
      if (info.count > most) {
        most = info.count;
        *collection = info.name;
      }
    }
    if (collection->empty()) {
      return Error(502, "no collection is served", json::object(), reason::kCollectionNotServed);
    }
    return std::nullopt;
  }

  // Many anime at once (a list being imported): POST /items {"ids": [...]}. Each id's
  // metadata from the first served collection that holds it; ids none holds are listed
  // in missing_ids. No content policy: these are the caller's own anime.
  Reply ItemsByIds() {
    // The JSON parser stops at a NUL byte and would ignore what follows it.
    if (req_.body.find('\0') != std::string::npos)
      return Bad("body", "the body contains a NUL byte; send plain JSON");
    json body = json::parse(req_.body, nullptr, false);
    if (req_.body.empty() || body.is_discarded() || !body.is_object()) {
      return Bad("body", "send a JSON object such as {\"ids\": [1, 5114]}");
    }
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (it.key() != "ids") {
        return Bad(it.key(),
                   absl::StrCat("unknown field '", Quote(it.key()), "'; send {\"ids\": [...]}"));
      }
    }
    std::vector<int64_t> ids;
    if (auto r = ReadIds(body, "ids", &ids)) return *r;
    if (ids.empty())
      return Bad("ids", "'ids' is empty: send at least one anime id", reason::kEmptyQuery);
    if (ids.size() > kMostItemsIds) {
      return Bad("ids", absl::StrCat("at most ", kMostItemsIds, " ids, got ", ids.size()),
                 reason::kTooManyIds);
    }
    auto list = backend_.ListCollections(deadline_);
    if (!list.ok()) return Fail(list.status());
    std::vector<std::string> names;
    for (const CollectionInfo& info : *list) names.push_back(info.name);
    absl::flat_hash_map<int64_t, Item> found;
    // Deduplicated, in chunks the engine takes (its max_ids is 1000 by default).
    std::vector<int64_t> unique;
    absl::flat_hash_set<int64_t> seen;
    for (int64_t id : ids) {
      if (seen.insert(id).second) unique.push_back(id);
    }
    constexpr size_t kChunk = 500;
    for (size_t at = 0; at < unique.size() && !names.empty(); at += kChunk) {
      std::vector<int64_t> chunk(
          unique.begin() + static_cast<ptrdiff_t>(at),
          unique.begin() + static_cast<ptrdiff_t>(std::min(unique.size(), at + kChunk)));
      for (size_t c = 0; c < names.size(); c += 64) {
        const std::vector<std::string> some(
            names.begin() + static_cast<ptrdiff_t>(c),
            names.begin() + static_cast<ptrdiff_t>(std::min(names.size(), c + 64)));
        auto held = GetItemsInListed(some, chunk);
        if (!held.ok()) return Fail(held.status());
        for (const CollectionItems& in : *held) {
          for (const ItemRecord& r : in.items) {
            auto [it, inserted] = found.try_emplace(r.item.id, r.item);
            if (!inserted && it->second.title.empty() && !r.item.title.empty()) it->second = r.item;
          }
        }
      }
    }
    json items = json::array(), missing = json::array();
    for (int64_t id : unique) {
      auto it = found.find(id);
      if (it == found.end()) {
        missing.push_back(id);
        continue;
      }
      json j = ItemJson(it->second);
      j.erase("vector_source");  // per collection, not meaningful across them
      j.erase("viewers");
      items.push_back(std::move(j));
    }
    return {200, {{"items", std::move(items)}, {"missing_ids", std::move(missing)}}, {}};
  }
  static constexpr size_t kMostItemsIds = 5000;

  // Browse: GET /browse?season=fall&year=2023&sort=popularity, GET /browse?genres=Comedy&
  // sort=score. A collection's items in an order (score: MAL's mean score; popularity:
  // MAL members; date: start date), newest or best first unless order=asc, filtered like
  // /search (genres, types, content policy) and by start year and season; a page at a
  // time (page_size, page_token).
  Reply Browse() {
    ListRequest list;
    std::string collection;
    if (auto r = CollectionOrLargest(&collection)) return *r;
    if (auto r = ReadQueryFilter(&list.filter)) return *r;
    if (auto r = ReadYears(&list.filter)) return *r;
    if (auto it = req_.query.find("season"); it != req_.query.end()) {
      for (absl::string_view name : absl::StrSplit(it->second, ',', absl::SkipWhitespace())) {
        name = absl::StripAsciiWhitespace(name);
        const int season = SeasonFromName(name);
        if (season == 0) {
          return Bad("season",
                     absl::StrCat("'season' must be winter, spring, summer or fall, got '",
                                  Quote(name), "'"));
        }
        list.filter.seasons.push_back(season);
      }
    }
    std::string sort = "score";
    if (auto it = req_.query.find("sort"); it != req_.query.end()) sort = it->second;
    if (sort == "score") {
      list.order = ItemOrder::kScore;
    } else if (sort == "popularity") {
      list.order = ItemOrder::kMembers;
    } else if (sort == "date") {
      list.order = ItemOrder::kStartDate;
    } else {
      return Bad("sort",
                 absl::StrCat("'sort' must be score, popularity or date, got '", Quote(sort), "'"));
    }
    if (auto it = req_.query.find("order"); it != req_.query.end()) {
      if (it->second != "asc" && it->second != "desc") {
        return Bad("order",
                   absl::StrCat("'order' must be asc or desc, got '", Quote(it->second), "'"));
      }
      list.ascending = it->second == "asc";
    }
    list.page_size = 20;
    if (auto it = req_.query.find("page_size"); it != req_.query.end()) {
      if (!absl::SimpleAtoi(it->second, &list.page_size) || list.page_size < 1 ||
          list.page_size > o_.max_n) {
        return Bad("page_size",
                   absl::StrCat("'page_size' must be an integer between 1 and ", o_.max_n,
                                ", got '", Quote(it->second), "'"),
                   reason::kTopKOutOfRange);
      }
    }
    if (auto it = req_.query.find("page_token"); it != req_.query.end()) {
      list.page_token = it->second;
    }
    if (DeadlinePassed())
      return Error(504, "the request's deadline passed before the listing began");
    auto page = backend_.ListItems(collection, list, deadline_);
    if (!page.ok()) return Fail(page.status());
    version_ = page->version;
    json items = json::array();
    for (const Item& it : page->items) items.push_back(ItemJson(it));
    json filter = FilterJson(list.filter);
    Reply r{200,
            {{"collection", collection},
             {"sort", sort},
             {"order", list.ascending ? "asc" : "desc"},
             {"filter", std::move(filter)},
             {"total", page->total},
             {"items", std::move(items)}},
            {}};
    if (!page->next_page_token.empty()) r.body["next_page_token"] = page->next_page_token;
    return r;
  }

  // year=2023, or min_year / max_year (inclusive); not year with either. And
  // min_members.
  std::optional<Reply> ReadYears(FilterSpec* f) {
    if (auto it = req_.query.find("min_members"); it != req_.query.end()) {
      if (!absl::SimpleAtoi(it->second, &f->min_members) || f->min_members < 0) {
        return Bad("min_members", absl::StrCat("'min_members' must be a whole number >= 0, got '",
                                               Quote(it->second), "'"));
      }
    }
    const bool year = req_.query.count("year") > 0;
    if (year && (req_.query.count("min_year") || req_.query.count("max_year"))) {
      return Bad("year", "give 'year', or 'min_year' and 'max_year', not both");
    }
    for (auto [key, out] :
         {std::pair{"year", &f->min_start_year}, std::pair{"min_year", &f->min_start_year},
          std::pair{"max_year", &f->max_start_year}}) {
      auto it = req_.query.find(key);
      if (it == req_.query.end()) continue;
      if (!absl::SimpleAtoi(it->second, out) || *out < 1900 || *out > 2100) {
        return Bad(key, absl::StrCat("'", key, "' must be a year between 1900 and 2100, got '",
                                     Quote(it->second), "'"));
      }
    }
    if (year) f->max_start_year = f->min_start_year;
    if (f->min_start_year != 0 && f->max_start_year != 0 && f->min_start_year > f->max_start_year) {
      return Bad("max_year", "'max_year' is before 'min_year'");
    }
    return std::nullopt;
  }

  // The served collections with what their filters may name: GET /collections. The
  // website's genre and type menus come from here.
  Reply Collections() {
    auto list = backend_.ListCollections(deadline_);
    if (!list.ok()) return Fail(list.status());
    json out = json::array();
    for (const CollectionInfo& info : *list) {
      auto d = backend_.DescribeCollection(info.name, deadline_);
      if (!d.ok()) {
        if (Gone(d.status())) continue;  // went away since it was listed: left out
        return Fail(d.status());
      }
      out.push_back({{"name", d->name},
                     {"version", d->version},
                     {"count", d->count},
                     {"genres", d->genres},
                     {"types", d->types}});
    }
    return {200, {{"collections", std::move(out)}}, {}};
  }

  Reply Health() {
    // Public: no index root or engine address here (they are in the log at start).
    auto list = backend_.ListCollections(deadline_);
    if (!list.ok()) return Fail(list.status());
    json cs = json::array();
    for (const CollectionInfo& c : *list)
      cs.push_back({{"name", c.name}, {"version", c.version}, {"items", c.count}});
    return {200, {{"status", "ok"}, {"collections", cs}}, {}};
  }

  // An engine error as the answer, its field named as this request names it.
  Reply Fail(const absl::Status& st) const { return FromStatus(st, count_name_, query_name_); }

  json ignored_ = json::array();  // /recommend: listed ids the collection does not hold
  std::string count_name_ = "top_k", query_name_ = "q";  // for Fail
  struct {
    bool include_adult = false, family_safe = false;
  } policy_;  // as asked; ApplyContentPolicy turns it into a filter
  const Request& req_;
  const SearchBackend& backend_;
  const HandlerOptions& o_;
  absl::Time deadline_;
  std::string route_, version_;
  std::string next_page_token_;  // a paged search's, for the answer
  TitleMap liked_titles_;        // a watch list's titles, for its results' reasons
  std::string notice_;           // what the answer says of how the list was asked
};

std::string Serialize(const Reply& r, const HandlerOptions& o) {
  json headers = {{"Content-Type", "application/json"},
                  {"Access-Control-Allow-Origin", o.cors_origin},
                  {"Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS"},
                  {"Access-Control-Allow-Headers", "Content-Type"}};
  for (const auto& [k, v] : http::kApiSecurityHeaders) headers[k] = v;
  for (const auto& [k, v] : r.headers) headers[k] = v;
  json out = {
      {"statusCode", r.status},
      {"headers", headers},
      {"body", r.status == 204 ? std::string()
                               : r.body.dump(-1, ' ', false, json::error_handler_t::replace)},
      {"isBase64Encoded", false}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string HandleEvent(absl::string_view event_json, const Invocation& invocation,
                        const SearchBackend& backend, const HandlerOptions& options,
                        std::string* detail) {
  Outcome outcome;
  std::string out = HandleEvent(event_json, invocation, backend, options, &outcome);
  if (detail != nullptr) *detail = std::move(outcome.detail);
  return out;
}

std::string HandleEvent(absl::string_view event_json, const Invocation& invocation,
                        const SearchBackend& backend, const HandlerOptions& options,
                        Outcome* outcome) {
  Reply reply;
  outcome->route.clear();
  outcome->collection_version.clear();
  try {
    auto req = ParseEvent(event_json, options);
    if (!req.ok()) {
      reply = Error(req.status().code() == absl::StatusCode::kResourceExhausted ? 413 : 400,
                    std::string(req.status().message()));
    } else if (req->method == "OPTIONS") {
      reply = {204, json::object(), {}};
    } else {
      Router router(*req, invocation, backend, options);
      reply = router.Route();
      outcome->route = router.route();
      outcome->collection_version = router.version();
    }
  } catch (const std::exception& e) {
    reply = Error(500, "internal error");
    reply.detail = absl::StrCat("exception: ", e.what());
  } catch (...) {
    reply = Error(500, "internal error");
    reply.detail = "unknown exception";
  }
  outcome->status = reply.status;
  outcome->detail = reply.detail;
  return Serialize(reply, options);
}

}  // namespace simsearch::lambda

namespace simsearch::lambda {

std::string EmfLine(const Outcome& outcome, absl::string_view request_id, double ms,
                    absl::Time now) {
  json line = {
      {"_aws",
       {{"Timestamp", absl::ToUnixMillis(now)},
        {"CloudWatchMetrics",
         json::array({{{"Namespace", "simsearch"},
                       {"Dimensions", json::array({json::array({"Route", "Status"})})},
                       {"Metrics", json::array({{{"Name", "Latency"}, {"Unit", "Milliseconds"}},
                                                {{"Name", "Requests"}, {"Unit", "Count"}}})}}})}}},
      {"Route", outcome.route.empty() ? "unmatched" : outcome.route},
      {"Status", std::to_string(outcome.status)},
      {"Latency", ms},
      {"Requests", 1},
      {"request_id", std::string(request_id)},
      {"collection_version", outcome.collection_version}};
  // Invalid UTF-8 (a hostile request id) is replaced rather than thrown on.
  return line.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace simsearch::lambda
