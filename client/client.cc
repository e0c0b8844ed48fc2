#include "client/client.h"
#include "client/channel.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/errors.h"
#include "core/file_util.h"
#include "core/item_store.h"
#include "core/quote.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "simsearch/v1/simsearch.grpc.pb.h"

namespace simsearch {
namespace {

// What the server's google.rpc details say (server/service.cc), as core/errors.h carries
// it; a status without details (from gRPC itself: no connection, message too large) has
// its code's reason (ENGINE_UNAVAILABLE for UNAVAILABLE: no engine answered).
ErrorDetail DetailFromGrpc(const grpc::Status& st) {
  ErrorDetail d;
  google::rpc::Status details;
  if (!st.error_details().empty() && details.ParseFromString(st.error_details())) {
    for (const google::protobuf::Any& any : details.details()) {
      google::rpc::ErrorInfo info;
      google::rpc::BadRequest bad;
      google::rpc::ResourceInfo resource;
      google::rpc::RetryInfo retry;
      if (any.UnpackTo(&info)) {
        d.reason = info.reason();
      } else if (any.UnpackTo(&bad) && bad.field_violations_size() > 0) {
        d.field = bad.field_violations(0).field();
      } else if (any.UnpackTo(&resource)) {
        d.resource_type = resource.resource_type();
        d.resource_name = resource.resource_name();
      } else if (any.UnpackTo(&retry)) {
        d.retry_delay = absl::Seconds(retry.retry_delay().seconds()) +
                        absl::Nanoseconds(retry.retry_delay().nanos());
      }
    }
  }
  if (d.reason.empty()) {
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
      d.reason = std::string(reason::kEngineUnavailable);
    }
  }
  return d;
}

absl::Status FromGrpc(const grpc::Status& st, const ClientOptions& options) {
  if (st.ok()) return absl::OkStatus();
  std::string msg = st.error_message();
  if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
    if (options.uses_tls()) {
      msg = absl::StrCat(
          msg, " (TLS to ", options.address,
          ": is simsearch-engine running there with TLS, is its certificate signed by the "
          "CA given (--tls_ca), and does it name this host (--tls_server_name)?)");
    } else {
      msg = absl::StrCat(msg, " (is simsearch-engine running on ", options.address,
                         "? if it serves TLS, give --tls_ca)");
    }
  }
  absl::Status out(static_cast<absl::StatusCode>(st.error_code()), msg);
  return WithDetail(std::move(out), DetailFromGrpc(st));
}

void ToProto(const SearchQuery& q, v1::Query* out) {
  switch (q.kind) {
    case SearchQuery::Kind::kUnset:
      break;
    case SearchQuery::Kind::kVector:
      out->mutable_vector()->mutable_values()->Add(q.vector.begin(), q.vector.end());
      break;
    case SearchQuery::Kind::kItem:
      out->set_item_id(q.item_id);
      break;
    case SearchQuery::Kind::kUser:
      out->set_user_id(q.user_id);
      break;
    case SearchQuery::Kind::kText: {
      out->set_text(q.text);
      const TextOptions& o = q.text_options;
      if (o.mode == TextMode::kDefault && o.fusion == Fusion::kDefault && !o.rrf_k &&
          !o.dense_weight)
        break;
      v1::TextOptions* p = out->mutable_text_options();
      switch (o.mode) {
        case TextMode::kDefault:
          break;
        case TextMode::kDense:
          p->set_mode(v1::TEXT_MODE_DENSE);
          break;
        case TextMode::kLexical:
          p->set_mode(v1::TEXT_MODE_LEXICAL);
          break;
        case TextMode::kHybrid:
          p->set_mode(v1::TEXT_MODE_HYBRID);
          break;
      }
      switch (o.fusion) {
        case Fusion::kDefault:
          break;
        case Fusion::kRrf:
          p->set_fusion(v1::FUSION_RRF);
          break;
        case Fusion::kConvex:
          p->set_fusion(v1::FUSION_CONVEX);
          break;
      }
      if (o.rrf_k) p->set_rrf_k(*o.rrf_k);
      if (o.dense_weight) p->set_dense_weight(*o.dense_weight);
      break;
    }
    case SearchQuery::Kind::kItems:
      out->mutable_items()->mutable_positive_ids()->Add(q.positive_ids.begin(),
                                                        q.positive_ids.end());
      out->mutable_items()->mutable_negative_ids()->Add(q.negative_ids.begin(),
                                                        q.negative_ids.end());
      if (q.negative_weight != 1.0f) out->mutable_items()->set_negative_weight(q.negative_weight);
      out->mutable_items()->set_explain(q.explain);
      break;
  }
}

void ToProto(const SearchKnobs& k, v1::SearchParams* out) {
  out->set_exact(k.exact);
  if (k.ef) out->set_ef(*k.ef);
  if (k.nprobe) out->set_nprobe(*k.nprobe);
  if (k.min_score) out->set_min_score(*k.min_score);
}

void ToProto(const FilterSpec& f, v1::Filter* out) {
  out->mutable_exclude_ids()->Add(f.exclude_ids.begin(), f.exclude_ids.end());
  for (const auto& g : f.genres) out->add_genres(g);
  for (const auto& t : f.types) out->add_types(t);
  for (const auto& g : f.exclude_genres) out->add_exclude_genres(g);
  for (const auto& t : f.exclude_types) out->add_exclude_types(t);
  // ContentLevel's values are the proto's minus one (0 there means no limit).
  if (f.max_content != ContentLevel::kAdult) {
    out->set_max_content_level(static_cast<v1::ContentLevel>(static_cast<int>(f.max_content) + 1));
  }
  if (f.min_content != ContentLevel::kGeneral) {
    out->set_min_content_level(static_cast<v1::ContentLevel>(static_cast<int>(f.min_content) + 1));
  }
  out->mutable_franchise_ids()->Add(f.franchises.begin(), f.franchises.end());
  out->mutable_exclude_franchise_ids()->Add(f.exclude_franchises.begin(),
                                            f.exclude_franchises.end());
  out->set_min_start_year(f.min_start_year);
  out->set_max_start_year(f.max_start_year);
  // SeasonOfStart's numbers are the proto's Season values.
  for (int season : f.seasons) out->add_seasons(static_cast<v1::Season>(season));
  out->set_min_members(f.min_members);
  out->set_max_age_rating(f.max_age_rating);
}

Item FromProto(const v1::Item& p) {
  Item it;
  it.id = p.id();
  it.title = p.title();
  it.english_title = p.english_title();
  it.synopsis = p.synopsis();
  it.genres.assign(p.genres().begin(), p.genres().end());
  it.type = p.type();
  it.episodes = p.episodes();
  it.members = p.members();
  it.age_rating = p.age_rating();
  it.nsfw = p.nsfw();
  switch (p.content_level()) {
    case v1::CONTENT_LEVEL_GENERAL:
      it.content = ContentLevel::kGeneral;
      break;
    case v1::CONTENT_LEVEL_MATURE:
      it.content = ContentLevel::kMature;
      break;
    // Not said (an engine from before content levels): what the genres and age rating say.
    case v1::CONTENT_LEVEL_UNSPECIFIED:
      it.content = ContentLevelOf(it);
      break;
    default:
      it.content = ContentLevel::kAdult;
      break;  // adult, or a level this build does not know
  }
  it.vector_source = p.vector_source() == v1::VECTOR_SOURCE_LEARNED ? Item::VectorSource::kLearned
                     : p.vector_source() == v1::VECTOR_SOURCE_PREDICTED
                         ? Item::VectorSource::kPredicted
                         : Item::VectorSource::kUnknown;
  it.viewers = p.viewers();
  it.franchise =
      p.franchise_id() != 0 ? p.franchise_id() : p.id();  // 0: an engine from before franchises
  it.image_url = p.image_url();
  it.start_date = p.start_date();  // start_year and season follow from it (Item's accessors)
  it.mal_score = p.mal_score();
  it.studios.assign(p.studios().begin(), p.studios().end());
  return it;
}

std::vector<ClientHit> FromProto(const google::protobuf::RepeatedPtrField<v1::Hit>& hits) {
  std::vector<ClientHit> out;
  out.reserve(static_cast<size_t>(hits.size()));
  for (const v1::Hit& h : hits) {
    ClientHit& c = out.emplace_back();
    c.id = h.id();
    c.score = h.score();
    c.item = FromProto(h.item());
    for (const v1::Because& b : h.because()) c.because.push_back({b.id(), b.share()});
  }
  return out;
}

CollectionInfo FromProto(const v1::CollectionInfo& p) {
  CollectionInfo c;
  c.name = p.name();
  c.version = p.version();
  c.metric = p.metric() == v1::METRIC_COSINE ? "cosine" : "ip";
  c.dims = p.dims();
  c.count = p.count();
  switch (p.index_kind()) {
    case v1::INDEX_KIND_IVF:
      c.index_kind = "ivf";
      break;
    case v1::INDEX_KIND_HNSW:
      c.index_kind = "hnsw";
      break;
    default:
      c.index_kind = "flat";
  }
  c.index_params.insert(p.index_params().begin(), p.index_params().end());
  c.recall_at_10 = p.recall_at_10();
  c.source = p.source();
  c.built_at = p.built_at();
  c.loaded_at = p.loaded_at();
  c.max_k = p.max_k();
  c.encoder = p.encoder();
  c.current_version = p.current_version();
  c.serving_note = p.serving_note();
  c.more_like_this = p.more_like_this();
  c.watch_lists = p.watch_lists();
  c.text_search = p.text_search();
  c.scan = p.scan();
  return c;
}

}  // namespace

absl::Status LoadTlsFiles(const std::string& ca_file, const std::string& cert_file,
                          const std::string& key_file, ClientOptions* options) {
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together (a client certificate and its key)");
  }
  for (auto [flag, path, out] : {std::tuple{"--tls_ca", &ca_file, &options->tls_ca_pem},
                                 std::tuple{"--tls_cert", &cert_file, &options->tls_cert_pem},
                                 std::tuple{"--tls_key", &key_file, &options->tls_key_pem}}) {
    if (path->empty()) continue;
    auto pem = ReadPemFile(flag, *path);
    if (!pem.ok()) return pem.status();
    *out = std::move(*pem);
    options->tls = true;
  }
  return absl::OkStatus();
}

struct Client::Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::SimSearch::Stub> search;
  std::unique_ptr<grpc::health::v1::Health::Stub> health;
};

std::unique_ptr<Client> Client::Create(const ClientOptions& options) {
  return std::unique_ptr<Client>(new Client(options));
}

std::shared_ptr<grpc::Channel> NewChannel(const ClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_bytes);
  if (options.dedicated_connection) args.SetInt("grpc.use_local_subchannel_pool", 1);
  if (options.max_attempts > 1) {
    // gRPC caps maxAttempts at 5.
    args.SetServiceConfigJSON(absl::StrCat(
        R"({"methodConfig":[{"name":[{"service":"simsearch.v1.SimSearch"}],"retryPolicy":{"maxAttempts":)",
        std::min(options.max_attempts, 5),
        R"(,"initialBackoff":"0.05s","maxBackoff":"1s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]})"));
  }
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (options.uses_tls()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_ca_pem;
    ssl.pem_cert_chain = options.tls_cert_pem;
    ssl.pem_private_key = options.tls_key_pem;
    creds = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  }
  return grpc::CreateCustomChannel(options.address, creds, args);
}

Client::Client(const ClientOptions& options)
    : options_(options), stubs_(std::make_unique<Stubs>()) {
  stubs_->channel = NewChannel(options);
  stubs_->search = v1::SimSearch::NewStub(stubs_->channel);
  stubs_->health = grpc::health::v1::Health::NewStub(stubs_->channel);
}

Client::~Client() = default;

namespace {

// One unary call with its deadline: `deadline`, or now + the client's timeout.
template <typename Stub, typename Req, typename Resp>
absl::StatusOr<Resp> Call(Stub* stub,
                          grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                          const Req& req, std::optional<absl::Time> deadline,
                          const ClientOptions& options) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(deadline.value_or(absl::Now() + options.timeout)));
  if (!options.token.empty())
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", options.token));
  Resp resp;
  grpc::Status st = (stub->*method)(&ctx, req, &resp);
  if (!st.ok()) return FromGrpc(st, options);
  return resp;
}

// An engine from before franchises ignores Filter.franchise_ids and
// exclude_franchise_ids (unknown fields): the hits are held to them here too.
void HoldToFranchises(const FilterSpec& f, std::vector<ClientHit>* hits) {
  if (f.franchises.empty() && f.exclude_franchises.empty()) return;
  auto in = [](const std::vector<int64_t>& v, int64_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  std::erase_if(*hits, [&](const ClientHit& h) {
    return (!f.franchises.empty() && !in(f.franchises, h.item.franchise)) ||
           in(f.exclude_franchises, h.item.franchise);
  });
}

// An engine from before the filters on an item's facts ignores min_members,
// max_age_rating, the start years and seasons (unknown fields): the hits are held to
// them here too, from the facts the hits carry. Such an engine sends no start dates or
// age ratings, so those bounds then fail closed.
void HoldToFacts(const FilterSpec& f, std::vector<ClientHit>* hits) {
  const int max_age = f.max_age_rating.empty() ? 0 : AgeRatingCode(f.max_age_rating);
  const bool dates = f.min_start_year != 0 || f.max_start_year != 0 || !f.seasons.empty();
  if (f.min_members == 0 && max_age == 0 && !dates) return;
  std::erase_if(*hits, [&](const ClientHit& h) {
    const Item& it = h.item;
    if (it.members < f.min_members) return true;
    if (max_age != 0) {
      const int age = AgeRatingCode(it.age_rating);
      if (age == 0 || age > max_age) return true;
    }
    if (dates) {
      const int year = it.start_year();
      if (year == 0) return true;
      if (f.min_start_year != 0 && year < f.min_start_year) return true;
      if (f.max_start_year != 0 && year > f.max_start_year) return true;
      if (!f.seasons.empty() &&
          std::find(f.seasons.begin(), f.seasons.end(), SeasonOfStart(StartCode(it.start_date))) ==
              f.seasons.end())
        return true;
    }
    return false;
  });
}

}  // namespace

absl::StatusOr<std::vector<ClientHit>> Client::Search(const SearchQuery& query,
                                                      const SearchOptions& options) const {
  v1::SearchRequest req;
  req.set_collection(options.collection);
  ToProto(query, req.mutable_query());
  if (options.top_k) req.set_top_k(*options.top_k);
  ToProto(options.filter, req.mutable_filter());
  ToProto(options.knobs, req.mutable_params());
  req.set_page_size(options.knobs.page_size);
  req.set_page_token(options.knobs.page_token);
  auto resp =
      Call(stubs_->search.get(), &v1::SimSearch::Stub::Search, req, options.deadline, options_);
  if (!resp.ok()) return resp.status();
  if (options.collection_version != nullptr)
    *options.collection_version = resp->collection_version();
  if (options.next_page_token != nullptr) *options.next_page_token = resp->next_page_token();
  std::vector<ClientHit> hits = FromProto(resp->hits());
  HoldToFranchises(options.filter, &hits);
  HoldToFacts(options.filter, &hits);
  return hits;
}

absl::StatusOr<std::vector<std::vector<ClientHit>>> Client::BatchSearch(
    const std::vector<SearchQuery>& queries, const SearchOptions& options) const {
  if (!options.knobs.page_token.empty()) {
    return InvalidFieldError("page_token", reason::kPageTokenInvalid,
                             "a batch takes page_tokens, one per query, not page_token");
  }
  v1::BatchSearchRequest req;
  req.set_collection(options.collection);
  for (const SearchQuery& q : queries) ToProto(q, req.add_queries());
  if (options.top_k) req.set_top_k(*options.top_k);
  ToProto(options.filter, req.mutable_filter());
  ToProto(options.knobs, req.mutable_params());
  req.set_page_size(options.knobs.page_size);
  req.mutable_page_tokens()->Add(options.knobs.page_tokens.begin(),
                                 options.knobs.page_tokens.end());
  auto resp = Call(stubs_->search.get(), &v1::SimSearch::Stub::BatchSearch, req, options.deadline,
                   options_);
  if (!resp.ok()) return resp.status();
  std::vector<std::vector<ClientHit>> out;
  if (options.next_page_tokens != nullptr) options.next_page_tokens->clear();
  for (const v1::SearchResult& r : resp->results()) {
    out.push_back(FromProto(r.hits()));
    HoldToFranchises(options.filter, &out.back());
    HoldToFacts(options.filter, &out.back());
    if (options.next_page_tokens != nullptr)
      options.next_page_tokens->push_back(r.next_page_token());
  }
  return out;
}

absl::StatusOr<std::vector<ItemRecord>> Client::GetItems(const std::string& collection,
                                                         const std::vector<int64_t>& ids,
                                                         bool include_vectors,
                                                         std::optional<absl::Time> deadline) const {
  v1::GetItemsRequest req;
  req.set_collection(collection);
  req.mutable_ids()->Add(ids.begin(), ids.end());
  req.set_include_vectors(include_vectors);
  auto resp = Call(stubs_->search.get(), &v1::SimSearch::Stub::GetItems, req, deadline, options_);
  if (!resp.ok()) return resp.status();
  std::vector<ItemRecord> out;
  for (const v1::ItemRecord& r : resp->items()) {
    out.push_back({FromProto(r.item()), std::vector<float>(r.vector().begin(), r.vector().end())});
  }
  return out;
}

absl::StatusOr<std::vector<CollectionItems>> Client::GetItemsIn(
    const std::vector<std::string>& collections, const std::vector<int64_t>& ids,
    bool include_vectors, std::optional<absl::Time> deadline) const {
  v1::GetItemsRequest req;
  req.mutable_collections()->Add(collections.begin(), collections.end());
  req.mutable_ids()->Add(ids.begin(), ids.end());
  req.set_include_vectors(include_vectors);
  auto resp = Call(stubs_->search.get(), &v1::SimSearch::Stub::GetItems, req, deadline, options_);
  // An engine from before `collections` reads the request as one without a collection:
  // an INVALID_ARGUMENT without details. Ask it the old way.
  if (!resp.ok() && resp.status().code() == absl::StatusCode::kInvalidArgument &&
      DetailOf(resp.status()).field.empty() && !collections.empty()) {
    return GetItemsInOneByOne(collections, ids, include_vectors, deadline);
  }
  if (!resp.ok()) return resp.status();
  std::vector<CollectionItems> out;
  for (const v1::CollectionItems& c : resp->by_collection()) {
    CollectionItems& o = out.emplace_back();
    o.collection = c.collection();
    o.version = c.collection_version();
    for (const v1::ItemRecord& r : c.items()) {
      o.items.push_back(
          {FromProto(r.item()), std::vector<float>(r.vector().begin(), r.vector().end())});
    }
    o.missing_ids.assign(c.missing_ids().begin(), c.missing_ids().end());
  }
  if (out.size() != collections.size()) {
    return absl::InternalError(absl::StrCat("the engine answered GetItems for ", out.size(), " of ",
                                            collections.size(), " collections"));
  }
  return out;
}

absl::StatusOr<std::vector<CollectionItems>> Client::GetItemsInOneByOne(
    const std::vector<std::string>& collections, const std::vector<int64_t>& ids,
    bool include_vectors, std::optional<absl::Time> deadline) const {
  std::vector<CollectionItems> out;
  for (const std::string& c : collections) {
    CollectionItems& o = out.emplace_back();
    o.collection = c;
    auto all = GetItems(c, ids, include_vectors, deadline);
    if (all.ok()) {
      o.items = *std::move(all);
      continue;
    }
    if (all.status().code() != absl::StatusCode::kNotFound) return all.status();
    // Not found: the collection, or some of the ids (an old engine does not say which).
    if (auto known = DescribeCollection(c, deadline); !known.ok()) return known.status();
    for (int64_t id : ids) {  // which ones it lacks
      auto one = GetItems(c, {id}, include_vectors, deadline);
      if (one.ok()) {
        o.items.push_back((*one)[0]);
      } else if (one.status().code() == absl::StatusCode::kNotFound) {
        o.missing_ids.push_back(id);
      } else {
        return one.status();
      }
    }
  }
  return out;
}

absl::StatusOr<TitleLookup> Client::LookupTitle(const std::string& collection,
                                                const std::string& query, std::optional<int> top_k,
                                                std::optional<absl::Time> deadline) const {
  v1::LookupTitleRequest req;
  req.set_collection(collection);
  req.set_query(query);
  if (top_k) {
    req.set_top_k(*top_k);
    req.set_limit(*top_k);  // for engines from before top_k
  }
  auto resp =
      Call(stubs_->search.get(), &v1::SimSearch::Stub::LookupTitle, req, deadline, options_);
  if (!resp.ok()) return resp.status();
  TitleLookup out;
  for (const v1::TitleMatch& m : resp->matches()) {
    out.matches.push_back({FromProto(m.item()), m.score(), m.matched_title()});
  }
  if (resp->has_better_elsewhere()) {
    const v1::TitleMatch& m = resp->better_elsewhere();
    out.better_elsewhere = TitleCandidate{FromProto(m.item()), m.score(), m.matched_title()};
    out.better_elsewhere_in.assign(resp->better_elsewhere_in().begin(),
                                   resp->better_elsewhere_in().end());
  }
  return out;
}

absl::StatusOr<std::vector<CollectionInfo>> Client::ListCollections(
    std::optional<absl::Time> deadline) const {
  v1::ListCollectionsRequest req;
  auto resp =
      Call(stubs_->search.get(), &v1::SimSearch::Stub::ListCollections, req, deadline, options_);
  if (!resp.ok()) return resp.status();
  std::vector<CollectionInfo> out;
  for (const v1::CollectionInfo& c : resp->collections()) out.push_back(FromProto(c));
  return out;
}

absl::StatusOr<ItemPage> Client::ListItems(const std::string& collection,
                                           const ListRequest& request,
                                           std::optional<absl::Time> deadline) const {
  v1::ListItemsRequest req;
  req.set_collection(collection);
  ToProto(request.filter, req.mutable_filter());
  req.set_order_by(request.order == ItemOrder::kMembers     ? v1::ITEM_ORDER_MEMBERS
                   : request.order == ItemOrder::kStartDate ? v1::ITEM_ORDER_START_DATE
                                                            : v1::ITEM_ORDER_SCORE);
  req.set_ascending(request.ascending);
  req.set_page_size(request.page_size);
  req.set_page_token(request.page_token);
  auto resp = Call(stubs_->search.get(), &v1::SimSearch::Stub::ListItems, req, deadline, options_);
  if (!resp.ok()) return resp.status();
  ItemPage page;
  for (const v1::Item& it : resp->items()) page.items.push_back(FromProto(it));
  page.next_page_token = resp->next_page_token();
  page.total = resp->total_size();
  page.version = resp->collection_version();
  return page;
}

absl::StatusOr<CollectionInfo> Client::DescribeCollection(
    const std::string& collection, std::optional<absl::Time> deadline) const {
  v1::DescribeCollectionRequest req;
  req.set_collection(collection);
  auto resp =
      Call(stubs_->search.get(), &v1::SimSearch::Stub::DescribeCollection, req, deadline, options_);
  if (!resp.ok()) return resp.status();
  CollectionInfo c = FromProto(resp->info());
  c.genres.assign(resp->genres().begin(), resp->genres().end());
  c.types.assign(resp->types().begin(), resp->types().end());
  c.max_batch = resp->max_batch();
  c.max_ids = resp->max_ids();
  return c;
}

absl::Status Client::CheckHealth(const std::string& service,
                                 std::optional<absl::Time> deadline) const {
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  auto resp =
      Call(stubs_->health.get(), &grpc::health::v1::Health::Stub::Check, req, deadline, options_);
  if (!resp.ok()) return resp.status();
  if (resp->status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError(absl::StrCat(
        "service '", service, "' is not serving (status ",
        grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp->status()), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TitleCandidate> ResolveTitle(const TitleLookup& lookup, const std::string& query,
                                            const std::string& collection) {
  auto name = [](const TitleCandidate& t) {
    return absl::StrCat(t.matched_title, " (id ", t.item.id, ")");
  };
  std::vector<std::string> closest;
  for (size_t i = 0; i < lookup.matches.size() && i < 5; ++i)
    closest.push_back(name(lookup.matches[i]));
  const std::string closest_text =
      closest.empty() ? std::string("none is close")
                      : absl::StrCat("closest there: ", absl::StrJoin(closest, ", "));
  if (lookup.better_elsewhere && lookup.better_elsewhere->score >= kConfidentTitleMatch) {
    return WithResource(
        absl::NotFoundError(absl::StrCat(
            "\"", Quote(query), "\" is ", name(*lookup.better_elsewhere), ", which collection '",
            Quote(collection), "' does not hold",
            lookup.better_elsewhere_in.empty()
                ? std::string()
                : absl::StrCat(" (it is in: ", absl::StrJoin(lookup.better_elsewhere_in, ", "),
                               ")"),
            "; ", closest_text)),
        reason::kItemNotInCollection, "item", absl::StrCat(lookup.better_elsewhere->item.id));
  }
  if (lookup.matches.empty() || lookup.matches[0].score < kConfidentTitleMatch) {
    return WithReason(
        absl::NotFoundError(absl::StrCat("no anime titled \"", Quote(query), "\" in collection '",
                                         Quote(collection), "'; ", closest_text)),
        reason::kTitleNotFound);
  }
  return lookup.matches[0];
}

}  // namespace simsearch
