#!/usr/bin/env bash
# log_value and wait_log_value (logs.sh) under the settings every shell test uses.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/logs.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port_script='s/.* on port \([0-9]*\) .*/\1/p'
fails=0
check() {  # check WHAT GOT WANT
  if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: got '$2', want '$3'" >&2; fails=$((fails + 1)); fi
}

# A log its writer has not opened yet is "no value", not the end of the script.
v=$(log_value "$work/not-yet.log" "$port_script")
check "a missing log gives no value" "$v" ""
printf 'starting\n' > "$work/a.log"
check "a log without the line gives no value" "$(log_value "$work/a.log" "$port_script")" ""
printf 'serving on port 4001 (plaintext)\nserving on port 4002 (plaintext)\n' >> "$work/a.log"
check "the last match wins (a restarted process appends)" "$(log_value "$work/a.log" "$port_script")" "4002"

# The writer opens its log only after the reader has started polling, as a slow start does.
( sleep 0.5; printf 'serving on port 4100 (TLS)\n' > "$work/late.log" ) &
v=$(wait_log_value "$work/late.log" "$port_script" 50)
check "wait_log_value waits for a log that appears later" "$v" "4100"
wait

rc=0
v=$(wait_log_value "$work/never.log" "$port_script" 3) || rc=$?
check "wait_log_value gives up with status 1" "$rc:$v" "1:"
[ "$fails" = 0 ] && echo "logs.sh: all checks passed"
exit "$fails"
