#include "core/bundle.h"

#include <fcntl.h>
#include <sys/file.h>
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
#include "core/bundle_parts.h"
#include "core/checksum.h"
#include "core/file_util.h"
#include "core/quote.h"
#include "core/status_macros.h"

namespace simsearch {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr char kStagingPrefix[] = ".staging-";
constexpr char kTrashPrefix[] = ".trash-";
constexpr char kLockFile[] = ".lock";

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

std::string VersionName(long n) {
  return absl::StrFormat("v%06d", n);
}

// An exclusive flock(2) on ROOT/<collection>/.lock, held until destruction. The lock
// file itself is never removed (removing it would let two writers lock two files).
class CollectionLock {
 public:
  static absl::StatusOr<CollectionLock> Acquire(const std::string& collection_dir) {
    const std::string path = (fs::path(collection_dir) / kLockFile).string();
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("cannot open lock file", path, errno);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus("cannot lock", path, err);
    }
    return CollectionLock(fd);
  }
  CollectionLock(CollectionLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  CollectionLock& operator=(CollectionLock&&) = delete;
  ~CollectionLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  explicit CollectionLock(int fd) : fd_(fd) {}
  int fd_;
};

// Removes, from a collection directory whose lock the caller holds, what killed
// writers left: staging directories whose flock nobody holds, ".trash-" directories
// of interrupted prunes, and temporary files (of CURRENT). Appends their names.
absl::Status RemoveLeftoversLocked(const std::string& collection_dir,
                                   std::vector<std::string>* removed) {
  std::error_code ec;
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(collection_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (absl::StartsWith(name, kStagingPrefix)) {
      int fd = ::open(it->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) continue;
      // A live build holds its staging directory's lock; nobody does after a kill.
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) stale.push_back(it->path());
      ::close(fd);
    } else if (absl::StartsWith(name, kTrashPrefix) || IsTemporaryFileName(name)) {
      stale.push_back(it->path());
    }
  }
  if (ec)
    return absl::InternalError(absl::StrCat("cannot list ", collection_dir, ": ", ec.message()));
  for (const fs::path& p : stale) {
    if (auto st = RemoveTree(p.string()); !st.ok()) return st;
    removed->push_back(p.filename().string());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCollectionName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 &&
            absl::ascii_isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    ok = ok &&
         (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid collection name '", Quote(name),
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
  // Under the collection's lock, so a concurrent cleanup cannot take the new staging
  // directory for a dead one between its mkdir and its flock.
  auto lock = CollectionLock::Acquire(dir);
  if (!lock.ok()) return lock.status();
  std::vector<std::string> removed;
  if (auto st = RemoveLeftoversLocked(dir, &removed); !st.ok()) return st;
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string staging =
        (fs::path(dir) / absl::StrFormat("%s%d-%08x", kStagingPrefix, ::getpid(), rd())).string();
    if (::mkdir(staging.c_str(), 0755) == 0) {
      int fd = ::open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (fd >= 0) ::close(fd);
        (void)RemoveTree(staging);
        return ErrnoStatus("cannot lock", staging, err);
      }
      return std::unique_ptr<BundleWriter>(new BundleWriter(dir, staging, fd));
    }
    if (errno != EEXIST) return ErrnoStatus("cannot create", staging, errno);
  }
  return absl::InternalError(absl::StrCat("cannot create a staging directory in ", dir));
}

BundleWriter::~BundleWriter() {
  if (!published_) (void)RemoveTree(staging_dir_);
  if (staging_lock_fd_ >= 0) ::close(staging_lock_fd_);
}

std::string BundleWriter::PathOf(absl::string_view name) const {
  return (fs::path(staging_dir_) / std::string(name)).string();
}

namespace {

// The staged files are exactly those of the base and of the parts `m` names
// (core/bundle_parts.h): a file no part declares would be published unchecked by any
// reader, and a part without its files would be refused by every reader.
absl::Status CheckStagedFiles(const Manifest& m, const std::vector<std::string>& staged) {
  const std::vector<std::string> declared = DeclaredFiles(m);
  for (const std::string& name : staged) {
    if (!IsDeclared(name, declared)) {
      return absl::InternalError(
          absl::StrCat("bundle build: staged file ", name,
                       " belongs to no part the manifest names (core/bundle_parts.cc)"));
    }
  }
  for (const std::string& d : declared) {
    if (d == kManifestFile) continue;
    if (std::none_of(staged.begin(), staged.end(),
                     [&](const std::string& name) { return IsDeclared(name, {d}); })) {
      return absl::InternalError(absl::StrCat("bundle build: the manifest names a part whose file ",
                                              d, " was not written"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status BundleWriter::WriteManifest(Manifest manifest) {
  if (published_) return absl::FailedPreconditionError("bundle already published");
  manifest.files.clear();

  std::vector<std::string> names;  // relative paths of every regular file
  std::error_code ec;
  for (fs::recursive_directory_iterator it(staging_dir_, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string name = fs::relative(it->path(), staging_dir_).string();
    if (name != kManifestFile) names.push_back(name);
  }
  if (ec)
    return absl::InternalError(absl::StrCat("cannot list ", staging_dir_, ": ", ec.message()));
  std::sort(names.begin(), names.end());
  SIMSEARCH_RETURN_IF_ERROR(CheckStagedFiles(manifest, names));
  for (const std::string& name : names) {
    auto sum = ChecksumFile(PathOf(name));
    if (!sum.ok()) return sum.status();
    manifest.files.push_back({name, sum->bytes, sum->xxh3});
  }
  if (auto st = WriteStringToFile(PathOf(kManifestFile), SerializeManifest(manifest)); !st.ok()) {
    return st;
  }
  if (auto st = SyncDirectory(staging_dir_); !st.ok()) return st;

  manifest_ = std::move(manifest);
  return absl::OkStatus();
}

absl::StatusOr<std::string> BundleWriter::Publish(Manifest manifest) {
  if (published_) return absl::FailedPreconditionError("bundle already published");
  SIMSEARCH_RETURN_IF_ERROR(WriteManifest(std::move(manifest)));
  manifest = manifest_;

  // Number, rename and CURRENT as one step among this collection's writers.
  auto lock = CollectionLock::Acquire(collection_dir_);
  if (!lock.ok()) return lock.status();
  auto versions = ListVersions(collection_dir_);
  if (!versions.ok()) return versions.status();
  long next = versions->empty() ? 1 : VersionNumber(versions->back()) + 1;
  std::string version;
  for (int attempt = 0;; ++attempt) {
    version = VersionName(next);
    std::string target = (fs::path(collection_dir_) / version).string();
    if (::rename(staging_dir_.c_str(), target.c_str()) == 0) break;
    // Taken by a writer that does not lock (an older simsearch): try the next number.
    if ((errno == EEXIST || errno == ENOTEMPTY) && attempt < 1000) {
      ++next;
      continue;
    }
    return ErrnoStatus("cannot publish", target, errno);
  }
  published_ = true;
  manifest_ = std::move(manifest);
  if (auto st = SyncDirectory(collection_dir_); !st.ok()) return st;
  std::string current = (fs::path(collection_dir_) / kCurrentFile).string();
  if (auto st = WriteStringToFile(current, version + "\n"); !st.ok()) return st;
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
  if (ec)
    return absl::InternalError(absl::StrCat("cannot list ", collection_dir, ": ", ec.message()));
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [n, name] : found) out.push_back(std::move(name));
  return out;
}

absl::StatusOr<std::vector<std::string>> PruneVersions(const std::string& collection_dir,
                                                       size_t keep) {
  auto lock = CollectionLock::Acquire(collection_dir);
  if (!lock.ok()) return lock.status();
  auto versions = ListVersions(collection_dir);
  if (!versions.ok()) return versions.status();
  auto current = ReadCurrentVersion(collection_dir);
  std::vector<std::string> removed;
  const size_t n = versions->size();
  std::random_device rd;
  for (size_t i = 0; i + keep < n; ++i) {
    const std::string& v = (*versions)[i];
    if (current.ok() && v == *current) continue;
    // Out of the version namespace first (atomic), then deleted: killed midway, the
    // leftover is a ".trash-" directory that the next writer removes.
    const std::string from = (fs::path(collection_dir) / v).string();
    const std::string trash = (fs::path(collection_dir) /
                               absl::StrFormat("%s%s-%d-%08x", kTrashPrefix, v, ::getpid(), rd()))
                                  .string();
    if (::rename(from.c_str(), trash.c_str()) != 0)
      return ErrnoStatus("cannot remove", from, errno);
    if (auto st = RemoveTree(trash); !st.ok()) return st;
    removed.push_back(v);
  }
  if (auto st = RemoveLeftoversLocked(collection_dir, &removed); !st.ok()) return st;
  return removed;
}

absl::StatusOr<std::vector<std::string>> RemoveLeftovers(const std::string& collection_dir) {
  auto lock = CollectionLock::Acquire(collection_dir);
  if (!lock.ok()) return lock.status();
  std::vector<std::string> removed;
  if (auto st = RemoveLeftoversLocked(collection_dir, &removed); !st.ok()) return st;
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
  // Every file of the base and of each part the manifest names must be listed (so its
  // size and checksum are checked below); a directory, by at least one file in it.
  for (const std::string& d : DeclaredFiles(*m)) {
    if (d == kManifestFile) continue;
    const bool listed = std::any_of(m->files.begin(), m->files.end(),
                                    [&](const FileDigest& f) { return IsDeclared(f.name, {d}); });
    if (!listed) {
      return absl::DataLossError(
          absl::EndsWith(d, "/")
              ? absl::StrCat(path, ": names a part stored under ", d, " but lists no ", d, " files")
              : absl::StrCat(path, ": does not list ", d));
    }
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
        return absl::DataLossError(absl::StrCat(
            fp, ": checksum ", sum->xxh3, " does not match the manifest's ", f.xxh3, " (corrupt)"));
      }
    }
  }
  return m;
}

absl::Status WriteItemsFile(const std::string& path, const std::vector<const Item*>& items,
                            bool with_synopses) {
  auto w = FileWriter::Create(path);
  if (!w.ok()) return w.status();
  for (const Item* it : items) {
    json j = {{"id", it->id},          {"title", it->title}, {"english_title", it->english_title},
              {"genres", it->genres},  {"type", it->type},   {"episodes", it->episodes},
              {"members", it->members}};
    if (!it->age_rating.empty()) j["age_rating"] = it->age_rating;
    if (!it->nsfw.empty()) j["nsfw"] = it->nsfw;
    j["content_level"] = std::string(ContentLevelName(std::max(it->content, ContentLevelOf(*it))));
    if (it->franchise != 0) j["franchise"] = it->franchise;
    if (!it->image_url.empty()) j["image_url"] = it->image_url;
    if (!it->start_date.empty()) j["start_date"] = it->start_date;
    if (it->mal_score > 0) j["mal_score"] = it->mal_score;
    if (!it->studios.empty()) j["studios"] = it->studios;
    if (with_synopses && !it->synopsis.empty()) j["synopsis"] = it->synopsis;
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
    str("synopsis", &it.synopsis);
    str("age_rating", &it.age_rating);
    str("nsfw", &it.nsfw);
    str("image_url", &it.image_url);
    str("start_date", &it.start_date);
    if (auto sc = j.find("mal_score"); sc != j.end() && sc->is_number()) {
      it.mal_score = sc->get<double>();
    }
    if (auto st = j.find("studios"); st != j.end() && st->is_array()) {
      for (const json& x : *st) {
        if (x.is_string()) it.studios.push_back(x.get<std::string>());
      }
    }
    std::string level;
    str("content_level", &level);
    if (auto l = ParseContentLevel(level)) it.content = *l;
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
    if (auto f = j.find("franchise"); f != j.end() && f->is_number_integer()) {
      it.franchise = f->get<int64_t>();
    }
    it.content = std::max(it.content, ContentLevelOf(it));
    items.push_back(std::move(it));
  }
  return items;
}

}  // namespace simsearch
