#include "runtime/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace simsearch {
namespace {

struct LogConfig {
  std::string program = "simsearch";
  std::atomic<int> level{static_cast<int>(LogLevel::kInfo)};
  LogFormat format = LogFormat::kText;
};

LogConfig& Config() {
  static LogConfig* config = new LogConfig();
  return *config;
}

const char* LevelName(LogLevel level, bool upper) {
  switch (level) {
    case LogLevel::kDebug:
      return upper ? "DEBUG" : "debug";
    case LogLevel::kInfo:
      return upper ? "INFO" : "info";
    case LogLevel::kWarning:
      return upper ? "WARN" : "warning";
    case LogLevel::kError:
      return upper ? "ERROR" : "error";
  }
  return "?";
}

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

// A text-format value: bare when it is one plain word, else quoted with escapes.
void AppendTextValue(std::string* out, absl::string_view s) {
  bool plain = !s.empty();
  for (unsigned char c : s) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out->append(s.data(), s.size());
  } else {
    AppendJsonString(out, s);
  }
}

}  // namespace

LogField::LogField(absl::string_view k, double v) : key(k), number(std::isfinite(v)) {
  text = std::isfinite(v) ? absl::StrFormat("%.6g", v)
                          : std::string(std::isnan(v) ? "NaN"
                                        : v > 0       ? "+Inf"
                                                      : "-Inf");
}

LogField::LogField(absl::string_view k, int64_t v) : key(k), text(absl::StrCat(v)), number(true) {}

void ConfigureLog(std::string program, LogLevel level, LogFormat format) {
  LogConfig& c = Config();
  c.program = std::move(program);
  c.level.store(static_cast<int>(level));
  c.format = format;
}

absl::Status ParseLogLevel(absl::string_view name, LogLevel* out) {
  const std::string n = absl::AsciiStrToLower(name);
  if (n == "debug") {
    *out = LogLevel::kDebug;
  } else if (n == "info") {
    *out = LogLevel::kInfo;
  } else if (n == "warning" || n == "warn") {
    *out = LogLevel::kWarning;
  } else if (n == "error") {
    *out = LogLevel::kError;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log_level: '", name, "' is not a level; use debug, info, warning or error"));
  }
  return absl::OkStatus();
}

absl::Status ParseLogFormat(absl::string_view name, LogFormat* out) {
  if (name == "text") {
    *out = LogFormat::kText;
  } else if (name == "json") {
    *out = LogFormat::kJson;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--log_format: '", name, "' is not a format; use text or json"));
  }
  return absl::OkStatus();
}

absl::Status ConfigureLogFromFlags(std::string program, absl::string_view level,
                                   absl::string_view format) {
  LogLevel l;
  LogFormat f;
  absl::Status st = ParseLogLevel(level, &l);
  if (st.ok()) st = ParseLogFormat(format, &f);
  if (st.ok()) ConfigureLog(std::move(program), l, f);
  return st;
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= Config().level.load(std::memory_order_relaxed);
}

std::string FormatLogLine(LogFormat format, absl::string_view timestamp, LogLevel level,
                          absl::string_view program, absl::string_view message,
                          std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(96 + message.size());
  if (format == LogFormat::kJson) {
    line.append("{\"ts\":");
    AppendJsonString(&line, timestamp);
    line.append(",\"level\":\"").append(LevelName(level, false)).append("\",\"program\":");
    AppendJsonString(&line, program);
    line.append(",\"msg\":");
    AppendJsonString(&line, message);
    for (const LogField& f : fields) {
      line.push_back(',');
      AppendJsonString(&line, f.key);
      line.push_back(':');
      if (f.number) {
        line.append(f.text);
      } else {
        AppendJsonString(&line, f.text);
      }
    }
    line.push_back('}');
    return line;
  }
  absl::StrAppend(&line, timestamp, " ", LevelName(level, true), " ", program, ": ");
  // A message is one line: newlines in it (from a nested error) would split the record.
  for (char c : message) line.push_back(c == '\n' || c == '\r' ? ' ' : c);
  for (const LogField& f : fields) {
    absl::StrAppend(&line, " ", f.key, "=");
    AppendTextValue(&line, f.text);
  }
  return line;
}

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  const LogConfig& c = Config();
  std::string line = FormatLogLine(
      c.format, absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), level,
      c.program, message, fields);
  line.push_back('\n');
  // One write per line (stderr is unbuffered; a partial write is finished).
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

bool LogBudget::Take() {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  int64_t second = second_.load(std::memory_order_relaxed);
  if (now != second && second_.compare_exchange_strong(second, now)) {
    const int64_t dropped = dropped_.exchange(0);
    used_.store(0);
    if (dropped > 0) {
      LogWarning(absl::StrCat(dropped, " ", what_,
                              " line(s) suppressed in the last second (more than ", per_second_,
                              " a second)"));
    }
  }
  if (used_.fetch_add(1, std::memory_order_relaxed) < per_second_) return true;
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace simsearch
