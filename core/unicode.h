// Unicode folding for matching text typed by people against stored text.
#pragma once

#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace simsearch {

// Compatibility-decomposes (NFKD), case-folds and strips combining marks:
// "Pokémon" -> "pokemon", "ＣＯＷＢＯＹ" -> "cowboy". Invalid UTF-8 falls back to
// ASCII lower-casing of the bytes.
std::string FoldCaseAndAccents(absl::string_view s);

// The code points of UTF-8 text. A byte that does not start a valid sequence reads as
// U+FFFD and decoding goes on at the next byte (as a JavaScript TextDecoder would).
std::u32string DecodeUtf8(absl::string_view s);

// Appends the UTF-8 form of one code point.
void AppendUtf8(char32_t c, std::string* out);

// The UTF-8 form of code points.
std::string EncodeUtf8(std::u32string_view s);

}  // namespace simsearch
