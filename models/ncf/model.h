// Neural collaborative filtering models (He et al. 2017, "Neural Collaborative
// Filtering") and the dot-product matrix factorisation they are compared with
// (Rendle et al. 2020). All predict a logit for (user, item); training minimises binary
// cross-entropy on observed and sampled unobserved pairs.
//
//   MF     logit = p_u . q_i (+ b_i) + b0                (h fixed to ones)
//   GMF    logit = h . (p_u (*) q_i) + b0                (* : elementwise)
//   MLP    logit = h . tower([p'_u ; q'_i]) + b0          tower: ReLU layers
//   NeuMF  logit = h . [p_u (*) q_i ; tower([p'_u ; q'_i])] + b0
//
// Parameters are float32, row-major: row r of a table is the vector of user or item r.
#pragma once

#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace simsearch::ncf {

enum class ModelKind { kMF, kGMF, kMLP, kNeuMF };
absl::StatusOr<ModelKind> ParseModelKind(absl::string_view s);  // mf, gmf, mlp, neumf
const char* ModelKindName(ModelKind k);

struct ModelConfig {
  ModelKind kind = ModelKind::kMF;
  int factors = 64;                           // MF / GMF embedding size
  std::vector<int> layers = {64, 32, 16, 8};  // MLP: layers[0] = user + item embedding
                                              // sizes; then each hidden layer's width
  float init_std = 0.01f;                     // N(0, std) initialisation
  bool item_bias = false;                     // MF: learn a per-item bias b_i
};

// Storage for parameters, gradients and scratch, 64-byte aligned (a cache line, an
// AVX-512 register). Eigen's kernels handle the elements before the first packet
// boundary apart, so how a sum is ordered depends on where its data starts; with every
// buffer starting on the same boundary in every run, a seed and a thread count give the
// same numbers (Learning.OneThreadIsDeterministic), whatever addresses malloc hands out.
template <typename T>
struct CacheAlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheAlignedAllocator() = default;
  template <typename U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, size_t n) { ::operator delete(p, n * sizeof(T), kAlignment); }
  template <typename U>
  bool operator==(const CacheAlignedAllocator<U>&) const {
    return true;
  }
};
using FloatBuffer = std::vector<float, CacheAlignedAllocator<float>>;

// A dense block of parameters (or of their gradients), rows x cols, row-major.
struct Tensor {
  int rows = 0;
  int cols = 0;
  FloatBuffer v;
  Tensor() = default;
  Tensor(int r, int c) : rows(r), cols(c), v(static_cast<size_t>(r) * c, 0.0f) {}
  float* row(uint32_t r) { return v.data() + static_cast<size_t>(r) * cols; }
  const float* row(uint32_t r) const { return v.data() + static_cast<size_t>(r) * cols; }
  bool empty() const { return v.empty(); }
};

// Gradients of embedding tables: only the rows a batch touched, in first-touch order
// (so merging is deterministic). `slot` maps a table row to its place in `data`.
struct SparseRows {
  int cols = 0;
  std::vector<int32_t> slot;  // one entry per table row; -1: untouched
  std::vector<uint32_t> rows;
  FloatBuffer data;
  void Init(int table_rows, int table_cols);
  float* Get(uint32_t row);               // zero-initialised on first use
  const float* Find(uint32_t row) const;  // nullptr if untouched
  void Clear();
  void Add(const SparseRows& other);
};

struct Params {
  Tensor user_gmf, item_gmf;    // MF, GMF, NeuMF
  Tensor user_mlp, item_mlp;    // MLP, NeuMF: each layers[0]/2 wide
  std::vector<Tensor> weights;  // MLP layer l: layers[l+1] x layers[l]
  std::vector<Tensor> biases;   // 1 x layers[l+1]
  Tensor h;                     // 1 x (GMF part + last MLP layer)
  Tensor item_bias;             // MF: items x 1
  Tensor b0;                    // 1 x 1
};

struct Grads {
  SparseRows user_gmf, item_gmf, user_mlp, item_mlp, item_bias;
  std::vector<Tensor> weights, biases;
  Tensor h, b0;
  void Clear();
  void Add(const Grads& other);
};

// Scratch space for one thread's forward/backward passes.
struct Workspace {
  std::vector<FloatBuffer> act;  // act[0] = MLP input, act[l] = output of layer l
  FloatBuffer out;               // the vector h multiplies
  FloatBuffer delta, next_delta;
};

// Query-side vectors of items for "more like this" and watch lists, built from users:
// item i's is the mean of the (exported) user vectors of the users who have i in
// `train`, so its inner product with item j is the mean score the model gives j for the
// viewers of i. With `lift`, the mean of all users' vectors is subtracted: how much
// higher the viewers of i score j than users at large. An item nobody in `train` has
// gets the mean of all users (zero with `lift`). docs/MODELS.md compares these with
// ExportSelfQueries.
Tensor ViewerMeanQueries(const Tensor& users, const std::vector<std::vector<uint32_t>>& train,
                         uint32_t num_items, bool lift = true);

class NcfModel {
 public:
  static absl::StatusOr<NcfModel> Create(const ModelConfig& config, uint32_t users, uint32_t items,
                                         uint64_t seed);

  const ModelConfig& config() const { return config_; }
  ModelKind kind() const { return config_.kind; }
  uint32_t num_users() const { return users_; }
  uint32_t num_items() const { return items_; }
  Params& params() { return p_; }
  const Params& params() const { return p_; }
  bool has_gmf() const { return kind() != ModelKind::kMLP; }
  bool has_mlp() const { return kind() == ModelKind::kMLP || kind() == ModelKind::kNeuMF; }
  bool h_trainable() const { return kind() != ModelKind::kMF; }
  bool has_item_bias() const { return kind() == ModelKind::kMF && config_.item_bias; }

  // An empty gradient of matching shapes.
  Grads NewGrads() const;

  float Logit(uint32_t u, uint32_t i, Workspace* ws) const;

  // Adds `scale` times the gradient of
  //   BCE(logit(u, i), label) + (l2 / 2) * (squared norms of u's and i's embeddings)
  // to `g`, and returns the BCE loss of the sample.
  float Accumulate(uint32_t u, uint32_t i, float label, float scale, float l2, Workspace* ws,
                   Grads* g) const;

  // Adds l2 * theta for every dense (non-embedding) trainable parameter theta: the
  // gradient of (l2 / 2) * ||dense||^2.
  void AddDenseL2(float l2, Grads* g) const;
  double DenseSquaredNorm() const;

  // NeuMF from trained GMF and MLP models of the same shapes (He et al. 2017, 3.4.1):
  // embeddings and tower copied, h = [alpha h_gmf ; (1 - alpha) h_mlp].
  absl::Status InitFromPretrained(const NcfModel& gmf, const NcfModel& mlp, float alpha);

  // Vectors whose inner product is the model's logit up to a constant (b0): for MF,
  // items q_i and users p_u (with an item bias: [q_i ; b_i] and [p_u ; 1]); for GMF,
  // items q_i and users h (*) p_u. FailedPrecondition for MLP and NeuMF, whose score
  // is not a dot product.
  absl::Status ExportDotProduct(Tensor* items, Tensor* users) const;
  // The user-side vector of a pseudo-user whose embedding is each item's own: q_i for
  // MF ([q_i ; 1] with a bias), h (*) q_i for GMF.
  absl::Status ExportSelfQueries(Tensor* queries) const;

 private:
  NcfModel() = default;
  int gmf_size() const { return has_gmf() ? config_.factors : 0; }
  // Fills ws->out (and the MLP activations) for (u, i).
  void Forward(uint32_t u, uint32_t i, Workspace* ws) const;

  ModelConfig config_;
  uint32_t users_ = 0;
  uint32_t items_ = 0;
  Params p_;
};

}  // namespace simsearch::ncf
