// simsearch: command-line client of simsearch-engine.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/client.h"
#include "client/item_json.h"
#include "core/cli.h"
#include "core/errors.h"
#include "core/quote.h"

namespace simsearch {
namespace {

using json = nlohmann::json;

constexpr char kUsage[] =
    "simsearch: query a simsearch-engine from the command line.\n"
    "\n"
    "Commands:\n"
    "  similar TITLE|ID   items most like one item (the item itself excluded)\n"
    "  search             nearest items to a raw vector (--vector)\n"
    "  recommend          from a watch list: --like ID,ID [--dislike ID]\n"
    "  item ID [ID...]    item metadata (and --vectors)\n"
    "  lookup TEXT        title lookup: from \"cowboy bebop\" to ids\n"
    "  browse             a collection by MAL score, popularity or date: a season, a year\n"
    "  collections        served collections, versions and sizes\n"
    "  describe NAME      one collection in detail (genres and types filters accept)\n"
    "  health             grpc.health.v1 check\n"
    "\n"
    "Common flags: --server HOST:PORT (default $SIMSEARCH_SERVER or 127.0.0.1:50051),\n"
    "--collection NAME (default $SIMSEARCH_COLLECTION, or the only served one),\n"
    "--timeout SECONDS, --json; TLS: --tls_ca FILE (--tls_cert, --tls_key for mutual TLS);\n"
    "token: $SIMSEARCH_TOKEN or --token. Run `simsearch COMMAND --help` for a command's flags.\n"
    "Exit status: 0 success, 1 the server or connection failed (message printed), 2 bad usage.";

struct Common {
  std::string server;
  std::string tls_ca, tls_cert, tls_key, tls_server_name, token;
  bool tls = false;
  std::string collection;
  double timeout = 10;
  bool json = false;
  int k = 10;
  std::vector<std::string> genres, types, exclude_genres, exclude_types;
  std::vector<int64_t> exclude;
  std::vector<int64_t> franchises, exclude_franchises;
  std::string max_content;
  // Per-call search effort (SearchOptions::knobs); ef, nprobe and min_score count only
  // when given (parser->was_set).
  bool exact = false;
  int ef = 0, nprobe = 0;
  double min_score = 0;
  int page_size = 0;
  std::string page_token;
  mutable std::string next_page_token;  // the answer's, printed with the hits
  const ArgParser* parser = nullptr;
};

void AddCommon(ArgParser* p, Common* c, bool search_flags) {
  const char* env_server = std::getenv("SIMSEARCH_SERVER");
  const char* env_coll = std::getenv("SIMSEARCH_COLLECTION");
  c->server = env_server ? env_server : "127.0.0.1:50051";
  c->collection = env_coll ? env_coll : "";
  p->AddString("server", &c->server,
               "engine address (default $SIMSEARCH_SERVER or 127.0.0.1:50051)", "HOST:PORT");
  p->AddString("collection", &c->collection,
               "collection to query (default $SIMSEARCH_COLLECTION, or the only one served)",
               "NAME");
  p->AddDouble("timeout", &c->timeout, "deadline of the call in seconds (default 10)", "SECONDS");
  const char* env_token = std::getenv("SIMSEARCH_TOKEN");
  c->token = env_token ? env_token : "";
  p->AddBool("tls", &c->tls, "connect with TLS, trusting the system's CAs (implied by --tls_ca)");
  p->AddString("tls_ca", &c->tls_ca, "connect with TLS, trusting the CA in FILE (PEM)", "FILE");
  p->AddString("tls_cert", &c->tls_cert, "client certificate for mutual TLS (PEM)", "FILE");
  p->AddString("tls_key", &c->tls_key, "private key of --tls_cert (PEM)", "FILE");
  p->AddString("tls_server_name", &c->tls_server_name,
               "name the server's certificate must carry, when not --server's host", "NAME");
  p->AddString("token", &c->token,
               "bearer token for an engine with --auth_tokens_file (default $SIMSEARCH_TOKEN;\n"
               "prefer the variable: arguments show in ps)",
               "TOKEN");
  p->AddBool("json", &c->json, "print JSON instead of a table");
  c->parser = p;
  if (search_flags) {
    p->AddInt("top-k", &c->k,
              "number of results, 1..max_k (default 10); with --page-size, how deep to page");
    p->AddAlias("-k", "top-k");
    p->AddAlias("--k", "top-k");  // its name before top_k was the API's one word for it
    p->AddStringList("genre", &c->genres, "keep only items with any of these genres (repeatable)",
                     "GENRE");
    p->AddStringList("type", &c->types, "keep only items of these types: TV, Movie, OVA, ...",
                     "TYPE");
    p->AddStringList("exclude-genre", &c->exclude_genres,
                     "drop items with any of these genres, e.g. Hentai (repeatable; a genre the\n"
                     "collection does not have excludes nothing)",
                     "GENRE");
    p->AddStringList("exclude-type", &c->exclude_types, "drop items of these types (repeatable)",
                     "TYPE");
    p->AddInt64List("exclude", &c->exclude, "never return these ids");
    p->AddInt64List(
        "franchise", &c->franchises,
        "keep only items of these franchises (the franchise id `simsearch item` prints)");
    p->AddInt64List("exclude-franchise", &c->exclude_franchises,
                    "drop items of these franchises: \"more like this\" without the anime's own\n"
                    "seasons and films");
    p->AddString("max-content", &c->max_content,
                 "drop items more explicit than LEVEL: general (family safe: no R+, nsfw,\n"
                 "Yaoi/Yuri), mature (no Rx, Hentai, Erotica: the HTTP API's default) or adult\n"
                 "(default: no limit; the engine applies no content policy of its own)",
                 "LEVEL");
    p->AddBool("exact", &c->exact,
               "scan every vector whatever the collection's index: the exact top k (slower on\n"
               "an ANN collection)");
    p->AddInt("ef", &c->ef,
              "HNSW collections: the search beam for this call, 1..4096 (default: the\n"
              "collection's, which `simsearch describe` prints); larger finds more, slower");
    p->AddInt("nprobe", &c->nprobe,
              "IVF collections: the lists probed for this call, 1..4096 (default: the\n"
              "collection's)");
    p->AddDouble("min-score", &c->min_score,
                 "leave out hits scoring below X (so fewer than k may come back)");
    p->AddInt("page-size", &c->page_size,
              "print the k results N at a time: one page, and the --page-token of the next");
    p->AddString("page-token", &c->page_token,
                 "the next page of a paged search: repeat its other flags unchanged (only\n"
                 "--page-size may change)",
                 "TOKEN");
  }
}

int UsageError(const std::string& msg) {
  std::fprintf(stderr, "simsearch: %s\n", msg.c_str());
  return 2;
}

// "simsearch: CODE: message", and the reason when it says more than the code.
int Failed(const absl::Status& st) {
  const std::string code = absl::StatusCodeToString(st.code());
  const std::string reason = ReasonOf(st);
  std::fprintf(stderr, "simsearch: %s: %s%s\n", code.c_str(), std::string(st.message()).c_str(),
               reason == code ? "" : absl::StrCat(" [", reason, "]").c_str());
  return 1;
}

std::unique_ptr<Client> MakeClient(const Common& c) {
  ClientOptions o;
  o.address = c.server;
  o.timeout = absl::Seconds(c.timeout);
  o.tls = c.tls;
  o.tls_server_name = c.tls_server_name;
  o.token = c.token;
  if (absl::Status st = LoadTlsFiles(c.tls_ca, c.tls_cert, c.tls_key, &o); !st.ok()) {
    std::exit(UsageError(std::string(st.message())));
  }
  return Client::Create(o);
}

// Chooses the collection when none was given: the only one served.
absl::Status ResolveCollection(const Client& client, Common* c) {
  if (!c->collection.empty()) return absl::OkStatus();
  auto list = client.ListCollections();
  if (!list.ok()) return list.status();
  if (list->size() == 1) {
    c->collection = (*list)[0].name;
    return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (const auto& i : *list) names.push_back(i.name);
  return absl::InvalidArgumentError(
      list->empty() ? std::string("the server serves no collection yet")
                    : absl::StrCat("several collections are served (", absl::StrJoin(names, ", "),
                                   "); choose one with --collection"));
}

// Cuts to at most `width` code points, marking a cut with "...".
std::string Clip(const std::string& s, size_t width) {
  size_t cps = 0, i = 0, cut = std::string::npos;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (cps == width - 3) cut = i;
    if (++cps > width) return s.substr(0, cut) + "...";
  }
  return s;
}

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

std::string Pad(const std::string& s, size_t width) {
  size_t n = CodePoints(s);
  return n >= width ? s : s + std::string(width - n, ' ');
}

std::string DisplayTitle(const Item& it) {
  if (it.title.empty()) return absl::StrCat("(id ", it.id, ")");
  if (!it.english_title.empty() && it.english_title != it.title) {
    return absl::StrCat(it.title, " / ", it.english_title);
  }
  return it.title;
}

// `next_page_token`: a paged search's (empty: none, or the last page).
void PrintHits(const std::vector<ClientHit>& hits, const std::string& collection, bool as_json,
               const json& query, const std::string& next_page_token) {
  if (as_json) {
    json arr = json::array();
    for (const ClientHit& h : hits) {
      json j = {{"id", h.id}, {"score", h.score}, {"item", ItemJson(h.item)}};
      if (!h.because.empty()) {
        json because = json::array();
        for (const auto& [id, share] : h.because) because.push_back({{"id", id}, {"share", share}});
        j["because"] = std::move(because);
      }
      arr.push_back(std::move(j));
    }
    json out = {{"collection", collection}, {"query", query}, {"hits", arr}};
    if (!next_page_token.empty()) out["next_page_token"] = next_page_token;
    std::printf("%s\n", out.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("%-4s %-7s %-7s %s %-7s %4s  %s\n", "#", "id", "score", Pad("title", 50).c_str(),
              "type", "eps", "genres");
  int rank = 0;
  for (const ClientHit& h : hits) {
    std::printf("%-4d %-7lld %-7.4f %s %-7s %4s  %s\n", ++rank, static_cast<long long>(h.id),
                h.score, Pad(Clip(DisplayTitle(h.item), 50), 50).c_str(), h.item.type.c_str(),
                h.item.episodes > 0 ? std::to_string(h.item.episodes).c_str() : "-",
                Clip(absl::StrJoin(h.item.genres, ", "), 40).c_str());
    if (!h.because.empty()) {
      std::vector<std::string> parts;
      for (const auto& [id, share] : h.because)
        parts.push_back(absl::StrFormat("%lld (%.0f%%)", static_cast<long long>(id), 100 * share));
      std::printf("     because you liked %s\n", absl::StrJoin(parts, ", ").c_str());
    }
  }
  if (hits.empty()) std::printf("(no results)\n");
  if (!next_page_token.empty())
    std::printf("next page: --page-token %s\n", next_page_token.c_str());
}

// The search flags as options; InvalidArgument naming a bad --max-content.
absl::StatusOr<SearchOptions> Options(const Common& c) {
  SearchOptions o;
  if (!c.max_content.empty()) {
    const std::optional<ContentLevel> level = ParseContentLevel(c.max_content);
    if (!level) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--max-content takes general, mature or adult, not '", Quote(c.max_content), "'"));
    }
    o.filter.max_content = *level;
  }
  o.collection = c.collection;
  o.top_k = c.k;
  o.filter.genres = c.genres;
  o.filter.types = c.types;
  o.filter.exclude_genres = c.exclude_genres;
  o.filter.exclude_types = c.exclude_types;
  o.filter.exclude_ids = c.exclude;
  o.filter.franchises = c.franchises;
  o.filter.exclude_franchises = c.exclude_franchises;
  o.knobs.exact = c.exact;
  if (c.parser != nullptr && c.parser->was_set("ef")) o.knobs.ef = c.ef;
  if (c.parser != nullptr && c.parser->was_set("nprobe")) o.knobs.nprobe = c.nprobe;
  if (c.parser != nullptr && c.parser->was_set("min-score")) {
    o.knobs.min_score = static_cast<float>(c.min_score);
  }
  o.knobs.page_size = c.page_size;
  o.knobs.page_token = c.page_token;
  o.next_page_token = &c.next_page_token;
  return o;
}

// Parses a command's flags; returns -1 to go on, else the exit code.
int ParseOrExit(ArgParser* p, int argc, char** argv, std::vector<std::string>* positional) {
  return p->ParseOrExitCode(argc, argv, 2, positional);
}

int Similar(int argc, char** argv) {
  Common c;
  ArgParser p("simsearch similar",
              "simsearch similar: items most like one item, the item itself excluded.\n\n"
              "  simsearch similar \"Cowboy Bebop\" --collection genres -k 10\n"
              "  simsearch similar 1 --collection genres --type TV\n\n"
              "A number is an item id; anything else is looked up as a title (best match used,\n"
              "case and accents ignored).");
  AddCommon(&p, &c, true);
  std::vector<std::string> pos;
  if (int rc = ParseOrExit(&p, argc, argv, &pos); rc >= 0) return rc;
  if (pos.empty()) return UsageError("similar needs a title or an item id (see --help)");
  const std::string what = absl::StrJoin(pos, " ");
  auto client = MakeClient(c);
  if (auto st = ResolveCollection(*client, &c); !st.ok()) return Failed(st);
  int64_t id;
  json query;
  if (!absl::SimpleAtoi(what, &id)) {
    auto lookup = client->LookupTitle(c.collection, what, 5);
    if (!lookup.ok()) return Failed(lookup.status());
    auto resolved = ResolveTitle(*lookup, what, c.collection);
    if (!resolved.ok()) return Failed(resolved.status());
    const TitleCandidate& best = *resolved;
    id = best.item.id;
    query = {{"title", what}, {"matched", best.matched_title}, {"id", id}};
    if (!c.json) {
      std::printf("more like: %s (id %lld, title match %.2f)\n", DisplayTitle(best.item).c_str(),
                  static_cast<long long>(id), best.score);
    }
  } else {
    query = {{"id", id}};
  }
  auto options = Options(c);
  if (!options.ok()) return UsageError(std::string(options.status().message()));
  auto hits = client->Search(SearchQuery::Item(id), *options);
  if (!hits.ok()) return Failed(hits.status());
  PrintHits(*hits, c.collection, c.json, query, c.next_page_token);
  return 0;
}

int Search(int argc, char** argv) {
  Common c;
  std::string vector_text, text, mode, fusion;
  double rrf_k = 0, dense_weight = -1;
  ArgParser p(
      "simsearch search",
      "simsearch search: nearest items to free text or to a raw query vector.\n\n"
      "  simsearch search --collection synopsis --text \"bounty hunters drifting through space\"\n"
      "  simsearch search --collection synopsis --text \"volleyball\" --mode lexical\n"
      "  simsearch search --collection genres --vector 0,1,0,...  -k 5\n\n"
      "Text is answered by the collection's own encoder (dense), its BM25 index\n"
      "(lexical), or both with their ranks fused (hybrid, the default where a collection\n"
      "has both, as synopsis does; docs/MODELS.md has the measurements). A vector needs\n"
      "the collection's dimensions (simsearch describe NAME); cosine collections\n"
      "normalise it.");
  AddCommon(&p, &c, true);
  p.AddString("text", &text, "free-text query", "TEXT");
  p.AddString("mode", &mode,
              "--text: dense, lexical or hybrid (default: hybrid where the collection can)",
              "MODE");
  p.AddString("fusion", &fusion, "--text in hybrid mode: convex (default) or rrf", "NAME");
  p.AddDouble("rrf-k", &rrf_k, "--fusion rrf: the k of 1/(k + rank) (default 60)", "K");
  p.AddDouble("dense-weight", &dense_weight,
              absl::StrCat("hybrid: weight of the dense side, in [0, 1] (default ",
                           kDefaultDenseWeight, " convex, 0.5 rrf)"),
              "W");
  p.AddString("vector", &vector_text, "query vector, comma-separated floats", "X,Y,...");
  if (int rc = ParseOrExit(&p, argc, argv, nullptr); rc >= 0) return rc;
  if (text.empty() == vector_text.empty())
    return UsageError("give either --text or --vector (see --help)");
  if (!text.empty()) {
    SearchQuery q = SearchQuery::Text(text);
    const auto m = TextModeFromName(mode);
    if (!m)
      return UsageError(
          absl::StrCat("--mode: '", mode, "' is not a mode; use dense, lexical or hybrid"));
    const auto f = FusionFromName(fusion);
    if (!f)
      return UsageError(
          absl::StrCat("--fusion: '", fusion, "' is not a fusion; use rrf or convex"));
    q.text_options.mode = *m;
    q.text_options.fusion = *f;
    if (rrf_k != 0) q.text_options.rrf_k = static_cast<float>(rrf_k);
    if (dense_weight != -1) q.text_options.dense_weight = static_cast<float>(dense_weight);
    auto client = MakeClient(c);
    if (auto st = ResolveCollection(*client, &c); !st.ok()) return Failed(st);
    auto options = Options(c);
    if (!options.ok()) return UsageError(std::string(options.status().message()));
    auto hits = client->Search(q, *options);
    if (!hits.ok()) return Failed(hits.status());
    json query = {{"text", text}};
    if (!mode.empty()) query["mode"] = mode;
    if (!fusion.empty()) query["fusion"] = fusion;
    PrintHits(*hits, c.collection, c.json, query, c.next_page_token);
    return 0;
  }
  std::vector<float> v;
  for (absl::string_view part : absl::StrSplit(vector_text, ',', absl::SkipWhitespace())) {
    float x;
    if (!absl::SimpleAtof(absl::StripAsciiWhitespace(part), &x)) {
      return UsageError(absl::StrCat("--vector: '", part, "' is not a number"));
    }
    v.push_back(x);
  }
  auto client = MakeClient(c);
  if (auto st = ResolveCollection(*client, &c); !st.ok()) return Failed(st);
  auto options = Options(c);
  if (!options.ok()) return UsageError(std::string(options.status().message()));
  auto hits = client->Search(SearchQuery::Vector(v), *options);
  if (!hits.ok()) return Failed(hits.status());
  PrintHits(*hits, c.collection, c.json, {{"vector_dims", v.size()}}, c.next_page_token);
  return 0;
}

int Recommend(int argc, char** argv) {
  Common c;
  std::vector<int64_t> like, dislike;
  std::string user_text;
  ArgParser p("simsearch recommend",
              "simsearch recommend: recommendations from a watch list, or for a known user.\n\n"
              "  simsearch recommend --like 1,5,6 --dislike 20 --collection ncf\n"
              "  simsearch recommend --user 42 --collection ncf\n\n"
              "On a recommender collection built with a fold-in (ncf: `describe ncf` shows\n"
              "it), the watch list is folded in as a new user: the user vector the model would\n"
              "have learned from those liked (and disliked, with weight w: --dislike-weight)\n"
              "anime, pulled toward the typical user by a prior that fades as the list grows\n"
              "(docs/MODELS.md, \"Short watch lists\"). On other collections the query is\n"
              "mean(liked) - w * mean(disliked). The listed anime are not returned. --user uses\n"
              "the user's vector from a recommender collection and leaves out every anime on\n"
              "that user's list: watched, dropped or planned.");
  AddCommon(&p, &c, true);
  p.AddInt64List("like", &like, "ids the user liked or watched");
  p.AddInt64List("dislike", &dislike, "ids the user disliked");
  double dislike_weight = 1.0;
  p.AddDouble("dislike-weight", &dislike_weight,
              "weight of the disliked items' mean, in (0, 1] (default 1; on ncf 0.25 keeps\n"
              "the popularity that liked and disliked items share)");
  p.AddString("user", &user_text, "a user id the collection's recommender was trained on", "ID");
  bool explain = false;
  p.AddBool("explain", &explain,
            "with --like: under each result, the liked anime with the largest parts of its\n"
            "score (the score is linear in them, so the parts are exact)");
  if (int rc = ParseOrExit(&p, argc, argv, nullptr); rc >= 0) return rc;
  int64_t user = 0;
  const bool by_user = !user_text.empty();
  if (by_user && !absl::SimpleAtoi(user_text, &user)) {
    return UsageError(absl::StrCat("--user takes an integer id, got '", user_text, "'"));
  }
  if (by_user && explain) return UsageError("--explain names liked anime: give it with --like");
  if (by_user == !like.empty() || (by_user && !dislike.empty())) {
    return UsageError("give either --like (with optional --dislike) or --user (see --help)");
  }
  auto client = MakeClient(c);
  if (auto st = ResolveCollection(*client, &c); !st.ok()) return Failed(st);
  SearchQuery q = by_user ? SearchQuery::User(user) : SearchQuery::Items(like, dislike);
  q.negative_weight = static_cast<float>(dislike_weight);
  q.explain = explain && !by_user;
  auto options = Options(c);
  if (!options.ok()) return UsageError(std::string(options.status().message()));
  auto hits = client->Search(q, *options);
  if (!hits.ok()) return Failed(hits.status());
  PrintHits(*hits, c.collection, c.json,
            by_user ? json{{"user", user}} : json{{"like", like}, {"dislike", dislike}},
            c.next_page_token);
  return 0;
}

// The listing `simsearch browse`'s flags ask for; InvalidArgument naming a bad flag.
struct BrowseFlags {
  std::string sort = "score", seasons, max_content, max_age_rating;
  bool ascending = false;
  int year = 0, min_year = 0, max_year = 0;
  int min_members = 0;
  std::vector<std::string> genres, types;
};
absl::StatusOr<ListRequest> BrowseRequest(const BrowseFlags& f) {
  ListRequest r;
  if (f.sort == "score") {
    r.order = ItemOrder::kScore;
  } else if (f.sort == "popularity") {
    r.order = ItemOrder::kMembers;
  } else if (f.sort == "date") {
    r.order = ItemOrder::kStartDate;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--sort takes score, popularity or date, not '", Quote(f.sort), "'"));
  }
  if (f.year != 0 && (f.min_year != 0 || f.max_year != 0))
    return absl::InvalidArgumentError("give --year, or --min-year and --max-year, not both");
  r.ascending = f.ascending;
  r.filter.min_start_year = f.year != 0 ? f.year : f.min_year;
  r.filter.max_start_year = f.year != 0 ? f.year : f.max_year;
  for (absl::string_view name : absl::StrSplit(f.seasons, ',', absl::SkipWhitespace())) {
    const int season = SeasonFromName(absl::StripAsciiWhitespace(name));
    if (season == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--season takes winter, spring, summer or fall, not '", Quote(name), "'"));
    }
    r.filter.seasons.push_back(season);
  }
  r.filter.genres = f.genres;
  r.filter.types = f.types;
  r.filter.min_members = f.min_members;
  r.filter.max_age_rating = f.max_age_rating;
  if (!f.max_content.empty()) {
    const std::optional<ContentLevel> level = ParseContentLevel(f.max_content);
    if (!level) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--max-content takes general, mature or adult, not '", Quote(f.max_content), "'"));
    }
    r.filter.max_content = *level;
  }
  return r;
}

void PrintItemPage(const ItemPage& page, const std::string& collection, bool as_json) {
  if (as_json) {
    json items = json::array();
    for (const Item& it : page.items) items.push_back(ItemJson(it));
    json out = {{"collection", collection}, {"total", page.total}, {"items", items}};
    if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
    std::printf("%s\n", out.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("%-7s %-6s %-12s %s %-7s %4s  %s\n", "id", "score", "started",
              Pad("title", 50).c_str(), "type", "eps", "members");
  for (const Item& it : page.items) {
    const std::string score = it.mal_score > 0 ? absl::StrFormat("%.2f", it.mal_score) : "-";
    const std::string started = it.start_date.empty() ? "-" : it.start_date;
    std::printf("%-7lld %-6s %-12s %s %-7s %4s  %lld\n", static_cast<long long>(it.id),
                score.c_str(), started.c_str(), Pad(Clip(DisplayTitle(it), 50), 50).c_str(),
                it.type.c_str(), it.episodes > 0 ? std::to_string(it.episodes).c_str() : "-",
                static_cast<long long>(it.members));
  }
  std::printf("%lld item%s in all\n", static_cast<long long>(page.total),
              page.total == 1 ? "" : "s");
  if (!page.next_page_token.empty())
    std::printf("next page: --page-token %s\n", page.next_page_token.c_str());
}

int Browse(int argc, char** argv) {
  Common c;
  ArgParser p("simsearch browse",
              "simsearch browse: a collection's items in an order fans browse by, a page at a\n"
              "time.\n\n"
              "  simsearch browse --collection genres --year 2023 --season fall --sort popularity\n"
              "  simsearch browse --collection genres --genre Comedy --min-year 2015\n\n"
              "Items whose sort key is unknown (no MAL score, no start date) come last either\n"
              "way; ties go to the more popular. Seasons are MAL's, by start month (a premiere\n"
              "in a season's last week counts for the next).");
  AddCommon(&p, &c, false);
  BrowseFlags f;
  std::string page_token;
  int page_size = 20;
  p.AddString("sort", &f.sort, "score (MAL mean score; the default), popularity or date", "ORDER");
  p.AddBool("asc", &f.ascending, "lowest, least popular or oldest first");
  p.AddInt("year", &f.year, "items that started in this year");
  p.AddInt("min-year", &f.min_year, "items that started in this year or later");
  p.AddInt("max-year", &f.max_year, "items that started in this year or earlier");
  p.AddString("season", &f.seasons, "winter, spring, summer or fall (comma-separated)", "SEASON");
  p.AddStringList("genre", &f.genres, "keep only items with any of these genres (repeatable)",
                  "GENRE");
  p.AddStringList("type", &f.types, "keep only items of these types (repeatable)", "TYPE");
  p.AddString("max-content", &f.max_content,
              "drop items more explicit than LEVEL: general, mature or adult (default: none)",
              "LEVEL");
  p.AddString("max-age-rating", &f.max_age_rating,
              "keep items MAL rates at most RATING: g, pg, pg_13, r, r+ or rx (items of\n"
              "unknown rating are left out)",
              "RATING");
  p.AddInt("min-members", &f.min_members,
           "keep items with at least N MAL members (\"top rated\" without the 10.0 a few\n"
           "hundred members gave)");
  p.AddInt("page-size", &page_size, "items per page, 1..max_k (default 20)");
  p.AddString("page-token", &page_token,
              "the next page: repeat the other flags unchanged (only --page-size may change)",
              "TOKEN");
  if (int rc = ParseOrExit(&p, argc, argv, nullptr); rc >= 0) return rc;
  absl::StatusOr<ListRequest> r = BrowseRequest(f);
  if (!r.ok()) return UsageError(std::string(r.status().message()));
  r->page_size = page_size;
  r->page_token = page_token;
  auto client = MakeClient(c);
  if (auto st = ResolveCollection(*client, &c); !st.ok()) return Failed(st);
  auto page = client->ListItems(c.collection, *r);
  if (!page.ok()) return Failed(page.status());
  PrintItemPage(*page, c.collection, c.json);
  return 0;
}

int ItemCmd(int argc, char** argv) {
  Common c;
  bool vectors = false;
  ArgParser p("simsearch item",
              "simsearch item: item metadata by id.\n\n  simsearch item 1 5 --collection genres");
  AddCommon(&p, &c, false);
  p.AddBool("vectors", &vectors, "also print each item's stored vector");
  std::vector<std::string> pos;
  if (int rc = ParseOrExit(&p, argc, argv, &pos); rc >= 0) return rc;
  std::vector<int64_t> ids;
  for (const std::string& s : pos) {
    for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipWhitespace())) {
      int64_t id;
      if (!absl::SimpleAtoi(part, &id))
        return UsageError(absl::StrCat("'", part, "' is not an item id"));
      ids.push_back(id);
    }
  }
  if (ids.empty()) return UsageError("item needs at least one id (see --help)");
  auto client = MakeClient(c);
  if (auto st = ResolveCollection(*client, &c); !st.ok()) return Failed(st);
  auto items = client->GetItems(c.collection, ids, vectors);
  if (!items.ok()) return Failed(items.status());
  if (c.json) {
    json arr = json::array();
    for (const ItemRecord& r : *items) {
      json j = ItemJson(r.item);
      if (vectors) j["vector"] = r.vector;
      arr.push_back(j);
    }
    std::printf("%s\n", json({{"collection", c.collection}, {"items", arr}})
                            .dump(2, ' ', false, json::error_handler_t::replace)
                            .c_str());
    return 0;
  }
  for (const ItemRecord& r : *items) {
    const Item& it = r.item;
    std::printf("id:       %lld\ntitle:    %s\n", static_cast<long long>(it.id), it.title.c_str());
    if (!it.english_title.empty()) std::printf("english:  %s\n", it.english_title.c_str());
    std::printf("type:     %s\nepisodes: %d\ngenres:   %s\nmembers:  %lld\n", it.type.c_str(),
                it.episodes, absl::StrJoin(it.genres, ", ").c_str(),
                static_cast<long long>(it.members));
    std::string content(ContentLevelName(it.content));
    if (!it.age_rating.empty()) absl::StrAppend(&content, " (MAL age rating ", it.age_rating, ")");
    std::printf("content:  %s\n", content.c_str());
    if (!it.start_date.empty()) {
      const std::string_view season = it.season();
      std::printf("started:  %s%s%s\n", it.start_date.c_str(), season.empty() ? "" : ", ",
                  std::string(season).c_str());
    }
    if (it.mal_score > 0) std::printf("score:    %.2f (MyAnimeList)\n", it.mal_score);
    if (!it.studios.empty()) std::printf("studios:  %s\n", absl::StrJoin(it.studios, ", ").c_str());
    if (!it.image_url.empty()) std::printf("cover:    %s\n", it.image_url.c_str());
    if (it.franchise != 0 && it.franchise != it.id) {
      std::printf("franchise: %lld (its seasons, films and OVAs: --franchise %lld)\n",
                  static_cast<long long>(it.franchise), static_cast<long long>(it.franchise));
    }
    if (it.vector_source == Item::VectorSource::kLearned) {
      std::printf("vector:   learned from %lld viewers\n", static_cast<long long>(it.viewers));
    } else if (it.vector_source == Item::VectorSource::kPredicted) {
      std::printf("vector:   predicted from its content (%lld viewers: too few to learn from)\n",
                  static_cast<long long>(it.viewers));
    }
    if (vectors) std::printf("vector:   [%s]\n", absl::StrJoin(r.vector, ", ").c_str());
    std::printf("\n");
  }
  return 0;
}

int Lookup(int argc, char** argv) {
  Common c;
  int top_k = 10;
  ArgParser p(
      "simsearch lookup",
      "simsearch lookup: title search, best matches first.\n\n  simsearch lookup cowboy bebop");
  AddCommon(&p, &c, false);
  p.AddInt("top-k", &top_k, "most matches, 1..100 (default 10)");
  p.AddAlias("-k", "top-k");
  p.AddAlias("--limit", "top-k");  // its older name
  std::vector<std::string> pos;
  if (int rc = ParseOrExit(&p, argc, argv, &pos); rc >= 0) return rc;
  if (pos.empty()) return UsageError("lookup needs some title text (see --help)");
  auto client = MakeClient(c);
  if (auto st = ResolveCollection(*client, &c); !st.ok()) return Failed(st);
  auto lookup = client->LookupTitle(c.collection, absl::StrJoin(pos, " "), top_k);
  if (!lookup.ok()) return Failed(lookup.status());
  const std::vector<TitleCandidate>* m = &lookup->matches;
  if (c.json) {
    json arr = json::array();
    for (const auto& x : *m)
      arr.push_back(
          {{"score", x.score}, {"matched_title", x.matched_title}, {"item", ItemJson(x.item)}});
    json out = {{"collection", c.collection}, {"matches", arr}};
    if (lookup->better_elsewhere) {
      const TitleCandidate& e = *lookup->better_elsewhere;
      out["better_elsewhere"] = {{"score", e.score},
                                 {"matched_title", e.matched_title},
                                 {"item", ItemJson(e.item)},
                                 {"collections", lookup->better_elsewhere_in}};
    }
    std::printf("%s\n", out.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("%-7s %-6s %s %s\n", "id", "match", Pad("title", 50).c_str(), "type");
  for (const auto& x : *m) {
    std::printf("%-7lld %-6.2f %s %s\n", static_cast<long long>(x.item.id), x.score,
                Pad(Clip(DisplayTitle(x.item), 50), 50).c_str(), x.item.type.c_str());
  }
  if (m->empty()) std::printf("(no title matches)\n");
  if (lookup->better_elsewhere) {
    const TitleCandidate& e = *lookup->better_elsewhere;
    std::printf("note: a better match, %s (id %lld, match %.2f), is not in '%s' (it is in: %s)\n",
                DisplayTitle(e.item).c_str(), static_cast<long long>(e.item.id), e.score,
                c.collection.c_str(), absl::StrJoin(lookup->better_elsewhere_in, ", ").c_str());
  }
  return 0;
}

json InfoJson(const CollectionInfo& i) {
  return {{"name", i.name},
          {"version", i.version},
          {"metric", i.metric},
          {"dims", i.dims},
          {"count", i.count},
          {"index_kind", i.index_kind},
          {"index_params", i.index_params},
          {"recall_at_10", i.recall_at_10},
          {"source", i.source},
          {"built_at", i.built_at},
          {"loaded_at", i.loaded_at},
          {"max_k", i.max_k},
          {"encoder", i.encoder},
          {"current_version", i.current_version},
          {"serving_note", i.serving_note},
          {"more_like_this", i.more_like_this},
          {"watch_lists", i.watch_lists},
          {"text_search", i.text_search},
          {"scan", i.scan}};
}

int Collections(int argc, char** argv) {
  Common c;
  ArgParser p("simsearch collections", "simsearch collections: what the engine serves.");
  AddCommon(&p, &c, false);
  if (int rc = ParseOrExit(&p, argc, argv, nullptr); rc >= 0) return rc;
  auto list = MakeClient(c)->ListCollections();
  if (!list.ok()) return Failed(list.status());
  if (c.json) {
    json arr = json::array();
    for (const auto& i : *list) arr.push_back(InfoJson(i));
    std::printf("%s\n", json({{"collections", arr}}).dump(2).c_str());
    return 0;
  }
  std::printf("%-16s %-9s %-7s %6s %9s %-5s %9s  %s\n", "name", "version", "metric", "dims",
              "items", "index", "recall@10", "built");
  for (const auto& i : *list) {
    std::printf("%-16s %-9s %-7s %6d %9lld %-5s %9.4f  %s\n", i.name.c_str(), i.version.c_str(),
                i.metric.c_str(), i.dims, static_cast<long long>(i.count), i.index_kind.c_str(),
                i.recall_at_10, i.built_at.c_str());
  }
  if (list->empty()) std::printf("(no collections served)\n");
  for (const auto& i : *list) {
    if (!i.serving_note.empty()) {
      std::printf("note: %s serves %s: %s\n", i.name.c_str(), i.version.c_str(),
                  i.serving_note.c_str());
    }
  }
  return 0;
}

int Describe(int argc, char** argv) {
  Common c;
  ArgParser p("simsearch describe",
              "simsearch describe: one collection in detail.\n\n  simsearch describe genres");
  AddCommon(&p, &c, false);
  std::vector<std::string> pos;
  if (int rc = ParseOrExit(&p, argc, argv, &pos); rc >= 0) return rc;
  if (!pos.empty()) c.collection = pos[0];
  auto client = MakeClient(c);
  if (auto st = ResolveCollection(*client, &c); !st.ok()) return Failed(st);
  auto i = client->DescribeCollection(c.collection);
  if (!i.ok()) return Failed(i.status());
  json j = InfoJson(*i);
  j["genres"] = i->genres;
  j["types"] = i->types;
  j["max_batch"] = i->max_batch;
  j["max_ids"] = i->max_ids;
  if (c.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  for (auto& [key, value] : j.items()) {
    std::printf("%-13s %s\n", (key + ":").c_str(),
                value.is_string() ? value.get<std::string>().c_str() : value.dump().c_str());
  }
  return 0;
}

int Health(int argc, char** argv) {
  Common c;
  std::string service;
  ArgParser p("simsearch health", "simsearch health: grpc.health.v1 Check; exit 0 when serving.");
  AddCommon(&p, &c, false);
  p.AddString("service", &service, "service name to check (default: the whole server)");
  if (int rc = ParseOrExit(&p, argc, argv, nullptr); rc >= 0) return rc;
  absl::Status st = MakeClient(c)->CheckHealth(service);
  if (!st.ok()) return Failed(st);
  std::printf("SERVING\n");
  return 0;
}

}  // namespace
}  // namespace simsearch

int main(int argc, char** argv) {
  using namespace simsearch;
  if (argc < 2) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::printf("%s\n", kUsage);
    return 0;
  }
  if (cmd == "similar") return Similar(argc, argv);
  if (cmd == "search") return Search(argc, argv);
  if (cmd == "recommend") return Recommend(argc, argv);
  if (cmd == "item" || cmd == "items") return ItemCmd(argc, argv);
  if (cmd == "lookup") return Lookup(argc, argv);
  if (cmd == "browse") return Browse(argc, argv);
  if (cmd == "collections") return Collections(argc, argv);
  if (cmd == "describe") return Describe(argc, argv);
  if (cmd == "health") return Health(argc, argv);
  std::fprintf(stderr, "simsearch: unknown command '%s' (see simsearch --help)\n", cmd.c_str());
  return 2;
}
