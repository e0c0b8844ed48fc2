#include "core/array_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/checked_math.h"
#include "core/file_util.h"

namespace simsearch {
namespace {

size_t ElementSize(ArrayDType t) {
  switch (t) {
    case ArrayDType::kFloat32:
    case ArrayDType::kUInt32:
      return 4;
    case ArrayDType::kInt64:
      return 8;
    case ArrayDType::kUInt8:
      return 1;
    case ArrayDType::kFloat16:
      return 2;
  }
  return 8;
}

const char* DTypeName(uint32_t t) {
  switch (static_cast<ArrayDType>(t)) {
    case ArrayDType::kFloat32:
      return "float32";
    case ArrayDType::kInt64:
      return "int64";
    case ArrayDType::kUInt8:
      return "uint8";
    case ArrayDType::kUInt32:
      return "uint32";
    case ArrayDType::kFloat16:
      return "float16";
  }
  return "unknown";
}

absl::Status WriteArray(const std::string& path, ArrayDType dtype, const void* x, uint64_t count,
                        uint64_t dims, uint32_t flags) {
  ArrayFileHeader h{};
  std::memcpy(h.magic, kArrayFileMagic, sizeof(h.magic));
  h.version = kArrayFileVersion;
  h.dtype = static_cast<uint32_t>(dtype);
  h.dims = dims;
  h.count = count;
  h.data_offset = sizeof(ArrayFileHeader);
  h.flags = flags;
  auto w = FileWriter::Create(path);
  if (!w.ok()) return w.status();
  if (auto st = w->Append(&h, sizeof(h)); !st.ok()) return st;
  if (count * dims > 0) {
    if (auto st = w->Append(x, count * dims * ElementSize(dtype)); !st.ok()) return st;
  }
  return w->Close();
}

absl::Status CheckHeader(const ArrayFileHeader& h, const std::string& path) {
  if (std::memcmp(h.magic, kArrayFileMagic, sizeof(h.magic)) != 0) {
    return absl::DataLossError(absl::StrCat(path, ": not a simsearch array file (bad magic)"));
  }
  if (h.version != kArrayFileVersion) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": array file version ", h.version,
                                                      " is not supported (this build reads ",
                                                      kArrayFileVersion, ")"));
  }
  if (h.dtype < static_cast<uint32_t>(ArrayDType::kFloat32) ||
      h.dtype > static_cast<uint32_t>(ArrayDType::kFloat16)) {
    return absl::DataLossError(absl::StrCat(path, ": unknown dtype code ", h.dtype));
  }
  if (h.data_offset != sizeof(ArrayFileHeader)) {
    return absl::DataLossError(absl::StrCat(path, ": bad data offset ", h.data_offset));
  }
  if (h.dims == 0 || h.dims > (1u << 20) || h.count > (uint64_t{1} << 40)) {
    return absl::DataLossError(absl::StrCat(path, ": implausible shape ", h.count, " x ", h.dims));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFloatArrayFile(const std::string& path, const float* x, uint64_t count,
                                 uint64_t dims, uint32_t flags) {
  return WriteArray(path, ArrayDType::kFloat32, x, count, dims, flags);
}

absl::Status WriteInt64ArrayFile(const std::string& path, const int64_t* x, uint64_t count,
                                 uint64_t dims) {
  return WriteArray(path, ArrayDType::kInt64, x, count, dims, 0);
}

absl::Status WriteUInt8ArrayFile(const std::string& path, const uint8_t* x, uint64_t count) {
  return WriteArray(path, ArrayDType::kUInt8, x, count, 1, 0);
}

absl::Status WriteUInt32ArrayFile(const std::string& path, const uint32_t* x, uint64_t count,
                                  uint64_t dims) {
  return WriteArray(path, ArrayDType::kUInt32, x, count, dims, 0);
}

absl::Status WriteFloat16ArrayFile(const std::string& path, const uint16_t* x, uint64_t count,
                                   uint64_t dims) {
  return WriteArray(path, ArrayDType::kFloat16, x, count, dims, 0);
}

absl::StatusOr<ArrayFileHeader> ReadArrayFileHeader(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", path, errno);
  ArrayFileHeader h{};
  ssize_t n = ::pread(fd, &h, sizeof(h), 0);
  int err = errno;
  ::close(fd);
  if (n < 0) return ErrnoStatus("cannot read", path, err);
  if (static_cast<size_t>(n) < sizeof(h)) {
    return absl::DataLossError(
        absl::StrCat(path, ": truncated header (", n, " of ", sizeof(h), " bytes)"));
  }
  if (auto st = CheckHeader(h, path); !st.ok()) return st;
  return h;
}

absl::StatusOr<MappedArray> MappedArray::Open(const std::string& path, ArrayDType expected) {
  MappedArray a;
  // The header by pread, not through the mapping: opening touches no mapped page
  // (core/mapped_file.h says why that matters for a cold start).
  auto file = MappedFile::Open(path, &a.header_, sizeof(ArrayFileHeader));
  if (!file.ok()) return file.status();
  if (file->size() < sizeof(ArrayFileHeader)) {
    return absl::DataLossError(absl::StrCat(path, ": truncated header (", file->size(), " of ",
                                            sizeof(ArrayFileHeader), " bytes)"));
  }
  if (auto st = CheckHeader(a.header_, path); !st.ok()) return st;
  if (a.header_.dtype != static_cast<uint32_t>(expected)) {
    return absl::DataLossError(absl::StrCat(path, ": holds ", DTypeName(a.header_.dtype),
                                            ", expected ",
                                            DTypeName(static_cast<uint32_t>(expected))));
  }
  uint64_t want = 0;
  if (!CheckedProduct({a.header_.count, a.header_.dims, ElementSize(expected)}, &want) ||
      !CheckedAdd(want, a.header_.data_offset, &want)) {
    want = UINT64_MAX;  // reported below: no file is that large
  }
  if (file->size() != want) {
    return absl::DataLossError(
        absl::StrCat(path, ": size ", file->size(), " bytes does not match its header (",
                     a.header_.count, " x ", a.header_.dims, " ", DTypeName(a.header_.dtype), " = ",
                     want, " bytes); the file is truncated or corrupt"));
  }
  a.file_ = *std::move(file);
  a.data_ = a.file_.data() + a.header_.data_offset;
  return a;
}

}  // namespace simsearch
