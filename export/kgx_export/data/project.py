"""Project an open-IE tuple onto a sentence's whitespace tokens.

Takes: a sentence as a list of whitespace tokens and a tuple's three parts
(ARG1, FULL-PREDICATE, ARG2) as strings.
Gives: one label per token ("O", "SRC", "REL", "TGT") plus counts of the
tuple words that could not be tagged (absent from the sentence, or only
present on words another part already took).

Rules (see export/data/DATA.md):
* ARG1 -> SRC, predicate -> REL, ARG2 -> TGT.
* For each part, an exact contiguous occurrence is preferred. Failing that,
  words absent from the sentence are dropped (counted as "missing") and the
  rest is matched contiguously, then as an in-order subsequence.
* With repeated words every occurrence is a candidate; the combination
  chosen tags the most words (parts never overlap: a word tagged by an
  earlier part in SRC, REL, TGT order is skipped and counted as
  "overlap"), then keeps order SRC < REL < TGT, then is closest together.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

PARTS = ("SRC", "REL", "TGT")
MAX_CANDIDATES = 24  # per part; enough for any OIE2016 sentence


@dataclass
class Projection:
    """Result of projecting one tuple: labels and what could not be tagged."""

    labels: list[str]
    missing: int = 0  # tuple words that do not occur in the sentence
    overlap: int = 0  # tuple words whose placement another part already took
    unordered: int = 0  # words present but not matchable in the part's order
    tagged: dict[str, int] = field(default_factory=dict)  # words per part

    def complete(self) -> bool:
        """True when every part tagged at least one word."""
        return all(self.tagged.get(p, 0) > 0 for p in PARTS)


def _contiguous(tokens: list[str], words: list[str]) -> list[tuple[int, ...]]:
    n = len(words)
    return [tuple(range(i, i + n)) for i in range(len(tokens) - n + 1)
            if tokens[i:i + n] == words]


def _subsequences(tokens: list[str], words: list[str]) -> list[tuple[int, ...]]:
    """Greedy in-order matches anchored at each occurrence of the first word;
    later words that cannot be found after the previous match are dropped."""
    out = []
    for start in (i for i, t in enumerate(tokens) if t == words[0]):
        idx, pos = [start], start
        for w in words[1:]:
            nxt = next((j for j in range(pos + 1, len(tokens)) if tokens[j] == w), None)
            if nxt is not None:
                idx.append(nxt)
                pos = nxt
        out.append(tuple(idx))
    return out


def candidates(tokens: list[str], part: str) -> tuple[list[tuple[int, ...]], int]:
    """Candidate placements of one tuple part, and its count of words
    absent from the sentence. An empty part has the single empty placement."""
    words = part.split()
    if not words:
        return [()], 0
    exact = _contiguous(tokens, words)
    if exact:
        return exact[:MAX_CANDIDATES], 0
    vocab = set(tokens)
    present = [w for w in words if w in vocab]
    missing = len(words) - len(present)
    if not present:
        return [()], missing
    cands = _contiguous(tokens, present) or _subsequences(tokens, present)
    # dedupe while keeping order
    cands = list(dict.fromkeys(cands))
    return cands[:MAX_CANDIDATES], missing


def _inversions(starts: list[int]) -> int:
    return sum(1 for a, b in itertools.combinations(starts, 2) if a > b)


def project(tokens: list[str], arg1: str, pred: str, arg2: str) -> Projection:
    """Label `tokens` with one tuple; see the module docstring for the rules."""
    per_part = [candidates(tokens, p) for p in (arg1, pred, arg2)]
    missing = sum(m for _, m in per_part)
    n_words = sum(len(p.split()) for p in (arg1, pred, arg2))
    best_key, best, best_overlap = None, None, 0
    for combo in itertools.product(*(c for c, _ in per_part)):
        taken: set[int] = set()
        kept = []
        for idx in combo:
            k = tuple(i for i in idx if i not in taken)
            taken.update(k)
            kept.append(k)
        overlap = sum(len(c) - len(k) for c, k in zip(combo, kept))
        starts = [min(k) for k in kept if k]
        extent = (max(taken) - min(taken)) if taken else 0
        key = (n_words - len(taken), _inversions(starts), extent, tuple(starts))
        if best_key is None or key < best_key:
            best_key, best, best_overlap = key, kept, overlap
    labels = ["O"] * len(tokens)
    tagged = {}
    for name, idx in zip(PARTS, best):
        for i in idx:
            labels[i] = name
        tagged[name] = len(idx)
    unordered = n_words - sum(tagged.values()) - missing - best_overlap
    return Projection(labels, missing=missing, overlap=best_overlap,
                      unordered=unordered, tagged=tagged)


def parse_oie_line(line: str) -> tuple[str, dict] | None:
    """Split an OIE2016 line into (sentence, tuple dict) or None if blank.

    Columns: SENTENCE PREDICATE-HEAD FULL-PREDICATE ARG1 [ARG2 ...]."""
    cols = line.rstrip("\n").split("\t")
    if len(cols) < 4:
        return None
    sent, head, full, *args = cols
    return sent, {"head": head, "pred": full, "args": args}


def choose_triple(tokens: list[str], tuples: list[dict]):
    """First tuple in file order with ARG1, predicate and ARG2 that projects
    with at least one word per part. Returns (index, Projection) or None."""
    for i, t in enumerate(tuples):
        args = t["args"]
        if len(args) < 2 or not args[0].strip() or not t["pred"].strip() or not args[1].strip():
            continue
        p = project(tokens, args[0], t["pred"], args[1])
        if p.complete():
            return i, p
    return None
