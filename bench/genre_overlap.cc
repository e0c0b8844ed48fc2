// simsearch-genre-overlap: how often an item's top-10 neighbours share a genre with it.
//
//   simsearch-genre-overlap --index_root var/index --collections synopsis,genres,ncf
//
// For every item with genres that all the named collections hold (so each is measured
// on the same queries), "more like this" (the item excluded) returns 10 neighbours; the
// figure is the share of neighbours with at least one genre in common with the query.
// The baseline draws 10 random other items of the same set. Genres come from the
// bundles' item metadata (the catalogue).
#include <algorithm>
#include <cstdio>
#include <random>
#include <set>

#include "absl/strings/str_join.h"
#include "bench/local_engine.h"
#include "core/cli.h"

namespace simsearch {
namespace {

bool ShareGenre(ItemView a, ItemView b) {
  const std::vector<absl::string_view> bg = b.genres();
  for (absl::string_view g : a.genres()) {
    if (std::find(bg.begin(), bg.end(), g) != bg.end()) return true;
  }
  return false;
}

int Run(int argc, char** argv) {
  std::string root;
  std::vector<std::string> names;
  int k = 10;
  ArgParser p("simsearch-genre-overlap",
              "simsearch-genre-overlap: share of top-k neighbours that share a genre with the\n"
              "query item, per collection, on the items every collection holds.");
  p.AddString("index_root", &root, "index root", "ROOT");
  p.AddStringList("collections", &names, "collections to compare", "NAME,...");
  p.AddInt("k", &k, "neighbours per item (default 10)");
  p.Require("index_root");
  p.Require("collections");
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  auto local = LocalEngine::Open(root);
  if (local == nullptr) return 1;
  Engine& engine = local->engine();
  std::vector<std::shared_ptr<const Collection>> cs;
  for (const std::string& n : names) {
    auto c = engine.GetCollection(n);
    if (!c.ok() || !(*c)->has_items()) {
      std::fprintf(stderr, "collection '%s' is not served with item metadata\n", n.c_str());
      return 1;
    }
    cs.push_back(*c);
  }
  // Items with genres held by every collection.
  std::vector<int64_t> common;
  const Collection& first = *cs[0];
  for (uint32_t row = 0; row < first.count(); ++row) {
    if (first.item(row).genres().empty()) continue;
    bool all = true;
    for (const auto& c : cs) all = all && c->RowOf(first.id(row)).ok();
    if (all) common.push_back(first.id(row));
  }
  std::printf("%zu query items with genres held by all of: %s\n\n", common.size(),
              absl::StrJoin(names, ", ").c_str());
  std::printf("%-14s %12s   (share of top-%d neighbours sharing a genre with the query)\n",
              "collection", "share", k);
  for (const auto& c : cs) {
    uint64_t shared = 0, total = 0;
    for (int64_t id : common) {
      auto r = engine.Search(c->name(), {SearchQuery::Item(id)}, k, {}, absl::InfiniteFuture());
      if (!r.ok()) continue;
      const ItemView q = c->item(*c->RowOf(id));
      for (const Hit& h : r->hits[0]) {
        shared += h.item && ShareGenre(q, h.item);
        ++total;
      }
    }
    std::printf("%-14s %12.4f\n", c->name().c_str(),
                static_cast<double>(shared) / static_cast<double>(total));
  }
  // Random pairs from the same items.
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<size_t> pick(0, common.size() - 1);
  uint64_t shared = 0, total = 0;
  for (int64_t id : common) {
    const ItemView q = first.item(*first.RowOf(id));
    for (int j = 0; j < k; ++j) {
      int64_t other;
      do {
        other = common[pick(rng)];
      } while (other == id);
      shared += ShareGenre(q, first.item(*first.RowOf(other)));
      ++total;
    }
  }
  std::printf("%-14s %12.4f\n", "random pairs",
              static_cast<double>(shared) / static_cast<double>(total));
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) {
  return simsearch::Run(argc, argv);
}
