// simsearch-list-quality: how a collection's "more like this" lists look to a fan, over
// every anime it holds.
//
//   simsearch-list-quality --index_root var/index --collection ncf
//       --interactions var/demo/ncf/user_items.csv
//
// Every item's top-k list (the item excluded) is asked of the engine with the HTTP API's
// default content policy (adult titles left out; family safe for all-ages anime; adult
// anime have no list), unless --no-policy. Reported:
//   - k-occurrence: the share of lists each anime appears in; the largest, the 99th
//     percentile, how many anime exceed 3 %, and the five biggest hubs by name;
//   - by the query anime's viewers (0, 1-5, 6-20, 21-100, 101+; from --interactions, or
//     the bundle's user lists, which hold listed-only anime too): the share of
//     neighbours that none of the query's viewers watched ("no co-viewer"), separately
//     for learned and predicted query vectors (a predicted vector's list is labelled
//     content-based by the API: vector_source).
#include <algorithm>
#include <cstdio>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "bench/local_engine.h"
#include "core/cli.h"
#include "core/interactions.h"
#include "indexer/hub_cap.h"

namespace simsearch {
namespace {

struct Bucket {
  const char* name;
  int64_t lo, hi;
  uint64_t lists[2] = {0, 0}, slots[2] = {0, 0}, lonely[2] = {0, 0};  // [learned, predicted]
};

int Run(int argc, char** argv) {
  std::string root, name = "ncf";
  std::vector<std::string> interactions;
  int k = 10;
  bool no_policy = false;
  std::vector<int64_t> show;
  ArgParser p("simsearch-list-quality",
              "simsearch-list-quality: hubs (k-occurrence) and neighbours without a co-viewer in\n"
              "every anime's \"more like this\" list of a collection.");
  p.AddString("index_root", &root, "index root", "ROOT");
  p.AddString("collection", &name, "collection (default ncf)", "NAME");
  p.AddStringList(
      "interactions", &interactions,
      "views as user,item CSV (repeatable), e.g. the trainer's user_items.csv; default: the\n"
      "bundle's user lists (watched and listed)",
      "FILE");
  p.AddInt("k", &k, "list length (default 10)");
  p.AddBool("no-policy", &no_policy, "no content policy: every item's list, adult titles included");
  p.AddInt64List("show", &show, "also print these anime's lists", "ID");
  double cap = 0;
  int depth = 50;
  p.AddDouble("cap", &cap,
              "try capping hubs as simsearch-indexer --neighbours-cap does (indexer/hub_cap.h),\n"
              "over the lists as the policy leaves them, each from its top --depth (0: off)",
              "SHARE");
  p.AddInt("depth", &depth, "with --cap: candidates per list (default 50)");
  p.Require("index_root");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  auto local = LocalEngine::Open(root);
  if (local == nullptr) return 1;
  Engine& engine = local->engine();
  auto got = engine.GetCollection(name);
  if (!got.ok() || !(*got)->has_items()) {
    std::fprintf(stderr, "collection '%s' is not served with item metadata\n", name.c_str());
    return 1;
  }
  const Collection& c = **got;
  const uint64_t n = c.count();

  // Viewers of each row, as sorted user numbers.
  std::vector<std::vector<uint32_t>> viewers(n);
  if (!interactions.empty()) {
    auto data = LoadInteractions(interactions);
    if (!data.ok()) {
      std::fprintf(stderr, "%s\n", std::string(data.status().message()).c_str());
      return 1;
    }
    for (uint32_t u = 0; u < data->items_of_user.size(); ++u) {
      for (size_t j = 0; j < data->items_of_user[u].size(); ++j) {
        if (!(data->flags_of_user[u][j] & Interactions::kView)) continue;
        if (auto row = c.RowOf(data->item_ids[data->items_of_user[u][j]]); row.ok())
          viewers[*row].push_back(u);
      }
    }
  } else if (c.user_count() > 0) {
    for (uint32_t u = 0; u < c.user_count(); ++u) {
      const auto [b, e] = c.user_items(u);
      for (const int64_t* it = b; it != e; ++it) {
        if (auto row = c.RowOf(*it); row.ok()) viewers[*row].push_back(u);
      }
    }
  } else {
    std::fprintf(stderr, "collection '%s' has no users: name the views with --interactions\n",
                 name.c_str());
    return 1;
  }
  for (auto& v : viewers) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  auto co_viewed = [&](uint32_t a, uint32_t b) {
    const auto &x = viewers[a], &y = viewers[b];
    size_t i = 0, j = 0;
    while (i < x.size() && j < y.size()) {
      if (x[i] == y[j]) return true;
      x[i] < y[j] ? ++i : ++j;
    }
    return false;
  };

  Bucket buckets[] = {
      {"0", 0, 0}, {"1-5", 1, 5}, {"6-20", 6, 20}, {"21-100", 21, 100}, {"101+", 101, INT64_MAX}};
  std::vector<uint32_t> occurrences(n, 0);
  std::vector<uint32_t> by_kind[2] = {std::vector<uint32_t>(n, 0), std::vector<uint32_t>(n, 0)};
  uint64_t lists = 0, no_list = 0, lists_of_kind[2] = {0, 0};
  // Every list's candidates: its top k, or with --cap its top `depth`.
  const int ask = cap > 0 ? std::max(depth, k) : k;
  std::vector<uint32_t> cand_rows(n * static_cast<uint64_t>(ask), Engine::kNoNeighbours);
  std::vector<float> cand_scores(n * static_cast<uint64_t>(ask), 0.0f);
  std::vector<bool> has_list(n, false);
  for (uint32_t row = 0; row < n; ++row) {
    const ItemView item = c.item(row);
    FilterSpec f;
    if (!no_policy) {
      if (item.content() == ContentLevel::kAdult) {
        ++no_list;
        continue;
      }
      f.max_content =
          item.ToItem(c.id(row), false).all_ages() ? ContentLevel::kGeneral : ContentLevel::kMature;
    }
    auto r =
        engine.Search(c.name(), {SearchQuery::Item(c.id(row))}, ask, f, absl::InfiniteFuture());
    if (!r.ok()) {
      std::fprintf(stderr, "item %lld: %s\n", static_cast<long long>(c.id(row)),
                   std::string(r.status().message()).c_str());
      return 1;
    }
    has_list[row] = true;
    ++lists;
    for (size_t j = 0; j < r->hits[0].size(); ++j) {
      cand_rows[row * static_cast<uint64_t>(ask) + j] = r->hits[0][j].row;
      cand_scores[row * static_cast<uint64_t>(ask) + j] = r->hits[0][j].score;
    }
  }
  // The lists: the top k, or capped by the indexer's own CapHubs over these (filtered)
  // candidate lists.
  std::vector<uint32_t> list_rows = cand_rows;
  if (cap > 0) {
    std::vector<float> list_scores;
    uint64_t held = 0;
    CapHubs(cand_rows, cand_scores, n, ask, k, HubCap{cap}, &list_rows, &list_scores, &held);
  }
  std::vector<std::vector<uint32_t>> chosen(n);
  const uint64_t width = cap > 0 ? static_cast<uint64_t>(k) : static_cast<uint64_t>(ask);
  for (uint32_t row = 0; row < n; ++row) {
    for (uint64_t j = 0; j < width && list_rows[row * width + j] < n; ++j)
      chosen[row].push_back(list_rows[row * width + j]);
  }
  uint64_t short_lists = 0;
  for (uint32_t row = 0; row < n; ++row) {
    if (!has_list[row]) continue;
    const ItemView item = c.item(row);
    short_lists += chosen[row].size() < static_cast<size_t>(k);
    const auto prov = c.provenance(row);
    const int kind = prov && prov->predicted ? 1 : 0;
    const int64_t nv = static_cast<int64_t>(viewers[row].size());
    Bucket* b = nullptr;
    for (Bucket& x : buckets) {
      if (nv >= x.lo && nv <= x.hi) b = &x;
    }
    ++b->lists[kind];
    ++lists_of_kind[kind];
    if (std::find(show.begin(), show.end(), c.id(row)) != show.end()) {
      std::string names;
      for (uint32_t other : chosen[row])
        absl::StrAppend(&names, names.empty() ? "" : "; ", c.item(other).title());
      std::printf("more like %.*s: %s\n", static_cast<int>(item.title().size()),
                  item.title().data(), names.c_str());
    }
    for (uint32_t other : chosen[row]) {
      ++occurrences[other];
      ++by_kind[kind][other];
      ++b->slots[kind];
      b->lonely[kind] += !co_viewed(row, other);
    }
  }
  if (cap > 0) {
    std::printf("capped at %.3f of the lists from each list's top %d: %llu lists shorter than %d\n",
                cap, depth, static_cast<unsigned long long>(short_lists), k);
  }

  std::printf("collection %s (version %s): %llu anime, %llu lists of %d%s\n\n", c.name().c_str(),
              c.version().c_str(), static_cast<unsigned long long>(n),
              static_cast<unsigned long long>(lists), k,
              no_policy ? " (no content policy)"
                        : absl::StrCat(" (the HTTP API's default policy; ", no_list,
                                       " adult anime have none)")
                              .c_str());
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return occurrences[a] > occurrences[b]; });
  auto share = [&](uint32_t row) {
    return lists ? static_cast<double>(occurrences[row]) / static_cast<double>(lists) : 0.0;
  };
  std::vector<double> shares(n);
  for (uint32_t i = 0; i < n; ++i) shares[i] = share(i);
  std::sort(shares.begin(), shares.end());
  const size_t over = static_cast<size_t>(
      std::count_if(shares.begin(), shares.end(), [](double s) { return s > 0.03; }));
  std::printf(
      "k-occurrence (share of lists an anime is in): max %.4f, 99th percentile %.4f; %zu anime in "
      "more than 3 %%\n",
      shares.back(), shares[static_cast<size_t>(0.99 * static_cast<double>(n - 1))], over);
  for (size_t i = 0; i < 5 && i < n; ++i) {
    const ItemView it = c.item(order[i]);
    std::printf("  %.4f  %.*s (%zu viewers; %s)\n", share(order[i]),
                static_cast<int>(it.title().size()), it.title().data(), viewers[order[i]].size(),
                std::string(ContentLevelName(it.content())).c_str());
  }
  for (int kind : {0, 1}) {
    if (lists_of_kind[kind] == 0) continue;
    const auto top = std::max_element(by_kind[kind].begin(), by_kind[kind].end());
    const ItemView it = c.item(static_cast<uint32_t>(top - by_kind[kind].begin()));
    std::printf("  among the %llu lists of %s anime: max %.4f (%.*s)\n",
                static_cast<unsigned long long>(lists_of_kind[kind]),
                kind ? "predicted" : "learned",
                static_cast<double>(*top) / static_cast<double>(lists_of_kind[kind]),
                static_cast<int>(it.title().size()), it.title().data());
  }
  std::printf("\nneighbours no viewer of the query anime watched, by the query's viewers:\n");
  std::printf("%-8s %10s %10s %12s %10s %12s\n", "viewers", "lists", "learned", "no co-view",
              "predicted", "no co-view");
  for (const Bucket& b : buckets) {
    auto frac = [](uint64_t a, uint64_t t) {
      return t ? static_cast<double>(a) / static_cast<double>(t) : 0.0;
    };
    std::printf("%-8s %10llu %10llu %12.4f %10llu %12.4f\n", b.name,
                static_cast<unsigned long long>(b.lists[0] + b.lists[1]),
                static_cast<unsigned long long>(b.lists[0]), frac(b.lonely[0], b.slots[0]),
                static_cast<unsigned long long>(b.lists[1]), frac(b.lonely[1], b.slots[1]));
  }
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) {
  return simsearch::Run(argc, argv);
}
