#include "server/search_batcher.h"

namespace simsearch {

bool Batchable(const v1::SearchRequest& req) {
  // A page is cut from its own search (engine/paging.h): pages run alone.
  if (req.page_size() != 0 || !req.page_token().empty()) return false;
  return req.has_query() && (req.query().kind_case() == v1::Query::kItemId ||
                             req.query().kind_case() == v1::Query::kVector);
}

bool SameSearch(const v1::SearchRequest& a, const v1::SearchRequest& b) {
  if (a.collection() != b.collection() || a.has_top_k() != b.has_top_k() || a.top_k() != b.top_k())
    return false;
  if (a.params().SerializeAsString() != b.params().SerializeAsString()) return false;
  const bool fa = a.has_filter() && a.filter().ByteSizeLong() > 0,
             fb = b.has_filter() && b.filter().ByteSizeLong() > 0;
  if (!fa || !fb) return fa == fb;
  return a.filter().SerializeAsString() == b.filter().SerializeAsString();
}

std::vector<std::vector<size_t>> GroupSearches(const std::vector<const v1::SearchRequest*>& reqs,
                                               const std::vector<char>& alone) {
  std::vector<std::vector<size_t>> groups;
  std::vector<char> placed(reqs.size(), 0);
  for (size_t i = 0; i < reqs.size(); ++i) {
    if (placed[i]) continue;
    placed[i] = 1;
    groups.push_back({i});
    if (alone[i]) continue;
    for (size_t j = i + 1; j < reqs.size(); ++j) {
      if (!placed[j] && !alone[j] && SameSearch(*reqs[i], *reqs[j])) {
        groups.back().push_back(j);
        placed[j] = 1;
      }
    }
  }
  return groups;
}

}  // namespace simsearch
