// A read-only memory mapping of a whole file, and a guard that lets a process survive
// the file shrinking under its mapping.
//
// Reading a mapped page that lies beyond the end of a file that was truncated after
// mmap() raises SIGBUS, which kills the process. Bundles are immutable by contract, but
// a process serving them must survive a broken contract (an operator's `truncate`, a
// tool that rewrites in place, a full disk on a network file system). With the guard
// installed (InstallMappedFileGuard, by each program's main), a SIGBUS inside a
// registered mapping replaces that whole mapping with zero-filled pages and marks it
// damaged; the faulting read resumes and reads zeros. Callers check damage after
// reading (MappedFile::CheckIntact, DamagedMappings) and discard what they computed.
// The cost is nothing on the normal path: registration is a few atomic stores per
// mapping at open, the check one atomic load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace simsearch {

class MappedFile {
 public:
  // Maps `path` read-only and shared: pages come from the page cache on first touch
  // and are shared by every process mapping the same file. An empty file maps to
  // data() == nullptr, size() == 0. The mapping is registered with the guard.
  //
  // `head`, when given, receives the file's first `head_bytes` bytes (zeros past its
  // end), read with pread(2) before the mapping exists. A header read through the
  // mapping would fault the file in with mmap's read-around, which is the block device's
  // whole read-ahead window (8 MiB on this project's VMs): opening a bundle's 66 files
  // cold read 100 MB that way for 64-byte headers.
  static absl::StatusOr<MappedFile> Open(const std::string& path, void* head = nullptr,
                                         size_t head_bytes = 0);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // DataLoss naming the file when a read of this mapping faulted (the file shrank
  // after it was mapped): everything read from it since may be zeros.
  absl::Status CheckIntact() const;

 private:
  void Reset();
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
  int guard_slot_ = -1;
};

// Installs the process-wide SIGBUS handler (idempotent, thread-safe). A SIGBUS outside
// every registered mapping is passed on to the handler that was there before (by
// default: the process dies, as without the guard).
void InstallMappedFileGuard();

// Registers a mapping the caller made itself (e.g. FAISS's mapped inverted lists) with
// the guard, for as long as the returned object lives. `path` names it in reports.
class GuardedRegion {
 public:
  GuardedRegion() = default;
  GuardedRegion(const void* begin, size_t size, std::string path);
  GuardedRegion(GuardedRegion&& other) noexcept;
  GuardedRegion& operator=(GuardedRegion&& other) noexcept;
  GuardedRegion(const GuardedRegion&) = delete;
  GuardedRegion& operator=(const GuardedRegion&) = delete;
  ~GuardedRegion();
  absl::Status CheckIntact() const;

 private:
  int slot_ = -1;
  std::string path_;
};

// Paths of the live registered mappings that have faulted, in no particular order.
// Cheap when none has (one atomic load).
std::vector<std::string> DamagedMappings();

}  // namespace simsearch
