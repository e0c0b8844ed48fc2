// Status plumbing shared by every simsearch library (no exceptions in our code).
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SIMSEARCH_CONCAT_INNER_(a, b) a##b
#define SIMSEARCH_CONCAT_(a, b) SIMSEARCH_CONCAT_INNER_(a, b)

// Returns from the calling function when `expr` (an absl::Status) is not OK.
#define SIMSEARCH_RETURN_IF_ERROR(expr)                    \
  do {                                                     \
    ::absl::Status simsearch_status_ = (expr);             \
    if (!simsearch_status_.ok()) return simsearch_status_; \
  } while (0)

// `lhs = value of rexpr` (an absl::StatusOr<T>), or returns its error.
#define SIMSEARCH_ASSIGN_OR_RETURN(lhs, rexpr) \
  SIMSEARCH_ASSIGN_OR_RETURN_IMPL_(SIMSEARCH_CONCAT_(simsearch_or_, __LINE__), lhs, rexpr)
#define SIMSEARCH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                     \
  if (!tmp.ok()) return std::move(tmp).status();          \
  lhs = *std::move(tmp)
