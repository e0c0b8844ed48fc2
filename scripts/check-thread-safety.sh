#!/usr/bin/env bash
# Clang's thread-safety analysis over every simsearch translation unit: the
# ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED annotations are checked, and a
# violation fails (-Werror=thread-safety). GCC, which builds the tree, ignores them.
#
#   ./scripts/check-thread-safety.sh [BUILD_DIR]    default build/ (must be configured
#                                                   and built: it reads its
#                                                   compile_commands.json and the
#                                                   generated protobuf headers)
#
# Clang only parses and analyses (-fsyntax-only): the analysis is a front-end pass,
# so no second tree is compiled or linked. About 90 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
build=${1:-build}
clang=$(command -v clang++-14 || command -v clang++ || true)
if [ -z "$clang" ]; then
  echo "thread-safety: clang++ is not installed; ./scripts/install-deps.sh installs clang-14" >&2
  exit 1
fi
if [ ! -f "$build/compile_commands.json" ]; then
  echo "thread-safety: $build/compile_commands.json is missing; run ./scripts/build.sh first" >&2
  exit 1
fi
exec python3 - "$clang" "$build" "$(nproc)" <<'PY'
import json, os, shlex, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor

clang, build, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
root = os.getcwd()
units = {}
for entry in json.load(open(os.path.join(build, "compile_commands.json"))):
    path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
    rel = os.path.relpath(path, root)
    if rel.startswith(("build", "..")) or not rel.endswith(".cc"):
        continue  # generated protobuf code and anything outside the tree
    args = shlex.split(entry["command"])[1:]
    keep, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-o", "-c"):
            skip = a == "-o"
            continue
        if a == path or a == entry["file"] or a.startswith("-Wno-maybe-uninitialized"):
            continue
        keep.append(a)
    units[rel] = (rel, entry["directory"],
                  [clang, "-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety",
                   "-Wno-unknown-warning-option", "-Wno-unused-command-line-argument",
                   "-fsized-deallocation"]
                  + keep + [path])

# A canary first: a guarded member written without its lock must fail, or the analysis
# is not active (say, the annotation macros expand to nothing) and a pass means nothing.
canary = os.path.join(build, "thread_safety_canary.cc")
with open(canary, "w") as f:
    f.write('#include "absl/synchronization/mutex.h"\n'
            'struct Canary {\n  absl::Mutex mu;\n  int n ABSL_GUARDED_BY(mu) = 0;\n'
            '  void Bump() { ++n; }\n};\n')
any_unit = next(iter(units.values()))
run = subprocess.run(any_unit[2][:-1] + [os.path.abspath(canary)], cwd=any_unit[1],
                     capture_output=True, text=True)
os.remove(canary)
if run.returncode == 0 or "-Wthread-safety" not in run.stderr:
    sys.stderr.write("thread-safety: the canary (an unguarded write) was not refused, so the "
                     "analysis is not running:\n" + run.stderr)
    sys.exit(1)

def check(unit):
    rel, cwd, cmd = unit
    run = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return rel, run.returncode, run.stderr

start, failed = time.time(), []
with ThreadPoolExecutor(jobs) as pool:
    for rel, rc, err in pool.map(check, [units[k] for k in sorted(units)]):
        if rc != 0:
            failed.append(rel)
            sys.stderr.write(err)
if failed:
    sys.stderr.write("thread-safety: %d of %d units fail clang's analysis: %s\n"
                     % (len(failed), len(units), ", ".join(failed)))
    sys.exit(1)
sys.stderr.write("thread-safety: %d units pass clang's -Wthread-safety (%.0f s)\n"
                 % (len(units), time.time() - start))
PY
