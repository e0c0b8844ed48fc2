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
  // What fans look for on a card, each only where a catalogue source knows it: the cover,
  // when it started (ISO date, year, MAL season), MAL's mean score (mal_score: a
  // hit's "score" is its similarity), the studios.
  if (!it.image_url.empty()) j["image_url"] = it.image_url;
  if (!it.start_date.empty()) {
    j["start_date"] = it.start_date;
    if (const int year = it.start_year(); year != 0) j["start_year"] = year;
    if (const std::string_view season = it.season(); !season.empty()) j["season"] = season;
  }
  if (it.mal_score > 0) j["mal_score"] = it.mal_score;
  if (!it.studios.empty()) j["studios"] = it.studios;
  // Where the vector came from, on collections that say (ncf): learned from viewers, or
  // predicted from the anime's content (too new or too rare for viewing data).
  if (it.vector_source != Item::VectorSource::kUnknown) {
    j["vector_source"] = it.vector_source == Item::VectorSource::kLearned ? "learned" : "predicted";
    j["viewers"] = it.viewers;
  }
  return j;
}

}  // namespace simsearch
