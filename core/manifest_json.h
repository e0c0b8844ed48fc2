// Reading manifest.json's fields without exceptions (internal to core/manifest.cc and
// core/bundle_parts.cc): the first missing or mistyped field is the error, named.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace simsearch {

class JsonFields {
 public:
  using json = nlohmann::json;
  // `origin` names the file in error messages.
  explicit JsonFields(absl::string_view origin) : origin_(origin) {}

  // A required field of `type` (number_unsigned: an integer >= 0; number_float: any
  // number); nullptr, with the error, when it is missing or mistyped.
  const json* Need(const json& obj, const char* key, json::value_t type);
  // An optional field: absent leaves `*out` as it is; present with the wrong type is the
  // error. Integers must be JSON integers; floating-point fields take any number.
  void Opt(const json& obj, const char* key, int* out);
  void Opt(const json& obj, const char* key, uint64_t* out);
  void Opt(const json& obj, const char* key, float* out);
  void Opt(const json& obj, const char* key, double* out);
  void Opt(const json& obj, const char* key, std::string* out);
  void Opt(const json& obj, const char* key, bool* out);
  // A list of strings; missing or holding a non-string is the error.
  void Strings(const json& obj, const char* key, absl::string_view shown_as,
               std::vector<std::string>* out);
  // An optional object section of `root`: nullptr when absent or null; a non-object is
  // the error (and nullptr).
  const json* Section(const json& root, const char* key);

  // Records `message` (prefixed with the origin) unless an error is already recorded.
  void Fail(absl::string_view message);
  bool ok() const { return error_.empty(); }
  absl::Status status() const { return ok() ? absl::OkStatus() : absl::DataLossError(error_); }
  absl::string_view origin() const { return origin_; }

 private:
  template <typename T, typename IsType>
  void OptTyped(const json& obj, const char* key, T* out, IsType is_type) {
    auto it = obj.find(key);
    if (it == obj.end() || !ok()) return;
    if (!is_type(*it)) {
      Fail(absl::StrCat("field '", key, "' has the wrong type"));
      return;
    }
    *out = it->template get<T>();
  }

  std::string origin_;
  std::string error_;
};

}  // namespace simsearch
