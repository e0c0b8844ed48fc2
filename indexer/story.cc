#include "indexer/story.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <filesystem>
#include <limits>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/bundle.h"
#include "core/status_macros.h"
#include "engine/collection.h"
#include "engine/engine.h"
#include "retrieval/lexical.h"

namespace simsearch {
namespace fs = std::filesystem;
namespace {

// The version directory `path` names: itself when it holds a manifest, else the
// version its CURRENT file names (`path` a collection directory).
absl::StatusOr<std::string> VersionDir(const std::string& path) {
  std::error_code ec;
  if (fs::exists(fs::path(path) / kManifestFile, ec)) return path;
  if (!fs::exists(fs::path(path) / kCurrentFile, ec)) {
    return absl::NotFoundError(
        absl::StrCat("--story-viewers ", path, ": neither a bundle version (no ", kManifestFile,
                     ") nor a collection directory (no ", kCurrentFile, ")"));
  }
  SIMSEARCH_ASSIGN_OR_RETURN(std::string version, ReadCurrentVersion(path));
  return (fs::path(path) / version).string();
}

absl::StatusOr<std::unique_ptr<Collection>> OpenViewers(const std::string& path) {
  SIMSEARCH_ASSIGN_OR_RETURN(std::string dir, VersionDir(path));
  auto c = Collection::Open(dir, CollectionOptions{VerifyMode::kSizes});
  if (!c.ok())
    return absl::Status(c.status().code(), absl::StrCat("--story-viewers: ", c.status().message()));
  return c;
}

// Scales a list's scores to [0, 1] by its own minimum and maximum (1 when they agree),
// `self` left out.
void AddScaled(const std::vector<StoryCandidate>& list, uint32_t self, float weight,
               absl::flat_hash_map<uint32_t, float>* fused) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (const StoryCandidate& c : list) {
    if (c.row != self) lo = std::min(lo, c.score), hi = std::max(hi, c.score);
  }
  absl::flat_hash_map<uint32_t, float> best;  // a row listed twice counts once, at its best
  for (const StoryCandidate& c : list) {
    if (c.row == self) continue;
    const float x = hi > lo ? (c.score - lo) / (hi - lo) : 1.0f;
    auto [it, added] = best.try_emplace(c.row, x);
    if (!added) it->second = std::max(it->second, x);
  }
  for (const auto& [row, x] : best) (*fused)[row] += weight * x;
}

}  // namespace

absl::StatusOr<StoryWeights> ParseStoryWeights(absl::string_view spec) {
  StoryWeights w{0, 0, 0, 0};
  if (absl::StripAsciiWhitespace(spec).empty()) {
    return absl::InvalidArgumentError(
        "--story-weights is empty; e.g. embedding=0.2,words=0.1,viewers=0.1,genres=0.6");
  }
  for (absl::string_view part : absl::StrSplit(spec, ',')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    const absl::string_view name = absl::StripAsciiWhitespace(kv.first);
    float* out = name == "embedding" ? &w.embedding
                 : name == "words"   ? &w.words
                 : name == "viewers" ? &w.viewers
                 : name == "genres"  ? &w.genres
                                     : nullptr;
    if (out == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--story-weights: unknown signal '", name,
                       "'; the signals are embedding, words, viewers, genres"));
    }
    float x;
    if (!absl::SimpleAtof(absl::StripAsciiWhitespace(kv.second), &x) || !std::isfinite(x) ||
        x < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--story-weights: ", name, " must be a number >= 0, got '", kv.second, "'"));
    }
    *out = x;
  }
  if (w.embedding + w.words + w.viewers + w.genres <= 0) {
    return absl::InvalidArgumentError(
        "--story-weights: every weight is 0; give at least one signal a weight");
  }
  return w;
}

std::vector<StoryCandidate> FuseStory(uint32_t self, const std::vector<StoryCandidate>& embedding,
                                      const std::vector<StoryCandidate>& words,
                                      const std::vector<StoryCandidate>& viewers,
                                      const std::function<float(uint32_t)>& genre_overlap,
                                      const StoryWeights& weights, size_t k) {
  absl::flat_hash_map<uint32_t, float> fused;
  // Every candidate of any list is scored, even by a signal of weight 0 elsewhere.
  for (const auto* list : {&embedding, &words, &viewers}) {
    for (const StoryCandidate& c : *list) {
      if (c.row != self) fused.try_emplace(c.row, 0.0f);
    }
  }
  AddScaled(embedding, self, weights.embedding, &fused);
  AddScaled(words, self, weights.words, &fused);
  AddScaled(viewers, self, weights.viewers, &fused);
  std::vector<StoryCandidate> out;
  out.reserve(fused.size());
  for (auto& [row, score] : fused) {
    if (weights.genres > 0) score += weights.genres * genre_overlap(row);
    out.push_back({row, score});
  }
  auto better = [](const StoryCandidate& a, const StoryCandidate& b) {
    return a.score > b.score || (a.score == b.score && a.row < b.row);
  };
  const size_t keep = std::min(k, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<long>(keep), out.end(), better);
  out.resize(keep);
  return out;
}

absl::Status CheckStoryViewers(const std::string& path) {
  return OpenViewers(path).status();
}

namespace {

// Checks ComputeStoryNeighbours's arguments: a list length below the count, and what
// each weighed signal needs.
absl::Status CheckStoryInputs(const Collection& c, const StoryOptions& o, int k,
                              const std::vector<std::vector<uint32_t>>* labels) {
  const uint64_t n = c.count();
  const StoryWeights& w = o.weights;
  if (k < 1 || static_cast<uint64_t>(k) >= n) {
    return absl::InvalidArgumentError(
        absl::StrCat("neighbours: k must be in 1..", n - 1, ", got ", k));
  }
  if (labels != nullptr && labels->size() != n) {
    return absl::InternalError(
        absl::StrCat("story: ", labels->size(), " label sets for ", n, " rows"));
  }
  if (c.item_store() == nullptr && labels == nullptr && w.genres > 0) {
    return absl::FailedPreconditionError("--story-neighbours weighs genres: build with --catalog");
  }
  if (w.words > 0 && c.lexical() == nullptr) {
    return absl::FailedPreconditionError(
        "--story-neighbours weighs words: build with --lexical and --item-synopses");
  }
  if (w.viewers > 0 && o.viewers.empty()) {
    return absl::InvalidArgumentError(
        "--story-neighbours weighs viewers: name their collection with --story-viewers");
  }
  return absl::OkStatus();
}

// The viewers' lists of `v`, row-major v.count() x *vk: its precomputed neighbours, or
// else its exact item query's top `depth`.
absl::Status ViewerNeighbours(const Engine& engine, const Collection& v, int depth, int threads,
                              std::vector<uint32_t>* rows, std::vector<float>* scores,
                              uint64_t* vk) {
  *vk = v.neighbours_k();
  if (*vk > 0) {
    rows->assign(v.neighbour_rows(0), v.neighbour_rows(0) + v.count() * *vk);
    scores->assign(v.neighbour_scores(0), v.neighbour_scores(0) + v.count() * *vk);
    return absl::OkStatus();
  }
  *vk = std::min<uint64_t>(static_cast<uint64_t>(depth), v.count() - 1);
  return engine.ComputeItemNeighbours(v, static_cast<int>(*vk), threads, nullptr, rows, scores);
}

// The viewers: the lists of the collection at `path` for the same anime, as rows of `c`
// (`lists`, by row of `c`, at most `depth` each). Returns what they are, for the
// description.
absl::StatusOr<std::string> ReadViewerLists(const Collection& c, const std::string& path, int depth,
                                            int threads, const Engine& engine,
                                            std::vector<std::vector<StoryCandidate>>* lists) {
  SIMSEARCH_ASSIGN_OR_RETURN(std::unique_ptr<Collection> v, OpenViewers(path));
  std::vector<uint32_t> v_rows;
  std::vector<float> v_scores;
  uint64_t vk;
  SIMSEARCH_RETURN_IF_ERROR(ViewerNeighbours(engine, *v, depth, threads, &v_rows, &v_scores, &vk));
  const uint64_t n = c.count();
  uint64_t matched = 0;
  for (uint64_t row = 0; row < n; ++row) {
    auto vr = v->RowOf(c.id(static_cast<uint32_t>(row)));
    if (!vr.ok()) continue;
    ++matched;
    for (uint64_t j = 0; j < vk && j < static_cast<uint64_t>(depth); ++j) {
      const uint32_t other = v_rows[*vr * vk + j];
      if (other >= v->count()) break;  // no list, or the end of a short one
      auto mine = c.RowOf(v->id(other));
      if (mine.ok()) (*lists)[row].push_back({*mine, v_scores[*vr * vk + j]});
    }
  }
  return absl::StrCat("viewers: ", v->name(), " ", v->version(), "'s lists (", matched, " of ", n,
                      " anime held there)");
}

// The overlap of two sorted label sets: the weight of the labels in both over that of
// the labels in either (`label_weights` by label id; nullptr: 1 each).
float LabelOverlap(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b,
                   const std::vector<double>* label_weights) {
  auto weight = [&](uint32_t l) { return label_weights != nullptr ? (*label_weights)[l] : 1.0; };
  size_t i = 0, j = 0;
  double both = 0, either = 0;
  while (i < a.size() || j < b.size()) {  // a merge
    if (j == b.size() || (i < a.size() && a[i] < b[j])) {
      either += weight(a[i++]);
    } else if (i == a.size() || b[j] < a[i]) {
      either += weight(b[j++]);
    } else {
      both += weight(a[i]);
      either += weight(a[i]);
      ++i, ++j;
    }
  }
  return either > 0 ? static_cast<float>(both / either) : 0.0f;
}

// Every item's signals, read by the threads that fuse them.
struct StorySignals {
  const Collection& c;
  int depth;
  // The embedding: the collection's own exact item query, as for exact lists
  // (Engine::ComputeItemNeighbours, row-major count x depth).
  std::vector<uint32_t> emb_rows;
  std::vector<float> emb_scores;
  std::vector<std::vector<StoryCandidate>> viewers;  // by row
  const LexicalIndex* lexical;                       // nullptr: words not weighed
  const ItemStore* items;                            // the bundle's genres, or nullptr
  const std::vector<std::vector<uint32_t>>* labels;  // nullptr: the bundle's genres
  const std::vector<double>* label_weights;

  // The embedding's list for `self`; false when the item has no valid query.
  bool Embedding(uint32_t self, std::vector<StoryCandidate>* out) const {
    const uint32_t* er = emb_rows.data() + self * static_cast<uint64_t>(depth);
    const float* es = emb_scores.data() + self * static_cast<uint64_t>(depth);
    if (er[0] == Engine::kNoNeighbours) return false;
    out->clear();
    for (int j = 0; j < depth; ++j) out->push_back({er[j], es[j]});
    return true;
  }

  // The words' list for `self`: BM25 with its titles and synopsis as the query.
  void Words(uint32_t self, std::vector<StoryCandidate>* out) const {
    out->clear();
    if (lexical == nullptr) return;
    const ItemView it = c.item(self);
    const std::string text = absl::StrCat(it.title(), " ", it.english_title(), " ", it.synopsis());
    for (const LexicalHit& h : lexical->Search(text, static_cast<size_t>(depth) + 1,
                                               [self](uint32_t r) { return r != self; })) {
      out->push_back({h.row, h.score});
    }
  }

  // The genre overlap of `self` and `other`: of their labels, or else of the bundle's
  // genres (0 without either).
  float GenreOverlap(uint32_t self, uint32_t other) const {
    if (labels != nullptr) return LabelOverlap((*labels)[self], (*labels)[other], label_weights);
    if (items == nullptr) return 0.0f;
    const uint64_t* mine = items->genre_bits(self);
    if (mine == nullptr) return 0.0f;
    const uint64_t* theirs = items->genre_bits(other);
    int both = 0, either = 0;
    for (size_t i = 0; i < items->genre_words(); ++i) {
      both += std::popcount(mine[i] & theirs[i]);
      either += std::popcount(mine[i] | theirs[i]);
    }
    return either > 0 ? static_cast<float>(both) / static_cast<float>(either) : 0.0f;
  }
};

// How the lists were made, for the manifest.
std::string StoryDescription(const StoryWeights& w, int depth, const std::string& viewers_said,
                             const std::vector<std::vector<uint32_t>>* labels,
                             const std::vector<double>* label_weights) {
  return absl::StrFormat(
      "story: %.2f x embedding (exact top %d) + %.2f x words (BM25 of titles and synopsis, top %d) "
      "+ %.2f x "
      "viewers (%s) + %.2f x genre overlap (Jaccard of %s), each list min-max scaled "
      "(indexer/story.h)",
      w.embedding, depth, w.words, depth, w.viewers, viewers_said, w.genres,
      labels == nullptr          ? "the bundle's genres"
      : label_weights != nullptr ? "every catalogue source's genre and theme labels, each weighing "
                                   "log(anime / anime with it)"
                                 : "every catalogue source's genre and theme labels");
}

}  // namespace

absl::Status ComputeStoryNeighbours(const Collection& c, const StoryOptions& o, int k, int threads,
                                    const std::vector<std::vector<uint32_t>>* labels,
                                    const std::vector<double>* label_weights,
                                    const std::function<void(double)>& progress,
                                    std::vector<uint32_t>* rows, std::vector<float>* scores,
                                    std::string* description) {
  SIMSEARCH_RETURN_IF_ERROR(CheckStoryInputs(c, o, k, labels));
  const uint64_t n = c.count();
  const StoryWeights& w = o.weights;
  const int depth = static_cast<int>(std::min<uint64_t>(std::max(o.depth, k), n - 1));
  auto report = [&](double f) {
    if (progress) progress(f);
  };
  StorySignals s{.c = c,
                 .depth = depth,
                 .emb_rows = {},
                 .emb_scores = {},
                 .viewers = std::vector<std::vector<StoryCandidate>>(n),
                 .lexical = w.words > 0 ? c.lexical() : nullptr,
                 .items = c.item_store(),
                 .labels = labels,
                 .label_weights = label_weights};
  const Engine engine(nullptr, EngineLimits{});
  SIMSEARCH_RETURN_IF_ERROR(engine.ComputeItemNeighbours(
      c, depth, threads, [&](double f) { report(0.5 * f); }, &s.emb_rows, &s.emb_scores));
  std::string viewers_said = "no viewers";
  if (!o.viewers.empty()) {
    SIMSEARCH_ASSIGN_OR_RETURN(viewers_said,
                               ReadViewerLists(c, o.viewers, depth, threads, engine, &s.viewers));
  }

  // Every item's fusion, the words searched here, items split over threads.
  rows->assign(n * static_cast<uint64_t>(k), Engine::kNoNeighbours);
  scores->assign(n * static_cast<uint64_t>(k), 0.0f);
  std::atomic<uint64_t> next{0}, done{0};
  auto work = [&](bool reporter) {
    std::vector<StoryCandidate> embedding, words;
    for (uint64_t row = next++; row < n; row = next++) {
      const uint32_t self = static_cast<uint32_t>(row);
      if (!s.Embedding(self, &embedding)) {  // no valid query: the search explains why
        ++done;
        continue;
      }
      s.Words(self, &words);
      const std::vector<StoryCandidate> fused = FuseStory(
          self, embedding, words, s.viewers[row],
          [&s, self](uint32_t other) { return s.GenreOverlap(self, other); }, w,
          static_cast<size_t>(k));
      for (size_t j = 0; j < fused.size(); ++j) {
        (*rows)[row * static_cast<uint64_t>(k) + j] = fused[j].row;
        (*scores)[row * static_cast<uint64_t>(k) + j] = fused[j].score;
      }
      const uint64_t d = ++done;
      if (reporter && d % 256 == 0)
        report(0.5 + 0.5 * static_cast<double>(d) / static_cast<double>(n));
    }
  };
  const int t = std::max(1, threads);
  std::vector<std::thread> pool;
  for (int i = 1; i < t; ++i) pool.emplace_back(work, false);
  work(true);  // this thread alone reports progress
  for (std::thread& th : pool) th.join();
  report(1.0);
  *description = StoryDescription(w, depth, viewers_said, labels, label_weights);
  return absl::OkStatus();
}

}  // namespace simsearch
