// Hubs capped: precomputed "more like this" lists in which no item takes more than a
// share of the first ranks of all lists (docs/MODELS.md, "Hubs and rare anime").
//
// A few items near the centre of a space are everybody's nearest neighbour (hubness,
// Radovanovic et al. 2010): in ncf, one anime sat in 24 % of all top-10 lists. Here the
// lists are filled rank by rank: in each round every list takes its best remaining
// candidate that is not yet in `limit` = floor(share x lists) lists, the lists whose
// candidate scores highest claiming first; a list whose candidates run out stays
// shorter (the engine fills a short list from the search). Every rank is capped, not
// only the first ten, so that a list a filter thins out draws on capped ranks too. Each
// entry keeps its own score, so every list stays in descending order.
#pragma once

#include <cstdint>
#include <vector>

namespace simsearch {

struct HubCap {
  double share = 0.03;  // no item in more than this share of the lists
};

// `rows` / `scores`: count x depth candidate lists (Engine::ComputeItemNeighbours'
// layout; kNoNeighbours first: no list, kept so), best first. Returns count x k lists
// in the same layout (k <= depth), unused slots kNoNeighbours with score 0 (only when a
// list's candidates run out). `capped_items` counts the items the cap held back at
// least once.
void CapHubs(const std::vector<uint32_t>& rows, const std::vector<float>& scores, uint64_t count,
             int depth, int k, const HubCap& cap, std::vector<uint32_t>* out_rows,
             std::vector<float>* out_scores, uint64_t* capped_items);

}  // namespace simsearch
