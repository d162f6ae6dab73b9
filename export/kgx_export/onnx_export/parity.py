"""Parity checks between torch and ONNX variants of the token classifier.

Takes: label-aligned features (see align.encode), models or logits.
Gives: padded numpy batches, logits from torch models (real tokens only: the
virtual positions of a prompt-tuning PeftModel are dropped), agreement figures over
real tokens (attention_mask == 1): argmax agreement and max |logit diff|,
span metrics from logits, and checks that raise ParityError when a bound
is not met.
"""
from __future__ import annotations

import numpy as np

from kgx_export.common import IGNORE
from kgx_export.metrics import evaluate, sequences_from_arrays
from kgx_export.train.methods import real_logits

EXACT_TOL = 1e-4  # max |logit diff| for PeftModel / merged / fp32 ONNX
FP16_MIN_AGREEMENT = 0.995
INT8_MAX_F1_LOSS = 1.0  # points of dev macro span F1


class ParityError(RuntimeError):
    """A variant disagrees with its reference beyond the allowed bound."""


def padded_batches(feats: list[dict], batch_size: int = 32) -> list[dict]:
    """Right-padded int64 numpy batches, in length order (mixed lengths per
    batch, so every batch but the shortest carries padding)."""
    order = sorted(range(len(feats)), key=lambda i: len(feats[i]["input_ids"]))
    # interleave long and short rows so padding is exercised in each batch
    order = order[::2] + order[1::2][::-1]
    out = []
    for s in range(0, len(order), batch_size):
        rows = [feats[i] for i in order[s:s + batch_size]]
        n = max(len(r["input_ids"]) for r in rows)
        b = {}
        for key, fill in (("input_ids", 0), ("attention_mask", 0), ("token_type_ids", 0), ("labels", IGNORE)):
            b[key] = np.array([r[key] + [fill] * (n - len(r[key])) for r in rows], dtype=np.int64)
        out.append(b)
    return out


def torch_logits(model, padded: list[dict], forward=None) -> list[np.ndarray]:
    """Logits of a torch model (eval mode, no grad) for each batch, from
    `forward(model, input_ids=..., attention_mask=..., token_type_ids=...)`
    (default: the model's own forward, virtual positions dropped)."""
    import torch

    forward = forward or (lambda m, **t: real_logits(m, m(**t).logits))
    model.eval()
    out = []
    with torch.no_grad():
        for b in padded:
            t = {k: torch.from_numpy(b[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
            out.append(forward(model, **t).float().numpy())
    return out


def compare(ref: list[np.ndarray], other: list[np.ndarray], padded: list[dict]) -> dict:
    """Argmax agreement and max |diff| over real (attention_mask=1) tokens."""
    agree = total = 0
    max_diff = 0.0
    for r, o, b in zip(ref, other, padded):
        real = b["attention_mask"].astype(bool)
        if r.shape != o.shape:
            raise ParityError(f"logit shapes differ: {r.shape} vs {o.shape}")
        agree += int((r.argmax(-1) == o.argmax(-1))[real].sum())
        total += int(real.sum())
        max_diff = max(max_diff, float(np.abs(r - o)[real].max()))
    return {"argmax_agreement": agree / total, "max_abs_diff": max_diff, "tokens": total}


def split_halves(padded: list[dict]) -> list[dict]:
    """Each batch cut into two half batches, each trimmed to its own longest
    row: the same rows in another batch composition and padding width."""
    out = []
    for b in padded:
        h = max(1, len(b["input_ids"]) // 2)
        for rows in (slice(0, h), slice(h, None)):
            part = {k: v[rows] for k, v in b.items()}
            if len(part["input_ids"]):
                width = int(part["attention_mask"].sum(1).max())
                out.append({k: v[:, :width] for k, v in part.items()})
    return out


def batch_invariance(logits_of, padded: list[dict]) -> dict:
    """Runs the same rows batched as `padded` and as half batches; a model is
    batch-invariant when every real token keeps its argmax and its logits
    stay within EXACT_TOL. Dynamically quantised models are not: their
    activation scales are computed over the whole batch."""
    whole = logits_of(padded)
    halves = split_halves(padded)
    parts = logits_of(halves)
    rejoined = []
    i = 0
    for b in padded:
        width = b["input_ids"].shape[1]
        pieces = []
        for _ in range(2 if len(b["input_ids"]) > 1 else 1):
            lg = parts[i]
            pad = np.zeros((lg.shape[0], width - lg.shape[1], lg.shape[2]), dtype=lg.dtype)
            pieces.append(np.concatenate([lg, pad], axis=1))
            i += 1
        rejoined.append(np.concatenate(pieces, axis=0))
    stats = compare(whole, rejoined, padded)
    stats["invariant"] = stats["argmax_agreement"] == 1.0 and stats["max_abs_diff"] <= EXACT_TOL
    return stats


def metrics_from_logits(logits: list[np.ndarray], padded: list[dict]) -> dict:
    """Token accuracy and span P/R/F1 of logits against the batch labels."""
    preds, golds = [], []
    for lg, b in zip(logits, padded):
        p, g = sequences_from_arrays(lg.argmax(-1).tolist(), b["labels"].tolist())
        preds += p
        golds += g
    return evaluate(preds, golds)


def exact_parity(reference, middle, onnx, padded: list[dict], middle_name: str) -> tuple[dict, list[str]]:
    """PeftModel vs `middle_name` (merged model or export wrapper) vs fp32 ONNX:
    stats for each pair and the failures of the exact bound."""
    pairs = {f"peft_vs_{middle_name}": (reference, middle), "peft_vs_onnx_fp32": (reference, onnx),
             f"{middle_name}_vs_onnx_fp32": (middle, onnx)}
    stats = {name: compare(a, b, padded) for name, (a, b) in pairs.items()}
    failures = []
    for name, pair_stats in stats.items():
        try:
            check_exact(name, pair_stats)
        except ParityError as e:
            failures.append(str(e))
    return stats, failures


def check_exact(name: str, stats: dict, tol: float = EXACT_TOL) -> None:
    """100% argmax agreement and max |diff| <= tol, else ParityError."""
    if stats["argmax_agreement"] < 1.0 or not stats["max_abs_diff"] <= tol:
        raise ParityError(f"{name}: argmax agreement {stats['argmax_agreement']:.6f} "
                          f"(need 1.0), max |diff| {stats['max_abs_diff']:.3g} (need <= {tol})")


def check_fp16(stats: dict, minimum: float = FP16_MIN_AGREEMENT) -> None:
    if stats["argmax_agreement"] < minimum:
        raise ParityError(f"fp16 vs fp32: argmax agreement {stats['argmax_agreement']:.4f} "
                          f"(need >= {minimum})")


def f1_loss_points(ref_metrics: dict, other_metrics: dict) -> float:
    """Drop of dev macro span F1, in points (positive = worse)."""
    return 100.0 * (ref_metrics["macro_f1"] - other_metrics["macro_f1"])


def finish_report(model_dir, report: dict, failures: list[str], onnx_files, started: float) -> None:
    """Sizes of the ONNX files and the adapter, failures, build time; written
    to model_dir/parity.json."""
    import time

    from kgx_export.common import write_json

    report["sizes_bytes"] = {p.name: p.stat().st_size for p in onnx_files}
    adapter_file = model_dir / "adapter" / "adapter_model.safetensors"
    report["sizes_bytes"][adapter_file.name] = adapter_file.stat().st_size
    report["failures"] = failures
    report["ok"] = not failures
    report["build_seconds"] = round(time.time() - started, 1)
    write_json(model_dir / "parity.json", report)
