#include "core/npy.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/checked_math.h"
#include "core/file_util.h"

namespace simsearch {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

// Finds the value text of 'key' in the header dict, e.g. "'<f4'" or "(3, 4)".
bool DictValue(absl::string_view dict, absl::string_view key, absl::string_view* value) {
  std::string quoted1 = absl::StrCat("'", key, "'");
  std::string quoted2 = absl::StrCat("\"", key, "\"");
  size_t k = dict.find(quoted1);
  size_t klen = quoted1.size();
  if (k == absl::string_view::npos) {
    k = dict.find(quoted2);
    klen = quoted2.size();
  }
  if (k == absl::string_view::npos) return false;
  size_t colon = dict.find(':', k + klen);
  if (colon == absl::string_view::npos) return false;
  absl::string_view rest = absl::StripLeadingAsciiWhitespace(dict.substr(colon + 1));
  size_t end;
  if (!rest.empty() && rest[0] == '(') {
    end = rest.find(')');
    if (end == absl::string_view::npos) return false;
    ++end;
  } else if (!rest.empty() && (rest[0] == '\'' || rest[0] == '"')) {
    end = rest.find(rest[0], 1);
    if (end == absl::string_view::npos) return false;
    ++end;
  } else {
    end = rest.find_first_of(",}");
    if (end == absl::string_view::npos) end = rest.size();
  }
  *value = absl::StripAsciiWhitespace(rest.substr(0, end));
  return true;
}

absl::Status WriteNpy(const std::string& path, const std::string& descr,
                      const std::vector<uint64_t>& shape, const void* data, size_t bytes) {
  std::string shape_text;
  if (shape.size() == 1) {
    shape_text = absl::StrCat("(", shape[0], ",)");
  } else {
    shape_text = absl::StrCat("(", absl::StrJoin(shape, ", "), ")");
  }
  std::string dict =
      absl::StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape_text, ", }");
  // Pad with spaces and a final newline so the data starts on a 64-byte boundary.
  size_t total = kMagicLen + 2 + 2 + dict.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  dict.append(pad, ' ');
  dict.push_back('\n');
  std::string head(kMagic, kMagicLen);
  head.push_back('\x01');
  head.push_back('\x00');
  uint16_t hlen = static_cast<uint16_t>(dict.size());
  head.push_back(static_cast<char>(hlen & 0xff));
  head.push_back(static_cast<char>(hlen >> 8));
  head += dict;
  auto w = FileWriter::Create(path);
  if (!w.ok()) return w.status();
  if (auto st = w->Append(head); !st.ok()) return st;
  if (bytes > 0) {
    if (auto st = w->Append(data, bytes); !st.ok()) return st;
  }
  return w->Close();
}

// Where the header dict of an .npy file lies: bytes [start, start + len).
struct NpyHeader {
  size_t start;
  size_t len;
};

// Checks the magic and the format version, and that the header fits the file.
absl::StatusOr<NpyHeader> LocateHeader(const std::string& path, const unsigned char* p,
                                       size_t size) {
  if (size < kMagicLen + 4 || std::memcmp(p, kMagic, kMagicLen) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a NumPy .npy file (missing \\x93NUMPY magic)"));
  }
  const int major = p[6];
  NpyHeader h;
  if (major == 1) {
    h.len = p[8] | (size_t{p[9]} << 8);
    h.start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return absl::InvalidArgumentError(absl::StrCat(path, ": truncated .npy header"));
    h.len = p[8] | (size_t{p[9]} << 8) | (size_t{p[10]} << 16) | (size_t{p[11]} << 24);
    h.start = 12;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": unsupported .npy format version ", major));
  }
  if (h.start + h.len > size) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": truncated .npy header (", size,
                                                   " bytes in file, header needs ", h.start + h.len,
                                                   ")"));
  }
  return h;
}

// The item size of a supported dtype ("<f4", "|u1", ...), or 0.
size_t ItemSize(const std::string& descr) {
  if (descr == "|i1" || descr == "|u1" || descr == "|b1") return 1;
  if (descr == "<f2" || descr == "<i2" || descr == "<u2") return 2;
  if (descr == "<f4" || descr == "<i4" || descr == "<u4") return 4;
  if (descr == "<f8" || descr == "<i8" || descr == "<u8") return 8;
  return 0;
}

// Sets a->descr and a->item_size from the header's 'descr' and 'fortran_order' values.
absl::Status ParseDtype(const std::string& path, absl::string_view descr, absl::string_view fortran,
                        NpyArray* a) {
  if (descr.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": malformed dtype ", descr));
  }
  a->descr = std::string(descr.substr(1, descr.size() - 2));
  if (fortran != "False") {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": array is in Fortran order; save a C-ordered copy "
                     "(np.save(path, np.ascontiguousarray(x)))"));
  }
  a->item_size = ItemSize(a->descr);
  if (a->item_size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": dtype '", a->descr,
        "' is not supported (big-endian, complex, string and object arrays are not read)"));
  }
  return absl::OkStatus();
}

// Parses the header's 'shape' value, e.g. "(3, 4)" or "(5,)", into `shape`.
absl::Status ParseShape(const std::string& path, absl::string_view shape_text,
                        std::vector<uint64_t>* shape) {
  absl::string_view inner = shape_text;
  if (!absl::ConsumePrefix(&inner, "(") || !absl::ConsumeSuffix(&inner, ")")) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": malformed shape ", shape_text));
  }
  for (absl::string_view part : absl::StrSplit(inner, ',', absl::SkipWhitespace())) {
    uint64_t dim;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &dim)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": malformed shape ", shape_text));
    }
    shape->push_back(dim);
  }
  return absl::OkStatus();
}

// Checks that `have` data bytes are exactly prod(shape) * item size.
absl::Status CheckDataSize(const std::string& path, absl::string_view shape_text, const NpyArray& a,
                           uint64_t have) {
  // The shape is input: its product is checked, so a huge declared shape cannot wrap
  // around to match a small file.
  uint64_t need = a.item_size;
  for (uint64_t dim : a.shape) {
    if (!CheckedMul(need, dim, &need)) need = UINT64_MAX;
  }
  if (need == UINT64_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": shape ", shape_text, " of '", a.descr,
                                                   "' is larger than any file (", have,
                                                   " data bytes here)"));
  }
  if (have != need) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": data is ", have, " bytes but shape ", shape_text, " of '", a.descr, "' needs ",
        need, have < need ? " (the file is truncated)" : " (trailing bytes)"));
  }
  return absl::OkStatus();
}

}  // namespace

uint64_t NpyArray::elements() const {
  // ReadNpy checked that elements * item_size fits the file, so this cannot overflow.
  uint64_t n = 1;
  for (uint64_t s : shape) n *= s;
  return n;
}

absl::StatusOr<NpyArray> ReadNpy(const std::string& path) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  const unsigned char* p = file->data();
  const size_t size = file->size();
  auto header = LocateHeader(path, p, size);
  if (!header.ok()) return header.status();
  absl::string_view dict(reinterpret_cast<const char*>(p + header->start), header->len);
  absl::string_view descr, fortran, shape_text;
  if (!DictValue(dict, "descr", &descr) || !DictValue(dict, "fortran_order", &fortran) ||
      !DictValue(dict, "shape", &shape_text)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": malformed .npy header: ", absl::StripAsciiWhitespace(dict)));
  }
  NpyArray a;
  if (auto st = ParseDtype(path, descr, fortran, &a); !st.ok()) return st;
  if (auto st = ParseShape(path, shape_text, &a.shape); !st.ok()) return st;
  const size_t data_start = header->start + header->len;
  if (auto st = CheckDataSize(path, shape_text, a, size - data_start); !st.ok()) return st;
  a.data = p + data_start;
  a.file = *std::move(file);
  return a;
}

absl::Status WriteNpyFloat32(const std::string& path, const float* x, uint64_t rows,
                             uint64_t cols) {
  return WriteNpy(path, "<f4", {rows, cols}, x, rows * cols * sizeof(float));
}

absl::Status WriteNpyInt64(const std::string& path, const int64_t* x, uint64_t n) {
  return WriteNpy(path, "<i8", {n}, x, n * sizeof(int64_t));
}

}  // namespace simsearch
