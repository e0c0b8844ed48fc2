// Index bundles on disk: one directory per collection version, published atomically.
//
//   ROOT/<collection>/CURRENT          name of the current version, e.g. "v000003\n"
//   ROOT/<collection>/v000003/         one immutable version (docs/FORMAT.md)
//       manifest.json  vectors.f32  ids.i64  [items.jsonl]  [index.faiss]
//
// A version is written under a hidden staging name, fsynced, renamed into place, and
// only then made current by rewriting CURRENT through a rename. A reader that follows
// CURRENT never sees a half-written bundle.
//
// Writers of one collection (publishing, pruning, cleaning up) take an exclusive
// flock(2) on ROOT/<collection>/.lock, so concurrent builds get distinct version
// numbers, CURRENT always names the newest published version, and a prune never
// removes the version CURRENT names. Readers take no lock. Each build also holds a
// lock on its own staging directory: one that nobody holds is a killed build's
// leftover and is removed by the next writer.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/catalog.h"
#include "core/manifest.h"

namespace simsearch {

// The files of a bundle version (which part of a bundle holds each: core/bundle_parts.h).
// docs/FORMAT.md describes each one (and
// tests/core/format_doc_test.cc fails if it does not); the binary item metadata and
// title index files are named in core/item_store.h.
inline constexpr char kManifestFile[] = "manifest.json";
inline constexpr char kVectorsFile[] = "vectors.f32";
inline constexpr char kIdsFile[] = "ids.i64";
inline constexpr char kItemsFile[] = "items.jsonl";
inline constexpr char kFaissIndexFile[] = "index.faiss";
inline constexpr char kHnswlibIndexFile[] = "index.hnswlib";
inline constexpr char kCurrentFile[] = "CURRENT";
inline constexpr char kQueryVectorsFile[] = "query_vectors.f32";
inline constexpr char kUserVectorsFile[] = "user_vectors.f32";
inline constexpr char kUserIdsFile[] = "user_ids.i64";
inline constexpr char kUserItemsFile[] = "user_items.i64";
inline constexpr char kUserOffsetsFile[] = "user_offsets.i64";
inline constexpr char kHalfVectorsFile[] = "vectors.f16";             // the scan's reduced copy
inline constexpr char kSimilarVectorsFile[] = "similar_vectors.f32";  // "more like this" candidates
inline constexpr char kNeighboursFile[] = "neighbours.u32";           // rows, count x k
inline constexpr char kNeighbourScoresFile[] = "neighbour_scores.f32";  // their scores
inline constexpr char kGramFile[] = "gram.f32";  // Q^T Q, for folding watch lists in
// Per row: where its vector came from (kVectorLearned / kVectorPredicted) and the
// viewers it was learned from: count x 2 int64.
inline constexpr char kItemProvenanceFile[] = "item_provenance.i64";
inline constexpr int64_t kVectorLearned = 1;
inline constexpr int64_t kVectorPredicted = 2;
inline constexpr char kEncoderDir[] = "encoder";  // the text encoder's files, if any
// The lexical (BM25) index over the items' texts (retrieval/lexical.h).
inline constexpr char kLexicalTermsFile[] = "lexical_terms.u8";
inline constexpr char kLexicalTermOffsetsFile[] = "lexical_term_offsets.i64";
inline constexpr char kLexicalPostingsFile[] = "lexical_postings.i64";
inline constexpr char kLexicalRowsFile[] = "lexical_rows.u32";
inline constexpr char kLexicalTfFile[] = "lexical_tf.f32";
inline constexpr char kLexicalLengthsFile[] = "lexical_lengths.f32";

// Collection names: 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit.
absl::Status ValidateCollectionName(absl::string_view name);

class BundleWriter {
 public:
  // Creates ROOT/<collection>/ if needed and a fresh staging directory inside it.
  static absl::StatusOr<std::unique_ptr<BundleWriter>> Create(const std::string& root,
                                                              absl::string_view collection);
  ~BundleWriter();  // removes the staging directory unless published
  BundleWriter(const BundleWriter&) = delete;
  BundleWriter& operator=(const BundleWriter&) = delete;

  // Where to write file `name` of the bundle before publishing.
  std::string PathOf(absl::string_view name) const;
  // The staging directory itself.
  const std::string& staging_dir() const { return staging_dir_; }

  // Checksums every file in the staging directory into `manifest.files`, writes
  // manifest.json, fsyncs, and then, holding the collection's lock, renames the
  // directory to the next free version name and switches CURRENT to it. Returns the
  // version name (e.g. "v000004").
  absl::StatusOr<std::string> Publish(Manifest manifest);
  // Checksums the files and writes manifest.json into the staging directory without
  // publishing, so that the staged bundle can be opened (to compute what depends on
  // it, e.g. precomputed neighbours) before Publish.
  // Both refuse (Internal, naming the file) a staging directory that holds a file no
  // part `manifest` names declares, or lacks one such a part declares
  // (core/bundle_parts.h): what is published is what readers check.
  absl::Status WriteManifest(Manifest manifest);
  // The manifest as Publish wrote it (with its file list).
  const Manifest& published_manifest() const { return manifest_; }

 private:
  BundleWriter(std::string collection_dir, std::string staging_dir, int staging_lock_fd)
      : collection_dir_(std::move(collection_dir)),
        staging_dir_(std::move(staging_dir)),
        staging_lock_fd_(staging_lock_fd) {}
  std::string collection_dir_;
  std::string staging_dir_;
  int staging_lock_fd_;  // flock held on the staging directory while this build lives
  bool published_ = false;
  Manifest manifest_;
};

// The version CURRENT names in ROOT/<collection>/ (NotFound if there is none yet).
absl::StatusOr<std::string> ReadCurrentVersion(const std::string& collection_dir);

// Published versions in a collection directory, oldest first.
absl::StatusOr<std::vector<std::string>> ListVersions(const std::string& collection_dir);

// Holding the collection's lock: deletes all but the newest `keep` versions (never the
// one CURRENT names) and removes what killed processes left behind (see
// RemoveLeftovers). A version is first renamed out of the way (".trash-..."), so a
// prune killed midway never leaves a half-deleted version under a version name.
// Returns the names removed.
absl::StatusOr<std::vector<std::string>> PruneVersions(const std::string& collection_dir,
                                                       size_t keep);

// Holding the collection's lock: removes staging directories no live build holds,
// half-removed versions (".trash-...") and temporary files of killed writers
// (".CURRENT.tmp-..."). Returns the names removed.
absl::StatusOr<std::vector<std::string>> RemoveLeftovers(const std::string& collection_dir);

enum class VerifyMode {
  kSizes,      // every listed file exists with its recorded size (cheap)
  kChecksums,  // and its content matches its XXH3 checksum (reads every byte)
};

// Reads manifest.json of a version directory and checks the files it lists, which must
// include every file of the base and of each part the manifest names
// (core/bundle_parts.h). DataLoss names the first file that is unlisted, missing,
// truncated or corrupt.
absl::StatusOr<Manifest> ReadVerifiedManifest(const std::string& version_dir, VerifyMode mode);

// items.jsonl: one JSON object per line, in row order.
// `with_synopses`: also write each item's synopsis (where it has one).
absl::Status WriteItemsFile(const std::string& path, const std::vector<const Item*>& items,
                            bool with_synopses = false);
absl::StatusOr<std::vector<Item>> ReadItemsFile(const std::string& path);

// Current UTC time as RFC 3339, e.g. "2026-11-27T21:04:05Z".
std::string NowRfc3339();

}  // namespace simsearch
