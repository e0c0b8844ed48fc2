// The collections an engine serves, found under an index root, and their hot reload.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/collection.h"

namespace simsearch {

// One thing a refresh did, for the caller to log.
struct RegistryEvent {
  enum class Kind {
    kLoaded,    // a collection is served for the first time
    kReplaced,  // a new version replaced the served one
    kRejected,  // a version failed to open or verify; the previous one (if any) stays
    kRemoved,   // the collection's directory is gone; it is no longer served
  };
  Kind kind;
  std::string collection;
  std::string version;           // the version opened, rejected or removed
  std::string previous_version;  // kReplaced: the version replaced
  absl::Status status;           // kRejected: why
};

std::string DescribeEvent(const RegistryEvent& e);

class CollectionRegistry {
 public:
  // Serves every ROOT/<name>/ that has a CURRENT file.
  CollectionRegistry(std::string root, CollectionOptions options);

  // Rescans the root. New collections and versions are opened beside the served ones
  // and swapped in atomically: a search that already holds the old version finishes
  // on it. A version that fails is rejected (and not retried until CURRENT changes);
  // the old version keeps serving. Fails only when the root itself cannot be read.
  absl::StatusOr<std::vector<RegistryEvent>> Refresh();

  // The served version of `name`, or nullptr.
  std::shared_ptr<const Collection> Get(absl::string_view name) const;
  // Every served collection, sorted by name.
  std::vector<std::shared_ptr<const Collection>> List() const;
  const std::string& root() const { return root_; }

 private:
  const std::string root_;
  const CollectionOptions options_;
  absl::Mutex refresh_mu_;  // one refresh at a time
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const Collection>> served_ ABSL_GUARDED_BY(mu_);
  // Last version that failed per collection, so a bad version is reported once.
  absl::flat_hash_map<std::string, std::string> rejected_ ABSL_GUARDED_BY(refresh_mu_);
};

// Calls registry->Refresh() every `interval` and whenever Trigger() is called (SIGHUP),
// on its own thread, reporting each result to `report`.
class Reloader {
 public:
  using Report = std::function<void(const absl::StatusOr<std::vector<RegistryEvent>>&)>;
  Reloader(CollectionRegistry* registry, absl::Duration interval, Report report);
  ~Reloader();  // stops the thread
  void Trigger();
  void Stop();

 private:
  void Loop();
  CollectionRegistry* registry_;
  absl::Duration interval_;
  Report report_;
  absl::Mutex mu_;
  bool triggered_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace simsearch
