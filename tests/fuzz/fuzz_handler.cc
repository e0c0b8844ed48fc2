// The Lambda handler on arbitrary events: it must answer every input with a proxy
// response (JSON with statusCode 200-599), never crash or throw.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>

#include "lambda/handler.h"

namespace simsearch::lambda {
namespace {

// Answers every call; a title lookup finds "Cowboy Bebop" for titles starting with 'c'.
class FakeBackend final : public SearchBackend {
 public:
  absl::StatusOr<std::vector<ClientHit>> Search(const SearchQuery& q,
                                                const SearchOptions& o) const override {
    if (o.collection == "down") return absl::UnavailableError("engine at 10.0.0.1:50051 down");
    std::vector<ClientHit> hits;
    for (int i = 0; i < o.top_k.value_or(10) && i < 3; ++i) {
      ClientHit h;
      h.id = i + 1;
      h.score = 1.0f / static_cast<float>(i + 1);
      h.item.id = h.id;
      h.item.title = q.text.empty() ? "Trigun" : q.text;  // echoes input into the answer
      hits.push_back(h);
    }
    return hits;
  }
  absl::StatusOr<TitleLookup> LookupTitle(const std::string&, const std::string& query, int,
                                          absl::Time) const override {
    TitleLookup out;
    if (!query.empty() && (query[0] == 'c' || query[0] == 'C')) {
      TitleCandidate t;
      t.item.id = 1;
      t.item.title = "Cowboy Bebop";
      t.score = query.size() > 5 ? 1.0f : 0.5f;
      t.matched_title = "Cowboy Bebop";
      out.matches.push_back(t);
    }
    if (!query.empty() && (query[0] == 'o' || query[0] == 'O')) {  // a title held elsewhere
      TitleCandidate t;
      t.item.id = 21;
      t.score = 1.0f;
      t.matched_title = query;
      out.better_elsewhere = t;
      out.better_elsewhere_in = {"genres"};
    }
    return out;
  }
  absl::StatusOr<std::vector<ItemRecord>> GetItems(const std::string&,
                                                   const std::vector<int64_t>& ids,
                                                   absl::Time) const override {
    if (ids.empty() || ids[0] < 0) return absl::NotFoundError("no such item");
    ItemRecord r;
    r.item.id = ids[0];
    return std::vector<ItemRecord>{r};
  }
  absl::StatusOr<std::vector<CollectionItems>> GetItemsIn(const std::vector<std::string>& cs,
                                                          const std::vector<int64_t>& ids,
                                                          absl::Time) const override {
    std::vector<CollectionItems> out;
    for (const std::string& c : cs) {
      if (c == "down") return absl::UnavailableError("engine at 10.0.0.1:50051 down");
      CollectionItems& o = out.emplace_back();
      o.collection = c;
      for (int64_t id : ids) {
        if (id < 0) {
          o.missing_ids.push_back(id);
        } else {
          ItemRecord r;
          r.item.id = id;
          o.items.push_back(r);
        }
      }
    }
    return out;
  }
  absl::StatusOr<std::vector<CollectionInfo>> ListCollections(absl::Time) const override {
    return std::vector<CollectionInfo>{};
  }
  absl::StatusOr<CollectionInfo> DescribeCollection(const std::string& c,
                                                    absl::Time) const override {
    if (c == "down") return absl::UnavailableError("engine at 10.0.0.1:50051 down");
    CollectionInfo i;
    i.name = c;
    i.genres = {"Action", "Comedy"};
    i.types = {"TV"};
    return i;
  }
  absl::StatusOr<ItemPage> ListItems(const std::string& c, const ListRequest& r,
                                     absl::Time) const override {
    if (c == "down") return absl::UnavailableError("engine at 10.0.0.1:50051 down");
    ItemPage page;
    for (int i = 0; i < std::min(r.page_size > 0 ? r.page_size : 20, 3); ++i) {
      Item it;
      it.id = i + 1;
      it.title = r.page_token;  // echoes input into the answer
      page.items.push_back(it);
    }
    page.total = 3;
    return page;
  }
  std::string Describe() const override { return "fake"; }
};

}  // namespace
}  // namespace simsearch::lambda

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simsearch::lambda;
  static const FakeBackend backend;
  const std::string event(reinterpret_cast<const char*>(data), size);
  std::string detail;
  const std::string out = HandleEvent(event, Invocation{}, backend, HandlerOptions{}, &detail);
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("statusCode") ||
      !j["statusCode"].is_number_integer()) {
    std::abort();  // every input gets a proxy response
  }
  const int status = j["statusCode"].get<int>();
  if (status < 200 || status > 599) std::abort();
  return 0;
}
