#include "models/text/bert.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "models/text/safetensors.h"

namespace simsearch::text {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::RowVectorXf;

struct Linear {
  Matrix w;  // out x in (as stored by PyTorch's nn.Linear)
  Vector b;  // out
};

struct LayerNorm {
  Vector gamma, beta;
};

struct Layer {
  Linear q, k, v, attn_out, inter, out;
  LayerNorm attn_ln, out_ln;
};

// y = x W^T + b, for every row of x.
Matrix Apply(const Linear& l, const Matrix& x) {
  Matrix y = x * l.w.transpose();
  y.rowwise() += l.b;
  return y;
}

void Normalize(const LayerNorm& ln, float eps, Matrix* x) {
  const Eigen::Index h = x->cols();
  for (Eigen::Index r = 0; r < x->rows(); ++r) {
    auto row = x->row(r);
    const float mean = row.mean();
    const float var = (row.array() - mean).square().sum() / static_cast<float>(h);
    const float inv = 1.0f / std::sqrt(var + eps);
    row = ((row.array() - mean) * inv * ln.gamma.array() + ln.beta.array()).matrix();
  }
}

float Gelu(float x) {
  return 0.5f * x * (1.0f + std::erf(x / std::sqrt(2.0f)));
}

absl::StatusOr<json> ReadJson(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": not valid JSON"));
  return j;
}

int IntField(const json& j, const char* key, int fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int>() : fallback;
}

// Where the modules of a sentence-transformers folder are (modules.json). A plain
// Hugging Face BERT folder (no modules.json) is the transformer itself, mean pooled
// without normalising.
struct Modules {
  std::string transformer_dir, pooling_dir;  // pooling_dir "": none
  bool normalize = false;
};

absl::StatusOr<Modules> ReadModules(const std::string& dir) {
  Modules m;
  m.transformer_dir = dir;
  const std::string path = (fs::path(dir) / "modules.json").string();
  if (!fs::exists(path)) return m;
  auto modules = ReadJson(path);
  if (!modules.ok()) return modules.status();
  if (!modules->is_array()) return absl::InvalidArgumentError(path + ": expected a list");
  for (const json& module : *modules) {
    const std::string type = module.value("type", "");
    const std::string p = module.value("path", "");
    if (type.find("Transformer") != std::string::npos)
      m.transformer_dir = (fs::path(dir) / p).string();
    if (type.find("Pooling") != std::string::npos) m.pooling_dir = (fs::path(dir) / p).string();
    if (type.find("Normalize") != std::string::npos) m.normalize = true;
    if (type.find("Dense") != std::string::npos) {
      return absl::UnimplementedError(
          absl::StrCat(dir, ": sentence-transformers Dense modules are not supported"));
    }
  }
  return m;
}

// The transformer's config.json (GELU only), checked.
absl::StatusOr<BertConfig> ReadConfig(const std::string& path) {
  auto config = ReadJson(path);
  if (!config.ok()) return config.status();
  BertConfig c;
  c.vocab_size = IntField(*config, "vocab_size", 0);
  c.hidden = IntField(*config, "hidden_size", 0);
  c.layers = IntField(*config, "num_hidden_layers", 0);
  c.heads = IntField(*config, "num_attention_heads", 0);
  c.intermediate = IntField(*config, "intermediate_size", 0);
  c.max_position = IntField(*config, "max_position_embeddings", 512);
  c.type_vocab = IntField(*config, "type_vocab_size", 2);
  if (auto it = config->find("layer_norm_eps"); it != config->end() && it->is_number()) {
    c.layer_norm_eps = it->get<float>();
  }
  const std::string act = config->value("hidden_act", "gelu");
  if (act != "gelu") {
    return absl::UnimplementedError(
        absl::StrCat(path, ": hidden_act '", act, "' is not supported (gelu only)"));
  }
  if (c.vocab_size <= 0 || c.hidden <= 0 || c.layers <= 0 || c.heads <= 0 || c.intermediate <= 0 ||
      c.hidden % c.heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": needs positive vocab_size, hidden_size, num_hidden_layers, "
                     "num_attention_heads (dividing hidden_size) and intermediate_size"));
  }
  return c;
}

// The max_seq_length of sentence_bert_config.json (in the folder, else in the
// transformer's), at most max_position; max_position without one.
absl::StatusOr<size_t> MaxSeqLength(const std::string& dir, const std::string& transformer_dir,
                                    int max_position) {
  for (const fs::path& folder : {fs::path(dir), fs::path(transformer_dir)}) {
    const std::string f = (folder / "sentence_bert_config.json").string();
    if (!fs::exists(f)) continue;
    auto sb = ReadJson(f);
    if (!sb.ok()) return sb.status();
    return static_cast<size_t>(
        std::min(IntField(*sb, "max_seq_length", max_position), max_position));
  }
  return static_cast<size_t>(max_position);
}

// The transformer's WordPiece tokenizer: vocab.txt (at most vocab_size tokens), cased or
// not as tokenizer_config.json says (default: lower case, accents stripped).
absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> ReadTokenizer(
    const std::string& transformer_dir, int vocab_size) {
  auto tpath = [&](const std::string& f) { return (fs::path(transformer_dir) / f).string(); };
  BasicTokenizerOptions topt;
  if (fs::exists(tpath("tokenizer_config.json"))) {
    auto tc = ReadJson(tpath("tokenizer_config.json"));
    if (!tc.ok()) return tc.status();
    topt.lower_case = tc->value("do_lower_case", true);
    const json sa = tc->value("strip_accents", json(nullptr));
    topt.strip_accents = sa.is_boolean() ? sa.get<bool>() : topt.lower_case;
  }
  auto tok = WordPieceTokenizer::Load(tpath("vocab.txt"), topt);
  if (!tok.ok()) return tok.status();
  auto tokenizer = std::make_unique<WordPieceTokenizer>(*std::move(tok));
  if (static_cast<int>(tokenizer->vocab_size()) > vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(tpath("vocab.txt"), " has ", tokenizer->vocab_size(),
                     " tokens, more than the config's vocab_size ", vocab_size));
  }
  return tokenizer;
}

// The pooling module's mode (its config.json): mean, CLS or max.
absl::StatusOr<Pooling> ReadPooling(const std::string& pooling_dir) {
  auto pc = ReadJson((fs::path(pooling_dir) / "config.json").string());
  if (!pc.ok()) return pc.status();
  if (pc->value("pooling_mode_cls_token", false)) return Pooling::kCls;
  if (pc->value("pooling_mode_max_tokens", false)) return Pooling::kMax;
  if (pc->value("pooling_mode_mean_tokens", true)) return Pooling::kMean;
  return absl::UnimplementedError(
      absl::StrCat(pooling_dir, ": pooling mode not supported (mean, cls, max)"));
}

// Reads the tensors of transformers' BertModel from model.safetensors, named with or
// without a "bert." prefix. The first error sticks: later reads give empty tensors, and
// status() says what failed.
class WeightReader {
 public:
  WeightReader(const SafeTensors& st, int64_t hidden)
      : st_(st),
        hidden_(hidden),
        prefix_(st.Has("bert.embeddings.word_embeddings.weight") ? "bert." : "") {}

  Matrix Mat(const std::string& name, int64_t rows, int64_t cols) {
    Matrix m;
    if (!error_.ok()) return m;
    auto v = st_.Get(prefix_ + name, {rows, cols});
    if (!v.ok()) {
      error_ = v.status();
      return m;
    }
    m = Eigen::Map<const Matrix>(v->data(), rows, cols);
    return m;
  }

  Vector Vec(const std::string& name, int64_t n) {
    Vector r;
    if (!error_.ok()) return r;
    auto v = st_.Get(prefix_ + name, {n});
    if (!v.ok()) {
      error_ = v.status();
      return r;
    }
    r = Eigen::Map<const Vector>(v->data(), n);
    return r;
  }

  Linear Dense(const std::string& name, int64_t out, int64_t in) {
    return Linear{Mat(name + ".weight", out, in), Vec(name + ".bias", out)};
  }

  LayerNorm Norm(const std::string& name) {
    return LayerNorm{Vec(name + ".weight", hidden_), Vec(name + ".bias", hidden_)};
  }

  // Encoder layer l, with a feed-forward layer `intermediate` wide.
  Layer EncoderLayer(int l, int64_t intermediate) {
    const std::string p = absl::StrCat("encoder.layer.", l, ".");
    const int64_t H = hidden_, I = intermediate;
    Layer layer;
    layer.q = Dense(p + "attention.self.query", H, H);
    layer.k = Dense(p + "attention.self.key", H, H);
    layer.v = Dense(p + "attention.self.value", H, H);
    layer.attn_out = Dense(p + "attention.output.dense", H, H);
    layer.attn_ln = Norm(p + "attention.output.LayerNorm");
    layer.inter = Dense(p + "intermediate.dense", I, H);
    layer.out = Dense(p + "output.dense", H, I);
    layer.out_ln = Norm(p + "output.LayerNorm");
    return layer;
  }

  const absl::Status& status() const { return error_; }

 private:
  const SafeTensors& st_;
  const int64_t hidden_;
  const std::string prefix_;
  absl::Status error_;
};

}  // namespace

struct BertEncoder::Weights {
  Matrix word, position, type;
  LayerNorm emb_ln;
  std::vector<Layer> layers;
};

BertEncoder::BertEncoder() : w_(std::make_unique<Weights>()) {}
BertEncoder::~BertEncoder() = default;

absl::StatusOr<std::unique_ptr<BertEncoder>> BertEncoder::Load(const std::string& dir,
                                                               int threads) {
  std::unique_ptr<BertEncoder> e(new BertEncoder());
  e->threads_ = std::max(1, threads);
  e->source_ = dir;
  auto modules = ReadModules(dir);
  if (!modules.ok()) return modules.status();
  e->normalize_ = modules->normalize;
  const std::string& tdir = modules->transformer_dir;
  auto config = ReadConfig((fs::path(tdir) / "config.json").string());
  if (!config.ok()) return config.status();
  e->config_ = *config;
  const BertConfig& c = e->config_;
  auto max_seq_length = MaxSeqLength(dir, tdir, c.max_position);
  if (!max_seq_length.ok()) return max_seq_length.status();
  e->max_seq_length_ = *max_seq_length;
  auto tokenizer = ReadTokenizer(tdir, c.vocab_size);
  if (!tokenizer.ok()) return tokenizer.status();
  e->tokenizer_ = *std::move(tokenizer);
  if (!modules->pooling_dir.empty()) {
    auto pooling = ReadPooling(modules->pooling_dir);
    if (!pooling.ok()) return pooling.status();
    e->pooling_ = *pooling;
  }
  auto st = SafeTensors::Open((fs::path(tdir) / "model.safetensors").string());
  if (!st.ok()) return st.status();
  WeightReader read(*st, c.hidden);
  Weights& w = *e->w_;
  w.word = read.Mat("embeddings.word_embeddings.weight", c.vocab_size, c.hidden);
  w.position = read.Mat("embeddings.position_embeddings.weight", c.max_position, c.hidden);
  w.type = read.Mat("embeddings.token_type_embeddings.weight", c.type_vocab, c.hidden);
  w.emb_ln = read.Norm("embeddings.LayerNorm");
  for (int l = 0; l < c.layers; ++l) w.layers.push_back(read.EncoderLayer(l, c.intermediate));
  if (!read.status().ok()) return read.status();
  return e;
}

std::unique_ptr<BertEncoder> BertEncoder::Random(const BertConfig& c, uint64_t seed, int threads,
                                                 size_t max_seq_length) {
  std::unique_ptr<BertEncoder> e(new BertEncoder());
  e->config_ = c;
  e->threads_ = std::max(1, threads);
  e->max_seq_length_ = max_seq_length;
  e->normalize_ = true;
  e->source_ = "random weights";
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 0.02f);
  auto rnd = [&](int64_t r, int64_t cols) {
    Matrix m(r, cols);
    for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = g(rng);
    return m;
  };
  auto lin = [&](int64_t out, int64_t in) { return Linear{rnd(out, in), Vector::Zero(out)}; };
  auto ln = [&] { return LayerNorm{Vector::Ones(c.hidden), Vector::Zero(c.hidden)}; };
  Weights& w = *e->w_;
  w.word = rnd(c.vocab_size, c.hidden);
  w.position = rnd(c.max_position, c.hidden);
  w.type = rnd(c.type_vocab, c.hidden);
  w.emb_ln = ln();
  for (int l = 0; l < c.layers; ++l) {
    w.layers.push_back(Layer{lin(c.hidden, c.hidden), lin(c.hidden, c.hidden),
                             lin(c.hidden, c.hidden), lin(c.hidden, c.hidden),
                             lin(c.intermediate, c.hidden), lin(c.hidden, c.intermediate), ln(),
                             ln()});
  }
  return e;
}

std::string BertEncoder::Describe() const {
  return absl::StrFormat(
      "bert: %d layers, hidden %d, %d heads, intermediate %d, max %zu tokens, %s pooling%s (%s)",
      config_.layers, config_.hidden, config_.heads, config_.intermediate, max_seq_length_,
      pooling_ == Pooling::kMean  ? "mean"
      : pooling_ == Pooling::kCls ? "cls"
                                  : "max",
      normalize_ ? ", normalised" : "", source_);
}

void BertEncoder::Forward(const std::vector<std::vector<int32_t>>& ids, float* out) const {
  const BertConfig& c = config_;
  const Weights& w = *w_;
  const Eigen::Index B = static_cast<Eigen::Index>(ids.size());
  Eigen::Index L = 0;
  for (const auto& s : ids) L = std::max<Eigen::Index>(L, static_cast<Eigen::Index>(s.size()));
  const Eigen::Index H = c.hidden, heads = c.heads, dh = H / heads;
  // Embeddings of the padded batch: row b*L + t is token t of sequence b.
  Matrix x(B * L, H);
  for (Eigen::Index b = 0; b < B; ++b) {
    for (Eigen::Index t = 0; t < L; ++t) {
      const bool real = t < static_cast<Eigen::Index>(ids[b].size());
      const int32_t id = real ? ids[b][static_cast<size_t>(t)] : 0;
      x.row(b * L + t) = w.word.row(id) + w.position.row(t) + w.type.row(0);
    }
  }
  Normalize(w.emb_ln, c.layer_norm_eps, &x);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  Matrix ctx(B * L, H), scores(L, L);
  for (const Layer& layer : w.layers) {
    const Matrix q = Apply(layer.q, x), k = Apply(layer.k, x), v = Apply(layer.v, x);
    for (Eigen::Index b = 0; b < B; ++b) {
      const Eigen::Index len = static_cast<Eigen::Index>(ids[b].size());
      for (Eigen::Index h = 0; h < heads; ++h) {
        // Attention of every position to the real (unpadded) positions of its sequence.
        scores.noalias() =
            q.block(b * L, h * dh, L, dh) * k.block(b * L, h * dh, len, dh).transpose() * scale;
        for (Eigen::Index i = 0; i < L; ++i) {
          auto row = scores.row(i).head(len);
          const float mx = row.maxCoeff();
          row = (row.array() - mx).exp().matrix();
          row /= row.sum();
        }
        ctx.block(b * L, h * dh, L, dh).noalias() =
            scores.leftCols(len) * v.block(b * L, h * dh, len, dh);
      }
    }
    Matrix a = Apply(layer.attn_out, ctx) + x;
    Normalize(layer.attn_ln, c.layer_norm_eps, &a);
    Matrix inter = Apply(layer.inter, a);
    inter = inter.unaryExpr([](float f) { return Gelu(f); });
    x = Apply(layer.out, inter) + a;
    Normalize(layer.out_ln, c.layer_norm_eps, &x);
  }
  // Pool over each sequence's real tokens (rows b*L .. b*L+len of the row-major x).
  for (Eigen::Index b = 0; b < B; ++b) {
    PoolTokens(x.data() + b * L * H, static_cast<int64_t>(ids[b].size()), H, pooling_, normalize_,
               out + b * H);
  }
}

void PoolTokens(const float* tokens, int64_t count, int64_t hidden, Pooling pooling, bool normalize,
                float* out) {
  // Computed in a vector of Eigen's own (aligned) allocation, then copied: evaluated
  // straight into `out`, Eigen's vectorised reductions sum in an order that depends on
  // out's alignment, so the same text got different last bits in different buffers.
  Eigen::Map<const Matrix> x(tokens, count, hidden);
  Vector o(hidden);
  switch (pooling) {
    case Pooling::kMean:
      o = x.colwise().sum() / static_cast<float>(count);
      break;
    case Pooling::kCls:
      o = x.row(0);
      break;
    case Pooling::kMax:
      o = x.colwise().maxCoeff();
      break;
  }
  if (normalize) {
    const float n = o.norm();
    if (n > 0) o /= n;
  }
  std::copy(o.data(), o.data() + hidden, out);
}

void BertEncoder::EncodeIds(const std::vector<std::vector<int32_t>>& ids,
                            std::vector<float>* out) const {
  const size_t n = ids.size();
  const size_t H = static_cast<size_t>(config_.hidden);
  out->assign(n * H, 0.0f);
  const long batches = static_cast<long>((n + batch_size_ - 1) / batch_size_);
  // Batches are independent: split them across threads.
#pragma omp parallel for num_threads(threads_) schedule(dynamic) if (batches > 1)
  for (long bi = 0; bi < batches; ++bi) {
    const size_t lo = static_cast<size_t>(bi) * batch_size_, hi = std::min(n, lo + batch_size_);
    std::vector<std::vector<int32_t>> batch(ids.begin() + static_cast<long>(lo),
                                            ids.begin() + static_cast<long>(hi));
    Forward(batch, out->data() + lo * H);
  }
}

absl::Status BertEncoder::Encode(const std::vector<std::string>& texts,
                                 std::vector<float>* out) const {
  std::vector<std::vector<int32_t>> ids;
  ids.reserve(texts.size());
  std::vector<bool> empty(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    ids.push_back(tokenizer_->Encode(texts[i], max_seq_length_));
    empty[i] = ids.back().size() <= 2;  // only [CLS] [SEP]
  }
  EncodeIds(ids, out);
  const size_t H = static_cast<size_t>(config_.hidden);
  for (size_t i = 0; i < texts.size(); ++i) {
    if (empty[i])
      std::fill(out->begin() + static_cast<long>(i * H),
                out->begin() + static_cast<long>((i + 1) * H), 0.0f);
  }
  return absl::OkStatus();
}

}  // namespace simsearch::text
