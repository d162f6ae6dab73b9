"""Two kgx binaries against each other: the same extraction, interleaved.

Usage: bench/ab.py OLD_KGX NEW_KGX [--rounds 7] [--corpus FILE ...] [--dry-run]
For a change that must keep speed (a refactor), run the old binary and the
new one in turn, A B A B ..., each into a fresh store on the same corpus
(default: ../shared/data/wiki_sentences_v2.csv and samples/, 4,643
sentences), so both see the same load on a shared machine. Prints each
round's seconds and ratio new/old, and the median ratio; also checks that
the two stores hold the same data (N-Quads with run-made quads dropped,
as ../shared/tools/nq-canon does) and exits 1 if they differ.
Standard library only: run it with any python3.
"""
import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = [REPO.parent / "shared/data/wiki_sentences_v2.csv", REPO / "samples/wiki_films.csv", REPO / "samples/oie2016_dev_excerpt.txt"]
RUN_MADE = re.compile(r'<[^>]*/run/[^>]*>|<http://www\.w3\.org/ns/prov#(generatedAtTime|startedAtTime|endedAtTime)>')


def extract(kgx: str, store: Path, corpus: list, dry_run: bool) -> float:
    args = [kgx, "extract", "--quiet", "--device", "cpu", "--store", str(store), *map(str, corpus)]
    if dry_run:
        args.insert(2, "--dry-run")
    start = time.perf_counter()
    subprocess.run(args, check=True)
    return time.perf_counter() - start


def canonical(kgx: str, store: Path) -> list:
    """The store's N-Quads without what belongs to a run, sorted."""
    out = subprocess.run([kgx, "export", "--store", str(store), "--format", "nquads"], check=True, capture_output=True, text=True).stdout
    return sorted({re.sub(r"_:[A-Za-z0-9_.-]+", "_:b", line) for line in out.splitlines() if line and not RUN_MADE.search(line)})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--corpus", type=Path, nargs="+", default=DEFAULT_CORPUS)
    ap.add_argument("--dry-run", action="store_true", help="tag only (no store; skips the data check)")
    a = ap.parse_args()
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        stores = {}
        for r in range(a.rounds):
            seconds = {}
            for name, kgx in (("old", a.old), ("new", a.new)) if r % 2 == 0 else (("new", a.new), ("old", a.old)):
                store = Path(tmp) / f"{name}-{r}"
                seconds[name] = extract(kgx, store, a.corpus, a.dry_run)
                stores[name] = (kgx, store)
            ratios.append(seconds["new"] / seconds["old"])
            print(f"round {r + 1}: old {seconds['old']:.2f} s, new {seconds['new']:.2f} s, new/old {ratios[-1]:.3f}", flush=True)
        print(f"median new/old over {a.rounds} rounds: {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
        if not a.dry_run:
            same = canonical(*stores["old"]) == canonical(*stores["new"])
            print("stores: same data" if same else "stores: DIFFERENT data")
            return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
