#!/usr/bin/env python3
"""Summarises simsearch-train-ncf runs (their metrics.json files) over seeds: mean and
standard deviation (sample, n-1) of HR@10, Recall@20 and NDCG@20, as Markdown tables.

  python3 bench/summarize_runs.py --group dataset var/datasets/*/metrics.json
  python3 bench/summarize_runs.py --group statuses var/datasets/status-*/metrics.json

--group dataset: one row per (training data, model, evaluated users); the users of
each data set apart and all together. MF appears twice: scoring a known user ("mf")
and a watch list folded in as the engine serves it ("mf, watch list").
--group statuses: MF per set of statuses trained on, by evaluated users.
--group confidence: MF per --score-weight strength and --negative-statuses weight,
by evaluated users.
--group lengths: watch lists cut to each length (simsearch-train-ncf --eval-lengths):
popularity, item-kNN and the fold-in variants, by length and evaluated users.
"""
import argparse
import json
import os
import statistics
import sys
from collections import defaultdict

METRICS = [("hr@10", "HR@10"), ("recall@20", "Recall@20"), ("ndcg@20", "NDCG@20")]


def short(path):
    name = os.path.basename(path)
    return {"interactions_history_mal.csv": "2017", "animelist_2023.csv": "2023"}.get(name, name)


def cell(values):
    if not values:
        return ""
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return "%.4f ± %.4f" % (mean, sd)


def rows_of(run):
    """(model, evaluated users, metrics) for every result of one run."""
    sets = [short(p) for p in run["data"]["interactions"]]
    out = []

    def add(model, result):
        by = result.get("by_dataset") or []
        if len(by) > 1:
            for entry in by:
                out.append((model, short(entry["dataset"]) + " users", entry["metrics"]))
        out.append((model, "all users" if len(sets) > 1 else sets[0] + " users", result["metrics"]))

    for m in run["models"]:
        add(m["name"], m)
    wl = (run.get("exported_watch_list") or {}).get("fold_in")
    if wl:
        add(run["exported"] + ", watch list", wl)
    return " + ".join(sets), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--group", choices=["dataset", "statuses", "confidence", "lengths"],
                    required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    table = defaultdict(lambda: defaultdict(list))  # key -> metric -> values
    seeds = defaultdict(set)
    order = []
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            run = json.load(f)
        if args.group == "lengths":
            for entry in run.get("by_list_length") or []:
                for r in entry["rows"]:
                    results = [(short(b["dataset"]) + " users", b["metrics"]) for b in r["by_dataset"]]
                    results.append(("all users", r["metrics"]))
                    for users, metrics in results:
                        key = ("L=%d" % entry["length"], r["name"], users)
                        if key not in table:
                            order.append(key)
                        for name, _ in METRICS:
                            table[key][name].append(metrics[name])
                        seeds[key].add(run["split"]["seed"])
            continue
        trained_on, results = rows_of(run)
        for model, users, metrics in results:
            if args.group in ("statuses", "confidence"):
                if model not in ("mf", "mf, watch list"):
                    continue
                if args.group == "statuses":
                    key = (",".join(str(s) for s in run["data"]["statuses"]), model, users)
                else:
                    data = run["data"]
                    label = "score weight %g" % data.get("score_weight", 0)
                    if data.get("negative_statuses"):
                        label += ", status %s negative x%g" % (
                            ",".join(str(x) for x in data["negative_statuses"]),
                            data["negative_weight"])
                    key = (label, model, users)
            else:
                key = (trained_on, model, users)
            if key not in table:
                order.append(key)
            for name, _ in METRICS:
                table[key][name].append(metrics[name])
            seeds[key].add(run["split"]["seed"])
    first = {"statuses": "statuses trained on", "confidence": "pairs weighed by",
             "lengths": "list length"}.get(args.group, "trained on")
    print("| %s | model | evaluated | seeds | %s |" % (first, " | ".join(label for _, label in METRICS)))
    print("|---|---|---|---:|" + "---:|" * len(METRICS))
    def sort_key(k):
        if args.group == "lengths":
            return (int(k[0][2:]), k[2], order.index(k))
        return (k[0], k[2], k[1])
    for key in sorted(order, key=sort_key):
        print("| %s | %s | %s | %d | %s |" % (key[0], key[1], key[2], len(seeds[key]),
                                              " | ".join(cell(table[key][name]) for name, _ in METRICS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
