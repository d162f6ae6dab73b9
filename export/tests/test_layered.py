"""Layered predicate-indexed model (marker at an upper layer) on a tiny random BERT:
train -> merge -> two ONNX graphs -> parity, and a corrupted marked graph
that must FAIL parity.
"""
import json
import random

import numpy as np
import pytest
import torch
from conftest import corrupted_copy

from kgx_export.train import layered
from kgx_export.onnx_export.common import load_peft
from kgx_export.onnx_export.layered import build
from kgx_export.common import load_tokenizer
from kgx_export.onnx_export.onnx_tools import session
from kgx_export.onnx_export.parity import ParityError, check_exact, compare, padded_batches, torch_logits
from kgx_export.train.trainer import features, method_hp, train

SUBJ = ["the cat", "bob", "alice", "he"]
VERB = ["saw", "likes", "ate"]
OBJ = ["the fish", "a red house", "the mouse"]


def rows(n, seed):
    """Two-clause sentences: one detection row (both verbs REL) and one
    argument row per verb, as kgx_export.data.predicates writes them."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s1, v1, o1 = rng.choice(SUBJ).split(), rng.choice(VERB), rng.choice(OBJ).split()
        s2, v2, o2 = rng.choice(SUBJ).split(), rng.choice(VERB), rng.choice(OBJ).split()
        toks = s1 + [v1] + o1 + ["and"] + s2 + [v2] + o2 + ["."]
        h1, h2 = len(s1), len(s1) + 1 + len(o1) + 1 + len(s2)
        detect = ["O"] * len(toks)
        detect[h1] = detect[h2] = "REL"
        first = ["SRC"] * len(s1) + ["REL"] + ["TGT"] * len(o1) + ["O"] * (len(toks) - h1 - 1 - len(o1))
        second = ["O"] * (h1 + 1 + len(o1) + 1) + ["SRC"] * len(s2) + ["REL"] + ["TGT"] * len(o2) + ["O"]
        text = " ".join(toks)
        out += [{"id": f"t{i}-d", "text": text, "predicate": None, "labels": detect},
                {"id": f"t{i}-p{h1}", "text": text, "predicate": h1, "labels": first},
                {"id": f"t{i}-p{h2}", "text": text, "predicate": h2, "labels": second}]
    return out


@pytest.fixture(scope="module")
def built(tiny_base_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "kgx-tiny-layered"
    hp = method_hp("lora", {"scheme": "layered", "split_layer": 1, "epochs": 3, "lr": 5e-3})
    dev = rows(20, 2)
    log = train(tiny_base_dir, rows(80, 1), dev, out, hp, log=lambda *_: None)
    report = build(out, tiny_base_dir, dev, log=lambda *_: None)
    return out, dev, log, report


def test_marker_is_trained_and_saved_with_the_adapter(built):
    out, _, log, _ = built
    assert log["params"]["trainable_by_kind"]["predicate_marker"] == 2 * 32
    assert log["epochs"][-1]["train_loss"] < log["epochs"][0]["train_loss"]
    manifest = json.loads((out / "model.json").read_text())
    assert manifest["scheme"] == "predicate" and manifest["marker_layer"] == 1
    suffixes = {"fp32": "onnx", "fp32_opt": "opt.onnx", "fp16": "fp16.onnx"}
    assert manifest["files"] == {k: f"onnx/model.{s}" for k, s in suffixes.items()}
    assert manifest["marked_files"] == {k: f"onnx/marked.{s}" for k, s in suffixes.items()}
    assert manifest["marked_gather_files"] == {k: f"onnx/marked.{s[:-4]}gather.onnx" for k, s in suffixes.items()}
    files = [*manifest["files"].values(), *manifest["marked_files"].values(), *manifest["marked_gather_files"].values()]
    assert all((out / f).is_file() for f in files)
    assert (manifest["cpu_default"], manifest["gpu_default"]) == ("fp32", "fp32")


def test_optimised_and_fp16_graphs_agree_with_fp32(built):
    _, _, _, rep = built
    assert rep["fp32_opt"]["argmax_agreement"] >= 0.999 and rep["fp16"]["argmax_agreement"] >= 0.995
    assert rep["fp16"]["files"] == ["model.fp16.onnx", "marked.fp16.onnx"]
    # fp16 weights: each fp16 graph is about half its fp32 file.
    for graph in ("model", "marked"):
        assert rep["sizes_bytes"][f"{graph}.fp16.onnx"] < 0.6 * rep["sizes_bytes"][f"{graph}.onnx"]


def test_two_graphs_pass_parity_with_the_peft_model(built):
    out, _, _, rep = built
    assert rep["ok"] and not rep["failures"] and rep["interface"]["ok"]
    assert rep["marked_rows"] > 0
    for stats in rep["exact"].values():
        assert stats["argmax_agreement"] == 1.0 and stats["max_abs_diff"] <= 1e-4
    assert rep["batch_invariance"]["fp32"]["invariant"]
    assert "Parity" in (out / "README.md").read_text()


def test_the_marker_changes_the_tags_and_only_where_it_is_set(built, tiny_base_dir):
    out, dev, _, _ = built
    model = load_peft(tiny_base_dir, out / "adapter", marker=True)
    b = padded_batches(features(dev[:3], load_tokenizer(out / "tokenizer.json")))[0]
    t = {k: torch.from_numpy(b[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        marked = layered.layered_logits(model, t["input_ids"], t["attention_mask"], t["token_type_ids"], 1)
        plain = layered.layered_logits(model, t["input_ids"], t["attention_mask"],
                                       torch.zeros_like(t["token_type_ids"]), 1)
    rows_marked = b["token_type_ids"].any(axis=1)
    assert rows_marked.any() and not rows_marked.all()
    assert torch.equal(marked[~torch.from_numpy(rows_marked)], plain[~torch.from_numpy(rows_marked)])
    assert (marked[torch.from_numpy(rows_marked)] - plain[torch.from_numpy(rows_marked)]).abs().max() > 1e-3


def test_corrupted_marked_graph_fails_parity(built, tiny_base_dir, tmp_path):
    out, dev, _, _ = built
    padded = padded_batches(features(dev, load_tokenizer(out / "tokenizer.json")))
    ref = torch_logits(load_peft(tiny_base_dir, out / "adapter", marker=True), padded, layered.forward(1))
    encoder = session(out / "onnx" / "model.onnx")
    check_exact("real files", compare(ref, layered.ort_layered_logits(encoder, session(out / "onnx" / "marked.onnx"),
                                                                       padded), padded))
    bad = corrupted_copy(out / "onnx" / "marked.onnx", tmp_path / "marked.onnx")
    with pytest.raises(ParityError):
        check_exact("corrupted marked graph", compare(ref, layered.ort_layered_logits(encoder, session(bad), padded), padded))


def test_gather_variants_give_their_marked_graphs_logits_and_a_wrong_index_does_not(built):
    out, dev, _, rep = built
    assert set(rep["gather"]) == {"fp32", "fp32_opt", "fp16"}
    assert all(v["argmax_agreement"] == 1.0 and v["max_abs_diff"] <= 1e-5 for v in rep["gather"].values())
    gathered = session(out / "onnx" / "marked.gather.onnx")
    assert [i.name for i in gathered.get_inputs()] == layered.GATHER_INPUTS
    # Read h_k of row 0 for every marked row: the logits must move (the index is read, not ignored).
    padded = padded_batches(features(dev, load_tokenizer(out / "tokenizer.json")))
    encoder = session(out / "onnx" / "model.onnx")
    b = next(b for b in padded if b["token_type_ids"].any(axis=1).sum() > 1)
    rows = np.flatnonzero(b["token_type_ids"].any(axis=1))
    _, hidden = encoder.run(layered.ENCODER_OUTPUTS, {"input_ids": b["input_ids"], "attention_mask": b["attention_mask"]})
    width = b["input_ids"].shape[1]
    feeds = {"hidden_source": hidden, "attention_mask": b["attention_mask"][rows], "token_type_ids": b["token_type_ids"][rows]}
    index = np.stack(np.broadcast_arrays(rows[:, None], np.arange(width)[None, :]), axis=-1).astype(np.int64)
    right = gathered.run(["logits"], {**feeds, "hidden_index": index})[0]
    wrong = gathered.run(["logits"], {**feeds, "hidden_index": np.where(np.arange(2) == 0, 0, index)})[0]
    marked = session(out / "onnx" / "marked.onnx")
    expected = marked.run(["logits"], {"hidden": hidden[rows], "attention_mask": feeds["attention_mask"],
                                       "token_type_ids": feeds["token_type_ids"]})[0]
    assert np.array_equal(right, expected)
    assert np.abs(wrong - expected).max() > 1e-3
