#!/usr/bin/env bash
# Runs the reflection-only Node.js client against a real engine.
# Usage: run_reflection_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/grpc-js-reflection-client" ]; then
  echo "node modules missing: run 'npm ci --prefix $here' (scripts/test.sh does)" >&2
  exit 1
fi
source "$here/../testing/tiny_engine.sh"
start_tiny_engine "$build"
node "$here/reflection_test.js" "127.0.0.1:$port"
