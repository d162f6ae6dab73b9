"""Merge a layered predicate-indexed model, export its two graphs, enforce parity.

Takes: a model directory trained with `--scheme layered` (adapter/ with the
LoRA matrices, the classifier head and the predicate-marker embedding,
tokenizer.json, model.json with `marker_layer`, train_log.json), the
packaged base model and export/data/dev.predicate.jsonl.
Gives: onnx/model.onnx (input_ids, attention_mask -> logits of the unmarked
pass, hidden = h_k) and onnx/marked.onnx (hidden, attention_mask,
token_type_ids -> logits), see layered.py; each also ORT-optimised
(`*.opt.onnx`, fp32_opt: the transformer optimiser's fusions) and in fp16
(`*.fp16.onnx`, from the optimised graph, keep_io_types: the same int64 /
fp32 inputs and fp32 outputs, so h_k crosses between the graphs as fp32);
the marked graph's gather variant of each precision (`marked*.gather.onnx`,
which kgx runs on CUDA so that h_k stays in device memory);
parity.json; model.json (files, marked_files and marked_gather_files for
fp32, fp32_opt, fp16; cpu_default and gpu_default fp32: a variant is there
to be chosen with `--precision`); README.md (model card).
Parity (exit status 1 with a loud message when any fails), on dev batched
with padding, real tokens only, marked and unmarked rows mixed: PeftModel
(a), merged (b) and the two ONNX graphs run as kgx runs them (c) agree on
argmax for 100% of tokens with max |logit diff| <= 1e-4; the graphs have
kgx's interface; a sentence is tagged the same whatever batch it is in;
the fp32_opt pair agrees with fp32 on >= 99.9% of argmaxes and the fp16
pair on >= 99.5% (both run as kgx runs them: h_k from the variant's own
first graph); each gather variant gives its marked graph's logits exactly
(every argmax, |diff| <= 1e-5) with marked rows reading other rows of the
encoder's output; dev span F1 of each is reported.
Run: python -m kgx_export.onnx_export --model-dir models/kgx-minilm-layered
(onnx_export/__main__.py dispatches here when model.json lists marked_files).
"""
from __future__ import annotations

import time
from pathlib import Path

from kgx_export.onnx_export import onnx_tools as ox
from kgx_export.onnx_export.common import conclude, load_peft
from kgx_export.onnx_export.onnx_tools import session
from kgx_export.onnx_export.parity import (FP16_MIN_AGREEMENT, batch_invariance, compare, exact_parity, f1_loss_points,
                                     finish_report, metrics_from_logits, padded_batches, torch_logits)
from kgx_export.cards.layered import write_card
from kgx_export.common import LABELS, install_tokenizer, read_json, set_threads_and_seed, write_json
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


# Variants of the two graphs: key -> (file suffix, least argmax agreement with fp32).
VARIANTS = {"fp32_opt": ("opt", 0.999), "fp16": ("fp16", FP16_MIN_AGREEMENT)}


def build_variants(onnx_dir: Path, base_dir: Path, padded, fp32_logits, fp32_metrics, threads: int) -> tuple[dict, list[str]]:
    """fp32_opt and fp16 copies of model.onnx and marked.onnx, each pair
    compared with the fp32 pair on dev; returns (report, failures)."""
    cfg = read_json(base_dir / "config.json")
    heads, hidden = cfg["num_attention_heads"], cfg["hidden_size"]
    for graph in ("model", "marked"):
        ox.optimize(onnx_dir / f"{graph}.onnx", onnx_dir / f"{graph}.opt.onnx", heads, hidden)
        ox.to_fp16(onnx_dir / f"{graph}.opt.onnx", onnx_dir / f"{graph}.fp16.onnx")
    report, failures = {}, []
    for key, (suffix, minimum) in VARIANTS.items():
        files = [f"model.{suffix}.onnx", f"marked.{suffix}.onnx"]
        logits = layered.ort_layered_logits(*(session(onnx_dir / f, threads) for f in files), padded)
        metrics = metrics_from_logits(logits, padded)
        report[key] = {**compare(fp32_logits, logits, padded), "files": files, "min_argmax_agreement": minimum,
                       "macro_f1": metrics["macro_f1"], "f1_loss_points": f1_loss_points(fp32_metrics, metrics)}
        if report[key]["argmax_agreement"] < minimum:
            failures.append(f"{key} vs fp32: argmax agreement {report[key]['argmax_agreement']:.4f} (need >= {minimum})")
    return report, failures


# Each precision's graph-file suffix ("" for fp32).
SUFFIXES = {"fp32": ""} | {k: f".{suffix}" for k, (suffix, _) in VARIANTS.items()}
# The gather variant must give its marked graph's logits: a copy, not a computation.
GATHER_MAX_ABS_DIFF = 1e-5


def build_gather_variants(onnx_dir: Path, padded, threads: int) -> tuple[dict, list[str]]:
    """marked{suffix}.gather.onnx for every precision, each run as kgx runs
    it on CUDA (ort_gathered_logits) against its own marked graph run as on
    CPU; returns (report, failures)."""
    report, failures = {}, []
    for key, suffix in SUFFIXES.items():
        marked, gathered = onnx_dir / f"marked{suffix}.onnx", onnx_dir / f"marked{suffix}.gather.onnx"
        ox.gather_hidden(marked, gathered)
        encoder = session(onnx_dir / f"model{suffix}.onnx", threads)
        expected = layered.ort_layered_logits(encoder, session(marked, threads), padded)
        gathered_session = session(gathered, threads)
        names = [i.name for i in gathered_session.get_inputs()]
        if names != layered.GATHER_INPUTS:
            failures.append(f"{gathered.name} inputs {names} != {layered.GATHER_INPUTS}")
            continue
        got = layered.ort_gathered_logits(encoder, gathered_session, padded)
        report[key] = {**compare(expected, got, padded), "file": gathered.name}
        if report[key]["argmax_agreement"] < 1.0 or report[key]["max_abs_diff"] > GATHER_MAX_ABS_DIFF:
            failures.append(f"{gathered.name} vs {marked.name}: argmax agreement {report[key]['argmax_agreement']:.4f}, "
                            f"max |diff| {report[key]['max_abs_diff']:.2e} (need 1.0 and <= {GATHER_MAX_ABS_DIFF})")
    return report, failures


def write_manifest(manifest_path: Path, manifest: dict) -> None:
    """files / marked_files / marked_gather_files for every precision built; fp32 stays the default."""
    manifest["files"] = {k: f"onnx/model{s}.onnx" for k, s in SUFFIXES.items()}
    manifest["marked_files"] = {k: f"onnx/marked{s}.onnx" for k, s in SUFFIXES.items()}
    manifest["marked_gather_files"] = {k: f"onnx/marked{s}.gather.onnx" for k, s in SUFFIXES.items()}
    manifest.setdefault("cpu_default", "fp32")
    manifest.setdefault("gpu_default", "fp32")
    write_json(manifest_path, manifest)


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
    variants, variant_failures = build_variants(onnx_dir, base_dir, padded, lc, report["dev_metrics"]["fp32"], threads)
    report.update(variants)
    report["bounds"].update({f"{k}_min_argmax_agreement": m for k, (_, m) in VARIANTS.items()})
    failures += variant_failures
    report["gather"], gather_failures = build_gather_variants(onnx_dir, padded, threads)
    report["bounds"]["gather_max_abs_diff"] = GATHER_MAX_ABS_DIFF
    failures += gather_failures
    write_manifest(manifest_path, manifest)
    variant_files = [onnx_dir / f"{graph}.{suffix}.onnx" for suffix, _ in VARIANTS.values() for graph in ("model", "marked")]
    variant_files += [onnx_dir / f"marked{suffix}.gather.onnx" for suffix in SUFFIXES.values()]
    finish_report(model_dir, report, failures, [encoder_path, marked_path, *variant_files], t0)
    return conclude(model_dir, report, failures, write_card, log)
