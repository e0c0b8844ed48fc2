#!/usr/bin/env bash
# A --help test: the command exits 0 and its output (stdout and stderr) matches a
# pattern (grep -E).   help_test.sh PATTERN COMMAND [ARGS...]
set -uo pipefail
pattern=$1
shift
out=$("$@" 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "FAIL: '$*' exited $rc (want 0); output:" >&2
  echo "$out" >&2
  exit 1
fi
if ! grep -qE -e "$pattern" <<<"$out"; then
  echo "FAIL: '$*' printed no line matching '$pattern'; output:" >&2
  echo "$out" >&2
  exit 1
fi
echo "ok: '$*' exits 0 and says '$pattern'"
