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

constexpr const char* kTypes[] = {"tv", "movie", "ova", "ona", "special", "music"};
constexpr const char* kAges[] = {"g", "pg", "pg_13", "r", "r+", "rx"};
constexpr int kTypeDims = 7, kYearDims = 9, kAgeDims = 7;  // with "other" or "unknown"

// Where each block of BuildContentFeatures' features starts in a row (cold_start.h
// lists them), and the genre and studio vocabularies.
struct FeatureLayout {
  std::vector<std::string> genres, studios;  // sorted
  bool use_text = false, use_franchise = false;
  int text_dims = 0, franchise_dims = 0;  // each with its "unknown" indicator (0: none)
  // The first dimension of the genres, type, start year, age rating, studios, members,
  // synopsis and franchise blocks; and the row's size.
  int g0 = 0, t0 = 0, y0 = 0, a0 = 0, s0 = 0, m0 = 0, x0 = 0, r0 = 0, dims = 0;
};

FeatureLayout Layout(const Catalog& catalog, const TextVectors* text, const Tensor* learned,
                     const ContentOptions& options) {
  std::map<std::string, int> genre_counts, studio_counts;
  for (const Item& it : catalog.items()) {
    for (const std::string& g : it.genres) ++genre_counts[absl::AsciiStrToLower(g)];
    for (const std::string& s : it.studios) ++studio_counts[s];
  }
  FeatureLayout l;
  l.genres = Vocabulary(genre_counts, options.min_count);
  l.studios = Vocabulary(studio_counts, options.min_count);
  const int member_dims = options.members_by_year ? 4 + kYearDims : 2;
  l.use_text = options.text && text != nullptr;
  l.use_franchise = options.franchise && learned != nullptr;
  l.text_dims = l.use_text ? text->dims + 1 : 0;
  l.franchise_dims = l.use_franchise ? learned->cols + 1 : 0;
  l.g0 = 0;
  l.t0 = l.g0 + static_cast<int>(l.genres.size());
  l.y0 = l.t0 + kTypeDims;
  l.a0 = l.y0 + kYearDims;
  l.s0 = l.a0 + kAgeDims;
  l.m0 = l.s0 + static_cast<int>(l.studios.size());
  l.x0 = l.m0 + member_dims;
  l.r0 = l.x0 + l.text_dims;
  l.dims = l.r0 + l.franchise_dims;
  return l;
}

// What each dimension of the layout is, for people.
std::vector<std::string> FeatureNames(const FeatureLayout& l, bool members_by_year) {
  std::vector<std::string> names;
  for (const std::string& g : l.genres) names.push_back("genre:" + g);
  for (const char* t : kTypes) names.push_back(absl::StrCat("type:", t));
  names.push_back("type:other");
  for (int b = 0; b < kYearDims; ++b) names.push_back(absl::StrCat("year bucket ", b));
  for (const char* a : kAges) names.push_back(absl::StrCat("age:", a));
  names.push_back("age:unknown");
  for (const std::string& s : l.studios) names.push_back("studio:" + s);
  names.push_back("log members (standardised)");
  names.push_back("members unknown");
  if (members_by_year) {
    names.push_back("members percentile among anime of its start year");
    names.push_back("members percentile, squared");
    for (int b = 0; b < kYearDims; ++b)
      names.push_back(absl::StrCat("log members x year bucket ", b));
  }
  for (int d = 0; d < l.text_dims - 1; ++d) names.push_back(absl::StrCat("synopsis ", d));
  if (l.use_text) names.push_back("synopsis unknown");
  for (int d = 0; d < l.franchise_dims - 1; ++d) names.push_back(absl::StrCat("franchise ", d));
  if (l.use_franchise) names.push_back("franchise unknown");
  return names;
}

// Whether row r's member count is hidden (ContentOptions::hide_members).
bool Hidden(const ContentOptions& options, uint32_t r) {
  return r < options.hide_members.size() && options.hide_members[r];
}

// The member counts' scale: log(1 + members) standardised over the rows that have it
// (hidden ones left out), and each such row's percentile among the rows of its start
// year (an anime of 2022 has had less time to gather members than one of 2012 as
// popular in its day).
struct MemberScale {
  double mean = 0, sd = 1;
  std::vector<float> year_percentile;  // per row; -1: none
};

MemberScale ScaleMembers(const Catalog& catalog, const std::vector<int64_t>& ids,
                         const ContentOptions& options) {
  double sum = 0, sum2 = 0;
  int known = 0;
  for (uint32_t r = 0; r < ids.size(); ++r) {
    const Item* it = catalog.Find(ids[r]);
    if (it == nullptr || it->members <= 0 || Hidden(options, r)) continue;
    const double l = std::log1p(static_cast<double>(it->members));
    sum += l;
    sum2 += l * l;
    ++known;
  }
  MemberScale m;
  m.mean = known > 0 ? sum / known : 0;
  m.sd = known > 1 ? std::sqrt(std::max(1e-12, sum2 / known - m.mean * m.mean)) : 1;
  m.year_percentile.assign(ids.size(), -1.0f);
  if (!options.members_by_year) return m;
  std::map<int, std::vector<std::pair<int64_t, uint32_t>>> by_year;
  for (uint32_t r = 0; r < ids.size(); ++r) {
    const Item* it = catalog.Find(ids[r]);
    if (it == nullptr || it->members <= 0 || Hidden(options, r)) continue;
    by_year[it->start_year()].emplace_back(it->members, r);
  }
  for (auto& [year, v] : by_year) {
    std::sort(v.begin(), v.end());
    for (size_t k = 0; k < v.size(); ++k) {
      m.year_percentile[v[k].second] =
          v.size() > 1 ? static_cast<float>(k) / static_cast<float>(v.size() - 1) : 0.5f;
    }
  }
  return m;
}

// The vocabulary index of `name`, or -1.
int IndexOf(const std::vector<std::string>& vocab, const std::string& name) {
  auto it = std::lower_bound(vocab.begin(), vocab.end(), name);
  return it != vocab.end() && *it == name ? static_cast<int>(it - vocab.begin()) : -1;
}

// The catalogue's categories of an anime (`it`; nullptr: unknown) into its row x:
// genres and studios (normalised multi-hot), type, start-year bucket and age rating.
void FillCategories(const Item* it, const FeatureLayout& l, float* x) {
  if (it != nullptr) {
    for (const std::string& g : it->genres) {
      if (int k = IndexOf(l.genres, absl::AsciiStrToLower(g)); k >= 0) x[l.g0 + k] = 1;
    }
    Normalise(x + l.g0, l.t0 - l.g0);
  }
  int type = kTypeDims - 1;
  if (it != nullptr) {
    const std::string t = absl::AsciiStrToLower(it->type);
    for (int k = 0; k < kTypeDims - 1; ++k) {
      if (t == kTypes[k]) type = k;
    }
  }
  x[l.t0 + type] = 1;
  x[l.y0 + YearBucket(it != nullptr ? it->start_year() : 0)] = 1;
  int age = kAgeDims - 1;
  if (it != nullptr) {
    for (int k = 0; k < kAgeDims - 1; ++k) {
      if (it->age_rating == kAges[k]) age = k;
    }
  }
  x[l.a0 + age] = 1;
  if (it != nullptr) {
    for (const std::string& s : it->studios) {
      if (int k = IndexOf(l.studios, s); k >= 0) x[l.s0 + k] = 1;
    }
    Normalise(x + l.s0, l.m0 - l.s0);
  }
}

// The member-count features of row r (`it`: its anime, nullptr: unknown) into x.
void FillMembers(const Item* it, uint32_t r, const MemberScale& scale,
                 const ContentOptions& options, const FeatureLayout& l, float* x) {
  const int m0 = l.m0;
  if (Hidden(options, r)) {
    // Hidden (a time split's cold anime): taken as of average popularity, not as
    // unknown: unknown member counts in training belong to obscure anime.
    if (options.members_by_year) {
      x[m0 + 2] = 0.5f;
      x[m0 + 3] = 0.25f;
    }
  } else if (it != nullptr && it->members > 0) {
    x[m0] =
        static_cast<float>((std::log1p(static_cast<double>(it->members)) - scale.mean) / scale.sd);
    if (options.members_by_year) {
      const float p = scale.year_percentile[r];
      x[m0 + 2] = p;
      x[m0 + 3] = p * p;
      x[m0 + 4 + YearBucket(it->start_year())] = x[m0];
    }
  } else {
    x[m0 + 1] = 1;
  }
}

// The franchise feature of an anime (`it`; nullptr: unknown) into x: the mean learned
// vector of its related entries with viewers (weighted by their viewers, with
// franchise_by_viewers), or the "unknown" indicator.
void FillFranchise(const Item* it, const Tensor& learned, const std::vector<int>& viewers,
                   const absl::flat_hash_map<int64_t, uint32_t>& row_of,
                   const ContentOptions& options, const FeatureLayout& l, float* x) {
  double total = 0;
  const int d = learned.cols;
  if (it != nullptr) {
    for (int64_t rel : it->related) {
      auto rr = row_of.find(rel);
      if (rr == row_of.end() || viewers[rr->second] <= 0) continue;
      const float w = options.franchise_by_viewers ? static_cast<float>(viewers[rr->second]) : 1.0f;
      const float* v = &learned.v[static_cast<size_t>(rr->second) * d];
      for (int k = 0; k < d; ++k) x[l.r0 + k] += w * v[k];
      total += w;
    }
  }
  if (total > 0) {
    for (int k = 0; k < d; ++k) x[l.r0 + k] = static_cast<float>(x[l.r0 + k] / total);
  } else {
    x[l.r0 + d] = 1;
  }
}

}  // namespace

ContentFeatures BuildContentFeatures(const Catalog& catalog, const std::vector<int64_t>& ids,
                                     const TextVectors* text, const Tensor* learned,
                                     const std::vector<int>& viewers,
                                     const ContentOptions& options) {
  const FeatureLayout l = Layout(catalog, text, learned, options);
  ContentFeatures f;
  f.dims = l.dims;
  f.names = FeatureNames(l, options.members_by_year);
  const size_t n = ids.size();
  f.x.assign(n * static_cast<size_t>(f.dims), 0.0f);
  absl::flat_hash_map<int64_t, uint32_t> row_of;
  for (uint32_t r = 0; r < n; ++r) row_of[ids[r]] = r;
  absl::flat_hash_map<int64_t, uint32_t> text_row;
  if (l.use_text) {
    for (uint32_t r = 0; r < text->ids.size(); ++r) text_row[text->ids[r]] = r;
  }
  const MemberScale scale = ScaleMembers(catalog, ids, options);
  for (uint32_t r = 0; r < n; ++r) {
    float* x = &f.x[static_cast<size_t>(r) * f.dims];
    const Item* it = catalog.Find(ids[r]);
    FillCategories(it, l, x);
    FillMembers(it, r, scale, options, l, x);
    if (l.use_text) {
      auto t = text_row.find(ids[r]);
      if (t != text_row.end()) {
        std::copy_n(&text->v[static_cast<size_t>(t->second) * text->dims], text->dims, x + l.x0);
        Normalise(x + l.x0, text->dims);
      } else {
        x[l.x0 + text->dims] = 1;
      }
    }
    if (l.use_franchise) FillFranchise(it, *learned, viewers, row_of, options, l, x);
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

namespace {

// The warm rows that act as cold in CalibrateShift: the newest `share` of them by their
// latest possible start day.
struct PseudoCold {
  std::vector<uint8_t> is_cold;    // per row
  std::vector<uint32_t> cold;      // sorted
  std::vector<uint32_t> fit_rows;  // the other warm rows
  std::string newest_from;         // the start date of the oldest of them
};

absl::StatusOr<PseudoCold> NewestAsCold(const Catalog& catalog, const std::vector<int64_t>& ids,
                                        const std::vector<uint32_t>& warm_rows, double share) {
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
  PseudoCold pc;
  pc.newest_from = dated[take - 1].first;
  pc.is_cold.assign(ids.size(), 0);
  for (size_t k = 0; k < take; ++k) {
    pc.is_cold[dated[k].second] = 1;
    pc.cold.push_back(dated[k].second);
  }
  std::sort(pc.cold.begin(), pc.cold.end());
  for (uint32_t r : warm_rows) {
    if (!pc.is_cold[r]) pc.fit_rows.push_back(r);
  }
  return pc;
}

// The pseudo-cold rows' vectors as a content model fit on the other warm rows predicts
// them, and their standardised log members (0 without that feature), in pc.cold's order.
struct ColdPredictions {
  std::vector<float> vectors;  // cold.size() x dims
  std::vector<double> z;
};

absl::StatusOr<ColdPredictions> PredictPseudoCold(const ContentFeatures& f, const Tensor& learned,
                                                  const PseudoCold& pc, double lambda) {
  auto model = ContentModel::Fit(f, learned, pc.fit_rows, lambda);
  if (!model.ok()) return model.status();
  const int d = learned.cols;
  const int mcol = MembersColumn(f);
  ColdPredictions p;
  p.vectors.resize(pc.cold.size() * d);
  p.z.assign(pc.cold.size(), 0.0);
  for (size_t j = 0; j < pc.cold.size(); ++j) {
    model->Predict(f, pc.cold[j], &p.vectors[j * d]);
    if (mcol >= 0) p.z[j] = f.x[static_cast<size_t>(pc.cold[j]) * f.dims + mcol];
  }
  return p;
}

// By ranking: the pseudo-cold anime, predicted and shifted by each s of the grid, ranked
// for the users who watched any of them; c->ndcg, c->users, and c->by_ranking (and
// c->shift) the s with the best NDCG@20, the smallest of equals.
absl::Status ChooseByRanking(const PseudoCold& pc, const ColdPredictions& p, const Tensor& users,
                             const std::vector<std::vector<uint32_t>>& history,
                             const std::vector<double>& direction, const std::vector<double>& grid,
                             ShiftCalibration* c) {
  const std::vector<uint32_t>& cold = pc.cold;
  const int d = users.cols;
  std::vector<ListMetrics> sums(grid.size());
  std::vector<float> base(cold.size()), scores(cold.size());
  std::vector<uint32_t> relevant;
  for (uint32_t u = 0; u < history.size() && u < static_cast<uint32_t>(users.rows); ++u) {
    relevant.clear();
    for (uint32_t r : history[u]) {
      if (r < pc.is_cold.size() && pc.is_cold[r]) {
        relevant.push_back(
            static_cast<uint32_t>(std::lower_bound(cold.begin(), cold.end(), r) - cold.begin()));
      }
    }
    if (relevant.empty()) continue;
    const float* q = &users.v[static_cast<size_t>(u) * d];
    const double toward = Dot(q, direction);
    for (size_t j = 0; j < cold.size(); ++j)
      base[j] = static_cast<float>(Dot(q, &p.vectors[j * d], d));
    for (size_t g = 0; g < grid.size(); ++g) {
      for (size_t j = 0; j < cold.size(); ++j)
        scores[j] = static_cast<float>(base[j] + grid[g] * p.z[j] * toward);
      AddRankedList(scores, relevant, &sums[g]);
    }
  }
  double best = -1;
  for (size_t g = 0; g < grid.size(); ++g) {
    Finish(&sums[g]);
    c->ndcg.emplace_back(grid[g], sums[g].ndcg20);
    if (sums[g].ndcg20 > best) {
      best = sums[g].ndcg20;
      c->shift = grid[g];
    }
  }
  c->users = sums[0].users;
  if (c->users == 0)
    return absl::FailedPreconditionError("popularity shift: no user watched the newest anime");
  c->by_ranking = c->shift;
  return absl::OkStatus();
}

constexpr size_t kTop = 10;

// How many of `ours` (sorted here, descending) a top-kTop list takes when they compete
// with `rest` (the others' top kTop, descending).
size_t CountInTop(std::vector<double>& ours, const std::vector<double>& rest) {
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
}

// The top-kTop slots (the user's own anime left out) the pseudo-cold anime take, with
// their learned vectors and predicted with each s of the grid: among the users who watch
// new anime (who watched any of them), and among every user (*_all).
struct TopSlots {
  std::vector<uint64_t> taken, taken_all;  // per s of the grid
  uint64_t taken_learned = 0, taken_learned_all = 0, slots = 0, slots_all = 0;
};

TopSlots CountTopSlots(const PseudoCold& pc, const ColdPredictions& p, const Tensor& learned,
                       const Tensor& users, const std::vector<std::vector<uint32_t>>& history,
                       const std::vector<double>& direction, const std::vector<double>& grid) {
  const std::vector<uint32_t>& cold = pc.cold;
  const int d = learned.cols;
  TopSlots t;
  t.taken.assign(grid.size(), 0);
  t.taken_all.assign(grid.size(), 0);
  std::vector<double> rest, mine;
  for (uint32_t u = 0; u < history.size() && u < static_cast<uint32_t>(users.rows); ++u) {
    const float* q = &users.v[static_cast<size_t>(u) * d];
    const auto& h = history[u];
    auto watched = [&](uint32_t r) { return std::binary_search(h.begin(), h.end(), r); };
    const bool current = std::any_of(
        h.begin(), h.end(), [&](uint32_t r) { return r < pc.is_cold.size() && pc.is_cold[r]; });
    rest.clear();
    for (uint32_t r : pc.fit_rows) {
      if (!watched(r)) rest.push_back(Dot(q, &learned.v[static_cast<size_t>(r) * d], d));
    }
    const size_t keep = std::min(kTop, rest.size());
    std::partial_sort(rest.begin(), rest.begin() + static_cast<long>(keep), rest.end(),
                      std::greater<>());
    rest.resize(keep);
    const double toward = Dot(q, direction);
    mine.clear();
    std::vector<size_t> open;  // cold anime u did not watch
    for (size_t j = 0; j < cold.size(); ++j) {
      if (watched(cold[j])) continue;
      open.push_back(j);
      mine.push_back(Dot(q, &learned.v[static_cast<size_t>(cold[j]) * d], d));
    }
    const size_t learned_taken = CountInTop(mine, rest);
    t.taken_learned_all += learned_taken;
    if (current) t.taken_learned += learned_taken;
    std::vector<double> pred_base(open.size());
    for (size_t o = 0; o < open.size(); ++o) pred_base[o] = Dot(q, &p.vectors[open[o] * d], d);
    for (size_t g = 0; g < grid.size(); ++g) {
      mine.resize(open.size());
      for (size_t o = 0; o < open.size(); ++o)
        mine[o] = pred_base[o] + grid[g] * p.z[open[o]] * toward;
      const size_t taken = CountInTop(mine, rest);
      t.taken_all[g] += taken;
      if (current) t.taken[g] += taken;
    }
    t.slots_all += kTop;
    if (current) t.slots += kTop;
  }
  return t;
}

// By level: how many of a user's top 10 (their own anime left out) the anime acting as
// cold take with their learned vectors, and with the predicted ones for each s. A shift
// that ranks new anime well among themselves can still lift them above everything a
// user's taste says (every user's list the same new hits); s is held to the largest
// value of the grid whose share does not exceed the learned one, among the users who
// watch new anime (who watched any of those acting as cold: the users a service has
// today; the others stopped at an older list). Every user's shares are kept too, for
// people. Sets c->share*, c->share_learned* and c->by_level.
void ChooseByLevel(const TopSlots& t, const std::vector<double>& grid, ShiftCalibration* c) {
  auto ratio = [](uint64_t a, uint64_t b) {
    return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
  };
  c->share_learned = ratio(t.taken_learned, t.slots);
  c->share_learned_all = ratio(t.taken_learned_all, t.slots_all);
  c->by_level = grid.front();
  for (size_t g = 0; g < grid.size(); ++g) {
    const double taken_share = ratio(t.taken[g], t.slots);
    c->share.emplace_back(grid[g], taken_share);
    c->share_all.emplace_back(grid[g], ratio(t.taken_all[g], t.slots_all));
    if (taken_share <= c->share_learned && grid[g] > c->by_level) c->by_level = grid[g];
  }
}

}  // namespace

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
  auto pc = NewestAsCold(catalog, ids, warm_rows, share);
  if (!pc.ok()) return pc.status();
  auto predicted = PredictPseudoCold(f, learned, *pc, lambda);
  if (!predicted.ok()) return predicted.status();
  ShiftCalibration c;
  c.pseudo_cold = pc->cold.size();
  c.newest_from = pc->newest_from;
  const std::vector<double> direction = PopularityDirection(users);
  if (absl::Status s = ChooseByRanking(*pc, *predicted, users, history, direction, grid, &c);
      !s.ok()) {
    return s;
  }
  ChooseByLevel(CountTopSlots(*pc, *predicted, learned, users, history, direction, grid), grid, &c);
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

std::vector<RelevantRank> RanksOfRelevant(const std::vector<float>& scores,
                                          const std::vector<uint32_t>& relevant) {
  std::vector<uint8_t> is_relevant(scores.size(), 0);
  for (uint32_t r : relevant) is_relevant[r] = 1;
  std::vector<float> negatives;
  negatives.reserve(scores.size());
  for (size_t j = 0; j < scores.size(); ++j) {
    if (!is_relevant[j]) negatives.push_back(scores[j]);
  }
  std::sort(negatives.begin(), negatives.end());
  std::vector<RelevantRank> ranks(relevant.size());
  for (size_t a = 0; a < relevant.size(); ++a) {
    const float s = scores[relevant[a]];
    RelevantRank& out = ranks[a];
    out.negatives_above = static_cast<size_t>(
        negatives.end() - std::lower_bound(negatives.begin(), negatives.end(), s));
    size_t relevant_above = 0;
    for (size_t b = 0; b < relevant.size(); ++b) {
      const float o = scores[relevant[b]];
      relevant_above += o > s || (b < a && o == s);
    }
    out.rank = out.negatives_above + relevant_above;
  }
  return ranks;
}

void AddRanks(const std::vector<RelevantRank>& ranks, ListMetrics* sum) {
  if (ranks.empty()) return;
  double hits = 0, dcg = 0;
  bool hit10 = false;
  for (const RelevantRank& r : ranks) {
    hit10 |= r.rank < 10;
    if (r.rank < 20) {
      hits += 1;
      dcg += 1.0 / std::log2(static_cast<double>(r.rank) + 2.0);
    }
  }
  const size_t ideal = std::min<size_t>(ranks.size(), 20);
  double idcg = 0;
  for (size_t i = 0; i < ideal; ++i) idcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
  sum->recall20 += hits / static_cast<double>(ideal);
  sum->ndcg20 += dcg / idcg;
  sum->hit10 += hit10 ? 1.0 : 0.0;
  ++sum->users;
}

void AddRankedList(const std::vector<float>& scores, const std::vector<uint32_t>& relevant,
                   ListMetrics* sum) {
  AddRanks(RanksOfRelevant(scores, relevant), sum);
}

void Finish(ListMetrics* m) {
  if (m->users == 0) return;
  m->recall20 /= m->users;
  m->ndcg20 /= m->users;
  m->hit10 /= m->users;
}

}  // namespace simsearch::ncf
