// Content checksums of bundle files: XXH3-64, written as 16 lowercase hex digits.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace simsearch {

struct FileChecksum {
  uint64_t bytes = 0;
  std::string xxh3;  // 16 lowercase hex digits
};

// Streams the file through XXH3-64.
absl::StatusOr<FileChecksum> ChecksumFile(const std::string& path);

}  // namespace simsearch
