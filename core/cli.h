// A small command-line parser for the project's tools (subcommands, `--name value`,
// `--name=value`, short aliases such as `-k`, repeatable flags, --help), with errors
// that say what to change ("unknown flag --colection; did you mean --collection?").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace simsearch {

class ArgParser {
 public:
  // `usage` is printed at the top of Help(): what the command does and its synopsis.
  ArgParser(std::string program, std::string usage);

  void AddString(std::string name, std::string* out, std::string help,
                 std::string value_name = "TEXT");
  // Repeatable; each value may also be a comma-separated list.
  void AddStringList(std::string name, std::vector<std::string>* out, std::string help,
                     std::string value_name = "TEXT");
  void AddInt(std::string name, int* out, std::string help, std::string value_name = "N");
  void AddInt64List(std::string name, std::vector<int64_t>* out, std::string help,
                    std::string value_name = "ID,...");
  void AddDouble(std::string name, double* out, std::string help, std::string value_name = "X");
  void AddBool(std::string name, bool* out, std::string help);
  // `alias` as another spelling of `--name`: a short one (`-k`) or a long one (`--k`).
  void AddAlias(std::string alias, std::string name);
  // Names flags Parse must see; their absence is an error.
  void Require(std::string name);

  // Parses argv[first..]. Non-flag arguments go to `positional` (nullptr: none are
  // accepted). "--" ends flags. Sets help_requested() on -h/--help.
  absl::Status Parse(int argc, char** argv, int first, std::vector<std::string>* positional);

  // Parse() for a main(): on --help prints Help() to stdout and returns 0; on a usage
  // error prints "<program>: <message>" to stderr and returns 2; else returns -1.
  int ParseOrExitCode(int argc, char** argv, int first, std::vector<std::string>* positional);

  bool help_requested() const { return help_; }
  bool was_set(absl::string_view name) const;
  std::string Help() const;

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string value_name;
    bool takes_value = true;
    bool required = false;
    bool set = false;
    std::function<absl::Status(absl::string_view)> apply;
  };
  Flag* Find(absl::string_view name);
  std::string Suggest(absl::string_view name) const;

  std::string program_;
  std::string usage_;
  std::vector<Flag> flags_;
  std::vector<std::pair<std::string, std::string>> aliases_;
  bool help_ = false;
};

}  // namespace simsearch
