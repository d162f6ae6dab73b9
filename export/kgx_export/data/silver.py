"""Silver training examples where the spaCy rules and kgx's model agree (issue 21).

Takes: real prose that no evaluation uses: the GAP development paragraphs
(../shared/data/gap/gap-development.tsv, cut into sentences) and the
Wikipedia film sentences (../shared/data/wiki_sentences_v2.csv), minus any
sentence of CaRB dev; the extended spaCy rules
(kgx_export.baselines.spacy_rules); and kgx's current default model, run
by the kgx binary (`kgx eval --format carb`, the rules' tuples standing in
as gold, so its output is kgx's extractions of exactly these sentences).
Gives: export/data/silver.predicate.jsonl, examples in the format of
{split}.predicate.jsonl (see predicates.py), and silver_stats.json:
  * an *argument* example for each predicate head whose rule tuple kgx
    agrees with: kgx has an extraction whose relation holds the head word,
    whose ARG1 overlaps the rules' ARG1 and whose ARG2 overlaps the rules'
    first object (word overlap >= --overlap of the longer; both empty
    counts as agreeing). Labels are the rules' (SRC the subject, REL the
    relation, TGT the first object and later objects on free words, as
    CaRB joins them), projected like the gold tuples;
  * a *detection* example only for a sentence where every rule head agreed
    and every kgx extraction's relation holds a rule head (the sentence's
    predicates are settled), so no predicate one side found is taught as O.
Deterministic: sentences in a seeded shuffle, the first --sentences kept.
Run: python -m kgx_export.data.silver --kgx target/release/kgx [--sentences 3000]
"""
from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from kgx_export.baselines.spacy_rules import Extraction, extract_docs, parse
from kgx_export.common import DATA_DIR, REPO, write_json, write_jsonl
from kgx_export.data.predicates import argument_labels, head_index
from kgx_export.data.prose import gap_sentences, wiki_film_sentences
from kgx_export.parse import load_nlp

SHARED = REPO.parent / "shared" / "data"


def source_sentences() -> list[str]:
    """GAP development sentences, then the Wikipedia film sentences."""
    out = gap_sentences(SHARED / "gap" / "gap-development.tsv") + wiki_film_sentences(SHARED / "wiki_sentences_v2.csv")
    return [s for s in out if 6 <= len(s.split()) <= 60]


def overlap(a: str, b: str) -> float:
    """Shared words over the longer part's words (1 when both are empty)."""
    wa, wb = set(a.lower().split()), set(b.lower().split())
    if not wa and not wb:
        return 1.0
    return len(wa & wb) / max(len(wa), len(wb))


def kgx_extractions(kgx: Path, sentences: list[str], rules: list[list[Extraction]]) -> dict[str, list[tuple[str, str, str]]]:
    """kgx's (relation, arg1, arg2) extractions of each sentence."""
    with tempfile.TemporaryDirectory() as tmp:
        gold, out = Path(tmp) / "gold.tsv", Path(tmp) / "kgx.tsv"
        with open(gold, "w", encoding="utf-8") as f:
            for s, exs in zip(sentences, rules):
                for e in exs or [Extraction(0.0, "-", "-", "-")]:
                    f.write("\t".join([s, e.relation, e.arg1, e.arg2]) + "\n")
        run = subprocess.run([str(kgx), "eval", "--gold", str(gold), "--format", "carb", "--device", "cpu", "--no-coref",
                              "--write-extractions", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if run.returncode != 0:
            raise SystemExit(f"silver: {kgx} eval failed ({run.returncode}): {run.stderr.strip()}")
        found: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        with open(out, encoding="utf-8") as f:
            for line in f:
                cells = line.rstrip("\n").split("\t")
                found[cells[0]].append((cells[2], cells[3], " ".join(cells[4:])))
        return found


def agrees(tokens: list[str], head: int, rule: Extraction, found: list[tuple[str, str, str]], bound: float) -> bool:
    return any(tokens[head] in rel.split() and overlap(rule.arg1, a1) >= bound and overlap(rule.arg2, a2) >= bound
               for rel, a1, a2 in found)


def sentence_examples(sid: str, tokens: list[str], rules: list[Extraction], found: list[tuple[str, str, str]],
                      bound: float, counts: Counter) -> list[dict]:
    by_head: dict[int, list[Extraction]] = defaultdict(list)
    for e in rules:
        by_head[e.head].append(e)
    text = " ".join(tokens)
    out, settled = [], True
    for h in sorted(by_head):
        first = by_head[h][0]
        counts["rule_heads"] += 1
        if not agrees(tokens, h, first, found, bound):
            settled = False
            continue
        tup = {"pred": first.relation, "args": [first.arg1] + [e.arg2 for e in by_head[h] if e.arg2]}
        labels = argument_labels(tokens, tup)
        if head_index(tokens, tokens[h], labels) is None or "SRC" not in labels:
            settled = False
            continue
        labels[h] = "REL"
        counts["agreed_heads"] += 1
        out.append({"id": f"{sid}-p{h}", "text": text, "predicate": h, "labels": labels})
    heads = {tokens[h] for h in by_head}
    if out and settled and all(any(w in heads for w in rel.split()) for rel, _, _ in found):
        counts["detection_examples"] += 1
        detect = ["REL" if i in by_head else "O" for i in range(len(tokens))]
        out.insert(0, {"id": f"{sid}-d", "text": text, "predicate": None, "labels": detect})
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kgx", type=Path, default=REPO / "target" / "release" / "kgx")
    ap.add_argument("--sentences", type=int, default=3000, help="source sentences to label")
    ap.add_argument("--overlap", type=float, default=0.5, help="least word overlap of agreeing arguments")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--out", type=Path, default=DATA_DIR / "silver.predicate.jsonl")
    a = ap.parse_args(argv)
    nlp = load_nlp()
    dev = {" ".join(l.split()).lower() for l in (SHARED / "carb" / "dev.txt").read_text(encoding="utf-8").splitlines()}
    pool = source_sentences()
    random.Random(a.seed).shuffle(pool)
    sentences, seen = [], set()
    for doc in nlp.pipe(pool, batch_size=64):
        text = " ".join(w for t in doc for w in t.text.split())
        if text.lower() in dev or text in seen:
            continue
        seen.add(text)
        sentences.append(text)
        if len(sentences) == a.sentences:
            break
    rules = extract_docs(parse(sentences, nlp))
    found = kgx_extractions(a.kgx, sentences, rules)
    counts: Counter = Counter(sentences=len(sentences))
    rows = []
    for i, (s, exs) in enumerate(zip(sentences, rules)):
        rows += sentence_examples(f"silver-{i:05d}", s.split(), exs, found.get(s, []), a.overlap, counts)
    counts["argument_examples"] = sum(r["predicate"] is not None for r in rows)
    write_jsonl(a.out, rows)
    write_json(a.out.with_name("silver_stats.json"), dict(sorted(counts.items())))
    print(dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
