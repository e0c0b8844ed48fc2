// The gRPC face of the engine: proto <-> Engine, one Status mapping, no exception
// ever reaching gRPC.
#pragma once

#include "engine/engine.h"
#include "simsearch/v1/simsearch.grpc.pb.h"

namespace simsearch {

// Converts an absl::Status to a grpc::Status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& st);

class SimSearchService final : public simsearch::v1::SimSearch::Service {
 public:
  explicit SimSearchService(const Engine* engine) : engine_(engine) {}

  grpc::Status Search(grpc::ServerContext* ctx, const v1::SearchRequest* req,
                      v1::SearchResponse* resp) override;
  grpc::Status BatchSearch(grpc::ServerContext* ctx, const v1::BatchSearchRequest* req,
                           v1::BatchSearchResponse* resp) override;
  grpc::Status GetItems(grpc::ServerContext* ctx, const v1::GetItemsRequest* req,
                        v1::GetItemsResponse* resp) override;
  grpc::Status LookupTitle(grpc::ServerContext* ctx, const v1::LookupTitleRequest* req,
                           v1::LookupTitleResponse* resp) override;
  grpc::Status ListCollections(grpc::ServerContext* ctx, const v1::ListCollectionsRequest* req,
                               v1::ListCollectionsResponse* resp) override;
  grpc::Status DescribeCollection(grpc::ServerContext* ctx,
                                  const v1::DescribeCollectionRequest* req,
                                  v1::DescribeCollectionResponse* resp) override;

 private:
  const Engine* engine_;
};

}  // namespace simsearch
