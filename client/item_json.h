// An item as JSON, the same for the CLI's --json output and the HTTP API's answers.
// Header-only: nlohmann::json stays out of the client library's own dependencies.
#pragma once

#include <nlohmann/json.hpp>

#include "core/catalog.h"

namespace simsearch {

inline nlohmann::json ItemJson(const Item& it) {
  nlohmann::json j = {
      {"id", it.id},          {"title", it.title}, {"english_title", it.english_title},
      {"genres", it.genres},  {"type", it.type},   {"episodes", it.episodes},
      {"members", it.members}};
  // MAL's age rating (g, pg, pg_13, r, r+, rx) and nsfw flag where a catalogue source
  // has them, and the content level every policy filters on (general, mature, adult).
  if (!it.age_rating.empty()) j["age_rating"] = it.age_rating;
  if (!it.nsfw.empty()) j["nsfw"] = it.nsfw;
  j["content_level"] = std::string(ContentLevelName(it.content));
  // Its franchise (the smallest MAL id of its seasons, films and OVAs; its own id when
  // it has none): what groups a list's entries of one franchise.
  if (it.franchise != 0) j["franchise_id"] = it.franchise;
  // Where the vector came from, on collections that say (ncf): learned from viewers, or
  // predicted from the anime's content (too new or too rare for viewing data).
  if (it.vector_source != Item::VectorSource::kUnknown) {
    j["vector_source"] = it.vector_source == Item::VectorSource::kLearned ? "learned" : "predicted";
    j["viewers"] = it.viewers;
  }
  return j;
}

}  // namespace simsearch
