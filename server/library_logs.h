// libprotobuf and gRPC write their own log lines to stderr, in their own format, with no
// limit: an unauthenticated client sending a string field of invalid UTF-8 made
// libprotobuf print one line per call, before any token check (4.56 MB in 5.8 s), and
// the raw lines broke --log_format json. This routes both through runtime/log.h: our
// format, our level filter, and at most a budget of lines a second.
#pragma once

#include "runtime/log.h"

namespace simsearch {

// From now on libprotobuf's and gRPC's log lines are written by Log() (text or JSON, as
// configured), each with source=protobuf|grpc, file and line, at most as many a second
// as `budget` allows (it must outlive the process's use of both libraries). Call once,
// after ConfigureLog and before serving.
void RouteLibraryLogs(LogBudget* budget);

}  // namespace simsearch
