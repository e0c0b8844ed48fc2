// Search requests as plain values, shared by the engine, the client and the Lambda
// adapter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace simsearch {

// One query. Exactly one kind is set.
struct SearchQuery {
  enum class Kind { kUnset, kVector, kItem, kItems, kUser, kText };
  Kind kind = Kind::kUnset;
  std::vector<float> vector;          // kVector: length = the collection's dims
  int64_t item_id = 0;                // kItem: "more like this"; the item is excluded
  std::vector<int64_t> positive_ids;  // kItems: liked (at least one); excluded
  std::vector<int64_t> negative_ids;  // kItems: disliked; excluded
  float negative_weight = 1.0f;       // kItems: query = mean(pos) - w * mean(neg), w in (0, 1]
  int64_t user_id = 0;                // kUser: a known user's vector; their items excluded
  std::string text;                   // kText: free text, encoded by the collection's encoder

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

// What a search may return. Empty members impose no condition.
struct FilterSpec {
  std::vector<int64_t> exclude_ids;          // ids never returned (unknown ids are ignored)
  std::vector<std::string> genres;           // keep items with any of these (case-insensitive)
  std::vector<std::string> types;            // keep items of any of these types (case-insensitive)
  std::vector<std::string> exclude_genres;   // drop items with any of these (unknown: ignored)
  std::vector<std::string> exclude_types;    // drop items of these types (unknown: ignored)
};

}  // namespace simsearch
