"""Real prose from ../shared/data as sentences, for silver labels and benchmark corpora.

Takes: GAP's TSV files (the `Text` column: Wikipedia paragraphs) and the
Wikipedia film sentences CSV (`sentence` column, lower-cased in the source).
Gives: sentences, in file order: paragraphs cut after ., ! or ? followed by
space and a capital, quote or bracket; film sentences capitalised.
Standard library only: bench/gpu_corpus.py runs it on the GPU machine too.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def split_sentences(text: str) -> list[str]:
    """`text` cut at sentence ends (SENTENCE_END)."""
    return SENTENCE_END.split(text.strip())


def gap_sentences(path: Path) -> list[str]:
    """The sentences of every paragraph of a GAP TSV file."""
    out: list[str] = []
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            out += split_sentences(row["Text"])
    return out


def wiki_film_sentences(path: Path) -> list[str]:
    """The Wikipedia film sentences, capitalised."""
    with open(path, encoding="utf-8", newline="") as f:
        return [r["sentence"].strip().capitalize() for r in csv.DictReader(f)]
