#include "server/auth.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"

namespace simsearch {

absl::StatusOr<std::vector<TokenSet::Digest>> TokenSet::Read(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat("the token file ", path, " is missing"));
    }
    // Not NotFound: a read error that may pass (out of descriptors, a directory there).
    return absl::UnavailableError(
        absl::StrCat("cannot read the token file: ", text.status().message()));
  }
  std::vector<Digest> out;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    Digest d;
    SHA256(reinterpret_cast<const unsigned char*>(line.data()), line.size(), d.data());
    out.push_back(d);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<TokenSet>> TokenSet::Load(std::string path) {
  auto digests = Read(path);
  if (!digests.ok()) return digests.status();
  if (digests->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the token file ", path,
                     " holds no token (one per line; '#' starts a comment): "
                     "every call would be refused"));
  }
  std::unique_ptr<TokenSet> set(new TokenSet(std::move(path)));
  absl::MutexLock lock(&set->mu_);
  set->digests_ = std::move(*digests);
  return set;
}

absl::StatusOr<bool> TokenSet::Reload() {
  auto digests = Read(path_);
  absl::MutexLock lock(&mu_);
  if (!digests.ok()) {
    // A deleted file revokes every token (fail closed). Other read errors (out of
    // descriptors, say) may pass: the tokens in use stay.
    if (absl::IsNotFound(digests.status())) digests_.clear();
    return digests.status();
  }
  const bool changed = *digests != digests_;
  digests_ = std::move(*digests);
  return changed;
}

bool TokenSet::Allows(absl::string_view authorization) const {
  constexpr absl::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kBearer.size()), kBearer)) {
    return false;
  }
  const absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(kBearer.size()));
  Digest d;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
  absl::ReaderMutexLock lock(&mu_);
  int matched = 0;
  for (const Digest& known : digests_)
    matched |= CRYPTO_memcmp(d.data(), known.data(), d.size()) == 0;
  return matched != 0;
}

size_t TokenSet::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return digests_.size();
}

absl::Status CheckTlsFiles(const std::string& cert_pem, const std::string& key_pem,
                           const std::string& client_ca_pem) {
  auto read_cert = [](const std::string& pem) -> X509* {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    return cert;
  };
  if (!client_ca_pem.empty()) {
    X509* ca = read_cert(client_ca_pem);
    if (ca == nullptr)
      return absl::InvalidArgumentError(
          "--tls_client_ca: no certificate could be read from the file");
    X509_free(ca);
  }
  if (cert_pem.empty()) return absl::OkStatus();
  X509* cert = read_cert(cert_pem);
  if (cert == nullptr)
    return absl::InvalidArgumentError("--tls_cert: no certificate could be read from the file");
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  absl::Status st;
  if (key == nullptr) {
    st = absl::InvalidArgumentError(
        "--tls_key: no private key could be read from the file (an encrypted key "
        "is not supported)");
  } else if (X509_check_private_key(cert, key) != 1) {
    st = absl::InvalidArgumentError("--tls_key is not the private key of --tls_cert's certificate");
  } else if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    st = absl::InvalidArgumentError("--tls_cert: the certificate has expired; renew it");
  } else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    st = absl::InvalidArgumentError(
        "--tls_cert: the certificate is not valid yet (check the clock)");
  }
  EVP_PKEY_free(key);
  X509_free(cert);
  return st;
}

}  // namespace simsearch
