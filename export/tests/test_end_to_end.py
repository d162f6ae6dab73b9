"""Fast train -> merge -> export -> parity run on a tiny random BERT.

Uses the tiny tokenizer/model fixtures from conftest.py (no downloads).
Asserts that the whole build passes parity, writes the manifest and files,
and that a deliberately corrupted fp32 ONNX file FAILS the parity check.
"""
import json
import random

import onnx
import pytest
from conftest import corrupted_copy

from kgx_export.onnx_export import onnx_tools as ox
from kgx_export.onnx_export.common import load_peft
from kgx_export.onnx_export.merged import build, check_onnx_fp32
from kgx_export.common import load_tokenizer
from kgx_export.onnx_export.parity import ParityError, padded_batches, torch_logits
from kgx_export.train.trainer import DEFAULTS, features, train

SUBJ = ["the cat", "a big dog", "bob", "alice", "the small cats", "he", "she"]
VERB = ["saw", "likes", "ate", "sees"]
OBJ = ["the fish", "a red house", "the mouse", "bob", "a cat"]


def rows(n, seed):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s, v, o = rng.choice(SUBJ).split(), [rng.choice(VERB)], rng.choice(OBJ).split()
        tail = ["in", "the", "house", "."] if rng.random() < 0.5 else ["."]
        toks = s + v + o + tail
        labels = ["SRC"] * len(s) + ["REL"] + ["TGT"] * len(o) + ["O"] * len(tail)
        out.append({"id": f"t{i}", "text": " ".join(toks), "labels": labels})
    return out


@pytest.fixture(scope="module")
def built(tiny_base_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "kgx-tiny"
    hp = dict(DEFAULTS, epochs=3, lr=5e-3, batch_size=8)
    dev = rows(40, 2)
    log = train(tiny_base_dir, rows(120, 1), dev, out, hp, log=lambda *_: None)
    report = build(out, tiny_base_dir, dev, recipes=ox.RECIPES[:2], rounds=1, log=lambda *_: None)
    return out, dev, log, report


def test_training_learns(built):
    _, _, log, _ = built
    assert log["best_dev"]["macro_f1"] > 0.5
    assert len(log["epochs"]) == 3 and log["epochs"][-1]["train_loss"] < log["epochs"][0]["train_loss"]


def test_build_outputs_and_parity(built):
    out, _, _, rep = built
    assert rep["ok"] and not rep["failures"]
    for stats in rep["exact"].values():
        assert stats["argmax_agreement"] == 1.0 and stats["max_abs_diff"] <= 1e-4
    assert rep["fp16"]["argmax_agreement"] >= 0.995
    for f in ("model.onnx", "model.opt.onnx", "model.int8.onnx", "model.fp16.onnx"):
        assert (out / "onnx" / f).stat().st_size > 0
    manifest = json.loads((out / "model.json").read_text())
    assert manifest["labels"] == ["O", "SRC", "REL", "TGT"]
    assert manifest["cpu_default"] in rep["cpu_timing"]["eligible"]
    tok = json.loads((out / "tokenizer.json").read_text())
    assert tok["padding"] is None and tok["truncation"] is None
    assert (out / "adapter" / "adapter_model.safetensors").exists()
    assert "Parity" in (out / "README.md").read_text()


def test_onnx_io_contract(built):
    out, _, _, _ = built
    g = onnx.load(str(out / "onnx" / "model.onnx")).graph
    assert [i.name for i in g.input] == ["input_ids", "attention_mask", "token_type_ids"]
    assert all(i.type.tensor_type.elem_type == onnx.TensorProto.INT64 for i in g.input)
    assert [o.name for o in g.output] == ["logits"]
    dims = g.output[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and dims[1].dim_param and dims[2].dim_value == 4


def test_corrupted_onnx_fails_parity(built, tiny_base_dir, tmp_path):
    out, dev, _, _ = built
    padded = padded_batches(features(dev, load_tokenizer(out / "tokenizer.json")))
    ref = torch_logits(load_peft(tiny_base_dir, out / "adapter"), padded)
    check_onnx_fp32(out / "onnx" / "model.onnx", ref, padded)  # the real file passes
    bad = corrupted_copy(out / "onnx" / "model.onnx", tmp_path / "corrupted.onnx")
    with pytest.raises(ParityError):
        check_onnx_fp32(bad, ref, padded)
