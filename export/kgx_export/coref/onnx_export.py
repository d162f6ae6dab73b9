"""Merge the coreference adapter, export ONNX, check parity, write the manifest.

Takes: models/kgx-coref-minilm/adapter/, the packaged base encoder and GAP
validation (export/data/gap/; the texts and pronoun offsets only, as inputs).
Gives: tokenizer.json (the base encoder's), onnx/model.onnx (inputs
input_ids / attention_mask / token_type_ids int64 [batch, seq]; outputs
query and key f32 [batch, seq, dim]), parity.json and model.json; exits 1 with a loud message when the PEFT
model, the merged model and the ONNX file disagree: max |diff| of the
pronoun-antecedent scores over 1e-3, or a different best token for any
validation pronoun.
Run: python -m kgx_export.coref.onnx_export
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from kgx_export.common import BASE_ID, base_model_dir, install_tokenizer, read_json, set_threads_and_seed, write_json
from kgx_export.coref.data import MAX_TOKENS, examples
from kgx_export.coref.model import DIM, base_scorer, scores
from kgx_export.coref.train import OUT, VALIDATION, batches, pad

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
TOLERANCE = 1e-3


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


def onnx_scores(path: Path, exs):
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = []
    for group in batches(exs, 16):
        ids, mask, types, pron = pad(group)
        q, k = sess.run(["query", "key"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy(),
                                            "token_type_ids": types.numpy()})
        out.append(scores(torch.from_numpy(q), torch.from_numpy(k), pron, mask).numpy())
    return out


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
    got = onnx_scores(onnx_path, val)
    report = {"peft_vs_merged": compare(ref, mid), "peft_vs_onnx": compare(ref, got),
              "tolerance": TOLERANCE}
    failures = [f"{k}: max |diff| {v['max_abs_diff']:.2e} > {TOLERANCE}, same best token {v['same_best_token']:.4f}"
                for k, v in report.items() if isinstance(v, dict)
                and (v["max_abs_diff"] > TOLERANCE or v["same_best_token"] < 1.0)]
    write_json(a.model_dir / "parity.json", report)
    old = a.model_dir / "model.json"
    # none_margin is tuned with kgx on GAP validation (README.md); a rebuild keeps it.
    margin = read_json(old).get("none_margin", 0.0) if old.exists() else 0.0
    write_json(old, {
        "name": a.model_dir.name, "kind": "coreference", "base": BASE_ID, "adapter": "adapter",
        "tokenizer": "tokenizer.json", "max_tokens": MAX_TOKENS, "dim": DIM,
        "files": {"fp32": "onnx/model.onnx"}, "none_margin": margin})
    print(f"parity: {report}")
    if failures:
        print("PARITY FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
