// Franchise groups: which anime are entries of one franchise (seasons, films, OVAs,
// spin-offs), from MAL's "related" entries in the catalogue.
#pragma once

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "core/catalog.h"

namespace simsearch {

// How much of the shorter title is in the longer one: the share of the shorter title's
// character trigrams (of its letters and digits, lower-cased, other characters read as
// spaces, padded with a space at each end) that the longer one also has; 0 when either
// is empty. "Gintama" in "Gintama: The Movie" is 1; "One Piece" in "Kochikame" is 0.
double TitleContainment(absl::string_view a, absl::string_view b);

// The largest TitleContainment over the two items' titles and English titles.
double TitleLikeness(const Item& a, const Item& b);

// Titles at least this alike join a relation into a franchise.
inline constexpr double kFranchiseTitleLikeness = 0.5;

// Every catalogue anime's franchise: the smallest MAL id of its group. Two anime are in
// one group when a chain of "related" entries joins them (a relation listed by either
// side, between ids both in the catalogue) in which each step's titles are alike
// (TitleLikeness >= kFranchiseTitleLikeness). The title condition keeps crossovers and
// "other" relations (One Piece's related entries include Kochikame, Evangelion's an
// Ultraman short) from joining unrelated franchises, while a sequel whose title differs
// (Bakemonogatari -> Nisemonogatari) still joins. MAL's newest seasons often lack their
// relations: a title that is another anime's title plus a season marker ("Spy x Family
// Season 3", "Sousou no Frieren 2nd Season", "Mob Psycho 100 II") joins that anime too.
// An anime in no group maps to itself.
//
// A crossover titled after both franchises ("Lupin III vs. Detective Conan") is alike
// both and can join them: MAL's relations do not say which are crossovers.
absl::flat_hash_map<int64_t, int64_t> FranchiseIds(const Catalog& catalog);

}  // namespace simsearch
