#!/usr/bin/env bash
# A link launcher (CMake's CXX_LINKER_LAUNCHER): runs the link command it is given with
# each shared library of the dependencies swapped for its static archive (lib*.a beside
# the .so, as Debian ships them for gRPC, protobuf, abseil, FAISS, OpenBLAS...).
#
# Why: a process that loads 70 shared libraries spends most of its start in the dynamic
# loader (docs/BENCHMARKS.md, "Lambda adapter"); the Lambda bootstrap's init phase is
# paid on every cold start. Kept shared: the C and C++ runtimes, OpenMP and gfortran
# (runtimes with their own state), and libraries without a static archive.
set -euo pipefail
keep_shared=" c m dl rt pthread stdc++ gcc_s gomp gfortran quadmath "
args=()
static_blas=""
for arg in "$@"; do
  if [[ "$arg" =~ ^(/.*)/lib([A-Za-z0-9_+-]+)\.so(\.[0-9.]+)?$ ]]; then
    dir=${BASH_REMATCH[1]}
    name=${BASH_REMATCH[2]}
    if [[ "$keep_shared" != *" $name "* ]]; then
      if [ "$name" = blas ] || [ "$name" = lapack ]; then
        # Debian's libblas/liblapack are alternatives for OpenBLAS, whose one archive holds both.
        if [ -f "$dir/libopenblas.a" ]; then
          [ -n "$static_blas" ] || args+=("$dir/libopenblas.a")
          static_blas=yes
          continue
        fi
      elif [ -f "$dir/lib$name.a" ]; then
        args+=("$dir/lib$name.a")
        continue
      fi
    fi
  fi
  args+=("$arg")
done
# Archives need their users before them: one group from the first archive to the end
# resolves the order whatever it is.
out=()
grouped=""
for arg in "${args[@]}"; do
  if [ -z "$grouped" ] && [[ "$arg" == *.a ]]; then
    out+=(-Wl,--start-group)
    grouped=yes
  fi
  out+=("$arg")
done
[ -z "$grouped" ] || out+=(-Wl,--end-group)
[ -z "$static_blas" ] || out+=(-lgfortran)
exec "${out[@]}"
