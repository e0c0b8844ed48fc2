#include "core/vector_input.h"

#include <cmath>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/csv.h"
#include "core/file_util.h"
#include "core/mapped_file.h"
#include "core/npy.h"

namespace simsearch {
namespace {

absl::StatusOr<VectorSet> ReadNpyVectors(const std::string& path) {
  auto a = ReadNpy(path);
  if (!a.ok()) return a.status();
  if (a->descr != "<f4" && a->descr != "<f8") {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": vectors must be float32 or float64, found dtype '", a->descr,
                     "'; convert with x.astype(np.float32)"));
  }
  if (a->shape.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": vectors must be a 2-D array (items x dims), found ", a->shape.size(),
                     " dimensions"));
  }
  VectorSet v;
  v.count = a->shape[0];
  v.dims = a->shape[1];
  if (v.count == 0 || v.dims == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": empty input (shape ", v.count, " x ", v.dims, ")"));
  }
  v.data.resize(v.count * v.dims);
  if (a->descr == "<f4") {
    std::memcpy(v.data.data(), a->data, v.data.size() * sizeof(float));
  } else {
    const unsigned char* src = a->data;
    for (size_t i = 0; i < v.data.size(); ++i) {
      double d;
      std::memcpy(&d, src + i * sizeof(double), sizeof(double));
      v.data[i] = static_cast<float>(d);
    }
  }
  return v;
}

absl::StatusOr<VectorSet> ReadFvecs(const std::string& path) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  const unsigned char* p = file->data();
  const size_t size = file->size();
  if (size == 0) return absl::InvalidArgumentError(absl::StrCat(path, ": empty input"));
  VectorSet v;
  size_t off = 0;
  while (off < size) {
    if (size - off < 4) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": row ", v.count, ": truncated (",
                                                     size - off,
                                                     " bytes left, need a 4-byte dimension)"));
    }
    int32_t d;
    std::memcpy(&d, p + off, 4);
    if (d <= 0 || d > (1 << 20)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": row ", v.count, ": invalid dimension ", d, " (not an .fvecs file?)"));
    }
    if (v.count == 0) {
      v.dims = static_cast<uint64_t>(d);
      v.data.reserve(size / (4 + 4 * v.dims) * v.dims);
    } else if (static_cast<uint64_t>(d) != v.dims) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": row ", v.count, ": ragged rows: dimension ", d, " but row 0 has ", v.dims));
    }
    off += 4;
    const size_t bytes = v.dims * sizeof(float);
    if (size - off < bytes) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": row ", v.count, ": truncated (",
                                                     size - off, " of ", bytes, " bytes)"));
    }
    const size_t at = v.data.size();
    v.data.resize(at + v.dims);
    std::memcpy(v.data.data() + at, p + off, bytes);
    off += bytes;
    ++v.count;
  }
  return v;
}

bool ParseFloat(absl::string_view s, float* out) {
  s = absl::StripAsciiWhitespace(s);
  if (s.empty()) return false;
  // absl::SimpleAtof accepts "nan"/"inf"; CheckFinite reports those with their row.
  return absl::SimpleAtof(s, out);
}

absl::StatusOr<VectorSet> ReadCsvVectors(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  CsvReader reader(*text, path);
  VectorSet v;
  std::vector<std::string> fields;
  bool first = true;
  for (;;) {
    auto more = reader.Next(&fields);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (fields.size() == 1 && absl::StripAsciiWhitespace(fields[0]).empty()) continue;
    int64_t id;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(fields[0]), &id)) {
      if (first) {  // a header line
        first = false;
        continue;
      }
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": line ", reader.line(), ": id '", fields[0], "' is not an integer"));
    }
    first = false;
    if (fields.size() < 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": line ", reader.line(), ": expected id followed by vector components"));
    }
    const uint64_t d = fields.size() - 1;
    if (v.count == 0) {
      v.dims = d;
    } else if (d != v.dims) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", reader.line(),
                                                     ": ragged rows: ", d,
                                                     " components but earlier rows have ", v.dims));
    }
    for (uint64_t j = 0; j < d; ++j) {
      float x;
      if (!ParseFloat(fields[j + 1], &x)) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": line ", reader.line(), ", column ",
                                                       j + 2, ": '", fields[j + 1],
                                                       "' is not a number"));
      }
      v.data.push_back(x);
    }
    v.ids.push_back(id);
    ++v.count;
  }
  if (v.count == 0)
    return absl::InvalidArgumentError(absl::StrCat(path, ": empty input (no rows)"));
  return v;
}

}  // namespace

absl::StatusOr<VectorSet> ReadVectors(const std::string& path) {
  if (absl::EndsWithIgnoreCase(path, ".npy")) return ReadNpyVectors(path);
  if (absl::EndsWithIgnoreCase(path, ".fvecs")) return ReadFvecs(path);
  if (absl::EndsWithIgnoreCase(path, ".csv")) return ReadCsvVectors(path);
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": unknown vector format; use .npy, .fvecs or .csv"));
}

absl::StatusOr<std::vector<int64_t>> ReadIds(const std::string& path) {
  std::vector<int64_t> ids;
  if (absl::EndsWithIgnoreCase(path, ".npy")) {
    auto a = ReadNpy(path);
    if (!a.ok()) return a.status();
    const bool column = a->shape.size() == 2 && a->shape[1] == 1;
    if (a->shape.size() != 1 && !column) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ids must be a 1-D array, found ", a->shape.size(), " dimensions"));
    }
    if (a->descr != "<i8" && a->descr != "<i4") {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ids must be int64 or int32, found dtype '", a->descr, "'"));
    }
    ids.resize(a->elements());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (a->item_size == 8) {
        std::memcpy(&ids[i], a->data + 8 * i, 8);
      } else {
        int32_t x;
        std::memcpy(&x, a->data + 4 * i, 4);
        ids[i] = x;
      }
    }
  } else {
    auto text = ReadFileToString(path);
    if (!text.ok()) return text.status();
    size_t line = 0;
    for (absl::string_view l : absl::StrSplit(*text, '\n')) {
      ++line;
      l = absl::StripAsciiWhitespace(l);
      if (l.empty()) continue;
      int64_t id;
      if (!absl::SimpleAtoi(l, &id)) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": line ", line, ": '", l,
                                                       "' is not an integer id (one id per line)"));
      }
      ids.push_back(id);
    }
  }
  if (ids.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": empty input (no ids)"));
  return ids;
}

absl::Status CheckFinite(const VectorSet& v, const std::string& origin) {
  for (uint64_t i = 0; i < v.count; ++i) {
    const float* row = v.data.data() + i * v.dims;
    auto where = [&] {
      return v.ids.empty() ? absl::StrCat("row ", i)
                           : absl::StrCat("row ", i, " (id ", v.ids[i], ")");
    };
    double norm2 = 0;
    for (uint64_t j = 0; j < v.dims; ++j) {
      if (!std::isfinite(row[j])) {
        return absl::InvalidArgumentError(absl::StrCat(origin, ": ", where(), ", component ", j,
                                                       ": ", std::isnan(row[j]) ? "NaN" : "Inf",
                                                       " is not allowed"));
      }
      norm2 += double{row[j]} * row[j];
    }
    if (std::sqrt(norm2) > kMaxVectorNorm) {
      return absl::InvalidArgumentError(absl::StrCat(
          origin, ": ", where(), ": L2 norm ", std::sqrt(norm2), " is above ", kMaxVectorNorm,
          "; inner products with it would overflow float32: rescale the vectors"));
    }
  }
  return absl::OkStatus();
}

}  // namespace simsearch
