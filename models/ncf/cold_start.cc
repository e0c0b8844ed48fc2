#include "models/ncf/cold_start.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/vector_input.h"

namespace simsearch::ncf {

absl::StatusOr<TextVectors> LoadTextVectors(const std::string& vectors_path,
                                            const std::string& ids_path) {
  auto v = ReadVectors(vectors_path);
  if (!v.ok()) return v.status();
  auto ids = ReadIds(ids_path);
  if (!ids.ok()) return ids.status();
  if (ids->size() != v->count) {
    return absl::InvalidArgumentError(absl::StrCat(ids_path, " holds ", ids->size(), " ids but ",
                                                   vectors_path, " holds ", v->count,
                                                   " vectors; they must match row for row"));
  }
  if (absl::Status st = CheckFinite(*v, vectors_path); !st.ok()) return st;
  TextVectors t;
  t.ids = *std::move(ids);
  t.dims = static_cast<int>(v->dims);
  t.v = std::move(v->data);
  return t;
}

namespace {

// Names seen on at least `min_count` items, sorted: a stable vocabulary.
std::vector<std::string> Vocabulary(const std::map<std::string, int>& counts, int min_count) {
  std::vector<std::string> out;
  for (const auto& [name, n] : counts) {
    if (n >= min_count) out.push_back(name);
  }
  return out;
}

int YearBucket(int year) {  // before 1990, 1990-99, 2000-04, 2005-09, 2010-14, 2015-19, 2020-22,
                            // 2023+, unknown
  if (year == 0) return 8;
  if (year < 1990) return 0;
  if (year < 2000) return 1;
  if (year < 2005) return 2;
  if (year < 2010) return 3;
  if (year < 2015) return 4;
  if (year < 2020) return 5;
  if (year < 2023) return 6;
  return 7;
}

// In double precision, as the calibration compares sums of many such products.
double Dot(const float* a, const float* b, int n) {
  double s = 0;
  for (int k = 0; k < n; ++k) s += static_cast<double>(a[k]) * b[k];
  return s;
}
double Dot(const float* a, const std::vector<double>& b) {
  double s = 0;
  for (size_t k = 0; k < b.size(); ++k) s += a[k] * b[k];
  return s;
}

void Normalise(float* x, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  if (s <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (int i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace

ContentFeatures BuildContentFeatures(const Catalog& catalog, const std::vector<int64_t>& ids,
                                     const TextVectors* text, const Tensor* learned,
                                     const std::vector<int>& viewers,
                                     const ContentOptions& options) {
  std::map<std::string, int> genre_counts, studio_counts;
  for (const Item& it : catalog.items()) {
    for (const std::string& g : it.genres) ++genre_counts[absl::AsciiStrToLower(g)];
    for (const std::string& s : it.studios) ++studio_counts[s];
  }
  const std::vector<std::string> genres = Vocabulary(genre_counts, options.min_count);
  const std::vector<std::string> studios = Vocabulary(studio_counts, options.min_count);
  static const char* const kTypes[] = {"tv", "movie", "ova", "ona", "special", "music"};
  static const char* const kAges[] = {"g", "pg", "pg_13", "r", "r+", "rx"};
  constexpr int kTypeDims = 7, kYearDims = 9, kAgeDims = 7;
  const int kMemberDims = options.members_by_year ? 4 + kYearDims : 2;
  const bool use_text = options.text && text != nullptr;
  const bool use_franchise = options.franchise && learned != nullptr;
  const int text_dims = use_text ? text->dims + 1 : 0;
  const int franchise_dims = use_franchise ? learned->cols + 1 : 0;

  ContentFeatures f;
  const int g0 = 0, t0 = g0 + static_cast<int>(genres.size()), y0 = t0 + kTypeDims,
            a0 = y0 + kYearDims, s0 = a0 + kAgeDims, m0 = s0 + static_cast<int>(studios.size()),
            x0 = m0 + kMemberDims, r0 = x0 + text_dims;
  f.dims = r0 + franchise_dims;
  for (const std::string& g : genres) f.names.push_back("genre:" + g);
  for (const char* t : kTypes) f.names.push_back(absl::StrCat("type:", t));
  f.names.push_back("type:other");
  for (int b = 0; b < kYearDims; ++b) f.names.push_back(absl::StrCat("year bucket ", b));
  for (const char* a : kAges) f.names.push_back(absl::StrCat("age:", a));
  f.names.push_back("age:unknown");
  for (const std::string& s : studios) f.names.push_back("studio:" + s);
  f.names.push_back("log members (standardised)");
  f.names.push_back("members unknown");
  if (options.members_by_year) {
    f.names.push_back("members percentile among anime of its start year");
    f.names.push_back("members percentile, squared");
    for (int b = 0; b < kYearDims; ++b)
      f.names.push_back(absl::StrCat("log members x year bucket ", b));
  }
  for (int d = 0; d < text_dims - 1; ++d) f.names.push_back(absl::StrCat("synopsis ", d));
  if (use_text) f.names.push_back("synopsis unknown");
  for (int d = 0; d < franchise_dims - 1; ++d) f.names.push_back(absl::StrCat("franchise ", d));
  if (use_franchise) f.names.push_back("franchise unknown");

  const size_t n = ids.size();
  f.x.assign(n * static_cast<size_t>(f.dims), 0.0f);
  absl::flat_hash_map<int64_t, uint32_t> row_of;
  for (uint32_t r = 0; r < n; ++r) row_of[ids[r]] = r;
  absl::flat_hash_map<int64_t, uint32_t> text_row;
  if (use_text) {
    for (uint32_t r = 0; r < text->ids.size(); ++r) text_row[text->ids[r]] = r;
  }
  auto index_of = [](const std::vector<std::string>& vocab, const std::string& name) -> int {
    auto it = std::lower_bound(vocab.begin(), vocab.end(), name);
    return it != vocab.end() && *it == name ? static_cast<int>(it - vocab.begin()) : -1;
  };
  // log(1 + members), standardised over the rows that have it.
  double sum = 0, sum2 = 0;
  int known = 0;
  auto hidden = [&](uint32_t r) {
    return r < options.hide_members.size() && options.hide_members[r];
  };
  for (uint32_t r = 0; r < ids.size(); ++r) {
    const Item* it = catalog.Find(ids[r]);
    if (it == nullptr || it->members <= 0 || hidden(r)) continue;
    const double l = std::log1p(static_cast<double>(it->members));
    sum += l;
    sum2 += l * l;
    ++known;
  }
  const double mean = known > 0 ? sum / known : 0;
  const double sd = known > 1 ? std::sqrt(std::max(1e-12, sum2 / known - mean * mean)) : 1;
  // Members as a percentile among the rows of the same start year: an anime of 2022 has
  // had less time to gather members than one of 2012 as popular in its day.
  std::vector<float> year_percentile(n, -1.0f);
  if (options.members_by_year) {
    std::map<int, std::vector<std::pair<int64_t, uint32_t>>> by_year;
    for (uint32_t r = 0; r < n; ++r) {
      const Item* it = catalog.Find(ids[r]);
      if (it == nullptr || it->members <= 0 || hidden(r)) continue;
      by_year[it->start_year()].emplace_back(it->members, r);
    }
    for (auto& [year, v] : by_year) {
      std::sort(v.begin(), v.end());
      for (size_t k = 0; k < v.size(); ++k) {
        year_percentile[v[k].second] =
            v.size() > 1 ? static_cast<float>(k) / static_cast<float>(v.size() - 1) : 0.5f;
      }
    }
  }

  for (uint32_t r = 0; r < n; ++r) {
    float* x = &f.x[static_cast<size_t>(r) * f.dims];
    const Item* it = catalog.Find(ids[r]);
    // Genres.
    if (it != nullptr) {
      for (const std::string& g : it->genres) {
        if (int k = index_of(genres, absl::AsciiStrToLower(g)); k >= 0) x[g0 + k] = 1;
      }
      Normalise(x + g0, t0 - g0);
    }
    // Type.
    int type = kTypeDims - 1;
    if (it != nullptr) {
      const std::string t = absl::AsciiStrToLower(it->type);
      for (int k = 0; k < kTypeDims - 1; ++k) {
        if (t == kTypes[k]) type = k;
      }
    }
    x[t0 + type] = 1;
    x[y0 + YearBucket(it != nullptr ? it->start_year() : 0)] = 1;
    int age = kAgeDims - 1;
    if (it != nullptr) {
      for (int k = 0; k < kAgeDims - 1; ++k) {
        if (it->age_rating == kAges[k]) age = k;
      }
    }
    x[a0 + age] = 1;
    if (it != nullptr) {
      for (const std::string& s : it->studios) {
        if (int k = index_of(studios, s); k >= 0) x[s0 + k] = 1;
      }
      Normalise(x + s0, m0 - s0);
    }
    if (hidden(r)) {
      // Hidden (a time split's cold anime): taken as of average popularity, not as
      // unknown: unknown member counts in training belong to obscure anime.
      if (options.members_by_year) {
        x[m0 + 2] = 0.5f;
        x[m0 + 3] = 0.25f;
      }
    } else if (it != nullptr && it->members > 0) {
      x[m0] = static_cast<float>((std::log1p(static_cast<double>(it->members)) - mean) / sd);
      if (options.members_by_year) {
        x[m0 + 2] = year_percentile[r];
        x[m0 + 3] = year_percentile[r] * year_percentile[r];
        x[m0 + 4 + YearBucket(it->start_year())] = x[m0];
      }
    } else {
      x[m0 + 1] = 1;
    }
    if (use_text) {
      auto t = text_row.find(ids[r]);
      if (t != text_row.end()) {
        std::copy_n(&text->v[static_cast<size_t>(t->second) * text->dims], text->dims, x + x0);
        Normalise(x + x0, text->dims);
      } else {
        x[x0 + text->dims] = 1;
      }
    }
    if (use_franchise) {
      double total = 0;
      const int d = learned->cols;
      if (it != nullptr) {
        for (int64_t rel : it->related) {
          auto rr = row_of.find(rel);
          if (rr == row_of.end() || viewers[rr->second] <= 0) continue;
          const float w =
              options.franchise_by_viewers ? static_cast<float>(viewers[rr->second]) : 1.0f;
          const float* v = &learned->v[static_cast<size_t>(rr->second) * d];
          for (int k = 0; k < d; ++k) x[r0 + k] += w * v[k];
          total += w;
        }
      }
      if (total > 0) {
        for (int k = 0; k < d; ++k) x[r0 + k] = static_cast<float>(x[r0 + k] / total);
      } else {
        x[r0 + d] = 1;
      }
    }
  }
  return f;
}

absl::StatusOr<ContentModel> ContentModel::Fit(const ContentFeatures& f, const Tensor& targets,
                                               const std::vector<uint32_t>& rows, double lambda) {
  if (rows.empty())
    return absl::InvalidArgumentError(
        "no anime with enough viewers to learn the content model from");
  if (lambda <= 0)
    return absl::InvalidArgumentError("the content model's ridge (lambda) must be > 0");
  const int in = f.dims + 1, out = targets.cols;
  Eigen::MatrixXd xtx = Eigen::MatrixXd::Zero(in, in);
  Eigen::MatrixXd xty = Eigen::MatrixXd::Zero(in, out);
  Eigen::VectorXd x(in);
  for (uint32_t r : rows) {
    for (int k = 0; k < f.dims; ++k) x[k] = f.x[static_cast<size_t>(r) * f.dims + k];
    x[f.dims] = 1.0;
    xtx.selfadjointView<Eigen::Lower>().rankUpdate(x);
    const float* y = &targets.v[static_cast<size_t>(r) * out];
    for (int j = 0; j < out; ++j) xty.col(j) += x * static_cast<double>(y[j]);
  }
  Eigen::MatrixXd a = xtx.selfadjointView<Eigen::Lower>();
  for (int k = 0; k < f.dims; ++k) a(k, k) += lambda;  // the intercept is not penalised
  a(f.dims, f.dims) += 1e-9;
  Eigen::LDLT<Eigen::MatrixXd> ldlt(a);
  if (ldlt.info() != Eigen::Success)
    return absl::InternalError("the content model's normal equations did not factor");
  const Eigen::MatrixXd w = ldlt.solve(xty);
  ContentModel m;
  m.in_dims_ = f.dims;
  m.out_dims_ = out;
  m.w_.resize(static_cast<size_t>(in) * out);
  for (int k = 0; k < in; ++k) {
    for (int j = 0; j < out; ++j) m.w_[static_cast<size_t>(k) * out + j] = w(k, j);
  }
  return m;
}

void ContentModel::Predict(const ContentFeatures& f, uint32_t row, float* out) const {
  const float* x = &f.x[static_cast<size_t>(row) * f.dims];
  std::vector<double> y(w_.begin() + static_cast<long>(in_dims_) * out_dims_,
                        w_.end());  // intercept
  for (int k = 0; k < in_dims_; ++k) {
    if (x[k] == 0) continue;
    const double* w = &w_[static_cast<size_t>(k) * out_dims_];
    for (int j = 0; j < out_dims_; ++j) y[j] += x[k] * w[j];
  }
  for (int j = 0; j < out_dims_; ++j) out[j] = static_cast<float>(y[j]);
}

std::vector<double> PopularityDirection(const Tensor& users) {
  const int d = users.cols;
  std::vector<double> m(d, 0.0);
  for (int u = 0; u < users.rows; ++u) {
    for (int k = 0; k < d; ++k) m[k] += users.v[static_cast<size_t>(u) * d + k];
  }
  double n2 = 0;
  for (int k = 0; k < d; ++k) {
    m[k] /= std::max(1, users.rows);
    n2 += m[k] * m[k];
  }
  for (int k = 0; k < d; ++k) m[k] = n2 > 0 ? m[k] / n2 : 0.0;
  return m;
}

int MembersColumn(const ContentFeatures& f) {
  for (int k = 0; k < f.dims; ++k) {
    if (f.names[k] == "log members (standardised)") return k;
  }
  return -1;
}

void ApplyShift(const ContentFeatures& f, const std::vector<double>& direction, double shift,
                const std::vector<uint8_t>& rows, Tensor* vectors) {
  const int m = MembersColumn(f);
  const int d = vectors->cols;
  if (m < 0 || shift == 0 || static_cast<int>(direction.size()) != d) return;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (!rows[r]) continue;
    const double z = f.x[r * f.dims + m];
    float* v = &vectors->v[r * d];
    for (int k = 0; k < d; ++k) v[k] = static_cast<float>(v[k] + shift * z * direction[k]);
  }
}

std::vector<double> DefaultShiftGrid() {
  return {0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16};
}

absl::StatusOr<ShiftCalibration> CalibrateShift(
    const Catalog& catalog, const std::vector<int64_t>& ids, const ContentFeatures& f,
    const Tensor& learned, const std::vector<uint32_t>& warm_rows, const Tensor& users,
    const std::vector<std::vector<uint32_t>>& history, double lambda, double share,
    const std::vector<double>& grid) {
  if (grid.empty() || share <= 0 || share >= 1) {
    return absl::InvalidArgumentError(
        "popularity shift: the grid must not be empty and the share must be in (0, 1)");
  }
  if (users.cols != learned.cols) {
    return absl::InvalidArgumentError(absl::StrCat(
        "popularity shift: user vectors have ", users.cols, " dims, item vectors ", learned.cols));
  }
  // The newest warm rows (by their latest possible start day) act as cold.
  std::vector<std::pair<std::string, uint32_t>> dated;
  for (uint32_t r : warm_rows) {
    const Item* it = catalog.Find(ids[r]);
    if (it != nullptr && !it->start_date.empty()) dated.emplace_back(LatestDay(it->start_date), r);
  }
  std::sort(dated.begin(), dated.end(), std::greater<>());
  const size_t take = static_cast<size_t>(std::ceil(share * static_cast<double>(warm_rows.size())));
  if (take < 2 || dated.size() < take + 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("popularity shift: ", dated.size(),
                     " dated anime with enough viewers, too few to hold out ", take));
  }
  ShiftCalibration c;
  c.pseudo_cold = take;
  c.newest_from = dated[take - 1].first;
  std::vector<uint8_t> is_cold(ids.size(), 0);
  std::vector<uint32_t> cold;
  for (size_t k = 0; k < take; ++k) {
    is_cold[dated[k].second] = 1;
    cold.push_back(dated[k].second);
  }
  std::sort(cold.begin(), cold.end());
  std::vector<uint32_t> fit_rows;
  for (uint32_t r : warm_rows) {
    if (!is_cold[r]) fit_rows.push_back(r);
  }
  auto model = ContentModel::Fit(f, learned, fit_rows, lambda);
  if (!model.ok()) return model.status();
  const int d = learned.cols;
  const int mcol = MembersColumn(f);
  std::vector<float> predicted(cold.size() * d);
  std::vector<double> z(cold.size(), 0.0);
  for (size_t j = 0; j < cold.size(); ++j) {
    model->Predict(f, cold[j], &predicted[j * d]);
    if (mcol >= 0) z[j] = f.x[static_cast<size_t>(cold[j]) * f.dims + mcol];
  }
  const std::vector<double> direction = PopularityDirection(users);
  std::vector<ListMetrics> sums(grid.size());
  std::vector<float> base(cold.size()), scores(cold.size());
  std::vector<uint32_t> relevant;
  for (uint32_t u = 0; u < history.size() && u < static_cast<uint32_t>(users.rows); ++u) {
    relevant.clear();
    for (uint32_t r : history[u]) {
      if (r < is_cold.size() && is_cold[r]) {
        relevant.push_back(
            static_cast<uint32_t>(std::lower_bound(cold.begin(), cold.end(), r) - cold.begin()));
      }
    }
    if (relevant.empty()) continue;
    const float* p = &users.v[static_cast<size_t>(u) * d];
    const double toward = Dot(p, direction);
    for (size_t j = 0; j < cold.size(); ++j)
      base[j] = static_cast<float>(Dot(p, &predicted[j * d], d));
    for (size_t g = 0; g < grid.size(); ++g) {
      for (size_t j = 0; j < cold.size(); ++j)
        scores[j] = static_cast<float>(base[j] + grid[g] * z[j] * toward);
      AddRankedList(scores, relevant, &sums[g]);
    }
  }
  double best = -1;
  for (size_t g = 0; g < grid.size(); ++g) {
    Finish(&sums[g]);
    c.ndcg.emplace_back(grid[g], sums[g].ndcg20);
    if (sums[g].ndcg20 > best) {
      best = sums[g].ndcg20;
      c.shift = grid[g];
    }
  }
  c.users = sums[0].users;
  if (c.users == 0)
    return absl::FailedPreconditionError("popularity shift: no user watched the newest anime");
  c.by_ranking = c.shift;
  // The level: how many of a user's top 10 (their own anime left out) the anime acting
  // as cold take with their learned vectors, and with the predicted ones for each s. A
  // shift that ranks new anime well among themselves can still lift them above
  // everything a user's taste says (every user's list the same new hits); s is held to
  // the largest value of the grid whose share does not exceed the learned one, among
  // the users who watch new anime (who watched any of those acting as cold: the users a
  // service has today; the others stopped at an older list). Every user's shares are
  // kept too, for people.
  constexpr size_t kTop = 10;
  std::vector<uint64_t> taken(grid.size(), 0), taken_all(grid.size(), 0);
  uint64_t taken_learned = 0, taken_learned_all = 0, slots = 0, slots_all = 0;
  std::vector<double> rest, mine;
  auto count_in_top =
      [&](std::vector<double>& ours) {  // ours: scores; rest: the top kTop, descending
        std::sort(ours.begin(), ours.end(), std::greater<>());
        size_t i = 0, j = 0, n = 0;
        while (n < kTop && (i < rest.size() || j < ours.size())) {
          if (j < ours.size() && (i >= rest.size() || ours[j] > rest[i])) {
            ++j;
          } else {
            ++i;
          }
          ++n;
        }
        return j;
      };
  for (uint32_t u = 0; u < history.size() && u < static_cast<uint32_t>(users.rows); ++u) {
    const float* p = &users.v[static_cast<size_t>(u) * d];
    const auto& h = history[u];
    auto watched = [&](uint32_t r) { return std::binary_search(h.begin(), h.end(), r); };
    const bool current = std::any_of(h.begin(), h.end(),
                                     [&](uint32_t r) { return r < is_cold.size() && is_cold[r]; });
    rest.clear();
    for (uint32_t r : fit_rows) {
      if (!watched(r)) rest.push_back(Dot(p, &learned.v[static_cast<size_t>(r) * d], d));
    }
    const size_t keep = std::min(kTop, rest.size());
    std::partial_sort(rest.begin(), rest.begin() + static_cast<long>(keep), rest.end(),
                      std::greater<>());
    rest.resize(keep);
    const double toward = Dot(p, direction);
    mine.clear();
    std::vector<size_t> open;  // cold anime u did not watch
    for (size_t j = 0; j < cold.size(); ++j) {
      if (watched(cold[j])) continue;
      open.push_back(j);
      mine.push_back(Dot(p, &learned.v[static_cast<size_t>(cold[j]) * d], d));
    }
    const size_t learned_taken = count_in_top(mine);
    taken_learned_all += learned_taken;
    if (current) taken_learned += learned_taken;
    std::vector<double> pred_base(open.size());
    for (size_t o = 0; o < open.size(); ++o) pred_base[o] = Dot(p, &predicted[open[o] * d], d);
    for (size_t g = 0; g < grid.size(); ++g) {
      mine.resize(open.size());
      for (size_t o = 0; o < open.size(); ++o)
        mine[o] = pred_base[o] + grid[g] * z[open[o]] * toward;
      const size_t t = count_in_top(mine);
      taken_all[g] += t;
      if (current) taken[g] += t;
    }
    slots_all += kTop;
    if (current) slots += kTop;
  }
  auto ratio = [](uint64_t a, uint64_t b) {
    return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
  };
  c.share_learned = ratio(taken_learned, slots);
  c.share_learned_all = ratio(taken_learned_all, slots_all);
  c.by_level = grid.front();
  for (size_t g = 0; g < grid.size(); ++g) {
    const double taken_share = ratio(taken[g], slots);
    c.share.emplace_back(grid[g], taken_share);
    c.share_all.emplace_back(grid[g], ratio(taken_all[g], slots_all));
    if (taken_share <= c.share_learned && grid[g] > c.by_level) c.by_level = grid[g];
  }
  c.shift = std::min(c.by_ranking, c.by_level);
  return c;
}

double DeshrinkQueries(const Tensor& learned, const std::vector<uint32_t>& warm_rows,
                       const std::vector<uint8_t>& predicted, const std::vector<int>& group,
                       Tensor* queries) {
  const size_t d = static_cast<size_t>(learned.cols);
  // Mean squared distance of rows to their group's mean, and the means.
  auto spread = [&](const float* x, const std::vector<uint32_t>& rows,
                    absl::flat_hash_map<int, std::vector<double>>* means) {
    absl::flat_hash_map<int, size_t> count;
    for (uint32_t r : rows) {
      std::vector<double>& m = (*means)[group[r]];
      m.resize(d, 0.0);
      ++count[group[r]];
      for (size_t c = 0; c < d; ++c) m[c] += x[static_cast<size_t>(r) * d + c];
    }
    for (auto& [g, m] : *means) {
      for (double& v : m) v /= static_cast<double>(count[g]);
    }
    double var = 0;
    size_t n = 0;
    for (uint32_t r : rows) {
      if (count[group[r]] < 2) continue;  // a group of one has no spread
      const std::vector<double>& m = (*means)[group[r]];
      for (size_t c = 0; c < d; ++c) {
        const double a = x[static_cast<size_t>(r) * d + c] - m[c];
        var += a * a;
      }
      ++n;
    }
    return n > 0 ? var / static_cast<double>(n) : 0.0;
  };
  std::vector<uint32_t> cold;
  for (uint32_t r = 0; r < predicted.size(); ++r) {
    if (predicted[r]) cold.push_back(r);
  }
  absl::flat_hash_map<int, std::vector<double>> learned_means, cold_means;
  const double var_learned = spread(learned.v.data(), warm_rows, &learned_means);
  const double var_cold = spread(queries->v.data(), cold, &cold_means);
  if (!(var_cold > 0) || !(var_learned > 0)) return 1;
  const double a = std::sqrt(var_learned / var_cold);
  for (uint32_t r : cold) {
    const std::vector<double>& m = cold_means[group[r]];
    float* q = &queries->v[static_cast<size_t>(r) * d];
    for (size_t c = 0; c < d; ++c) q[c] = static_cast<float>(m[c] + a * (q[c] - m[c]));
  }
  return a;
}

absl::StatusOr<FilledVectors> FillVectors(const Catalog& catalog, const std::vector<int64_t>& ids,
                                          const Tensor& learned, const std::vector<int>& viewers,
                                          const TextVectors* text, const ContentOptions& options,
                                          double lambda, int min_viewers, const ShiftInput* shift) {
  std::vector<int> warm_viewers(ids.size(), 0);
  std::vector<uint32_t> warm_rows;
  for (uint32_t r = 0; r < ids.size(); ++r) {
    if (viewers[r] >= min_viewers) {
      warm_viewers[r] = viewers[r];
      warm_rows.push_back(r);
    }
  }
  const ContentFeatures f =
      BuildContentFeatures(catalog, ids, text, &learned, warm_viewers, options);
  auto model = ContentModel::Fit(f, learned, warm_rows, lambda);
  if (!model.ok()) return model.status();
  FilledVectors out;
  out.vectors = learned;
  out.predicted.assign(ids.size(), 0);
  out.fit_on = warm_rows.size();
  out.features = f.dims;
  for (uint32_t r = 0; r < ids.size(); ++r) {
    if (warm_viewers[r] > 0) continue;
    model->Predict(f, r, &out.vectors.v[static_cast<size_t>(r) * learned.cols]);
    out.predicted[r] = 1;
  }
  out.query_vectors = out.vectors;
  std::vector<int> year(ids.size(), 0);
  for (size_t r = 0; r < ids.size(); ++r) {
    if (const Item* it = catalog.Find(ids[r])) year[r] = it->start_year();
  }
  out.query_spread = DeshrinkQueries(learned, warm_rows, out.predicted, year, &out.query_vectors);
  if (shift != nullptr && shift->users != nullptr && shift->history != nullptr) {
    if (shift->fixed >= 0) {
      out.calibration.shift = shift->fixed;
    } else {
      auto c = CalibrateShift(catalog, ids, f, learned, warm_rows, *shift->users, *shift->history,
                              lambda, shift->share, DefaultShiftGrid());
      if (absl::IsFailedPrecondition(c.status())) {
        out.calibration.skipped = std::string(c.status().message());  // too little data: no shift
      } else if (!c.ok()) {
        return c.status();
      } else {
        out.calibration = *std::move(c);
      }
    }
    ApplyShift(f, PopularityDirection(*shift->users), out.calibration.shift, out.predicted,
               &out.vectors);
  }
  return out;
}

std::string LatestDay(const std::string& start_date) {
  if (start_date.size() == 4) return start_date + "-12-31";
  if (start_date.size() == 7) return start_date + "-31";
  return start_date.substr(0, 10);
}

std::vector<int64_t> ColdAnime(const Catalog& catalog, const std::string& cutoff,
                               const std::string& until) {
  std::vector<int64_t> out;
  for (const Item& it : catalog.items()) {
    if (it.start_date.empty()) continue;
    if (LatestDay(it.start_date) > cutoff && it.start_date.substr(0, 10) <= until)
      out.push_back(it.id);
  }
  return out;
}

void AddRankedList(const std::vector<float>& scores, const std::vector<uint32_t>& relevant,
                   ListMetrics* sum) {
  if (relevant.empty()) return;
  std::vector<uint8_t> is_relevant(scores.size(), 0);
  for (uint32_t r : relevant) is_relevant[r] = 1;
  double hits = 0, dcg = 0;
  for (size_t a = 0; a < relevant.size(); ++a) {
    const uint32_t r = relevant[a];
    const float s = scores[r];
    // Ties against relevant items: an equal non-relevant score ranks above; among
    // relevant items with equal scores, the one listed first ranks above.
    size_t rank = 0;
    for (size_t j = 0; j < scores.size(); ++j) {
      if (j == r) continue;
      if (!is_relevant[j]) {
        rank += scores[j] >= s;
      } else {
        rank += scores[j] > s;
      }
    }
    for (size_t b = 0; b < a; ++b) rank += scores[relevant[b]] == s;
    if (rank < 20) {
      hits += 1;
      dcg += 1.0 / std::log2(static_cast<double>(rank) + 2.0);
    }
  }
  const size_t ideal = std::min<size_t>(relevant.size(), 20);
  double idcg = 0;
  for (size_t i = 0; i < ideal; ++i) idcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
  sum->recall20 += hits / static_cast<double>(ideal);
  sum->ndcg20 += dcg / idcg;
  ++sum->users;
}

void Finish(ListMetrics* m) {
  if (m->users == 0) return;
  m->recall20 /= m->users;
  m->ndcg20 /= m->users;
}

}  // namespace simsearch::ncf
