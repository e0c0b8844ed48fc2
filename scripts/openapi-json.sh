#!/usr/bin/env bash
# Writes api/openapi.json, the JSON form of api/openapi.yaml that simsearch-lambda serves
# at /openapi.json (compiled in). Run after editing the YAML; the test web.openapi fails
# while the two differ. Needs the Node.js modules of tests/openapi (scripts/test.sh
# installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d tests/openapi/node_modules/js-yaml ]; then
  npm ci --prefix tests/openapi --no-audit --no-fund --loglevel=error
fi
node -e '
const fs = require("fs");
const yaml = require(process.argv[1] + "/node_modules/js-yaml");
const doc = yaml.load(fs.readFileSync("api/openapi.yaml", "utf8"));
fs.writeFileSync("api/openapi.json.tmp", JSON.stringify(doc, null, 2) + "\n");
fs.renameSync("api/openapi.json.tmp", "api/openapi.json");
' "$PWD/tests/openapi"
echo "wrote api/openapi.json"
