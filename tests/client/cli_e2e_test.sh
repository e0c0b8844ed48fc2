#!/usr/bin/env bash
# The `simsearch` CLI against a real engine: tables, JSON, exit codes and messages.
# Usage: cli_e2e_test.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../testing/tiny_engine.sh"
TINY_WITH_USERS=1 start_tiny_engine "$build" || exit 1
cli="$build/client/simsearch"
export SIMSEARCH_SERVER="127.0.0.1:$port"
export SIMSEARCH_COLLECTION=tiny
failures=0

# expect NAME WANT_EXIT PATTERN -- command...
expect() {
  local name=$1 want=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" != "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $want), output:" >&2
    echo "$out" >&2
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

expect similar-title 0 "^1 +5 +0\.99" -- "$cli" similar "cowboy bebop" -k 2
expect similar-header 0 "more like: Cowboy Bebop \(id 1" -- "$cli" similar "COWBOY BEBOP" -k 1
expect similar-id-json 0 '"id": 5' -- "$cli" similar 1 --collection tiny --json -k 1
expect similar-filter 0 "Trigun" -- "$cli" similar 1 --genre Comedy
# Excluding Comedy drops Trigun (Action, Comedy): only the movie is left.
expect similar-exclude-genre 0 "^1 +5 " -- "$cli" similar 1 --exclude-genre comedy -k 3
expect similar-exclude-genre-no-trigun 1 '^0$' -- bash -c "\"$cli\" similar 1 --exclude-genre comedy -k 3 | grep -c Trigun"
expect similar-exclude-type 0 "Trigun" -- "$cli" similar 1 --exclude-type Movie -k 1
expect recommend 0 "^1 +6 " -- "$cli" recommend --like 1,5 -k 1
expect item 0 "english:  Cowboy Bebop: The Movie" -- "$cli" item 5
expect collections 0 "^tiny +v000001 +cosine +2 +3 flat" -- "$cli" collections
expect describe 0 '"types": \["Movie","TV"\]|types: +\["Movie","TV"\]' -- "$cli" describe tiny
expect lookup 0 "^1 +1\.00 +Cowboy Bebop" -- "$cli" lookup cowboy bebop
expect health 0 "SERVING" -- "$cli" health
expect search 0 "^1 +1 " -- "$cli" search --vector 1,0 -k 1
expect unknown-item 1 "NOT_FOUND: item 42 is not in collection 'tiny'.*\[ITEM_NOT_IN_COLLECTION\]" -- "$cli" similar 42
expect bad-dims 1 "INVALID_ARGUMENT: query vector has 3 components" -- "$cli" search --vector 1,2,3
expect unknown-title 1 "NOT_FOUND: no anime titled \"zzzzqqqq\" in collection 'tiny'.*\[TITLE_NOT_FOUND\]" -- "$cli" similar "zzzzqqqq"
expect bad-k 1 "top_k must be between 1 and 1000, got 0" -- "$cli" similar 1 -k 0
expect similar-exact 0 "^1 +5 +0\.99" -- "$cli" similar 1 -k 2 --exact
expect bad-ef 1 "ef must be between 1 and 4096, got 0" -- "$cli" similar 1 --ef 0
expect min-score-cuts 0 "^1$" -- bash -c "\"$cli\" similar 1 -k 3 --min-score 0.5 | grep -c '^[0-9]'"
expect usage 2 "unknown command 'simlar'" -- "$cli" simlar 1
# Browsing: by MAL score, by date, a season; bad values are usage errors.
expect browse-score 0 "^1 +8\.75 +1998-04-03 +Cowboy Bebop" -- "$cli" browse
expect browse-date-first 0 "^5 +8\.38 +2001-09-01" -- bash -c "\"$cli\" browse --sort date | sed -n 2p"
expect browse-season 0 "^2 items in all" -- "$cli" browse --year 1998 --season spring
expect browse-json 0 '"mal_score": 8.38' -- "$cli" browse --json --sort popularity --asc --page-size 1
expect browse-min-members 0 "^1 item in all" -- "$cli" browse --min-members 400000
expect browse-bad-rating 1 "unknown age rating 'PG13'" -- "$cli" browse --max-age-rating PG13
expect browse-bad-sort 2 "--sort takes score, popularity or date" -- "$cli" browse --sort best
expect browse-bad-season 2 "--season takes winter" -- "$cli" browse --season monsoon
expect browse-bad-years 1 "max_start_year \(1990\) is before filter.min_start_year" -- "$cli" browse --min-year 2000 --max-year 1990
# A watch list's reasons: Trigun is liked for... the only liked anime.
expect recommend-explain 0 "because you liked 1 \(" -- "$cli" recommend --like 1 -k 1 --explain
expect explain-user 2 "--explain names liked anime" -- "$cli" recommend --user 100 --explain --collection tt
expect item-facts 0 "score:    8.75 \(MyAnimeList\)" -- "$cli" item 1
# Pages: two pages of 1 are the 2 results of -k 2 (tiny has 3 items), in order.
ids() { awk '/^[0-9]/ {print $2}'; }
whole=$("$cli" similar 1 -k 2 | ids | tr '\n' ' ')
page1=$("$cli" similar 1 -k 2 --page-size 1)
token=$(sed -n 's/^next page: --page-token //p' <<<"$page1")
page2=$("$cli" similar 1 -k 2 --page-size 1 --page-token "$token")
paged="$(ids <<<"$page1" | tr '\n' ' ')$(ids <<<"$page2" | tr '\n' ' ')"
if [ -n "$token" ] && [ "$paged" = "$whole" ] && ! grep -q "next page" <<<"$page2"; then
  echo "ok   pages"
else
  echo "FAIL pages: whole '$whole', paged '$paged', token '$token'" >&2
  failures=$((failures + 1))
fi
expect stale-token 1 "page_token belongs to another search.*\[PAGE_TOKEN_INVALID\]" -- "$cli" similar 1 -k 1 --page-size 1 --page-token "$token"
# User 100 has vector (1, 0) and has watched item 1: item 5 (0.9) comes first.
expect recommend-user 0 "^1 +5 +0\.9000" -- "$cli" recommend --user 100 --collection tt -k 1
expect recommend-user-json 0 '"user": 100' -- "$cli" recommend --user 100 --collection tt --json
expect unknown-user 1 "NOT_FOUND: user 5 is not in collection 'tt'" -- "$cli" recommend --user 5 --collection tt
expect user-no-vectors 1 "FAILED_PRECONDITION: collection 'tiny' has no user vectors" -- "$cli" recommend --user 100
expect user-and-like 2 "either --like" -- "$cli" recommend --user 100 --like 1 --collection tt
expect dislike-weight 1 "negative_weight must be in \(0, 1\], got 2" -- "$cli" recommend --like 1 --dislike 6 --dislike-weight 2
expect no-server 1 "UNAVAILABLE.*is simsearch-engine running on 127.0.0.1:1\?" -- "$cli" collections --server 127.0.0.1:1 --timeout 2

[ "$failures" = 0 ] || { echo "$failures CLI check(s) failed" >&2; exit 1; }
