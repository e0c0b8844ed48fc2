#include "models/text/safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/checked_math.h"

namespace simsearch::text {

using json = nlohmann::json;

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F;
  const uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      uint32_t e = 127 - 15 + 1;
      uint32_t m = mant;
      while ((m & 0x400) == 0) {
        m <<= 1;
        --e;
      }
      bits = sign | (e << 23) | ((m & 0x3FF) << 13);
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // Inf / NaN
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float BFloat16ToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {

// The entry of tensor `name` in the header of the file at `path`, checked: a supported
// dtype, a shape whose bytes fit in 64 bits, and data_offsets that hold exactly that
// shape inside the file's `data_size` data bytes.
absl::StatusOr<TensorInfo> ParseTensorInfo(const std::string& path, const std::string& name,
                                           const json& t, uint64_t data_size) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": tensor '", name, "': ", why));
  };
  if (!t.is_object() || !t.contains("dtype") || !t["dtype"].is_string() || !t.contains("shape") ||
      !t["shape"].is_array() || !t.contains("data_offsets") || !t["data_offsets"].is_array() ||
      t["data_offsets"].size() != 2) {
    return bad("needs dtype, shape and data_offsets");
  }
  TensorInfo info;
  info.dtype = t["dtype"].get<std::string>();
  uint64_t elem;
  if (info.dtype == "F32") {
    elem = 4;
  } else if (info.dtype == "F16" || info.dtype == "BF16") {
    elem = 2;
  } else {
    return bad(absl::StrCat("dtype ", info.dtype, " is not supported (F32, F16, BF16)"));
  }
  uint64_t count = 1;
  for (const json& d : t["shape"]) {
    if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0)) {
      return bad("shape must be non-negative integers");
    }
    if (d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return bad("shape dimension too large");
    info.shape.push_back(d.get<int64_t>());
    if (!CheckedMul(count, static_cast<uint64_t>(info.shape.back()), &count)) {
      return bad(absl::StrCat("shape [", absl::StrJoin(info.shape, ", "),
                              ", ...] is larger than any file"));
    }
  }
  uint64_t bytes = 0;
  if (!CheckedMul(count, elem, &bytes)) {
    return bad(
        absl::StrCat("shape [", absl::StrJoin(info.shape, ", "), "] is larger than any file"));
  }
  const json& off = t["data_offsets"];
  if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
    return bad("data_offsets must be non-negative integers");
  }
  info.begin = off[0].get<uint64_t>();
  info.end = off[1].get<uint64_t>();
  if (info.end < info.begin || info.end - info.begin != bytes) {
    return bad(absl::StrCat("data_offsets [", info.begin, ", ", info.end, ") do not hold shape [",
                            absl::StrJoin(info.shape, ", "), "] of ", info.dtype));
  }
  if (info.end > data_size) {
    return bad(absl::StrCat("data ends at byte ", info.end, " but the file holds ", data_size,
                            " data bytes: truncated"));
  }
  return info;
}

}  // namespace

absl::StatusOr<SafeTensors> SafeTensors::Open(const std::string& path) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  SafeTensors st;
  st.path_ = path;
  const size_t size = file->size();
  if (size < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": truncated (", size,
                     " bytes; a safetensors file starts with an 8-byte header length)"));
  }
  uint64_t header_len;
  std::memcpy(&header_len, file->data(), 8);
  if (header_len > size - 8 || header_len > (uint64_t{100} << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": header length ", header_len, " exceeds the file (", size, " bytes): truncated?"));
  }
  const char* hp = reinterpret_cast<const char*>(file->data() + 8);
  json header = json::parse(hp, hp + header_len, nullptr, false);
  if (header.is_discarded() || !header.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": header is not a JSON object"));
  }
  st.data_start_ = 8 + header_len;
  const uint64_t data_size = size - st.data_start_;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    auto info = ParseTensorInfo(path, it.key(), it.value(), data_size);
    if (!info.ok()) return info.status();
    st.tensors_[it.key()] = *std::move(info);
  }
  st.file_ = *std::move(file);
  return st;
}

absl::StatusOr<std::vector<float>> SafeTensors::Get(const std::string& name,
                                                    const std::vector<int64_t>& shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": no tensor '", name, "'"));
  }
  const TensorInfo& t = it->second;
  if (t.shape != shape) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": tensor '", name, "' has shape [", absl::StrJoin(t.shape, ", "),
                     "], the config needs [", absl::StrJoin(shape, ", "), "]"));
  }
  const unsigned char* p = file_.data() + data_start_ + t.begin;
  const size_t n = (t.end - t.begin) / (t.dtype == "F32" ? 4 : 2);
  std::vector<float> out(n);
  if (t.dtype == "F32") {
    std::memcpy(out.data(), p, n * 4);
  } else {
    for (size_t k = 0; k < n; ++k) {
      uint16_t h;
      std::memcpy(&h, p + 2 * k, 2);
      out[k] = t.dtype == "F16" ? HalfToFloat(h) : BFloat16ToFloat(h);
    }
  }
  return out;
}

}  // namespace simsearch::text
