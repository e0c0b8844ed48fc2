#include "lambda/backend.h"

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/registry.h"

namespace simsearch::lambda {
namespace {

class RemoteBackend final : public SearchBackend {
 public:
  explicit RemoteBackend(const ClientOptions& o) : address_(o.address), tls_(o.uses_tls()) {
    client_ = Client::Create(o);
  }
  absl::StatusOr<std::vector<ClientHit>> Search(const SearchQuery& q,
                                                const SearchOptions& o) const override {
    return client_->Search(q, o);
  }
  absl::StatusOr<TitleLookup> LookupTitle(const std::string& c, const std::string& q, int top_k,
                                          absl::Time deadline) const override {
    return client_->LookupTitle(c, q, top_k, deadline);
  }
  absl::StatusOr<std::vector<ItemRecord>> GetItems(const std::string& c,
                                                   const std::vector<int64_t>& ids,
                                                   absl::Time deadline) const override {
    return client_->GetItems(c, ids, false, deadline);
  }
  absl::StatusOr<std::vector<CollectionItems>> GetItemsIn(const std::vector<std::string>& cs,
                                                          const std::vector<int64_t>& ids,
                                                          absl::Time deadline) const override {
    return client_->GetItemsIn(cs, ids, false, deadline);
  }
  absl::StatusOr<std::vector<CollectionInfo>> ListCollections(absl::Time deadline) const override {
    return client_->ListCollections(deadline);
  }
  absl::StatusOr<CollectionInfo> DescribeCollection(const std::string& c,
                                                    absl::Time deadline) const override {
    return client_->DescribeCollection(c, deadline);
  }
  absl::StatusOr<ItemPage> ListItems(const std::string& c, const ListRequest& request,
                                     absl::Time deadline) const override {
    return client_->ListItems(c, request, deadline);
  }
  std::string Describe() const override {
    return absl::StrCat("remote ", address_, tls_ ? " (TLS)" : "");
  }

 private:
  std::string address_;
  bool tls_;
  std::unique_ptr<Client> client_;
};

// Row `row`'s metadata and where its vector came from, as the gRPC service answers them
// (server/service.cc FillItem); the synopsis only when asked (GetItems).
Item CopyItem(const Collection& c, uint32_t row, bool with_synopsis = false) {
  const ItemView item = c.item(row);
  Item it;
  if (item) {
    it = item.ToItem(c.id(row), with_synopsis);
  } else {
    it.id = c.id(row);
    it.franchise = it.id;  // as FillItem: an item with no metadata is its own franchise
  }
  if (const auto p = c.provenance(row)) {
    it.vector_source = p->predicted ? Item::VectorSource::kPredicted : Item::VectorSource::kLearned;
    it.viewers = p->viewers;
  }
  return it;
}

class EmbeddedBackend final : public SearchBackend {
 public:
  EmbeddedBackend(std::string root, std::unique_ptr<CollectionRegistry> registry)
      : root_(std::move(root)),
        registry_(std::move(registry)),
        engine_(registry_.get(), EngineLimits{}) {}

  absl::StatusOr<std::vector<ClientHit>> Search(const SearchQuery& q,
                                                const SearchOptions& o) const override {
    auto r = engine_.Search(o.collection, {q}, o.top_k, o.filter,
                            o.deadline.value_or(absl::InfiniteFuture()), o.knobs);
    if (!r.ok()) return r.status();
    if (o.collection_version != nullptr) *o.collection_version = r->collection->version();
    if (o.next_page_token != nullptr) {
      *o.next_page_token = r->next_page_tokens.empty() ? std::string() : r->next_page_tokens[0];
    }
    std::vector<ClientHit> out;
    for (const Hit& h : r->hits[0]) {
      ClientHit& c = out.emplace_back();
      c.id = h.id;
      c.score = h.score;
      c.item = CopyItem(*r->collection, h.row);
      for (const Because& b : h.because) c.because.push_back({b.id, b.share});
    }
    return out;
  }
  absl::StatusOr<TitleLookup> LookupTitle(const std::string& c, const std::string& q, int top_k,
                                          absl::Time) const override {
    auto r = engine_.LookupTitle(c, q, top_k);
    if (!r.ok()) return r.status();
    auto candidate = [](const Collection& coll, const TitleMatch& m) {
      const ItemView item = coll.item(m.row);
      return TitleCandidate{CopyItem(coll, m.row), m.score,
                            std::string(m.english ? item.english_title() : item.title())};
    };
    TitleLookup out;
    for (const TitleMatch& m : r->matches) out.matches.push_back(candidate(*r->collection, m));
    if (r->better_elsewhere) {
      out.better_elsewhere =
          candidate(*r->better_elsewhere->collection, r->better_elsewhere->match);
      out.better_elsewhere_in = r->better_elsewhere->held_by;
    }
    return out;
  }
  absl::StatusOr<std::vector<ItemRecord>> GetItems(const std::string& c,
                                                   const std::vector<int64_t>& ids,
                                                   absl::Time) const override {
    auto r = engine_.GetItems(c, ids);
    if (!r.ok()) return r.status();
    std::vector<ItemRecord> out;
    for (uint32_t row : r->rows) out.push_back({CopyItem(*r->collection, row, true), {}});
    if (absl::Status damage = r->collection->CheckIntact(); !damage.ok()) return damage;
    return out;
  }
  absl::StatusOr<std::vector<CollectionItems>> GetItemsIn(const std::vector<std::string>& cs,
                                                          const std::vector<int64_t>& ids,
                                                          absl::Time) const override {
    std::vector<CollectionItems> out;
    for (const std::string& c : cs) {
      auto r = engine_.GetItems(c, ids, /*missing_ok=*/true);
      if (!r.ok()) return r.status();
      CollectionItems& o = out.emplace_back();
      o.collection = r->collection->name();
      o.version = r->collection->version();
      for (uint32_t row : r->rows) o.items.push_back({CopyItem(*r->collection, row, true), {}});
      o.missing_ids = std::move(r->missing);
      if (absl::Status damage = r->collection->CheckIntact(); !damage.ok()) return damage;
    }
    return out;
  }
  absl::StatusOr<std::vector<CollectionInfo>> ListCollections(absl::Time) const override {
    std::vector<CollectionInfo> out;
    for (const auto& c : engine_.ListCollections()) {
      CollectionInfo i;
      i.name = c->name();
      i.version = c->version();
      i.dims = static_cast<int>(c->dims());
      i.count = static_cast<int64_t>(c->count());
      out.push_back(std::move(i));
    }
    return out;
  }
  absl::StatusOr<CollectionInfo> DescribeCollection(const std::string& name,
                                                    absl::Time) const override {
    auto c = engine_.GetCollection(name);
    if (!c.ok()) return c.status();
    CollectionInfo i;
    i.name = (*c)->name();
    i.version = (*c)->version();
    i.dims = static_cast<int>((*c)->dims());
    i.count = static_cast<int64_t>((*c)->count());
    i.genres = (*c)->genres();
    i.types = (*c)->types();
    i.max_k = engine_.limits().max_k;
    i.max_ids = engine_.limits().max_ids;
    i.max_batch = engine_.limits().max_batch;
    return i;
  }
  absl::StatusOr<ItemPage> ListItems(const std::string& c, const ListRequest& request,
                                     absl::Time) const override {
    auto r = engine_.ListItems(c, request);
    if (!r.ok()) return r.status();
    ItemPage page;
    for (uint32_t row : r->rows) page.items.push_back(CopyItem(*r->collection, row));
    page.next_page_token = std::move(r->next_page_token);
    page.total = static_cast<int64_t>(r->total);
    page.version = r->collection->version();
    return page;
  }
  std::string Describe() const override { return absl::StrCat("embedded ", root_); }

 private:
  std::string root_;
  std::unique_ptr<CollectionRegistry> registry_;
  Engine engine_;
};

}  // namespace

std::unique_ptr<SearchBackend> MakeRemoteBackend(const ClientOptions& options) {
  return std::make_unique<RemoteBackend>(options);
}

absl::StatusOr<std::unique_ptr<SearchBackend>> MakeEmbeddedBackend(const std::string& index_root,
                                                                   bool verify_checksums) {
  CollectionOptions o;
  o.verify = verify_checksums ? VerifyMode::kChecksums : VerifyMode::kSizes;
  auto registry = std::make_unique<CollectionRegistry>(index_root, o);
  auto events = registry->Refresh();
  if (!events.ok()) return events.status();
  for (const RegistryEvent& e : *events) {
    if (e.kind == RegistryEvent::Kind::kRejected) {
      return absl::Status(e.status.code(), DescribeEvent(e));
    }
  }
  if (registry->List().empty()) {
    return absl::NotFoundError(absl::StrCat("no collection under ", index_root));
  }
  return std::unique_ptr<SearchBackend>(new EmbeddedBackend(index_root, std::move(registry)));
}

}  // namespace simsearch::lambda
