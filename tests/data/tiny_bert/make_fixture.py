#!/usr/bin/python3
"""Builds the tiny random BERT of the encoder parity tests and its expected outputs.

An independent reference, written from the BERT definition (Devlin et al. 2019) and
Hugging Face's BertTokenizer / sentence-transformers conventions, in numpy (float64).
Nothing here is shared with the C++ code under test.

    /usr/bin/python3 tests/data/tiny_bert/make_fixture.py     # needs python3-numpy (apt)

Writes, beside this script:
  f32/   a sentence-transformers folder: config.json, vocab.txt, model.safetensors (F32),
         tokenizer_config.json, sentence_bert_config.json, modules.json, 1_Pooling/config.json
  f16/   the same model with F16 weights
  expected.json   token ids and embeddings of test sentences, per folder
"""
import json
import math
import os
import struct
import unicodedata

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_SEQ = 16

VOCAB = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
         + list(".,!?'-()\"$")
         + list("abcdefghijklmnopqrstuvwxyz0123456789")
         + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
         + ["the", "cowboy", "bebop", "space", "bounty", "hunt", "##er", "##ers", "##s",
            "drift", "##ing", "through", "cafe", "deja", "vu", "hello", "world", "test",
            "日", "本", "語", "東", "京", "un", "##believ", "##able", "naive"])

CONFIG = {
    "architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(VOCAB) + 3,
    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 64, "max_position_embeddings": 40, "type_vocab_size": 2,
    "layer_norm_eps": 1e-12, "hidden_act": "gelu",
}

TOKENIZE_CASES = [
    "Hello, world!",
    "COWBOY BEBOP",
    "Café Déjà-vu naïve",
    "日本語 test 東京",
    "space 😀 cowboy",
    "",
    "   \t\n  ",
    "a\tb\u0000c\u200bd",
    "unbelievable bounty hunters drifting",
    "x" * 120,
    "(the) \"bebop\" $5 - cowboy's",
    "the " * 30,
]

EMBED_CASES = [
    "bounty hunters drifting through space",
    "Cowboy Bebop",
    "hello world",
    "Café Déjà-vu",
    "日本語 test",
    "the " * 30,
]


# ---------------------------------------------------------------- tokenizer (reference)

def is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    if c in "\t\n\r":
        return False
    return unicodedata.category(c).startswith("C")


def is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text):
    cleaned = []
    for c in text:
        if ord(c) == 0 or ord(c) == 0xFFFD or is_control(c):
            continue
        if is_whitespace(c):
            cleaned.append(" ")
        elif is_cjk(ord(c)):
            cleaned.append(" " + c + " ")
        else:
            cleaned.append(c)
    out = []
    for token in "".join(cleaned).split():
        token = token.lower()
        token = "".join(c for c in unicodedata.normalize("NFD", token)
                        if unicodedata.category(c) != "Mn")
        cur = ""
        for c in token:
            if is_punctuation(c):
                if cur:
                    out.append(cur)
                cur = ""
                out.append(c)
            else:
                cur += c
        if cur:
            out.append(cur)
    return out


def wordpiece(word, vocab):
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            sub = word[start:end]
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                found = sub
                break
            end -= 1
        if found is None:
            return ["[UNK]"]
        pieces.append(found)
        start = end
    return pieces


def encode(text, vocab_ids, max_len):
    tokens = [p for w in basic_tokenize(text) for p in wordpiece(w, vocab_ids)]
    tokens = tokens[: max_len - 2]
    ids = [vocab_ids["[CLS]"]] + [vocab_ids.get(t, vocab_ids["[UNK]"]) for t in tokens] + [vocab_ids["[SEP]"]]
    return tokens, ids


# ---------------------------------------------------------------- model (reference)

def make_weights(rng):
    H, I, V = CONFIG["hidden_size"], CONFIG["intermediate_size"], CONFIG["vocab_size"]
    P, T = CONFIG["max_position_embeddings"], CONFIG["type_vocab_size"]
    w = {}

    def normal(*shape, std=0.3):
        return rng.normal(0.0, std, size=shape)

    def ln(name):
        w[name + ".weight"] = 1.0 + normal(H, std=0.1)
        w[name + ".bias"] = normal(H, std=0.1)

    w["embeddings.word_embeddings.weight"] = normal(V, H, std=0.5)
    w["embeddings.position_embeddings.weight"] = normal(P, H, std=0.2)
    w["embeddings.token_type_embeddings.weight"] = normal(T, H, std=0.2)
    ln("embeddings.LayerNorm")
    for l in range(CONFIG["num_hidden_layers"]):
        p = "encoder.layer.%d." % l
        for name, (o, i) in [("attention.self.query", (H, H)), ("attention.self.key", (H, H)),
                             ("attention.self.value", (H, H)), ("attention.output.dense", (H, H)),
                             ("intermediate.dense", (I, H)), ("output.dense", (H, I))]:
            w[p + name + ".weight"] = normal(o, i, std=1.0 / math.sqrt(i))
            w[p + name + ".bias"] = normal(o, std=0.1)
        ln(p + "attention.output.LayerNorm")
        ln(p + "output.LayerNorm")
    return w


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def forward(w, ids):
    """One sequence, no padding: mean pooling over its tokens, then L2 normalisation."""
    H, heads = CONFIG["hidden_size"], CONFIG["num_attention_heads"]
    dh, eps = H // heads, CONFIG["layer_norm_eps"]
    L = len(ids)
    x = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][:L]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    for l in range(CONFIG["num_hidden_layers"]):
        p = "encoder.layer.%d." % l

        def lin(name, v):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q, k, v = lin("attention.self.query", x), lin("attention.self.key", x), lin("attention.self.value", x)
        ctx = np.zeros_like(x)
        for h in range(heads):
            s = slice(h * dh, (h + 1) * dh)
            scores = q[:, s] @ k[:, s].T / math.sqrt(dh)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx[:, s] = scores @ v[:, s]
        a = layer_norm(lin("attention.output.dense", ctx) + x,
                       w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        x = layer_norm(lin("output.dense", gelu(lin("intermediate.dense", a))) + a,
                       w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


# ---------------------------------------------------------------- files

def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    np_dtype = {"F32": "<f4", "F16": "<f2"}[dtype]
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name].astype(np_dtype)).tobytes()
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_folder(d, weights, dtype):
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f, indent=2)
    with open(os.path.join(d, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": MAX_SEQ, "do_lower_case": False}, f, indent=2)
    with open(os.path.join(d, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                   {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
                  f, indent=2)
    with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": CONFIG["hidden_size"], "pooling_mode_cls_token": False,
                   "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), weights, dtype)


def main():
    rng = np.random.default_rng(20261127)
    weights = make_weights(rng)
    vocab_ids = {t: i for i, t in enumerate(VOCAB)}
    expected = {"max_seq_length": MAX_SEQ, "tokenize": [], "embed": {}}
    for text in TOKENIZE_CASES:
        tokens, ids = encode(text, vocab_ids, MAX_SEQ)
        full = [p for w in basic_tokenize(text) for p in wordpiece(w, vocab_ids)]
        expected["tokenize"].append({"text": text, "tokens": full, "ids": ids})
    for folder, dtype in [("f32", "F32"), ("f16", "F16")]:
        # The reference runs on exactly the stored values (F16 rounding included).
        stored = {k: v.astype({"F32": np.float32, "F16": np.float16}[dtype]).astype(np.float64)
                  for k, v in weights.items()}
        write_folder(os.path.join(HERE, folder), weights, dtype)
        expected["embed"][folder] = [
            {"text": t, "embedding": forward(stored, encode(t, vocab_ids, MAX_SEQ)[1]).tolist()}
            for t in EMBED_CASES]
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
