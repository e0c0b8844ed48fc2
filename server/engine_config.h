// simsearch-engine's command line as plain values, and their validation into the
// options the registry, the engine and the server take. The flags are registered (with
// their help) in server/main.cc; what can be wrong with them is found here, before
// anything listens or opens a bundle, each error naming its flag (but --log_level and
// --log_format, which main applies with ConfigureLogFromFlags, runtime/log.h).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/collection.h"
#include "engine/engine.h"
#include "server/auth.h"
#include "server/server.h"

namespace simsearch {

// The flags as given: durations and modes as text, sizes in the units of the flags.
struct EngineFlags {
  std::string index_root;
  std::string listen = "127.0.0.1:50051";
  std::string poll_interval = "2s";  // 0: no polling (SIGHUP still reloads)
  std::string verify = "checksums";  // or "sizes"
  EngineLimits limits;               // --max_k, --max_batch, --max_ids
  int max_message_bytes = ServerOptions{}.max_message_bytes;
  // --pollers, --search_batch, --workers, --max_queued (the byte limits are below, in MiB)
  ServiceLimits service;
  // The byte limits' defaults, in MiB (ServiceLimits holds bytes).
  int max_response_mib = static_cast<int>(ServiceLimits{}.max_response_bytes >> 20);
  int max_inflight_mib = static_cast<int>(ServiceLimits{}.max_inflight_bytes >> 20);
  std::string metrics_listen;                           // empty: no metrics endpoint
  std::string log_level = "info", log_format = "text";  // applied by main (runtime/log.h)
  int slow_query_ms = 0;                                // 0: no slow-call log
  std::string tls_cert, tls_key, tls_client_ca, auth_tokens_file;  // paths
  std::string health_listen;
  bool protect_health = false;
  std::string drain_delay = "5s";
  std::string max_connection_age = "0";
  std::string shutdown_grace = "10s";
};

// What the flags mean, checked, with the TLS and token files read.
struct EngineConfig {
  std::string index_root;
  CollectionOptions collections;  // how bundles are verified
  EngineLimits limits;
  // Everything SearchServer::Start takes but the per-call hook: the listen address, TLS
  // PEM texts, connection ages, limits, tokens (hooks.tokens points into `tokens`).
  ServerOptions server;
  std::unique_ptr<TokenSet> tokens;  // null without --auth_tokens_file
  absl::Duration poll_interval;      // InfiniteDuration: no polling
  absl::Duration drain_delay;        // on SIGTERM, before the listener closes
  absl::Duration shutdown_grace;     // for calls in flight once it closed
  std::string metrics_listen;
  absl::Duration slow_query;  // InfiniteDuration: no slow-call log
};

// Checks every flag, then reads --tls_cert, --tls_key, --tls_client_ca and
// --auth_tokens_file. InvalidArgument names the flag and what to change; the files'
// errors are those of ReadPemFile, CheckTlsFiles and TokenSet::Load.
absl::StatusOr<EngineConfig> ConfigureEngine(const EngineFlags& flags);

}  // namespace simsearch
