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
#include <cstdio>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/cli.h"
#include "core/file_util.h"
#include "bench/local_engine.h"

namespace simsearch {
namespace {

struct Judgement {
  int64_t query = 0;
  std::string title;
  std::set<int64_t> similar, franchise, wrong;
};

std::set<int64_t> Ids(absl::string_view text) {
  std::set<int64_t> out;
  for (absl::string_view t : absl::StrSplit(text, ' ', absl::SkipWhitespace())) {
    int64_t id;
    if (absl::SimpleAtoi(t, &id)) out.insert(id);
  }
  return out;
}

int Run(int argc, char** argv) {
  std::string root, path = "bench/data/story_judgements.tsv";
  std::vector<std::string> names;
  int k = 10;
  bool per_query = false;
  ArgParser p("simsearch-story-eval",
              "simsearch-story-eval: share of plainly wrong, similar and same-franchise entries in\n"
              "each collection's \"more like this\" top k, on a judged set of query anime.");
  p.AddString("index_root", &root, "index root", "ROOT");
  p.AddStringList("collections", &names, "collections to compare", "NAME,...");
  p.AddString("judgements", &path, "the judged set (default bench/data/story_judgements.tsv)", "FILE");
  p.AddInt("k", &k, "list length (default 10)");
  p.AddBool("per-query", &per_query, "also print each query's counts and its wrong entries");
  p.Require("index_root");
  p.Require("collections");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  auto text = ReadFileToString(path);
  if (!text.ok()) {
    std::fprintf(stderr, "%s\n", std::string(text.status().message()).c_str());
    return 1;
  }
  std::vector<Judgement> judged;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    if (header) {  // column names
      header = false;
      continue;
    }
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    Judgement j;
    if (f.size() < 5 || !absl::SimpleAtoi(f[0], &j.query)) {
      std::fprintf(stderr, "%s: a row is not query_id, query_title, similar_ids, franchise_ids, wrong_ids: %.*s\n",
                   path.c_str(), static_cast<int>(std::min<size_t>(line.size(), 80)), line.data());
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
  std::printf("%-12s %8s %10s %10s %10s %10s %10s\n", "collection", "queries", "wrong", "similar", "franchise",
              "unjudged", "skipped");
  for (const std::string& name : names) {
    uint64_t queries = 0, slots = 0, wrong = 0, similar = 0, franchise = 0, skipped = 0;
    for (const Judgement& j : judged) {
      auto r = engine.Search(name, {SearchQuery::Item(j.query)}, k, {}, absl::InfiniteFuture());
      if (!r.ok()) {
        if (r.status().code() != absl::StatusCode::kNotFound || r.status().message().find("is not in collection") ==
                                                                     absl::string_view::npos) {
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
        std::printf("  %-10s %-40.40s wrong %d similar %d franchise %d  %s\n", name.c_str(), j.title.c_str(), w, s, fr,
                    absl::StrJoin(wrong_titles, "; ").c_str());
      }
    }
    auto share = [&](uint64_t x) { return slots ? static_cast<double>(x) / static_cast<double>(slots) : 0.0; };
    std::printf("%-12s %8llu %10.3f %10.3f %10.3f %10.3f %10llu\n", name.c_str(),
                static_cast<unsigned long long>(queries), share(wrong), share(similar), share(franchise),
                share(slots - wrong - similar - franchise), static_cast<unsigned long long>(skipped));
  }
  std::printf("\n(wrong, similar, franchise, unjudged: shares of the list slots; the last column counts the\n"
              "queries a collection does not hold)\n");
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) { return simsearch::Run(argc, argv); }
