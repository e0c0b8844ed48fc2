// Training NCF models: binary cross-entropy on each observed (user, item) pair and
// `negatives` sampled unobserved items per pair, mini-batch Adam, L2 regularisation.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "models/ncf/evaluate.h"
#include "models/ncf/model.h"
#include "models/ncf/split.h"

namespace simsearch::ncf {

struct TrainOptions {
  int epochs = 20;
  int batch_size = 256;
  float learning_rate = 0.001f;
  float l2 = 0.0f;     // see NcfModel::Accumulate and AddDenseL2
  int negatives = 4;   // sampled unobserved items per observed pair
  int threads = 2;     // 1: deterministic; >= 2: Hogwild-style, the threads take
                       // batches and update the parameters without locks, and
                       // the next epoch's samples are drawn ahead (Train)
  uint64_t seed = 42;  // sampling and shuffling (with the epoch)
  // Confidence weights of the observed pairs, per user parallel to split.train (the
  // same sizes): a sample's weight scales its whole term of the objective, BCE and the
  // embeddings' L2 (Hu, Koren & Volinsky 2008's c_ui, here on the sampled loss).
  // nullptr: every weight 1. Sampled negatives always weigh 1.
  const std::vector<std::vector<float>>* positive_weights = nullptr;
  // Explicit negatives, per user (say, dropped anime: NegativePairs): each is a sample
  // of label 0 and weight negative_weight in every epoch, besides the sampled ones.
  // nullptr: none. The reported losses are unweighted means over every sample, the
  // explicit negatives included.
  const std::vector<std::vector<uint32_t>>* explicit_negatives = nullptr;
  float negative_weight = 1.0f;
};

struct EpochReport {
  int epoch = 0;  // 1-based
  int epochs = 0;
  double fraction = 0;  // of this epoch done
  double loss = 0;      // mean BCE so far this epoch
  double samples_per_second = 0;
  double eta_seconds = 0;  // whole run
};

struct TrainReport {
  std::vector<double> epoch_loss;  // mean BCE per epoch
  uint64_t samples = 0;            // over all epochs
  double seconds = 0;
  double samples_per_second = 0;
};

using TrainProgress = std::function<void(const EpochReport&)>;

// Trains `model` on split.train. With one thread the result is a function of the seed:
// bit-identical across runs and machines with the same compiler. With more, the threads
// update the parameters without locks (Hogwild), and runs differ within noise.
TrainReport Train(NcfModel* model, const Split& split, const TrainOptions& options,
                  const TrainProgress& progress = nullptr);

// Scores with a trained model; ScoreAll is batched (matrix products over all items).
class ModelScorer final : public Scorer {
 public:
  explicit ModelScorer(const NcfModel& model);
  ~ModelScorer() override;
  void Score(uint32_t user, const uint32_t* items, size_t n, float* out) const override;
  void ScoreAll(uint32_t user, float* out) const override;

 private:
  struct Cache;
  const NcfModel& model_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace simsearch::ncf
