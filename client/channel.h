// The gRPC channel a Client talks over, for code that drives the generated stubs
// itself (the load generator's asynchronous clients): the same address, credentials,
// retry policy and connection sharing as Client.
#pragma once

#include <grpcpp/channel.h>

#include <memory>

#include "client/client.h"

namespace simsearch {

std::shared_ptr<grpc::Channel> NewChannel(const ClientOptions& options);

}  // namespace simsearch
