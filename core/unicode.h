// Unicode folding for matching text typed by people against stored text.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

namespace simsearch {

// Compatibility-decomposes (NFKD), case-folds and strips combining marks:
// "Pokémon" -> "pokemon", "ＣＯＷＢＯＹ" -> "cowboy". Invalid UTF-8 falls back to
// ASCII lower-casing of the bytes.
std::string FoldCaseAndAccents(absl::string_view s);

}  // namespace simsearch
