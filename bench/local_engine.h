// The bench tools' engine: every collection under an index root, searched in process
// (no gRPC), as the served engine searches it.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "engine/engine.h"
#include "engine/registry.h"

namespace simsearch {

class LocalEngine {
 public:
  // nullptr, after printing why to stderr, when the root cannot be read.
  static std::unique_ptr<LocalEngine> Open(const std::string& root) {
    std::unique_ptr<LocalEngine> e(new LocalEngine(root));
    if (auto r = e->registry_.Refresh(); !r.ok()) {
      std::fprintf(stderr, "%s\n", std::string(r.status().message()).c_str());
      return nullptr;
    }
    return e;
  }
  Engine& engine() { return engine_; }

 private:
  explicit LocalEngine(const std::string& root) : registry_(root, {}), engine_(&registry_, {}) {}
  CollectionRegistry registry_;
  Engine engine_;
};

}  // namespace simsearch
