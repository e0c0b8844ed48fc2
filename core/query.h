// Search requests as plain values, shared by the engine, the client and the Lambda
// adapter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/catalog.h"

namespace simsearch {

// One query. Exactly one kind is set.
// How a text query is answered (docs/MODELS.md, "Hybrid text search").
enum class TextMode {
  kDefault,  // hybrid on a collection with both an encoder and a lexical index, else the one it has
  kDense,    // the collection's sentence encoder, nearest vectors
  kLexical,  // BM25 over the collection's lexical index
  kHybrid,   // both, fused
};
enum class Fusion {
  kDefault,  // kConvex with dense_weight kDefaultDenseWeight (chosen on the dev queries,
             // docs/MODELS.md)
  kRrf,      // weighted reciprocal rank fusion: 2 * (w / (rrf_k + dense rank) + (1 - w) / (rrf_k +
             // lexical rank))
  kConvex,   // w * dense + (1 - w) * lexical, each list's scores min-max normalised to [0, 1]
};
struct TextOptions {
  TextMode mode = TextMode::kDefault;
  Fusion fusion = Fusion::kDefault;
  std::optional<float> rrf_k;  // > 0; unset: kDefaultRrfK
  std::optional<float>
      dense_weight;  // w, in [0, 1]; unset: kDefaultDenseWeight (convex), 0.5 (rrf)
};
// TextOptions from its parts (aggregate initialisation warns on omitted fields).
inline TextOptions MakeTextOptions(TextMode mode, Fusion fusion = Fusion::kDefault,
                                   std::optional<float> rrf_k = std::nullopt,
                                   std::optional<float> dense_weight = std::nullopt) {
  TextOptions o;
  o.mode = mode;
  o.fusion = fusion;
  o.rrf_k = rrf_k;
  o.dense_weight = dense_weight;
  return o;
}
inline constexpr float kDefaultRrfK = 60.0f;
inline constexpr float kDefaultDenseWeight = 0.2f;
// "dense", "lexical", "hybrid" ("" = default), case-sensitive; nullopt for others.
inline std::optional<TextMode> TextModeFromName(const std::string& s) {
  if (s.empty()) return TextMode::kDefault;
  if (s == "dense") return TextMode::kDense;
  if (s == "lexical") return TextMode::kLexical;
  if (s == "hybrid") return TextMode::kHybrid;
  return std::nullopt;
}
// "rrf", "convex" ("" = default); nullopt for others.
inline std::optional<Fusion> FusionFromName(const std::string& s) {
  if (s.empty()) return Fusion::kDefault;
  if (s == "rrf") return Fusion::kRrf;
  if (s == "convex") return Fusion::kConvex;
  return std::nullopt;
}
// Each side of a hybrid query contributes its best max(top_k, kFusionDepth) hits.
inline constexpr int kFusionDepth = 100;

struct SearchQuery {
  enum class Kind { kUnset, kVector, kItem, kItems, kUser, kText };
  Kind kind = Kind::kUnset;
  std::vector<float> vector;          // kVector: length = the collection's dims
  int64_t item_id = 0;                // kItem: "more like this"; the item is excluded
  std::vector<int64_t> positive_ids;  // kItems: liked (at least one); excluded
  std::vector<int64_t> negative_ids;  // kItems: disliked; excluded
  float negative_weight = 1.0f;       // kItems: query = mean(pos) - w * mean(neg), w in (0, 1]
  bool explain = false;      // kItems: each hit names its largest liked parts (Hit::because)
  int64_t user_id = 0;       // kUser: a known user's vector; their items excluded
  std::string text;          // kText: free text, encoded by the collection's encoder
  TextOptions text_options;  // kText: dense, lexical or hybrid

  static SearchQuery Vector(std::vector<float> v) {
    SearchQuery q;
    q.kind = Kind::kVector;
    q.vector = std::move(v);
    return q;
  }
  static SearchQuery Item(int64_t id) {
    SearchQuery q;
    q.kind = Kind::kItem;
    q.item_id = id;
    return q;
  }
  static SearchQuery Text(std::string t) {
    SearchQuery q;
    q.kind = Kind::kText;
    q.text = std::move(t);
    return q;
  }
  static SearchQuery User(int64_t id) {
    SearchQuery q;
    q.kind = Kind::kUser;
    q.user_id = id;
    return q;
  }
  static SearchQuery Items(std::vector<int64_t> positive, std::vector<int64_t> negative = {}) {
    SearchQuery q;
    q.kind = Kind::kItems;
    q.positive_ids = std::move(positive);
    q.negative_ids = std::move(negative);
    return q;
  }
};

// How a search is run, per call (proto SearchParams). Unset members mean the
// collection's tuned values, which DescribeCollection reports.
struct SearchKnobs {
  bool exact = false;              // scan every vector whatever the index kind
  std::optional<int> ef;           // HNSW beam, 1..EngineLimits::max_ef (raised to top_k)
  std::optional<int> nprobe;       // IVF lists probed, 1..max_nprobe (at most nlist)
  std::optional<float> min_score;  // hits scoring below are left out (a list may get short)
  // Pages (engine/paging.h): with page_size > 0 or a token, each query answers one page
  // of the ranking of depth top_k (max_k when unset) and a token for its next page.
  // page_size 0 with a token: the default top_k. A single search takes page_token; a
  // batch takes page_tokens, one per query ("" for a first page; none: all first pages).
  int page_size = 0;
  std::string page_token;
  std::vector<std::string> page_tokens;
};

// What a search may return. Empty members impose no condition.
struct FilterSpec {
  std::vector<int64_t> exclude_ids;         // ids never returned (unknown ids are ignored)
  std::vector<std::string> genres;          // keep items with any of these (case-insensitive)
  std::vector<std::string> types;           // keep items of any of these types (case-insensitive)
  std::vector<std::string> exclude_genres;  // drop items with any of these (unknown: ignored)
  std::vector<std::string> exclude_types;   // drop items of these types (unknown: ignored)
  // Drop items more explicit than this (Item::content); kAdult: no limit.
  ContentLevel max_content = ContentLevel::kAdult;
  // Drop items less explicit than this; kGeneral: no limit. (The HTTP API's list of an
  // adult anime is adult titles only.)
  ContentLevel min_content = ContentLevel::kGeneral;
  // Keep items of any of these franchises (Item::franchise; an item of a bundle that
  // does not say is its own franchise), and drop items of any of these. The HTTP API
  // lists an anime's own franchise apart from "more like this" with the two.
  std::vector<int64_t> franchises;
  std::vector<int64_t> exclude_franchises;
  // Keep items that started in these years, inclusive (0: no bound); an item whose start
  // year is unknown is dropped when either is set.
  int min_start_year = 0;
  int max_start_year = 0;
  // Keep items that started in any of these seasons (SeasonOfStart: 1 winter .. 4 fall);
  // empty: any. An item whose season is unknown is dropped when it is set.
  std::vector<int> seasons;
  // Keep items with at least this many MAL members (0: no bound): a "top rated" list
  // without the 10.0 of an anime a few hundred people scored.
  int64_t min_members = 0;
  // Keep items whose MAL age rating is at most this one (g, pg, pg_13, r, r+, rx, in
  // that order); empty: no bound. An item whose rating is unknown is dropped when it is
  // set: a parent's bound fails closed.
  std::string max_age_rating;
};

// How a listing of a collection's items is ordered (Engine::ListItems, Client::ListItems).
enum class ItemOrder : int {
  kScore = 0,      // MyAnimeList's mean score
  kMembers = 1,    // popularity: MAL members
  kStartDate = 2,  // when it started
};

struct ListRequest {
  FilterSpec filter;
  ItemOrder order = ItemOrder::kScore;
  // Descending by default: the best, most popular, newest first. Items whose key is
  // unknown (no score, no start date) come last either way.
  bool ascending = false;
  int page_size = 0;       // 0: the server's default (20)
  std::string page_token;  // empty: the first page
};

}  // namespace simsearch
