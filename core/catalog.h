// The item catalogue: metadata of every anime the collections may serve.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace simsearch {

// How explicit an anime is, for content policies. Ordered: a policy allows the levels up
// to a maximum (the HTTP API: up to kMature by default, kGeneral for "family safe").
enum class ContentLevel : uint8_t {
  kGeneral = 0,
  kMature = 1,  // MAL age rating R+ (mild nudity), nsfw "gray" or "black", or an explicit
                // boys' or girls' love genre (the 2017 labels "Yaoi", "Yuri")
  kAdult = 2,   // MAL age rating Rx, or "Hentai" or "Erotica" among the genres
};

// One item's metadata. Unknown fields are empty / zero.
struct Item {
  int64_t id = 0;                   // MyAnimeList anime id for the bundled data
  std::string title;                // original (romanised) title
  std::string english_title;        // English title where known
  std::vector<std::string> genres;  // e.g. {"Action", "Sci-Fi"}: the first source's that has any
  // Every catalogue source's genre and theme labels together, as GenreLabel spells
  // them, sorted: what "a story like this" compares (the 2017 file's genres and MAL's
  // newer genres and themes, e.g. "isekai", "iyashikei", "adult cast"). Not in bundles.
  std::vector<std::string> labels;
  std::string type;  // "TV", "Movie", "OVA", ...
  int32_t episodes = 0;
  int64_t members = 0;
  // The plot summary where the catalogue has one. Bundles keep it only when built with
  // `simsearch-indexer build --item-synopses`; search hits never carry it (GetItems does).
  std::string synopsis;
  // MAL's fields where a catalogue file has them (data/anime/anime_catalogue_2024.csv):
  std::string start_date;  // ISO: "2023-09-29", "2023-09" or "2023"
  std::string age_rating;  // g, pg, pg_13, r, r+, rx (Hentai)
  std::string nsfw;        // MAL's nsfw flag: white (safe), gray, black
  // The most explicit level any catalogue source gives (a title one source files under
  // "Ecchi" and another under "Erotica" is adult): see Catalog::Load.
  ContentLevel content = ContentLevel::kGeneral;
  std::vector<std::string> studios;  // e.g. {"Madhouse"}
  std::vector<int64_t> related;  // MAL ids of franchise entries (sequels, prequels, side stories)
  // The franchise the anime belongs to: the smallest MAL id of its group (FranchiseIds in
  // core/franchise.h; the anime's own id when it is in no group). Catalog::Load and
  // FromItems set it; 0 (unknown, bundles from before it) reads as the item's own id.
  int64_t franchise = 0;
  std::string image_url;  // a cover image
  // MAL's mean score of the anime (1-10, two decimals), 0 when unknown: the score of the
  // catalogue record with the most members (the newest snapshot), see Catalog::Load.
  double mal_score = 0;

  // In a collection's answers, not in the catalogue: where the item's vector in that
  // collection came from (learned from `viewers` viewers, or predicted from content).
  enum class VectorSource : uint8_t { kUnknown, kLearned, kPredicted };
  VectorSource vector_source = VectorSource::kUnknown;
  int64_t viewers = 0;

  // The year the anime started, or 0 when unknown.
  int start_year() const;
  // The season it started in, as MAL names them: "winter" (January-March), "spring",
  // "summer", "fall" (October-December), of the start year; a premiere from the 25th of
  // March, June or September on counts for the next season (MAL files Frieren, from 29
  // September 2023, under fall). Empty when the month is unknown.
  std::string_view season() const;
  // True for an anime made for every age: MAL age rating G or PG, or the genre "Kids".
  bool all_ages() const;

  friend bool operator==(const Item&, const Item&) = default;
};

struct CatalogOptions {
  // A record whose field count differs from the header's (an unquoted comma in a title
  // shifts every later field) is an error naming file, line and counts; with this set,
  // it is skipped instead and reported in Catalog::skipped().
  bool skip_bad_rows = false;
};

class Catalog {
 public:
  // Loads and merges catalogue CSV files. Columns are found by header name
  // (case-insensitive): id: anime_id | mal_id | id; title: name | title;
  // English title: english_name | "english name" | title_english; genres: genre |
  // genres (comma-separated); type; episodes; members; score | rating (MAL's mean score,
  // 1-10); synopsis; start_date; age_rating; nsfw; studios (comma-separated); related
  // (space-separated ids); image_url.
  // The id and title columns are required; every record must have as many fields as
  // the header.
  //
  // The result is the union of the files' ids. For an id in several files, each field
  // comes from the first file (in argument order) where it is known, so a later file
  // fills gaps (an English title, a newer anime) without overriding earlier values;
  // but members is the largest count any file gives (counts only grow: the largest is
  // the newest snapshot's), score is the score of the record with the most members (the
  // newest snapshot's, among those that know a score), and `content` is the most explicit level of
  // any file's record (ContentLevelOf each record: genres, age rating, nsfw). Titles have their
  // HTML entities decoded; "Unknown"/"UNKNOWN" reads as unknown.
  static absl::StatusOr<Catalog> Load(const std::vector<std::string>& paths,
                                      const CatalogOptions& options = {});

  // Builds a catalogue from items (ids must be unique). An item whose `franchise` is 0
  // gets the one FranchiseIds gives; one without `labels` gets its genres'.
  static absl::StatusOr<Catalog> FromItems(std::vector<Item> items);

  // nullptr when `id` is unknown.
  const Item* Find(int64_t id) const;
  // Sorted by id.
  const std::vector<Item>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  // With skip_bad_rows: "file: line N: why" for every record skipped.
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  std::vector<Item> items_;
  std::vector<std::string> skipped_;
  absl::flat_hash_map<int64_t, size_t> index_;
};

// A genre label as Item::labels spells it: lower-case, the 2017 file's "Shoujo Ai" and
// "Yuri" as MAL's newer "girls love", "Shounen Ai" and "Yaoi" as "boys love".
std::string GenreLabel(absl::string_view genre);

// The level an item's own fields give (genres, age_rating, nsfw; not `content`).
ContentLevel ContentLevelOf(const Item& item);

// An ISO start date ("2023-09-29", "2023-09", "2023") as YYYYMMDD with 00 for an unknown
// month or day, 0 when the year is unknown: sortable, and what bundles store
// (item_attrs.i64's start column).
int64_t StartCode(absl::string_view iso);
// The season of a start code, by Item::season's rule: 1 winter, 2 spring, 3 summer,
// 4 fall; 0 when the month is unknown. kSeasonNames[SeasonOfStart(code)] names it.
int SeasonOfStart(int64_t start_code);
inline constexpr std::string_view kSeasonNames[] = {"", "winter", "spring", "summer", "fall"};
// The number of a season's name (case-insensitive), 0 for anything else.
int SeasonFromName(absl::string_view name);
// "general", "mature", "adult"; and back (case-insensitive), nullopt for anything else.
absl::string_view ContentLevelName(ContentLevel level);
std::optional<ContentLevel> ParseContentLevel(absl::string_view name);

// Decodes HTML character references: named (&amp; &lt; &gt; &quot; &apos; &nbsp;) and
// numeric (&#039; &#x27;), as UTF-8. Anything else is kept as written.
std::string DecodeHtmlEntities(absl::string_view s);

}  // namespace simsearch
