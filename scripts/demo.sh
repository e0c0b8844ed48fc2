#!/usr/bin/env bash
# The main job: installs what is missing, builds, builds the bundled collections from
# data/anime, starts the engine on 127.0.0.1:50051, prints example queries, then serves
# the website and its HTTP API on http://127.0.0.1:8080/ until Ctrl-C.
#
#   ./scripts/demo.sh              build, serve, show examples, keep serving
#   ./scripts/demo.sh --no-serve   the same, but stop after the examples
#
# Environment: SIMSEARCH_LISTEN (default 127.0.0.1:50051), SIMSEARCH_WEB (default
# 127.0.0.1:8080: the website), SIMSEARCH_VAR (default var/: where the index root and
# intermediate files go).
set -euo pipefail
cd "$(dirname "$0")/.."
serve=1
for arg in "$@"; do
  case "$arg" in
    --no-serve) serve=0 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument '$arg' (use --no-serve or --help)" >&2; exit 2 ;;
  esac
done
listen=${SIMSEARCH_LISTEN:-127.0.0.1:50051}
web=${SIMSEARCH_WEB:-127.0.0.1:8080}
var=${SIMSEARCH_VAR:-var}
data=data/anime
catalog=(--catalog "$data/anime_cooperunion_2017.csv" --catalog "$data/anime_synopses_merged.csv"
         --catalog "$data/anime_catalogue_2024.csv")
bin=build

step() { printf '\n== %s\n' "$*"; }

# Fail now, not after minutes of building, when another process listens on $listen
# (or, when serving, on $web).
busy() {
  local host=${1%:*}
  host=${host#[}
  (exec 3<>"/dev/tcp/${host%]}/${1##*:}") 2>/dev/null
}
if busy "$listen"; then
  echo "demo: $listen is already in use by another process; stop it, or set SIMSEARCH_LISTEN" \
       "(e.g. SIMSEARCH_LISTEN=127.0.0.1:50052 ./scripts/demo.sh)" >&2
  exit 1
fi
if [ "$serve" = 1 ] && busy "$web"; then
  echo "demo: $web (the website) is already in use by another process; stop it, or set SIMSEARCH_WEB" \
       "(e.g. SIMSEARCH_WEB=127.0.0.1:8081 ./scripts/demo.sh)" >&2
  exit 1
fi

step "installing missing packages (idempotent)"
./scripts/install-deps.sh
step "building"
./scripts/build.sh

# Every collection, with the project's retraining command (scripts/retrain.sh): genres,
# synopsis vectors (the Universal Sentence Encoder Lite, a sentence at a time: about 2.5
# min on 2 cores), the ncf model on both sets of lists (5,000 users of 2017, 576 of
# 2023; each set's users apart, a 2023 list counting watching, completed and on hold:
# docs/MODELS.md, "Two data sets"), a vector predicted from content for every anime
# with fewer than 5 viewers (docs/MODELS.md, "Cold start"), and the bundles.
# MF (a dot product) is what the ncf collection serves (docs/MODELS.md): it beats
# popularity and item-kNN, is within noise of the best NCF model for users, and is by
# far the best when a watch list or a single item is the query, because its users and
# items share one space. One thread is the deterministic mode: every machine builds the
# same model from the same data.
step "fetching the sentence encoder (once)"
./scripts/fetch-use-lite.sh
step "building the collections (scripts/retrain.sh)"
./scripts/retrain.sh --interactions "$data/interactions_history_mal.csv" \
  --interactions "$data/animelist_2023.csv" "${catalog[@]}" \
  --synopses "$data/anime_synopses_merged.csv" --encoder "$var/models/use-lite" \
  --out "$var/index" --work "$var/work" --epochs 20 --threads 1

step "starting simsearch-engine on $listen"
# The engine's log goes to the terminal and to var/engine.log, where the demo waits for
# "serving ... on port": a health check alone could be answered by another process
# already on $listen (the engine itself refuses a busy port and exits).
"$bin/server/simsearch-engine" --index_root "$var/index" --listen "$listen" \
  2> >(tee "$var/engine.log" >&2) &
engine=$!
cleanup() { kill "$engine" 2>/dev/null || true; wait "$engine" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
export SIMSEARCH_SERVER=$listen
ready=0
for _ in $(seq 1 100); do
  if ! kill -0 "$engine" 2>/dev/null; then
    if grep -q "address already in use" "$var/engine.log" 2>/dev/null; then
      echo "demo: $listen is already in use by another process; stop it, or set SIMSEARCH_LISTEN" \
           "(e.g. SIMSEARCH_LISTEN=127.0.0.1:50052 ./scripts/demo.sh)" >&2
    else
      echo "demo: the engine exited at start; see its messages above" >&2
    fi
    exit 1
  fi
  if grep -q " on port " "$var/engine.log" 2>/dev/null &&
     "$bin/client/simsearch" health --timeout 1 >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
[ "$ready" = 1 ] || { echo "demo: the engine did not become healthy" >&2; exit 1; }

example() {
  printf '\n$ simsearch'
  printf ' %q' "$@"
  printf '\n'
  "$bin/client/simsearch" "$@"
}
# Titles of "more like TITLE" in each collection, as columns.
side_by_side() {
  local title=$1
  shift
  local cols=()
  for c in "$@"; do
    cols+=("$("$bin/client/simsearch" similar "$title" --collection "$c" -k 8 --json |
      sed -n 's/^        "title": "\(.*\)",$/\1/p' | cut -c1-34)")
  done
  printf '\nmore like %s:\n\n' "$title"
  printf '%-4s' "#"
  for c in "$@"; do printf '%-36s' "$c"; done
  printf '\n'
  for i in $(seq 1 8); do
    printf '%-4s' "$i"
    for col in "${cols[@]}"; do printf '%-36s' "$(sed -n "${i}p" <<<"$col")"; done
    printf '\n'
  done
}

step "example queries (the CLI is build/client/simsearch)"
example collections
example lookup "cowboy bebop" --collection genres --limit 3
printf '\n# Side by side: what viewers also watched (ncf), a story like it (synopsis), the\n'
printf '# same genres (genres).'
side_by_side "Cowboy Bebop" ncf synopsis genres
side_by_side "K-On!" ncf synopsis genres
printf '\n# One of them in full:'
example similar "Cowboy Bebop" --collection ncf -k 5
printf '\n# free text, encoded by the engine with the synopsis collection'"'"'s own encoder:'
example search --collection synopsis --text "bounty hunters drifting through space" -k 8
example similar "Steins;Gate" --collection ncf -k 5 --type TV
printf '\n# a watch list: liked Cowboy Bebop and Trigun; then also disliked Naruto:'
example recommend --like 1,6 --collection ncf -k 5
example recommend --like 1,6 --dislike 20 --dislike-weight 0.25 --collection ncf -k 5
printf '\n# and which liked anime each recommendation comes from (its exact share of the score):'
example recommend --like 1,6,5680 --collection ncf -k 3 --explain
printf '\n# a user of the training data (their own list excluded):'
example recommend --user 7 --collection ncf -k 5
example item 9253 --collection genres
printf '\n# an anime newer than both data sets: its ncf vector is predicted from its content,\n'
printf '# and a watch list of new anime alone is answered:'
example item 52991 --collection ncf
side_by_side "Sousou no Frieren" ncf synopsis genres
example recommend --like 52991,50265 --collection ncf -k 5
printf '\n# browsing: fall 2023 by popularity, and the best rated Comedy with 5,000 members or more:'
example browse --collection ncf --year 2023 --season fall --sort popularity --page-size 5
example browse --collection ncf --genre Comedy --min-members 5000 --page-size 5

if [ "$serve" = 0 ]; then
  step "done (--no-serve): stopping the engine"
  exit 0
fi
# The website and the HTTP API (the Lambda function's handler over HTTP), calling the
# engine over gRPC.
"$bin/lambda/simsearch-lambda" --serve-http "$web" --engine "$listen" --web-root web \
  2> >(tee "$var/web.log" >&2) &
gateway=$!
cleanup() {
  kill "$gateway" "$engine" 2>/dev/null || true
  wait "$gateway" "$engine" 2>/dev/null || true
}
for _ in $(seq 1 50); do
  grep -q "serving " "$var/web.log" 2>/dev/null && break
  if ! kill -0 "$gateway" 2>/dev/null; then
    echo "demo: the website could not start on $web (busy? set SIMSEARCH_WEB=127.0.0.1:8081); the engine" \
         "still serves gRPC on $listen" >&2
    wait "$engine"
  fi
  sleep 0.1
done
step "serving gRPC on $listen and the website on http://$web/ until Ctrl-C. Try:"
cat <<TXT
  build/client/simsearch similar "Fullmetal Alchemist" --collection ncf
  build/client/simsearch recommend --like 1,20 --collection ncf --json
  build/client/simsearch recommend --user 42 --collection ncf --genre Comedy
  curl -s 'http://$web/titles?q=cowboy%20beb&top_k=3'
  grpcurl -plaintext $listen list          (if you have grpcurl; reflection is on)

Open the website: http://$web/
TXT
wait "$engine"
