#include "server/library_logs.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include <atomic>
#include <string>

namespace simsearch {
namespace {

std::atomic<LogBudget*> g_budget{nullptr};

void Write(LogLevel level, const char* source, const char* file, int line, const char* message,
           bool fatal = false) {
  if (!LogEnabled(level)) return;
  LogBudget* budget = g_budget.load();
  // A fatal line (the library aborts next) is the crash's cause: never dropped.
  if (!fatal && budget != nullptr && !budget->Take()) return;
  Log(level, message, {{"source", source}, {"file", file != nullptr ? file : ""}, {"line", line}});
}

void FromProtobuf(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& message) {
  LogLevel ours = LogLevel::kError;
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      ours = LogLevel::kInfo;
      break;
    case google::protobuf::LOGLEVEL_WARNING:
      ours = LogLevel::kWarning;
      break;
    default:
      ours = LogLevel::kError;
      break;  // ERROR, and FATAL (protobuf aborts after)
  }
  Write(ours, "protobuf", file, line, message.c_str(), level == google::protobuf::LOGLEVEL_FATAL);
}

void FromGrpc(gpr_log_func_args* args) {
  LogLevel ours = LogLevel::kError;
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      ours = LogLevel::kDebug;
      break;
    case GPR_LOG_SEVERITY_INFO:
      ours = LogLevel::kInfo;
      break;
    default:
      ours = LogLevel::kError;
      break;
  }
  Write(ours, "grpc", args->file, args->line, args->message);
}

}  // namespace

void RouteLibraryLogs(LogBudget* budget) {
  g_budget.store(budget);
  google::protobuf::SetLogHandler(&FromProtobuf);
  gpr_set_log_function(&FromGrpc);
}

}  // namespace simsearch
