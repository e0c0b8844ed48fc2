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
    kRemoved,   // the collection's directory is gone, or nothing intact is left to serve
    kDamaged,   // a file of the served version changed on disk; it is being replaced
    kFallback,  // CURRENT's version cannot be served: an older intact one is served
  };
  Kind kind;
  std::string collection;
  std::string version;           // the version opened, rejected or removed
  std::string previous_version;  // kReplaced, kFallback: the version replaced (if any)
  absl::Status status;           // kRejected, kDamaged, kFallback, kRemoved: why
};

// Why a collection serves what it serves, for describe output and metrics.
struct ServingState {
  std::string current_version;  // what CURRENT names ("" when unreadable)
  std::string served_version;   // what is served ("" when nothing)
  std::string note;             // empty when CURRENT's version is served; else why not
};

std::string DescribeEvent(const RegistryEvent& e);

class CollectionRegistry {
 public:
  // Serves every ROOT/<name>/ that has a CURRENT file.
  CollectionRegistry(std::string root, CollectionOptions options);

  // Rescans the root. New collections and versions are opened beside the served ones
  // and swapped in atomically: a search that already holds the old version finishes
  // on it. A version that fails is rejected (and not retried until CURRENT changes);
  // the old version keeps serving. With nothing intact served (at start, or after the
  // served version was damaged on disk), the newest older version that opens is
  // served instead (kFallback). The served versions' files are checked on every
  // refresh (sizes, and faults seen through their mappings). Fails only when the root
  // itself cannot be read.
  absl::StatusOr<std::vector<RegistryEvent>> Refresh();

  // The served version of `name`, or nullptr.
  std::shared_ptr<const Collection> Get(absl::string_view name) const;
  // What CURRENT names and why the served version differs, for every collection with
  // a CURRENT file (served or not).
  ServingState State(absl::string_view name) const;
  // Every served collection, sorted by name.
  std::vector<std::shared_ptr<const Collection>> List() const;
  const std::string& root() const { return root_; }

 private:
  const std::string root_;
  const CollectionOptions options_;
  absl::Mutex refresh_mu_;  // one refresh at a time
  mutable absl::Mutex mu_;
  // Per collection, during one Refresh.
  struct Known {
    std::string current;  // CURRENT as last read
    // Versions that failed to open (or were damaged) since CURRENT last changed, with
    // why: not retried, and reported once.
    absl::flat_hash_map<std::string, absl::Status> failed;
  };
  void RefreshOne(const std::string& name, std::vector<RegistryEvent>* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(refresh_mu_);
  // RefreshOne's steps. Serves CURRENT's version (`current`: what CURRENT names, or why
  // it cannot be read) unless it is known to fail; returns why it is not served (OK
  // when it now is), a new failure reported and remembered in `known`.
  absl::Status ServeCurrent(const std::string& name, const absl::StatusOr<std::string>& current,
                            const std::string& served_version, Known* known,
                            std::vector<RegistryEvent>* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(refresh_mu_);
  // Serves the newest version in `dir` other than `want` that opens (kFallback, with
  // `note`); false when none does.
  bool ServeNewestOther(const std::string& name, const std::string& dir, const std::string& want,
                        const std::string& note, Known* known, std::vector<RegistryEvent>* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(refresh_mu_);
  void Serve(const std::string& name, std::shared_ptr<const Collection> c, std::string note);
  absl::StatusOr<std::unique_ptr<Collection>> OpenVersion(const std::string& name,
                                                          const std::string& version) const;

  absl::flat_hash_map<std::string, std::shared_ptr<const Collection>> served_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ServingState> states_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Known> known_ ABSL_GUARDED_BY(refresh_mu_);
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
