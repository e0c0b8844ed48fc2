// Bearer tokens for the engine: a file with one token per line, reloaded without a
// restart, and a check in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace simsearch {

// The tokens a server accepts. The file holds one token per line; blank lines and
// lines starting with '#' are skipped, surrounding spaces trimmed. Only SHA-256 digests
// are kept in memory, and a presented token is compared against every one of them
// without an early exit, so the time taken says nothing about how much of it matched.
class TokenSet {
 public:
  // Reads `path` at start; an unreadable file or one with no token is an error (a
  // server that would refuse every call is a mistake to report, not to serve).
  static absl::StatusOr<std::unique_ptr<TokenSet>> Load(std::string path);

  // Reads the file again, and what it holds now is what is accepted, so an operator
  // revokes a token by removing it: the result says whether the tokens changed. A file
  // with no token means no token is valid (size() == 0: every call is refused). A
  // missing file is an error (NotFound), and no token is valid until it is back (fail
  // closed: deleting the file revokes every token). Any other read error (Unavailable:
  // out of descriptors, permissions) keeps the tokens in use: it may pass.
  absl::StatusOr<bool> Reload();

  // True when `authorization` (the metadata value) is "Bearer <a token in the set>".
  bool Allows(absl::string_view authorization) const;
  size_t size() const;
  const std::string& path() const { return path_; }

 private:
  using Digest = std::array<uint8_t, 32>;
  explicit TokenSet(std::string path) : path_(std::move(path)) {}
  static absl::StatusOr<std::vector<Digest>> Read(const std::string& path);

  const std::string path_;
  mutable absl::Mutex mu_;
  std::vector<Digest> digests_ ABSL_GUARDED_BY(mu_);
};

// Checks PEM texts before a server starts with them (gRPC itself only logs "cannot
// create secure server"): the certificate parses and has not expired, the key parses
// and belongs to it, and `client_ca` (when not empty) holds a certificate. Errors name
// the flag.
absl::Status CheckTlsFiles(const std::string& cert_pem, const std::string& key_pem,
                           const std::string& client_ca_pem);

// The message of UNAUTHENTICATED answers (never echoes what the client sent).
inline constexpr char kUnauthenticatedMessage[] =
    "missing or unknown token: send metadata 'authorization: Bearer <token>' with a token "
    "from the server's --auth_tokens_file (simsearch CLI: --token or SIMSEARCH_TOKEN)";

}  // namespace simsearch
