"""Token-classification metrics used by training, export and the model card.

Takes: per-sentence gold and predicted label-id sequences over the labelled
positions only (first sub-tokens; -100 positions already removed), or padded
arrays plus a -100 label mask via `sequences_from_arrays`.
Gives: token accuracy and exact-match span precision/recall/F1 per label
(a span is a maximal run of consecutive words with the same non-O label),
and the macro F1 over SRC/REL/TGT.
"""
from __future__ import annotations

from kgx_export.common import IGNORE, LABELS

SPAN_LABELS = [l for l in LABELS if l != "O"]


def spans(seq: list[int]) -> set[tuple[int, int, int]]:
    """Maximal runs (label, start, end_exclusive) of equal non-O labels."""
    out, i = set(), 0
    while i < len(seq):
        j = i
        while j < len(seq) and seq[j] == seq[i]:
            j += 1
        if seq[i] != 0:
            out.add((seq[i], i, j))
        i = j
    return out


def sequences_from_arrays(pred, gold) -> tuple[list[list[int]], list[list[int]]]:
    """Per-row (pred, gold) lists keeping positions where gold != -100."""
    ps, gs = [], []
    for p_row, g_row in zip(pred, gold):
        keep = [i for i, g in enumerate(g_row) if g != IGNORE]
        ps.append([int(p_row[i]) for i in keep])
        gs.append([int(g_row[i]) for i in keep])
    return ps, gs


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "pred": n_pred, "gold": n_gold}


def evaluate(preds: list[list[int]], golds: list[list[int]]) -> dict:
    """Token accuracy, per-label span P/R/F1 and macro span F1."""
    correct = total = 0
    counts = {l: [0, 0, 0] for l in SPAN_LABELS}  # tp, pred, gold
    for p, g in zip(preds, golds):
        if len(p) != len(g):
            raise ValueError("pred/gold length mismatch")
        correct += sum(a == b for a, b in zip(p, g))
        total += len(g)
        sp, sg = spans(p), spans(g)
        for lab, _, _ in sp:
            counts[LABELS[lab]][1] += 1
        for lab, _, _ in sg:
            counts[LABELS[lab]][2] += 1
        for lab, _, _ in sp & sg:
            counts[LABELS[lab]][0] += 1
    per = {l: _prf(*counts[l]) for l in SPAN_LABELS}
    return {
        "token_accuracy": correct / total if total else 0.0,
        "tokens": total,
        "sentences": len(golds),
        "spans": per,
        "macro_f1": sum(per[l]["f1"] for l in SPAN_LABELS) / len(SPAN_LABELS),
    }
