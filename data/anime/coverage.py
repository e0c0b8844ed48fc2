#!/usr/bin/env python3
"""Prints the coverage table of data/anime/README.md: of the catalogue's anime (the
union of the three catalogue files, as simsearch-indexer --catalog merges them), how
many have viewers in each interactions file, a synopsis, genres, a cover image, by
the year they started.

    python3 data/anime/coverage.py            (from the repository root)
"""
import csv
import os
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOGUES = ["anime_cooperunion_2017.csv", "anime_synopses_merged.csv", "anime_catalogue_2024.csv"]
VIEW_STATUSES = {"1", "2", "3"}  # watching, completed, on hold: what the ncf collection trains on


def read(name):
    with open(os.path.join(HERE, name), newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def main():
    anime = {}  # id -> fields, first file that knows a field wins
    for name in CATALOGUES:
        for r in read(name):
            a = anime.setdefault(int(r["anime_id"]), {})
            genres = r.get("genre") or r.get("genres") or ""
            for key, value in (("genres", genres), ("synopsis", r.get("synopsis", "")),
                               ("image", r.get("image_url", "")), ("start", r.get("start_date", ""))):
                if value and value.strip() and value.strip() != "UNKNOWN" and not a.get(key):
                    a[key] = value.strip()
    viewers_2017 = {int(r["anime_id"]) for r in read("interactions_history_mal.csv")}
    viewers_2023 = {int(r["anime_id"]) for r in read("animelist_2023.csv") if r["status"] in VIEW_STATUSES}

    def bucket(a):
        y = a.get("start", "")[:4]
        if not y.isdigit():
            return "unknown"
        y = int(y)
        for lo, hi in ((0, 1999), (2000, 2009), (2010, 2016), (2017, 2019), (2020, 2022), (2023, 2024), (2025, 9999)):
            if lo <= y <= hi:
                return "before 2000" if lo == 0 else ("%d and later" % lo if hi == 9999 else "%d-%d" % (lo, hi))
        return "unknown"

    order = ["before 2000", "2000-2009", "2010-2016", "2017-2019", "2020-2022", "2023-2024", "2025 and later",
             "unknown"]
    rows = defaultdict(lambda: defaultdict(int))
    for i, a in anime.items():
        for b in (bucket(a), "all"):
            r = rows[b]
            r["anime"] += 1
            r["2017 viewers"] += i in viewers_2017
            r["2023 viewers"] += i in viewers_2023
            r["any viewers"] += i in viewers_2017 or i in viewers_2023
            r["synopsis"] += bool(a.get("synopsis"))
            r["genres"] += bool(a.get("genres"))
            r["cover image"] += bool(a.get("image"))
    cols = ["anime", "2017 viewers", "2023 viewers", "any viewers", "synopsis", "genres", "cover image"]
    print("| started | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for b in order + ["all"]:
        if b not in rows:
            continue
        r = rows[b]
        cells = [format(r["anime"], ",")] + ["%s (%.0f %%)" % (format(r[c], ","), 100.0 * r[c] / r["anime"])
                                              for c in cols[1:]]
        print("| %s | %s |" % ("**all**" if b == "all" else b, " | ".join(cells)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
