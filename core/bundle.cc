#include "core/bundle.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/checksum.h"
#include "core/file_util.h"

namespace simsearch {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr char kStagingPrefix[] = ".staging-";

// "v000012" -> 12; -1 for anything else.
long VersionNumber(absl::string_view name) {
  if (name.size() < 2 || name[0] != 'v') return -1;
  long n;
  absl::string_view digits = name.substr(1);
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return -1;
  }
  if (!absl::SimpleAtoi(digits, &n)) return -1;
  return n;
}

std::string VersionName(long n) { return absl::StrFormat("v%06d", n); }

}  // namespace

absl::Status ValidateCollectionName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 &&
            absl::ascii_isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
                c == '.');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid collection name '", name,
        "': use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit"));
  }
  return absl::OkStatus();
}

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

absl::StatusOr<std::unique_ptr<BundleWriter>> BundleWriter::Create(const std::string& root,
                                                                   absl::string_view collection) {
  if (auto st = ValidateCollectionName(collection); !st.ok()) return st;
  std::string dir = (fs::path(root) / std::string(collection)).string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string staging =
        (fs::path(dir) / absl::StrFormat("%s%d-%08x", kStagingPrefix, ::getpid(), rd())).string();
    if (::mkdir(staging.c_str(), 0755) == 0) {
      return std::unique_ptr<BundleWriter>(new BundleWriter(dir, staging));
    }
    if (errno != EEXIST) return ErrnoStatus("cannot create", staging, errno);
  }
  return absl::InternalError(absl::StrCat("cannot create a staging directory in ", dir));
}

BundleWriter::~BundleWriter() {
  if (!published_) (void)RemoveTree(staging_dir_);
}

std::string BundleWriter::PathOf(absl::string_view name) const {
  return (fs::path(staging_dir_) / std::string(name)).string();
}

absl::StatusOr<std::string> BundleWriter::Publish(Manifest manifest) {
  if (published_) return absl::FailedPreconditionError("bundle already published");
  manifest.files.clear();
  std::vector<std::string> names;  // relative paths of every regular file
  std::error_code ec;
  for (fs::recursive_directory_iterator it(staging_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string name = fs::relative(it->path(), staging_dir_).string();
    if (name != kManifestFile) names.push_back(name);
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", staging_dir_, ": ", ec.message()));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    auto sum = ChecksumFile(PathOf(name));
    if (!sum.ok()) return sum.status();
    manifest.files.push_back({name, sum->bytes, sum->xxh3});
  }
  if (auto st = WriteStringToFile(PathOf(kManifestFile), SerializeManifest(manifest)); !st.ok()) {
    return st;
  }
  if (auto st = SyncDirectory(staging_dir_); !st.ok()) return st;

  auto versions = ListVersions(collection_dir_);
  if (!versions.ok()) return versions.status();
  long next = versions->empty() ? 1 : VersionNumber(versions->back()) + 1;
  std::string version;
  for (int attempt = 0;; ++attempt) {
    version = VersionName(next);
    std::string target = (fs::path(collection_dir_) / version).string();
    if (::rename(staging_dir_.c_str(), target.c_str()) == 0) break;
    // Another builder took this number first: try the next one.
    if ((errno == EEXIST || errno == ENOTEMPTY) && attempt < 1000) {
      ++next;
      continue;
    }
    return ErrnoStatus("cannot publish", target, errno);
  }
  published_ = true;
  if (auto st = SyncDirectory(collection_dir_); !st.ok()) return st;
  std::string current = (fs::path(collection_dir_) / kCurrentFile).string();
  if (auto st = WriteFileAtomically(current, version + "\n"); !st.ok()) return st;
  return version;
}

absl::StatusOr<std::string> ReadCurrentVersion(const std::string& collection_dir) {
  std::string path = (fs::path(collection_dir) / kCurrentFile).string();
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  std::string version(absl::StripAsciiWhitespace(*text));
  if (VersionNumber(version) < 0) {
    return absl::DataLossError(
        absl::StrCat(path, ": does not name a version (found '", version, "')"));
  }
  return version;
}

absl::StatusOr<std::vector<std::string>> ListVersions(const std::string& collection_dir) {
  std::vector<std::pair<long, std::string>> found;
  std::error_code ec;
  for (fs::directory_iterator it(collection_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    long n = VersionNumber(name);
    if (n >= 0 && it->is_directory()) found.emplace_back(n, name);
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", collection_dir, ": ", ec.message()));
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [n, name] : found) out.push_back(std::move(name));
  return out;
}

absl::StatusOr<std::vector<std::string>> PruneVersions(const std::string& collection_dir,
                                                       size_t keep) {
  auto versions = ListVersions(collection_dir);
  if (!versions.ok()) return versions.status();
  auto current = ReadCurrentVersion(collection_dir);
  std::vector<std::string> removed;
  const size_t n = versions->size();
  for (size_t i = 0; i + keep < n; ++i) {
    const std::string& v = (*versions)[i];
    if (current.ok() && v == *current) continue;
    if (auto st = RemoveTree((fs::path(collection_dir) / v).string()); !st.ok()) return st;
    removed.push_back(v);
  }
  // Staging directories of builds whose process is gone.
  std::error_code ec;
  for (fs::directory_iterator it(collection_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!absl::StartsWith(name, kStagingPrefix)) continue;
    absl::string_view rest = absl::string_view(name).substr(sizeof(kStagingPrefix) - 1);
    int pid = 0;
    if (!absl::SimpleAtoi(rest.substr(0, rest.find('-')), &pid)) continue;
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
      if (auto st = RemoveTree(it->path().string()); !st.ok()) return st;
      removed.push_back(name);
    }
  }
  return removed;
}

absl::StatusOr<Manifest> ReadVerifiedManifest(const std::string& version_dir, VerifyMode mode) {
  std::string path = (fs::path(version_dir) / kManifestFile).string();
  auto text = ReadFileToString(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::DataLossError(absl::StrCat(path, ": missing; not a complete bundle"));
    }
    return text.status();
  }
  auto m = ParseManifest(*text, path);
  if (!m.ok()) return m.status();
  std::vector<std::string> required = {kVectorsFile, kIdsFile};
  if (m->index_kind != IndexKind::kFlat) required.push_back(kFaissIndexFile);
  if (m->has_items) required.push_back(kItemsFile);
  if (m->has_query_vectors) required.push_back(kQueryVectorsFile);
  if (m->user_count > 0) {
    for (const char* f : {kUserVectorsFile, kUserIdsFile, kUserItemsFile, kUserOffsetsFile}) {
      required.push_back(f);
    }
  }
  for (const std::string& r : required) {
    bool listed = std::any_of(m->files.begin(), m->files.end(),
                              [&](const FileDigest& f) { return f.name == r; });
    if (!listed) return absl::DataLossError(absl::StrCat(path, ": does not list ", r));
  }
  if (!m->encoder_kind.empty() &&
      std::none_of(m->files.begin(), m->files.end(), [](const FileDigest& f) {
        return absl::StartsWith(f.name, std::string(kEncoderDir) + "/");
      })) {
    return absl::DataLossError(absl::StrCat(path, ": names an encoder but lists no encoder/ files"));
  }
  for (const FileDigest& f : m->files) {
    // Relative paths inside the version directory only.
    bool bad = f.name.empty() || f.name[0] == '/';
    for (absl::string_view part : absl::StrSplit(f.name, '/')) {
      bad = bad || part.empty() || part == "." || part == "..";
    }
    if (bad) return absl::DataLossError(absl::StrCat(path, ": bad file name '", f.name, "'"));
    std::string fp = (fs::path(version_dir) / f.name).string();
    struct stat st;
    if (::stat(fp.c_str(), &st) != 0) {
      return absl::DataLossError(absl::StrCat(fp, ": listed in the manifest but missing"));
    }
    if (static_cast<uint64_t>(st.st_size) != f.bytes) {
      return absl::DataLossError(absl::StrCat(fp, ": size ", st.st_size,
                                              " bytes, the manifest says ", f.bytes,
                                              " (truncated or replaced)"));
    }
    if (mode == VerifyMode::kChecksums) {
      auto sum = ChecksumFile(fp);
      if (!sum.ok()) return sum.status();
      if (sum->xxh3 != f.xxh3) {
        return absl::DataLossError(absl::StrCat(fp, ": checksum ", sum->xxh3,
                                                " does not match the manifest's ", f.xxh3,
                                                " (corrupt)"));
      }
    }
  }
  return m;
}

absl::Status WriteItemsFile(const std::string& path, const std::vector<const Item*>& items) {
  auto w = FileWriter::Create(path);
  if (!w.ok()) return w.status();
  for (const Item* it : items) {
    json j = {{"id", it->id},
              {"title", it->title},
              {"english_title", it->english_title},
              {"genres", it->genres},
              {"type", it->type},
              {"episodes", it->episodes},
              {"members", it->members}};
    // Invalid UTF-8 in a source title is replaced rather than failing the build.
    std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace);
    line.push_back('\n');
    if (auto st = w->Append(line); !st.ok()) return st;
  }
  return w->Close();
}

absl::StatusOr<std::vector<Item>> ReadItemsFile(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  std::vector<Item> items;
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    ++line_no;
    json j = json::parse(line, nullptr, false);
    auto bad = [&](absl::string_view what) {
      return absl::DataLossError(absl::StrCat(path, ": line ", line_no, ": ", what));
    };
    if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
    Item it;
    auto id = j.find("id");
    if (id == j.end() || !id->is_number_integer()) return bad("missing integer 'id'");
    it.id = id->get<int64_t>();
    auto str = [&](const char* key, std::string* out) {
      auto f = j.find(key);
      if (f != j.end() && f->is_string()) *out = f->get<std::string>();
    };
    str("title", &it.title);
    str("english_title", &it.english_title);
    str("type", &it.type);
    if (auto g = j.find("genres"); g != j.end() && g->is_array()) {
      for (const json& x : *g) {
        if (x.is_string()) it.genres.push_back(x.get<std::string>());
      }
    }
    if (auto e = j.find("episodes"); e != j.end() && e->is_number_integer()) {
      it.episodes = e->get<int32_t>();
    }
    if (auto m = j.find("members"); m != j.end() && m->is_number_integer()) {
      it.members = m->get<int64_t>();
    }
    items.push_back(std::move(it));
  }
  return items;
}

}  // namespace simsearch
