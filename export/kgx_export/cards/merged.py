"""Model card (README.md) for a merged (LoRA) kgx token-classifier directory.

Takes: the model directory (adapter/adapter_config.json, model.json), the
training log (train_log.json contents) and the parity report (parity.json).
Gives: README.md with base model, adapter config, trainable parameters,
sizes, training data and time, dev metrics, parity figures and the int8
quantisation recipe.
"""
from __future__ import annotations

import json
from pathlib import Path

from kgx_export.cards.sections import base_and_lora_lines, carb_section, mb, metrics_table, write

SCHEME_TEXT = {
    "single": {
        "intro": [
            "Token classifier for kgx: tags each word of an English sentence as `SRC` (subject),",
            "`REL` (relation), `TGT` (object) or `O`, one triple a sentence. Labels are predicted",
            "on the first sub-token of each pre-tokenizer word (`label_level: first_subtoken`).",
        ],
        "data": [
            "- Data: OIE2016 train split only (`export/data/train.jsonl`, see `export/data/DATA.md`;",
            "  MIT). Each tuple is projected onto the whitespace tokens: ARG1 -> SRC, full predicate",
            "  -> REL, ARG2 -> TGT. One triple a sentence: the first gold tuple in file order that has",
            "  ARG1, predicate and ARG2 and projects with at least one word each; sentences without",
            "  one are left out. Dev: OIE2016 dev split, same scheme. No test split used.",
        ],
        "limits": [
            "- One triple a sentence; other tuples of the sentence are not labelled (kept in the jsonl",
            "  for a later multi-triple scheme). Spans only cover words present in the sentence.",
        ],
    },
    "predicate": {
        "intro": [
            "Predicate-indexed token classifier for kgx (`scheme: predicate`): several triples a",
            "sentence. kgx runs it once unmarked (every token type 0), where it tags the head word of",
            "every predicate `REL`; then once per head, with that head's sub-tokens marked by token",
            "type 1, where it tags that predicate's `SRC` (subject), `REL` (relation) and `TGT`",
            "(object and later arguments) and `O`. One ONNX file serves both passes (same inputs and",
            "output as the one-triple model). A triple's confidence is the mean of its three spans'",
            "probabilities times the head's REL probability. Labels are predicted on the first",
            "sub-token of each pre-tokenizer word (`label_level: first_subtoken`).",
        ],
        "data": [
            "- Data: OIE2016 train split only (`export/data/train.predicate.jsonl`, made from",
            "  `export/data/train.jsonl` by `python -m kgx_export.data.predicates`, see its docstring; MIT).",
            "  Per sentence one detection example (REL on every gold predicate head) and one example",
            "  per distinct head (ARG1 -> SRC, full predicate -> REL, ARG2 and later arguments -> TGT,",
            "  all tuples of the sentence used). Dev: OIE2016 dev split, same scheme (the span",
            "  metrics below mix both kinds of example). No test split used.",
        ],
        "limits": [
            "- One triple per detected predicate head; a head missed by the unmarked pass gives no",
            "  triple. A target is one contiguous span: arguments split around the relation keep",
            "  the most confident part. Sentences longer than the model's window are marked in the",
            "  window that holds the head, so arguments outside it are lost.",
            "- Two passes and more: CPU cost grows with the number of predicates a sentence has",
            "  (see the throughput figures below). Tried and not shipped: training the unmarked pass",
            "  to tag the whole triple of one-predicate sentences, so that they skip the marked pass",
            "  (1.86 instead of 2.45 model passes a sentence on the sample corpus): CaRB dev F1 fell",
            "  to 0.483 (0.488 with the tuned head threshold).",
        ],
    },
}


def card_text(model_dir: Path, log: dict, rep: dict) -> str:
    acfg = json.loads((model_dir / "adapter" / "adapter_config.json").read_text())
    manifest = json.loads((model_dir / "model.json").read_text()) if (model_dir / "model.json").exists() else {}
    hp, params = log.get("hyper_parameters", {}), log.get("params", {})
    sizes, m32, dm = rep["sizes_bytes"], rep["dev_metrics"]["fp32"], rep["dev_metrics"]
    i8 = rep["int8"]
    r8 = i8["chosen"]["recipe"]
    timing = rep["cpu_timing"]
    scheme = manifest.get("scheme", "single")
    lines = [
        f"# {model_dir.name}",
        "",
        *SCHEME_TEXT[scheme]["intro"],
        "",
        *base_and_lora_lines(model_dir, acfg, "the trained classifier head ships in the adapter"),
        f"- Trainable parameters: {params.get('trainable', 0):,} of {params.get('total', 0):,} "
        f"({100 * params.get('share', 0):.2f}%).",
        f"- Size on disk: adapter {mb(sizes['adapter_model.safetensors'])} vs merged fp32 ONNX "
        f"{mb(sizes['model.onnx'])} (opt {mb(sizes['model.opt.onnx'])}, int8 "
        f"{mb(sizes['model.int8.onnx'])}, fp16 {mb(sizes['model.fp16.onnx'])}). ONNX files are "
        f"build outputs (`make {'model-multi' if scheme == 'predicate' else 'model'}`), not tracked.",
        "",
        "## Training",
        *SCHEME_TEXT[scheme]["data"],
        f"- Training rows (sentences, or sentence x predicate for `scheme: predicate`): train "
        f"{log.get('train_sentences')}, dev {log.get('dev_sentences')}.",
        f"- Hyper-parameters: epochs {hp.get('epochs')}, lr {hp.get('lr')} (linear warm-up "
        f"{hp.get('warmup')}, linear decay), batch {hp.get('batch_size')}, AdamW weight decay "
        f"{hp.get('weight_decay')}, seed {log.get('seed')}, {hp.get('threads')} CPU threads.",
        f"- Best epoch (dev macro span F1): {log.get('best_epoch')}; training wall time "
        f"{log.get('wall_seconds')} s on CPU, 2 threads (per-epoch train seconds "
        f"{[e['train_seconds'] for e in log.get('epochs', [])]}; the 2-core machine was often "
        "shared with other jobs, so these are upper bounds).",
        "- Dev macro span F1 per epoch: "
        f"{[round(e['dev']['macro_f1'], 4) for e in log.get('epochs', [])]}.",
        "",
        *carb_section(model_dir),
        "## Dev metrics (OIE2016 dev, merged fp32 ONNX)",
        f"Token accuracy (first sub-tokens): {m32['token_accuracy']:.4f} over {m32['tokens']} words "
        f"of {m32['sentences']} sentences. Span metrics, exact match (a span is a maximal run of",
        "consecutive words with the same non-O label):",
        "",
        *metrics_table(m32),
        "",
        "| variant | token accuracy | macro span F1 |",
        "| --- | --- | --- |",
        *[f"| {k} | {dm[k]['token_accuracy']:.4f} | {dm[k]['macro_f1']:.4f} |"
          for k in ("peft", "fp32", "fp32_opt", "int8", "fp16")],
        "",
        "## Parity (dev, batched with right padding, real tokens only)",
        "| pair | argmax agreement | max abs logit diff |",
        "| --- | --- | --- |",
        *[f"| {k} | {v['argmax_agreement']:.6f} | {v['max_abs_diff']:.2e} |" for k, v in rep["exact"].items()],
        f"| fp32 vs fp32_opt | {rep['fp32_opt']['argmax_agreement']:.6f} | {rep['fp32_opt']['max_abs_diff']:.2e} |",
        f"| fp32 vs int8 | {i8['argmax_agreement']:.6f} | {i8['max_abs_diff']:.2e} |",
        f"| fp32 vs fp16 (CPU EP) | {rep['fp16']['argmax_agreement']:.6f} | {rep['fp16']['max_abs_diff']:.2e} |",
        "",
        "Bounds: PeftModel, merged and fp32 ONNX agree on 100% of argmaxes with max |diff| <= 1e-4;",
        "int8 loses <= 1.0 point of dev macro span F1; fp16 agrees with fp32 on >= 99.5% of tokens.",
        "",
        "## Quantisation",
        f"- int8: `onnxruntime.quantization.quantize_dynamic` on `{i8['chosen']['source']}`, recipe "
        f"`{r8['name']}`: per_channel={r8['per_channel']}, weights QInt8, op types "
        f"{r8['op_types'] or 'all supported'}, kept in fp32: {r8['exclude'] or 'nothing'}. "
        f"Dev macro span F1 loss vs fp32: {i8['chosen']['f1_loss_points']:.2f} points "
        f"({'within' if i8['ok'] else 'OUTSIDE'} the 1.0 point bound). "
        f"Only MatMuls with a constant weight are quantised (MatMulConstBOnly). {i8.get('note', '')}",
        "- Selection: every recipe is tried on the plain graph, the optimised graph and the optimised",
        "  graph without the Attention and SkipLayerNormalization fusions (`int8-source-lite`: those fused",
        "  CPU kernels are slower than the nodes they replace); of those within the F1 bound the fastest",
        "  over a dev pass (2 threads, best of 2) is kept as `model.int8.onnx`.",
        "- Recipes tried (F1 loss in points; seconds a dev pass where within the bound): " + ", ".join(
            f"{t['recipe']['name']}/{t['source']}: {t['f1_loss_points']:.2f}"
            + (f" ({t['seconds_per_dev_pass']:.2f} s)" if "seconds_per_dev_pass" in t else "") for t in i8["tried"]) + ".",
        "- fp16: the optimised graph converted with `convert_float_to_float16(keep_io_types=True)`.",
        "- Batch invariance: a default must give a sentence the same tags whatever batch it is in "
        "(re-runs, resumed runs and `--max-batch` must store the same triples). Same rows as whole "
        "and as half batches, argmax agreement: " + ", ".join(
            f"{k} {v['argmax_agreement']:.4f}" for k, v in rep.get("batch_invariance", {}).items())
        + ". Dynamic int8 computes activation scales over the whole batch, so it is not invariant "
        "and is offered with `--precision int8` only.",
        f"- CPU default: `{timing['cpu_default']}`: fp32 unless an eligible batch-invariant variant is at least 15% "
        "faster over a dev pass (then the fastest; a pick on timing noise would make two builds differ) with "
        f"onnxruntime, {timing['threads']} threads (seconds: "
        + ", ".join(f"{k} {v:.2f}" for k, v in timing["seconds_per_dev_pass"].items()) + "). "
        f"GPU default: `{manifest.get('gpu_default', 'fp16')}`.",
        "",
        "## Limitations",
        *SCHEME_TEXT[scheme]["limits"],
        "- Newswire/Wikipedia training text; short-budget CPU training (the train loss was still",
        "  falling at the last epoch). TGT spans (ARG2) are long, often whole clauses, and exact",
        "  span match is strict: TGT F1 is far below SRC/REL; token accuracy shows partial overlap.",
        "",
    ]
    return "\n".join(lines)


def write_card(model_dir: Path, log: dict, rep: dict) -> Path:
    """model_dir/README.md for a merged (LoRA) model."""
    return write(model_dir, card_text(model_dir, log, rep))
