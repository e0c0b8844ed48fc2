#include "core/cli.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace simsearch {
namespace {

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

ArgParser::ArgParser(std::string program, std::string usage)
    : program_(std::move(program)), usage_(std::move(usage)) {}

void ArgParser::AddString(std::string name, std::string* out, std::string help,
                          std::string value_name) {
  flags_.push_back({std::move(name), std::move(help), std::move(value_name), true, false, false,
                    [out](absl::string_view v) {
                      *out = std::string(v);
                      return absl::OkStatus();
                    }});
}

void ArgParser::AddStringList(std::string name, std::vector<std::string>* out, std::string help,
                              std::string value_name) {
  flags_.push_back({std::move(name), std::move(help), std::move(value_name), true, false, false,
                    [out](absl::string_view v) {
                      for (absl::string_view part :
                           absl::StrSplit(v, ',', absl::SkipWhitespace())) {
                        out->push_back(std::string(absl::StripAsciiWhitespace(part)));
                      }
                      return absl::OkStatus();
                    }});
}

void ArgParser::AddInt(std::string name, int* out, std::string help, std::string value_name) {
  std::string n = name;
  flags_.push_back({std::move(name), std::move(help), std::move(value_name), true, false, false,
                    [out, n](absl::string_view v) {
                      if (!absl::SimpleAtoi(v, out)) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", n, " takes an integer, got '", v, "'"));
                      }
                      return absl::OkStatus();
                    }});
}

void ArgParser::AddInt64List(std::string name, std::vector<int64_t>* out, std::string help,
                             std::string value_name) {
  std::string n = name;
  flags_.push_back({std::move(name), std::move(help), std::move(value_name), true, false, false,
                    [out, n](absl::string_view v) {
                      for (absl::string_view part :
                           absl::StrSplit(v, ',', absl::SkipWhitespace())) {
                        int64_t x;
                        if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &x)) {
                          return absl::InvalidArgumentError(absl::StrCat(
                              "--", n, " takes integer ids separated by commas, got '", part, "'"));
                        }
                        out->push_back(x);
                      }
                      return absl::OkStatus();
                    }});
}

void ArgParser::AddDouble(std::string name, double* out, std::string help, std::string value_name) {
  std::string n = name;
  flags_.push_back({std::move(name), std::move(help), std::move(value_name), true, false, false,
                    [out, n](absl::string_view v) {
                      if (!absl::SimpleAtod(v, out)) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", n, " takes a number, got '", v, "'"));
                      }
                      return absl::OkStatus();
                    }});
}

void ArgParser::AddBool(std::string name, bool* out, std::string help) {
  flags_.push_back(
      {std::move(name), std::move(help), "", false, false, false, [out](absl::string_view) {
         *out = true;
         return absl::OkStatus();
       }});
}

void ArgParser::AddAlias(std::string alias, std::string name) {
  aliases_.emplace_back(std::move(alias), std::move(name));
}

void ArgParser::Require(std::string name) {
  if (Flag* f = Find(name)) f->required = true;
}

namespace {
// Flag names match with '-' and '_' interchangeable: --index_root == --index-root.
bool SameName(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '_' ? '-' : a[i];
    const char y = b[i] == '_' ? '-' : b[i];
    if (x != y) return false;
  }
  return true;
}
}  // namespace

ArgParser::Flag* ArgParser::Find(absl::string_view name) {
  for (Flag& f : flags_) {
    if (SameName(f.name, name)) return &f;
  }
  return nullptr;
}

bool ArgParser::was_set(absl::string_view name) const {
  for (const Flag& f : flags_) {
    if (SameName(f.name, name)) return f.set;
  }
  return false;
}

std::string ArgParser::Suggest(absl::string_view name) const {
  std::string best;
  size_t best_d = 3;
  for (const Flag& f : flags_) {
    size_t d = EditDistance(name, f.name);
    if (d < best_d) {
      best_d = d;
      best = f.name;
    }
  }
  return best.empty() ? "" : absl::StrCat("; did you mean --", best, "?");
}

absl::Status ArgParser::Parse(int argc, char** argv, int first,
                              std::vector<std::string>* positional) {
  bool flags_done = false;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-' ||
        (arg.size() > 1 &&
         (absl::ascii_isdigit(static_cast<unsigned char>(arg[1])) || arg[1] == '.'))) {
      if (positional == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
      }
      positional->push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      help_ = true;
      continue;
    }
    std::string name;
    std::string value;
    bool has_value = false;
    if (absl::StartsWith(arg, "--")) {
      name = arg.substr(2);
    } else {
      name = arg;  // a short alias, e.g. -k
      for (const auto& [alias, target] : aliases_) {
        if (alias == arg) name = target;
      }
      if (name == arg) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown flag ", arg, Suggest(arg.substr(1)), " (see --help)"));
      }
    }
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    for (const auto& [alias, target] : aliases_) {
      if (alias == absl::StrCat("--", name)) name = target;  // a long alias, e.g. --k
    }
    Flag* f = Find(name);
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, Suggest(name), " (see --help)"));
    }
    if (f->takes_value && !has_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value (", f->value_name, ")"));
      }
      value = argv[++i];
    } else if (!f->takes_value && has_value) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
    }
    if (auto st = f->apply(value); !st.ok()) return st;
    f->set = true;
  }
  if (help_) return absl::OkStatus();
  for (const Flag& f : flags_) {
    if (f.required && !f.set) {
      return absl::InvalidArgumentError(absl::StrCat("--", f.name, " is required (see --help)"));
    }
  }
  return absl::OkStatus();
}

int ArgParser::ParseOrExitCode(int argc, char** argv, int first,
                               std::vector<std::string>* positional) {
  const absl::Status st = Parse(argc, argv, first, positional);
  if (help_) {
    std::fputs(Help().c_str(), stdout);
    return 0;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), std::string(st.message()).c_str());
    return 2;
  }
  return -1;
}

std::string ArgParser::Help() const {
  std::string out = absl::StrCat(usage_, "\n\nFlags:\n");
  for (const Flag& f : flags_) {
    std::string head =
        absl::StrCat("  --", f.name, f.takes_value ? absl::StrCat(" ", f.value_name) : "");
    for (const auto& [alias, target] : aliases_) {
      if (target == f.name) absl::StrAppend(&head, ", ", alias);
    }
    if (head.size() < 30) {
      head.resize(30, ' ');
    } else {
      head += "\n" + std::string(30, ' ');
    }
    std::string help = f.help;
    absl::StrReplaceAll({{"\n", "\n" + std::string(30, ' ')}}, &help);
    absl::StrAppend(&out, head, help, f.required ? " (required)" : "", "\n");
  }
  absl::StrAppend(&out, "  --help, -h                  show this help\n");
  return out;
}

}  // namespace simsearch
