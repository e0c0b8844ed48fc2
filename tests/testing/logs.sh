# Sourced by shell tests and benchmarks: read what a process started in the background
# writes to its log.
#
# The shell runs `prog > LOG &` and goes on at once; the child opens LOG a moment later,
# and on a busy machine that moment can be long. Until then LOG does not exist, and a
# plain `v=$(sed ... LOG | head -1)` fails under `set -e -o pipefail` and ends the
# script, as if the program had failed. These read a missing LOG as "nothing yet".
#
# log_value LOG SED_SCRIPT: prints the last value SED_SCRIPT prints (sed -n) from LOG,
#   or nothing if LOG does not exist yet or holds no match. Always succeeds.
# wait_log_value LOG SED_SCRIPT [TRIES]: polls log_value every 0.1 s, TRIES times
#   (default 100), and prints the first value found; returns 1 if there was none.

log_value() {
  [ -e "$1" ] || return 0
  sed -n "$2" "$1" | tail -n 1
}

wait_log_value() {
  local log=$1 script=$2 tries=${3:-100} value
  for _ in $(seq 1 "$tries"); do
    value=$(log_value "$log" "$script")
    if [ -n "$value" ]; then
      printf '%s\n' "$value"
      return 0
    fi
    sleep 0.1
  done
  return 1
}
