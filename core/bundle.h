// Index bundles on disk: one directory per collection version, published atomically.
//
//   ROOT/<collection>/CURRENT          name of the current version, e.g. "v000003\n"
//   ROOT/<collection>/v000003/         one immutable version (docs/FORMAT.md)
//       manifest.json  vectors.f32  ids.i64  [items.jsonl]  [index.faiss]
//
// A version is written under a hidden staging name, fsynced, renamed into place, and
// only then made current by rewriting CURRENT through a rename. A reader that follows
// CURRENT never sees a half-written bundle.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "core/manifest.h"

namespace simsearch {

inline constexpr char kManifestFile[] = "manifest.json";
inline constexpr char kVectorsFile[] = "vectors.f32";
inline constexpr char kIdsFile[] = "ids.i64";
inline constexpr char kItemsFile[] = "items.jsonl";
inline constexpr char kFaissIndexFile[] = "index.faiss";
inline constexpr char kCurrentFile[] = "CURRENT";
inline constexpr char kQueryVectorsFile[] = "query_vectors.f32";
inline constexpr char kUserVectorsFile[] = "user_vectors.f32";
inline constexpr char kUserIdsFile[] = "user_ids.i64";
inline constexpr char kUserItemsFile[] = "user_items.i64";
inline constexpr char kUserOffsetsFile[] = "user_offsets.i64";
inline constexpr char kEncoderDir[] = "encoder";  // the text encoder's files, if any

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

  // Checksums every file in the staging directory into `manifest.files`, writes
  // manifest.json, fsyncs, renames the directory to the next free version name and
  // switches CURRENT to it. Returns the version name (e.g. "v000004").
  absl::StatusOr<std::string> Publish(Manifest manifest);

 private:
  BundleWriter(std::string collection_dir, std::string staging_dir)
      : collection_dir_(std::move(collection_dir)), staging_dir_(std::move(staging_dir)) {}
  std::string collection_dir_;
  std::string staging_dir_;
  bool published_ = false;
};

// The version CURRENT names in ROOT/<collection>/ (NotFound if there is none yet).
absl::StatusOr<std::string> ReadCurrentVersion(const std::string& collection_dir);

// Published versions in a collection directory, oldest first.
absl::StatusOr<std::vector<std::string>> ListVersions(const std::string& collection_dir);

// Deletes all but the newest `keep` versions (never the current one) and stale staging
// directories left by crashed builds. Returns the names removed.
absl::StatusOr<std::vector<std::string>> PruneVersions(const std::string& collection_dir,
                                                       size_t keep);

enum class VerifyMode {
  kSizes,      // every listed file exists with its recorded size (cheap)
  kChecksums,  // and its content matches its XXH3 checksum (reads every byte)
};

// Reads manifest.json of a version directory and checks the files it lists.
// DataLoss names the first file that is missing, truncated or corrupt.
absl::StatusOr<Manifest> ReadVerifiedManifest(const std::string& version_dir, VerifyMode mode);

// items.jsonl: one JSON object per line, in row order.
absl::Status WriteItemsFile(const std::string& path, const std::vector<const Item*>& items);
absl::StatusOr<std::vector<Item>> ReadItemsFile(const std::string& path);

// Current UTC time as RFC 3339, e.g. "2026-11-27T21:04:05Z".
std::string NowRfc3339();

}  // namespace simsearch
