"""Merge the coreference adapter, export ONNX, check parity, write the manifest.

Takes: models/kgx-coref-minilm/adapter/, the packaged base encoder and GAP
validation (export/data/gap/; the texts and pronoun offsets only, as inputs).
Gives: tokenizer.json (the base encoder's), onnx/model.onnx (inputs
input_ids / attention_mask / token_type_ids int64 [batch, seq]; outputs
query and key f32 [batch, seq, dim]), onnx/model.int8.onnx (the same graph,
its weight MatMuls dynamically quantised to int8), parity.json and
model.json; exits 1 with a loud message when the PEFT model, the merged
model and the fp32 ONNX file disagree: max |diff| of the pronoun-antecedent
scores over 1e-3, or a different best token for any validation pronoun.
The int8 file becomes the CPU default (`cpu_default`; kgx runs the
coreference model on one thread of the store stage, where its cost counts
against the whole run) only when it loses at most INT8_MAX_F1_LOSS points
of validation F1 (A/B decided among the labelled candidates, as in
training) and is at least DEFAULT_MARGIN faster than fp32 on one thread;
on a GPU the fp32 file runs.
Run: python -m kgx_export.coref.onnx_export
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from kgx_export.common import BASE_ID, base_model_dir, install_tokenizer, read_json, set_threads_and_seed, write_json
from kgx_export.coref.data import MAX_TOKENS, examples
from kgx_export.coref.model import DIM, base_scorer, scores
from kgx_export.coref.train import OUT, VALIDATION, batches, gap_f1, labelled_decisions, pad
from kgx_export.onnx_export.onnx_tools import quantize_int8, session

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
TOLERANCE = 1e-3
INT8_MAX_F1_LOSS = 1.0      # points of labelled-candidate validation F1
DEFAULT_MARGIN = 0.15       # int8 replaces fp32 on CPU only when this much faster


def export(model, path: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = tuple(torch.ones(2, 8, dtype=torch.long) for _ in INPUTS)
    dummy[1][1, 6:] = 0
    dummy[2].zero_()
    axes = {n: {0: "batch", 1: "sequence"} for n in INPUTS + ["query", "key"]}
    with torch.no_grad():
        torch.onnx.export(model, dummy, str(path), input_names=INPUTS, output_names=["query", "key"],
                          dynamic_axes=axes, opset_version=17, do_constant_folding=True, dynamo=False)


def torch_scores(model, exs):
    import torch

    out = []
    with torch.no_grad():
        for group in batches(exs, 16):
            ids, mask, types, pron = pad(group)
            out.append(scores(*model(ids, mask, types), pron, mask).numpy())
    return out


def onnx_scores(path: Path, exs, threads: int = 2):
    """Scores of each batch of 16 and the seconds the ONNX runs took."""
    import torch

    sess = session(path, threads)
    out, seconds = [], 0.0
    for group in batches(exs, 16):
        ids, mask, types, pron = pad(group)
        t0 = time.perf_counter()
        q, k = sess.run(["query", "key"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy(),
                                            "token_type_ids": types.numpy()})
        seconds += time.perf_counter() - t0
        out.append(scores(torch.from_numpy(q), torch.from_numpy(k), pron, mask).numpy())
    return out, seconds


def labelled_f1(batch_scores, exs) -> dict:
    """Validation F1 with A and B as the only candidates (train.validate's
    decisions) from the scores of batches(exs, 16)."""
    decisions = [d for s, group in zip(batch_scores, batches(exs, 16)) for d in labelled_decisions(s, group)]
    return {k: round(v, 4) for k, v in gap_f1(decisions).items()}


def int8_variant(fp32_path: Path, exs, ref, fp32_f1: dict) -> dict:
    """Quantise the fp32 graph (per-channel int8 weights, MatMuls only), compare
    it with the PEFT reference and time both on one thread (as kgx runs them)."""
    path = fp32_path.with_name("model.int8.onnx")
    quantize_int8(fp32_path, path, {"per_channel": True, "op_types": ["MatMul"], "exclude": []})
    got, _ = onnx_scores(path, exs)
    seconds = {}
    for name, p in (("fp32", fp32_path), ("int8", path)):
        seconds[name] = min(onnx_scores(p, exs, threads=1)[1] for _ in range(2))
    f1 = labelled_f1(got, exs)
    loss = round(100 * (fp32_f1["f1"] - f1["f1"]), 2)
    faster = seconds["int8"] <= (1 - DEFAULT_MARGIN) * seconds["fp32"]
    return {**compare(ref, got), "validation_f1": f1, "f1_loss_points": loss,
            "max_f1_loss_points": INT8_MAX_F1_LOSS, "seconds_one_thread": {k: round(v, 2) for k, v in seconds.items()},
            "cpu_default": loss <= INT8_MAX_F1_LOSS and faster}


def compare(a, b) -> dict:
    diff, same, n = 0.0, 0, 0
    for x, y in zip(a, b):
        finite = np.isfinite(x)
        diff = max(diff, float(np.abs(np.where(finite, x, 0) - np.where(finite, y, 0)).max()))
        same += int((x.argmax(-1) == y.argmax(-1)).sum())
        n += x.shape[0]
    return {"max_abs_diff": diff, "same_best_token": same / max(1, n), "pronouns": n}


def main(argv=None) -> int:
    from peft import PeftModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=OUT)
    a = ap.parse_args(argv)
    set_threads_and_seed(13)
    base = base_model_dir()
    tok = install_tokenizer(base, a.model_dir)
    val = examples(VALIDATION, tok)
    peft = PeftModel.from_pretrained(base_scorer(base), str(a.model_dir / "adapter")).eval()
    ref = torch_scores(peft, val)
    merged = peft.merge_and_unload().eval()
    mid = torch_scores(merged, val)
    onnx_path = a.model_dir / "onnx" / "model.onnx"
    export(merged, onnx_path)
    got, _ = onnx_scores(onnx_path, val)
    report = {"peft_vs_merged": compare(ref, mid), "peft_vs_onnx": compare(ref, got),
              "tolerance": TOLERANCE}
    failures = [f"{k}: max |diff| {v['max_abs_diff']:.2e} > {TOLERANCE}, same best token {v['same_best_token']:.4f}"
                for k, v in report.items() if isinstance(v, dict)
                and (v["max_abs_diff"] > TOLERANCE or v["same_best_token"] < 1.0)]
    fp32_f1 = labelled_f1(got, val)
    report["fp32_validation_f1"] = fp32_f1
    report["int8"] = int8_variant(onnx_path, val, ref, fp32_f1)
    cpu_default = "int8" if report["int8"]["cpu_default"] else "fp32"
    write_json(a.model_dir / "parity.json", report)
    old = a.model_dir / "model.json"
    # none_margin is tuned with kgx on GAP validation (README.md); a rebuild keeps it.
    margin = read_json(old).get("none_margin", 0.0) if old.exists() else 0.0
    # first_names.tsv comes with the adapter (`make train-coref`, kgx_export.coref.names).
    names = {"first_names": "first_names.tsv"} if (a.model_dir / "first_names.tsv").exists() else {}
    write_json(old, {
        "name": a.model_dir.name, "kind": "coreference", "base": BASE_ID, "adapter": "adapter",
        "tokenizer": "tokenizer.json", **names, "max_tokens": MAX_TOKENS, "dim": DIM,
        "files": {"fp32": "onnx/model.onnx", "int8": "onnx/model.int8.onnx"},
        "cpu_default": cpu_default, "gpu_default": "fp32", "none_margin": margin})
    print(f"parity: {report}")
    if failures:
        print("PARITY FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
