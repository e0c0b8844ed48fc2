// Small POSIX file helpers returning absl::Status with the path and errno text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace simsearch {

// Whole file into a string.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Writes `data` to `path` (created or truncated) and fsyncs it.
absl::Status WriteStringToFile(const std::string& path, absl::string_view data);

// Writes `data` to a temporary file beside `path`, fsyncs it, and renames it over
// `path`, then fsyncs the directory: readers see the old or the new content, never
// a mix.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view data);

// fsync on a directory, making renames inside it durable.
absl::Status SyncDirectory(const std::string& dir);

// Recreates the files under `from` beneath `to` (created), hard-linking each file where
// the filesystem allows and copying it otherwise.
absl::Status LinkOrCopyTree(const std::string& from, const std::string& to);

// Removes a directory tree; a missing path is not an error.
absl::Status RemoveTree(const std::string& path);

// An error status for a failed system call: "<what> <path>: <strerror(errno)>".
absl::Status ErrnoStatus(absl::string_view what, absl::string_view path, int err);

// A file opened for buffered writing; Close() flushes, fsyncs and reports errors
// (including write errors seen earlier, such as a full disk).
class FileWriter {
 public:
  static absl::StatusOr<FileWriter> Create(const std::string& path);
  FileWriter(FileWriter&& other) noexcept;
  FileWriter& operator=(FileWriter&& other) noexcept;
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;
  ~FileWriter();

  absl::Status Append(const void* data, size_t size);
  absl::Status Append(absl::string_view s) { return Append(s.data(), s.size()); }
  absl::Status Close();
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  FileWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  absl::Status Flush();

  int fd_ = -1;
  std::string path_;
  std::string buffer_;
  uint64_t bytes_written_ = 0;
};

}  // namespace simsearch
