#!/usr/bin/env bash
# The website in Debian's headless Chromium against simsearch-lambda --serve-http over
# real bundles built here, then Lighthouse on its pages. Screenshots, timings and
# Lighthouse reports go to BUILD_DIR/web-test/out.
# Usage: run_browser_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/puppeteer-core" ] || [ ! -d "$here/node_modules/axe-core" ] ||
  [ ! -d "$here/node_modules/lighthouse" ]; then
  echo "node modules missing: run 'npm ci --prefix $here' (scripts/test.sh does)" >&2
  exit 1
fi
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "Chromium is not installed at $chromium: scripts/install-deps.sh installs Debian's chromium" >&2
  exit 1
fi
work=$build/web-test
rm -rf "$work/index"
mkdir -p "$work/out"
"$here/make_bundles.sh" "$build" "$work/index"
status=0
CHROMIUM=$chromium node "$here/browser_test.js" "$build/lambda/simsearch-lambda" "$work/index" \
  "$here/../../web" "$work/out" || status=1
# Lighthouse over the same bundles: home, anime and list pages, phone and desktop, every
# category >= 95; reports in $work/out/lighthouse-*.html.
CHROMIUM=$chromium node "$here/lighthouse_test.js" "$build/lambda/simsearch-lambda" "$work/index" \
  "$here/../../web" "$work/out" || status=1
exit $status
