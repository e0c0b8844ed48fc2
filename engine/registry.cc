#include "engine/registry.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/bundle.h"

namespace simsearch {
namespace fs = std::filesystem;

std::string DescribeEvent(const RegistryEvent& e) {
  switch (e.kind) {
    case RegistryEvent::Kind::kLoaded:
      return absl::StrCat("loaded collection '", e.collection, "' version ", e.version);
    case RegistryEvent::Kind::kReplaced:
      return absl::StrCat("reloaded collection '", e.collection, "': ", e.previous_version, " -> ",
                          e.version);
    case RegistryEvent::Kind::kRejected:
      return absl::StrCat(
          "rejected collection '", e.collection, "' version ", e.version, ": ", e.status.message(),
          e.previous_version.empty() ? std::string(" (not served)")
                                     : absl::StrCat(" (still serving ", e.previous_version, ")"));
    case RegistryEvent::Kind::kRemoved:
      return absl::StrCat(
          "collection '", e.collection, "' is no longer served (was ", e.version,
          "): ", e.status.ok() ? "its directory is gone from the index root" : e.status.message());
    case RegistryEvent::Kind::kDamaged:
      return absl::StrCat("collection '", e.collection, "' version ", e.version,
                          " was damaged on disk while served: ", e.status.message(),
                          "; replacing it");
    case RegistryEvent::Kind::kFallback:
      return absl::StrCat("collection '", e.collection, "': serving older version ", e.version,
                          " because ", e.status.message());
  }
  return "";
}

CollectionRegistry::CollectionRegistry(std::string root, CollectionOptions options)
    : root_(std::move(root)), options_(options) {}

absl::StatusOr<std::vector<RegistryEvent>> CollectionRegistry::Refresh() {
  absl::MutexLock refresh_lock(&refresh_mu_);
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) {
    return absl::NotFoundError(absl::StrCat("index root ", root_, " is not a directory"));
  }
  std::vector<std::string> names;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!ValidateCollectionName(name).ok()) continue;
    if (fs::exists(it->path() / kCurrentFile)) names.push_back(name);
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", root_, ": ", ec.message()));
  std::sort(names.begin(), names.end());

  std::vector<RegistryEvent> events;
  for (const std::string& name : names) RefreshOne(name, &events);

  // Collections whose directory (or CURRENT) disappeared.
  {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> gone;
    for (const auto& [name, c] : served_) {
      if (!std::binary_search(names.begin(), names.end(), name)) gone.push_back(name);
    }
    for (const std::string& name : gone) {
      events.push_back(
          {RegistryEvent::Kind::kRemoved, name, served_[name]->version(), "", absl::OkStatus()});
      served_.erase(name);
    }
    for (auto it = states_.begin(); it != states_.end();) {
      auto next = std::next(it);
      if (!std::binary_search(names.begin(), names.end(), it->first)) states_.erase(it);
      it = next;
    }
  }
  for (auto it = known_.begin(); it != known_.end();) {
    auto next = std::next(it);
    if (!std::binary_search(names.begin(), names.end(), it->first)) known_.erase(it);
    it = next;
  }
  return events;
}

void CollectionRegistry::Serve(const std::string& name, std::shared_ptr<const Collection> c,
                               std::string note) {
  absl::MutexLock lock(&mu_);
  ServingState& s = states_[name];
  s.served_version = c ? c->version() : "";
  s.note = std::move(note);
  if (c) {
    served_[name] = std::move(c);
  } else {
    served_.erase(name);
  }
}

void CollectionRegistry::RefreshOne(const std::string& name, std::vector<RegistryEvent>* events) {
  const std::string dir = (fs::path(root_) / name).string();
  Known& known = known_[name];
  std::shared_ptr<const Collection> served = Get(name);

  // 1. The served version must still be whole: same file sizes as its manifest, and no
  //    read through its mappings has faulted.
  std::string damaged_version;
  absl::Status damage;
  if (served != nullptr) {
    damage = served->CheckIntegrity();
    if (!damage.ok()) {
      damaged_version = served->version();
      events->push_back({RegistryEvent::Kind::kDamaged, name, damaged_version, "", damage});
      served = nullptr;  // replaced below, or withdrawn if nothing intact is left
    }
  }

  // 2. CURRENT's version, unless it is served already or known to fail.
  auto current = ReadCurrentVersion(dir);
  const std::string want = current.ok() ? *current : "";
  if (want != known.current) {
    known.current = want;
    known.failed.clear();  // a new CURRENT: every version gets a new chance
  }
  if (!damaged_version.empty()) known.failed[damaged_version] = damage;
  const std::string served_version = served ? served->version() : "";
  {
    absl::MutexLock lock(&mu_);
    ServingState& state = states_[name];
    state.current_version = want;
    if (served != nullptr && served_version == want) {
      state.note.clear();
      return;
    }
  }
  const absl::Status why_not_current = ServeCurrent(name, current, served_version, &known, events);
  if (why_not_current.ok()) return;
  const std::string note =
      absl::StrCat(want.empty() ? std::string("CURRENT") : absl::StrCat("CURRENT's version ", want),
                   " cannot be served: ", why_not_current.message());

  // 3. CURRENT cannot be served. An intact served version keeps serving.
  if (served != nullptr) {
    absl::MutexLock lock(&mu_);
    states_[name].note = note;
    return;
  }

  // 4. Nothing intact is served: the newest other version that opens.
  if (ServeNewestOther(name, dir, want, note, &known, events)) return;

  // 5. Nothing to serve. A damaged version is withdrawn: its answers would be zeros.
  if (auto damaged = Get(name); damaged != nullptr) {
    events->push_back(
        {RegistryEvent::Kind::kRemoved, name, damaged->version(), "",
         absl::DataLossError(absl::StrCat(note, "; and no older version is intact"))});
  }
  Serve(name, nullptr, absl::StrCat(note, "; no older version is intact"));
}

absl::Status CollectionRegistry::ServeCurrent(const std::string& name,
                                              const absl::StatusOr<std::string>& current,
                                              const std::string& served_version, Known* known,
                                              std::vector<RegistryEvent>* events) {
  if (!current.ok()) {
    if (!known->failed.contains("CURRENT")) {
      known->failed["CURRENT"] = current.status();
      events->push_back(
          {RegistryEvent::Kind::kRejected, name, "CURRENT", served_version, current.status()});
    }
    return current.status();
  }
  const std::string& want = *current;
  if (auto f = known->failed.find(want); f != known->failed.end()) return f->second;
  auto opened = OpenVersion(name, want);
  if (!opened.ok()) {
    known->failed[want] = opened.status();
    events->push_back(
        {RegistryEvent::Kind::kRejected, name, want, served_version, opened.status()});
    return opened.status();
  }
  const std::string previous = Get(name) ? Get(name)->version() : "";
  Serve(name, std::shared_ptr<const Collection>(std::move(*opened)), "");
  events->push_back(
      {previous.empty() ? RegistryEvent::Kind::kLoaded : RegistryEvent::Kind::kReplaced, name, want,
       previous, absl::OkStatus()});
  return absl::OkStatus();
}

bool CollectionRegistry::ServeNewestOther(const std::string& name, const std::string& dir,
                                          const std::string& want, const std::string& note,
                                          Known* known, std::vector<RegistryEvent>* events) {
  auto versions = ListVersions(dir);
  if (!versions.ok()) return false;
  for (auto v = versions->rbegin(); v != versions->rend(); ++v) {
    if (*v == want || known->failed.contains(*v)) continue;
    auto opened = OpenVersion(name, *v);
    if (!opened.ok()) {
      known->failed[*v] = opened.status();
      events->push_back({RegistryEvent::Kind::kRejected, name, *v, "", opened.status()});
      continue;
    }
    const std::string previous = Get(name) ? Get(name)->version() : "";
    Serve(name, std::shared_ptr<const Collection>(std::move(*opened)), note);
    events->push_back(
        {RegistryEvent::Kind::kFallback, name, *v, previous, absl::DataLossError(note)});
    return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<Collection>> CollectionRegistry::OpenVersion(
    const std::string& name, const std::string& version) const {
  auto opened = Collection::Open((fs::path(root_) / name / version).string(), options_);
  if (opened.ok() && (*opened)->name() != name) {
    return absl::DataLossError(absl::StrCat("manifest names collection '", (*opened)->name(),
                                            "', but it is in directory '", name, "'"));
  }
  return opened;
}

ServingState CollectionRegistry::State(absl::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = states_.find(name);
  return it == states_.end() ? ServingState{} : it->second;
}

std::shared_ptr<const Collection> CollectionRegistry::Get(absl::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = served_.find(name);
  return it == served_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Collection>> CollectionRegistry::List() const {
  std::vector<std::shared_ptr<const Collection>> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, c] : served_) out.push_back(c);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a->name() < b->name(); });
  return out;
}

Reloader::Reloader(CollectionRegistry* registry, absl::Duration interval, Report report)
    : registry_(registry), interval_(interval), report_(std::move(report)) {
  thread_ = std::thread([this] { Loop(); });
}

Reloader::~Reloader() {
  Stop();
}

void Reloader::Trigger() {
  absl::MutexLock lock(&mu_);
  triggered_ = true;
}

void Reloader::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Reloader::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return triggered_ || stop_; };
      mu_.AwaitWithTimeout(absl::Condition(&wake), interval_);
      if (stop_) return;
      triggered_ = false;
    }
    report_(registry_->Refresh());
  }
}

}  // namespace simsearch
