// ValidateHnswlibIndex, in a file of its own: it parses untrusted bytes, so it is built
// with the sanitizers in every sanitized build, while hnswlib_searcher.cc (which
// instantiates hnswlib) is not built with AddressSanitizer (engine/CMakeLists.txt).
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/mapped_file.h"
#include "core/status_macros.h"
#include "engine/hnswlib_searcher.h"

namespace simsearch {
namespace {

// hnswlib 0.6.2's file: a header of these fields, in this order, then every node's
// level-0 record (links, vector, label), then every node's upper-level links.
struct Header {
  uint64_t offset_level0, max_elements, count, size_data_per_element, label_offset, offset_data;
  int32_t max_level;
  uint32_t entry_point;
  uint64_t max_m, max_m0, m;
  double mult;
  uint64_t ef_construction;

  // The bytes of a level-0 link list and of an upper-level one (a count, then links).
  uint64_t links0() const { return max_m0 * 4 + 4; }
  uint64_t links() const { return max_m * 4 + 4; }
};
constexpr size_t kHeaderBytes = 6 * 8 + 4 + 4 + 3 * 8 + 8 + 8;

template <typename T>
T Read(absl::string_view data, size_t at) {
  T v;
  std::memcpy(&v, data.data() + at, sizeof(T));
  return v;
}

// The header at the start of `data` (at least kHeaderBytes).
Header ReadHeader(absl::string_view data) {
  Header h;
  size_t at = 0;
  auto next = [&](auto* field) {
    *field = Read<std::remove_pointer_t<decltype(field)>>(data, at);
    at += sizeof(*field);
  };
  next(&h.offset_level0), next(&h.max_elements), next(&h.count), next(&h.size_data_per_element);
  next(&h.label_offset), next(&h.offset_data), next(&h.max_level), next(&h.entry_point);
  next(&h.max_m), next(&h.max_m0), next(&h.m), next(&h.mult), next(&h.ef_construction);
  return h;
}

// What is wrong with a header for `count` vectors of `dims` dimensions; empty if nothing.
std::string HeaderProblem(const Header& h, uint64_t dims, uint64_t count) {
  if (h.count != count) return absl::StrCat("it holds ", h.count, " nodes");
  if (h.m < 2 || h.m > 1024 || h.max_m != h.m || h.max_m0 != 2 * h.m) {
    return absl::StrCat("M ", h.m, ", maxM ", h.max_m, ", maxM0 ", h.max_m0);
  }
  const uint64_t links0 = h.links0(), vector_bytes = dims * 4;
  if (h.offset_level0 != 0 || h.offset_data != links0 || h.label_offset != links0 + vector_bytes ||
      h.size_data_per_element != links0 + vector_bytes + 8) {
    return "the record layout does not match the dimensions";
  }
  if (h.max_level < 0 || h.max_level > 64 || h.entry_point >= count || !std::isfinite(h.mult) ||
      !(h.mult > 0)) {
    return absl::StrCat("max level ", h.max_level, ", entry point ", h.entry_point);
  }
  return "";
}

// Each node's level (from the size of its upper link block) and where its upper links
// start in the file.
struct UpperLevels {
  std::vector<int> level;
  std::vector<size_t> upper;
};

// Reads the upper link blocks of `count` nodes from offset `at` to the end of `data`;
// returns what is wrong with them, or empty.
std::string ReadUpperLevels(absl::string_view data, size_t at, const Header& h, uint64_t count,
                            UpperLevels* out) {
  out->level.assign(count, 0);
  out->upper.assign(count, 0);
  for (uint64_t i = 0; i < count; ++i) {
    if (data.size() - at < 4) return absl::StrCat("node ", i, "'s upper links are cut short");
    const uint32_t bytes = Read<uint32_t>(data, at);
    at += 4;
    if (bytes % h.links() != 0 || bytes / h.links() > static_cast<uint64_t>(h.max_level) ||
        data.size() - at < bytes) {
      return absl::StrCat("node ", i, " has an upper link block of ", bytes, " bytes");
    }
    out->level[i] = static_cast<int>(bytes / h.links());
    out->upper[i] = at;
    at += bytes;
  }
  if (at != data.size()) return "bytes after the last node";
  return "";
}

// Checks that every link points at a node of the graph that lives on that level, and
// that the labels are the rows, each once; returns what is wrong, or empty. The
// level-0 records start at `level0`.
std::string GraphProblem(absl::string_view data, size_t level0, const Header& h, uint64_t count,
                         const UpperLevels& levels) {
  std::vector<bool> seen(count, false);
  auto check_list = [&](size_t list, uint64_t max_links, int on_level, uint64_t node) -> bool {
    const uint16_t n = Read<uint16_t>(data, list);
    if (n > max_links) return false;
    for (uint16_t j = 0; j < n; ++j) {
      const uint32_t to = Read<uint32_t>(data, list + 4 + 4 * static_cast<size_t>(j));
      if (to >= count || levels.level[to] < on_level || to == node) return false;
    }
    return true;
  };
  for (uint64_t i = 0; i < count; ++i) {
    const size_t record = level0 + i * h.size_data_per_element;
    if (Read<uint8_t>(data, record + 2) != 0) return absl::StrCat("node ", i, " is marked deleted");
    if (!check_list(record, h.max_m0, 0, i)) {
      return absl::StrCat("node ", i, " has a bad level-0 link list");
    }
    const uint64_t label = Read<uint64_t>(data, record + h.label_offset);
    if (label >= count || seen[label]) return absl::StrCat("node ", i, " has label ", label);
    seen[label] = true;
    for (int l = 1; l <= levels.level[i]; ++l) {
      if (!check_list(levels.upper[i] + static_cast<size_t>(l - 1) * h.links(), h.max_m, l, i)) {
        return absl::StrCat("node ", i, " has a bad link list on level ", l);
      }
    }
  }
  return "";
}

}  // namespace

absl::Status ValidateHnswlibIndex(const std::string& path, uint64_t dims, uint64_t count) {
  auto bad = [&](const std::string& what) {
    return absl::DataLossError(absl::StrCat(path, ": not a valid hnswlib index for ", count,
                                            " vectors of ", dims, " dimensions: ", what));
  };
  // Mapped, not copied: hnswlib reads the file next, from the same page cache.
  SIMSEARCH_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  const absl::string_view data(reinterpret_cast<const char*>(file.data()), file.size());
  if (data.size() < kHeaderBytes) return bad("shorter than the header");
  const Header h = ReadHeader(data);
  if (std::string why = HeaderProblem(h, dims, count); !why.empty()) return bad(why);
  const uint64_t level0_bytes = count * h.size_data_per_element;
  if (data.size() - kHeaderBytes < level0_bytes) return bad("the level-0 records are cut short");
  UpperLevels levels;
  if (std::string why = ReadUpperLevels(data, kHeaderBytes + level0_bytes, h, count, &levels);
      !why.empty()) {
    return bad(why);
  }
  if (levels.level[h.entry_point] != h.max_level) {
    return bad("the entry point is not on the top level");
  }
  if (std::string why = GraphProblem(data, kHeaderBytes, h, count, levels); !why.empty()) {
    return bad(why);
  }
  return absl::OkStatus();
}

}  // namespace simsearch
