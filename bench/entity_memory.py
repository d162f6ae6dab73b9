"""Peak memory of `kgx extract` as a corpus grows: N documents against 10 N.

Usage: bench/entity_memory.py [--kgx target/release/kgx] [--small 2000] [--factor 10]
Builds two corpora of varied documents (each 3 to 6 sentences drawn, with a
fixed seed, from the GAP texts and the Wikipedia sentences in
../shared/data, or the tracked GAP validation copy; so the set of names
grows with the corpus, unlike copies of one sample), extracts each into a
fresh store (`--device cpu`, the default model and coreference), and prints
each run's peak RSS, wall time, entities and the ratio large / small. The
entity index lives in the run log on disk and the entity graph is rebuilt
through the bulk loader, so the ratio should stay near 1 (issue 20: under
1.2 from 2k to 20k documents). Standard library only.
"""
import argparse
import csv
import json
import random
import re
import resource
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = [REPO.parent / "shared/data/gap/gap-development.tsv", REPO / "export/data/gap/gap-validation.tsv"]
WIKI = REPO.parent / "shared/data/wiki_sentences_v2.csv"


def sentence_pool() -> list[str]:
    pool: list[str] = []
    for path in SOURCES:
        if path.is_file():
            with open(path, encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                    pool.extend(s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", row["Text"]) if len(s) > 20)
    if WIKI.is_file():
        with open(WIKI, encoding="utf-8", newline="") as f:
            pool.extend(row["sentence"].strip() for row in csv.DictReader(f) if len(row["sentence"].strip()) > 20)
    return pool


def write_corpus(path: Path, n: int, pool: list[str], seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            text = " ".join(rng.choice(pool) for _ in range(rng.randint(3, 6)))
            f.write(json.dumps({"id": f"doc-{i}", "text": text}) + "\n")


def extract(kgx: str, corpus: Path, store: Path) -> tuple[float, float, str]:
    """(peak RSS MiB, wall s, the entity-graph line) of one run."""
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([kgx, "extract", "--device", "cpu", "--store", str(store), str(corpus)], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        print("note: peak RSS did not exceed an earlier child's; the figure is a lower bound")
    line = next((l for l in out.stderr.splitlines() if "entity graph" in l), "")
    return peak / 1024, wall, line


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kgx", default=str(REPO / "target/release/kgx"))
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--factor", type=int, default=10)
    a = ap.parse_args()
    pool = sentence_pool()
    print(f"sentence pool: {len(pool)}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (a.small, a.small * a.factor):
            corpus = Path(tmp) / f"corpus-{n}.jsonl"
            write_corpus(corpus, n, pool, seed=n)
            rss, wall, line = extract(a.kgx, corpus, Path(tmp) / f"store-{n}")
            results.append(rss)
            print(f"{n} documents: peak RSS {rss:.0f} MiB, {wall:.0f} s; {line.removeprefix('kgx: ')}", flush=True)
    print(f"peak RSS ratio {a.small * a.factor} / {a.small} documents: {results[1] / results[0]:.3f}")


if __name__ == "__main__":
    main()
