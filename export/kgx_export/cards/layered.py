"""Model card (README.md) for a layered predicate-indexed kgx model.

Takes: the model directory (adapter/adapter_config.json, model.json,
carb_eval.json when `kgx_export.baselines.carb_compare` has run), the training log
(train_log.json contents) and the parity report of onnx_export/layered.py.
Gives: README.md: how the model runs (one encoder pass, the marker at layer
k), base model and adapter, training, the CaRB dev comparison, dev metrics,
parity and limitations.
"""
from __future__ import annotations

import json
from pathlib import Path

from kgx_export.cards.sections import base_and_lora_lines, carb_section, mb, metrics_table, write


def variant_lines(rep: dict) -> list[str]:
    """The fp32_opt / fp16 pairs against fp32 (older reports have none)."""
    rows = [(k, rep[k]) for k in ("fp32_opt", "fp16") if k in rep]
    if not rows:
        return []
    sizes = rep["sizes_bytes"]
    return [
        "## Variants (`--precision fp32-opt | fp16`; both graphs of each, h_k handed over as fp32)",
        "| precision | files | argmax agreement with fp32 (bound) | max abs logit diff | dev macro span F1 (loss, points) |",
        "| --- | --- | --- | --- | --- |",
        *[f"| {k} | {' + '.join(mb(sizes[f]) for f in v['files'])} | "
          f"{v['argmax_agreement']:.6f} (>= {v['min_argmax_agreement']}) | {v['max_abs_diff']:.2e} | "
          f"{v['macro_f1']:.4f} ({v['f1_loss_points']:+.2f}) |"
          for k, v in rows],
        "",
        "fp16 is for the CUDA provider (on CPU ONNX Runtime runs it through casts, slower than fp32);",
        "fp32 stays the default on both devices until a GPU run has measured fp16 (`bench/gpu.sh`).",
        "",
    ]


def gather_lines(rep: dict) -> list[str]:
    """The marked graph's gather variants against their marked graphs (older reports have none)."""
    if "gather" not in rep:
        return []
    return [
        "## Gather variants (what kgx runs on CUDA: h_k stays in device memory)",
        "`marked*.gather.onnx`: the marked graph behind one GatherND that reads `hidden_source` (a",
        "first-graph batch's whole h_k) at `hidden_index` ((row, token) a position); checked with the",
        "marked rows in reverse order, so each reads another row of the encoder's output.",
        "",
        "| precision | file | argmax agreement with its marked graph | max abs logit diff |",
        "| --- | --- | --- | --- |",
        *[f"| {k} | {v['file']} | {v['argmax_agreement']:.6f} | {v['max_abs_diff']:.2e} |" for k, v in rep["gather"].items()],
        "",
        f"Bound: every argmax, max |diff| <= {rep['bounds'].get('gather_max_abs_diff', 1e-5)}.",
        "",
    ]


def card_text(model_dir: Path, log: dict, rep: dict) -> str:
    acfg = json.loads((model_dir / "adapter" / "adapter_config.json").read_text())
    hp, params = log.get("hyper_parameters", {}), log.get("params", {})
    sizes, m32, k = rep["sizes_bytes"], rep["dev_metrics"]["fp32"], rep["marker_layer"]
    lines = [
        f"# {model_dir.name}",
        "",
        "Predicate-indexed token classifier for kgx with the predicate marker at an upper layer",
        f"(`scheme: predicate`, `marker_layer: {k}`): several triples a sentence for about the",
        "cost of one encoder pass. The embeddings and the first "
        f"{k} of the 6 encoder layers run once a sentence; their output h_{k} then goes through",
        f"the top {6 - k} layers and the classifier once unmarked, tagging the head word of every",
        "predicate `REL`, and once per head with a learnt marker vector added to the head's",
        "sub-tokens, tagging that predicate's `SRC` (subject), `REL` (relation) and `TGT` (object and",
        f"later arguments). A sentence with h heads costs 6 + {6 - k}h layers instead of 6(h + 1) with",
        "the marker at the input. Two ONNX graphs: `model.onnx` (input_ids, attention_mask -> logits,",
        f"hidden = h_{k}) and `marked.onnx` (hidden, attention_mask, token_type_ids = the marker ->",
        "logits). A triple's confidence is the mean of its three spans' probabilities times the",
        "head's REL probability. Labels are predicted on the first sub-token of each pre-tokenizer",
        "word (`label_level: first_subtoken`).",
        "",
        *base_and_lora_lines(model_dir, acfg, "the classifier head and the 2 x 384 marker embedding, zero at the start, ship in the adapter"),
        f"- Trainable parameters: {params.get('trainable', 0):,} of {params.get('total', 0):,} "
        f"({100 * params.get('share', 0):.2f}%).",
        f"- Size on disk: adapter {mb(sizes['adapter_model.safetensors'])} vs merged fp32 ONNX "
        f"{mb(sizes['model.onnx'])} + {mb(sizes['marked.onnx'])} (the marked graph holds the top "
        f"{6 - k} layers and the head). ONNX files are build outputs (`make model-layered`), not tracked.",
        "",
        "## Training",
        "- Data: the predicate-indexed rows of `kgx-minilm-multi` (`export/data/train.predicate.jsonl`,",
        "  made from OIE2016 train by `python -m kgx_export.data.predicates`, see its docstring; MIT): per",
        "  sentence one detection example (REL on every gold predicate head) and one example per",
        "  distinct head (ARG1 -> SRC, full predicate -> REL, later arguments -> TGT). Dev: OIE2016",
        "  dev, same scheme (the span metrics below mix both kinds of example). No test split used.",
        f"- Rows: train {log.get('train_sentences')}, dev {log.get('dev_sentences')}.",
        f"- Hyper-parameters: epochs {hp.get('epochs')}, lr {hp.get('lr')} (linear warm-up "
        f"{hp.get('warmup')}, linear decay), batch {hp.get('batch_size')}, AdamW weight decay "
        f"{hp.get('weight_decay')}, seed {log.get('seed')}, {hp.get('threads')} CPU threads, "
        f"marker layer {hp.get('split_layer')}.",
        f"- Best epoch (dev macro span F1): {log.get('best_epoch')}; training wall time "
        f"{log.get('wall_seconds')} s on CPU (per-epoch train seconds "
        f"{[e['train_seconds'] for e in log.get('epochs', [])]}).",
        "- Dev macro span F1 per epoch: "
        f"{[round(e['dev']['macro_f1'], 4) for e in log.get('epochs', [])]}.",
        "",
        *carb_section(model_dir),
        "## Dev metrics (OIE2016 dev, merged fp32 ONNX, both graphs)",
        f"Token accuracy (first sub-tokens): {m32['token_accuracy']:.4f} over {m32['tokens']} words "
        f"of {m32['sentences']} rows. Span metrics, exact match:",
        "",
        *metrics_table(m32),
        "",
        "## Parity (dev, batched with right padding, real tokens only)",
        f"{rep['dev_rows']} rows, {rep['marked_rows']} of them marked; the ONNX side runs `model.onnx` on",
        "every row and `marked.onnx` on the h_k of the marked rows, as kgx does.",
        "",
        "| pair | argmax agreement | max abs logit diff |",
        "| --- | --- | --- |",
        *[f"| {name} | {v['argmax_agreement']:.6f} | {v['max_abs_diff']:.2e} |" for name, v in rep["exact"].items()],
        "",
        "Bounds: PeftModel, merged and fp32 ONNX agree on 100% of argmaxes with max |diff| <= 1e-4.",
        "Batch invariance (same rows whole and as half batches): argmax agreement "
        f"{rep['batch_invariance']['fp32']['argmax_agreement']:.4f}, max |diff| "
        f"{rep['batch_invariance']['fp32']['max_abs_diff']:.2e}.",
        "",
        *variant_lines(rep),
        *gather_lines(rep),
        "## Limitations",
        "- One triple per detected predicate head; a head missed by the unmarked pass gives no",
        "  triple. A target is one contiguous span. Sentences longer than the model's window are",
        "  marked in the window that holds the head, so arguments outside it are lost.",
        f"- The first {k} layers never see the marker: what a word is to the predicate is worked out",
        f"  in the top {6 - k} layers alone.",
        "- No int8 variant (dynamic quantisation of the marked graph is left to a later step).",
        f"- kgx keeps a chunk's h_{k} (hidden x 4 bytes a token) until the chunk's marked passes have run:",
        "  about 60 MB more peak memory than the input-marker model for a 2,048-sentence chunk.",
        "",
    ]
    return "\n".join(lines)


def write_card(model_dir: Path, log: dict, rep: dict) -> Path:
    return write(model_dir, card_text(model_dir, log, rep))
