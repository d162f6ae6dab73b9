"""Predicate-indexed examples (kgx_export.data.predicates) and the predicate marker."""
from collections import Counter

import pytest

from kgx_export.data.align import encode
from kgx_export.common import load_tokenizer
from kgx_export.data.predicates import sentence_examples

ROW = {
    "id": "t-0",
    "text": "Keibler began a feud with Hall in 2004 , which led to a match .",
    "tuples": [
        {"head": "began", "pred": "began", "args": ["Keibler", "a feud with Hall", "in 2004"]},
        {"head": "began", "pred": "began", "args": ["Keibler", "a feud"]},
        {"head": "led", "pred": "led to", "args": ["a feud with Hall", "a match"]},
        {"head": "vanished", "pred": "vanished", "args": ["Hall"]},
    ],
}


@pytest.fixture(scope="module")
def nlp():
    """The offline spaCy pipeline of the derived tuples (skips when not installed)."""
    spacy_baseline = pytest.importorskip("kgx_export.baselines.spacy_rules")
    try:
        return spacy_baseline.load_nlp()
    except OSError:
        pytest.skip("spaCy pipeline not installed")


def labelled(row, word_labels):
    words = row["text"].split()
    return {lab: " ".join(w for w, l in zip(words, word_labels) if l == lab) for lab in ("SRC", "REL", "TGT")}


def test_one_detection_row_and_one_row_per_head():
    counts = Counter()
    rows = sentence_examples(ROW, counts)
    assert [r["predicate"] for r in rows] == [None, 1, 10]
    assert labelled(ROW, rows[0]["labels"]) == {"SRC": "", "REL": "began led", "TGT": ""}
    # The first tuple of a shared head wins; ARG3 joins the target.
    assert labelled(ROW, rows[1]["labels"]) == {"SRC": "Keibler", "REL": "began", "TGT": "a feud with Hall in 2004"}
    # Overlapping parts: the argument already taken by SRC is not re-tagged.
    assert labelled(ROW, rows[2]["labels"])["REL"] == "led to"
    assert counts["tuples_sharing_a_head"] == 1 and counts["tuples_head_not_in_sentence"] == 1


def test_arg2_only_leaves_later_arguments_outside():
    rows = sentence_examples(ROW, Counter(), later_args=False)
    assert labelled(ROW, rows[1]["labels"])["TGT"] == "a feud with Hall"


def test_derived_copula_tuple_marks_be_as_a_head(nlp):
    row = {"id": "c", "text": "The Original Celtics were a professional basketball team .", "tuples": []}
    counts = Counter()
    rows = sentence_examples(row, counts, nlp=nlp)
    assert counts["derived_copula_tuples"] == 1
    assert [r["predicate"] for r in rows] == [None, 3]
    got = labelled(row, rows[1]["labels"])
    assert got["REL"] == "were" and got["SRC"] == "The Original Celtics"
    assert got["TGT"].startswith("a professional basketball team")


def test_marker_sets_token_type_one_on_the_head_sub_tokens_only(tiny_tokenizer_dir):
    tok = load_tokenizer(tiny_tokenizer_dir)
    words = ["Keibler", "unquestionably", "began", "a", "feud"]
    plain = encode(tok, words)
    marked = encode(tok, words, indicator=1)
    assert plain["input_ids"] == marked["input_ids"] and set(plain["token_type_ids"]) == {0}
    enc = tok.encode(" ".join(words))
    expected = [int(w == 1) for w in enc.word_ids]
    assert marked["token_type_ids"] == expected and sum(expected) >= 1


def test_derived_pronoun_subject_tuple(nlp):
    row = {"id": "p", "text": "He chose a path of confrontation .", "tuples": []}
    counts = Counter()
    rows = sentence_examples(row, counts, nlp=nlp)
    assert counts["derived_pronoun_subject_tuples"] == 1
    assert labelled(row, rows[1]["labels"]) == {"SRC": "He", "REL": "chose", "TGT": "a path of confrontation"}
