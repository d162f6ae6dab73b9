"""A large, varied corpus for the GPU benchmark, made from a small pack of real text.

Usage:
  bench/gpu_corpus.py pack OUT.json.gz            (here: real sentences -> a pack, ~1 MB)
  bench/gpu_corpus.py make PACK N OUT.jsonl        (anywhere: N sentences as documents)
`pack` reads the GAP development and validation paragraphs
(../shared/data/gap), the Wikipedia film sentences
(../shared/data/wiki_sentences_v2.csv) and the shipped samples, splits
them into sentences and each sentence into clauses (at ", " and at " and ",
" but ", " which ", " who ", " while " when both sides have three words or
more). `make` writes documents of 1 to 6 sentences until it has N sentences:
the real sentences first, in a seeded shuffle, then new ones, each the
first clause of one real sentence joined to a later clause of another (so
lengths and vocabulary vary as in the sources; no sentence is a copy of
one sample). Deterministic for a pack and N. Standard library only: it
runs on the GPU machine too.
"""
from __future__ import annotations

import csv
import gzip
import json
import random
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "export"))
from kgx_export.data.prose import gap_sentences, split_sentences, wiki_film_sentences  # noqa: E402 (standard library only)

SHARED = REPO.parent / "shared" / "data"
JOINS = (", ", " and ", " but ", " which ", " who ", " while ")
JOIN = re.compile("(" + "|".join(re.escape(j) for j in JOINS) + ")")


def real_sentences() -> list[str]:
    """Every source that is there (a clean clone without ../shared has only the samples)."""
    out: list[str] = []
    for name in ("gap-development.tsv", "gap-validation.tsv"):
        path = SHARED / "gap" / name
        if not path.exists():
            print(f"gpu_corpus: {path} not found, left out", file=sys.stderr)
            continue
        out += gap_sentences(path)
    wiki = SHARED / "wiki_sentences_v2.csv"
    if wiki.exists():
        out += wiki_film_sentences(wiki)
    else:
        print(f"gpu_corpus: {wiki} not found, left out", file=sys.stderr)
    with open(REPO / "samples" / "wiki_films.csv", encoding="utf-8", newline="") as f:
        out += [r["sentence"].strip() for r in csv.DictReader(f)]
    with open(REPO / "samples" / "wiki_people.jsonl", encoding="utf-8") as f:
        for line in f:
            out += split_sentences(json.loads(line)["text"])
    seen, unique = set(), []
    for s in out:
        if len(s.split()) >= 4 and s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


def clauses(sentence: str) -> list[str]:
    """The sentence cut at its joins, each join kept at the front of the piece after it."""
    parts = JOIN.split(sentence)
    pieces = [parts[0]]
    for join, text in zip(parts[1::2], parts[2::2]):
        if len(pieces[-1].split()) >= 3 and len(text.split()) >= 3:
            pieces.append(join + text)
        else:
            pieces[-1] += join + text
    return pieces


def pack(out: Path) -> None:
    sentences = real_sentences()
    data = {"sentences": sentences, "clauses": [clauses(s) for s in sentences]}
    with gzip.open(out, "wt", encoding="utf-8") as f:
        json.dump(data, f)
    print(f"{len(sentences)} sentences, {sum(len(c) > 1 for c in data['clauses'])} with clauses -> {out}")


def make(pack_path: Path, n: int, out: Path, seed: int = 24) -> None:
    with gzip.open(pack_path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    rng = random.Random(seed)
    real = list(data["sentences"])
    rng.shuffle(real)
    heads = [c[0] for c in data["clauses"] if len(c) > 1]
    tails = [t for c in data["clauses"] for t in c[1:]]

    def sentences():
        yield from real
        while True:
            head, tail = rng.choice(heads), rng.choice(tails)
            text = head + tail
            yield text if text[-1] in ".!?\"'" else text + "."

    made, doc = 0, 0
    stream = sentences()
    with open(out, "w", encoding="utf-8") as f:
        while made < n:
            k = min(rng.randint(1, 6), n - made)
            text = " ".join(next(stream) for _ in range(k))
            f.write(json.dumps({"id": f"d{doc}", "text": text}) + "\n")
            made, doc = made + k, doc + 1
    print(f"{made} sentences in {doc} documents -> {out}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "pack":
        pack(Path(sys.argv[2]))
    elif len(sys.argv) == 5 and sys.argv[1] == "make":
        make(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
    else:
        sys.exit(__doc__)
