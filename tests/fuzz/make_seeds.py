#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz harnesses into corpus/<harness>/.

Seeds that already exist elsewhere in the repository (the saved API Gateway events in
tests/data/lambda, the tiny BERT model) are passed to the harnesses as extra corpus
directories by scripts/fuzz.sh and tests/fuzz/CMakeLists.txt, not copied here.
Run from anywhere: python3 tests/fuzz/make_seeds.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def npy(descr, shape, payload):
    shape_text = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    total = 10 + len(d) + 1
    d += " " * ((64 - total % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + payload


def array_file(dtype, dims, rows):
    fmt = "<f" if dtype == 1 else "<q"
    body = b"".join(struct.pack(fmt, v) for row in rows for v in row)
    header = b"SIMSARR\x00" + struct.pack("<IIQQQI", 1, dtype, dims, len(rows), 64, 0) + b"\x00" * 20
    return header + body


# vector_files: the first byte picks the reader (see fuzz_vector_files.cc).
f32 = struct.pack("<6f", 1, 0, 0, 0, 1, 0)
put("vector_files", "npy_f32", bytes([0]) + npy("<f4", (2, 3), f32))
put("vector_files", "vectors_npy_f64", bytes([1]) + npy("<f8", (2, 2), struct.pack("<4d", 1, 2, 3, 4)))
put("vector_files", "vectors_fvecs", bytes([2]) + struct.pack("<i3f", 3, 1, 2, 3) + struct.pack("<i3f", 3, 4, 5, 6))
put("vector_files", "vectors_csv", bytes([3]) + b'id,a,b\n1,0.5,1\n2,"3",4e2\n')
put("vector_files", "ids_npy", bytes([4]) + npy("<i8", (3,), struct.pack("<3q", 1, 2, 3)))
put("vector_files", "ids_npy_i4", bytes([4]) + npy("<i4", (2, 1), struct.pack("<2i", 7, 9)))
put("vector_files", "ids_text", bytes([5]) + b"1\n2\n 3 \n")
put("vector_files", "array_f32", bytes([6]) + array_file(1, 2, [[1.0, 0.0], [0.0, 1.0]]))
put("vector_files", "array_i64", bytes([6]) + array_file(2, 1, [[5], [6]]))

# safetensors: a small F32 + F16 + BF16 file (the tiny BERT is a seed too).
header = json.dumps({
    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    "b": {"dtype": "F16", "shape": [1, 2], "data_offsets": [8, 12]},
    "c": {"dtype": "BF16", "shape": [2], "data_offsets": [12, 16]},
    "__metadata__": {"format": "pt"}}).encode()
put("safetensors", "small", struct.pack("<Q", len(header)) + header +
    struct.pack("<2f", 1.5, -2) + struct.pack("<2H", 0x3C00, 0xC000) + struct.pack("<2H", 0x3F80, 0x4000))

# tokenizer: accents, CJK, punctuation, emoji, control characters, long words.
for i, t in enumerate(["Hello, World! Ça va? naïve café",
                       "東京で アニメ を 見る",
                       "bounty hunters drifting through space... 😀🚀",
                       "tab\tnew\nline\r\x00nul \u200b zero-width",
                       "a" * 300 + " unaffable unbelievable",
                       "ÀÉÎÕÜ ǅ ﬁ İstanbul"]):
    put("tokenizer", "text_%d" % i, t)

# bundle: manifests; the harness's bundle holds vectors.f32 (80 bytes) and ids.i64 (80).
manifest = {"builder": "simsearch-indexer 0.1.0", "built_at": "2026-11-28T00:00:00Z", "collection": "c",
            "count": 2, "dims": 2, "encoder": None,
            "files": [{"bytes": 80, "name": "ids.i64", "xxh3": "0000000000000000"},
                      {"bytes": 80, "name": "vectors.f32", "xxh3": "0000000000000000"}],
            "format_version": 1, "has_items": False, "has_query_vectors": False,
            "index": {"kind": "flat", "params": {}}, "metric": "cosine", "recall_at_10": 1.0,
            "recall_queries": 0, "source": "fuzz seed", "user_count": 0}
put("bundle", "flat", json.dumps(manifest, indent=2))
manifest["index"] = {"kind": "hnsw", "params": {"M": 16, "ef_construction": 40, "ef_search": 32}}
manifest["files"].append({"bytes": 1, "name": "../escape", "xxh3": "0"})
put("bundle", "hnsw_escape", json.dumps(manifest))
manifest["index"] = {"kind": "ivf", "params": {"nlist": 4, "nprobe": 2}}
manifest["files"] = [{"bytes": 80, "name": "encoder/words.txt", "xxh3": "1"}]
manifest["encoder"] = {"kind": "sif", "description": "x"}
put("bundle", "ivf_encoder", json.dumps(manifest))

# catalog: the bundled files' shape, quotes, entities, bad rows.
put("catalog", "cooperunion", 'anime_id,name,genre,type,episodes,rating,members\n'
    '32281,Kimi no Na wa.,"Drama, Romance, School, Supernatural",Movie,1,9.37,200630\n'
    '5114,Fullmetal Alchemist: Brotherhood,"Action, Adventure",TV,64,9.26,793665\n')
put("catalog", "synopses", 'anime_id,name,english_name,type,episodes,genres,synopsis\n'
    '1,Cowboy Bebop,Cowboy Bebop,TV,26.0,"Action, Sci-Fi","Crime is ""timeless""."\n'
    '6,Trigun &amp; Co,&#039;Trigun&#x27;,TV,Unknown,,\n')
put("catalog", "bad_rows", 'anime_id,name,genre,type\n1,Hello, World,Drama,Movie\n2,Short\nabc,x,y,z\n')

# http_request: the first byte is how the bytes arrive (pieces of byte % 17); then a
# request head and, when chunked, its body (see fuzz_http_request.cc).
put("http_request", "get", b"\x05GET /search?q=a%20b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
put("http_request", "chunked", b"\x03POST /recommend HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\n")
put("http_request", "length", b"\x00POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nabcde")
put("http_request", "absolute", b"\x01\r\nGET http://h/a?b HTTP/1.0\nConnection: keep-alive\n\n")
put("http_request", "bad", b"\x02GET /items/1%00.json HTTP/1.1\r\nHost: x\r\nX : y\r\n\r\n")
