// The C++ client of simsearch-engine. Results are absl::StatusOr; a failed call carries
// the server's status code and message unchanged. Every call has a deadline: the
// `deadline` argument, or now + ClientOptions::timeout.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/catalog.h"
#include "core/query.h"

namespace simsearch {

struct ClientOptions {
  std::string address = "127.0.0.1:50051";     // host:port of simsearch-engine
  absl::Duration timeout = absl::Seconds(10);  // default deadline of a call
  int max_receive_bytes = 64 << 20;
  // A TCP connection of this client's own rather than one shared with other clients
  // of the same address in the process (gRPC's default); load generators use it.
  bool dedicated_connection = false;

  // TLS: on when `tls` is set or a CA is given. PEM texts (LoadTlsFiles reads them from
  // files). No CA: the system's roots. With a certificate and key: mutual TLS.
  bool tls = false;
  std::string tls_ca_pem, tls_cert_pem, tls_key_pem;
  // The name the server's certificate must carry when it is not the host of `address`
  // (e.g. a balancer's address in front of engines with their own names).
  std::string tls_server_name;
  // Sent with every call as "authorization: Bearer <token>" (engine --auth_tokens_file).
  std::string token;
  // Retry a call that failed with UNAVAILABLE (no engine reached, a balancer's backend
  // gone, an engine draining) up to this many attempts in all, with exponential backoff
  // from 50 ms: gRPC's retry policy in the channel's service config. Every SimSearch
  // call is a read, so a retry is safe. 1: no retries.
  int max_attempts = 4;

  bool uses_tls() const { return tls || !tls_ca_pem.empty(); }
};

// Reads the PEM files into `options` (empty paths are skipped) and turns TLS on when
// any is given; errors name the flag and the file.
absl::Status LoadTlsFiles(const std::string& ca_file, const std::string& cert_file,
                          const std::string& key_file, ClientOptions* options);

struct SearchOptions {
  std::string collection;    // required
  std::optional<int> top_k;  // unset: the server's default (10)
  FilterSpec filter;
  SearchKnobs knobs;  // per-call search effort (proto SearchParams); unset: the collection's
  std::optional<absl::Time> deadline;
  // When set, receives the version of the collection that answered (for logs).
  std::string* collection_version = nullptr;
  // When set, receives a paged search's next page token (knobs.page_size, page_token);
  // empty on the last page.
  std::string* next_page_token = nullptr;
  // BatchSearch: when set, receives each query's next page token (knobs.page_tokens).
  std::vector<std::string>* next_page_tokens = nullptr;
};

struct ClientHit {
  int64_t id = 0;
  float score = 0;
  Item item;  // metadata; only `id` is set when the collection has none
  // An explained watch list's (SearchQuery::explain): the liked anime with the largest
  // parts of `score`, largest first, as (id, fraction of the score).
  std::vector<std::pair<int64_t, float>> because;
};

struct ItemRecord {
  Item item;
  std::vector<float> vector;  // only when asked for
};

// What one collection holds of some ids (Client::GetItemsIn).
struct CollectionItems {
  std::string collection;
  std::string version;
  std::vector<ItemRecord> items;     // the ids it holds, in request order
  std::vector<int64_t> missing_ids;  // the ids it does not hold, in request order
};

struct TitleCandidate {
  Item item;
  float score = 0;            // (0, 1], 1 = exact title
  std::string matched_title;  // the original or English title that matched
};

// What a title lookup found in one collection.
struct TitleLookup {
  std::vector<TitleCandidate> matches;             // in the collection, best first
  std::optional<TitleCandidate> better_elsewhere;  // a better match the collection lacks
  std::vector<std::string> better_elsewhere_in;    // served collections that hold it
};

// Title matches below this are suggestions, not answers: every query word must at least
// appear in the title (engine/title_index.h).
inline constexpr float kConfidentTitleMatch = 0.7f;

// The anime `query` names in `collection`, from its lookup: the best match when it is
// confident and no better match is an anime the collection does not hold. Otherwise
// NotFound saying so: the anime the title names and where it is, or that nothing is
// close, with the collection's closest titles.
absl::StatusOr<TitleCandidate> ResolveTitle(const TitleLookup& lookup, const std::string& query,
                                            const std::string& collection);

struct CollectionInfo {
  std::string name;
  std::string version;
  std::string metric;  // "cosine" or "ip"
  int dims = 0;
  int64_t count = 0;
  std::string index_kind;  // "flat", "ivf", "hnsw"
  std::map<std::string, std::string> index_params;
  double recall_at_10 = 1;
  std::string source;
  std::string built_at;
  std::string loaded_at;
  int max_k = 0;
  std::string encoder;          // text encoder; empty: no text search
  std::string current_version;  // what CURRENT names; differs from `version` after a fallback
  std::string serving_note;     // why `version` is not CURRENT's version; empty normally
  std::string more_like_this;   // how item queries are ranked
  std::string watch_lists;      // how a watch list becomes the query
  std::string text_search;      // how text queries are answered by default; empty: no text search
  std::string scan;  // a flat collection's reduced-precision scan; empty: its float vectors
  // DescribeCollection only:
  std::vector<std::string> genres;
  std::vector<std::string> types;
  int max_batch = 0;
  int max_ids = 0;
};

// One page of a collection's items in an order (Client::ListItems).
struct ItemPage {
  std::vector<Item> items;
  std::string next_page_token;  // empty on the last page
  int64_t total = 0;            // items that pass the filter, on every page
  std::string version;          // the collection version that answered
};

class Client {
 public:
  // Creates the channel; connecting happens on the first call.
  static std::unique_ptr<Client> Create(const ClientOptions& options);
  ~Client();

  absl::StatusOr<std::vector<ClientHit>> Search(const SearchQuery& query,
                                                const SearchOptions& options) const;
  absl::StatusOr<std::vector<std::vector<ClientHit>>> BatchSearch(
      const std::vector<SearchQuery>& queries, const SearchOptions& options) const;
  absl::StatusOr<std::vector<ItemRecord>> GetItems(
      const std::string& collection, const std::vector<int64_t>& ids, bool include_vectors = false,
      std::optional<absl::Time> deadline = std::nullopt) const;
  // Which of `ids` each of `collections` holds, in one call (an id a collection does not
  // hold is in its missing_ids, not an error); one answer per collection, in order.
  absl::StatusOr<std::vector<CollectionItems>> GetItemsIn(
      const std::vector<std::string>& collections, const std::vector<int64_t>& ids,
      bool include_vectors = false, std::optional<absl::Time> deadline = std::nullopt) const;
  // GetItemsIn for an engine from before GetItemsRequest.collections: a GetItems per
  // collection, and per id where one is missing.
  absl::StatusOr<std::vector<CollectionItems>> GetItemsInOneByOne(
      const std::vector<std::string>& collections, const std::vector<int64_t>& ids,
      bool include_vectors, std::optional<absl::Time> deadline) const;
  absl::StatusOr<TitleLookup> LookupTitle(const std::string& collection, const std::string& query,
                                          std::optional<int> top_k = std::nullopt,
                                          std::optional<absl::Time> deadline = std::nullopt) const;
  absl::StatusOr<std::vector<CollectionInfo>> ListCollections(
      std::optional<absl::Time> deadline = std::nullopt) const;
  absl::StatusOr<CollectionInfo> DescribeCollection(
      const std::string& collection, std::optional<absl::Time> deadline = std::nullopt) const;
  // A collection's items in an order (MAL score, popularity, start date), filtered, a
  // page at a time: "this season", "the best of a genre".
  absl::StatusOr<ItemPage> ListItems(const std::string& collection, const ListRequest& request,
                                     std::optional<absl::Time> deadline = std::nullopt) const;
  // grpc.health.v1 Check of `service` ("" = the whole server): OK when SERVING,
  // Unavailable otherwise.
  absl::Status CheckHealth(const std::string& service = "",
                           std::optional<absl::Time> deadline = std::nullopt) const;

  const ClientOptions& options() const { return options_; }

 private:
  struct Stubs;
  explicit Client(const ClientOptions& options);
  ClientOptions options_;
  std::unique_ptr<Stubs> stubs_;
};

}  // namespace simsearch
