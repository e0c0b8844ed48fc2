// The AWS Lambda Runtime API client (a custom runtime's loop), over cpp-httplib:
//   GET  /2018-06-01/runtime/invocation/next            (blocks; no timeout)
//   POST /2018-06-01/runtime/invocation/{id}/response
//   POST /2018-06-01/runtime/invocation/{id}/error
//   POST /2018-06-01/runtime/init/error
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace simsearch::lambda {

struct NextInvocation {
  std::string request_id;    // Lambda-Runtime-Aws-Request-Id
  absl::Time deadline;       // Lambda-Runtime-Deadline-Ms (epoch milliseconds)
  std::string trace_id;      // Lambda-Runtime-Trace-Id
  std::string function_arn;  // Lambda-Runtime-Invoked-Function-Arn
  std::string event;         // the body: the event JSON
};

class RuntimeApi {
 public:
  // `endpoint` is AWS_LAMBDA_RUNTIME_API: host:port.
  explicit RuntimeApi(std::string endpoint);

  absl::StatusOr<NextInvocation> Next() const;
  absl::Status PostResponse(const std::string& request_id, const std::string& body) const;
  absl::Status PostError(const std::string& request_id, const std::string& error_type,
                         const std::string& message) const;
  absl::Status PostInitError(const std::string& error_type, const std::string& message) const;

 private:
  absl::Status Post(const std::string& path, const std::string& body,
                    const std::string& error_type) const;
  std::string base_;
};

// The loop: next -> handler -> response, for ever. A handler that fails (returns an
// error or throws) gets its error posted and the loop goes on to the next invocation.
// Returns only when the Runtime API itself fails (e.g. the sandbox is shutting down).
using EventHandler = std::function<absl::StatusOr<std::string>(const NextInvocation&)>;
absl::Status RunLoop(const RuntimeApi& api, const EventHandler& handler);

}  // namespace simsearch::lambda
