#include "engine/paging.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/errors.h"

namespace simsearch {
namespace {

constexpr absl::string_view kTokenPrefix = "p1";  // the token format's version

absl::Status BadToken(absl::string_view why) {
  return InvalidFieldError(
      "page_token", reason::kPageTokenInvalid,
      absl::StrCat("page_token is not one this service issued (", why,
                   "); send the next_page_token of the previous page, or none for the first"));
}

// 64-bit FNV-1a over length-prefixed fields, so that ("ab", "c") and ("a", "bc") differ.
class Fnv {
 public:
  void Bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ULL;
    }
  }
  void Int(int64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i)
      b[i] = static_cast<unsigned char>(static_cast<uint64_t>(v) >> (8 * i));
    Bytes(b, 8);
  }
  void Float(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    Int(bits);
  }
  void Str(absl::string_view s) {
    Int(static_cast<int64_t>(s.size()));
    Bytes(s.data(), s.size());
  }
  template <typename T>
  void Optional(const std::optional<T>& v) {
    Int(v.has_value());
    if (v) Add(*v);
  }
  void Add(int v) { Int(v); }
  void Add(float v) { Float(v); }
  void Ints(const std::vector<int64_t>& v) {
    Int(static_cast<int64_t>(v.size()));
    for (int64_t x : v) Int(x);
  }
  void Strs(const std::vector<std::string>& v) {
    Int(static_cast<int64_t>(v.size()));
    for (const std::string& s : v) Str(s);
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

void AddFilter(const FilterSpec& f, Fnv* h) {
  h->Ints(f.exclude_ids);
  h->Strs(f.genres);
  h->Strs(f.types);
  h->Strs(f.exclude_genres);
  h->Strs(f.exclude_types);
  h->Int(static_cast<int>(f.max_content));
  h->Int(static_cast<int>(f.min_content));
  h->Ints(f.franchises);
  h->Ints(f.exclude_franchises);
  h->Int(f.min_start_year);
  h->Int(f.max_start_year);
  h->Int(static_cast<int64_t>(f.seasons.size()));
  for (int s : f.seasons) h->Int(s);
  h->Int(f.min_members);
  h->Str(f.max_age_rating);
}

}  // namespace

uint64_t ListFingerprint(absl::string_view collection, const FilterSpec& filter, int order,
                         bool ascending) {
  Fnv h;
  h.Str("list");  // never equal to a search's, whatever the collection's name
  h.Str(collection);
  AddFilter(filter, &h);
  h.Int(order);
  h.Int(ascending);
  return h.value();
}

std::string EncodePageToken(const PageToken& t) {
  return absl::WebSafeBase64Escape(absl::StrCat(kTokenPrefix, ":", t.offset, ":",
                                                absl::Hex(t.fingerprint, absl::kZeroPad16), ":",
                                                t.version));
}

absl::StatusOr<PageToken> DecodePageToken(absl::string_view text) {
  std::string raw;
  if (text.size() > 512 || !absl::WebSafeBase64Unescape(text, &raw)) return BadToken("not base64");
  std::vector<absl::string_view> parts = absl::StrSplit(raw, absl::MaxSplits(':', 3));
  PageToken t;
  if (parts.size() != 4 || parts[0] != kTokenPrefix) return BadToken("unknown format");
  if (!absl::SimpleAtoi(parts[1], &t.offset) || t.offset < 1) return BadToken("bad offset");
  if (parts[2].size() != 16 || !absl::SimpleHexAtoi(parts[2], &t.fingerprint)) {
    return BadToken("bad fingerprint");
  }
  // A version name as the registry makes them ("v000003"); nothing else is echoed back.
  if (parts[3].empty() || parts[3].size() > 64 ||
      !std::all_of(parts[3].begin(), parts[3].end(), [](char ch) {
        return absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' ||
               ch == '-';
      })) {
    return BadToken("bad version");
  }
  t.version = std::string(parts[3]);
  return t;
}

uint64_t PageFingerprint(absl::string_view collection, const SearchQuery& q, int depth,
                         const FilterSpec& f, const SearchKnobs& k) {
  Fnv h;
  h.Str(collection);
  h.Int(depth);
  h.Int(static_cast<int>(q.kind));
  h.Int(static_cast<int64_t>(q.vector.size()));
  for (float x : q.vector) h.Float(x);
  h.Int(q.item_id);
  h.Ints(q.positive_ids);
  h.Ints(q.negative_ids);
  h.Float(q.negative_weight);
  h.Int(q.user_id);
  h.Str(q.text);
  h.Int(static_cast<int>(q.text_options.mode));
  h.Int(static_cast<int>(q.text_options.fusion));
  h.Optional(q.text_options.rrf_k);
  h.Optional(q.text_options.dense_weight);
  AddFilter(f, &h);
  h.Int(k.exact);
  h.Optional(k.ef);
  h.Optional(k.nprobe);
  h.Optional(k.min_score);
  return h.value();
}

}  // namespace simsearch
