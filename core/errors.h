// Errors a program can branch on: every error simsearch returns carries, besides its code
// and its message for people, a stable reason (google.rpc.ErrorInfo, AIP-193), and where
// they apply the request field that was wrong (BadRequest), the resource that was not
// found (ResourceInfo) and when to retry (RetryInfo). Inside the process these travel as
// one payload of the absl::Status; the server turns them into google.rpc details
// (server/service.cc), the client library back into the payload (client/client.cc), and
// the HTTP API into its JSON error body (lambda/handler.cc).
#ifndef SIMSEARCH_CORE_ERRORS_H_
#define SIMSEARCH_CORE_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace simsearch {

// The reasons, listed in proto/simsearch/v1/simsearch.proto ("Errors") too. A reason is
// never renamed: programs compare them. An error with no reason of its own gets its
// code's name (DefaultReason).
namespace reason {
// INVALID_ARGUMENT
inline constexpr absl::string_view kInvalidArgument = "INVALID_ARGUMENT";
inline constexpr absl::string_view kTopKOutOfRange = "TOP_K_OUT_OF_RANGE";
inline constexpr absl::string_view kUnknownGenre = "UNKNOWN_GENRE";
inline constexpr absl::string_view kUnknownType = "UNKNOWN_TYPE";
inline constexpr absl::string_view kVectorDimensionsMismatch = "VECTOR_DIMENSIONS_MISMATCH";
inline constexpr absl::string_view kTooManyIds = "TOO_MANY_IDS";
inline constexpr absl::string_view kBatchTooLarge = "BATCH_TOO_LARGE";
inline constexpr absl::string_view kEmptyQuery = "EMPTY_QUERY";
inline constexpr absl::string_view kPageTokenInvalid = "PAGE_TOKEN_INVALID";
// NOT_FOUND
inline constexpr absl::string_view kCollectionNotFound = "COLLECTION_NOT_FOUND";
inline constexpr absl::string_view kItemNotInCollection = "ITEM_NOT_IN_COLLECTION";
inline constexpr absl::string_view kUserNotFound = "USER_NOT_FOUND";
inline constexpr absl::string_view kTitleNotFound = "TITLE_NOT_FOUND";  // HTTP API
inline constexpr absl::string_view kItemNotFound = "ITEM_NOT_FOUND";    // HTTP API: no collection
inline constexpr absl::string_view kRouteNotFound = "ROUTE_NOT_FOUND";  // HTTP API
// HTTP only: the path takes other methods; the request came too slowly.
inline constexpr absl::string_view kMethodNotAllowed = "METHOD_NOT_ALLOWED";
inline constexpr absl::string_view kRequestTimeout = "REQUEST_TIMEOUT";
// FAILED_PRECONDITION
inline constexpr absl::string_view kQueryNotSupported = "QUERY_NOT_SUPPORTED";
inline constexpr absl::string_view kPageTokenExpired = "PAGE_TOKEN_EXPIRED";
// RESOURCE_EXHAUSTED
inline constexpr absl::string_view kServerBusy = "SERVER_BUSY";
inline constexpr absl::string_view kAnswerTooLarge = "ANSWER_TOO_LARGE";
inline constexpr absl::string_view kRequestTooLarge = "REQUEST_TOO_LARGE";
// UNAVAILABLE
inline constexpr absl::string_view kCollectionNotServed = "COLLECTION_NOT_SERVED";
inline constexpr absl::string_view kEngineUnavailable = "ENGINE_UNAVAILABLE";
// UNAVAILABLE (damaged on disk while served) or DATA_LOSS (found damaged on reading)
inline constexpr absl::string_view kVersionDamaged = "VERSION_DAMAGED";
// Others by their code's name: DEADLINE_EXCEEDED, UNAUTHENTICATED, INTERNAL, ...
}  // namespace reason

// The domain of every reason above (ErrorInfo.domain).
inline constexpr absl::string_view kErrorDomain = "simsearch.v1";

// What a status says to programs. Empty strings and a zero delay mean "not given".
struct ErrorDetail {
  std::string reason;         // ErrorInfo.reason; empty in a status: DefaultReason(code)
  std::string field;          // BadRequest: the request field's path, e.g. "params.ef"
  std::string resource_type;  // ResourceInfo: "collection", "item", "user"
  std::string resource_name;  // ResourceInfo: the name or id asked for
  absl::Duration retry_delay = absl::ZeroDuration();  // RetryInfo
};

// `st` with `detail` attached (replacing any attached before). OK stays OK.
absl::Status WithDetail(absl::Status st, const ErrorDetail& detail);

// What `st` carries; `reason` is filled in from the code when none was attached.
// Empty for OK.
ErrorDetail DetailOf(const absl::Status& st);

// The reason of an error that names none: its code's name, except DATA_LOSS, which at
// serving time means a damaged bundle version (VERSION_DAMAGED).
std::string DefaultReason(absl::StatusCode code);

// The reason of an HTTP error answer that names none, by its status: the handler's
// answers and the HTTP server's own refusals share it.
absl::string_view HttpStatusReason(int status);

// The reason alone (DetailOf(st).reason).
std::string ReasonOf(const absl::Status& st);

// A new status with `st`'s code, detail and the message `message`.
absl::Status WithMessage(const absl::Status& st, absl::string_view message);

// Prefixes the field path of `st`'s detail with `prefix` ("queries[2]" + "vector" ->
// "queries[2].vector"); an INVALID_ARGUMENT without a field gets `prefix` as its field,
// other errors without one stay as they are.
absl::Status InField(absl::Status st, absl::string_view prefix);

// `st` with reason `reason` (and the field path `field`, when not empty); a shorthand of
// WithDetail.
absl::Status WithReason(absl::Status st, absl::string_view reason, absl::string_view field = {});
// `st` with reason `reason` about the resource `type` named `name`.
absl::Status WithResource(absl::Status st, absl::string_view reason, absl::string_view type,
                          absl::string_view name);

// Shorthands: an INVALID_ARGUMENT about request field `field`, and a NOT_FOUND of a
// resource.
absl::Status InvalidFieldError(absl::string_view field, absl::string_view reason,
                               absl::string_view message);
absl::Status NotFoundResourceError(absl::string_view reason, absl::string_view type,
                                   absl::string_view name, absl::string_view message);

}  // namespace simsearch

#endif  // SIMSEARCH_CORE_ERRORS_H_
