"""GAP rows -> token-level training examples for the antecedent scorer.

Takes: a GAP TSV (ID, Text, Pronoun, Pronoun-offset, A, A-offset, A-coref,
B, B-offset, B-coref, URL) and the base tokenizer.
Gives: one `Example` a row: token ids of the text (at most MAX_TOKENS, a
window around the pronoun when longer), the pronoun's first token, and the
gold antecedent tokens: every token of every occurrence of the name that
the pronoun refers to (GAP labels one occurrence; the others are the same
person), or none (the antecedent is the [CLS] token: "neither A nor B").
The URL column is never read. A-coref and B-coref both TRUE does not occur
in GAP; it would mark both names.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass

MAX_TOKENS = 256
FEMININE = {"she", "her", "hers", "herself"}


@dataclass
class Example:
    id: str
    input_ids: list[int]
    pronoun: int
    gold: list[int]          # antecedent token indices (empty: none, i.e. [CLS])
    candidates: list[int]    # tokens of capitalised words (names kgx may find) and the gold tokens
    a_tokens: list[int]      # tokens of the labelled A span (for reporting)
    b_tokens: list[int]
    a_coref: bool
    b_coref: bool
    feminine: bool


def read_gap(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


# Capitalised words that are not names (kgx's mention finder drops these too;
# the list need not match it: it only narrows the tokens trained against).
NOT_NAMES = {"the", "he", "she", "his", "her", "hers", "him", "it", "its", "they", "their", "them", "in", "a", "an", "on",
             "at", "after", "before", "during", "when", "while", "however", "but", "and", "as", "for", "from", "with",
             "by", "of", "to", "if", "since", "then", "there", "this", "that", "these", "those", "i", "we", "you", "my",
             "our", "your", "also", "both", "following", "although", "though", "despite", "later", "one", "two"}


def capitalised_words(text: str) -> list[tuple[int, int]]:
    """Char spans of capitalised words that may be (part of) a name."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\W\d_][\w'’-]*", text)
            if m.group()[0].isupper() and m.group().lower() not in NOT_NAMES]


def occurrences(text: str, name: str) -> list[tuple[int, int]]:
    """Char spans of whole-word occurrences of `name` in `text`."""
    return [(m.start(), m.end()) for m in re.finditer(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text)]


def tokens_in(offsets, start: int, end: int) -> list[int]:
    """Indices of the (non-special) tokens overlapping chars [start, end)."""
    return [i for i, (s, e) in enumerate(offsets) if e > s and s < end and e > start]


def example(row: dict, tokenizer) -> Example | None:
    text = row["Text"]
    enc = tokenizer.encode(text)
    ids, offsets = enc.ids, enc.offsets
    p_start = int(row["Pronoun-offset"])
    p_tokens = tokens_in(offsets, p_start, p_start + len(row["Pronoun"]))
    if not p_tokens:
        return None
    spans = {}
    for key in ("A", "B"):
        start = int(row[f"{key}-offset"])
        spans[key] = tokens_in(offsets, start, start + len(row[key]))
    gold = []
    for key in ("A", "B"):
        if row[f"{key}-coref"].upper() == "TRUE":
            for s, e in occurrences(text, row[key]) or [(int(row[f"{key}-offset"]),
                                                        int(row[f"{key}-offset"]) + len(row[key]))]:
                gold += tokens_in(offsets, s, e)
    candidates = sorted({t for s, e in capitalised_words(text) for t in tokens_in(offsets, s, e)} | set(gold))
    candidates = [t for t in candidates if t not in p_tokens]
    # Window of MAX_TOKENS around the pronoun (mostly its left context).
    n = len(ids)
    lo = 0
    if n > MAX_TOKENS:
        lo = min(max(1, p_tokens[0] - (MAX_TOKENS * 3) // 4), n - MAX_TOKENS + 1)
        keep = lambda xs: [x - lo + 1 for x in xs if lo <= x < lo + MAX_TOKENS - 2]
        ids = [ids[0]] + ids[lo:lo + MAX_TOKENS - 2] + [ids[-1]]
        p_tokens, gold, candidates = keep(p_tokens), keep(gold), keep(candidates)
        spans = {k: keep(v) for k, v in spans.items()}
        if not p_tokens:
            return None
    return Example(id=row["ID"], input_ids=ids, pronoun=p_tokens[0], gold=sorted(set(gold)), candidates=candidates,
                   a_tokens=spans["A"], b_tokens=spans["B"],
                   a_coref=row["A-coref"].upper() == "TRUE", b_coref=row["B-coref"].upper() == "TRUE",
                   feminine=row["Pronoun"].lower() in FEMININE)


def examples(path, tokenizer) -> list[Example]:
    out = [example(r, tokenizer) for r in read_gap(path)]
    return [e for e in out if e is not None]
