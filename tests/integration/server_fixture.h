// An engine serving an index root in-process on 127.0.0.1:0, and a real client.
#pragma once

#include <memory>
#include <string>

#include "client/client.h"
#include "engine/engine.h"
#include "engine/registry.h"
#include "server/server.h"

namespace simsearch::testing {

struct InProcessServer {
  std::unique_ptr<CollectionRegistry> registry;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<SearchServer> server;
  std::unique_ptr<Client> client;

  // Starts serving `root`; fails the test on error.
  static std::unique_ptr<InProcessServer> Start(const std::string& root, ServerOptions options = {},
                                                EngineLimits limits = {});
  std::string address() const { return "127.0.0.1:" + std::to_string(server->port()); }
};

}  // namespace simsearch::testing
