"""Coreference training data, GAP scoring and the scorer's ONNX export."""
import pytest

from kgx_export.common import load_tokenizer
from kgx_export.coref.data import example, name_pools, renamed
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


def test_a_surname_after_the_full_name_is_gold_but_a_shared_word_is_not(tiny_tokenizer_dir):
    # Regression: "Johnson" alone after "Marc Johnson" was a candidate the
    # scorer was trained to reject although it names the antecedent.
    tok = load_tokenizer(tiny_tokenizer_dir)
    text = "Marc Johnson met Anna Johnson. Later Johnson said Marc would come and he did."
    r = {"ID": "j", "Text": text, "Pronoun": "he", "Pronoun-offset": str(text.index(" he ") + 1),
         "A": "Marc Johnson", "A-offset": "0", "A-coref": "TRUE",
         "B": "Anna Johnson", "B-offset": str(text.index("Anna")), "B-coref": "FALSE", "URL": ""}
    spans = lambda row: sorted({row["Text"][s:e] for s, e in
                                (tok.encode(row["Text"]).offsets[i] for i in example(row, tok).gold)})
    gold_chars = lambda row: [tok.encode(row["Text"]).offsets[i][0] for i in example(row, tok).gold]
    # "Marc" (both occurrences) and "Johnson" inside "Marc Johnson" only: the
    # surname alone is shared with B, so it stays a candidate, not gold.
    assert spans(r) == ["Johnson", "Marc"]
    assert text.index("said Marc") + 5 in gold_chars(r)
    assert text.index("Later Johnson") + 6 not in gold_chars(r)
    r2 = dict(r, B="Anna Smith", Text=text.replace("Anna Johnson", "Anna Smith  "))
    assert text.index("Later Johnson") + 6 in gold_chars(r2)


def test_renamed_rows_keep_their_offsets_and_rename_every_occurrence():
    import random

    text = "Marc Johnson met Anna Smith. Later Johnson said Marc would come and he did."
    r = {"ID": "j", "Text": text, "Pronoun": "he", "Pronoun-offset": str(text.index(" he ") + 1),
         "A": "Marc Johnson", "A-offset": "0", "A-coref": "TRUE",
         "B": "Anna Smith", "B-offset": str(text.index("Anna")), "B-coref": "FALSE", "URL": ""}
    pools = name_pools([r, dict(r, A="Peter Brown", B="Paul Green"), dict(r, A="Hugo Long", B="Ivan Short")])
    outs = [renamed(r, pools, random.Random(seed)) for seed in range(20)]
    assert sum(o is not None for o in outs) >= 15
    for out in filter(None, outs):
        t = out["Text"]
        for key in ("A", "B", "Pronoun"):
            start = int(out[f"{key}-offset"])
            assert t[start:start + len(out[key])] == out[key]
        first, last = out["A"].split()
        assert t.count(last) == 2 and t.count(first) == 2 and "Johnson" not in t and "Marc" not in t
        assert out["A-coref"] == "TRUE" and out["ID"] == "j/renamed"


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


def test_first_names_keep_one_gender_and_leave_out_titles_single_words_and_names_of_both():
    from kgx_export.coref.names import first_name_genders

    def gap_row(pronoun, a, b):
        return {"Pronoun": pronoun, "A": a, "B": b}

    rows = [gap_row("she", "Anna Berg", "Robin Hood"), gap_row("he", "Robin Lee", "Dr. Tom Lee"),
            gap_row("his", "Max", "Tom Weber"), gap_row("Her", "Mary Ann Smith", "Kim Lu")]
    assert first_name_genders(rows) == {"Anna": "f", "Mary": "f", "Kim": "f", "Tom": "m"}
