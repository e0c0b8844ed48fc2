#include "core/checksum.h"

#include <xxhash.h>

#include <memory>

#include "absl/strings/str_format.h"
#include "core/file_util.h"

namespace simsearch {

absl::StatusOr<FileChecksum> ChecksumFile(const std::string& path) {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                 &XXH3_freeState);
  XXH3_64bits_reset(state.get());
  FileChecksum out;
  absl::Status st = ReadFileInChunks(path, 1 << 20, [&](const char* data, size_t size) {
    XXH3_64bits_update(state.get(), data, size);
    out.bytes += size;
  });
  if (!st.ok()) return st;
  out.xxh3 = absl::StrFormat("%016x", XXH3_64bits_digest(state.get()));
  return out;
}

}  // namespace simsearch
