"""Predicate-indexed training examples: several triples a sentence.

Takes: export/data/{train,dev}.jsonl (one sentence a line, every gold tuple
in "tuples"; see DATA.md).
Gives: export/data/{train,dev}.predicate.jsonl, several examples a sentence:
  * one *detection* example ("predicate": null): REL on the head word of
    every gold predicate, O elsewhere;
  * one *argument* example per distinct predicate head ("predicate": the
    head's whitespace-token index, marked with token type 1 at encoding
    time): ARG1 -> SRC, FULL-PREDICATE -> REL, ARG2 and later -> TGT for
    that tuple (later arguments only on words no other part took; CaRB
    joins every argument after the first into one; --arg2-only leaves them O).
Derived tuples (--no-copulas leaves them out), from a spaCy parse of the
sentence, on heads no gold tuple uses, for two gaps of OIE2016 that CaRB
annotates: copular clauses ("X is a footballer"; OIE2016 annotates verbal
predicates only, see `copula_tuples`) and verbs whose subject is a personal
pronoun (OIE2016 has no tuple with a pronoun ARG1, see
`pronoun_subject_tuples`).
Also export/data/predicate_stats.json with the counts.

The same ONNX model serves both passes (inputs input_ids, attention_mask,
token_type_ids; output logits over O/SRC/REL/TGT): kgx first runs the
sentence unmarked and reads the heads off the REL tags, then runs it once
per head with that head marked. Invariants: an argument example's head word
is always tagged REL; when several tuples share a head the first in file
order with ARG1 and ARG2 wins (else the first with ARG1).
Run: python -m kgx_export.data.predicates
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from kgx_export.common import DATA_DIR, read_jsonl, write_json, write_jsonl
from kgx_export.data.project import candidates, project
from kgx_export.parse import RELATION_DEPS, load_nlp

SPLITS = ("train", "dev")  # never the test split


def head_index(tokens: list[str], head: str, labels: list[str]) -> int | None:
    """Index of the predicate head word: the occurrence inside the projected
    REL words if there is one, else the first occurrence, else None."""
    hits = [i for i, t in enumerate(tokens) if t == head]
    if not hits:
        return None
    inside = [i for i in hits if labels[i] == "REL"]
    return (inside or hits)[0]


def argument_labels(tokens: list[str], tup: dict, later_args: bool = True) -> list[str]:
    """SRC/REL/TGT labels of one tuple (TGT empty without ARG2). With
    `later_args`, ARG3 and later are TGT too, where they occur on words no
    other part took (CaRB joins every argument after the first into one)."""
    args = tup["args"]
    labels = project(tokens, args[0], tup["pred"], args[1] if len(args) > 1 else "").labels
    for extra in args[2:] if later_args else []:
        placements, _ = candidates(tokens, extra)
        free = next((p for p in placements if p and all(labels[i] == "O" for i in p)), ())
        for i in free:
            labels[i] = "TGT"
    return labels


COPULA_DEPS = {"ROOT", "conj", "ccomp", "advcl"}


def tag_subtree(labels: list[str], token, name: str, only_untagged: bool = False) -> None:
    """Label the words of `token`'s subtree (all, or only those still O)."""
    for i in range(token.left_edge.i, token.right_edge.i + 1):
        if not only_untagged or labels[i] == "O":
            labels[i] = name


def tag_relation(labels: list[str], verb, deps) -> None:
    """REL on `verb` and on its children attached with a dependency in `deps`."""
    for c in [verb, *(c for c in verb.children if c.dep_ in deps)]:
        labels[c.i] = "REL"


def copula_tuples(doc) -> list[tuple[int, list[str]]]:
    """Derived (silver) tuples for copular clauses, which OIE2016 (built
    from verbal QA-SRL predicates) leaves unannotated but CaRB annotates:
    a form of *be* heading its clause (dep ROOT/conj/ccomp/advcl) with a
    nominal subject and an attr/acomp complement gives (subject subtree,
    be + its negation, complement subtree). `doc` is a spaCy Doc over the
    sentence's whitespace tokens. Returns (head index, labels) pairs."""
    out = []
    for tok in doc:
        if tok.lemma_ != "be" or tok.dep_ not in COPULA_DEPS:
            continue
        subj = [c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass") and c.tag_ not in ("WDT", "WP", "EX")]
        comp = [c for c in tok.children if c.dep_ in ("attr", "acomp")]
        if not subj or not comp:
            continue
        labels = ["O"] * len(doc)
        tag_subtree(labels, subj[0], "SRC")
        tag_subtree(labels, comp[0], "TGT")
        tag_relation(labels, tok, {"neg"})
        out.append((tok.i, labels))
    return out


PRONOUN_TARGET_DEPS = ("dobj", "attr", "acomp", "oprd", "xcomp", "ccomp")


def pronoun_subject_tuples(doc) -> list[tuple[int, list[str]]]:
    """Derived (silver) tuples for verbs with a personal-pronoun subject:
    OIE2016 has no tuple whose ARG1 is a pronoun (its train split never
    tags *he*, *she*, *they* SRC), so such predicates would be learnt as
    having no subject, while CaRB annotates them. From a spaCy parse: SRC
    the pronoun, REL the verb with its aux/auxpass/neg/prt children, TGT
    the first object-like child's subtree (dobj, attr, acomp, oprd, xcomp,
    ccomp), else the first prepositional child's subtree (empty if none).
    Returns (head index, labels) pairs."""
    out = []
    for tok in doc:
        if tok.pos_ not in ("VERB", "AUX"):
            continue
        subj = [c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass") and c.tag_ == "PRP"]
        if not subj:
            continue
        labels = ["O"] * len(doc)
        labels[subj[0].i] = "SRC"
        tag_relation(labels, tok, RELATION_DEPS)
        target = next((c for c in tok.children if c.dep_ in PRONOUN_TARGET_DEPS), None)
        if target is None:
            target = next((c for c in tok.children if c.dep_ == "prep" and c.i > tok.i), None)
        if target is not None:
            tag_subtree(labels, target, "TGT", only_untagged=True)
        out.append((tok.i, labels))
    return out


def parse_whitespace(nlp, tokens: list[str]):
    """A spaCy Doc over exactly these tokens (no re-tokenization)."""
    from spacy.tokens import Doc

    doc = Doc(nlp.vocab, words=tokens)
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return doc


def sentence_examples(row: dict, counts: Counter, later_args: bool = True, nlp=None) -> list[dict]:
    """The detection example and the argument examples of one sentence
    (with `nlp`, a spaCy pipeline, also the derived copula tuples)."""
    tokens = row["text"].split()
    by_head: dict[int, tuple[bool, list[str]]] = {}
    for tup in row["tuples"]:
        counts["tuples"] += 1
        if not tup["args"] or not tup["args"][0].strip():
            counts["tuples_without_arg1"] += 1
            continue
        labels = argument_labels(tokens, tup, later_args)
        h = head_index(tokens, tup["head"], labels)
        if h is None:
            counts["tuples_head_not_in_sentence"] += 1
            continue
        labels[h] = "REL"
        has_target = "TGT" in labels
        if h in by_head:
            counts["tuples_sharing_a_head"] += 1
            if by_head[h][0] or not has_target:
                continue
        by_head[h] = (has_target, labels)
    if nlp is not None:
        doc = parse_whitespace(nlp, tokens)
        for kind, derived in (("copula", copula_tuples(doc)), ("pronoun_subject", pronoun_subject_tuples(doc))):
            for h, labels in derived:
                if h not in by_head and not any(l[h] == "REL" for _, l in by_head.values()):
                    by_head[h] = ("TGT" in labels, labels)
                    counts[f"derived_{kind}_tuples"] += 1
    detect = ["O"] * len(tokens)
    for h in by_head:
        detect[h] = "REL"
    out = [{"id": f"{row['id']}-d", "text": row["text"], "predicate": None, "labels": detect}]
    for h in sorted(by_head):
        has_target, labels = by_head[h]
        counts["argument_examples"] += 1
        counts["argument_examples_without_target"] += not has_target
        out.append({"id": f"{row['id']}-p{h}", "text": row["text"], "predicate": h, "labels": labels})
    counts["sentences"] += 1
    counts["detection_examples"] += 1
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA_DIR)
    ap.add_argument("--arg2-only", action="store_true", help="leave ARG3 and later untagged (O)")
    ap.add_argument("--no-copulas", action="store_true", help="no derived tuples (copulas, pronoun subjects; no spaCy needed)")
    a = ap.parse_args(argv)
    nlp = None
    if not a.no_copulas:
        nlp = load_nlp()
    stats = {}
    for split in SPLITS:
        counts: Counter = Counter()
        rows = [ex for r in read_jsonl(a.data / f"{split}.jsonl") for ex in sentence_examples(r, counts, not a.arg2_only, nlp)]
        write_jsonl(a.data / f"{split}.predicate.jsonl", rows)
        stats[split] = dict(sorted(counts.items()))
        print(split, stats[split])
    write_json(a.data / "predicate_stats.json", stats)


if __name__ == "__main__":
    main()
