// The security headers of every answer that is not a web page: JSON from the API, the
// HTTP server's own refusals, the website's 404. The browser must not guess a type
// (nosniff), a link followed from it sends no referrer, and should a browser ever
// render one as a document, its policy lets it load and run nothing. Web pages get the
// website's own policy instead (lambda/local_gateway.cc).
#ifndef SIMSEARCH_HTTP_SECURITY_HEADERS_H_
#define SIMSEARCH_HTTP_SECURITY_HEADERS_H_

#include <utility>

namespace simsearch::http {

inline constexpr std::pair<const char*, const char*> kApiSecurityHeaders[] = {
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
};

}  // namespace simsearch::http

#endif  // SIMSEARCH_HTTP_SECURITY_HEADERS_H_
