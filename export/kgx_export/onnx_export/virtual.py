"""Export a prefix- or prompt-tuning model to ONNX, enforce parity, write the card.

Takes: a model directory trained with --method prefix|prompt
(models/kgx-minilm-{prefix,prompt}/: adapter/, tokenizer.json, model.json,
train_log.json), the packaged base model and export/data/dev.jsonl.
Gives: onnx/model.onnx (fp32; the learned virtual tokens baked in as
constants by virtual.bake, same interface as the LoRA model: int64
input_ids / attention_mask / token_type_ids with dynamic batch and sequence
-> `logits` [batch, seq, 4] for the real tokens only), parity.json, model.json
(files: fp32 only, cpu_default and gpu_default "fp32") and README.md.
Parity (exit status 1 with a loud message when any fails), on dev batched
with padding, real tokens only: PeftModel (a), the torch export wrapper (b)
and the fp32 ONNX in onnxruntime (c) agree on argmax for 100% of tokens with
max |logit diff| <= 1e-4; the ONNX file has exactly kgx's interface; it tags
a sentence the same whatever batch it is in. No int8/fp16/optimised
variants are built (fp32 is the only file listed).
Run: python -m kgx_export.onnx_export --model-dir models/kgx-minilm-prefix
(onnx_export/__main__.py dispatches here by the adapter's peft_type).
"""
from __future__ import annotations

import time
from pathlib import Path

from kgx_export.onnx_export import onnx_tools as ox
from kgx_export.onnx_export.common import conclude, load_peft
from kgx_export.onnx_export.parity import (batch_invariance, exact_parity, finish_report, metrics_from_logits,
                                     padded_batches, torch_logits)
from kgx_export.onnx_export.timing import time_in_subprocess
from kgx_export.cards.virtual import write_card
from kgx_export.common import install_tokenizer, read_json, set_threads_and_seed, write_json
from kgx_export.train.trainer import features
from kgx_export.train.virtual import bake


def check_interface(path: Path, labels: int = 4) -> dict:
    """kgx's ONNX contract: inputs input_ids, attention_mask, token_type_ids
    (int64, dynamic [batch, sequence]) -> logits [batch, sequence, labels]."""
    import onnx

    g = onnx.load(str(path), load_external_data=False).graph
    problems = []
    names = [i.name for i in g.input]
    if names != ox.INPUTS:
        problems.append(f"inputs {names} != {ox.INPUTS}")
    for i in g.input:
        dims = i.type.tensor_type.shape.dim
        if i.type.tensor_type.elem_type != onnx.TensorProto.INT64:
            problems.append(f"input {i.name} is not int64")
        if len(dims) != 2 or not all(d.dim_param for d in dims):
            problems.append(f"input {i.name} axes are not [batch, sequence] dynamic")
    outs = [o.name for o in g.output]
    if outs != ["logits"]:
        problems.append(f"outputs {outs} != ['logits']")
    else:
        d = g.output[0].type.tensor_type.shape.dim
        if len(d) != 3 or not (d[0].dim_param and d[1].dim_param) or d[2].dim_value != labels:
            problems.append("logits is not [batch, sequence, labels]")
    return {"inputs": names, "outputs": outs, "ok": not problems, "problems": problems}


def build(model_dir: Path, base_dir: Path, dev_rows, rounds: int = 3, threads: int = 2,
          log=print) -> dict:
    """Bake, export, check; returns the parity report (also written to
    parity.json). Raises ParityError after writing it when a check fails."""
    t0 = time.time()
    set_threads_and_seed(0, threads)
    onnx_dir = model_dir / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("model.opt.onnx", "model.int8.onnx", "model.fp16.onnx"):
        (onnx_dir / stale).unlink(missing_ok=True)
    padded = padded_batches(features(dev_rows, install_tokenizer(base_dir, model_dir)))
    acfg = read_json(model_dir / "adapter" / "adapter_config.json")
    report = {"method": acfg["peft_type"], "virtual_tokens": acfg["num_virtual_tokens"],
              "dev_sentences": sum(len(b["input_ids"]) for b in padded),
              "real_tokens": int(sum(b["attention_mask"].sum() for b in padded)),
              "batches": len(padded), "padding": "right, per batch of 32, mixed lengths",
              "bounds": {"exact_max_abs_diff": 1e-4, "exact_argmax_agreement": 1.0},
              "variants": ["fp32"]}
    failures = []

    peft = load_peft(base_dir, model_dir / "adapter")
    la = torch_logits(peft, padded)              # PeftModel, virtual positions dropped
    wrapper = bake(peft)
    lb = torch_logits(wrapper, padded)
    ox.export_onnx(wrapper, onnx_dir / "model.onnx")
    lc, _ = ox.ort_logits(onnx_dir / "model.onnx", padded, threads)
    report["exact"], exact_failures = exact_parity(la, lb, lc, padded, "wrapper")
    failures += exact_failures
    report["interface"] = check_interface(onnx_dir / "model.onnx")
    if not report["interface"]["ok"]:
        failures.append("ONNX interface: " + "; ".join(report["interface"]["problems"]))
    report["dev_metrics"] = {"peft": metrics_from_logits(la, padded),
                             "fp32": metrics_from_logits(lc, padded)}

    sess = ox.session(onnx_dir / "model.onnx", threads)
    inv = batch_invariance(lambda batches: ox.ort_logits(sess, batches)[0], padded[:8])
    report["batch_invariance"] = {"fp32": {k: v for k, v in inv.items() if k != "tokens"}}
    if not inv["invariant"]:
        failures.append(f"fp32 not batch-invariant (argmax agreement {inv['argmax_agreement']:.4f})")
    secs = time_in_subprocess(onnx_dir, {"fp32": "model.onnx"}, padded, rounds, threads)
    report["cpu_timing"] = {"threads": threads, "rounds": rounds, "seconds_per_dev_pass": secs,
                            "method": "min over passes, fresh process without torch",
                            "eligible": ["fp32"], "cpu_default": "fp32"}
    finish_report(model_dir, report, failures, [onnx_dir / "model.onnx"], t0)
    manifest_path = model_dir / "model.json"
    if manifest_path.exists() and not failures:  # never point Rust at a failed build
        manifest = read_json(manifest_path)
        manifest.update(files={"fp32": "onnx/model.onnx"}, cpu_default="fp32", gpu_default="fp32")
        write_json(manifest_path, manifest)
    return conclude(model_dir, report, failures, write_card, log)
