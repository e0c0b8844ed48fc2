#include "tests/integration/server_fixture.h"

#include <gtest/gtest.h>

namespace simsearch::testing {

std::unique_ptr<InProcessServer> InProcessServer::Start(const std::string& root,
                                                        ServerOptions options,
                                                        EngineLimits limits) {
  auto s = std::make_unique<InProcessServer>();
  s->registry = std::make_unique<CollectionRegistry>(root, CollectionOptions{});
  auto ev = s->registry->Refresh();
  EXPECT_TRUE(ev.ok()) << ev.status();
  s->engine = std::make_unique<Engine>(s->registry.get(), limits);
  options.listen = "127.0.0.1:0";
  auto server = SearchServer::Start(s->engine.get(), options);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  s->server = *std::move(server);
  ClientOptions co;
  co.address = s->address();
  s->client = Client::Create(co);
  return s;
}

}  // namespace simsearch::testing
