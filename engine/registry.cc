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
      return absl::StrCat("reloaded collection '", e.collection, "': ", e.previous_version,
                          " -> ", e.version);
    case RegistryEvent::Kind::kRejected:
      return absl::StrCat("rejected collection '", e.collection, "' version ", e.version, ": ",
                          e.status.message(),
                          e.previous_version.empty()
                              ? std::string(" (not served)")
                              : absl::StrCat(" (still serving ", e.previous_version, ")"));
    case RegistryEvent::Kind::kRemoved:
      return absl::StrCat("collection '", e.collection, "' removed from the index root; ",
                          "no longer served (was ", e.version, ")");
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
  for (const std::string& name : names) {
    const std::string dir = (fs::path(root_) / name).string();
    std::shared_ptr<const Collection> served = Get(name);
    const std::string served_version = served ? served->version() : "";
    auto current = ReadCurrentVersion(dir);
    if (!current.ok()) {
      if (rejected_[name] != "CURRENT") {
        rejected_[name] = "CURRENT";
        events.push_back({RegistryEvent::Kind::kRejected, name, "CURRENT", served_version,
                          current.status()});
      }
      continue;
    }
    if (*current == served_version) continue;
    auto it = rejected_.find(name);
    if (it != rejected_.end() && it->second == *current) continue;
    // Opened without holding mu_: searches go on against the served version.
    auto opened = Collection::Open((fs::path(dir) / *current).string(), options_);
    if (opened.ok() && (*opened)->name() != name) {
      opened = absl::DataLossError(absl::StrCat("manifest names collection '",
                                                (*opened)->name(), "', but it is in directory '",
                                                name, "'"));
    }
    if (!opened.ok()) {
      rejected_[name] = *current;
      events.push_back({RegistryEvent::Kind::kRejected, name, *current, served_version,
                        opened.status()});
      continue;
    }
    rejected_.erase(name);
    {
      absl::MutexLock lock(&mu_);
      served_[name] = std::shared_ptr<const Collection>(std::move(*opened));
    }
    events.push_back({served ? RegistryEvent::Kind::kReplaced : RegistryEvent::Kind::kLoaded,
                      name, *current, served_version, absl::OkStatus()});
  }
  // Collections whose directory disappeared.
  std::vector<std::string> gone;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, c] : served_) {
      if (!std::binary_search(names.begin(), names.end(), name)) gone.push_back(name);
    }
    for (const std::string& name : gone) {
      events.push_back({RegistryEvent::Kind::kRemoved, name, served_[name]->version(), "",
                        absl::OkStatus()});
      served_.erase(name);
    }
  }
  return events;
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
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->name() < b->name(); });
  return out;
}

Reloader::Reloader(CollectionRegistry* registry, absl::Duration interval, Report report)
    : registry_(registry), interval_(interval), report_(std::move(report)) {
  thread_ = std::thread([this] { Loop(); });
}

Reloader::~Reloader() { Stop(); }

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
