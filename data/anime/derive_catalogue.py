#!/usr/bin/env python3
"""Derives data/anime/anime_catalogue_2024.csv: one row per MAL anime id with the fields
the 2017 catalogue and the synopsis file lack (start date, age rating, nsfw flag,
studios, franchise relations, cover image) and titles for anime newer than 2017.

Run where the team's shared data folder is (it is not part of the repository):

    python3 data/anime/derive_catalogue.py --shared ../shared/data --out data/anime/anime_catalogue_2024.csv

Sources (see data/anime/README.md for their origins and licences), per field the first
that knows it wins, newest snapshot first:
  1. Jikan TV seasons 2006-2027 (catalogue/jikan_tv_seasons_2006_2027/*.json, Feb 2026; TV only)
  2. MAL API v2 fields (catalogue/mal_api_2024/anime_data.csv, June 2024)
  3. dbdmobile MyAnimeList Dataset 2023 (catalogue/anime_dataset_2023_*.csv)
Only Python's standard library; the output is deterministic (sorted by id).
"""
import argparse
import ast
import csv
import glob
import json
import os
import re
import sys

COLUMNS = ["anime_id", "name", "english_name", "type", "episodes", "genres", "start_date", "age_rating",
           "nsfw", "members", "score", "studios", "related", "image_url", "sources"]

AGE = {"g": "g", "pg": "pg", "pg_13": "pg_13", "r": "r", "r+": "r+", "rx": "rx"}
MONTHS = {m: i + 1 for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                           "Nov", "Dec"])}
TYPES = {"tv": "TV", "movie": "Movie", "ova": "OVA", "ona": "ONA", "special": "Special", "music": "Music",
         "tv_special": "TV Special"}


def age_rating(text):
    """'PG-13 - Teens 13 or older' or 'pg_13' -> 'pg_13'; 'Rx - Hentai' -> 'rx'."""
    if not text or text.upper() == "UNKNOWN":
        return ""
    head = text.split(" - ")[0].strip().lower().replace("-", "_")
    return AGE.get(head, "")


def unknown(v):
    return v is None or str(v).strip() in ("", "UNKNOWN", "Unknown", "None", "nan")


def clean(v):
    return "" if unknown(v) else str(v).strip()


def number(v, kind=int):
    v = clean(v)
    if not v:
        return ""
    try:
        x = float(v)
    except ValueError:
        return ""
    return str(int(x)) if kind is int else ("%g" % x)


def py_list(text):
    """Jikan's lists are Python literals: "['Madhouse']"."""
    text = clean(text)
    if not text:
        return []
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []
    return [str(x) for x in value] if isinstance(value, list) else []


def aired_start(text):
    """dbdmobile's 'Oct 5, 2008 to Dec 21, 2008' / 'Apr 2009' / '2009' -> ISO prefix."""
    text = clean(text)
    if not text:
        return ""
    first = text.split(" to ")[0].strip()
    m = re.match(r"^([A-Z][a-z]{2}) (\d{1,2}), (\d{4})$", first)
    if m and m.group(1) in MONTHS:
        return "%s-%02d-%02d" % (m.group(3), MONTHS[m.group(1)], int(m.group(2)))
    m = re.match(r"^([A-Z][a-z]{2}) (\d{4})$", first)
    if m and m.group(1) in MONTHS:
        return "%s-%02d" % (m.group(2), MONTHS[m.group(1)])
    m = re.match(r"^(\d{4})$", first)
    return m.group(1) if m else ""


def image(url):
    url = clean(url)
    # Some MAL API rows are cut to the CDN folder; only a file is an image.
    return url if re.match(r"^https://cdn\.myanimelist\.net/images/anime/\d+/\d+[a-z]?\.(jpg|webp|png)$", url) else ""


def from_jikan(shared):
    out = {}
    for path in sorted(glob.glob(os.path.join(shared, "catalogue/jikan_tv_seasons_2006_2027/*.json"))):
        for r in json.load(open(path, encoding="utf-8")):
            genres = py_list(r.get("genres")) + py_list(r.get("themes")) + py_list(r.get("demographics"))
            start = clean(r.get("aired_from"))[:10]
            out.setdefault(int(r["mal_id"]), {
                "name": clean(r.get("title")), "english_name": clean(r.get("title_english")),
                "type": clean(r.get("type")), "episodes": number(r.get("episodes")),
                "genres": ", ".join(genres), "start_date": start,
                "age_rating": "rx" if clean(r.get("is_hentai")) == "True" else age_rating(r.get("rating")),
                "members": number(r.get("members")), "score": number(r.get("score"), float),
                "studios": ", ".join(py_list(r.get("studios"))), "image_url": image(r.get("image_url")),
            })
    return out


def from_mal_api(shared):
    out = {}
    path = os.path.join(shared, "catalogue/mal_api_2024/anime_data.csv")
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            fields = [r.get("genre%d" % i, "") for i in range(1, 6)] + [r.get("picture", "")]
            pictures = [x for x in fields if clean(x).startswith("http")]
            genres = [clean(x) for x in fields[:5] if clean(x) and not clean(x).startswith("http")]
            out.setdefault(int(r["id"]), {
                "name": clean(r.get("title")), "type": TYPES.get(clean(r.get("media_type")), ""),
                "episodes": number(r.get("num_episodes")) if number(r.get("num_episodes")) != "0" else "",
                "genres": ", ".join(genres), "start_date": clean(r.get("start_date")),
                "age_rating": age_rating(r.get("rating")), "nsfw": clean(r.get("nsfw")),
                "members": number(r.get("num_list_users")), "score": number(r.get("mean"), float),
                "related": " ".join(x for x in clean(r.get("related")).split() if x.isdigit()),
                "image_url": image(pictures[0]) if pictures else "",
            })
    return out


def from_dbdmobile(shared):
    out = {}
    for name in ("anime_dataset_2023_random_sample.csv", "anime_dataset_2023_head_ids_upto_2000.csv"):
        with open(os.path.join(shared, "catalogue", name), newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                if not clean(r.get("anime_id")).isdigit():
                    continue
                out.setdefault(int(r["anime_id"]), {
                    "name": clean(r.get("Name")), "english_name": clean(r.get("English name")),
                    "type": clean(r.get("Type")), "episodes": number(r.get("Episodes")),
                    "genres": clean(r.get("Genres")), "start_date": aired_start(r.get("Aired")),
                    "age_rating": age_rating(r.get("Rating")), "members": number(r.get("Members")),
                    "score": number(r.get("Score"), float), "studios": clean(r.get("Studios")),
                    "image_url": image(r.get("Image URL")),
                })
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", required=True, help="the shared data folder (holds catalogue/ and SOURCES.md)")
    ap.add_argument("--out", required=True, help="the CSV to write")
    args = ap.parse_args()
    sources = [("jikan2026", from_jikan(args.shared)), ("malapi2024", from_mal_api(args.shared)),
               ("dbdmobile2023", from_dbdmobile(args.shared))]
    ids = sorted(set().union(*(s.keys() for _, s in sources)))
    tmp = args.out + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for i in ids:
            row = {"anime_id": str(i)}
            used = []
            for name, s in sources:
                rec = s.get(i)
                if rec is None:
                    continue
                used.append(name)
                for k, v in rec.items():
                    if v and not row.get(k):
                        row[k] = v
            if not row.get("name"):
                continue
            row["sources"] = " ".join(used)
            w.writerow([row.get(c, "") for c in COLUMNS])
    os.replace(tmp, args.out)
    print("wrote %s: %d anime" % (args.out, len(ids)), file=sys.stderr)


if __name__ == "__main__":
    main()
