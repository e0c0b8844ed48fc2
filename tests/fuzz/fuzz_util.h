// Shared by the fuzz harnesses. The readers under test take file paths and choose the
// format by extension, so each input is written to one in-memory file (memfd) reused
// for the whole run, reachable under any extension through symlinks made once.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace simsearch::fuzz {

class InputFile {
 public:
  // The process's input file, holding `data` (replacing the previous input).
  static InputFile& With(const uint8_t* data, size_t size) {
    static InputFile* f = new InputFile();
    if (::ftruncate(f->fd_, 0) != 0) std::abort();
    for (size_t off = 0; off < size;) {
      ssize_t n = ::pwrite(f->fd_, data + off, size - off, static_cast<off_t>(off));
      if (n <= 0) std::abort();
      off += static_cast<size_t>(n);
    }
    return *f;
  }
  // A path to the input ending in `ext` (e.g. ".npy"), or the plain fd path for "".
  std::string Path(const std::string& ext = "") const {
    const std::string target = "/proc/self/fd/" + std::to_string(fd_);
    if (ext.empty()) return target;
    const std::string link = dir_ + "/input" + ext;
    std::error_code ec;
    if (!std::filesystem::is_symlink(link, ec)) std::filesystem::create_symlink(target, link, ec);
    return link;
  }
  // A scratch directory of this process (for harnesses that need a file tree).
  const std::string& dir() const { return dir_; }

 private:
  InputFile() : fd_(::memfd_create("fuzz-input", MFD_CLOEXEC)) {
    char tmpl[] = "/tmp/simsearch-fuzz-XXXXXX";
    if (fd_ < 0 || ::mkdtemp(tmpl) == nullptr) std::abort();
    dir_ = tmpl;
  }
  int fd_;
  std::string dir_;
};

}  // namespace simsearch::fuzz
