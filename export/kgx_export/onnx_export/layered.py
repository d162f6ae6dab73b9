"""Merge a layered predicate-indexed model, export its two graphs, enforce parity.

Takes: a model directory trained with `--scheme layered` (adapter/ with the
LoRA matrices, the classifier head and the predicate-marker embedding,
tokenizer.json, model.json with `marker_layer`, train_log.json), the
packaged base model and export/data/dev.predicate.jsonl.
Gives: onnx/model.onnx (input_ids, attention_mask -> logits of the unmarked
pass, hidden = h_k) and onnx/marked.onnx (hidden, attention_mask,
token_type_ids -> logits), see layered.py; parity.json; model.json (files
and marked_files: fp32); README.md (model card).
Parity (exit status 1 with a loud message when any fails), on dev batched
with padding, real tokens only, marked and unmarked rows mixed: PeftModel
(a), merged (b) and the two ONNX graphs run as kgx runs them (c) agree on
argmax for 100% of tokens with max |logit diff| <= 1e-4; the graphs have
kgx's interface; a sentence is tagged the same whatever batch it is in.
Run: python -m kgx_export.onnx_export --model-dir models/kgx-minilm-layered
(onnx_export/__main__.py dispatches here when model.json lists marked_files).
"""
from __future__ import annotations

import time
from pathlib import Path

from kgx_export.onnx_export.common import conclude, load_peft
from kgx_export.onnx_export.onnx_tools import session
from kgx_export.onnx_export.parity import (batch_invariance, exact_parity, finish_report, metrics_from_logits, padded_batches,
                                     torch_logits)
from kgx_export.cards.layered import write_card
from kgx_export.common import LABELS, install_tokenizer, read_json, set_threads_and_seed
from kgx_export.train import layered
from kgx_export.train.trainer import features


def check_interface(encoder, marked, labels: int = len(LABELS)) -> dict:
    """The two graphs' contract with kgx (names, dtypes, ranks; see layered.py)."""
    problems = []

    def names(items):
        return [i.name for i in items]

    if names(encoder.get_inputs()) != layered.ENCODER_INPUTS:
        problems.append(f"model.onnx inputs {names(encoder.get_inputs())} != {layered.ENCODER_INPUTS}")
    if names(encoder.get_outputs()) != layered.ENCODER_OUTPUTS:
        problems.append(f"model.onnx outputs {names(encoder.get_outputs())} != {layered.ENCODER_OUTPUTS}")
    if names(marked.get_inputs()) != layered.MARKED_INPUTS:
        problems.append(f"marked.onnx inputs {names(marked.get_inputs())} != {layered.MARKED_INPUTS}")
    if names(marked.get_outputs()) != ["logits"]:
        problems.append(f"marked.onnx outputs {names(marked.get_outputs())} != ['logits']")
    for graph, out in (("model.onnx", encoder.get_outputs()[0]), ("marked.onnx", marked.get_outputs()[0])):
        if len(out.shape) != 3 or out.shape[2] != labels or out.type != "tensor(float)":
            problems.append(f"{graph} logits are {out.type} {out.shape}, not float [batch, sequence, {labels}]")
    hidden = encoder.get_outputs()[1] if len(encoder.get_outputs()) > 1 else None
    if hidden is not None and hidden.shape[2] != marked.get_inputs()[0].shape[2]:
        problems.append(f"hidden widths differ: {hidden.shape} vs {marked.get_inputs()[0].shape}")
    return {"ok": not problems, "problems": problems}


def build(model_dir: Path, base_dir: Path, dev_rows, threads: int = 2, log=print) -> dict:
    """Merge, export, check; returns the parity report (also parity.json).
    Raises ParityError after writing it when a check fails."""
    t0 = time.time()
    set_threads_and_seed(0, threads)
    manifest_path = model_dir / "model.json"
    manifest = read_json(manifest_path)
    k = manifest["marker_layer"]
    onnx_dir = model_dir / "onnx"
    padded = padded_batches(features(dev_rows, install_tokenizer(base_dir, model_dir)))
    report = {"scheme": "layered", "marker_layer": k,
              "dev_rows": sum(len(b["input_ids"]) for b in padded),
              "marked_rows": int(sum(b["token_type_ids"].any(axis=1).sum() for b in padded)),
              "real_tokens": int(sum(b["attention_mask"].sum() for b in padded)),
              "batches": len(padded), "padding": "right, per batch of 32, mixed lengths",
              "bounds": {"exact_max_abs_diff": 1e-4, "exact_argmax_agreement": 1.0}}
    failures = []

    peft = load_peft(base_dir, model_dir / "adapter", marker=True)
    la = torch_logits(peft, padded, layered.forward(k))
    merged = peft.merge_and_unload().eval()
    lb = torch_logits(merged, padded, layered.forward(k))
    encoder_path, marked_path = layered.export_graphs(merged, onnx_dir, k)
    encoder, marked = session(encoder_path, threads), session(marked_path, threads)
    lc = layered.ort_layered_logits(encoder, marked, padded)
    report["exact"], exact_failures = exact_parity(la, lb, lc, padded, "merged")
    failures += exact_failures
    report["interface"] = check_interface(encoder, marked)
    if not report["interface"]["ok"]:
        failures.append("ONNX interface: " + "; ".join(report["interface"]["problems"]))
    report["dev_metrics"] = {"peft": metrics_from_logits(la, padded), "fp32": metrics_from_logits(lc, padded)}
    inv = batch_invariance(lambda batches: layered.ort_layered_logits(encoder, marked, batches), padded[:8])
    report["batch_invariance"] = {"fp32": {key: v for key, v in inv.items() if key != "tokens"}}
    if not inv["invariant"]:
        failures.append(f"fp32 not batch-invariant (argmax agreement {inv['argmax_agreement']:.4f})")
    finish_report(model_dir, report, failures, [encoder_path, marked_path], t0)
    return conclude(model_dir, report, failures, write_card, log)
