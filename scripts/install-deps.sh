#!/usr/bin/env bash
# Installs the Debian 12 packages simsearch builds and tests with; with --bench, also
# the peers the benchmarks compare against (Python grpcio + FAISS, PyTorch),
# gnuplot for bench/figures.sh and wrk for bench/gateway_bench.sh.
# Idempotent: when every package is already installed it returns in well under a second
# without touching apt. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libfaiss-dev libhnswlib-dev libopenblas-dev libeigen3-dev libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  libutf8proc-dev libxxhash-dev libcpp-httplib-dev libssl-dev
  chromium fonts-dejavu-core
  prometheus haproxy openssl yamllint
  clang-14 clang-format-14
)
if [ "${1:-}" = "--bench" ]; then
  PACKAGES+=(python3-grpcio python3-faiss python3-numpy python3-protobuf python3-torch gnuplot-nox wrk)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the reflection-only gRPC client test. Some machines carry a
# nodesource build that bundles npm (and conflicts with Debian's npm package), so
# look for the commands rather than for Debian's package names.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: missing packages (${missing[*]}) and not root; rerun as root or install sudo" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
