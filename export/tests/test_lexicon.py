"""The tracked verb lexicon (models/lexicon/verbs.tsv) is what `make lexicon` makes."""
import pytest

from kgx_export.data.lexicon import OUT, verb_table


def test_tracked_lexicon_is_the_generated_one():
    pytest.importorskip("lemminflect")
    tracked = (OUT / "verbs.tsv").read_text(encoding="utf-8").splitlines()
    assert tracked == ["\t".join(row) for row in verb_table()]
    lemmas = {line.split("\t")[0]: line.split("\t")[1:] for line in tracked}
    assert lemmas["bear"][1] == "born/borne" and lemmas["direct"][1] == "directed"


def test_tracked_noun_plurals_are_the_generated_ones():
    pytest.importorskip("lemminflect")
    from kgx_export.data.lexicon import noun_table

    tracked = (OUT / "nouns.tsv").read_text(encoding="utf-8").splitlines()
    assert tracked == [f"{p}\t{s}" for p, s in noun_table()]
    plurals = dict(line.split("\t") for line in tracked)
    assert plurals["charts"] == "chart" and "news" not in plurals
