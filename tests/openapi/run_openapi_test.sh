#!/usr/bin/env bash
# The HTTP contract (api/openapi.yaml) against simsearch-lambda --serve-http over real
# bundles built here (tests/web/make_bundles.sh).
# Usage: run_openapi_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
for m in @apidevtools/swagger-parser ajv js-yaml; do
  if [ ! -d "$here/node_modules/$m" ]; then
    echo "node modules missing: run 'npm ci --prefix $here' (scripts/test.sh does)" >&2
    exit 1
  fi
done
work=$build/openapi-test
rm -rf "$work"
mkdir -p "$work"
"$here/../web/make_bundles.sh" "$build" "$work/index"
node "$here/openapi_test.js" "$build/lambda/simsearch-lambda" "$work/index" "$here/../../web" \
  "$here/../.."
