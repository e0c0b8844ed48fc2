# Sourced by shell tests.
source "$(dirname "${BASH_SOURCE[0]}")/logs.sh"
#
# start_engine BUILD_DIR ROOT [flags...]: starts simsearch-engine over ROOT on a free
#   port; sets $port and $engine_pid (logs in $work/engine.log). $work must exist.
# start_tiny_engine BUILD_DIR [flags...]: makes $work (removed, with the engine stopped,
#   by the EXIT trap), builds a three-item bundle `tiny` and starts the engine on it.

start_engine() {
  local build=$1 root=$2
  shift 2
  : > "$work/engine.log"
  "$build/server/simsearch-engine" --index_root "$root" --listen 127.0.0.1:0 --drain_delay 0 "$@" \
    > "$work/engine.log" 2>&1 &
  engine_pid=$!
  port=$(wait_log_value "$work/engine.log" 's/.* on port \([0-9]*\) .*/\1/p') && return 0
  echo "engine did not start:" >&2
  cat "$work/engine.log" >&2
  return 1
}

# The indexer, quiet unless it fails: then its output says why (a failure under set -e
# was silent before).
tiny_index() {
  if ! "$build/indexer/simsearch-indexer" "$@" > "$work/indexer.log" 2>&1; then
    echo "FAIL: simsearch-indexer $* failed:" >&2
    cat "$work/indexer.log" >&2
    return 1
  fi
}

start_tiny_engine() {
  local build=$1
  shift
  work=$(mktemp -d)
  engine_pid=""
  trap 'if [ -n "$engine_pid" ]; then kill "$engine_pid" 2>/dev/null; wait "$engine_pid" 2>/dev/null; fi; rm -rf "$work"' EXIT
  cat > "$work/catalog.csv" <<'CSV'
anime_id,name,english_name,genre,type,episodes,members,score,start_date
1,Cowboy Bebop,Cowboy Bebop,"Action, Sci-Fi",TV,26,486824,8.75,1998-04-03
5,Cowboy Bebop: Tengoku no Tobira,Cowboy Bebop: The Movie,"Action, Sci-Fi",Movie,1,137636,8.38,2001-09-01
6,Trigun,Trigun,"Action, Comedy",TV,26,283069,8.22,1998-04-01
CSV
  cat > "$work/vectors.csv" <<'CSV'
id,x,y
1,1.0,0.1
5,0.9,0.2
6,0.0,1.0
CSV
  tiny_index build --collection tiny --vectors "$work/vectors.csv" \
    --catalog "$work/catalog.csv" --out "$work/root" || return 1
  if [ "${TINY_WITH_USERS:-0}" = 1 ]; then
    # `tt`: inner product with two users, as a recommender bundle would be.
    printf 'id,a,b\n100,1.0,0.0\n200,0.0,1.0\n' > "$work/users.csv"
    printf 'user_id,anime_id\n100,1\n200,6\n' > "$work/user_items.csv"
    tiny_index build --collection tt --vectors "$work/vectors.csv" \
      --catalog "$work/catalog.csv" --metric ip --user-vectors "$work/users.csv" \
      --user-items "$work/user_items.csv" --out "$work/root" || return 1
  fi
  start_engine "$build" "$work/root" "$@"
}
