"""What entity resolution costs: kgx with and without it, interleaved.

Usage: bench/resolution_cost.py [--kgx target/release/kgx] [--rounds 3]
       [--gap FILE ...]
Runs `kgx extract --dry-run` on GAP texts as documents (default: GAP
development from ../shared/data/gap when present, else the tracked copy of
GAP validation; each paragraph a document, so the set of names grows with
the corpus) with the coreference model (the default) and with
`--no-coref`, A B A B ..., and prints each round's CPU seconds (user +
system of the kgx process), the share of CPU time resolution takes
((with - without) / with; mention finding and grouping run in both, so
this is the model's share) and peak RSS. Standard library only.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GAP_DEV = REPO.parent / "shared/data/gap/gap-development.tsv"
GAP_VAL = REPO / "export/data/gap/gap-validation.tsv"


def corpus(paths, out: Path) -> int:
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for path in paths:
            with open(path, encoding="utf-8", newline="") as g:
                for row in csv.DictReader(g, delimiter="\t", quoting=csv.QUOTE_NONE):
                    f.write(json.dumps({"id": row["ID"], "text": row["Text"]}) + "\n")
                    n += 1
    return n


def run(kgx: str, docs: Path, coref: bool) -> tuple[float, int]:
    """CPU seconds and peak RSS (KiB) of one kgx run, measured by a child that waits for it."""
    args = [kgx, "extract", "--quiet", "--dry-run", "--device", "cpu", str(docs)] + ([] if coref else ["--no-coref"])
    pid = os.fork()
    if pid == 0:
        os.execv(kgx, args)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"kgx failed: {' '.join(args)}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kgx", default=str(REPO / "target/release/kgx"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--gap", nargs="*", type=Path, default=[GAP_DEV if GAP_DEV.exists() else GAP_VAL])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "gap.jsonl"
        n = corpus(a.gap, docs)
        print(f"{n} GAP paragraphs from {', '.join(map(str, a.gap))}")
        shares, rows = [], []
        for r in range(a.rounds):
            with_cpu, with_rss = run(a.kgx, docs, True)
            without_cpu, without_rss = run(a.kgx, docs, False)
            share = (with_cpu - without_cpu) / with_cpu
            shares.append(share)
            print(f"round {r + 1}: with resolution {with_cpu:.1f} s CPU ({with_rss / 1024:.0f} MiB peak), "
                  f"without {without_cpu:.1f} s ({without_rss / 1024:.0f} MiB); resolution's share {share:.1%}")
        print(f"median share of CPU time in coreference: {statistics.median(shares):.1%}")


if __name__ == "__main__":
    main()
