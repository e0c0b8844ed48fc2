#!/usr/bin/env bash
# Formats the tree's C++ with .clang-format (Debian 12's clang-format 14).
#
#   ./scripts/format.sh           rewrite every tracked .h/.cc file in place
#   ./scripts/format.sh --check   change nothing; list the files that differ and fail
#
# The check runs in ./scripts/test.sh, so CI refuses unformatted code.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "format: unknown argument '$1' (use --check, or nothing to rewrite)" >&2; exit 2 ;;
esac
tool=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$tool" ]; then
  echo "format: clang-format is not installed; ./scripts/install-deps.sh installs it" >&2
  exit 1
fi
# Listed first, so a git that fails (no .git, "dubious ownership") fails the script
# instead of leaving nothing to check.
list=$(git ls-files --cached --others --exclude-standard -- '*.h' '*.cc')
mapfile -t files <<<"$list"
if [ -z "$list" ] || [ "${#files[@]}" -lt 10 ]; then
  echo "format: git listed ${#files[@]} C++ files; run it inside the repository's git checkout" >&2
  exit 1
fi
if [ "$check" = 0 ]; then
  printf '%s\0' "${files[@]}" | xargs -0 -n 32 -P "$(nproc)" "$tool" -i --style=file
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  if ! "$tool" --style=file "$f" | cmp -s - "$f"; then bad+=("$f"); fi
done
if [ "${#bad[@]}" -gt 0 ]; then
  echo "format: ${#bad[@]} file(s) differ from .clang-format; run ./scripts/format.sh:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "format: ${#files[@]} files match .clang-format" >&2
