// Collection::Open has an opener for every part a bundle may hold (core/bundle_parts.h):
// a part declared without one would be refused at open with an internal error.
#include <gtest/gtest.h>

#include "core/bundle_parts.h"
#include "engine/collection.h"

namespace simsearch {
namespace {

TEST(CollectionParts, EveryBundlePartHasAnOpener) {
  ASSERT_FALSE(BundleParts().empty());
  for (const BundlePart& part : BundleParts()) {
    EXPECT_TRUE(Collection::OpensPart(part.key)) << "no opener for part " << part.key;
  }
  EXPECT_FALSE(Collection::OpensPart("no_such_part"));
}

}  // namespace
}  // namespace simsearch
