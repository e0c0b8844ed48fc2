#include "server/engine_config.h"

#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"

namespace simsearch {
namespace {

// A duration flag: `text` parsed, at least zero when `non_negative`.
absl::Status ParseDurationFlag(absl::string_view flag, const std::string& text,
                               absl::string_view example, bool non_negative, absl::Duration* out) {
  if (absl::ParseDuration(text, out) && !(non_negative && *out < absl::ZeroDuration())) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": '", text, "' is not a duration",
                                                 non_negative ? " >= 0" : "", " (e.g. ", example,
                                                 ")"));
}

absl::Status CheckDurations(const EngineFlags& f, EngineConfig* c) {
  absl::Duration max_age;
  for (const auto& [flag, text, example, non_negative, out] :
       {std::tuple{"poll_interval", &f.poll_interval, "2s, 500ms", false, &c->poll_interval},
        std::tuple{"shutdown_grace", &f.shutdown_grace, "10s", false, &c->shutdown_grace},
        std::tuple{"drain_delay", &f.drain_delay, "5s, 0", true, &c->drain_delay},
        std::tuple{"max_connection_age", &f.max_connection_age, "5m, 0", true, &max_age}}) {
    if (absl::Status st = ParseDurationFlag(flag, *text, example, non_negative, out); !st.ok()) {
      return st;
    }
  }
  if (c->poll_interval <= absl::ZeroDuration()) c->poll_interval = absl::InfiniteDuration();
  c->server.max_connection_age = max_age;
  c->server.max_connection_age_grace = c->shutdown_grace;
  return absl::OkStatus();
}

absl::Status CheckLimits(const EngineFlags& f) {
  const EngineLimits& l = f.limits;
  const ServiceLimits& s = f.service;
  if (l.max_k < 1 || l.max_batch < 1 || l.max_ids < 1 || f.max_message_bytes < 1024) {
    return absl::InvalidArgumentError(
        "--max_k, --max_batch and --max_ids must be >= 1, --max_message_bytes >= 1024");
  }
  if (s.pollers < 0 || s.pollers > 1024) {
    return absl::InvalidArgumentError("--pollers must be 0-1024");
  }
  if (s.search_batch < 1 || s.search_batch > l.max_batch) {
    return absl::InvalidArgumentError(absl::StrCat("--search_batch must be 1-", l.max_batch,
                                                   " (--max_batch); 1 answers every search alone"));
  }
  if (s.workers < 0 || s.workers > 1024 || s.max_queued < 0 || f.max_response_mib < 1 ||
      f.max_response_mib > 1024 || f.max_inflight_mib < 1 || f.max_inflight_mib > (1 << 20)) {
    return absl::InvalidArgumentError(
        "--workers must be 0-1024, --max_queued >= 0, --max_response_mib 1-1024, "
        "--max_inflight_mib >= 1");
  }
  if (f.slow_query_ms < 0) return absl::InvalidArgumentError("--slow_query_ms must be >= 0");
  return absl::OkStatus();
}

absl::Status CheckSecurityFlags(const EngineFlags& f) {
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: give both, or neither for plaintext");
  }
  if (!f.tls_client_ca.empty() && f.tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca (mutual TLS) needs --tls_cert and --tls_key");
  }
  if (f.protect_health && (f.auth_tokens_file.empty() || f.tls_cert.empty())) {
    return absl::InvalidArgumentError(
        "--protect_health needs --auth_tokens_file and TLS (--tls_cert, --tls_key): gRPC checks "
        "tokens server-wide only on secure ports");
  }
  return absl::OkStatus();
}

// The PEM files and the token file, read and checked.
absl::Status ReadSecrets(const EngineFlags& f, EngineConfig* c) {
  for (const auto& [flag, path, out] :
       {std::tuple{"--tls_cert", &f.tls_cert, &c->server.tls_cert},
        std::tuple{"--tls_key", &f.tls_key, &c->server.tls_key},
        std::tuple{"--tls_client_ca", &f.tls_client_ca, &c->server.tls_client_ca}}) {
    if (path->empty()) continue;
    auto pem = ReadPemFile(flag, *path);
    if (!pem.ok()) return pem.status();
    *out = std::move(*pem);
  }
  if (absl::Status st =
          CheckTlsFiles(c->server.tls_cert, c->server.tls_key, c->server.tls_client_ca);
      !st.ok()) {
    return st;
  }
  if (!f.auth_tokens_file.empty()) {
    auto tokens = TokenSet::Load(f.auth_tokens_file);
    if (!tokens.ok()) {
      return absl::Status(tokens.status().code(),
                          absl::StrCat("--auth_tokens_file: ", tokens.status().message()));
    }
    c->tokens = std::move(*tokens);
  }
  c->server.hooks.tokens = c->tokens.get();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EngineConfig> ConfigureEngine(const EngineFlags& f) {
  EngineConfig c;
  if (absl::Status st = CheckDurations(f, &c); !st.ok()) return st;
  if (f.verify == "checksums") {
    c.collections.verify = VerifyMode::kChecksums;
  } else if (f.verify == "sizes") {
    c.collections.verify = VerifyMode::kSizes;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--verify must be 'checksums' or 'sizes', got '", f.verify, "'"));
  }
  for (auto check : {CheckLimits, CheckSecurityFlags}) {
    if (absl::Status st = check(f); !st.ok()) return st;
  }
  c.index_root = f.index_root;
  c.limits = f.limits;
  c.metrics_listen = f.metrics_listen;
  c.slow_query =
      f.slow_query_ms > 0 ? absl::Milliseconds(f.slow_query_ms) : absl::InfiniteDuration();
  c.server.listen = f.listen;
  c.server.max_message_bytes = f.max_message_bytes;
  c.server.limits = f.service;
  c.server.limits.max_response_bytes = int64_t{f.max_response_mib} << 20;
  c.server.limits.max_inflight_bytes = int64_t{f.max_inflight_mib} << 20;
  c.server.health_listen = f.health_listen;
  c.server.protect_health_and_reflection = f.protect_health;
  c.server.ready_at_start = false;  // NOT_SERVING until the first bundles are open
  if (absl::Status st = ReadSecrets(f, &c); !st.ok()) return st;
  return c;
}

}  // namespace simsearch
