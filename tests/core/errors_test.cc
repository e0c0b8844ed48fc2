// core/errors.h: the detail travels with the status and survives what the engine does to
// statuses on the way out (a new message, a field prefix).
#include "core/errors.h"

#include <gtest/gtest.h>

namespace simsearch {
namespace {

TEST(ErrorsTest, DetailRoundTripsAnyBytes) {
  ErrorDetail d;
  d.reason = "COLLECTION_NOT_FOUND";
  d.field = "a:b:1:";
  d.resource_type = "collection";
  d.resource_name = std::string("x\0y:7", 5);
  d.retry_delay = absl::Milliseconds(1250);
  const absl::Status st = WithDetail(absl::NotFoundError("gone"), d);
  const ErrorDetail back = DetailOf(st);
  EXPECT_EQ(back.reason, d.reason);
  EXPECT_EQ(back.field, d.field);
  EXPECT_EQ(back.resource_type, d.resource_type);
  EXPECT_EQ(back.resource_name, d.resource_name);
  EXPECT_EQ(back.retry_delay, d.retry_delay);
  EXPECT_EQ(st.message(), "gone");
}

TEST(ErrorsTest, ReasonDefaultsToTheCodeName) {
  EXPECT_EQ(ReasonOf(absl::InvalidArgumentError("x")), "INVALID_ARGUMENT");
  EXPECT_EQ(ReasonOf(absl::DeadlineExceededError("x")), "DEADLINE_EXCEEDED");
  EXPECT_EQ(ReasonOf(absl::DataLossError("x")), "VERSION_DAMAGED");
  EXPECT_EQ(ReasonOf(absl::OkStatus()), "");
  EXPECT_TRUE(WithReason(absl::OkStatus(), reason::kServerBusy).ok());
  // A damaged payload is ignored, not misread.
  absl::Status st = absl::NotFoundError("x");
  st.SetPayload("type.simsearch.dev/simsearch.ErrorDetail", absl::Cord("99:abc"));
  EXPECT_EQ(ReasonOf(st), "NOT_FOUND");
}

TEST(ErrorsTest, MessageAndFieldPrefixKeepTheDetail) {
  absl::Status st = InvalidFieldError("vector.values", reason::kVectorDimensionsMismatch, "bad");
  absl::Status placed = WithMessage(InField(st, "queries[3]"), "query 3: bad");
  EXPECT_EQ(placed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(placed.message(), "query 3: bad");
  EXPECT_EQ(DetailOf(placed).reason, "VECTOR_DIMENSIONS_MISMATCH");
  EXPECT_EQ(DetailOf(placed).field, "queries[3].vector.values");
  // An INVALID_ARGUMENT with no field gets the prefix as its field; other codes do not.
  EXPECT_EQ(DetailOf(InField(absl::InvalidArgumentError("x"), "query")).field, "query");
  const absl::Status missing = NotFoundResourceError(reason::kItemNotInCollection, "item", "4",
                                                     "item 4 is not in collection 'c'");
  const ErrorDetail m = DetailOf(InField(missing, "query"));
  EXPECT_EQ(m.field, "");
  EXPECT_EQ(m.resource_type, "item");
  EXPECT_EQ(m.resource_name, "4");
  EXPECT_EQ(m.reason, "ITEM_NOT_IN_COLLECTION");
}

}  // namespace
}  // namespace simsearch
