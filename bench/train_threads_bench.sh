#!/usr/bin/env bash
# Two simsearch-train-ncf binaries side by side on the bundled interactions: one epoch
# of MODEL at 1 and 2 threads, with the machine idle and with another process keeping
# a core busy (a shell loop), interleaved ROUNDS times. Prints one line per run:
# side, busy, threads, training samples/s, HR@10 (which must not change).
#
#   git worktree add /tmp/before <commit> && (cd /tmp/before && ./scripts/build.sh)
#   bench/train_threads_bench.sh /tmp/before/build/models/ncf/simsearch-train-ncf \
#       build/models/ncf/simsearch-train-ncf gmf 2
set -u
a=$1 b=$2 model=${3:-gmf} rounds=${4:-2}
cd "$(dirname "$0")/.."
for r in $(seq 1 $rounds); do
  for busy in 0 1; do
    hog=""
    if [ $busy = 1 ]; then ( while :; do :; done ) & hog=$!; fi  # the other process
    for t in 1 2; do
      for side in A B; do
        bin=$a; [ $side = B ] && bin=$b
        out=$(mktemp -d)
        $bin --interactions data/anime/interactions_history_mal.csv --model $model --epochs 1 --threads $t --out $out >/dev/null 2>&1
        sps=$(python3 -c "import json;m=json.load(open('$out/metrics.json'));print([x for x in m['models'] if x['name']=='$model'][0]['train']['samples_per_second'])")
        hr=$(python3 -c "import json;m=json.load(open('$out/metrics.json'));print([x for x in m['models'] if x['name']=='$model'][0]['metrics']['hr@10'])")
        echo "$side busy=$busy threads=$t $sps $hr"
        rm -rf $out
      done
    done
    [ -n "$hog" ] && kill $hog
  done
done
