#!/usr/bin/env bash
# Packages simsearch-lambda for Lambda's Amazon Linux runtime: the binary, every shared
# library it loads (glibc and its loader included, as aws-lambda-cpp's packager does,
# since the build's glibc 2.36 is newer than Amazon Linux 2023's), and a `bootstrap`
# that starts it through the bundled loader.
#
#   lambda/package.sh BINARY OUT_DIR      -> OUT_DIR/{bootstrap,bin/,lib/}
set -euo pipefail
bin=$1
out=$2
mkdir -p "$out/bin" "$out/lib"
cp "$bin" "$out/bin/simsearch-lambda"
# Debug information is not needed at run time and is most of the binary's size.
if command -v strip >/dev/null 2>&1; then strip --strip-debug "$out/bin/simsearch-lambda"; fi
loader=""
while read -r lib; do
  [ -n "$lib" ] || continue
  cp -L "$lib" "$out/lib/"
  case "$(basename "$lib")" in ld-linux*) loader=$(basename "$lib") ;; esac
done < <(ldd "$bin" | awk '/=>/ && $3 ~ /^\// {print $3} /ld-linux/ && $1 ~ /^\// {print $1}')
[ -n "$loader" ] || { echo "package.sh: no dynamic loader found in ldd output" >&2; exit 1; }
cat > "$out/bootstrap" <<SH
#!/bin/sh
# Lambda custom runtime entry: simsearch-lambda through the loader and libraries it was
# built with.
here=\$(dirname "\$(readlink -f "\$0")")
exec "\$here/lib/$loader" --library-path "\$here/lib" "\$here/bin/simsearch-lambda" "\$@"
SH
chmod +x "$out/bootstrap"
echo "packaged $(ls "$out/lib" | wc -l) libraries into $out" >&2
