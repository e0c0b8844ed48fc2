#!/usr/bin/env bash
# tools/long_functions.py on a file of known shapes: it finds the long function (with
# its lambda and a brace in a string inside), lets a "// Long:" one pass, ignores
# namespaces, classes and a short inline member, and holds a baseline entry to its length.
set -euo pipefail
tool="$(dirname "$0")/../../tools/long_functions.py"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
body() { for i in $(seq "$1"); do echo "  x += $i;"; done; }
{
  echo 'namespace a {'
  echo 'class C {'
  echo ' public:'
  echo '  int Short() const { return 1; }'
  echo '};'
  echo 'int Long(int x) {'
  echo '  auto f = [&](int y) { return y + 1; };'
  echo '  const char* s = "}{";'
  body 85
  echo '  return f(x);'
  echo '}'
  echo '// Long: a table.'
  echo 'int Table(int x) {'
  body 85
  echo '  return x;'
  echo '}'
  echo '}  // namespace a'
} > "$dir/shapes.cc"
out=$(python3 "$tool" "$dir/shapes.cc")
echo "$out"
[ "$(echo "$out" | wc -l)" -eq 2 ] || { echo "FAIL: expected two long functions" >&2; exit 1; }
echo "$out" | grep -q ': 90 lines  .*\[.*:Long\]' || { echo "FAIL: Long is 90 lines" >&2; exit 1; }
echo "$out" | grep -q '(Long: given).*:Table\]' || { echo "FAIL: Table's reason" >&2; exit 1; }
if python3 "$tool" --check "$dir/shapes.cc" >/dev/null 2>&1; then
  echo "FAIL: --check passed a long function without a reason" >&2; exit 1
fi
key=$(echo "$out" | sed -n 's/.*\[\(.*:Long\)\]$/\1/p')
echo "$key 90" > "$dir/baseline"
python3 "$tool" --check --baseline "$dir/baseline" "$dir/shapes.cc" >/dev/null
echo "$key 89" > "$dir/baseline"
if python3 "$tool" --check --baseline "$dir/baseline" "$dir/shapes.cc" >/dev/null 2>&1; then
  echo "FAIL: a function longer than its baseline passed" >&2; exit 1
fi
echo "long_functions: ok"
