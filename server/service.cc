#include "server/service.h"

#include <algorithm>
#include <exception>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/errors.h"
#include "core/status_macros.h"
#include "google/protobuf/arena.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace simsearch {
namespace {

// Runs a handler body so that nothing it throws escapes to gRPC (which would answer
// UNKNOWN with no useful message). (The completion-queue API has no cheap "cancelled?":
// IsCancelled is valid there only after an AsyncNotifyWhenDone event, a second event per
// call. A call its client gave up on costs its work, unless its deadline passed.)
template <typename F>
grpc::Status Guarded(const grpc::ServerContextBase* ctx, F&& body) {
  try {
    // A call whose deadline passed while it waited for a worker is not worth doing.
    if (ctx->deadline() <= std::chrono::system_clock::now()) {
      return ToGrpcStatus(
          absl::DeadlineExceededError("deadline passed before the server began the call"));
    }
    return ToGrpcStatus(body());
  } catch (const std::bad_alloc&) {
    return ToGrpcStatus(
        WithReason(absl::ResourceExhaustedError("server out of memory"), reason::kServerBusy));
  } catch (const std::exception& e) {
    return ToGrpcStatus(absl::InternalError(absl::StrCat("internal error: ", e.what())));
  } catch (...) {
    return ToGrpcStatus(absl::InternalError("internal error"));
  }
}

absl::Time Deadline(const grpc::ServerContextBase* ctx) {
  auto d = ctx->deadline();
  if (d == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(d);
}

std::optional<int> Optional(bool has, int value) {
  return has ? std::optional<int>(value) : std::nullopt;
}

// The start date and what it gives: year and season.
// Season's values are SeasonOfStart's (0: unspecified).
void SetStart(std::string date, v1::Item* out) {
  const int64_t code = StartCode(date);
  out->set_start_year(static_cast<int32_t>(code / 10000));
  out->set_season(static_cast<v1::Season>(SeasonOfStart(code)));
  out->set_start_date(std::move(date));
}

// Copies straight from the mapped metadata into the response.
void FillItem(const Collection& c, uint32_t row, v1::Item* out, bool with_synopsis = false) {
  out->set_id(c.id(row));
  if (const auto p = c.provenance(row)) {
    out->set_vector_source(p->predicted ? v1::VECTOR_SOURCE_PREDICTED : v1::VECTOR_SOURCE_LEARNED);
    out->set_viewers(p->viewers);
  }
  const ItemView item = c.item(row);
  out->set_franchise_id(item ? item.franchise(c.id(row)) : c.id(row));
  if (!item) return;
  const absl::string_view title = item.title(), english = item.english_title(), type = item.type();
  out->set_title(title.data(), title.size());
  out->set_english_title(english.data(), english.size());
  item.ForEachGenre([out](absl::string_view g) { out->add_genres(g.data(), g.size()); });
  out->set_type(type.data(), type.size());
  out->set_episodes(item.episodes());
  out->set_members(item.members());
  const absl::string_view age = item.age_rating(), nsfw = item.nsfw();
  out->set_age_rating(age.data(), age.size());
  out->set_nsfw(nsfw.data(), nsfw.size());
  // ContentLevel's values are the proto's minus one (0 there means unspecified).
  out->set_content_level(static_cast<v1::ContentLevel>(static_cast<int>(item.content()) + 1));
  const absl::string_view image = item.image_url();
  out->set_image_url(image.data(), image.size());
  for (std::string& studio : item.studios()) out->add_studios(std::move(studio));
  out->set_mal_score(item.mal_score());
  SetStart(item.start_date(), out);
  if (with_synopsis) {
    const absl::string_view synopsis = item.synopsis();
    out->set_synopsis(synopsis.data(), synopsis.size());
  }
}

absl::string_view MatchedTitle(ItemView item, bool english) {
  return english ? item.english_title() : item.title();
}

FilterSpec ToFilter(const v1::Filter& f) {
  FilterSpec spec;
  spec.exclude_ids.assign(f.exclude_ids().begin(), f.exclude_ids().end());
  spec.genres.assign(f.genres().begin(), f.genres().end());
  spec.types.assign(f.types().begin(), f.types().end());
  spec.exclude_genres.assign(f.exclude_genres().begin(), f.exclude_genres().end());
  spec.exclude_types.assign(f.exclude_types().begin(), f.exclude_types().end());
  // ContentLevel's values are the proto's minus one; unset means no limit, and a value
  // this build does not know becomes one CompileFilter refuses.
  auto level = [](v1::ContentLevel l, ContentLevel unset) {
    if (l == v1::CONTENT_LEVEL_UNSPECIFIED) return unset;
    return l >= v1::CONTENT_LEVEL_GENERAL && l <= v1::CONTENT_LEVEL_ADULT
               ? static_cast<ContentLevel>(l - 1)
               : static_cast<ContentLevel>(255);
  };
  spec.max_content = level(f.max_content_level(), ContentLevel::kAdult);
  spec.min_content = level(f.min_content_level(), ContentLevel::kGeneral);
  spec.franchises.assign(f.franchise_ids().begin(), f.franchise_ids().end());
  spec.exclude_franchises.assign(f.exclude_franchise_ids().begin(),
                                 f.exclude_franchise_ids().end());
  spec.min_start_year = f.min_start_year();
  spec.max_start_year = f.max_start_year();
  // Season's values are SeasonOfStart's; 0 (unspecified) or an unknown one is refused.
  spec.seasons.assign(f.seasons().begin(), f.seasons().end());
  spec.min_members = f.min_members();
  spec.max_age_rating = f.max_age_rating();
  return spec;
}

SearchQuery ToQuery(const v1::Query& q) {
  SearchQuery out;
  switch (q.kind_case()) {
    case v1::Query::kVector:
      out.kind = SearchQuery::Kind::kVector;
      out.vector.assign(q.vector().values().begin(), q.vector().values().end());
      break;
    case v1::Query::kItemId:
      out.kind = SearchQuery::Kind::kItem;
      out.item_id = q.item_id();
      break;
    case v1::Query::kItems:
      out.kind = SearchQuery::Kind::kItems;
      out.positive_ids.assign(q.items().positive_ids().begin(), q.items().positive_ids().end());
      out.negative_ids.assign(q.items().negative_ids().begin(), q.items().negative_ids().end());
      if (q.items().has_negative_weight()) out.negative_weight = q.items().negative_weight();
      out.explain = q.items().explain();
      break;
    case v1::Query::kText:
      out.kind = SearchQuery::Kind::kText;
      out.text = q.text();
      break;
    case v1::Query::kUserId:
      out.kind = SearchQuery::Kind::kUser;
      out.user_id = q.user_id();
      break;
    case v1::Query::KIND_NOT_SET:
      break;
  }
  if (q.has_text_options()) {
    const v1::TextOptions& o = q.text_options();
    // Unknown enum numbers map outside the known values: the engine rejects them.
    switch (o.mode()) {
      case v1::TEXT_MODE_UNSPECIFIED:
        out.text_options.mode = TextMode::kDefault;
        break;
      case v1::TEXT_MODE_DENSE:
        out.text_options.mode = TextMode::kDense;
        break;
      case v1::TEXT_MODE_LEXICAL:
        out.text_options.mode = TextMode::kLexical;
        break;
      case v1::TEXT_MODE_HYBRID:
        out.text_options.mode = TextMode::kHybrid;
        break;
      default:
        out.text_options.mode = static_cast<TextMode>(-1);
        break;
    }
    switch (o.fusion()) {
      case v1::FUSION_UNSPECIFIED:
        out.text_options.fusion = Fusion::kDefault;
        break;
      case v1::FUSION_RRF:
        out.text_options.fusion = Fusion::kRrf;
        break;
      case v1::FUSION_CONVEX:
        out.text_options.fusion = Fusion::kConvex;
        break;
      default:
        out.text_options.fusion = static_cast<Fusion>(-1);
        break;
    }
    if (o.has_rrf_k()) out.text_options.rrf_k = o.rrf_k();
    if (o.has_dense_weight()) out.text_options.dense_weight = o.dense_weight();
  }
  return out;
}

SearchKnobs ToKnobs(const v1::SearchParams& p) {
  SearchKnobs k;
  k.exact = p.exact();
  k.ef = Optional(p.has_ef(), p.ef());
  k.nprobe = Optional(p.has_nprobe(), p.nprobe());
  if (p.has_min_score()) k.min_score = p.min_score();
  return k;
}

void FillHits(const Collection& c, const std::vector<Hit>& hits,
              google::protobuf::RepeatedPtrField<v1::Hit>* out) {
  out->Reserve(static_cast<int>(hits.size()));
  for (const Hit& h : hits) {
    v1::Hit* o = out->Add();
    o->set_id(h.id);
    o->set_score(h.score);
    FillItem(c, h.row, o->mutable_item());
    for (const Because& b : h.because) {
      v1::Because* ob = o->add_because();
      ob->set_id(b.id);
      ob->set_share(b.share);
    }
  }
}

void FillInfo(const Collection& c, const ServingState& state, int max_k, v1::CollectionInfo* info) {
  const Manifest& m = c.manifest();
  info->set_name(c.name());
  info->set_version(c.version());
  info->set_metric(m.metric == Metric::kCosine ? v1::METRIC_COSINE : v1::METRIC_INNER_PRODUCT);
  info->set_dims(static_cast<int32_t>(c.dims()));
  info->set_count(static_cast<int64_t>(c.count()));
  auto& params = *info->mutable_index_params();
  switch (m.index_kind) {
    case IndexKind::kFlat:
      info->set_index_kind(v1::INDEX_KIND_FLAT);
      break;
    case IndexKind::kIvf:
      info->set_index_kind(v1::INDEX_KIND_IVF);
      params["nlist"] = std::to_string(m.index_params.nlist);
      params["nprobe"] = std::to_string(m.index_params.nprobe);
      break;
    case IndexKind::kHnsw:
      info->set_index_kind(v1::INDEX_KIND_HNSW);
      params["M"] = std::to_string(m.index_params.hnsw_m);
      params["ef_construction"] = std::to_string(m.index_params.ef_construction);
      params["ef_search"] = std::to_string(m.index_params.ef_search);
      break;
  }
  const bool half_scan = m.index_kind == IndexKind::kFlat && !m.scan_precision.empty();
  info->set_recall_at_10(half_scan ? m.scan_recall_at_10 : m.recall_at_10);
  if (half_scan) {
    info->set_scan(absl::StrFormat(
        "%s, the best %d x top_k rows scored again in f32; recall@10 %.4f on %d queries",
        m.scan_precision, m.scan_rescore, m.scan_recall_at_10, m.scan_recall_queries));
  }
  info->set_source(m.source);
  info->set_built_at(m.built_at);
  info->set_max_k(max_k);
  info->set_encoder(m.encoder_description);
  info->set_loaded_at(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", c.loaded_at(), absl::UTCTimeZone()));
  info->set_current_version(state.current_version);
  info->set_serving_note(state.note);
  info->set_more_like_this(
      m.has_similar
          ? absl::StrFormat("x_j / |x_j|^%g, shrunk by viewers/(viewers+%g)%s",
                            m.similar_norm_power, m.similar_shrink,
                            m.similar_reason.empty() ? "" : absl::StrCat(": ", m.similar_reason))
          : std::string(m.metric == Metric::kCosine ? "cosine" : "inner product"));
  if (!m.neighbours_fusion.empty()) {
    info->set_more_like_this(absl::StrCat(info->more_like_this(), "; answered from lists built as ",
                                          m.neighbours_fusion,
                                          ", filled by that search when a filter leaves too few"));
  }
  info->set_watch_lists(
      !m.has_fold_in ? "mean of the liked items minus negative_weight x mean of the disliked"
      : m.fold_in_prior > 0
          ? absl::StrFormat(
                "folded in as a user (alpha %g, lambda %g), pulled toward the mean user with "
                "weight %g / liked items",
                m.fold_in_alpha, m.fold_in_lambda, m.fold_in_prior)
          : absl::StrFormat("folded in as a user (alpha %g, lambda %g)", m.fold_in_alpha,
                            m.fold_in_lambda));
  info->set_text_search(TextSearchDescription(c));
}

// Calls whose answer is estimated at most this may run on the thread that took them.
constexpr int64_t kInlineAnswerBytes = 256 << 10;

// What an answer of `lists` lists of `k` hits may take: a hit with its item's metadata
// is about 128 bytes on the wire. Inputs are the request's, so they are clamped.
int64_t HitsBytes(int64_t lists, int64_t k) {
  return std::clamp<int64_t>(lists, 1, 1 << 16) * std::clamp<int64_t>(k, 1, 1 << 20) * 128 + 256;
}

}  // namespace

std::optional<absl::string_view> Authorization(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

bool HasValidToken(const TokenSet& tokens,
                   const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  const std::optional<absl::string_view> auth = Authorization(metadata);
  return auth && tokens.Allows(*auth);
}

namespace {
// `text` cut to at most `most` bytes at a UTF-8 boundary, saying so.
std::string Cut(absl::string_view text, size_t most) {
  if (text.size() <= most) return std::string(text);
  size_t cut = most > 48 ? most - 48 : 0;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(text.substr(0, cut), "... (cut from ", text.size(), " bytes)");
}

// The bytes the copies of an error's text may take in its details: with the message
// itself (kMaxStatusMessageBytes, percent-encoded in grpc-message) and base64, the
// trailers stay under the 8 KiB clients accept, whatever the request echoed.
constexpr size_t kDetailMessageBytes = 256, kDetailNameBytes = 128;
}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& st) {
  if (st.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share their numbering (both follow
  // google.rpc.Code).
  const std::string msg = Cut(st.message(), kMaxStatusMessageBytes);
  // The details for programs (AIP-193): an ErrorInfo always, and BadRequest,
  // ResourceInfo and RetryInfo when the status carries what they say (core/errors.h).
  // Names the request echoes (a collection's, a field path) are cut like the message.
  ErrorDetail d = DetailOf(st);
  d.field = Cut(d.field, kDetailNameBytes);
  d.resource_name = Cut(d.resource_name, kDetailNameBytes);
  const std::string brief = Cut(msg, kDetailMessageBytes);
  google::rpc::Status details;
  details.set_code(static_cast<int>(st.code()));
  details.set_message(brief);
  google::rpc::ErrorInfo info;
  info.set_reason(d.reason);
  info.set_domain(std::string(kErrorDomain));
  if (!d.field.empty()) (*info.mutable_metadata())["field"] = d.field;
  if (!d.resource_type.empty()) (*info.mutable_metadata())[d.resource_type] = d.resource_name;
  details.add_details()->PackFrom(info);
  if (!d.field.empty()) {
    google::rpc::BadRequest bad;
    google::rpc::BadRequest::FieldViolation* v = bad.add_field_violations();
    v->set_field(d.field);
    v->set_description(brief);
    details.add_details()->PackFrom(bad);
  }
  if (!d.resource_type.empty()) {
    google::rpc::ResourceInfo resource;
    resource.set_resource_type(d.resource_type);
    resource.set_resource_name(d.resource_name);
    details.add_details()->PackFrom(resource);
  }
  if (d.retry_delay > absl::ZeroDuration()) {
    google::rpc::RetryInfo retry;
    const int64_t ns = absl::ToInt64Nanoseconds(d.retry_delay);
    retry.mutable_retry_delay()->set_seconds(ns / 1000000000);
    retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(ns % 1000000000));
    details.add_details()->PackFrom(retry);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), msg, details.SerializeAsString());
}

// The accounting of one call: from its arrival until gRPC is done sending its answer it
// holds an admission ticket (admission.h), first for an estimate of its answer's bytes,
// then for the real size.
class SimSearchService::Call {
 public:
  explicit Call(SimSearchService* service) : service_(service) {}
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  // The call arrived: it counts as in flight from now on.
  void Begin(absl::string_view rpc, absl::string_view collection,
             const grpc::ServerContextBase* ctx) {
    rpc_ = rpc;
    collection_ = collection;
    ctx_ = ctx;
    start_ = absl::Now();
    ticket_.emplace(&service_->admission_);
  }
  // Checks the token and reserves `estimate` bytes; false when the call was answered
  // with the refusal.
  bool Admit(int64_t estimate) {
    absl::Status st = ticket_->Admit(Authorization(ctx_->client_metadata()), estimate);
    if (!st.ok()) FinishWith(ToGrpcStatus(st), 0);
    return st.ok();
  }
  // Accounts for the answer, tells the observer, and hands the answer to gRPC.
  // `batch`: the Search calls answered together with this one, itself included.
  void FinishWith(const grpc::Status& st, int64_t response_bytes, int batch = 1) {
    ticket_->Settle(response_bytes);
    if (service_->hooks_.on_call) {
      service_->hooks_.on_call(
          CallRecord{rpc_, collection_, st, absl::Now() - start_, ctx_, batch});
    }
    Send(st);
  }

 protected:
  virtual ~Call() {  // gRPC is done with the call
    if (!ticket_) return;
    ticket_.reset();  // first: the trimmer trims only once no answer bytes are held
    service_->trimmer_->CallDone();
  }
  virtual void Send(const grpc::Status& st) = 0;
  SimSearchService* const service_;

 private:
  absl::string_view rpc_, collection_;  // the request outlives the call
  const grpc::ServerContextBase* ctx_ = nullptr;
  absl::Time start_;
  std::optional<Admission::Ticket> ticket_;  // from Begin
};

template <typename Req, typename Resp>
struct SimSearchService::Method {
  absl::string_view name;
  void (SimSearchService::*request)(grpc::ServerContext*, Req*,
                                    grpc::ServerAsyncResponseWriter<Resp>*, grpc::CompletionQueue*,
                                    grpc::ServerCompletionQueue*, void*);
};

namespace {

absl::string_view CollectionOf(const v1::ListCollectionsRequest&) {
  return "";
}
template <typename Req>
absl::string_view CollectionOf(const Req& req) {
  return req.collection();
}

google::protobuf::ArenaOptions FirstBlock(char* block, size_t size) {
  google::protobuf::ArenaOptions o;
  o.initial_block = block;
  o.initial_block_size = size;
  return o;
}

}  // namespace

// One call of a method on one queue. It asks gRPC for a call when created; on the
// queue's thread it is told the call arrived (or, not ok, that the server shut down
// first), admits and runs it, and asks for the next call of its method; it is told
// again when the answer went (or the call ended), and deletes itself. The request and
// response live on an arena whose first block is part of the object: an answer's dozens
// of messages and strings cost no malloc each (malloc and free were a fifth of the
// engine's CPU at 16 clients before).
template <typename Req, typename Resp>
class SimSearchService::QueuedCall final : public Call, public QueuedTag {
 public:
  QueuedCall(SimSearchService* service, const Method<Req, Resp>* method, CallQueue* q)
      : Call(service),
        method_(method),
        q_(q),
        arena_(FirstBlock(block_, sizeof(block_))),
        writer_(&ctx_) {
    req_ = google::protobuf::Arena::CreateMessage<Req>(&arena_);
    resp_ = google::protobuf::Arena::CreateMessage<Resp>(&arena_);
    q_->owner->TagBorn();
    StartGrpcOp([&](void* tag) {
      (service->*(method->request))(&ctx_, req_, &writer_, q_->cq.get(), q_->cq.get(), tag);
    });
  }
  void Proceed(bool ok) override {
    if (!ok || arrived_) {
      delete this;
      return;
    }
    arrived_ = true;
    Begin(method_->name, CollectionOf(*req_), &ctx_);
    service_->Take(this, &ctx_, req_, resp_, q_);
    // Only now the next call's place in this queue: while this thread answers, gRPC gives
    // new calls to the queues of idle threads. (The answer's event comes back through
    // this thread, so `this` is alive here.)
    CallQueues::Ask(q_, [this] { new QueuedCall(service_, method_, q_); });
  }

 private:
  ~QueuedCall() override { q_->owner->TagGone(); }
  void Send(const grpc::Status& st) override {
    if (st.ok()) {
      StartGrpcOp([&](void* tag) { writer_.Finish(*resp_, st, tag); });
    } else {
      StartGrpcOp([&](void* tag) { writer_.FinishWithError(st, tag); });
    }
  }

  const Method<Req, Resp>* const method_;
  CallQueue* const q_;
  alignas(16) char block_[16 << 10];  // a top-10 answer with metadata takes ~4 KiB
  google::protobuf::Arena arena_;
  grpc::ServerContext ctx_;
  Req* req_;
  Resp* resp_;
  grpc::ServerAsyncResponseWriter<Resp> writer_;
  bool arrived_ = false;
};

SimSearchService::SimSearchService(const Engine* engine, const ServiceLimits& limits,
                                   ServiceHooks hooks)
    : engine_(engine),
      limits_(limits),
      hooks_(std::move(hooks)),
      admission_(limits_.max_inflight_bytes, limits_.max_response_bytes, hooks_.tokens) {
  if (limits_.pollers <= 0) limits_.pollers = UsableCpus();
  if (limits_.workers <= 0) limits_.workers = std::max(2u, std::thread::hardware_concurrency());
  if (limits_.max_queued <= 0) limits_.max_queued = 64 * limits_.workers;
  limits_.search_batch =
      std::clamp(limits_.search_batch, 1, std::max(1, engine_->limits().max_batch));
  queue_ = std::make_unique<WorkQueue>(limits_.workers, limits_.max_queued);
  trimmer_ = std::make_unique<IdleTrimmer>([this] {
    return admission_.inflight_bytes() == 0 && queue_->running() == 0 && queue_->queued() == 0;
  });
}

SimSearchService::~SimSearchService() {
  // The trimmer's thread first (its idle check reads the queue); the trimmer itself
  // outlives the queue, whose last jobs still finish calls (CallDone).
  trimmer_->Stop();
}

template <typename Body>
void SimSearchService::Complete(Call* call, const grpc::ServerContextBase* ctx,
                                google::protobuf::Message* resp, Body body, int batch) {
  grpc::Status st = Guarded(ctx, body);
  int64_t bytes = 0;
  if (st.ok()) {
    bytes = static_cast<int64_t>(resp->ByteSizeLong());
    if (absl::Status size = admission_.CheckAnswerSize(bytes); !size.ok()) {
      st = ToGrpcStatus(size);
      resp->Clear();
      bytes = 0;
    }
  }
  call->FinishWith(st, bytes, batch);
}

namespace {
// How long a caller refused for full queues is asked to wait (RetryInfo): a few
// searches' time.
constexpr absl::Duration kQueueRetryDelay = absl::Milliseconds(50);

grpc::Status Busy(const WorkQueue& queue) {
  ErrorDetail d;
  d.reason = std::string(reason::kServerBusy);
  d.retry_delay = kQueueRetryDelay;
  return ToGrpcStatus(WithDetail(absl::ResourceExhaustedError(absl::StrCat(
                                     "server busy: all ", queue.workers(), " workers busy and ",
                                     queue.max_queued(), " calls queued; retry with backoff")),
                                 d));
}
}  // namespace

template <typename Body>
void SimSearchService::AdmitAndRun(Call* call, const grpc::ServerContextBase* ctx,
                                   google::protobuf::Message* resp, int64_t estimate, Body body) {
  if (!call->Admit(estimate)) return;
  auto job = [this, ctx, resp, call, body = std::move(body)]() mutable {
    Complete(call, ctx, resp, body);
  };
  // A small call (most single searches) runs at once on the polling thread that read it
  // when a slot is free and nobody waits: no hand-off to a worker thread, which cost a
  // 1-client loop ~13 % of its throughput (docs/RELIABILITY.md). Large answers are built
  // on the worker threads only, where a burst of them measured a third of the peak memory.
  const bool small = estimate <= kInlineAnswerBytes;
  if (!(small ? queue_->RunOrSubmit(std::move(job)) : queue_->TrySubmit(std::move(job)))) {
    call->FinishWith(Busy(*queue_), 0);
  }
}

template <typename Req, typename Resp>
void SimSearchService::Take(Call* call, const Ctx* ctx, const Req* req, Resp* resp, CallQueue*) {
  AdmitAndRun(call, ctx, resp, Estimate(*req),
              [this, ctx, req, resp] { return Run(ctx, *req, resp); });
}

struct SimSearchService::BatchEntry {
  Call* call;
  const Ctx* ctx;
  const v1::SearchRequest* req;
  v1::SearchResponse* resp;
};

void SimSearchService::Take(Call* call, const Ctx* ctx, const v1::SearchRequest* req,
                            v1::SearchResponse* resp, CallQueue* q) {
  auto* batch = static_cast<SearchBatcher<BatchEntry>*>(q->deferred);
  if (batch == nullptr || !Batchable(*req)) {
    Take<v1::SearchRequest, v1::SearchResponse>(call, ctx, req, resp, q);  // as any call
    return;
  }
  if (call->Admit(Estimate(*req))) batch->Keep({call, ctx, req, resp});
}

void SimSearchService::AnswerKept(const std::vector<BatchEntry>& kept) {
  const auto now = std::chrono::system_clock::now();
  std::vector<const v1::SearchRequest*> reqs;
  std::vector<char> expired;  // answered alone: DEADLINE_EXCEEDED
  for (const BatchEntry& e : kept) {
    reqs.push_back(e.req);
    expired.push_back(e.ctx->deadline() <= now);
  }
  for (const std::vector<size_t>& group : GroupSearches(reqs, expired)) {
    if (group.size() < 2 || !AnswerTogether(kept, group)) {
      for (size_t j : group) AnswerAlone(kept[j]);
    }
  }
}

void SimSearchService::FlushKept(std::vector<BatchEntry> kept) {
  if (queue_->RunOrSubmit([this, kept] { AnswerKept(kept); })) return;
  for (const BatchEntry& e : kept) {
    e.call->FinishWith(Busy(*queue_), 0);
  }
}

bool SimSearchService::AnswerTogether(const std::vector<BatchEntry>& kept,
                                      const std::vector<size_t>& group) {
  const v1::SearchRequest& first = *kept[group[0]].req;
  absl::StatusOr<SearchResults> r;
  try {
    // Only an exact scan answers a query in a batch as it answers it alone, to the bit;
    // FAISS and hnswlib give no such promise.
    auto c = engine_->GetCollection(first.collection());
    if (!c.ok() || (*c)->manifest().index_kind != IndexKind::kFlat) return false;
    std::vector<SearchQuery> queries;
    queries.reserve(group.size());
    absl::Time deadline = absl::InfinitePast();
    for (size_t j : group) {
      queries.push_back(ToQuery(kept[j].req->query()));
      deadline = std::max(deadline, Deadline(kept[j].ctx));
    }
    r = engine_->Search(first.collection(), queries, Optional(first.has_top_k(), first.top_k()),
                        ToFilter(first.filter()), deadline, ToKnobs(first.params()));
  } catch (...) {
    return false;
  }
  if (!r.ok()) return false;
  for (size_t at = 0; at < group.size(); ++at) {
    const BatchEntry& e = kept[group[at]];
    Complete(
        e.call, e.ctx, e.resp,
        [&] {
          FillHits(*r->collection, r->hits[at], e.resp->mutable_hits());
          e.resp->set_collection_version(r->collection->version());
          return absl::OkStatus();
        },
        static_cast<int>(group.size()));
  }
  return true;
}

void SimSearchService::AnswerAlone(const BatchEntry& e) {
  Complete(e.call, e.ctx, e.resp, [&] { return Run(e.ctx, *e.req, e.resp); });
}

void SimSearchService::Arm(CallQueue* q) {
  using S = SimSearchService;
  static const Method<v1::SearchRequest, v1::SearchResponse> kSearch{"Search", &S::RequestSearch};
  static const Method<v1::BatchSearchRequest, v1::BatchSearchResponse> kBatch{
      "BatchSearch", &S::RequestBatchSearch};
  static const Method<v1::GetItemsRequest, v1::GetItemsResponse> kItems{"GetItems",
                                                                        &S::RequestGetItems};
  static const Method<v1::LookupTitleRequest, v1::LookupTitleResponse> kTitle{
      "LookupTitle", &S::RequestLookupTitle};
  static const Method<v1::ListCollectionsRequest, v1::ListCollectionsResponse> kList{
      "ListCollections", &S::RequestListCollections};
  static const Method<v1::DescribeCollectionRequest, v1::DescribeCollectionResponse> kDescribe{
      "DescribeCollection", &S::RequestDescribeCollection};
  static const Method<v1::ListItemsRequest, v1::ListItemsResponse> kListItems{"ListItems",
                                                                              &S::RequestListItems};
  if (limits_.search_batch > 1) {
    batches_.push_back(std::make_unique<SearchBatcher<BatchEntry>>(
        static_cast<size_t>(limits_.search_batch),
        [this](std::vector<BatchEntry> kept) { FlushKept(std::move(kept)); }));
    q->deferred = batches_.back().get();
  }
  CallQueues::Ask(q, [&] {
    new QueuedCall(this, &kSearch, q);
    new QueuedCall(this, &kBatch, q);
    new QueuedCall(this, &kItems, q);
    new QueuedCall(this, &kTitle, q);
    new QueuedCall(this, &kList, q);
    new QueuedCall(this, &kDescribe, q);
    new QueuedCall(this, &kListItems, q);
  });
}

int64_t SimSearchService::Estimate(const v1::SearchRequest& req) const {
  if (req.page_size() > 0) return HitsBytes(1, req.page_size());  // one page is sent
  return HitsBytes(1, req.has_top_k() ? req.top_k() : engine_->limits().default_k);
}
int64_t SimSearchService::Estimate(const v1::BatchSearchRequest& req) const {
  if (req.page_size() > 0) return HitsBytes(req.queries_size(), req.page_size());
  return HitsBytes(req.queries_size(), req.has_top_k() ? req.top_k() : engine_->limits().default_k);
}
int64_t SimSearchService::Estimate(const v1::GetItemsRequest& req) const {
  return HitsBytes(std::max(1, req.collections_size()), req.ids_size()) *
         (req.include_vectors() ? 8 : 1);
}
namespace {
// LookupTitleRequest's count: top_k, or its older name limit.
absl::StatusOr<std::optional<int>> TitleCount(const v1::LookupTitleRequest& req) {
  if (req.has_top_k() && req.has_limit() && req.top_k() != req.limit()) {
    return InvalidFieldError("top_k", reason::kInvalidArgument,
                             "give top_k or its older name limit, not both");
  }
  if (req.has_top_k()) return std::optional<int>(req.top_k());
  if (req.has_limit()) return std::optional<int>(req.limit());
  return std::optional<int>();
}
}  // namespace

int64_t SimSearchService::Estimate(const v1::LookupTitleRequest& req) const {
  auto n = TitleCount(req);
  return HitsBytes(1, n.ok() && n->has_value() ? **n : 10);
}
int64_t SimSearchService::Estimate(const v1::ListCollectionsRequest&) const {
  return 4096;
}
int64_t SimSearchService::Estimate(const v1::DescribeCollectionRequest&) const {
  return 8192;
}
int64_t SimSearchService::Estimate(const v1::ListItemsRequest& req) const {
  return HitsBytes(1, req.page_size() > 0 ? req.page_size() : engine_->limits().default_list_page);
}

absl::Status SimSearchService::Run(const Ctx* ctx, const v1::SearchRequest& req,
                                   v1::SearchResponse* resp) const {
  if (!req.has_query()) {
    return InvalidFieldError(
        "query", reason::kEmptyQuery,
        "empty query: set query.vector, query.item_id, query.items, query.user_id or query.text");
  }
  SearchKnobs knobs = ToKnobs(req.params());
  knobs.page_size = req.page_size();
  knobs.page_token = req.page_token();
  auto r = engine_->Search(req.collection(), {ToQuery(req.query())},
                           Optional(req.has_top_k(), req.top_k()), ToFilter(req.filter()),
                           Deadline(ctx), knobs);
  if (!r.ok()) return r.status();
  FillHits(*r->collection, r->hits[0], resp->mutable_hits());
  resp->set_collection_version(r->collection->version());
  if (!r->next_page_tokens.empty()) resp->set_next_page_token(std::move(r->next_page_tokens[0]));
  return absl::OkStatus();
}

namespace {
// The engine names the field of a lone query "query..." (as SearchRequest has it); in a
// BatchSearchRequest it is "queries[0]...".
absl::Status BatchFieldPath(const absl::Status& st) {
  ErrorDetail d = DetailOf(st);
  if (d.field == "query" || absl::StartsWith(d.field, "query.")) {
    d.field = absl::StrCat("queries[0]", d.field.substr(5));
    return WithDetail(st, d);
  }
  return st;
}
}  // namespace

absl::Status SimSearchService::Run(const Ctx* ctx, const v1::BatchSearchRequest& req,
                                   v1::BatchSearchResponse* resp) const {
  if (req.queries_size() > engine_->limits().max_batch) {
    return InvalidFieldError(
        "queries", reason::kBatchTooLarge,
        absl::StrCat("too many queries in one batch: ", req.queries_size(), " (at most ",
                     engine_->limits().max_batch, "); split the batch"));
  }
  std::vector<SearchQuery> queries;
  queries.reserve(static_cast<size_t>(req.queries_size()));
  for (const v1::Query& q : req.queries()) queries.push_back(ToQuery(q));
  SearchKnobs knobs = ToKnobs(req.params());
  knobs.page_size = req.page_size();
  knobs.page_tokens.assign(req.page_tokens().begin(), req.page_tokens().end());
  auto r = engine_->Search(req.collection(), queries, Optional(req.has_top_k(), req.top_k()),
                           ToFilter(req.filter()), Deadline(ctx), knobs);
  if (!r.ok()) return BatchFieldPath(r.status());
  for (size_t i = 0; i < r->hits.size(); ++i) {
    v1::SearchResult* out = resp->add_results();
    FillHits(*r->collection, r->hits[i], out->mutable_hits());
    if (i < r->next_page_tokens.size()) out->set_next_page_token(std::move(r->next_page_tokens[i]));
  }
  resp->set_collection_version(r->collection->version());
  return absl::OkStatus();
}

namespace {
// The most collections one GetItems names.
constexpr int kMaxGetItemsCollections = 64;
}  // namespace

absl::Status SimSearchService::GetItemsAcross(const v1::GetItemsRequest& req,
                                              v1::GetItemsResponse* resp) const {
  if (!req.collection().empty()) {
    return InvalidFieldError("collections", reason::kInvalidArgument,
                             "set collection or collections, not both");
  }
  if (req.collections_size() > kMaxGetItemsCollections) {
    return InvalidFieldError("collections", reason::kInvalidArgument,
                             absl::StrCat("too many collections: ", req.collections_size(),
                                          " (at most ", kMaxGetItemsCollections, ")"));
  }
  std::vector<int64_t> ids(req.ids().begin(), req.ids().end());
  for (int i = 0; i < req.collections_size(); ++i) {
    for (int j = 0; j < i; ++j) {
      if (req.collections(j) == req.collections(i)) {
        return InvalidFieldError(absl::StrCat("collections[", i, "]"), reason::kInvalidArgument,
                                 "a collection is named twice");
      }
    }
    auto r = engine_->GetItems(req.collections(i), ids, /*missing_ok=*/true);
    if (!r.ok()) {
      // The engine names the collection "collection": here it is collections[i].
      ErrorDetail d = DetailOf(r.status());
      if (d.field != "collection") return r.status();
      d.field = absl::StrCat("collections[", i, "]");
      return WithDetail(r.status(), d);
    }
    const Collection& c = *r->collection;
    v1::CollectionItems* out = resp->add_by_collection();
    out->set_collection(c.name());
    out->set_collection_version(c.version());
    for (uint32_t row : r->rows) {
      v1::ItemRecord* rec = out->add_items();
      FillItem(c, row, rec->mutable_item(), /*with_synopsis=*/true);
      if (req.include_vectors())
        rec->mutable_vector()->Add(c.vector(row), c.vector(row) + c.dims());
    }
    out->mutable_missing_ids()->Add(r->missing.begin(), r->missing.end());
    SIMSEARCH_RETURN_IF_ERROR(c.CheckIntact());
  }
  return absl::OkStatus();
}

absl::Status SimSearchService::Run(const Ctx*, const v1::GetItemsRequest& req,
                                   v1::GetItemsResponse* resp) const {
  if (req.collections_size() > 0) return GetItemsAcross(req, resp);
  std::vector<int64_t> ids(req.ids().begin(), req.ids().end());
  auto r = engine_->GetItems(req.collection(), ids);
  if (!r.ok()) return r.status();
  const Collection& c = *r->collection;
  for (uint32_t row : r->rows) {
    v1::ItemRecord* rec = resp->add_items();
    FillItem(c, row, rec->mutable_item(), /*with_synopsis=*/true);
    if (req.include_vectors()) rec->mutable_vector()->Add(c.vector(row), c.vector(row) + c.dims());
  }
  // The vectors and ids were read through mappings (a file that shrank reads zeros).
  SIMSEARCH_RETURN_IF_ERROR(c.CheckIntact());
  resp->set_collection_version(c.version());
  return absl::OkStatus();
}

absl::Status SimSearchService::Run(const Ctx*, const v1::LookupTitleRequest& req,
                                   v1::LookupTitleResponse* resp) const {
  SIMSEARCH_ASSIGN_OR_RETURN(std::optional<int> n, TitleCount(req));
  auto r = engine_->LookupTitle(req.collection(), req.query(), n);
  if (!r.ok()) return r.status();
  const Collection& c = *r->collection;
  for (const TitleMatch& m : r->matches) {
    v1::TitleMatch* out = resp->add_matches();
    const ItemView item = c.item(m.row);
    FillItem(c, m.row, out->mutable_item());
    out->set_score(m.score);
    const absl::string_view matched = MatchedTitle(item, m.english);
    out->set_matched_title(matched.data(), matched.size());
  }
  if (r->better_elsewhere) {
    const Collection& o = *r->better_elsewhere->collection;
    const TitleMatch& m = r->better_elsewhere->match;
    v1::TitleMatch* out = resp->mutable_better_elsewhere();
    FillItem(o, m.row, out->mutable_item());
    out->set_score(m.score);
    const absl::string_view matched = MatchedTitle(o.item(m.row), m.english);
    out->set_matched_title(matched.data(), matched.size());
    for (const std::string& name : r->better_elsewhere->held_by)
      resp->add_better_elsewhere_in(name);
  }
  return absl::OkStatus();
}

absl::Status SimSearchService::Run(const Ctx*, const v1::ListCollectionsRequest&,
                                   v1::ListCollectionsResponse* resp) const {
  for (const auto& c : engine_->ListCollections()) {
    FillInfo(*c, engine_->State(c->name()), engine_->limits().max_k, resp->add_collections());
  }
  return absl::OkStatus();
}

absl::Status SimSearchService::Run(const Ctx*, const v1::ListItemsRequest& req,
                                   v1::ListItemsResponse* resp) const {
  ListRequest list;
  list.filter = ToFilter(req.filter());
  switch (req.order_by()) {
    case v1::ITEM_ORDER_UNSPECIFIED:
    case v1::ITEM_ORDER_SCORE:
      list.order = ItemOrder::kScore;
      break;
    case v1::ITEM_ORDER_MEMBERS:
      list.order = ItemOrder::kMembers;
      break;
    case v1::ITEM_ORDER_START_DATE:
      list.order = ItemOrder::kStartDate;
      break;
    default:
      return InvalidFieldError("order_by", reason::kInvalidArgument,
                               absl::StrCat("unknown order_by ", req.order_by(),
                                            "; use ITEM_ORDER_SCORE, _MEMBERS or _START_DATE"));
  }
  list.ascending = req.ascending();
  list.page_size = req.page_size();
  list.page_token = req.page_token();
  auto r = engine_->ListItems(req.collection(), list);
  if (!r.ok()) return r.status();
  for (uint32_t row : r->rows) FillItem(*r->collection, row, resp->add_items());
  resp->set_next_page_token(r->next_page_token);
  resp->set_total_size(static_cast<int64_t>(r->total));
  resp->set_collection_version(r->collection->version());
  return absl::OkStatus();
}

absl::Status SimSearchService::Run(const Ctx*, const v1::DescribeCollectionRequest& req,
                                   v1::DescribeCollectionResponse* resp) const {
  auto c = engine_->GetCollection(req.collection());
  if (!c.ok()) return c.status();
  FillInfo(**c, engine_->State((*c)->name()), engine_->limits().max_k, resp->mutable_info());
  for (const std::string& g : (*c)->genres()) resp->add_genres(g);
  for (const std::string& t : (*c)->types()) resp->add_types(t);
  resp->set_max_batch(engine_->limits().max_batch);
  resp->set_max_ids(engine_->limits().max_ids);
  return absl::OkStatus();
}

}  // namespace simsearch
