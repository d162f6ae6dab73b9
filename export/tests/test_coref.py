"""Coreference training data, GAP scoring and the scorer's ONNX export."""
import pytest

from kgx_export.common import load_tokenizer
from kgx_export.coref.data import example
from kgx_export.coref.train import gap_f1

TEXT = "Bob saw Alice. Bob said she would come."


def row(a_coref="TRUE", b_coref="FALSE"):
    return {"ID": "t", "Text": TEXT, "Pronoun": "she", "Pronoun-offset": str(TEXT.index("she")),
            "A": "Alice", "A-offset": str(TEXT.index("Alice")), "A-coref": a_coref,
            "B": "Bob", "B-offset": "0", "B-coref": b_coref, "URL": "http://example.invalid/"}


def test_gold_is_every_token_of_the_antecedent_and_candidates_are_capitalised_words(tiny_tokenizer_dir):
    tok = load_tokenizer(tiny_tokenizer_dir)
    e = example(row(), tok)
    words = lambda ids: [tok.id_to_token(e.input_ids[i]) for i in ids]
    assert words([e.pronoun]) == ["she"]
    assert words(e.gold) == ["alice"]
    assert words(e.candidates) == ["bob", "alice", "bob"]
    neither = example(row("FALSE", "FALSE"), tok)
    assert neither.gold == [] and neither.feminine


def test_b_antecedent_marks_both_occurrences(tiny_tokenizer_dir):
    tok = load_tokenizer(tiny_tokenizer_dir)
    e = example(row("FALSE", "TRUE"), tok)
    assert [tok.id_to_token(e.input_ids[i]) for i in e.gold] == ["bob", "bob"]


def test_gap_f1_pools_a_and_b_decisions_and_bias_is_feminine_over_masculine():
    # (predicted, gold, feminine)
    decisions = [(True, True, False), (True, False, False), (False, True, False),
                 (True, True, True), (False, False, True)]
    s = gap_f1(decisions)
    assert abs(s["masculine"] - 0.5) < 1e-9 and abs(s["feminine"] - 1.0) < 1e-9
    assert abs(s["bias"] - 2.0) < 1e-9


@pytest.fixture
def exported(tiny_base_dir, tmp_path):
    """A seeded untrained scorer, two examples and its fp32 ONNX export."""
    import torch
    from kgx_export.coref.model import base_scorer
    from kgx_export.coref.onnx_export import export

    tok = load_tokenizer(tiny_base_dir)
    torch.manual_seed(0)
    model = base_scorer(tiny_base_dir).eval()
    exs = [example(row(), tok), example(row("FALSE", "TRUE"), tok)]
    export(model, tmp_path / "model.onnx")
    return model, exs, tmp_path / "model.onnx"


def test_onnx_export_gives_the_torch_scores(exported):
    import numpy as np
    from kgx_export.coref.onnx_export import onnx_scores, torch_scores

    model, exs, path = exported
    ref, (got, _) = torch_scores(model, exs), onnx_scores(path, exs)
    for a, b in zip(ref, got):
        finite = np.isfinite(a)
        assert (np.isfinite(b) == finite).all()
        assert np.abs(a[finite] - b[finite]).max() < 1e-4


def test_int8_copy_is_written_scored_and_timed(exported):
    from kgx_export.coref.onnx_export import int8_variant, labelled_f1, onnx_scores, torch_scores

    model, exs, path = exported
    got, _ = onnx_scores(path, exs)
    rep = int8_variant(path, exs, torch_scores(model, exs), labelled_f1(got, exs))
    assert path.with_name("model.int8.onnx").stat().st_size < path.stat().st_size
    assert rep["pronouns"] == 2 and set(rep["seconds_one_thread"]) == {"fp32", "int8"}
    # The default is int8 only within the F1 bound.
    assert not rep["cpu_default"] or rep["f1_loss_points"] <= rep["max_f1_loss_points"]
