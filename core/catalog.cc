#include "core/catalog.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/csv.h"
#include "core/franchise.h"

namespace simsearch {
namespace {

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The cleaned text of a field: whitespace trimmed, "unknown" meaning unknown.
std::string Clean(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (absl::EqualsIgnoreCase(s, "unknown")) return "";
  return std::string(s);
}

struct Columns {
  int id, title, english, genres, type, episodes, members, score, synopsis, start, age, nsfw,
      studios, related, image;
};

// The columns of a catalogue's header (-1: absent). An id and a title are required.
absl::StatusOr<Columns> FindColumns(const std::string& path,
                                    const std::vector<std::string>& header) {
  Columns c{FindAnyColumn(header, {"anime_id", "mal_id", "id"}),
            FindAnyColumn(header, {"name", "title"}),
            FindAnyColumn(header, {"english_name", "english name", "title_english"}),
            FindAnyColumn(header, {"genre", "genres"}),
            FindAnyColumn(header, {"type"}),
            FindAnyColumn(header, {"episodes"}),
            FindAnyColumn(header, {"members"}),
            FindAnyColumn(header, {"score", "rating"}),
            FindAnyColumn(header, {"synopsis"}),
            FindAnyColumn(header, {"start_date"}),
            FindAnyColumn(header, {"age_rating"}),
            FindAnyColumn(header, {"nsfw"}),
            FindAnyColumn(header, {"studios"}),
            FindAnyColumn(header, {"related"}),
            FindAnyColumn(header, {"image_url"})};
  if (c.id < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no id column in the header (expected anime_id, mal_id or id)"));
  }
  if (c.title < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": no title column in the header (expected name or title); a catalogue names its items"));
  }
  return c;
}

// Why a record with `fields` fields does not fit a header of `header` fields.
std::string WrongFieldCount(const std::string& path, size_t line, size_t fields, size_t header) {
  return absl::StrCat(path, ": line ", line, ": ", fields, " fields, the header has ", header,
                      fields > header
                          ? " (an unquoted comma in a field? quote fields that hold commas)"
                          : " (a truncated record?)");
}

// The item of one record `f` (as many fields as the header) on line `line`.
absl::StatusOr<Item> ParseItem(const std::string& path, size_t line, const Columns& c,
                               const std::vector<std::string>& f) {
  auto field = [&](int col) -> std::string {
    return col >= 0 && static_cast<size_t>(col) < f.size() ? Clean(f[col]) : std::string();
  };
  int64_t id;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(f[c.id]), &id)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": line ", line, ": id '", f[c.id], "' is not an integer"));
  }
  Item rec;
  rec.id = id;
  rec.title = DecodeHtmlEntities(field(c.title));
  rec.english_title = DecodeHtmlEntities(field(c.english));
  for (absl::string_view g : absl::StrSplit(field(c.genres), ',', absl::SkipWhitespace())) {
    std::string name(absl::StripAsciiWhitespace(g));
    if (!name.empty()) {
      rec.labels.push_back(GenreLabel(name));
      rec.genres.push_back(std::move(name));
    }
  }
  rec.type = field(c.type);
  rec.synopsis = c.synopsis >= 0 ? DecodeHtmlEntities(f[c.synopsis]) : std::string();
  double episodes = 0;
  if (std::string e = field(c.episodes);
      !e.empty() && absl::SimpleAtod(e, &episodes) && episodes >= 0 && episodes < 1e6) {
    rec.episodes = static_cast<int32_t>(std::lround(episodes));
  }
  double members = 0;
  if (std::string m = field(c.members);
      !m.empty() && absl::SimpleAtod(m, &members) && members >= 0) {
    rec.members = static_cast<int64_t>(std::llround(members));
  }
  double score = 0;
  if (std::string sc = field(c.score);
      !sc.empty() && absl::SimpleAtod(sc, &score) && score >= 1 && score <= 10) {
    rec.mal_score = std::round(score * 100) / 100;
  }
  rec.start_date = field(c.start);
  rec.age_rating = field(c.age);
  rec.nsfw = field(c.nsfw);
  for (absl::string_view st : absl::StrSplit(field(c.studios), ',', absl::SkipWhitespace())) {
    rec.studios.emplace_back(absl::StripAsciiWhitespace(st));
  }
  for (absl::string_view r : absl::StrSplit(field(c.related), ' ', absl::SkipWhitespace())) {
    int64_t rid;
    if (absl::SimpleAtoi(r, &rid) && rid != id) rec.related.push_back(rid);
  }
  rec.image_url = field(c.image);
  rec.content = ContentLevelOf(rec);
  return rec;
}

// Where an id's merged record is, and the member count of the record its score came
// from (the score goes with the largest count among records that have a score).
struct Merged {
  size_t row;
  int64_t score_members;
};

// Fills what earlier files did not know of `cur` (its slot `m`) from a later file's
// `rec` (same id).
void MergeItem(Item rec, Item* cur, Merged* m) {
  if (cur->title.empty()) cur->title = std::move(rec.title);
  if (cur->english_title.empty()) cur->english_title = std::move(rec.english_title);
  if (cur->genres.empty()) cur->genres = std::move(rec.genres);
  cur->labels.insert(cur->labels.end(), rec.labels.begin(), rec.labels.end());
  if (cur->type.empty()) cur->type = std::move(rec.type);
  if (cur->episodes == 0) cur->episodes = rec.episodes;
  // Member counts only grow: the largest any file gives is the newest snapshot's, and
  // the score goes with it (a score changes as members join; keep the newest).
  if (rec.mal_score > 0 && (cur->mal_score == 0 || rec.members > m->score_members)) {
    cur->mal_score = rec.mal_score;
    m->score_members = rec.members;
  }
  cur->members = std::max(cur->members, rec.members);
  if (cur->synopsis.empty()) cur->synopsis = std::move(rec.synopsis);
  if (cur->start_date.empty()) cur->start_date = std::move(rec.start_date);
  if (cur->age_rating.empty()) cur->age_rating = std::move(rec.age_rating);
  if (cur->nsfw.empty()) cur->nsfw = std::move(rec.nsfw);
  // The most explicit label any source gives wins: a policy must not miss a title
  // because an older source filed it under a milder genre.
  cur->content = std::max(cur->content, rec.content);
  if (cur->studios.empty()) cur->studios = std::move(rec.studios);
  if (cur->related.empty()) cur->related = std::move(rec.related);
  if (cur->image_url.empty()) cur->image_url = std::move(rec.image_url);
}

absl::Status LoadFile(const std::string& path, const CatalogOptions& options,
                      std::vector<Item>* items, absl::flat_hash_map<int64_t, Merged>* index,
                      std::vector<std::string>* skipped) {
  auto reader = CsvFile::Open(path, "catalogue file");
  if (!reader.ok()) return reader.status();
  const std::vector<std::string>& header = reader->header();
  auto columns = FindColumns(path, header);
  if (!columns.ok()) return columns.status();
  std::vector<std::string> f;
  for (;;) {
    auto more = reader->Next(&f);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (f.size() != header.size()) {
      std::string why = WrongFieldCount(path, reader->line(), f.size(), header.size());
      if (!options.skip_bad_rows) {
        return absl::InvalidArgumentError(
            absl::StrCat(why, "; fix the file, or skip such records with --skip-bad-rows"));
      }
      skipped->push_back(std::move(why));
      continue;
    }
    auto rec = ParseItem(path, reader->line(), *columns, f);
    if (!rec.ok()) return rec.status();
    auto [it, inserted] = index->try_emplace(rec->id, Merged{items->size(), rec->members});
    if (inserted) {
      items->push_back(*std::move(rec));
    } else {
      MergeItem(*std::move(rec), &(*items)[it->second.row], &it->second);
    }
  }
  return absl::OkStatus();
}

}  // namespace

int Item::start_year() const {
  int year = 0;
  if (start_date.size() >= 4 &&
      absl::SimpleAtoi(absl::string_view(start_date).substr(0, 4), &year) && year > 1900) {
    return year;
  }
  return 0;
}

int64_t StartCode(absl::string_view iso) {
  int year = 0, month = 0, day = 0;
  // As Item::start_year: a year after 1900 (MAL's "0000" and the like are unknown).
  if (iso.size() < 4 || !absl::SimpleAtoi(iso.substr(0, 4), &year) || year <= 1900) return 0;
  if (iso.size() < 7 || iso[4] != '-' || !absl::SimpleAtoi(iso.substr(5, 2), &month) || month < 1 ||
      month > 12) {
    return int64_t{year} * 10000;
  }
  if (iso.size() < 10 || iso[7] != '-' || !absl::SimpleAtoi(iso.substr(8, 2), &day) || day < 1 ||
      day > 31) {
    day = 0;
  }
  return int64_t{year} * 10000 + month * 100 + day;
}

int SeasonOfStart(int64_t start_code) {
  const int month = static_cast<int>(start_code / 100 % 100),
            day = static_cast<int>(start_code % 100);
  if (start_code <= 0 || month < 1 || month > 12) return 0;
  int quarter = (month - 1) / 3;
  // A series that premieres in the last week of a season's last month airs in the next
  // season, as MAL files it (Frieren, 29 September 2023: fall). December stays fall:
  // the season's year is the start year.
  if (month % 3 == 0 && month != 12 && day >= 25) ++quarter;
  return quarter + 1;
}

int SeasonFromName(absl::string_view name) {
  for (int s = 1; s <= 4; ++s) {
    if (absl::EqualsIgnoreCase(name,
                               absl::string_view(kSeasonNames[s].data(), kSeasonNames[s].size())))
      return s;
  }
  return 0;
}

std::string_view Item::season() const {
  return kSeasonNames[SeasonOfStart(StartCode(start_date))];
}

bool Item::all_ages() const {
  if (age_rating == "g" || age_rating == "pg") return true;
  return std::any_of(genres.begin(), genres.end(),
                     [](const std::string& g) { return absl::EqualsIgnoreCase(g, "Kids"); });
}

std::string GenreLabel(absl::string_view genre) {
  std::string l = absl::AsciiStrToLower(absl::StripAsciiWhitespace(genre));
  if (l == "shoujo ai" || l == "yuri") return "girls love";
  if (l == "shounen ai" || l == "yaoi") return "boys love";
  return l;
}

ContentLevel ContentLevelOf(const Item& item) {
  auto has_genre = [&](std::initializer_list<absl::string_view> names) {
    for (const std::string& g : item.genres) {
      for (absl::string_view n : names) {
        if (absl::EqualsIgnoreCase(g, n)) return true;
      }
    }
    return false;
  };
  if (absl::EqualsIgnoreCase(item.age_rating, "rx") || has_genre({"Hentai", "Erotica"}))
    return ContentLevel::kAdult;
  if (absl::EqualsIgnoreCase(item.age_rating, "r+") || absl::EqualsIgnoreCase(item.nsfw, "gray") ||
      absl::EqualsIgnoreCase(item.nsfw, "black") || has_genre({"Yaoi", "Yuri"})) {
    return ContentLevel::kMature;
  }
  return ContentLevel::kGeneral;
}

absl::string_view ContentLevelName(ContentLevel level) {
  switch (level) {
    case ContentLevel::kGeneral:
      return "general";
    case ContentLevel::kMature:
      return "mature";
    case ContentLevel::kAdult:
      return "adult";
  }
  return "general";
}

std::optional<ContentLevel> ParseContentLevel(absl::string_view name) {
  for (ContentLevel l : {ContentLevel::kGeneral, ContentLevel::kMature, ContentLevel::kAdult}) {
    if (absl::EqualsIgnoreCase(name, ContentLevelName(l))) return l;
  }
  return std::nullopt;
}

absl::StatusOr<Catalog> Catalog::Load(const std::vector<std::string>& paths,
                                      const CatalogOptions& options) {
  if (paths.empty()) return absl::InvalidArgumentError("no catalogue files given");
  std::vector<Item> items;
  absl::flat_hash_map<int64_t, Merged> index;
  std::vector<std::string> skipped;
  for (const std::string& p : paths) {
    if (auto st = LoadFile(p, options, &items, &index, &skipped); !st.ok()) return st;
  }
  if (items.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("catalogue has no records: ", paths[0]));
  }
  auto c = FromItems(std::move(items));
  if (c.ok()) c->skipped_ = std::move(skipped);
  return c;
}

absl::StatusOr<Catalog> Catalog::FromItems(std::vector<Item> items) {
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.id < b.id; });
  Catalog c;
  c.index_.reserve(items.size());
  for (Item& it : items) {
    it.content = std::max(it.content, ContentLevelOf(it));
    if (it.labels.empty()) {
      for (const std::string& g : it.genres) it.labels.push_back(GenreLabel(g));
    }
    std::sort(it.labels.begin(), it.labels.end());
    it.labels.erase(std::unique(it.labels.begin(), it.labels.end()), it.labels.end());
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (!c.index_.try_emplace(items[i].id, i).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate item id ", items[i].id));
    }
  }
  c.items_ = std::move(items);
  const absl::flat_hash_map<int64_t, int64_t> franchises = FranchiseIds(c);
  for (Item& it : c.items_) {
    if (it.franchise == 0) it.franchise = franchises.at(it.id);
  }
  return c;
}

const Item* Catalog::Find(int64_t id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &items_[it->second];
}

std::string DecodeHtmlEntities(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    size_t semi = s.find(';', i + 1);
    if (semi == absl::string_view::npos || semi - i > 10) {
      out.push_back(s[i++]);
      continue;
    }
    absl::string_view name = s.substr(i + 1, semi - i - 1);
    uint32_t cp = 0;
    bool ok = true;
    if (!name.empty() && name[0] == '#') {
      absl::string_view num = name.substr(1);
      int base = 10;
      if (!num.empty() && (num[0] == 'x' || num[0] == 'X')) {
        num = num.substr(1);
        base = 16;
      }
      ok = !num.empty() && num.size() <= 8;
      for (char ch : num) {
        int d;
        if (ch >= '0' && ch <= '9') {
          d = ch - '0';
        } else if (base == 16 && ch >= 'a' && ch <= 'f') {
          d = ch - 'a' + 10;
        } else if (base == 16 && ch >= 'A' && ch <= 'F') {
          d = ch - 'A' + 10;
        } else {
          ok = false;
          break;
        }
        cp = cp * base + d;
      }
      ok = ok && cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    } else if (name == "amp") {
      cp = '&';
    } else if (name == "lt") {
      cp = '<';
    } else if (name == "gt") {
      cp = '>';
    } else if (name == "quot") {
      cp = '"';
    } else if (name == "apos") {
      cp = '\'';
    } else if (name == "nbsp") {
      cp = 0xA0;
    } else {
      ok = false;
    }
    if (!ok) {
      out.push_back(s[i++]);
      continue;
    }
    AppendUtf8(cp, &out);
    i = semi + 1;
  }
  return out;
}

}  // namespace simsearch
