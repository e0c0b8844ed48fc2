#include "core/csv.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"

namespace simsearch {

CsvReader::CsvReader(absl::string_view text, std::string origin, char delimiter)
    : text_(text), origin_(std::move(origin)), delimiter_(delimiter) {
  // A UTF-8 byte order mark is not part of the first field.
  if (absl::StartsWith(text_, "\xEF\xBB\xBF")) pos_ = 3;
}

absl::StatusOr<bool> CsvReader::Next(std::vector<std::string>* fields) {
  fields->clear();
  if (pos_ >= text_.size()) return false;
  record_line_ = line_;
  std::string field;
  bool in_quotes = false;
  bool was_quoted = false;
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (in_quotes) {
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          field.push_back('"');
          pos_ += 2;
          continue;
        }
        in_quotes = false;
        ++pos_;
        // After a closing quote only a delimiter or the end of the record may follow.
        if (pos_ < text_.size() && text_[pos_] != delimiter_ && text_[pos_] != '\n' &&
            text_[pos_] != '\r') {
          return absl::InvalidArgumentError(absl::StrCat(
              origin_, ": line ", line_, ": unexpected character after a closing quote in field ",
              fields->size() + 1));
        }
        continue;
      }
      if (c == '\n') ++line_;
      field.push_back(c);
      ++pos_;
      continue;
    }
    if (c == '"' && field.empty() && !was_quoted) {
      in_quotes = true;
      was_quoted = true;
      ++pos_;
      continue;
    }
    if (c == delimiter_) {
      fields->push_back(std::move(field));
      field.clear();
      was_quoted = false;
      ++pos_;
      continue;
    }
    if (c == '\r' || c == '\n') {
      if (c == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
      ++pos_;
      ++line_;
      fields->push_back(std::move(field));
      return true;
    }
    field.push_back(c);
    ++pos_;
  }
  if (in_quotes) {
    return absl::InvalidArgumentError(absl::StrCat(origin_, ": line ", record_line_,
                                                   ": quoted field never closed (missing '\"')"));
  }
  fields->push_back(std::move(field));
  return true;
}

int FindColumn(const std::vector<std::string>& header, absl::string_view name) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(header[i]), name)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

int FindAnyColumn(const std::vector<std::string>& header,
                  std::initializer_list<absl::string_view> names) {
  for (absl::string_view n : names) {
    if (int c = FindColumn(header, n); c >= 0) return c;
  }
  return -1;
}

absl::StatusOr<CsvFile> CsvFile::Open(const std::string& path, absl::string_view what) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  CsvFile f;
  f.text_ = std::make_unique<std::string>(*std::move(text));
  f.reader_ = std::make_unique<CsvReader>(*f.text_, path);
  auto has = f.reader_->Next(&f.header_);
  if (!has.ok()) return has.status();
  if (!*has) return absl::InvalidArgumentError(absl::StrCat(path, ": empty ", what));
  if (f.header_.size() == 1 && absl::StripAsciiWhitespace(f.header_[0]).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": line 1 is blank; the first line must be the header naming the columns"));
  }
  return f;
}

absl::StatusOr<bool> CsvFile::Next(std::vector<std::string>* fields) {
  for (;;) {
    auto more = reader_->Next(fields);
    if (!more.ok() || !*more) return more;
    if (fields->size() == 1 && absl::StripAsciiWhitespace((*fields)[0]).empty()) continue;
    return true;
  }
}

}  // namespace simsearch
