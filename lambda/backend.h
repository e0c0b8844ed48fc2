// What the Lambda handler needs from a search engine, behind one interface: a remote
// simsearch-engine over gRPC, or the engine library in-process over memory-mapped
// bundles packed into the image.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "core/query.h"

namespace simsearch::lambda {

class SearchBackend {
 public:
  virtual ~SearchBackend() = default;
  // Results use the client library's value types for both backends.
  virtual absl::StatusOr<std::vector<ClientHit>> Search(const SearchQuery& query,
                                                        const SearchOptions& options) const = 0;
  virtual absl::StatusOr<TitleLookup> LookupTitle(const std::string& collection,
                                                  const std::string& query, int top_k,
                                                  absl::Time deadline) const = 0;
  virtual absl::StatusOr<std::vector<ItemRecord>> GetItems(const std::string& collection,
                                                           const std::vector<int64_t>& ids,
                                                           absl::Time deadline) const = 0;
  // Which of `ids` each collection holds, in one call (Client::GetItemsIn).
  virtual absl::StatusOr<std::vector<CollectionItems>> GetItemsIn(
      const std::vector<std::string>& collections, const std::vector<int64_t>& ids,
      absl::Time deadline) const = 0;
  virtual absl::StatusOr<std::vector<CollectionInfo>> ListCollections(
      absl::Time deadline) const = 0;
  // One collection's info with its genre and type vocabularies (what the website's menus
  // offer).
  virtual absl::StatusOr<CollectionInfo> DescribeCollection(const std::string& collection,
                                                            absl::Time deadline) const = 0;
  // A page of a collection's items in an order (Client::ListItems).
  virtual absl::StatusOr<ItemPage> ListItems(const std::string& collection,
                                             const ListRequest& request,
                                             absl::Time deadline) const = 0;
  // "remote host:port" or "embedded ROOT", for /health.
  virtual std::string Describe() const = 0;
};

// Calls a simsearch-engine at `address` (host:port).
std::unique_ptr<SearchBackend> MakeRemoteBackend(const ClientOptions& options);
inline std::unique_ptr<SearchBackend> MakeRemoteBackend(const std::string& address) {
  ClientOptions o;
  o.address = address;
  return MakeRemoteBackend(o);
}

// Opens every collection under `index_root` in-process. Bundles baked into an image
// are immutable, so by default only file sizes are verified (no read of every byte at
// cold start); `verify_checksums` reads and checks everything.
absl::StatusOr<std::unique_ptr<SearchBackend>> MakeEmbeddedBackend(const std::string& index_root,
                                                                   bool verify_checksums);

}  // namespace simsearch::lambda
