"""The tracked verb lexicon (models/lexicon/verbs.tsv) is what `make lexicon` makes."""
import pytest

from kgx_export.data.lexicon import OUT, verb_table


def test_tracked_lexicon_is_the_generated_one():
    pytest.importorskip("lemminflect")
    tracked = (OUT / "verbs.tsv").read_text(encoding="utf-8").splitlines()
    assert tracked == ["\t".join(row) for row in verb_table()]
    lemmas = {line.split("\t")[0]: line.split("\t")[1:] for line in tracked}
    assert lemmas["bear"][1] == "born/borne" and lemmas["direct"][1] == "directed"
