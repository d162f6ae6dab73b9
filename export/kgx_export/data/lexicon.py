"""The English verb lexicon kgx ships for normalising relations.

Takes: LemmInflect's inflection table (MIT, PyPI `lemminflect`, derived from
the NIH SPECIALIST Lexicon), installed by `make venv`.
Gives: models/lexicon/nouns.tsv, `PLURAL<TAB>SINGULAR` for every common
noun whose plural is not itself a noun lemma (kgx's entity names are keyed
on the singular: src/canon/name.rs), and models/lexicon/verbs.tsv, one verb a line,
`LEMMA<TAB>VBD<TAB>VBN<TAB>VBG<TAB>VBZ` (several spellings joined by `/`),
which kgx compiles into its binary (src/pipeline/relation.rs), and
models/lexicon/coverage.json: how many verb tokens of CaRB dev's gold
relations the file knows, and how often its lemma agrees with spaCy's.
Be, have and do, the modals and negations are closed classes kgx lists itself.
Run: python -m kgx_export.data.lexicon (`make lexicon`).
"""
from __future__ import annotations

import argparse
import gzip
import json
from importlib import resources

from kgx_export.common import REPO, write_json

OUT = REPO / "models" / "lexicon"
CARB_DEV = REPO.parent / "shared" / "data" / "carb" / "dev.gold.tsv"
CLOSED = {"be", "have", "do"}
# Their forms, which kgx lists itself (src/pipeline/relation.rs).
CLOSED_FORMS = {"be": "am is are was were be been being 's 're 'm",
                "have": "has have had having 've", "do": "do does did doing done"}


def verb_table() -> list[tuple[str, str, str, str, str]]:
    """(lemma, VBD, VBN, VBG, VBZ) of every verb LemmInflect lists, sorted; a
    regular verb's VBN is its VBD."""
    import lemminflect

    path = resources.files("lemminflect") / "resources" / "infl_lu.csv.gz"
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        lemmas = sorted({line.split(",")[0] for line in f if line.split(",")[1] == "verb"})
    rows = []
    for lemma in lemmas:
        if lemma in CLOSED or not lemma.isalpha() or not lemma.islower():
            continue
        infl = lemminflect.getAllInflections(lemma, upos="VERB")
        forms = {tag: "/".join(infl.get(tag, ())) for tag in ("VBD", "VBN", "VBG", "VBZ")}
        forms["VBN"] = forms["VBN"] or forms["VBD"]
        if all(forms.values()):
            rows.append((lemma, forms["VBD"], forms["VBN"], forms["VBG"], forms["VBZ"]))
    return rows


def noun_table() -> list[tuple[str, str]]:
    """(plural, singular) of every lower-case common noun LemmInflect lists
    whose plural differs from it and is not a noun lemma itself ("news",
    "glasses" stay as they are), sorted by plural; a plural of two nouns
    keeps the first singular in alphabetical order."""
    import lemminflect

    path = resources.files("lemminflect") / "resources" / "infl_lu.csv.gz"
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        lemmas = sorted({line.split(",")[0] for line in f if line.split(",")[1] == "noun"})
    known = set(lemmas)
    plurals: dict[str, str] = {}
    for lemma in lemmas:
        if not lemma.isalpha() or not lemma.islower():
            continue
        for plural in lemminflect.getAllInflections(lemma, upos="NOUN").get("NNS", ()):
            if plural != lemma and plural.isalpha() and plural not in known:
                plurals.setdefault(plural, lemma)
    return sorted(plurals.items())


def coverage(rows) -> dict:
    """Verb tokens (spaCy's VERB, not AUX) of CaRB dev's gold relations,
    found in their sentences: how many the lexicon (with kgx's closed
    classes) knows, and how many as a form of spaCy's lemma."""
    import spacy

    from kgx_export.parse import SPACY_MODEL

    forms: dict[str, set[str]] = {f: {lemma} for lemma, fs in CLOSED_FORMS.items() for f in fs.split()}
    for lemma, *inflected in rows:
        for form in [lemma] + [f for spellings in inflected for f in spellings.split("/")]:
            forms.setdefault(form, set()).add(lemma)
    nlp = spacy.load(SPACY_MODEL, disable=["ner"])  # with its lemmatizer, unlike parse.load_nlp
    pairs = {}
    for line in CARB_DEV.read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) >= 2:
            pairs.setdefault(cols[0], set()).update(cols[1].lower().split())
    tokens = known = same_lemma = 0
    missing: dict[str, int] = {}
    for doc, words in zip(nlp.pipe(pairs), pairs.values()):
        for tok in doc:
            if tok.pos_ == "VERB" and tok.lower_ in words:
                tokens += 1
                known += tok.lower_ in forms
                if tok.lower_ not in forms:
                    missing[tok.lower_] = missing.get(tok.lower_, 0) + 1
                same_lemma += tok.lemma_.lower() in forms.get(tok.lower_, ())
    return {"verb_tokens": tokens, "in_lexicon": known, "lemma_agrees_with_spacy": same_lemma,
            "coverage": round(known / max(tokens, 1), 4), "lemma_agreement": round(same_lemma / max(tokens, 1), 4),
            "missing": dict(sorted(missing.items(), key=lambda kv: (-kv[1], kv[0])))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-coverage", action="store_true", help="skip the CaRB dev coverage report (needs spaCy)")
    a = ap.parse_args(argv)
    rows = verb_table()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "verbs.tsv").write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} verbs -> {OUT / 'verbs.tsv'}")
    nouns = noun_table()
    (OUT / "nouns.tsv").write_text("".join(f"{p}\t{s}\n" for p, s in nouns), encoding="utf-8")
    print(f"{len(nouns)} plural nouns -> {OUT / 'nouns.tsv'}")
    if not a.no_coverage:
        report = coverage(rows)
        write_json(OUT / "coverage.json", report)
        print(json.dumps(report))


if __name__ == "__main__":
    main()
