// A strict RFC 4180 CSV reader: comma-separated, double-quoted fields may hold commas,
// quotes ("") and line breaks. Each record reports the 1-based line it starts on, so
// errors can name it.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace simsearch {

class CsvReader {
 public:
  // `text` must outlive the reader. `origin` names the input in error messages.
  CsvReader(absl::string_view text, std::string origin, char delimiter = ',');

  // Reads the next record into `fields`. Returns false at the end of input.
  // A malformed record (unterminated quote, text after a closing quote) is an
  // InvalidArgument error naming origin and line.
  absl::StatusOr<bool> Next(std::vector<std::string>* fields);

  // The line the last record returned by Next() started on (1-based).
  size_t line() const { return record_line_; }
  const std::string& origin() const { return origin_; }

 private:
  absl::string_view text_;
  std::string origin_;
  char delimiter_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t record_line_ = 0;
};

// A CSV file read whole, with its first record taken as the header: what the readers
// of every CSV input (catalogue, interactions, texts, provenance) open.
class CsvFile {
 public:
  // Reads `path`. A file with no record is an InvalidArgument "<path>: empty <what>"
  // (what: "file", "catalogue file", ...); one whose first line is blank is refused too
  // (the header must come first).
  static absl::StatusOr<CsvFile> Open(const std::string& path, absl::string_view what = "file");

  const std::vector<std::string>& header() const { return header_; }
  // The next record that is not a blank line into `fields`; false at the end. Errors
  // as CsvReader::Next.
  absl::StatusOr<bool> Next(std::vector<std::string>* fields);
  // The line the last record returned started on (1-based), as CsvReader::line.
  size_t line() const { return reader_->line(); }

 private:
  CsvFile() = default;
  std::unique_ptr<std::string> text_;  // the reader reads it: kept at a fixed address
  std::unique_ptr<CsvReader> reader_;
  std::vector<std::string> header_;
};

// Finds `name` (case-insensitive, surrounding spaces ignored) among header fields;
// returns its index or -1.
int FindColumn(const std::vector<std::string>& header, absl::string_view name);
// The first of `names` found among the header fields (as FindColumn), or -1.
int FindAnyColumn(const std::vector<std::string>& header,
                  std::initializer_list<absl::string_view> names);

}  // namespace simsearch
