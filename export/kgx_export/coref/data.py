"""GAP rows -> token-level training examples for the antecedent scorer.

Takes: a GAP TSV (ID, Text, Pronoun, Pronoun-offset, A, A-offset, A-coref,
B, B-offset, B-coref, URL) and the base tokenizer.
Gives: one `Example` a row: token ids of the text (at most MAX_TOKENS, a
window around the pronoun when longer), the pronoun's first token, and the
gold antecedent tokens: every token of every occurrence of the name that
the pronoun refers to, and of its words alone that the other name does not
share ("Johnson" after "Marc Johnson": GAP labels one occurrence; the
others are the same person, and without them a later surname would be
trained as a wrong antecedent), or none (the antecedent is the [CLS] token:
"neither A nor B").
`renamed` gives a copy of a row with A and B renamed to other names of the
same pronoun gender (augmentation: the scorer must not learn names).
The URL column is never read. A-coref and B-coref both TRUE does not occur
in GAP; it would mark both names.
"""
from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass

MAX_TOKENS = 256
FEMININE = {"she", "her", "hers", "herself"}
# A word that may be (part of) a name: a letter, then letters, digits, apostrophes, hyphens.
WORD = re.compile(r"[^\W\d_][\w'’-]*")


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
    return [(m.start(), m.end()) for m in WORD.finditer(text)
            if m.group()[0].isupper() and m.group().lower() not in NOT_NAMES]


def occurrences(text: str, name: str) -> list[tuple[int, int]]:
    """Char spans of whole-word occurrences of `name` in `text`."""
    return [(m.start(), m.end()) for m in re.finditer(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text)]


def name_words(name: str, other: str) -> list[str]:
    """The capitalised words of `name` (two letters or more) that `other` does not share."""
    shared = set(WORD.findall(other))
    return [w for w in WORD.findall(name) if len(w) > 1 and w[0].isupper() and w not in shared]


def antecedent_spans(text: str, name: str, other: str, start: int) -> list[tuple[int, int]]:
    """Char spans naming the antecedent: the labelled span, every occurrence of
    the full name and every occurrence of its own words (see the module doc)."""
    spans = {(start, start + len(name))} | set(occurrences(text, name))
    for w in name_words(name, other):
        spans |= set(occurrences(text, w))
    return sorted(spans)


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
    for key, other in (("A", "B"), ("B", "A")):
        if row[f"{key}-coref"].upper() == "TRUE":
            for s, e in antecedent_spans(text, row[key], row[other], int(row[f"{key}-offset"])):
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
    return examples_of(read_gap(path), tokenizer)


def examples_of(rows, tokenizer) -> list[Example]:
    out = [example(r, tokenizer) for r in rows]
    return [e for e in out if e is not None]


def candidate_names(rows: list[dict]):
    """(feminine, words) of every A and B name: GAP picks both candidates
    with the pronoun's gender, so each row labels two names."""
    for r in rows:
        feminine = r["Pronoun"].lower() in FEMININE
        for key in ("A", "B"):
            yield feminine, r[key].split()


def name_pools(rows: list[dict]) -> dict[bool, tuple[list[str], list[str]]]:
    """First and last names of the two-word A/B names, by pronoun gender."""
    pools: dict[bool, tuple[set, set]] = {True: (set(), set()), False: (set(), set())}
    for feminine, words in candidate_names(rows):
        if len(words) == 2 and all(w[:1].isupper() and w.isalpha() for w in words):
            pools[feminine][0].add(words[0])
            pools[feminine][1].add(words[1])
    return {g: (sorted(f), sorted(l)) for g, (f, l) in pools.items()}


def renamed(row: dict, pools, rng: random.Random) -> dict | None:
    """`row` with A and B renamed: every occurrence of each of their words
    (not shared by the two names) replaced by a word of a new name drawn
    from `pools` for the pronoun's gender; offsets follow. None when a
    name has no word of its own to rename, or when no new word is found
    that the text does not hold already."""
    firsts, lasts = pools[row["Pronoun"].lower() in FEMININE]
    mapping = {}
    for key, other in (("A", "B"), ("B", "A")):
        words = name_words(row[key], row[other])
        if not words:
            return None
        for i, w in enumerate(words):
            if w not in mapping:
                pool = lasts if i == len(words) - 1 and len(words) > 1 else firsts
                # A new word that the text holds, or that another word became,
                # would merge two people.
                fresh = (rng.choice(pool) for _ in range(16))
                new = next((f for f in fresh if f not in mapping.values() and not occurrences(row["Text"], f)), None)
                if new is None:
                    return None
                mapping[w] = new
    text = row["Text"]
    pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, sorted(mapping, key=len, reverse=True))) + r")(?!\w)")
    pieces, shifts, last = [], [], 0
    for m in pattern.finditer(text):
        pieces += [text[last:m.start()], mapping[m.group()]]
        shifts.append((m.end(), len(mapping[m.group()]) - len(m.group())))
        last = m.end()
    pieces.append(text[last:])
    new_offset = lambda o: o + sum(d for end, d in shifts if end <= o)
    sub = lambda s: pattern.sub(lambda m: mapping[m.group()], s)
    out = dict(row, ID=row["ID"] + "/renamed", Text="".join(pieces))
    out["Pronoun-offset"] = str(new_offset(int(row["Pronoun-offset"])))
    for key in ("A", "B"):
        out[key] = sub(row[key])
        out[f"{key}-offset"] = str(new_offset(int(row[f"{key}-offset"])))
    return out
