// "A story like this": precomputed "more like this" lists fused from several signals at
// build time, for a collection of story embeddings (synopsis). docs/MODELS.md, "A story
// like this", has the judged comparison that chose the signals and default weights.
//
// For an item, each signal ranks candidates:
//   embedding  the collection's own exact item query (its story vectors), top `depth`;
//   words      BM25 over the collection's lexical index, the item's titles and synopsis
//              as the query (names, places, the rare words of a plot), top `depth`;
//   viewers    "viewers also watched": another collection's list for the same anime
//              (ncf's precomputed neighbours, or its exact item query), top `depth`;
//   genres     overlap of the two items' genre labels (every candidate above): every
//              catalogue source's genres and themes (Item::labels) when given, else the
//              bundle's genres; a label weighs its rarity, log(anime / anime with it),
//              when the weights are given: sum over shared labels / sum over either's
//              (plain Jaccard when every weight is 1).
// Each list's scores are min-max scaled to [0, 1] (1 for a list of one score), a
// candidate missing from a list gets 0 there, and the fused score is the weighted sum.
// The top k by fused score (ties: lower row) are stored, with their fused scores.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace simsearch {

class Collection;

struct StoryWeights {
  // The default, chosen on half of a blind-judged pool of 38 query anime and checked on
  // the other half (docs/MODELS.md, "A story like this"): the overlap of every source's
  // genre and theme labels, the rare ones weighing most, carries most of a fan's sense
  // of "a story like this"; the embedding and the viewers order within it. The words
  // (BM25) did not help there.
  float embedding = 0.1f;
  float words = 0.0f;
  float viewers = 0.1f;
  float genres = 0.8f;
};

struct StoryOptions {
  StoryWeights weights;
  // The viewers' collection: ROOT/NAME (its CURRENT version) or a version directory.
  // Empty: no viewer signal (its weight must then be 0).
  std::string viewers;
  int depth = 200;  // candidates per ranked signal (at least the list length k)
  // The genre overlap weighs each label by its rarity (indexer/story.h, "genres").
  bool weigh_rarity = true;
};

// "embedding=0.2,words=0.1,viewers=0.1,genres=0.6": any subset, each a finite weight
// >= 0, not all 0. InvalidArgument naming the part that is wrong.
absl::StatusOr<StoryWeights> ParseStoryWeights(absl::string_view spec);

// One candidate of one signal: a row of the collection and that signal's score.
struct StoryCandidate {
  uint32_t row;
  float score;
};

// Fuses one item's signals (pure; see the header comment): `embedding`, `words` and
// `viewers` in any order (`self` and duplicates are ignored), `genre_overlap(row)` the
// Jaccard overlap with the item. Best first, at most k.
std::vector<StoryCandidate> FuseStory(uint32_t self, const std::vector<StoryCandidate>& embedding,
                                      const std::vector<StoryCandidate>& words,
                                      const std::vector<StoryCandidate>& viewers,
                                      const std::function<float(uint32_t)>& genre_overlap,
                                      const StoryWeights& weights, size_t k);

// Every item's fused top k for `c` (a staged bundle with item metadata; a lexical index
// and item synopses when words > 0), row-major count x k, as Engine::
// ComputeItemNeighbours writes them (an item whose own vector cannot query gets
// kNoNeighbours first). `labels`: each row's genre labels as sorted ids (nullptr: the
// bundle's genres), `label_weights` by label id (nullptr: 1 each). `description` says
// how, for the manifest.
absl::Status ComputeStoryNeighbours(const Collection& c, const StoryOptions& options, int k,
                                    int threads, const std::vector<std::vector<uint32_t>>* labels,
                                    const std::vector<double>* label_weights,
                                    const std::function<void(double)>& progress,
                                    std::vector<uint32_t>* rows, std::vector<float>* scores,
                                    std::string* description);

// Opens the viewers' collection as ComputeStoryNeighbours will (for checks before a
// build writes anything): NotFound / DataLoss naming the path.
absl::Status CheckStoryViewers(const std::string& path);

}  // namespace simsearch
