// The HTTP API's routes, listed once: the handler dispatches on them and names them in
// its 404, the local gateway sends their paths to the handler (the rest is the website),
// and tests check that api/openapi.yaml documents exactly these and template.yaml (the
// SAM template) deploys them.
#ifndef SIMSEARCH_LAMBDA_ROUTES_H_
#define SIMSEARCH_LAMBDA_ROUTES_H_

#include <optional>
#include "absl/strings/string_view.h"

namespace simsearch::lambda {

enum class RouteId {
  kRecommend,
  kSearch,
  kTitles,
  kItem,
  kItems,
  kBrowse,
  kCollections,
  kHealth,
  kOpenApi
};

struct Route {
  RouteId id;
  absl::string_view method;  // GET routes answer HEAD too; every path answers OPTIONS
  absl::string_view path;    // as in api/openapi.yaml: "{id}" is one path segment
};

inline constexpr Route kRoutes[] = {
    {RouteId::kRecommend, "POST", "/recommend"},
    {RouteId::kSearch, "GET", "/search"},
    {RouteId::kTitles, "GET", "/titles"},
    {RouteId::kItem, "GET", "/items/{id}"},
    {RouteId::kItems, "POST", "/items"},
    {RouteId::kBrowse, "GET", "/browse"},
    {RouteId::kCollections, "GET", "/collections"},
    {RouteId::kHealth, "GET", "/health"},
    {RouteId::kOpenApi, "GET", "/openapi.json"},
};

// The route whose path `path` matches (a trailing slash allowed), with the value of its
// "{id}" segment in *param; nullopt when none does.
inline std::optional<Route> MatchRoute(absl::string_view path, absl::string_view* param = nullptr) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  for (const Route& r : kRoutes) {
    const size_t brace = r.path.find('{');
    if (brace == absl::string_view::npos) {
      if (path == r.path) return r;
      continue;
    }
    const absl::string_view prefix = r.path.substr(0, brace);
    if (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix &&
        path.find('/', prefix.size()) == absl::string_view::npos) {
      if (param != nullptr) *param = path.substr(prefix.size());
      return r;
    }
  }
  return std::nullopt;
}

// api/openapi.json, compiled in (lambda/openapi_document.cc.in).
absl::string_view OpenApiDocument();

}  // namespace simsearch::lambda

#endif  // SIMSEARCH_LAMBDA_ROUTES_H_
