"""Prepare OIE2016 train/dev as jsonl for training (development-only step).

Takes: ../shared/data/oie2016/{train,dev}.oie (TAB-separated: SENTENCE,
PREDICATE-HEAD, FULL-PREDICATE, ARG1, ARG2, ...; one tuple a line).
Gives: export/data/{train,dev}.jsonl, one sentence a line:
  {"id", "text" (whitespace tokens joined by single spaces), "tuples": [{"head","pred","args"}...],
   "triple": index of the labelled tuple or null, "labels": per-token
   O/SRC/REL/TGT or null}
and export/data/stats.json with projection counts. One triple a sentence:
the first tuple in file order with ARG1, predicate and ARG2 that projects
with at least one word per part (see export/data/DATA.md).
Run: python -m kgx_export.data.prepare [--src ../shared/data/oie2016]
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from kgx_export.common import DATA_DIR, REPO, write_json, write_jsonl
from kgx_export.data.project import choose_triple, parse_oie_line, project

SPLITS = ("train", "dev")  # never the test split


def read_oie(path: Path) -> list[tuple[str, list[dict]]]:
    """Group consecutive lines of an .oie file by sentence."""
    groups: dict[str, list[dict]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parsed = parse_oie_line(line)
            if parsed:
                sent, tup = parsed
                groups.setdefault(sent, []).append(tup)
    return list(groups.items())


def prepare_split(groups, split: str) -> tuple[list[dict], dict]:
    """Rows for one split plus its projection statistics."""
    rows, c = [], Counter()
    for n, (sent, tuples) in enumerate(groups):
        tokens = sent.split()
        c["sentences"] += 1
        c["tuples"] += len(tuples)
        for t in tuples:  # counts over every tuple with ARG1+pred+ARG2
            if len(t["args"]) >= 2:
                p = project(tokens, t["args"][0], t["pred"], t["args"][1])
                c["tuples_with_arg2"] += 1
                c["words_in_tuples"] += sum(len(x.split()) for x in (t["args"][0], t["pred"], t["args"][1]))
                c["words_missing"] += p.missing
                c["words_overlap"] += p.overlap
                c["words_unordered"] += p.unordered
                c["tuples_with_missing_words"] += p.missing > 0
                c["tuples_complete"] += p.complete()
        chosen = choose_triple(tokens, tuples)
        row = {"id": f"{split}-{n:04d}", "text": " ".join(tokens),
               "triple": None, "labels": None, "tuples": tuples}
        if chosen:
            idx, p = chosen
            row["triple"], row["labels"] = idx, p.labels
            c["labelled_sentences"] += 1
            c["labelled_missing_words"] += p.missing
            c["labelled_overlap_words"] += p.overlap
            c["labelled_not_first_tuple"] += idx > 0
            for lab in p.labels:
                c[f"tokens_{lab}"] += 1
        rows.append(row)
    return rows, dict(c)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=REPO.parent / "shared" / "data" / "oie2016")
    ap.add_argument("--out", type=Path, default=DATA_DIR)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    stats = {}
    for split in SPLITS:
        rows, stats[split] = prepare_split(read_oie(args.src / f"{split}.oie"), split)
        write_jsonl(args.out / f"{split}.jsonl", rows)
        print(split, stats[split])
    write_json(args.out / "stats.json", stats)


if __name__ == "__main__":
    main()
