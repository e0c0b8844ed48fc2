// simsearch-story-eval: "a story like this" against a judged set written before tuning.
//
//   simsearch-story-eval --index_root var/index --collections synopsis,genres,ncf
//       --judgements bench/data/story_judgements.tsv [--per-query]
//
// The judged set (bench/data/story_judgements.tsv, its header says who wrote it and how)
// names, for each query anime, anime a fan would call clearly similar in story, its own
// franchise entries, and anime that would be plainly wrong in its list. Each
// collection's top-k "more like this" list of the query (the query excluded, no filter)
// is scored: the share of entries judged plainly wrong, judged similar, of the same
// franchise, and not judged at all (a judge would have to read those). Queries a
// collection does not hold are skipped for it and counted.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/local_engine.h"
#include "core/catalog.h"
#include "core/cli.h"
#include "core/file_util.h"

namespace simsearch {
namespace {

struct Judgement {
  int64_t query = 0;
  std::string title;
  std::set<int64_t> similar, franchise, wrong;
};

// The data rows of a tab-separated file: '#' comment lines and the column-name line left
// out, each row split at tabs.
std::vector<std::vector<absl::string_view>> DataRows(absl::string_view text) {
  std::vector<std::vector<absl::string_view>> rows;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    if (header) {  // column names
      header = false;
      continue;
    }
    rows.push_back(absl::StrSplit(line, '\t'));
  }
  return rows;
}

// A row as it was written, cut at 80 bytes, for error messages.
std::string Shown(const std::vector<absl::string_view>& f) {
  return std::string(absl::StrJoin(f, "\t")).substr(0, 80);
}

std::set<int64_t> Ids(absl::string_view text) {
  std::set<int64_t> out;
  for (absl::string_view t : absl::StrSplit(text, ' ', absl::SkipWhitespace())) {
    int64_t id;
    if (absl::SimpleAtoi(t, &id)) out.insert(id);
  }
  return out;
}

// One candidate's signals for a query anime (0 where a signal does not reach it).
struct Signals {
  float story = 0, words = 0, viewers = 0, genres = 0, popularity = 0, labels = 0, idf_labels = 0;
  int64_t franchise = 0;
};

// Scores of a hit list scaled to [0, 1] by its own min and max.
void MinMax(const std::vector<Hit>& hits, float Signals::*field,
            absl::flat_hash_map<int64_t, Signals>* out) {
  if (hits.empty()) return;
  float lo = hits.back().score, hi = hits.front().score;
  for (const Hit& h : hits) lo = std::min(lo, h.score), hi = std::max(hi, h.score);
  for (const Hit& h : hits) (*out)[h.id].*field = hi > lo ? (h.score - lo) / (hi - lo) : 1.0f;
}

struct Method {
  std::string name;
  float story, words, viewers, genres, popularity, labels = 0, idf_labels = 0;
};

// Every catalogue source's genre labels of an anime, together (lower-cased; the 2017
// file's "Shoujo Ai" / "Shounen Ai" read as the newer "Girls Love" / "Boys Love").
using LabelSets = absl::flat_hash_map<int64_t, std::set<std::string>>;
LabelSets g_labels;
absl::flat_hash_map<std::string, double> g_idf;  // log(anime / anime with the label)

int CompareMethods(Engine& engine, const std::vector<Judgement>& judged, int k,
                   const std::string& pool_path, bool per_query, bool sweep,
                   const std::map<std::pair<int64_t, int64_t>, char>& pooled) {
  // With pooled judgements: per method, plainly wrong on the judged set's even rows (the
  // half the default weights were chosen on) and odd rows (the half held out), and over
  // all; what the pool has not judged.
  struct Tally {
    uint64_t slots[2] = {0, 0}, wrong[2] = {0, 0}, unjudged = 0;
  };
  const int depth = 200;
  std::vector<Method> methods = {
      {"synopsis embedding", 1, 0, 0, 0, 0},
      {"BM25 of the synopsis", 0, 1, 0, 0, 0},
      {"ncf (viewers)", 0, 0, 1, 0, 0},
      {"embedding+BM25", 0.5f, 0.5f, 0, 0, 0},
      {"embedding+genres", 0.6f, 0, 0, 0.4f, 0},
      {"emb+BM25+genres", 0.4f, 0.3f, 0, 0.3f, 0},
      {"emb+BM25+genres+ncf", 0.3f, 0.2f, 0.25f, 0.25f, 0},
      {"emb+genres+ncf", 0.4f, 0, 0.3f, 0.3f, 0},
      {"emb+BM25+genres+ncf+pop", 0.3f, 0.2f, 0.2f, 0.2f, 0.1f},
      {"emb+ncf", 0.5f, 0, 0.5f, 0, 0},
      {"emb+genres+ncf (ncf 0.5)", 0.25f, 0, 0.5f, 0.25f, 0},
      {"emb+genres+ncf (genres 0.5)", 0.25f, 0, 0.25f, 0.5f, 0},
      {"e2 b1 v1 g6", 0.2f, 0.1f, 0.1f, 0.6f, 0},
  };
  if (!g_labels.empty()) {  // the same with every source's labels instead of the first's genres
    methods.push_back({"e2 b1 v1 L6 (all labels)", 0.2f, 0.1f, 0.1f, 0, 0, 0.6f});
    methods.push_back({"e2 b0 v1 L7", 0.2f, 0, 0.1f, 0, 0, 0.7f});
    methods.push_back({"e3 b1 v1 L5 (all labels)", 0.3f, 0.1f, 0.1f, 0, 0, 0.5f});
    methods.push_back({"e1 b1 v1 g3 L4", 0.1f, 0.1f, 0.1f, 0.3f, 0, 0.4f});
    methods.push_back({"e2 b0 v1 I7 (idf-weighted labels)", 0.2f, 0, 0.1f, 0, 0, 0, 0.7f});
    methods.push_back({"e2 b0 v0 I8 (idf-weighted labels)", 0.2f, 0, 0, 0, 0, 0, 0.8f});
    methods.push_back({"e1 b0 v1 I8 (the weights served)", 0.1f, 0, 0.1f, 0, 0, 0, 0.8f});
  }
  if (sweep) {  // every weighting in steps of 0.1 (summing to 1), with a popularity term of 0, -0.1
                // or -0.2
    methods.clear();
    for (int e = 0; e <= 10; ++e) {
      for (int b = 0; e + b <= 10; ++b) {
        for (int v = 0; e + b + v <= 10; ++v) {
          const int g = 10 - e - b - v;
          for (int pop = 0; pop >= -2; --pop) {
            methods.push_back({absl::StrCat("e", e, " b", b, " v", v, " g", g, " p", pop),
                               e / 10.0f, b / 10.0f, v / 10.0f, g / 10.0f, pop / 10.0f});
          }
        }
      }
    }
  }
  std::vector<std::array<uint64_t, 4>> totals(
      methods.size());  // slots, wrong, similar, franchise group left in
  std::vector<Tally> tallies(methods.size());
  size_t judged_row = 0;
  std::vector<std::pair<int64_t, int64_t>> pool;
  std::string lists = "method\tquery_id\trank\tcandidate_id\n";
  for (const Judgement& j : judged) {
    const int half = static_cast<int>(judged_row++ % 2);
    auto syn = engine.GetCollection("synopsis");
    if (!syn.ok()) return 1;
    auto rec = engine.GetItems("synopsis", {j.query});
    if (!rec.ok()) continue;  // no synopsis
    const Collection& sc = *rec->collection;
    const ItemView qv = sc.item(rec->rows[0]);
    const int64_t qfr = qv.franchise(j.query);
    absl::flat_hash_map<int64_t, Signals> cand;
    // The embedding by a vector query: an item query would answer the collection's
    // precomputed lists, which are fused themselves when it was built with them.
    const float* qvec = sc.vector(rec->rows[0]);
    FilterSpec not_self;
    not_self.exclude_ids = {j.query};
    auto story =
        engine.Search("synopsis", {SearchQuery::Vector(std::vector<float>(qvec, qvec + sc.dims()))},
                      depth, not_self, absl::InfiniteFuture());
    if (!story.ok()) return 1;
    MinMax(story->hits[0], &Signals::story, &cand);
    SearchQuery text =
        SearchQuery::Text(std::string(qv.title()) + " " + std::string(qv.synopsis()));
    text.text_options = MakeTextOptions(TextMode::kLexical);
    FilterSpec self;
    self.exclude_ids = {j.query};
    auto words = engine.Search("synopsis", {text}, depth, self, absl::InfiniteFuture());
    if (!words.ok()) {
      std::fprintf(stderr, "%s: %s\n", j.title.c_str(),
                   std::string(words.status().message()).c_str());
      return 1;
    }
    MinMax(words->hits[0], &Signals::words, &cand);
    auto viewers =
        engine.Search("ncf", {SearchQuery::Item(j.query)}, depth, {}, absl::InfiniteFuture());
    if (viewers.ok()) MinMax(viewers->hits[0], &Signals::viewers, &cand);
    std::set<std::string> qg;
    for (absl::string_view g : qv.genres()) qg.emplace(g);
    for (auto& [id, sig] : cand) {
      auto r = engine.GetItems("synopsis", {id});
      if (!r.ok()) {  // not a synopsis anime: the list is of the synopsis collection
        sig.franchise = -1;
        continue;
      }
      const ItemView v = r->collection->item(r->rows[0]);
      sig.franchise = v.franchise(id);
      size_t both = 0, either = qg.size();
      for (absl::string_view g : v.genres()) {
        if (qg.count(std::string(g)))
          ++both;
        else
          ++either;
      }
      sig.genres = either ? static_cast<float>(both) / static_cast<float>(either) : 0.0f;
      if (!g_labels.empty()) {
        const auto a = g_labels.find(j.query), b = g_labels.find(id);
        if (a != g_labels.end() && b != g_labels.end()) {
          size_t both2 = 0;
          for (const std::string& x : b->second) both2 += a->second.count(x);
          const size_t either2 = a->second.size() + b->second.size() - both2;
          sig.labels = either2 ? static_cast<float>(both2) / static_cast<float>(either2) : 0.0f;
          double w_both = 0, w_either = 0;
          for (const std::string& x : a->second) w_either += g_idf[x];
          for (const std::string& x : b->second) {
            if (a->second.count(x))
              w_both += g_idf[x];
            else
              w_either += g_idf[x];
          }
          sig.idf_labels = w_either > 0 ? static_cast<float>(w_both / w_either) : 0.0f;
        }
      }
      sig.popularity = std::min(
          1.0f, static_cast<float>(std::log10(1.0 + static_cast<double>(v.members())) / 6.0));
    }
    std::set<std::pair<int64_t, int64_t>> pairs;  // this query's, for the pool file
    for (size_t m = 0; m < methods.size(); ++m) {
      const Method& me = methods[m];
      std::vector<std::pair<float, int64_t>> ranked;
      for (const auto& [id, sig] : cand) {
        if (sig.franchise == -1 || sig.franchise == qfr || id == j.query) continue;
        const float score = me.story * sig.story + me.words * sig.words + me.viewers * sig.viewers +
                            me.genres * sig.genres + me.popularity * sig.popularity +
                            me.labels * sig.labels + me.idf_labels * sig.idf_labels;
        if (score > 0 || me.popularity < 0) ranked.emplace_back(-score, id);
      }
      std::sort(ranked.begin(), ranked.end());
      if (ranked.size() > static_cast<size_t>(k)) ranked.resize(static_cast<size_t>(k));
      if (per_query) {
        std::string titles;
        for (const auto& [neg, id] : ranked) {
          auto r = engine.GetItems("synopsis", {id});
          absl::StrAppend(&titles, titles.empty() ? "" : "; ", j.wrong.count(id) ? "WRONG " : "",
                          j.similar.count(id) ? "+" : "", r->collection->item(r->rows[0]).title());
        }
        std::printf("  %-24.24s %-30.30s %s\n", me.name.c_str(), j.title.c_str(), titles.c_str());
      }
      for (size_t rank = 0; rank < ranked.size(); ++rank) {
        absl::StrAppend(&lists, me.name, "\t", j.query, "\t", rank + 1, "\t", ranked[rank].second,
                        "\n");
      }
      for (const auto& [neg, id] : ranked) {
        if (!pooled.empty()) {
          auto it = pooled.find({j.query, id});
          ++tallies[m].slots[half];
          if (it == pooled.end())
            ++tallies[m].unjudged;
          else if (it->second == '0')
            ++tallies[m].wrong[half];
        }
        ++totals[m][0];
        if (j.wrong.count(id)) ++totals[m][1];
        if (j.similar.count(id)) ++totals[m][2];
        if (j.franchise.count(id)) ++totals[m][3];
        pairs.emplace(j.query, id);
      }
    }
    pool.insert(pool.end(), pairs.begin(), pairs.end());
  }
  std::printf("\n%-26s %8s %8s %8s %10s\n", "method (franchise apart)", "slots", "wrong", "similar",
              "franchise");
  for (size_t m = 0; m < methods.size(); ++m) {
    auto share = [&](uint64_t x) {
      return totals[m][0] ? static_cast<double>(x) / static_cast<double>(totals[m][0]) : 0.0;
    };
    std::printf("%-26s %8llu %8.3f %8.3f %10.3f\n", methods[m].name.c_str(),
                static_cast<unsigned long long>(totals[m][0]), share(totals[m][1]),
                share(totals[m][2]), share(totals[m][3]));
  }
  if (!pooled.empty()) {
    std::printf(
        "\nplainly wrong by the pooled blind judgements (shares of the slots):\n%-28s %8s %8s %8s "
        "%9s\n",
        "method (franchise apart)", "all", "even", "odd", "unjudged");
    for (size_t m = 0; m < methods.size(); ++m) {
      const Tally& t = tallies[m];
      auto frac = [](uint64_t a, uint64_t b) {
        return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
      };
      const uint64_t slots = t.slots[0] + t.slots[1];
      std::printf("%-28s %8.3f %8.3f %8.3f %9.3f\n", methods[m].name.c_str(),
                  frac(t.wrong[0] + t.wrong[1], slots), frac(t.wrong[0], t.slots[0]),
                  frac(t.wrong[1], t.slots[1]), frac(t.unjudged, slots));
    }
  }
  if (!pool_path.empty()) {
    std::mt19937_64 rng(7);
    std::shuffle(pool.begin(), pool.end(), rng);
    std::stable_sort(pool.begin(), pool.end(), [](auto& a, auto& b) { return a.first < b.first; });
    std::string out = "query_id\tcandidate_id\n";
    for (const auto& [q, c] : pool) absl::StrAppend(&out, q, "\t", c, "\n");
    if (auto st = WriteStringToFile(pool_path, out); !st.ok()) {
      std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
      return 1;
    }
    std::printf("pool: %zu (query, candidate) pairs in %s\n", pool.size(), pool_path.c_str());
    if (auto st = WriteStringToFile(pool_path + ".lists", lists); !st.ok()) {
      std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
      return 1;
    }
  }
  return 0;
}

int Run(int argc, char** argv) {
  std::string root, path = "bench/data/story_judgements.tsv";
  std::vector<std::string> names;
  int k = 10;
  bool per_query = false;
  ArgParser p(
      "simsearch-story-eval",
      "simsearch-story-eval: share of plainly wrong, similar and same-franchise entries in\n"
      "each collection's \"more like this\" top k, on a judged set of query anime.");
  p.AddString("index_root", &root, "index root", "ROOT");
  p.AddStringList("collections", &names, "collections to compare", "NAME,...");
  p.AddString("judgements", &path, "the judged set (default bench/data/story_judgements.tsv)",
              "FILE");
  p.AddInt("k", &k, "list length (default 10)");
  p.AddBool("per-query", &per_query, "also print each query's counts and its wrong entries");
  bool methods = false, sweep = false, franchise_apart = false;
  std::vector<std::string> label_catalogs;
  p.AddStringList(
      "label-catalog", &label_catalogs,
      "with --methods: also try the union of these catalogue files' genre labels (repeatable)",
      "FILE");
  std::string pooled_path;
  p.AddBool("franchise-apart", &franchise_apart,
            "leave the query's own franchise out of each collection's list, as the HTTP API and\n"
            "the website do (its entries are listed apart)");
  p.AddString("pooled", &pooled_path,
              "also score each list against blind pooled judgements (query_id, candidate_id,\n"
              "label 0/1/2/F: bench/data/story_pool_judgements.tsv): plainly wrong, acceptable,\n"
              "similar, and what the pool has not judged",
              "FILE");
  std::string pool_path;
  p.AddBool("methods", &methods,
            "also compare ways of ranking \"a story like this\" built from the synopsis,\n"
            "genres and ncf collections (each without the query's own franchise)");
  p.AddBool("sweep", &sweep, "with --pool: every weighting of the signals in steps of 0.1 instead");
  p.AddString("pool", &pool_path,
              "with --methods: write every method's top k per query, pooled and shuffled\n"
              "(query, candidate; no method named) to FILE for blind judging",
              "FILE");
  p.Require("index_root");
  p.Require("collections");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  auto text = ReadFileToString(path);
  if (!text.ok()) {
    std::fprintf(stderr, "%s\n", std::string(text.status().message()).c_str());
    return 1;
  }
  std::vector<Judgement> judged;
  for (const std::vector<absl::string_view>& f : DataRows(*text)) {
    Judgement j;
    if (f.size() < 5 || !absl::SimpleAtoi(f[0], &j.query)) {
      std::fprintf(
          stderr,
          "%s: a row is not query_id, query_title, similar_ids, franchise_ids, wrong_ids: %s\n",
          path.c_str(), Shown(f).c_str());
      return 1;
    }
    j.title = std::string(f[1]);
    j.similar = Ids(f[2]);
    j.franchise = Ids(f[3]);
    j.wrong = Ids(f[4]);
    judged.push_back(std::move(j));
  }
  auto local = LocalEngine::Open(root);
  if (local == nullptr) return 1;
  Engine& engine = local->engine();
  std::printf("%zu judged query anime (%s), top %d\n\n", judged.size(), path.c_str(), k);
  std::printf("%-12s %8s %10s %10s %10s %10s %10s\n", "collection", "queries", "wrong", "similar",
              "franchise", "unjudged", "skipped");
  // Blind pooled judgements: (query, candidate) -> label.
  std::map<std::pair<int64_t, int64_t>, char> pooled;
  if (!pooled_path.empty()) {
    auto ptext = ReadFileToString(pooled_path);
    if (!ptext.ok()) {
      std::fprintf(stderr, "%s\n", std::string(ptext.status().message()).c_str());
      return 1;
    }
    for (const std::vector<absl::string_view>& f : DataRows(*ptext)) {
      int64_t q, c;
      if (f.size() < 3 || !absl::SimpleAtoi(f[0], &q) || !absl::SimpleAtoi(f[1], &c) ||
          f[2].size() != 1 || std::string("012F").find(f[2][0]) == std::string::npos) {
        std::fprintf(stderr, "%s: a row is not query_id, candidate_id, label (0, 1, 2 or F): %s\n",
                     pooled_path.c_str(), Shown(f).c_str());
        return 1;
      }
      pooled[{q, c}] = f[2][0];
    }
  }
  std::string pooled_table;
  std::string unjudged_pairs;
  for (const std::string& name : names) {
    uint64_t queries = 0, slots = 0, wrong = 0, similar = 0, franchise = 0, skipped = 0;
    std::map<char, uint64_t> labels;  // '0', '1', '2', 'F', '?' (not in the pool)
    for (const Judgement& j : judged) {
      FilterSpec filter;
      if (franchise_apart) {
        auto item = engine.GetItems(name, {j.query});
        if (item.ok())
          filter.exclude_franchises = {item->collection->item(item->rows[0]).franchise(j.query)};
      }
      auto r = engine.Search(name, {SearchQuery::Item(j.query)}, k, filter, absl::InfiniteFuture());
      if (!r.ok()) {
        if (r.status().code() != absl::StatusCode::kNotFound ||
            r.status().message().find("is not in collection") == absl::string_view::npos) {
          std::fprintf(stderr, "%s: %s\n", name.c_str(), std::string(r.status().message()).c_str());
          return 1;
        }
        ++skipped;  // the collection does not hold this anime
        continue;
      }
      ++queries;
      int w = 0, s = 0, fr = 0;
      std::vector<std::string> wrong_titles;
      for (const Hit& h : r->hits[0]) {
        ++slots;
        if (!pooled.empty()) {
          auto it = pooled.find({j.query, h.id});
          ++labels[it == pooled.end() ? '?' : it->second];
          if (it == pooled.end()) absl::StrAppend(&unjudged_pairs, j.query, "\t", h.id, "\n");
        }
        if (j.franchise.count(h.id)) {
          ++fr;
        } else if (j.similar.count(h.id)) {
          ++s;
        } else if (j.wrong.count(h.id)) {
          ++w;
          if (h.item) wrong_titles.emplace_back(h.item.title());
        }
      }
      wrong += w;
      similar += s;
      franchise += fr;
      if (per_query) {
        std::printf("  %-10s %-40.40s wrong %d similar %d franchise %d  %s\n", name.c_str(),
                    j.title.c_str(), w, s, fr, absl::StrJoin(wrong_titles, "; ").c_str());
      }
    }
    auto share = [&](uint64_t x) {
      return slots ? static_cast<double>(x) / static_cast<double>(slots) : 0.0;
    };
    std::printf("%-12s %8llu %10.3f %10.3f %10.3f %10.3f %10llu\n", name.c_str(),
                static_cast<unsigned long long>(queries), share(wrong), share(similar),
                share(franchise), share(slots - wrong - similar - franchise),
                static_cast<unsigned long long>(skipped));
    if (!pooled.empty()) {
      absl::StrAppendFormat(&pooled_table, "%-12s %8.3f %10.3f %8.3f %10.3f %8.3f\n", name,
                            share(labels['0']), share(labels['1']), share(labels['2']),
                            share(labels['F']), share(labels['?']));
    }
  }
  if (!pooled.empty()) {
    std::printf("\nagainst the pooled blind judgements (%s), shares of the list slots:\n",
                pooled_path.c_str());
    std::printf("%-12s %8s %10s %8s %10s %8s\n", "collection", "wrong", "acceptable", "similar",
                "franchise", "unjudged");
    std::printf("%s", pooled_table.c_str());
    if (!unjudged_pairs.empty())
      std::printf("unjudged (query, candidate) pairs:\n%s", unjudged_pairs.c_str());
  }
  std::printf(
      "\n(wrong, similar, franchise, unjudged: shares of the list slots; the last column counts "
      "the\n"
      "queries a collection does not hold)\n");
  for (const std::string& f : label_catalogs) {
    auto one = Catalog::Load({f});
    if (!one.ok()) {
      std::fprintf(stderr, "%s\n", std::string(one.status().message()).c_str());
      return 1;
    }
    for (const Item& it : one->items()) {
      for (const std::string& g : it.genres) {
        std::string l = absl::AsciiStrToLower(g);
        if (l == "shoujo ai" || l == "yuri") l = "girls love";
        if (l == "shounen ai" || l == "yaoi") l = "boys love";
        g_labels[it.id].insert(l);
      }
    }
  }
  if (!g_labels.empty()) {
    absl::flat_hash_map<std::string, double> df;
    for (const auto& [id, set] : g_labels) {
      for (const std::string& l : set) df[l] += 1;
    }
    for (const auto& [l, d] : df) g_idf[l] = std::log(static_cast<double>(g_labels.size()) / d);
  }
  if (methods || sweep)
    return CompareMethods(engine, judged, k, pool_path, per_query, sweep, pooled);
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) {
  return simsearch::Run(argc, argv);
}
