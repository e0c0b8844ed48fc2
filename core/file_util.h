// Small POSIX file helpers returning absl::Status with the path and errno text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace simsearch {

// Whole file into a string.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);
// Reads `path` from start to end, handing `consume` each piece read (at most `chunk`
// bytes, at least 1; EINTR is retried). Errors name the path. `size_hint` is called
// first with the file's size from fstat, 0 when unknown.
absl::Status ReadFileInChunks(
    const std::string& path, size_t chunk,
    absl::FunctionRef<void(const char* data, size_t size)> consume,
    absl::FunctionRef<void(uint64_t size)> size_hint = [](uint64_t) {});
// Writes all `size` bytes to `fd`, retrying EINTR and short writes: 0, or the errno.
int WriteFully(int fd, const void* data, size_t size);
// A PEM file (certificate, key, CA) for the command-line `flag`: errors name the flag
// and the file, and a file without a "-----BEGIN " line is not PEM.
absl::StatusOr<std::string> ReadPemFile(absl::string_view flag, const std::string& path);

// Writes `data` as the new content of `path` through a FileWriter: readers (and every
// other name of the old file) see the old or the new content, never a mix.
absl::Status WriteStringToFile(const std::string& path, absl::string_view data);

// fsync on a directory, making renames inside it durable.
absl::Status SyncDirectory(const std::string& dir);

// Copies the file `from` to `to` as a new file (written beside `to` and renamed into
// place, like FileWriter). The copy never shares an inode with `from`: it shares data
// blocks only where the file system can clone them (FICLONE: btrfs, XFS), which is
// copy-on-write, and otherwise copies in the kernel (copy_file_range) or by read/write.
absl::Status CopyFile(const std::string& from, const std::string& to);

// Recreates the regular files and directories under `from` beneath `to` (created) with
// CopyFile. Symbolic links and other special files are an error.
absl::Status CopyTree(const std::string& from, const std::string& to);

// True for the name of a FileWriter's temporary file (".<name>.tmp-<pid>-<random>"):
// one found in a directory no writer is using is the leftover of a killed process.
bool IsTemporaryFileName(absl::string_view name);

// Removes a directory tree; a missing path is not an error.
absl::Status RemoveTree(const std::string& path);

// An error status for a failed system call: "<what> <path>: <strerror(errno)>".
absl::Status ErrnoStatus(absl::string_view what, absl::string_view path, int err);

// A new file, written whole and then published under its name. Writes go to a
// temporary file beside `path` (".<name>.tmp-<pid>-<random>"); Close() flushes, fsyncs,
// renames it over `path` and fsyncs the directory, and reports every error seen
// (including earlier write errors, such as a full disk). An existing file at `path` is
// replaced, never written in place, so other names (hard links) of the old file and
// processes that have it memory-mapped keep the old content. Destroyed without a
// successful Close(), the writer removes its temporary file and `path` is untouched.
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
  friend absl::Status CopyFile(const std::string& from, const std::string& to);
  FileWriter(int fd, std::string path, std::string tmp_path)
      : fd_(fd), path_(std::move(path)), tmp_path_(std::move(tmp_path)) {}
  absl::Status Flush();
  void Abandon();  // closes and removes the temporary file

  int fd_ = -1;
  std::string path_;      // where Close() publishes the file
  std::string tmp_path_;  // where it is written until then
  std::string buffer_;
  uint64_t bytes_written_ = 0;
};

}  // namespace simsearch
