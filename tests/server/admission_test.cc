// Admission control against hand-computed budgets: what is reserved, when a call is
// refused, what its ticket gives back, and the token check.
#include "server/admission.h"

#include <memory>
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/file_util.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

TEST(Admission, ReservesEstimatesCappedAtTheLargestAnswerAndRefusesPastTheBudget) {
  Admission a(/*max_inflight_bytes=*/1000, /*max_response_bytes=*/400, nullptr);
  EXPECT_EQ(a.calls_in_flight(), 0);
  auto t1 = std::make_unique<Admission::Ticket>(&a);
  EXPECT_EQ(a.calls_in_flight(), 1);
  EXPECT_EQ(a.inflight_bytes(), 0) << "nothing is reserved before admission";
  ASSERT_TRUE(t1->Admit(std::nullopt, 300).ok());
  EXPECT_EQ(a.inflight_bytes(), 300);
  Admission::Ticket t2(&a);
  ASSERT_TRUE(t2.Admit(std::nullopt, 5000).ok()) << "capped at 400: 700 held";
  EXPECT_EQ(t2.held_bytes(), 400);
  EXPECT_EQ(a.inflight_bytes(), 700);
  Admission::Ticket t3(&a);
  ASSERT_TRUE(t3.Admit(std::nullopt, 300).ok()) << "exactly the budget: 1000";
  EXPECT_EQ(a.inflight_bytes(), 1000);
  Admission::Ticket t4(&a);
  absl::Status refused = t4.Admit(std::nullopt, 1);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("retry with backoff"));
  EXPECT_EQ(a.inflight_bytes(), 1000) << "a refusal holds nothing";
  EXPECT_EQ(a.calls_in_flight(), 4) << "a refused call is in flight until it is answered";

  t1.reset();  // gRPC is done with the first call: its 300 bytes come back
  EXPECT_EQ(a.inflight_bytes(), 700);
  EXPECT_EQ(a.calls_in_flight(), 3);
  EXPECT_TRUE(t4.Admit(std::nullopt, 1).ok());
  EXPECT_EQ(a.inflight_bytes(), 701);
}

TEST(Admission, SettlingReplacesTheEstimateWithTheAnswersSize) {
  Admission a(1000, 1000, nullptr);
  {
    Admission::Ticket t(&a);
    ASSERT_TRUE(t.Admit(std::nullopt, 600).ok());
    t.Settle(50);
    EXPECT_EQ(a.inflight_bytes(), 50);
    Admission::Ticket u(&a);
    EXPECT_TRUE(u.Admit(std::nullopt, 900).ok()) << "50 + 900 fits once the first settled";
    u.Settle(0);  // refused after admission: answered with an error
    EXPECT_EQ(a.inflight_bytes(), 50);
  }
  EXPECT_EQ(a.inflight_bytes(), 0);
  EXPECT_EQ(a.calls_in_flight(), 0);
}

TEST(Admission, ACallAloneRunsWhateverItsEstimate) {
  Admission a(/*max_inflight_bytes=*/100, /*max_response_bytes=*/1 << 20, nullptr);
  Admission::Ticket t(&a);
  EXPECT_TRUE(t.Admit(std::nullopt, 5000).ok()) << "alone, a call is never refused";
  Admission::Ticket u(&a);
  EXPECT_EQ(u.Admit(std::nullopt, 1).code(), absl::StatusCode::kResourceExhausted);
}

TEST(Admission, AnswersLargerThanTheServerSendsAreRefusedWithWhatToLower) {
  Admission a(1 << 20, 4096, nullptr);
  EXPECT_TRUE(a.CheckAnswerSize(4096).ok());
  absl::Status st = a.CheckAnswerSize(4097);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(st.message(), HasSubstr("4097 bytes, more than the 4096"));
  EXPECT_THAT(st.message(), HasSubstr("lower top_k"));
}

TEST(Admission, WithTokensOnlyACallCarryingOneIsAdmitted) {
  testing::TempDir dir;
  const std::string path = dir.Join("tokens");
  ASSERT_TRUE(WriteStringToFile(path, "alpha-1\n").ok());
  auto tokens = TokenSet::Load(path);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  Admission a(1000, 1000, tokens->get());
  Admission::Ticket t(&a);
  EXPECT_EQ(t.Admit(std::nullopt, 10).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(t.Admit("Bearer beta-2", 10).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(a.inflight_bytes(), 0) << "an unauthenticated call reserves nothing";
  EXPECT_TRUE(t.Admit("Bearer alpha-1", 10).ok());
  EXPECT_EQ(a.inflight_bytes(), 10);
}

}  // namespace
}  // namespace simsearch
