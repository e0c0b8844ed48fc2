#!/usr/bin/env python3
"""Extract a data frame from an installed R package's lazy-load data base as CSV.

    tools/rdata_to_csv.py LIBDIR/lme4/data/Rdata InstEval > insteval.csv

R keeps a package's data sets in Rdata.rdx (a gzip'ed serialized index: name -> offset,
length) and Rdata.rdb (per object: a 4-byte big-endian length, then a zlib stream of
the serialized object). The serialization is R's XDR format ("X\\n", version 2 or 3);
this reader knows the types a data frame of numbers and factors uses (lists, logical, integer,
double and string vectors, attribute pairlists, symbols and references to them) and
rejects anything else by name. Factors are written as their labels.
"""
import gzip
import struct
import sys
import zlib


class Reader:
    def __init__(self, data):
        self.b, self.i, self.refs = data, 0, []

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError("truncated serialization")
        out = self.b[self.i:self.i + n]
        self.i += n
        return out

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def header(self):
        if self.take(2) != b"X\n":
            raise ValueError("not R's XDR serialization")
        version = self.int()
        self.take(8)  # writer and minimal reader versions
        if version == 3:
            self.take(self.int())  # native encoding name

    def item(self):
        flags = self.int()
        t = flags & 0xFF
        has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
        if t == 254:  # NILVALUE_SXP
            return None
        if t == 255:  # REFSXP
            return self.refs[(flags >> 8) - 1]
        if t == 1:  # SYMSXP
            name = self.item()
            self.refs.append(name)
            return name
        if t == 2:  # LISTSXP: attribute pairlist
            out = {}
            while t == 2:
                attr = self.item() if has_attr else None
                tag = self.item() if has_tag else None
                out[tag] = self.item()
                flags = self.int()
                t, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
            if t != 254:
                raise ValueError(f"pairlist ends in type {t}")
            return out
        if t == 9:  # CHARSXP
            n = self.int()
            return None if n == -1 else self.take(n).decode("utf-8", "replace")
        n = self.int()
        if t in (10, 13):  # LGLSXP, INTSXP (factors too)
            v = list(struct.unpack(f">{n}i", self.take(4 * n)))
        elif t == 14:  # REALSXP
            v = list(struct.unpack(f">{n}d", self.take(8 * n)))
        elif t in (16, 19):  # STRSXP, VECSXP
            v = [self.item() for _ in range(n)]
        else:
            raise ValueError(f"R type {t} is not supported by this reader")
        attrs = self.item() if has_attr else {}
        return Value(v, attrs or {})


class Value:
    def __init__(self, v, attrs):
        self.v, self.attrs = v, attrs


def load(base, name):
    index = Reader(gzip.decompress(open(base + ".rdx", "rb").read()))
    index.header()
    top = index.item()
    names = top.attrs.get("names").v
    variables = top.v[names.index("variables")]
    var_names = variables.attrs["names"].v
    if name not in var_names:
        sys.exit(f"{base}.rdx: no data set '{name}'; it has: {', '.join(var_names)}")
    offset, length = (int(x) for x in variables.v[var_names.index(name)].v)
    with open(base + ".rdb", "rb") as f:
        f.seek(offset)
        blob = f.read(length)
    raw = zlib.decompress(blob[4:])
    if len(raw) != struct.unpack(">I", blob[:4])[0]:
        raise ValueError("object length does not match its header")
    r = Reader(raw)
    r.header()
    return r.item()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    frame = load(sys.argv[1], sys.argv[2])
    cols = frame.attrs["names"].v
    values = []
    for c in frame.v:
        levels = c.attrs.get("levels")
        if levels is not None:
            values.append([levels.v[x - 1] if x > 0 else "" for x in c.v])
        else:
            values.append([("%d" % x if float(x).is_integer() else repr(x)) for x in c.v])
    out = sys.stdout
    out.write(",".join(cols) + "\n")
    for row in zip(*values):
        out.write(",".join(row) + "\n")


if __name__ == "__main__":
    main()
