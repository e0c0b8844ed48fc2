#include "models/ncf/trainer.h"

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cmath>
#include <future>
#include <mutex>
#include <random>
#include <thread>

namespace simsearch::ncf {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Clock = std::chrono::steady_clock;

struct Sample {
  uint32_t user;
  uint32_t item;
  float label;
  float weight = 1.0f;  // the sample's scale in the objective (TrainOptions::positive_weights)
};

// Adam (Kingma & Ba 2015). Embedding rows are updated lazily: only the rows a batch
// touched, with the bias correction of the global step.
class Adam {
 public:
  Adam(NcfModel* model, float lr) : model_(model), lr_(lr), dense_(Dense()) {
    Params& p = model->params();
    for (Tensor* t : dense_) {
      m_.emplace_back(t->rows, t->cols);
      v_.emplace_back(t->rows, t->cols);
    }
    for (Tensor* t : {&p.user_gmf, &p.item_gmf, &p.user_mlp, &p.item_mlp, &p.item_bias}) {
      em_.emplace_back(t->rows, t->cols);
      ev_.emplace_back(t->rows, t->cols);
    }
  }

  // One step for the batch whose gradient is `g`. Safe to call from several threads at
  // once in the Hogwild sense (Train): each thread's step writes the rows its batch
  // touched and the dense parameters, with no lock.
  void Step(const Grads& g) {
    const int64_t t = t_.fetch_add(1, std::memory_order_relaxed) + 1;
    const float c1 = 1.0f - std::pow(kBeta1, static_cast<float>(t));
    const float c2 = 1.0f - std::pow(kBeta2, static_cast<float>(t));
    const float step = lr_ * std::sqrt(c2) / c1;
    std::vector<const Tensor*> grads;
    for (size_t l = 0; l < g.weights.size(); ++l) {
      grads.push_back(&g.weights[l]);
      grads.push_back(&g.biases[l]);
    }
    if (model_->h_trainable()) grads.push_back(&g.h);
    grads.push_back(&g.b0);
    for (size_t k = 0; k < dense_.size(); ++k) {
      Update(dense_[k]->v.data(), grads[k]->v.data(), m_[k].v.data(), v_[k].v.data(),
             dense_[k]->v.size(), step);
    }
    Params& p = model_->params();
    const SparseRows* sparse[] = {&g.user_gmf, &g.item_gmf, &g.user_mlp, &g.item_mlp, &g.item_bias};
    Tensor* tables[] = {&p.user_gmf, &p.item_gmf, &p.user_mlp, &p.item_mlp, &p.item_bias};
    for (size_t k = 0; k < 5; ++k) {
      const SparseRows& s = *sparse[k];
      const int cols = tables[k]->cols;
      for (size_t r = 0; r < s.rows.size(); ++r) {
        const uint32_t row = s.rows[r];
        Update(tables[k]->row(row), s.data.data() + r * static_cast<size_t>(cols), em_[k].row(row),
               ev_[k].row(row), static_cast<size_t>(cols), step);
      }
    }
  }

 private:
  static constexpr float kBeta1 = 0.9f, kBeta2 = 0.999f, kEps = 1e-8f;

  std::vector<Tensor*> Dense() {
    Params& p = model_->params();
    std::vector<Tensor*> out;
    for (size_t l = 0; l < p.weights.size(); ++l) {
      out.push_back(&p.weights[l]);
      out.push_back(&p.biases[l]);
    }
    if (model_->h_trainable()) out.push_back(&p.h);
    out.push_back(&p.b0);
    return out;
  }

  // Eigen arrays: vectorised (square root and division included), where the plain
  // loop over four possibly aliased pointers stayed scalar at -O2.
  static void Update(float* w, const float* g, float* m, float* v, size_t n, float step) {
    const auto size = static_cast<Eigen::Index>(n);
    Eigen::Map<Eigen::ArrayXf> weights(w, size), mean(m, size), var(v, size);
    const Eigen::Map<const Eigen::ArrayXf> grad(g, size);
    mean = kBeta1 * mean + (1 - kBeta1) * grad;
    var = kBeta2 * var + (1 - kBeta2) * grad.square();
    weights -= step * mean / (var.sqrt() + kEps);
  }

  NcfModel* model_;
  float lr_;
  std::vector<Tensor*> dense_;  // the model's dense parameters, in the order of m_ and v_
  std::atomic<int64_t> t_{0};   // steps taken, for the bias correction
  std::vector<Tensor> m_, v_, em_, ev_;
};

// One epoch's samples: every training pair with label 1 (and its weight from
// o.positive_weights, parallel to split.train; nullptr: 1) and o.negatives items the
// user has not interacted with in training, label 0 and weight 1; the explicit
// negatives, label 0 and weight o.negative_weight; shuffled.
std::vector<Sample> MakeSamples(const Split& split, const TrainOptions& o, std::mt19937_64* rng) {
  const int negatives = o.negatives;
  const std::vector<std::vector<float>>* weights = o.positive_weights;
  std::vector<Sample> s;
  s.reserve(split.num_train() * static_cast<size_t>(1 + negatives));
  if (o.explicit_negatives != nullptr) {
    for (uint32_t u = 0; u < split.num_users && u < o.explicit_negatives->size(); ++u) {
      for (uint32_t j : (*o.explicit_negatives)[u]) s.push_back({u, j, 0.0f, o.negative_weight});
    }
  }
  std::uniform_int_distribution<uint32_t> any(0, split.num_items - 1);
  for (uint32_t u = 0; u < split.num_users; ++u) {
    const auto& train = split.train[u];
    if (train.size() >= split.num_items) continue;  // no unobserved item to sample
    for (size_t p = 0; p < train.size(); ++p) {
      assert(weights == nullptr || (*weights)[u].size() == train.size());
      s.push_back({u, train[p], 1.0f, weights != nullptr ? (*weights)[u][p] : 1.0f});
      for (int k = 0; k < negatives; ++k) {
        uint32_t j;
        do {
          j = any(*rng);
        } while (std::binary_search(train.begin(), train.end(), j));
        s.push_back({u, j, 0.0f, 1.0f});
      }
    }
  }
  std::shuffle(s.begin(), s.end(), *rng);
  return s;
}

// One mini-batch of m samples: its gradient (mean BCE, plus L2 with l2 > 0) into g
// (cleared first, w its scratch), and Adam's step. Returns the batch's summed loss.
double StepBatch(NcfModel* model, const Sample* batch, size_t m, float l2, Workspace* w, Grads* g,
                 Adam* adam) {
  const float scale = 1.0f / static_cast<float>(m);
  g->Clear();
  double loss = 0;
  for (size_t k = 0; k < m; ++k) {
    const Sample& s = batch[k];
    loss += model->Accumulate(s.user, s.item, s.label, scale * s.weight, l2, w, g);
  }
  if (l2 > 0) model->AddDenseL2(l2, g);
  adam->Step(*g);
  return loss;
}

}  // namespace

// How the threads are used (docs/MODELS.md, "Training speed").
//
// One thread is the deterministic mode: batches in order, one Adam step each; a seed
// gives the same numbers on every run.
//
// With two or more, training is Hogwild-style (Recht et al. 2011; word2vec and fastText
// train the same way): the threads take the epoch's batches from a shared counter, each
// computes its batch's gradient in its own buffers and applies its Adam step straight
// to the shared parameters, with no lock and no barrier between batches. Two threads
// rarely touch the same embedding row at once (a batch of 256 touches at most 256 of
// the anime lists' 5,000 users and 7,390 items); the few dense parameters (h, b0, the
// MLP layers) they do share, and an update computed from a row another thread has
// just changed lands anyway. SGD tolerates that, and the metrics stay within the noise
// of one thread's (docs/MODELS.md). The numbers are then not reproducible to the bit. Nothing
// waits for a thread the scheduler has paused except the end of an epoch, and then
// only for the batch that thread holds: on a machine another process keeps busy, the
// running threads take the batches.
//
// An epoch's samples (negatives drawn, then shuffled) are a pure function of the split,
// the seed and the epoch, so with two or more threads the next epoch's are drawn on a
// thread of their own while this one trains.
TrainReport Train(NcfModel* model, const Split& split, const TrainOptions& o,
                  const TrainProgress& progress) {
  TrainReport report;
  Adam adam(model, o.learning_rate);
  const int threads = std::max(1, o.threads);
  std::vector<Grads> grads;
  std::vector<Workspace> ws(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) grads.push_back(model->NewGrads());
  auto draw = [&split, &o](int epoch) {
    std::mt19937_64 rng(o.seed * 1000003u + static_cast<uint64_t>(epoch));
    return MakeSamples(split, o, &rng);
  };
  std::future<std::vector<Sample>> next;
  if (threads > 1 && o.epochs >= 1) next = std::async(std::launch::async, draw, 1);
  const size_t bs = static_cast<size_t>(std::max(1, o.batch_size));
  const auto start = Clock::now();
  uint64_t done_before = 0;  // samples of the epochs before this one
  uint64_t per_epoch = 0;
  std::mutex report_mu;  // one progress call at a time; guards last_report
  auto last_report = Clock::now();
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const std::vector<Sample> samples = next.valid() ? next.get() : draw(epoch);
    if (threads > 1 && epoch < o.epochs) next = std::async(std::launch::async, draw, epoch + 1);
    const size_t n = samples.size();
    per_epoch = n;
    const size_t batches = (n + bs - 1) / bs;
    std::atomic<size_t> next_batch{0};
    std::atomic<uint64_t> epoch_done{0};
    std::atomic<double> epoch_loss{0};
    auto report_progress = [&](uint64_t in_epoch) {
      const double secs = std::chrono::duration<double>(Clock::now() - start).count();
      const uint64_t done = done_before + in_epoch;
      EpochReport r;
      r.epoch = epoch;
      r.epochs = o.epochs;
      r.fraction = static_cast<double>(in_epoch) / static_cast<double>(std::max<size_t>(n, 1));
      r.loss = epoch_loss.load() / static_cast<double>(std::max<uint64_t>(in_epoch, 1));
      r.samples_per_second = static_cast<double>(done) / secs;
      const double total = static_cast<double>(per_epoch) * o.epochs;
      r.eta_seconds = (total - static_cast<double>(done)) / r.samples_per_second;
      progress(r);
    };
    auto work = [&](int t) {
      Grads& g = grads[static_cast<size_t>(t)];
      Workspace& w = ws[static_cast<size_t>(t)];
      for (size_t batch; (batch = next_batch.fetch_add(1, std::memory_order_relaxed)) < batches;) {
        const size_t lo = batch * bs;
        const size_t m = std::min(bs, n - lo);
        const double loss = StepBatch(model, &samples[lo], m, o.l2, &w, &g, &adam);
        epoch_loss.fetch_add(loss, std::memory_order_relaxed);
        const uint64_t in_epoch = epoch_done.fetch_add(m, std::memory_order_relaxed) + m;
        if (progress && in_epoch < n) {
          std::unique_lock<std::mutex> lock(report_mu, std::try_to_lock);
          if (lock && Clock::now() - last_report > std::chrono::milliseconds(200)) {
            last_report = Clock::now();
            report_progress(in_epoch);
          }
        }
      }
    };
    {
      std::vector<std::jthread> helpers;
      for (int t = 1; t < threads; ++t) helpers.emplace_back(work, t);
      work(0);
    }  // joined: every batch of the epoch has taken its step
    if (progress) {
      last_report = Clock::now();
      report_progress(n);
    }
    done_before += n;
    report.epoch_loss.push_back(epoch_loss.load() / static_cast<double>(std::max<size_t>(n, 1)));
  }
  report.samples = done_before;
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report.samples_per_second =
      report.seconds > 0 ? static_cast<double>(done_before) / report.seconds : 0;
  return report;
}

struct ModelScorer::Cache {
  RowMatrix item_gmf;  // items x k (h folded in for GMF/NeuMF: q (*) h_gmf)
  Eigen::VectorXf item_bias;
  RowMatrix item_first;            // items x h1: W1 applied to the item half of the MLP input
  RowMatrix w1_user;               // h1 x half
  std::vector<RowMatrix> w;        // layers 2.. : out x in
  std::vector<Eigen::VectorXf> b;  // all layers' biases
  Eigen::VectorXf h_mlp;
};

ModelScorer::ModelScorer(const NcfModel& model) : model_(model), cache_(std::make_unique<Cache>()) {
  const Params& p = model.params();
  const int k = model.has_gmf() ? model.config().factors : 0;
  if (model.has_gmf()) {
    cache_->item_gmf = Eigen::Map<const RowMatrix>(p.item_gmf.v.data(), p.item_gmf.rows, k);
    for (int c = 0; c < k; ++c) cache_->item_gmf.col(c) *= p.h.v[c];
  }
  if (model.has_item_bias()) {
    cache_->item_bias = Eigen::Map<const Eigen::VectorXf>(p.item_bias.v.data(), p.item_bias.rows);
  }
  if (model.has_mlp()) {
    const int half = model.config().layers[0] / 2;
    const Tensor& w1 = p.weights[0];
    Eigen::Map<const RowMatrix> W1(w1.v.data(), w1.rows, w1.cols);
    Eigen::Map<const RowMatrix> Q(p.item_mlp.v.data(), p.item_mlp.rows, half);
    cache_->item_first = Q * W1.rightCols(half).transpose();
    cache_->w1_user = W1.leftCols(half);
    for (size_t l = 0; l < p.weights.size(); ++l) {
      if (l > 0) {
        cache_->w.push_back(Eigen::Map<const RowMatrix>(p.weights[l].v.data(), p.weights[l].rows,
                                                        p.weights[l].cols));
      }
      cache_->b.push_back(
          Eigen::Map<const Eigen::VectorXf>(p.biases[l].v.data(), p.biases[l].cols));
    }
    cache_->h_mlp = Eigen::Map<const Eigen::VectorXf>(p.h.v.data() + k, p.h.cols - k);
  }
}

ModelScorer::~ModelScorer() = default;

void ModelScorer::Score(uint32_t user, const uint32_t* items, size_t n, float* out) const {
  Workspace ws;
  for (size_t j = 0; j < n; ++j) out[j] = model_.Logit(user, items[j], &ws);
}

void ModelScorer::ScoreAll(uint32_t user, float* out) const {
  const Params& p = model_.params();
  const Eigen::Index items = model_.num_items();
  Eigen::Map<Eigen::VectorXf> s(out, items);
  s.setConstant(p.b0.v[0]);
  if (model_.has_gmf()) {
    const int k = model_.config().factors;
    Eigen::Map<const Eigen::VectorXf> pu(p.user_gmf.row(user), k);
    s.noalias() += cache_->item_gmf * pu;
  }
  if (model_.has_item_bias()) s += cache_->item_bias;
  if (model_.has_mlp()) {
    const int half = model_.config().layers[0] / 2;
    Eigen::Map<const Eigen::VectorXf> pu(p.user_mlp.row(user), half);
    Eigen::VectorXf first = cache_->w1_user * pu + cache_->b[0];
    RowMatrix act = (cache_->item_first.rowwise() + first.transpose()).cwiseMax(0.0f);
    for (size_t l = 0; l < cache_->w.size(); ++l) {
      RowMatrix next = act * cache_->w[l].transpose();
      next.rowwise() += cache_->b[l + 1].transpose();
      act = next.cwiseMax(0.0f);
    }
    s.noalias() += act * cache_->h_mlp;
  }
}

}  // namespace simsearch::ncf
