#include "engine/collection.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/bundle_parts.h"
#include "core/errors.h"
#include "core/quote.h"
#include "core/status_macros.h"
#include "engine/faiss_searcher.h"
#include "engine/hnswlib_searcher.h"

namespace simsearch {
namespace fs = std::filesystem;

bool CompiledFilter::Allows(uint32_t row) const {
  if (!excluded_.empty() && excluded_.contains(row)) return false;
  const Collection& c = *collection_;
  if (exclusions_only()) return true;
  if (!franchises_.empty() || !exclude_franchises_.empty()) {
    const int64_t id = c.id(row);
    const int64_t franchise = c.items_.has_value() ? c.items_->view(row).franchise(id) : id;
    if (!franchises_.empty() && !franchises_.contains(franchise)) return false;
    if (exclude_franchises_.contains(franchise)) return false;
  }
  if (!c.items_.has_value()) return true;  // the other conditions need metadata (CompileFilter)
  const ItemStore& items = *c.items_;
  const ContentLevel level = items.content(row);
  if (level > max_content_ || level < min_content_) return false;
  const uint16_t type = items.type_index(row);
  if (!type_allowed_.empty() && (type >= type_allowed_.size() || !type_allowed_[type]))
    return false;
  if (!type_excluded_.empty() && type < type_excluded_.size() && type_excluded_[type]) return false;
  if (min_members_ > 0 && items.members(row) < min_members_) return false;
  if (max_age_ > 0) {
    const int64_t age = items.age_code(row);
    if (age <= 0 || age > max_age_) return false;  // unknown fails closed
  }
  if (min_start_ != 0 || max_start_ != 0 || season_mask_ != 0) {
    const int64_t start = items.start_code(row);
    if (start <= 0) return false;  // unknown: not in any year or season asked for
    if (min_start_ != 0 && start < min_start_) return false;
    if (max_start_ != 0 && start > max_start_) return false;
    if (season_mask_ != 0 && (season_mask_ & (1u << SeasonOfStart(start))) == 0) return false;
  }
  const size_t words = items.genre_words();
  if (!genre_exclude_mask_.empty()) {
    const uint64_t* g = items.genre_bits(row);
    for (size_t w = 0; w < words; ++w) {
      if (g[w] & genre_exclude_mask_[w]) return false;
    }
  }
  if (!genre_mask_.empty()) {
    const uint64_t* g = items.genre_bits(row);
    for (size_t w = 0; w < words; ++w) {
      if (g[w] & genre_mask_[w]) return true;
    }
    return false;
  }
  return true;
}

// Each part of a bundle (core/bundle_parts.h) and how this class opens and checks it,
// in the order Open opens them: the cheap checks first, the ANN index (a full read of
// index.faiss, or a walk of the hnswlib graph) last; the users before fold_in, whose
// prior is their mean.
struct Collection::PartOpener {
  const char* key;  // BundlePart::key
  absl::Status (Collection::*open)(const CollectionOptions& options);
};

absl::Span<const Collection::PartOpener> Collection::PartOpeners() {
  static const PartOpener kOpeners[] = {
      {"has_query_vectors", &Collection::OpenQueryVectors},
      {"scan", &Collection::OpenScan},
      {"user_count", &Collection::OpenUsers},
      {"has_items", &Collection::OpenItemsJson},
      {"item_store", &Collection::OpenItemStore},
      {"encoder", &Collection::OpenEncoder},
      {"similar", &Collection::OpenSimilar},
      {"neighbours", &Collection::OpenNeighbours},
      {"provenance", &Collection::OpenProvenance},
      {"fold_in", &Collection::OpenFoldIn},
      {"lexical", &Collection::OpenLexical},
      {"index", &Collection::OpenAnn},
  };
  return kOpeners;
}

bool Collection::OpensPart(absl::string_view key) {
  for (const PartOpener& o : PartOpeners()) {
    if (key == o.key) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<Collection>> Collection::Open(const std::string& version_dir,
                                                             const CollectionOptions& options) {
  std::unique_ptr<Collection> c(new Collection());
  c->dir_ = version_dir;
  c->version_ = fs::path(version_dir).filename().string();
  SIMSEARCH_ASSIGN_OR_RETURN(c->manifest_, ReadVerifiedManifest(version_dir, options.verify));
  for (const BundlePart& part : BundleParts()) {
    if (part.present(c->manifest_) && !OpensPart(part.key)) {
      return absl::InternalError(absl::StrCat("no opener for bundle part '", part.key,
                                              "' (engine/collection.cc, PartOpeners)"));
    }
  }
  SIMSEARCH_RETURN_IF_ERROR(c->OpenBase());
  for (const PartOpener& opener : PartOpeners()) {
    const BundlePart* part = FindBundlePart(opener.key);
    if (part == nullptr) {
      return absl::InternalError(absl::StrCat("opener for unknown bundle part '", opener.key,
                                              "' (engine/collection.cc, PartOpeners)"));
    }
    if (part->present(c->manifest_)) {
      SIMSEARCH_RETURN_IF_ERROR((c.get()->*(opener.open))(options));
    }
  }
  c->loaded_at_ = absl::Now();
  return c;
}

std::string Collection::PathOf(const char* file) const {
  return (fs::path(dir_) / file).string();
}

absl::Status Collection::OpenBase() {
  const Manifest& m = manifest_;
  SIMSEARCH_ASSIGN_OR_RETURN(vectors_,
                             MappedArray::Open(PathOf(kVectorsFile), ArrayDType::kFloat32));
  SIMSEARCH_ASSIGN_OR_RETURN(ids_, MappedArray::Open(PathOf(kIdsFile), ArrayDType::kInt64));
  if (vectors_.count() != m.count || vectors_.dims() != m.dims) {
    return absl::DataLossError(absl::StrCat(PathOf(kVectorsFile), ": holds ", vectors_.count(),
                                            " x ", vectors_.dims(), ", the manifest says ", m.count,
                                            " x ", m.dims));
  }
  if (ids_.count() != m.count) {
    return absl::DataLossError(absl::StrCat(PathOf(kIdsFile), ": holds ", ids_.count(),
                                            " ids, the manifest says ", m.count));
  }
  if (m.count == 0 || m.count > UINT32_MAX) {
    return absl::DataLossError(absl::StrCat(dir_, ": unsupported item count ", m.count));
  }
  // Rows are sorted by id (docs/FORMAT.md), so RowOf is a binary search over the
  // mapped ids: no table to build at open. Checking the order also rules out
  // duplicate ids.
  const int64_t* ids = ids_.int64s();
  for (uint64_t row = 1; row < m.count; ++row) {
    if (ids[row] <= ids[row - 1]) {
      return absl::DataLossError(absl::StrCat(
          PathOf(kIdsFile), ": ids are not strictly ascending at row ", row, " (", ids[row - 1],
          " then ", ids[row], "); rebuild the bundle with simsearch-indexer"));
    }
  }
  exact_ = std::make_unique<ExactSearcher>(vectors_.floats(), m.count, m.dims);
  return absl::OkStatus();
}

absl::Status Collection::OpenAnn(const CollectionOptions&) {
  const Manifest& m = manifest_;
  if (m.ann_library == "hnswlib") {
    SIMSEARCH_ASSIGN_OR_RETURN(
        ann_, HnswlibSearcher::Open(PathOf(kHnswlibIndexFile), m.index_params, m.dims, m.count));
  } else {
    SIMSEARCH_ASSIGN_OR_RETURN(ann_, FaissSearcher::Open(PathOf(kFaissIndexFile), m.index_kind,
                                                         m.index_params, m.dims, m.count));
  }
  return absl::OkStatus();
}

// A matrix file of the bundle that must be `count` x `dims`.
absl::StatusOr<MappedArray> Collection::OpenMatrix(const char* file, ArrayDType dtype,
                                                   uint64_t count, uint64_t dims,
                                                   absl::string_view mismatch) const {
  SIMSEARCH_ASSIGN_OR_RETURN(MappedArray a, MappedArray::Open(PathOf(file), dtype));
  if (a.count() != count || a.dims() != dims) {
    return absl::DataLossError(absl::StrCat(PathOf(file), ": ", mismatch));
  }
  return a;
}

absl::Status Collection::OpenQueryVectors(const CollectionOptions&) {
  const Manifest& m = manifest_;
  SIMSEARCH_ASSIGN_OR_RETURN(query_vectors_,
                             OpenMatrix(kQueryVectorsFile, ArrayDType::kFloat32, m.count, m.dims,
                                        absl::StrCat("shape does not match ", kVectorsFile)));
  has_query_vectors_ = true;
  return absl::OkStatus();
}

absl::Status Collection::OpenScan(const CollectionOptions&) {
  const Manifest& m = manifest_;
  SIMSEARCH_ASSIGN_OR_RETURN(half_vectors_,
                             OpenMatrix(kHalfVectorsFile, ArrayDType::kFloat16, m.count, m.dims,
                                        absl::StrCat("shape does not match ", kVectorsFile)));
  half_scan_ = std::make_unique<HalfScanSearcher>(vectors_.floats(), half_vectors_.halves(),
                                                  m.count, m.dims, m.scan_rescore);
  return absl::OkStatus();
}

absl::Status Collection::OpenSimilar(const CollectionOptions&) {
  const Manifest& m = manifest_;
  SIMSEARCH_ASSIGN_OR_RETURN(similar_vectors_,
                             OpenMatrix(kSimilarVectorsFile, ArrayDType::kFloat32, m.count, m.dims,
                                        absl::StrCat("shape does not match ", kVectorsFile)));
  similar_exact_ = std::make_unique<ExactSearcher>(similar_vectors_.floats(), m.count, m.dims);
  return absl::OkStatus();
}

absl::Status Collection::OpenEncoder(const CollectionOptions&) {
  SIMSEARCH_ASSIGN_OR_RETURN(encoder_, text::LoadEncoder(PathOf(kEncoderDir), /*threads=*/1));
  if (static_cast<uint64_t>(encoder_->dims()) != manifest_.dims) {
    return absl::DataLossError(
        absl::StrCat(PathOf(kEncoderDir), ": encoder makes ", encoder_->dims(),
                     "-dimensional vectors, the collection has ", manifest_.dims));
  }
  return absl::OkStatus();
}

absl::Status Collection::OpenNeighbours(const CollectionOptions&) {
  const Manifest& m = manifest_;
  SIMSEARCH_ASSIGN_OR_RETURN(neighbours_,
                             MappedArray::Open(PathOf(kNeighboursFile), ArrayDType::kUInt32));
  SIMSEARCH_ASSIGN_OR_RETURN(neighbour_scores_,
                             MappedArray::Open(PathOf(kNeighbourScoresFile), ArrayDType::kFloat32));
  if (neighbours_.count() != m.count * m.neighbours_k || neighbour_scores_.count() != m.count ||
      neighbour_scores_.dims() != m.neighbours_k) {
    return absl::DataLossError(absl::StrCat(PathOf(kNeighboursFile), " or ", kNeighbourScoresFile,
                                            ": not ", m.count, " x ", m.neighbours_k,
                                            " as the manifest says"));
  }
  return absl::OkStatus();
}

absl::Status Collection::OpenProvenance(const CollectionOptions&) {
  const Manifest& m = manifest_;
  SIMSEARCH_ASSIGN_OR_RETURN(provenance_,
                             OpenMatrix(kItemProvenanceFile, ArrayDType::kInt64, m.count, 2,
                                        absl::StrCat("not ", m.count, " x 2")));
  uint64_t predicted = 0;
  const int64_t* p = provenance_.int64s();
  for (uint64_t r = 0; r < m.count; ++r) {
    if ((p[2 * r] != kVectorLearned && p[2 * r] != kVectorPredicted) || p[2 * r + 1] < 0) {
      return absl::DataLossError(
          absl::StrCat(PathOf(kItemProvenanceFile), ": row ", r, " is not a source and a count"));
    }
    predicted += p[2 * r] == kVectorPredicted;
  }
  if (predicted != m.predicted_vectors) {
    return absl::DataLossError(absl::StrCat(PathOf(kItemProvenanceFile), ": ", predicted,
                                            " predicted vectors, the manifest says ",
                                            m.predicted_vectors));
  }
  return absl::OkStatus();
}

absl::Status Collection::OpenFoldIn(const CollectionOptions&) {
  const Manifest& m = manifest_;
  SIMSEARCH_ASSIGN_OR_RETURN(gram_, OpenMatrix(kGramFile, ArrayDType::kFloat32, m.dims, m.dims,
                                               absl::StrCat("not ", m.dims, " x ", m.dims)));
  if (m.fold_in_prior > 0) {  // the manifest reader checked that the users are there
    std::vector<double> sum(m.dims, 0.0);
    for (uint64_t u = 0; u < m.user_count; ++u) {
      const float* v = user_vector(static_cast<uint32_t>(u));
      for (uint64_t j = 0; j < m.dims; ++j) sum[j] += v[j];
    }
    fold_in_prior_.resize(m.dims);
    for (uint64_t j = 0; j < m.dims; ++j)
      fold_in_prior_[j] = static_cast<float>(sum[j] / static_cast<double>(m.user_count));
  }
  return absl::OkStatus();
}

absl::Status Collection::OpenLexical(const CollectionOptions& options) {
  const Manifest& m = manifest_;
  // The manifest's mean length spares a pass over every row; old bundles lack it.
  SIMSEARCH_ASSIGN_OR_RETURN(
      LexicalIndex lexical, LexicalIndex::Open(dir_, m.count,
                                               m.lexical_average_length > 0
                                                   ? std::optional<double>(m.lexical_average_length)
                                                   : std::nullopt));
  // The O(postings) structure checks go with reading every byte: with --verify sizes
  // a start stays O(1) in the index's size, and searching stays in bounds regardless.
  if (options.verify == VerifyMode::kChecksums) SIMSEARCH_RETURN_IF_ERROR(lexical.Verify());
  lexical_ = std::move(lexical);
  return absl::OkStatus();
}

absl::Status Collection::OpenUsers(const CollectionOptions&) {
  const Manifest& m = manifest_;
  SIMSEARCH_ASSIGN_OR_RETURN(user_vectors_,
                             MappedArray::Open(PathOf(kUserVectorsFile), ArrayDType::kFloat32));
  SIMSEARCH_ASSIGN_OR_RETURN(user_ids_,
                             MappedArray::Open(PathOf(kUserIdsFile), ArrayDType::kInt64));
  SIMSEARCH_ASSIGN_OR_RETURN(user_offsets_,
                             MappedArray::Open(PathOf(kUserOffsetsFile), ArrayDType::kInt64));
  SIMSEARCH_ASSIGN_OR_RETURN(user_items_,
                             MappedArray::Open(PathOf(kUserItemsFile), ArrayDType::kInt64));
  const uint64_t nu = m.user_count;
  if (user_vectors_.count() != nu || user_vectors_.dims() != m.dims || user_ids_.count() != nu ||
      user_offsets_.count() != nu + 1) {
    return absl::DataLossError(absl::StrCat(dir_, ": user files do not match the manifest's ", nu,
                                            " users of ", m.dims, " dimensions"));
  }
  const int64_t* ids = user_ids_.int64s();
  const int64_t* off = user_offsets_.int64s();
  if (off[0] != 0 || static_cast<uint64_t>(off[nu]) != user_items_.count()) {
    return absl::DataLossError(
        absl::StrCat(PathOf(kUserOffsetsFile), ": offsets do not span ", kUserItemsFile));
  }
  for (uint64_t u = 0; u < nu; ++u) {
    if ((u > 0 && ids[u] <= ids[u - 1]) || off[u + 1] < off[u]) {
      return absl::DataLossError(
          absl::StrCat(dir_, ": user ids or offsets out of order at user row ", u));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Collection::UserRowOf(int64_t user_id) const {
  if (user_count() == 0) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "collection '", name(),
            "' has no user vectors, so it cannot recommend for a user id; "
            "query a collection built from a recommender (e.g. ncf) or send the user's items")),
        reason::kQueryNotSupported, "user_id");
  }
  const int64_t* begin = user_ids_.int64s();
  const int64_t* end = begin + user_count();
  const int64_t* it = std::lower_bound(begin, end, user_id);
  if (it == end || *it != user_id) {
    return NotFoundResourceError(
        reason::kUserNotFound, "user", absl::StrCat(user_id),
        absl::StrCat("user ", user_id, " is not in collection '", name(), "' (version ", version_,
                     ", ", user_count(), " users)"));
  }
  return static_cast<uint32_t>(it - begin);
}

const std::vector<std::string> Collection::kNoNames;

absl::Status Collection::OpenItemStore(const CollectionOptions&) {
  const Manifest& m = manifest_;
  // The binary form: mapped, nothing parsed or built.
  SIMSEARCH_ASSIGN_OR_RETURN(ItemStore items,
                             ItemStore::Open(dir_, m.count, m.item_genres, m.item_types));
  items_.emplace(std::move(items));
  if (m.has_title_index) {
    SIMSEARCH_ASSIGN_OR_RETURN(TitleIndex titles, TitleIndex::Open(dir_, *items_, ids_.int64s()));
    titles_.emplace(std::move(titles));
  }
  return absl::OkStatus();
}

absl::Status Collection::OpenItemsJson(const CollectionOptions&) {
  const Manifest& m = manifest_;
  if (m.has_item_store) return absl::OkStatus();  // the binary form serves (item_store)
  // A bundle from before the binary form: parse items.jsonl.
  const std::string path = PathOf(kItemsFile);
  SIMSEARCH_ASSIGN_OR_RETURN(std::vector<Item> items, ReadItemsFile(path));
  if (items.size() != m.count) {
    return absl::DataLossError(
        absl::StrCat(path, ": holds ", items.size(), " items, the manifest says ", m.count));
  }
  std::vector<const Item*> rows;
  rows.reserve(items.size());
  for (uint32_t row = 0; row < m.count; ++row) {
    if (items[row].id != id(row)) {
      return absl::DataLossError(absl::StrCat(path, ": line ", row + 1, " has id ", items[row].id,
                                              ", ", kIdsFile, " says ", id(row)));
    }
    rows.push_back(&items[row]);
  }
  items_.emplace(ItemStore::Build(rows, /*with_synopses=*/true));
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Collection::RowOf(int64_t id) const {
  const int64_t* begin = ids_.int64s();
  const int64_t* end = begin + count();
  const int64_t* it = std::lower_bound(begin, end, id);
  if (it == end || *it != id) {
    return NotFoundResourceError(reason::kItemNotInCollection, "item", absl::StrCat(id),
                                 absl::StrCat("item ", id, " is not in collection '", name(),
                                              "' (version ", version_, ", ", count(), " items)"));
  }
  return static_cast<uint32_t>(it - begin);
}

// The conditions on an item's facts: years become start codes (a year's first and last
// code), seasons a mask, the age rating its order. A reversed range, a season or age
// rating that is none, or negative members is INVALID_ARGUMENT.
absl::Status CompileFacts(const FilterSpec& spec, CompiledFilter* f) {
  constexpr int kLastYear = 9999;
  for (const auto& [year, field] : {std::pair{spec.min_start_year, "filter.min_start_year"},
                                    std::pair{spec.max_start_year, "filter.max_start_year"}}) {
    if (year != 0 && (year < 1000 || year > kLastYear)) {
      return InvalidFieldError(field, reason::kInvalidArgument,
                               absl::StrCat(field, " must be a year (1000-9999), got ", year,
                                            "; leave it unset (0) for no bound"));
    }
  }
  if (spec.min_start_year != 0 && spec.max_start_year != 0 &&
      spec.min_start_year > spec.max_start_year) {
    return InvalidFieldError(
        "filter.max_start_year", reason::kInvalidArgument,
        absl::StrCat("filter.max_start_year (", spec.max_start_year,
                     ") is before filter.min_start_year (", spec.min_start_year, ")"));
  }
  if (spec.min_start_year != 0) f->min_start_ = int64_t{spec.min_start_year} * 10000;
  if (spec.max_start_year != 0) f->max_start_ = int64_t{spec.max_start_year} * 10000 + 1231;
  for (int season : spec.seasons) {
    if (season < 1 || season > 4) {
      return InvalidFieldError("filter.seasons", reason::kInvalidArgument,
                               absl::StrCat("unknown season ", season,
                                            " in filter.seasons; use winter, spring, summer or "
                                            "fall (SEASON_WINTER .. SEASON_FALL)"));
    }
    f->season_mask_ |= 1u << season;
  }
  if (spec.min_members < 0) {
    return InvalidFieldError(
        "filter.min_members", reason::kInvalidArgument,
        absl::StrCat("filter.min_members must be 0 or more, got ", spec.min_members));
  }
  f->min_members_ = spec.min_members;
  if (!spec.max_age_rating.empty()) {
    f->max_age_ = AgeRatingCode(absl::StripAsciiWhitespace(spec.max_age_rating));
    if (f->max_age_ == 0) {
      return InvalidFieldError(
          "filter.max_age_rating", reason::kInvalidArgument,
          absl::StrCat("unknown age rating '", Quote(spec.max_age_rating),
                       "' in filter.max_age_rating; use MyAnimeList's g, pg, pg_13, r, r+ or rx"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CompiledFilter> Collection::CompileFilter(const FilterSpec& spec) const {
  CompiledFilter f;
  f.collection_ = this;
  if (spec.max_content > ContentLevel::kAdult || spec.min_content > ContentLevel::kAdult) {
    return InvalidFieldError(
        "filter.max_content_level", reason::kInvalidArgument,
        "unknown content level in the filter; use CONTENT_LEVEL_GENERAL, _MATURE or _ADULT (or "
        "leave it unset)");
  }
  for (int64_t id : spec.exclude_ids) {
    if (auto row = RowOf(id); row.ok()) f.excluded_.insert(*row);
  }
  SIMSEARCH_RETURN_IF_ERROR(CompileFacts(spec, &f));
  if (items_ && ((!f.dates_empty() && !items_->has_dates()) ||
                 (f.max_age_ != 0 && !items_->has_age_ratings()))) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "collection '", name(), "' (version ", version(),
                          ") was built before its bundles recorded ",
                          f.dates_empty() ? "age ratings" : "start dates",
                          ", so it cannot filter by them; rebuild it with simsearch-indexer")),
                      reason::kQueryNotSupported, "filter");
  }
  if ((!spec.genres.empty() || !spec.types.empty() || !spec.exclude_genres.empty() ||
       !spec.exclude_types.empty() || spec.max_content != ContentLevel::kAdult ||
       spec.min_content != ContentLevel::kGeneral || !f.facts_empty()) &&
      !items_) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "collection '", name(),
            "' has no item metadata, so it cannot filter by genre, type, content level or start "
            "date")),
        reason::kQueryNotSupported, "filter");
  }
  f.max_content_ = spec.max_content;
  f.min_content_ = spec.min_content;
  f.franchises_.insert(spec.franchises.begin(), spec.franchises.end());
  f.exclude_franchises_.insert(spec.exclude_franchises.begin(), spec.exclude_franchises.end());
  for (const std::string& g : spec.exclude_genres) {
    const std::optional<uint32_t> bit = items_->GenreBit(absl::StripAsciiWhitespace(g));
    if (!bit) continue;  // no item has it: nothing to exclude
    if (f.genre_exclude_mask_.empty()) f.genre_exclude_mask_.assign(items_->genre_words(), 0);
    f.genre_exclude_mask_[*bit / 64] |= uint64_t{1} << (*bit % 64);
  }
  for (const std::string& t : spec.exclude_types) {
    const std::optional<uint16_t> type = items_->TypeIndex(absl::StripAsciiWhitespace(t));
    if (!type) continue;
    if (f.type_excluded_.empty()) f.type_excluded_.assign(types().size() + 1, false);
    f.type_excluded_[*type] = true;
  }
  if (!spec.genres.empty()) {
    f.genre_mask_.assign(items_->genre_words(), 0);
    for (const std::string& g : spec.genres) {
      const std::optional<uint32_t> bit = items_->GenreBit(absl::StripAsciiWhitespace(g));
      if (!bit) {
        return InvalidFieldError(
            "filter.genres", reason::kUnknownGenre,
            absl::StrCat("unknown genre '", Quote(g), "' in the filter; collection '", name(),
                         "' has: ", absl::StrJoin(genres(), ", ")));
      }
      f.genre_mask_[*bit / 64] |= uint64_t{1} << (*bit % 64);
    }
  }
  if (!spec.types.empty()) {
    f.type_allowed_.assign(types().size() + 1, false);
    for (const std::string& t : spec.types) {
      const std::optional<uint16_t> type = items_->TypeIndex(absl::StripAsciiWhitespace(t));
      if (!type) {
        return InvalidFieldError(
            "filter.types", reason::kUnknownType,
            absl::StrCat("unknown type '", Quote(t), "' in the filter; collection '", name(),
                         "' has: ", absl::StrJoin(types(), ", ")));
      }
      f.type_allowed_[*type] = true;
    }
  }
  return f;
}

absl::Status Collection::Search(const float* queries, size_t n, int k, const CompiledFilter* filter,
                                absl::Time deadline,
                                std::vector<std::vector<Neighbor>>* results) const {
  SearchParams params;
  params.k = k;
  params.deadline = deadline;
  return Search(queries, n, params, filter, results);
}

absl::Status Collection::Search(const float* queries, size_t n, SearchParams params,
                                const CompiledFilter* filter,
                                std::vector<std::vector<Neighbor>>* results) const {
  const int k = params.k;
  const bool filtered = filter != nullptr && !filter->empty();
  params.filter = filtered ? filter : nullptr;
  if (params.exclude != nullptr && !ScansEveryQuery(params))
    return absl::InternalError(
        "per-query exclusions reach only scans (Collection::ScansEveryQuery)");
  if (ann_ == nullptr && half_scan_ != nullptr && !params.exact)
    return half_scan_->Search(queries, n, params, results);
  if (ann_ == nullptr || params.exact) return exact_->Search(queries, n, params, results);
  SIMSEARCH_RETURN_IF_ERROR(ann_->CheckParams(params));
  if (!filtered) return ann_->Search(queries, n, params, results);

  // ANN with a filter. Few allowed rows: scanning them exactly is cheaper than any
  // index and always finds k. Otherwise FAISS filters while it searches.
  uint64_t allowed = count() - filter->excluded_count();
  std::vector<uint32_t> allowed_rows;
  if (!filter->exclusions_only()) {
    allowed = 0;
    for (uint32_t row = 0; row < count(); ++row) {
      if (filter->Allows(row)) {
        ++allowed;
        if (allowed_rows.size() * 20 <= count()) allowed_rows.push_back(row);
      }
    }
    if (allowed * 20 <= count())
      return exact_->SearchRows(queries, n, allowed_rows, params, results);
  }
  SIMSEARCH_RETURN_IF_ERROR(ann_->Search(queries, n, params, results));
  const size_t want = static_cast<size_t>(std::min<uint64_t>(allowed, static_cast<uint64_t>(k)));
  for (size_t i = 0; i < n; ++i) {
    if ((*results)[i].size() < want) {
      // The graph or the probed lists ran out of allowed rows: answer this one exactly.
      std::vector<std::vector<Neighbor>> one;
      SIMSEARCH_RETURN_IF_ERROR(exact_->Search(queries + i * dims(), 1, params, &one));
      (*results)[i] = std::move(one[0]);
    }
  }
  return absl::OkStatus();
}

absl::Status Collection::EncodeText(const std::string& text, std::vector<float>* out) const {
  if (encoder_ == nullptr)
    return absl::FailedPreconditionError(absl::StrCat("collection '", name(), "' has no encoder"));
  {
    absl::MutexLock lock(&text_cache_mu_);
    if (auto it = text_young_.find(text); it != text_young_.end()) {
      *out = it->second;
      ++text_stats_.hits;
      return absl::OkStatus();
    }
    if (auto it = text_old_.find(text); it != text_old_.end()) {
      *out = it->second;
      ++text_stats_.hits;
      auto node = text_old_.extract(it);  // back into the young generation
      CacheText(std::move(node.key()), std::move(node.mapped()));
      return absl::OkStatus();
    }
    ++text_stats_.misses;
  }
  // Encoded outside the lock: two threads missing on the same text both encode it.
  SIMSEARCH_RETURN_IF_ERROR(encoder_->Encode({text}, out));
  absl::MutexLock lock(&text_cache_mu_);
  if (!text_young_.contains(text) && !text_old_.contains(text)) CacheText(text, *out);
  return absl::OkStatus();
}

void Collection::CacheText(std::string text, std::vector<float> vector) const {
  if (text_young_.size() >= kTextCacheSize / 2) {
    text_old_ = std::move(text_young_);
    text_young_ = TextCache();
  }
  text_young_.try_emplace(std::move(text), std::move(vector));
}

Collection::TextCacheStats Collection::text_cache_stats() const {
  absl::MutexLock lock(&text_cache_mu_);
  TextCacheStats s = text_stats_;
  s.entries = text_young_.size() + text_old_.size();
  return s;
}

absl::Status Collection::CheckIntact() const {
  const std::string prefix = dir_ + "/";
  for (const std::string& path : DamagedMappings()) {
    if (absl::StartsWith(path, prefix)) {
      return WithResource(absl::UnavailableError(absl::StrCat(
                              "collection '", name(), "' version ", version_,
                              " was damaged on disk while served (", path.substr(prefix.size()),
                              " shrank); the engine withdraws it at its next reload; "
                              "retry")),
                          reason::kVersionDamaged, "collection", name());
    }
  }
  return absl::OkStatus();
}

absl::Status Collection::CheckIntegrity() const {
  SIMSEARCH_RETURN_IF_ERROR(CheckIntact());
  for (const FileDigest& f : manifest_.files) {
    const std::string path = (fs::path(dir_) / f.name).string();
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return absl::DataLossError(absl::StrCat(path, ": gone from disk while served"));
    }
    if (static_cast<uint64_t>(st.st_size) != f.bytes) {
      return absl::DataLossError(absl::StrCat(path, ": size changed on disk while served (",
                                              st.st_size, " bytes, the manifest says ", f.bytes,
                                              ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status Collection::SearchSimilar(const float* queries, size_t n, int k,
                                       const CompiledFilter* filter, absl::Time deadline,
                                       std::vector<std::vector<Neighbor>>* results,
                                       const std::vector<std::vector<uint32_t>>* exclude) const {
  if (similar_exact_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("collection '", name(), "' ranks no similar space"));
  }
  SearchParams params;
  params.k = k;
  params.deadline = deadline;
  params.exclude = exclude;
  if (filter != nullptr && !filter->empty()) params.filter = filter;
  return similar_exact_->Search(queries, n, params, results);
}

std::vector<TitleMatch> Collection::LookupTitle(absl::string_view query, size_t top_k) const {
  if (titles_) return titles_->Lookup(query, top_k);
  if (!items_) return {};
  std::call_once(titles_once_,
                 [this] { built_titles_.emplace(TitleIndex::Build(*items_, ids_.int64s())); });
  return built_titles_->Lookup(query, top_k);
}

}  // namespace simsearch
