"""Prefix- and prompt-tuning train -> bake -> ONNX -> parity on a tiny random BERT.

Uses the tiny tokenizer/model fixtures from conftest.py (no downloads) and
the rows generator of test_end_to_end.py. Asserts that the virtual-token
export wrappers reproduce the PeftModel, that the ONNX file keeps kgx's
interface and passes the enforced parity, that the virtual tokens matter
(the baked graph differs from the bare base), and that a wrong baked
constant FAILS the parity check.
"""
import json

import numpy as np
import onnx
import pytest
import torch

from kgx_export.onnx_export import virtual as build_virtual
from kgx_export.train import virtual
from kgx_export.onnx_export.common import load_peft
from kgx_export.onnx_export.merged import check_onnx_fp32
from kgx_export.common import load_tokenizer
from kgx_export.onnx_export.parity import ParityError, compare, padded_batches, torch_logits
from kgx_export.train.trainer import features, method_hp, train

from test_end_to_end import rows


@pytest.fixture(scope="module", params=["prefix", "prompt"])
def built(request, tiny_base_dir, tmp_path_factory):
    method = request.param
    out = tmp_path_factory.mktemp(method) / f"kgx-tiny-{method}"
    hp = method_hp(method, dict(epochs=2, batch_size=8, virtual_tokens=4))
    dev = rows(40, 2)
    log = train(tiny_base_dir, rows(96, 1), dev, out, hp, log=lambda *_: None)
    report = build_virtual.build(out, tiny_base_dir, dev, rounds=1, log=lambda *_: None)
    return method, out, dev, log, report


def test_build_parity_and_manifest(built):
    method, out, _, log, rep = built
    assert rep["ok"] and not rep["failures"], rep["failures"]
    for stats in rep["exact"].values():
        assert stats["argmax_agreement"] == 1.0 and stats["max_abs_diff"] <= 1e-4
    assert rep["interface"]["ok"] and rep["batch_invariance"]["fp32"]["invariant"]
    manifest = json.loads((out / "model.json").read_text())
    assert manifest["files"] == {"fp32": "onnx/model.onnx"}
    assert manifest["cpu_default"] == manifest["gpu_default"] == "fp32"
    assert manifest["method"] == method and manifest["max_tokens"] == 256
    assert sorted(p.name for p in (out / "onnx").iterdir()) == ["model.onnx"]
    by_kind = log["params"]["trainable_by_kind"]
    assert by_kind["classifier_head"] == 32 * 4 + 4 and by_kind["prompt_encoder"] > 0
    assert "Parity" in (out / "README.md").read_text()


def test_onnx_io_contract(built):
    _, out, _, _, _ = built
    g = onnx.load(str(out / "onnx" / "model.onnx")).graph
    assert [i.name for i in g.input] == ["input_ids", "attention_mask", "token_type_ids"]
    assert all(i.type.tensor_type.elem_type == onnx.TensorProto.INT64 for i in g.input)
    dims = g.output[0].type.tensor_type.shape.dim
    assert [o.name for o in g.output] == ["logits"] and dims[2].dim_value == 4


def test_wrapper_matches_peft_and_virtual_tokens_matter(built, tiny_base_dir):
    _, out, dev, _, _ = built
    padded = padded_batches(features(dev, load_tokenizer(out / "tokenizer.json")), batch_size=16)
    peft = load_peft(tiny_base_dir, out / "adapter")
    ref = torch_logits(peft, padded)
    wrapper = virtual.bake(peft)
    assert compare(ref, torch_logits(wrapper, padded), padded)["max_abs_diff"] < 1e-5
    # the same head without the virtual tokens gives other logits
    bare = torch_logits(wrapper.model, padded)
    assert compare(ref, bare, padded)["max_abs_diff"] > 1e-3


def test_wrong_constant_fails_parity(built, tiny_base_dir, tmp_path):
    method, out, dev, _, _ = built
    padded = padded_batches(features(dev, load_tokenizer(out / "tokenizer.json")))
    peft = load_peft(tiny_base_dir, out / "adapter")
    ref = torch_logits(peft, padded)
    check_onnx_fp32(out / "onnx" / "model.onnx", ref, padded)  # the real file passes
    wrapper = virtual.bake(peft)
    with torch.no_grad():
        buf = wrapper.prompt if method == "prompt" else wrapper.keys
        buf.add_(torch.from_numpy(np.random.default_rng(0).normal(0, 0.5, buf.shape)).float())
    bad = tmp_path / "bad.onnx"
    from kgx_export.onnx_export import onnx_tools as ox

    ox.export_onnx(wrapper, bad)
    with pytest.raises(ParityError):
        check_onnx_fp32(bad, ref, padded)
