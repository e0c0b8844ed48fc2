#!/usr/bin/env bash
# A second public interactions data set for bench/run_models.sh, from a Debian package:
# InstEval (lme4): 73,421 lecture evaluations by 2,972 ETH Zurich students of 1,128
# lecturers, ratings 1-5. The student is the user, the lecturer the item.
#
#   scripts/fetch-insteval.sh            # writes var/data/insteval/interactions.csv
#   bench/run_models.sh var/data/insteval/interactions.csv
#
# The package is downloaded, not installed (no R needed): its lazy-load data base is
# read by tools/rdata_to_csv.py. Source and licence: var/data/insteval/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${SIMSEARCH_VAR:-var}/data/insteval
mkdir -p "$out"
if [[ -s "$out/interactions.csv" ]]; then
  echo "$out/interactions.csv is there"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download r-cran-lme4 >/dev/null 2>&1) ||
  { echo "fetch-insteval: apt-get download r-cran-lme4 failed (is Debian's archive reachable?)" >&2; exit 1; }
deb=$(ls "$work"/r-cran-lme4_*.deb)
dpkg-deb -x "$deb" "$work/x"
python3 tools/rdata_to_csv.py "$work/x/usr/lib/R/site-library/lme4/data/Rdata" InstEval > "$work/insteval.csv"
# s (student), d (lecturer), y (rating) -> user_id,item_id,rating
python3 - "$work/insteval.csv" "$out/.interactions.csv.tmp" <<'PY'
import csv, sys
rows = csv.DictReader(open(sys.argv[1]))
with open(sys.argv[2], "w") as f:
    f.write("user_id,item_id,rating\n")
    n = 0
    for r in rows:
        f.write(f"{r['s']},{r['d']},{r['y']}\n")
        n += 1
if n != 73421:
    sys.exit(f"fetch-insteval: expected 73,421 evaluations, read {n}")
PY
mv "$out/.interactions.csv.tmp" "$out/interactions.csv"
cat > "$out/README.md" <<MD
# InstEval: lecture evaluations (second data set for bench/run_models.sh)

- Source: the \`InstEval\` data set of the R package lme4, as shipped by Debian 12
  (\`$(basename "$deb")\`), read from its lazy-load data base by tools/rdata_to_csv.py.
- Content: 73,421 evaluations by 2,972 students (\`s\`, here user_id) of 1,128 lecturers
  (\`d\`, here item_id) at ETH Zurich, rating \`y\` 1-5 (lme4's documentation: "University
  lecture evaluations by students at ETH Zurich", anonymised).
- Licence: lme4 is GPL (>= 2) (Debian's copyright file for r-cran-lme4); the data set is
  distributed with it.
MD
echo "wrote $out/interactions.csv (73,421 rows) and its README.md"
