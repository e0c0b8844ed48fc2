#include "models/ncf/model.h"

#include <Eigen/Core>
#include <cmath>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"

namespace simsearch::ncf {
namespace {

void Normal(Tensor* t, float std, std::mt19937_64* rng) {
  std::normal_distribution<float> g(0.0f, std);
  for (float& x : t->v) x = g(*rng);
}

// Numerically stable BCE with logits: log(1 + e^x) - y x.
float Bce(float logit, float label) {
  const float softplus =
      logit > 0 ? logit + std::log1p(std::exp(-logit)) : std::log1p(std::exp(logit));
  return softplus - label * logit;
}

float Sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

void AddTensor(const Tensor& src, Tensor* dst) {
  for (size_t k = 0; k < src.v.size(); ++k) dst->v[k] += src.v[k];
}

}  // namespace

absl::StatusOr<ModelKind> ParseModelKind(absl::string_view s) {
  if (s == "mf") return ModelKind::kMF;
  if (s == "gmf") return ModelKind::kGMF;
  if (s == "mlp") return ModelKind::kMLP;
  if (s == "neumf") return ModelKind::kNeuMF;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model '", s, "'; use mf, gmf, mlp or neumf"));
}

const char* ModelKindName(ModelKind k) {
  switch (k) {
    case ModelKind::kMF:
      return "mf";
    case ModelKind::kGMF:
      return "gmf";
    case ModelKind::kMLP:
      return "mlp";
    case ModelKind::kNeuMF:
      return "neumf";
  }
  return "?";
}

void SparseRows::Init(int table_rows, int table_cols) {
  cols = table_cols;
  slot.assign(static_cast<size_t>(table_rows), -1);
  rows.clear();
  data.clear();
}

float* SparseRows::Get(uint32_t row) {
  int32_t& s = slot[row];
  if (s < 0) {
    s = static_cast<int32_t>(rows.size());
    rows.push_back(row);
    data.resize(data.size() + static_cast<size_t>(cols), 0.0f);
  }
  return data.data() + static_cast<size_t>(s) * cols;
}

const float* SparseRows::Find(uint32_t row) const {
  if (row >= slot.size() || slot[row] < 0) return nullptr;
  return data.data() + static_cast<size_t>(slot[row]) * cols;
}

void SparseRows::Clear() {
  for (uint32_t r : rows) slot[r] = -1;
  rows.clear();
  data.clear();
}

void SparseRows::Add(const SparseRows& other) {
  for (size_t k = 0; k < other.rows.size(); ++k) {
    float* dst = Get(other.rows[k]);
    const float* src = other.data.data() + k * static_cast<size_t>(cols);
    for (int c = 0; c < cols; ++c) dst[c] += src[c];
  }
}

void Grads::Clear() {
  for (SparseRows* s : {&user_gmf, &item_gmf, &user_mlp, &item_mlp, &item_bias}) s->Clear();
  for (auto* ts : {&weights, &biases}) {
    for (Tensor& t : *ts) std::fill(t.v.begin(), t.v.end(), 0.0f);
  }
  std::fill(h.v.begin(), h.v.end(), 0.0f);
  std::fill(b0.v.begin(), b0.v.end(), 0.0f);
}

void Grads::Add(const Grads& o) {
  user_gmf.Add(o.user_gmf);
  item_gmf.Add(o.item_gmf);
  user_mlp.Add(o.user_mlp);
  item_mlp.Add(o.item_mlp);
  item_bias.Add(o.item_bias);
  for (size_t l = 0; l < weights.size(); ++l) {
    AddTensor(o.weights[l], &weights[l]);
    AddTensor(o.biases[l], &biases[l]);
  }
  AddTensor(o.h, &h);
  AddTensor(o.b0, &b0);
}

absl::StatusOr<NcfModel> NcfModel::Create(const ModelConfig& config, uint32_t users, uint32_t items,
                                          uint64_t seed) {
  NcfModel m;
  m.config_ = config;
  m.users_ = users;
  m.items_ = items;
  if (users == 0 || items == 0) return absl::InvalidArgumentError("no users or no items to model");
  if (m.has_gmf() && (config.factors < 1 || config.factors > 4096)) {
    return absl::InvalidArgumentError(
        absl::StrCat("factors must be 1..4096, got ", config.factors));
  }
  if (m.has_mlp()) {
    if (config.layers.size() < 2 || config.layers[0] % 2 != 0) {
      return absl::InvalidArgumentError(
          "MLP layers need an even input size and at least one hidden layer, e.g. 64,32,16,8");
    }
    for (int w : config.layers) {
      if (w < 1 || w > 4096) return absl::InvalidArgumentError("MLP layer widths must be 1..4096");
    }
  }
  std::mt19937_64 rng(seed);
  Params& p = m.p_;
  int out = 0;
  if (m.has_gmf()) {
    p.user_gmf = Tensor(static_cast<int>(users), config.factors);
    p.item_gmf = Tensor(static_cast<int>(items), config.factors);
    Normal(&p.user_gmf, config.init_std, &rng);
    Normal(&p.item_gmf, config.init_std, &rng);
    out += config.factors;
  }
  if (m.has_mlp()) {
    const int half = config.layers[0] / 2;
    p.user_mlp = Tensor(static_cast<int>(users), half);
    p.item_mlp = Tensor(static_cast<int>(items), half);
    Normal(&p.user_mlp, config.init_std, &rng);
    Normal(&p.item_mlp, config.init_std, &rng);
    for (size_t l = 0; l + 1 < config.layers.size(); ++l) {
      Tensor w(config.layers[l + 1], config.layers[l]);
      // He initialisation keeps ReLU activations at a stable scale.
      Normal(&w, std::sqrt(2.0f / static_cast<float>(config.layers[l])), &rng);
      p.weights.push_back(std::move(w));
      p.biases.emplace_back(1, config.layers[l + 1]);
    }
    out += config.layers.back();
  }
  p.h = Tensor(1, out);
  if (m.kind() == ModelKind::kMF) {
    std::fill(p.h.v.begin(), p.h.v.end(), 1.0f);
    if (config.item_bias) p.item_bias = Tensor(static_cast<int>(items), 1);
  } else {
    // Output weights of the scale LeCun initialisation gives.
    Normal(&p.h, std::sqrt(1.0f / static_cast<float>(out)), &rng);
  }
  p.b0 = Tensor(1, 1);
  return m;
}

Grads NcfModel::NewGrads() const {
  Grads g;
  g.user_gmf.Init(p_.user_gmf.rows, p_.user_gmf.cols);
  g.item_gmf.Init(p_.item_gmf.rows, p_.item_gmf.cols);
  g.user_mlp.Init(p_.user_mlp.rows, p_.user_mlp.cols);
  g.item_mlp.Init(p_.item_mlp.rows, p_.item_mlp.cols);
  g.item_bias.Init(p_.item_bias.rows, 1);
  for (size_t l = 0; l < p_.weights.size(); ++l) {
    g.weights.emplace_back(p_.weights[l].rows, p_.weights[l].cols);
    g.biases.emplace_back(1, p_.biases[l].cols);
  }
  g.h = Tensor(1, p_.h.cols);
  g.b0 = Tensor(1, 1);
  return g;
}

namespace {

// Per-sample arithmetic goes through Eigen maps: its kernels use the -march's vector
// units for dot products and rank-1 updates, where plain loops stay scalar at -O2
// (a float reduction may not be reordered, and possibly aliased pointers need
// run-time checks the cheap vectoriser will not add).
using Vec = Eigen::Map<Eigen::VectorXf>;
using ConstVec = Eigen::Map<const Eigen::VectorXf>;
using ConstRowMajor =
    Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
using RowMajor = Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

}  // namespace

void NcfModel::Forward(uint32_t u, uint32_t i, Workspace* ws) const {
  const int k = gmf_size();
  ws->out.resize(static_cast<size_t>(p_.h.cols));
  if (has_gmf()) {
    Vec(ws->out.data(), k) =
        ConstVec(p_.user_gmf.row(u), k).cwiseProduct(ConstVec(p_.item_gmf.row(i), k));
  }
  if (has_mlp()) {
    const auto& layers = config_.layers;
    ws->act.resize(layers.size());
    const int half = layers[0] / 2;
    ws->act[0].resize(static_cast<size_t>(layers[0]));
    std::memcpy(ws->act[0].data(), p_.user_mlp.row(u), sizeof(float) * half);
    std::memcpy(ws->act[0].data() + half, p_.item_mlp.row(i), sizeof(float) * half);
    for (size_t l = 0; l + 1 < layers.size(); ++l) {
      const Tensor& w = p_.weights[l];
      FloatBuffer& y = ws->act[l + 1];
      y.resize(static_cast<size_t>(w.rows));
      Vec out(y.data(), w.rows);
      out.noalias() =
          ConstRowMajor(w.v.data(), w.rows, w.cols) * ConstVec(ws->act[l].data(), w.cols);
      out = (out + ConstVec(p_.biases[l].v.data(), w.rows)).cwiseMax(0.0f);  // ReLU
    }
    std::memcpy(ws->out.data() + k, ws->act.back().data(), sizeof(float) * layers.back());
  }
}

float NcfModel::Logit(uint32_t u, uint32_t i, Workspace* ws) const {
  Forward(u, i, ws);
  float s =
      p_.b0.v[0] + ConstVec(p_.h.v.data(), p_.h.cols).dot(ConstVec(ws->out.data(), p_.h.cols));
  if (has_item_bias()) s += p_.item_bias.v[i];
  return s;
}

float NcfModel::Accumulate(uint32_t u, uint32_t i, float label, float scale, float l2,
                           Workspace* ws, Grads* g) const {
  const float logit = Logit(u, i, ws);
  const float loss = Bce(logit, label);
  const float dl = scale * (Sigmoid(logit) - label);  // d(scale * BCE) / d logit
  const int k = gmf_size();
  const float* h = p_.h.v.data();
  if (h_trainable()) {
    Vec(g->h.v.data(), p_.h.cols) += dl * ConstVec(ws->out.data(), p_.h.cols);
  }
  g->b0.v[0] += dl;
  if (has_item_bias()) {
    g->item_bias.Get(i)[0] += dl + scale * l2 * p_.item_bias.v[i];
  }
  if (has_gmf()) {
    const ConstVec pu(p_.user_gmf.row(u), k), qi(p_.item_gmf.row(i), k), hk(h, k);
    Vec(g->user_gmf.Get(u), k) += dl * hk.cwiseProduct(qi) + (scale * l2) * pu;
    Vec(g->item_gmf.Get(i), k) += dl * hk.cwiseProduct(pu) + (scale * l2) * qi;
  }
  if (has_mlp()) {
    const auto& layers = config_.layers;
    const size_t last = layers.size() - 1;
    // delta = d/d(output of layer l); start at the tower's output.
    ws->delta.assign(h + k, h + k + layers.back());
    for (float& d : ws->delta) d *= dl;
    for (size_t l = last; l >= 1; --l) {
      const Tensor& w = p_.weights[l - 1];
      const FloatBuffer& y = ws->act[l];
      // Through the ReLU: no gradient where the unit was off.
      for (int r = 0; r < w.rows; ++r) {
        if (y[r] <= 0) ws->delta[r] = 0;
      }
      const ConstVec d(ws->delta.data(), w.rows);
      const ConstVec x(ws->act[l - 1].data(), w.cols);
      Vec(g->biases[l - 1].v.data(), w.rows) += d;
      RowMajor(g->weights[l - 1].v.data(), w.rows, w.cols).noalias() += d * x.transpose();
      ws->next_delta.resize(static_cast<size_t>(w.cols));
      Vec(ws->next_delta.data(), w.cols).noalias() =
          ConstRowMajor(w.v.data(), w.rows, w.cols).transpose() * d;
      std::swap(ws->delta, ws->next_delta);
    }
    const int half = layers[0] / 2;
    const ConstVec pu(p_.user_mlp.row(u), half), qi(p_.item_mlp.row(i), half);
    Vec(g->user_mlp.Get(u), half) += ConstVec(ws->delta.data(), half) + (scale * l2) * pu;
    Vec(g->item_mlp.Get(i), half) += ConstVec(ws->delta.data() + half, half) + (scale * l2) * qi;
  }
  return loss;
}

void NcfModel::AddDenseL2(float l2, Grads* g) const {
  for (size_t l = 0; l < p_.weights.size(); ++l) {
    for (size_t k = 0; k < p_.weights[l].v.size(); ++k)
      g->weights[l].v[k] += l2 * p_.weights[l].v[k];
    for (size_t k = 0; k < p_.biases[l].v.size(); ++k) g->biases[l].v[k] += l2 * p_.biases[l].v[k];
  }
  if (h_trainable()) {
    for (size_t k = 0; k < p_.h.v.size(); ++k) g->h.v[k] += l2 * p_.h.v[k];
  }
  g->b0.v[0] += l2 * p_.b0.v[0];
}

double NcfModel::DenseSquaredNorm() const {
  double s = 0;
  auto add = [&s](const Tensor& t) {
    for (float x : t.v) s += double{x} * x;
  };
  for (size_t l = 0; l < p_.weights.size(); ++l) {
    add(p_.weights[l]);
    add(p_.biases[l]);
  }
  if (h_trainable()) add(p_.h);
  add(p_.b0);
  return s;
}

absl::Status NcfModel::InitFromPretrained(const NcfModel& gmf, const NcfModel& mlp, float alpha) {
  if (kind() != ModelKind::kNeuMF || gmf.kind() != ModelKind::kGMF ||
      mlp.kind() != ModelKind::kMLP) {
    return absl::InvalidArgumentError("pretraining initialises NeuMF from a GMF and an MLP model");
  }
  if (gmf.config_.factors != config_.factors || mlp.config_.layers != config_.layers ||
      gmf.users_ != users_ || mlp.users_ != users_ || gmf.items_ != items_ ||
      mlp.items_ != items_) {
    return absl::InvalidArgumentError("pretrained GMF/MLP shapes do not match the NeuMF model");
  }
  p_.user_gmf = gmf.p_.user_gmf;
  p_.item_gmf = gmf.p_.item_gmf;
  p_.user_mlp = mlp.p_.user_mlp;
  p_.item_mlp = mlp.p_.item_mlp;
  p_.weights = mlp.p_.weights;
  p_.biases = mlp.p_.biases;
  const int k = config_.factors;
  for (int c = 0; c < k; ++c) p_.h.v[c] = alpha * gmf.p_.h.v[c];
  for (int c = 0; c < mlp.p_.h.cols; ++c) p_.h.v[k + c] = (1 - alpha) * mlp.p_.h.v[c];
  p_.b0.v[0] = alpha * gmf.p_.b0.v[0] + (1 - alpha) * mlp.p_.b0.v[0];
  return absl::OkStatus();
}

absl::Status NcfModel::ExportDotProduct(Tensor* items, Tensor* users) const {
  const int k = config_.factors;
  if (kind() == ModelKind::kMF && !has_item_bias()) {
    *items = p_.item_gmf;
    *users = p_.user_gmf;
    return absl::OkStatus();
  }
  if (kind() == ModelKind::kMF) {
    *items = Tensor(static_cast<int>(items_), k + 1);
    *users = Tensor(static_cast<int>(users_), k + 1);
    for (uint32_t i = 0; i < items_; ++i) {
      std::memcpy(items->row(i), p_.item_gmf.row(i), sizeof(float) * k);
      items->row(i)[k] = p_.item_bias.v[i];
    }
    for (uint32_t u = 0; u < users_; ++u) {
      std::memcpy(users->row(u), p_.user_gmf.row(u), sizeof(float) * k);
      users->row(u)[k] = 1.0f;
    }
    return absl::OkStatus();
  }
  if (kind() == ModelKind::kGMF) {
    *items = p_.item_gmf;
    *users = Tensor(static_cast<int>(users_), k);
    for (uint32_t u = 0; u < users_; ++u) {
      for (int c = 0; c < k; ++c) users->row(u)[c] = p_.h.v[c] * p_.user_gmf.row(u)[c];
    }
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      ModelKindName(kind()),
      " scores are not a dot product of a user and an item vector, so an inner-product index "
      "cannot serve them exactly; export mf or gmf"));
}

absl::Status NcfModel::ExportSelfQueries(Tensor* queries) const {
  const int k = config_.factors;
  if (kind() != ModelKind::kMF && kind() != ModelKind::kGMF) {
    return absl::FailedPreconditionError("self queries exist for mf and gmf only");
  }
  const int extra = has_item_bias() ? 1 : 0;
  *queries = Tensor(static_cast<int>(items_), k + extra);
  for (uint32_t i = 0; i < items_; ++i) {
    for (int c = 0; c < k; ++c) {
      const float h = kind() == ModelKind::kGMF ? p_.h.v[c] : 1.0f;
      queries->row(i)[c] = h * p_.item_gmf.row(i)[c];
    }
    if (extra) queries->row(i)[k] = 1.0f;
  }
  return absl::OkStatus();
}

Tensor ViewerMeanQueries(const Tensor& users, const std::vector<std::vector<uint32_t>>& train,
                         uint32_t num_items, bool lift) {
  const int d = users.cols;
  std::vector<double> sum(static_cast<size_t>(num_items) * d, 0.0),
      all(static_cast<size_t>(d), 0.0);
  std::vector<uint32_t> viewers(num_items, 0);
  for (uint32_t u = 0; u < train.size(); ++u) {
    const float* pu = users.row(u);
    for (int c = 0; c < d; ++c) all[c] += pu[c];
    for (uint32_t i : train[u]) {
      ++viewers[i];
      for (int c = 0; c < d; ++c) sum[static_cast<size_t>(i) * d + c] += pu[c];
    }
  }
  Tensor q(static_cast<int>(num_items), d);
  for (uint32_t i = 0; i < num_items; ++i) {
    for (int c = 0; c < d; ++c) {
      const double mean_all = all[c] / static_cast<double>(std::max<size_t>(train.size(), 1));
      const double base = lift ? mean_all : 0.0;
      q.row(i)[c] =
          viewers[i] > 0
              ? static_cast<float>(sum[static_cast<size_t>(i) * d + c] / viewers[i] - base)
              : static_cast<float>(mean_all - base);
    }
  }
  return q;
}

}  // namespace simsearch::ncf
