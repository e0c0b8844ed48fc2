#include "core/file_util.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace simsearch {

absl::Status ErrnoStatus(absl::string_view what, absl::string_view path, int err) {
  std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::Status ReadFileInChunks(const std::string& path, size_t chunk,
                              absl::FunctionRef<void(const char* data, size_t size)> consume,
                              absl::FunctionRef<void(uint64_t size)> size_hint) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", path, errno);
  struct stat st;
  size_hint(::fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<uint64_t>(st.st_size) : 0);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  std::vector<char> buf(std::max<size_t>(chunk, 1));
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot read", path, errno);
    }
    if (n == 0) return absl::OkStatus();
    consume(buf.data(), static_cast<size_t>(n));
  }
}

int WriteFully(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  for (size_t off = 0; off < size;) {
    ssize_t n = ::write(fd, p + off, size - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    off += static_cast<size_t>(n);
  }
  return 0;
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::string out;
  absl::Status st = ReadFileInChunks(
      path, 1 << 16, [&](const char* data, size_t size) { out.append(data, size); },
      [&](uint64_t size) { out.reserve(size); });
  if (!st.ok()) return st;
  return out;
}

absl::Status WriteStringToFile(const std::string& path, absl::string_view data) {
  auto writer = FileWriter::Create(path);
  if (!writer.ok()) return writer.status();
  if (auto st = writer->Append(data); !st.ok()) return st;
  return writer->Close();
}

absl::Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("cannot fsync directory", dir, err);
  return absl::OkStatus();
}

namespace {

constexpr char kTmpMarker[] = ".tmp-";

std::string ParentDir(const std::string& path) {
  std::filesystem::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : ".";
}

// Copies the bytes of open file `in` (of `size` bytes) to open file `out`: a clone where
// the file system shares blocks copy-on-write, else in-kernel, else by read/write.
absl::Status CopyContent(int in, int out, uint64_t size, const std::string& from) {
  if (::ioctl(out, FICLONE, in) == 0) return absl::OkStatus();
  uint64_t done = 0;
  bool kernel_copy = true;
  while (done < size) {
    ssize_t n = -1;
    if (kernel_copy) {
      n = ::copy_file_range(in, nullptr, out, nullptr, size - done, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
        kernel_copy = false;  // not between these file systems: copy through user space
        continue;
      }
    } else {
      char buf[1 << 16];
      n = ::pread(in, buf, sizeof(buf), static_cast<off_t>(done));
      if (n > 0) {
        if (int err = WriteFully(out, buf, static_cast<size_t>(n)); err != 0) {
          return ErrnoStatus("cannot write a copy of", from, err);
        }
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot copy", from, errno);
    if (n == 0) {
      return absl::DataLossError(
          absl::StrCat(from, ": file shrank to ", done, " bytes while it was being copied"));
    }
    done += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

bool IsTemporaryFileName(absl::string_view name) {
  return name.size() > 1 && name[0] == '.' && name.find(kTmpMarker) != absl::string_view::npos;
}

absl::Status CopyFile(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return ErrnoStatus("cannot open", from, errno);
  struct stat st;
  if (::fstat(in, &st) != 0) {
    int err = errno;
    ::close(in);
    return ErrnoStatus("cannot stat", from, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(in);
    return absl::InvalidArgumentError(absl::StrCat(from, ": not a regular file"));
  }
  auto w = FileWriter::Create(to);
  if (!w.ok()) {
    ::close(in);
    return w.status();
  }
  absl::Status copied = CopyContent(in, w->fd_, static_cast<uint64_t>(st.st_size), from);
  ::close(in);
  if (!copied.ok()) return copied;  // the writer removes its temporary file
  w->bytes_written_ = static_cast<uint64_t>(st.st_size);
  return w->Close();
}

absl::Status CopyTree(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", to, ": ", ec.message()));
  for (fs::recursive_directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path target = fs::path(to) / fs::relative(it->path(), from);
    const fs::file_status status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(status)) {
      fs::create_directories(target, ec);
    } else if (fs::is_regular_file(status)) {
      // A killed writer's temporary file is not part of the tree.
      if (IsTemporaryFileName(it->path().filename().string())) continue;
      if (auto st = CopyFile(it->path().string(), target.string()); !st.ok()) return st;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          it->path().string(), ": not a regular file or directory; copy the real file there"));
    }
  }
  if (ec)
    return absl::InternalError(absl::StrCat("cannot copy ", from, " to ", to, ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot remove ", path, ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<FileWriter> FileWriter::Create(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string dir = ParentDir(path);
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string tmp =
        (std::filesystem::path(dir) /
         absl::StrFormat(".%s%s%d-%08x", p.filename().string(), kTmpMarker, ::getpid(), rd()))
            .string();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return FileWriter(fd, path, std::move(tmp));
    if (errno != EEXIST) return ErrnoStatus("cannot create", path, errno);
  }
  return absl::InternalError(absl::StrCat("cannot create a temporary file beside ", path));
}

FileWriter::FileWriter(FileWriter&& other) noexcept
    : fd_(other.fd_),
      path_(std::move(other.path_)),
      tmp_path_(std::move(other.tmp_path_)),
      buffer_(std::move(other.buffer_)),
      bytes_written_(other.bytes_written_) {
  other.fd_ = -1;
}

FileWriter& FileWriter::operator=(FileWriter&& other) noexcept {
  if (this != &other) {
    Abandon();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    tmp_path_ = std::move(other.tmp_path_);
    buffer_ = std::move(other.buffer_);
    bytes_written_ = other.bytes_written_;
    other.fd_ = -1;
  }
  return *this;
}

FileWriter::~FileWriter() {
  Abandon();
}

void FileWriter::Abandon() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_path_.c_str());
  fd_ = -1;
}

absl::Status FileWriter::Flush() {
  if (int err = WriteFully(fd_, buffer_.data(), buffer_.size()); err != 0) {
    return ErrnoStatus("cannot write", path_, err);
  }
  buffer_.clear();
  return absl::OkStatus();
}

absl::Status FileWriter::Append(const void* data, size_t size) {
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat("write after close: ", path_));
  constexpr size_t kBufferSize = 1 << 20;
  const char* p = static_cast<const char*>(data);
  if (buffer_.size() + size > kBufferSize) {
    if (auto st = Flush(); !st.ok()) return st;
  }
  if (size >= kBufferSize) {
    buffer_.assign(p, size);
    if (auto st = Flush(); !st.ok()) return st;
  } else {
    buffer_.append(p, size);
  }
  bytes_written_ += size;
  return absl::OkStatus();
}

absl::Status FileWriter::Close() {
  if (fd_ < 0) return absl::OkStatus();
  absl::Status st = Flush();
  if (st.ok() && ::fsync(fd_) != 0) st = ErrnoStatus("cannot fsync", path_, errno);
  if (!st.ok()) {
    Abandon();
    return st;
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    st = ErrnoStatus("cannot close", path_, errno);
  } else if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    st = ErrnoStatus("cannot rename into place", path_, errno);
  }
  if (!st.ok()) {
    ::unlink(tmp_path_.c_str());
    return st;
  }
  return SyncDirectory(ParentDir(path_));
}

absl::StatusOr<std::string> ReadPemFile(absl::string_view flag, const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok())
    return absl::Status(text.status().code(), absl::StrCat(flag, ": ", text.status().message()));
  if (text->find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", path, " is not a PEM file (no -----BEGIN line)"));
  }
  return text;
}

}  // namespace simsearch
