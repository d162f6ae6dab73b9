"""Silver examples where the rules and kgx agree (kgx_export.data.silver)."""
from collections import Counter

from kgx_export.baselines.spacy_rules import Extraction
from kgx_export.data.silver import overlap, sentence_examples

TOKENS = "Keibler began a feud with Hall , which led to a match .".split()
BEGAN, LED = 1, 8
RULES = [
    Extraction(0.9, "began", "Keibler", "a feud with Hall", BEGAN),
    Extraction(0.7, "led to", "a feud with Hall", "a match", LED),
]


def test_overlap_is_shared_words_over_the_longer_part():
    assert overlap("a feud with Hall", "a feud") == 0.5
    assert overlap("", "") == 1.0
    assert overlap("Hall", "") == 0.0


def test_every_head_agreed_gives_argument_examples_and_the_detection_example():
    found = [("began", "Keibler", "a feud with Hall"), ("led to", "a feud", "a match")]
    counts = Counter()
    rows = sentence_examples("s", TOKENS, RULES, found, 0.5, counts)
    assert [r["predicate"] for r in rows] == [None, BEGAN, LED]
    detect = rows[0]["labels"]
    assert [i for i, l in enumerate(detect) if l == "REL"] == [BEGAN, LED]
    began = rows[1]["labels"]
    assert began[:6] == ["SRC", "REL", "TGT", "TGT", "TGT", "TGT"] and began[LED] == "O"
    assert rows[2]["labels"][LED:LED + 4] == ["REL", "REL", "TGT", "TGT"]
    assert counts["agreed_heads"] == 2 and counts["detection_examples"] == 1


def test_a_head_kgx_disagrees_on_teaches_nothing_and_leaves_detection_out():
    # kgx's ARG1 of "led" is another phrase: that head is not taught, and
    # since the sentence's predicates are not settled neither is detection.
    found = [("began", "Keibler", "a feud with Hall"), ("led to", "Keibler", "a match")]
    counts = Counter()
    rows = sentence_examples("s", TOKENS, RULES, found, 0.5, counts)
    assert [r["predicate"] for r in rows] == [BEGAN]
    assert counts["rule_heads"] == 2 and counts["agreed_heads"] == 1 and counts["detection_examples"] == 0


def test_a_predicate_only_kgx_found_leaves_detection_out():
    found = [("began", "Keibler", "a feud with Hall"), ("led to", "a feud with Hall", "a match"),
             ("was", "Hall", "a wrestler")]
    rows = sentence_examples("s", TOKENS, RULES, found, 0.5, Counter())
    assert [r["predicate"] for r in rows] == [BEGAN, LED]
