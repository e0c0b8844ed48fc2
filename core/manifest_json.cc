#include "core/manifest_json.h"

namespace simsearch {

const nlohmann::json* JsonFields::Need(const json& obj, const char* key, json::value_t type) {
  if (!ok()) return nullptr;
  auto it = obj.find(key);
  bool found = it != obj.end();
  if (found) {
    if (type == json::value_t::number_unsigned) {
      found = it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0);
    } else if (type == json::value_t::number_float) {
      found = it->is_number();
    } else {
      found = it->type() == type;
    }
  }
  if (!found) {
    Fail(absl::StrCat("field '", key, "' is missing or has the wrong type"));
    return nullptr;
  }
  return &*it;
}

void JsonFields::Opt(const json& obj, const char* key, int* out) {
  OptTyped(obj, key, out, [](const json& v) { return v.is_number_integer(); });
}
void JsonFields::Opt(const json& obj, const char* key, uint64_t* out) {
  OptTyped(obj, key, out, [](const json& v) { return v.is_number_integer(); });
}
void JsonFields::Opt(const json& obj, const char* key, float* out) {
  OptTyped(obj, key, out, [](const json& v) { return v.is_number(); });
}
void JsonFields::Opt(const json& obj, const char* key, double* out) {
  OptTyped(obj, key, out, [](const json& v) { return v.is_number(); });
}
void JsonFields::Opt(const json& obj, const char* key, std::string* out) {
  OptTyped(obj, key, out, [](const json& v) { return v.is_string(); });
}
void JsonFields::Opt(const json& obj, const char* key, bool* out) {
  OptTyped(obj, key, out, [](const json& v) { return v.is_boolean(); });
}

void JsonFields::Strings(const json& obj, const char* key, absl::string_view shown_as,
                         std::vector<std::string>* out) {
  if (!ok()) return;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) {
    Fail(absl::StrCat("field '", shown_as, "' is missing or not a list"));
    return;
  }
  for (const json& v : *it) {
    if (!v.is_string()) {
      Fail(absl::StrCat("field '", shown_as, "' holds a non-string"));
      return;
    }
    out->push_back(v.get<std::string>());
  }
}

const nlohmann::json* JsonFields::Section(const json& root, const char* key) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return nullptr;
  if (!it->is_object()) {
    Fail(absl::StrCat("field '", key, "' has the wrong type"));
    return nullptr;
  }
  return &*it;
}

void JsonFields::Fail(absl::string_view message) {
  if (ok()) error_ = absl::StrCat(origin_, ": ", message);
}

}  // namespace simsearch
