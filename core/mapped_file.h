// A read-only memory mapping of a whole file.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace simsearch {

class MappedFile {
 public:
  // Maps `path` read-only and shared: pages come from the page cache on first touch
  // and are shared by every process mapping the same file. An empty file maps to
  // data() == nullptr, size() == 0.
  static absl::StatusOr<MappedFile> Open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void Reset();
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace simsearch
