// One log line format for every simsearch program: a timestamp, a level, the program,
// a message and key=value fields; human-readable text by default, JSON lines with
// --log_format json. Programs log; libraries return statuses and do not.
//
//   2026-11-28T19:30:00.123Z INFO simsearch-engine: call failed rpc=Search code=NOT_FOUND
//   {"ts":"2026-11-28T19:30:00.123Z","level":"info","program":"simsearch-engine",
//    "msg":"call failed","rpc":"Search","code":"NOT_FOUND"}
//
// A line is written with one write(2), so lines from several threads never interleave.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace simsearch {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// A key and its value; numbers stay numbers in JSON.
struct LogField {
  LogField(absl::string_view k, absl::string_view v) : key(k), text(v) {}
  LogField(absl::string_view k, const std::string& v) : key(k), text(v) {}
  LogField(absl::string_view k, const char* v) : key(k), text(v) {}
  LogField(absl::string_view k, double v);
  LogField(absl::string_view k, int64_t v);
  LogField(absl::string_view k, int v) : LogField(k, static_cast<int64_t>(v)) {}
  absl::string_view key;
  std::string text;
  bool number = false;
};

// Set once at start, before other threads log.
void ConfigureLog(std::string program, LogLevel level, LogFormat format);
// "debug", "info", "warning" (or "warn"), "error"; "text", "json".
absl::Status ParseLogLevel(absl::string_view name, LogLevel* out);
absl::Status ParseLogFormat(absl::string_view name, LogFormat* out);

// ParseLogLevel + ParseLogFormat + ConfigureLog, for a main's --log_level and --log_format.
absl::Status ConfigureLogFromFlags(std::string program, absl::string_view level,
                                   absl::string_view format);
inline constexpr char kLogLevelHelp[] =
    "least important log lines written: debug, info, warning or error (default info)";
inline constexpr char kLogFormatHelp[] =
    "log lines as 'text' (default) or 'json' (one JSON object per line)";

bool LogEnabled(LogLevel level);
void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});
inline void LogInfo(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, m, f);
}
inline void LogWarning(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarning, m, f);
}
inline void LogError(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, m, f);
}

// At most `per_second` lines a second of one kind; the rest are counted and reported
// in one warning once the second is over ("12 call log line(s) suppressed ..."), so a
// flood of bad calls cannot flood the log. Thread-safe.
class LogBudget {
 public:
  LogBudget(int per_second, std::string what) : per_second_(per_second), what_(std::move(what)) {}
  // True when a line may be written now.
  bool Take();

 private:
  const int per_second_;
  const std::string what_;
  std::atomic<int64_t> second_{0}, used_{0}, dropped_{0};
};

// The line Log would write (without the newline), for tests.
std::string FormatLogLine(LogFormat format, absl::string_view timestamp, LogLevel level,
                          absl::string_view program, absl::string_view message,
                          std::initializer_list<LogField> fields);

}  // namespace simsearch
