// The manifest parser and bundle verification on arbitrary manifest.json text, against
// a small real bundle: an error naming the problem, or a manifest whose files exist
// inside the version directory with the listed sizes. Never a crash, never a path that
// leaves the directory.
#include <cstdlib>
#include <filesystem>

#include "core/array_file.h"
#include "core/bundle.h"
#include "core/file_util.h"
#include "core/manifest.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simsearch;
  namespace fs = std::filesystem;
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)ParseManifest(text, "fuzz");
  static const std::string dir = [] {
    const std::string d = fuzz::InputFile::With(nullptr, 0).dir() + "/v000001";
    fs::create_directories(d);
    const float x[4] = {1, 0, 0, 1};
    const int64_t ids[2] = {1, 2};
    if (!WriteFloatArrayFile(d + "/vectors.f32", x, 2, 2, 0).ok() ||
        !WriteInt64ArrayFile(d + "/ids.i64", ids, 2).ok()) {
      std::abort();
    }
    return d;
  }();
  if (!WriteStringToFile(dir + "/manifest.json", text).ok()) std::abort();
  (void)ReadVerifiedManifest(dir, VerifyMode::kChecksums);
  auto m = ReadVerifiedManifest(dir, VerifyMode::kSizes);
  if (m.ok()) {
    for (const FileDigest& f : m->files) {
      const fs::path p = fs::weakly_canonical(fs::path(dir) / f.name);
      if (p.string().rfind(dir + "/", 0) != 0) std::abort();  // escaped the version directory
    }
  }
  return 0;
}
