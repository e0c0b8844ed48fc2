// Pages of one search (AIP-158): a search with a page size answers one page of its
// ranking and a token for the next. Every page of a sequence is cut from the same ranking,
// the search of depth top_k (max_k when unset), so the pages concatenate to the unpaged
// answer of that depth on every index kind; each page costs a search of that depth.
//
// The token is opaque to callers. It holds the collection version that answered the
// first page, a fingerprint of the request (query, filter, depth, params: not the page
// size, which may change from page to page) and how many hits were served before it.
// A token used with another request is INVALID_ARGUMENT (PAGE_TOKEN_INVALID); a token
// from before a reload of the collection is FAILED_PRECONDITION (PAGE_TOKEN_EXPIRED): the
// ranking changed, so the caller starts again from the first page. The fingerprint is
// stable across processes: any replica of the same version continues a sequence.
#ifndef SIMSEARCH_ENGINE_PAGING_H_
#define SIMSEARCH_ENGINE_PAGING_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/query.h"

namespace simsearch {

struct PageToken {
  std::string version;       // the collection version of the first page
  uint64_t fingerprint = 0;  // PageFingerprint of the request
  int64_t offset = 0;        // hits served before this page
};

std::string EncodePageToken(const PageToken& token);

// INVALID_ARGUMENT (reason PAGE_TOKEN_INVALID, field page_token) for anything
// EncodePageToken did not make.
absl::StatusOr<PageToken> DecodePageToken(absl::string_view text);

// A hash (64-bit FNV-1a, the same in every process) of what makes a search's ranking:
// the collection's name, the query, the depth, the filter and the knobs except the page.
uint64_t PageFingerprint(absl::string_view collection, const SearchQuery& query, int depth,
                         const FilterSpec& filter, const SearchKnobs& knobs);

// The same for a listing (Engine::ListItems): what makes its order.
uint64_t ListFingerprint(absl::string_view collection, const FilterSpec& filter, int order,
                         bool ascending);

}  // namespace simsearch

#endif  // SIMSEARCH_ENGINE_PAGING_H_
