#!/usr/bin/python3
"""The PyTorch peer of simsearch-train-ncf: the same GMF and NeuMF, one training epoch.

Same data and shapes as bench/ncf_bench.cc: the bundled interactions, one held-out
item per user, every other pair with 4 sampled negatives, batch 256, binary
cross-entropy, Adam (lr 1e-3) updating only the embedding rows a batch touched
(sparse embeddings + SparseAdam, as simsearch's lazy Adam), 64 factors, MLP 64-32-16-8
(user and item MLP embeddings of 32 each). Prints one JSON line: samples/s of the
training loop alone (sampling the negatives, done with numpy beforehand, is not
counted; simsearch's figure counts its own sampling, so the comparison favours PyTorch).

  bench/peers/torch_ncf.py --model gmf --threads 1
Run by bench/train_peer_bench.sh; needs Debian's python3-torch.
"""
import argparse
import csv
import json
import sys
import time

import numpy as np
import torch
from torch import nn


class NCF(nn.Module):
    def __init__(self, kind, users, items, factors=64, layers=(64, 32, 16, 8)):
        super().__init__()
        self.kind = kind
        self.user_gmf = nn.Embedding(users, factors, sparse=True)
        self.item_gmf = nn.Embedding(items, factors, sparse=True)
        out = factors
        if kind == "neumf":
            half = layers[0] // 2
            self.user_mlp = nn.Embedding(users, half, sparse=True)
            self.item_mlp = nn.Embedding(items, half, sparse=True)
            mlp = []
            for a, b in zip(layers[:-1], layers[1:]):
                mlp += [nn.Linear(a, b), nn.ReLU()]
            self.mlp = nn.Sequential(*mlp)
            out += layers[-1]
        self.h = nn.Linear(out, 1)
        for e in self.modules():
            if isinstance(e, nn.Embedding):
                nn.init.normal_(e.weight, std=0.01)

    def forward(self, u, i):
        x = self.user_gmf(u) * self.item_gmf(i)
        if self.kind == "neumf":
            m = self.mlp(torch.cat([self.user_mlp(u), self.item_mlp(i)], dim=1))
            x = torch.cat([x, m], dim=1)
        return self.h(x).squeeze(1)


def load(path):
    users, items, pairs = {}, {}, []
    with open(path) as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            u = users.setdefault(row[0], len(users))
            i = items.setdefault(row[1], len(items))
            pairs.append((u, i))
    return np.array(pairs, dtype=np.int64), len(users), len(items)


def samples(pairs, num_items, negatives, rng):
    # Leave one pair per user out (the last), then 4 negatives per training pair that
    # the user has not interacted with.
    order = np.lexsort((np.arange(len(pairs)), pairs[:, 0]))
    p = pairs[order]
    last = np.r_[p[1:, 0] != p[:-1, 0], True]
    train = p[~last]
    seen = set(map(tuple, train.tolist()))
    u = np.repeat(train[:, 0], negatives)
    j = rng.integers(0, num_items, len(u))
    for k in range(len(u)):
        while (u[k], j[k]) in seen:
            j[k] = rng.integers(0, num_items)
    users = np.concatenate([train[:, 0], u])
    its = np.concatenate([train[:, 1], j])
    labels = np.concatenate([np.ones(len(train)), np.zeros(len(u))]).astype(np.float32)
    perm = rng.permutation(len(users))
    return users[perm], its[perm], labels[perm]


def main():
    a = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    a.add_argument("--interactions", default="data/anime/interactions_history_mal.csv")
    a.add_argument("--model", choices=["gmf", "neumf"], default="gmf")
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--batch", type=int, default=256)
    o = a.parse_args()
    torch.set_num_threads(o.threads)
    torch.manual_seed(42)
    pairs, nu, ni = load(o.interactions)
    rng = np.random.default_rng(42)
    t0 = time.perf_counter()
    u, i, y = samples(pairs, ni, 4, rng)
    sampling = time.perf_counter() - t0
    u, i, y = torch.from_numpy(u), torch.from_numpy(i), torch.from_numpy(y)
    model = NCF(o.model, nu, ni)
    sparse = [p for n, p in model.named_parameters() if n.startswith(("user_", "item_"))]
    dense = [p for n, p in model.named_parameters() if not n.startswith(("user_", "item_"))]
    opt_s = torch.optim.SparseAdam(sparse, lr=1e-3)
    opt_d = torch.optim.Adam(dense, lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    n = len(y)
    t0 = time.perf_counter()
    total = 0.0
    for b in range(0, n, o.batch):
        ub, ib, yb = u[b:b + o.batch], i[b:b + o.batch], y[b:b + o.batch]
        opt_s.zero_grad()
        opt_d.zero_grad()
        loss = loss_fn(model(ub, ib), yb)
        loss.backward()
        opt_s.step()
        opt_d.step()
        total += float(loss) * len(yb)
    secs = time.perf_counter() - t0
    print(json.dumps({"peer": "pytorch " + torch.__version__, "model": o.model, "threads": o.threads,
                      "samples": n, "seconds": round(secs, 2), "samples_per_second": round(n / secs),
                      "sampling_seconds": round(sampling, 2), "loss": round(total / n, 4)}))


if __name__ == "__main__":
    sys.exit(main())
