// A small searchable bundle for the Lambda tests: five anime with titles, SIF text
// vectors (GloVe from tests/data) and the encoder, so every route has something to find.
#pragma once

#include <string>

namespace simsearch::testing {

// Builds collection "tiny" under `root` (work files in `work`); returns false on error.
bool BuildTinyAnimeBundle(const std::string& root, const std::string& work);

}  // namespace simsearch::testing
