// The parts of an index bundle, declared in one place (bundle_parts.cc).
//
// A bundle version is its base (manifest.json, vectors.f32, ids.i64 and the manifest's
// base fields) plus optional parts: an ANN index, item metadata, user vectors,
// "more like this" vectors, a lexical index, fold-in data, a text encoder, precomputed
// neighbours, vector provenance. A part is declared once, in kBundleParts: the key of
// its manifest section (which docs/FORMAT.md describes; tests/core/format_doc_test.cc
// checks), whether a manifest says the bundle holds it, the files it then holds, and how
// its section is written and read back (with the checks that need nothing but the
// manifest). The manifest writer and reader, the checks of a version's files
// (ReadVerifiedManifest), the staging check before publishing (BundleWriter), the
// indexer's BuildBundle (indexer/indexer.cc: one writer per part, kPartWriters) and the
// engine's Collection::Open (engine/collection.cc: one opener per part, PartOpeners) are
// loops over these parts; tests check that every part has its writer and its opener.
//
// A new part: an entry in kBundleParts (bundle_parts.cc) with its fields in Manifest,
// its writer in indexer/indexer.cc, its opener in engine/collection.cc, and its section
// in docs/FORMAT.md (tests/core/format_doc_test.cc checks its field and files are there).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>  // core links nlohmann_json PUBLIC for it

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/manifest.h"

namespace simsearch {

class JsonFields;

struct BundlePart {
  // Its key in manifest.json (a top-level field: an object section, or a flag or count
  // for the oldest parts). Also the part's name in errors and in Collection's openers.
  const char* key;
  // Whether the manifest says the bundle holds the part.
  bool (*present)(const Manifest& m);
  // The files it holds when present, relative to the version directory. A name ending
  // in '/' is a directory of files the part's own code names (the text encoder's).
  std::vector<std::string> (*files)(const Manifest& m);
  // Writes the part's field into the manifest's JSON object (null when absent).
  void (*write)(const Manifest& m, nlohmann::json* root);
  // Reads the part's field from the manifest's JSON object into `m`, whose base fields
  // are already read, and checks it; the first error goes to `in`.
  void (*read)(const nlohmann::json& root, JsonFields* in, Manifest* m);
};

// Every part, in the order the manifest reader reads them.
absl::Span<const BundlePart> BundleParts();
// The part named `key`, or nullptr.
const BundlePart* FindBundlePart(absl::string_view key);

// The base's files, which every version holds: manifest.json, vectors.f32, ids.i64.
std::vector<std::string> BaseFiles();

// The files a bundle with manifest `m` must hold: the base's and each present part's
// (directory entries end in '/').
std::vector<std::string> DeclaredFiles(const Manifest& m);

// Whether `file` (a path relative to the version directory) is `declared` or lies in a
// declared directory.
bool IsDeclared(absl::string_view file, const std::vector<std::string>& declared);

}  // namespace simsearch
