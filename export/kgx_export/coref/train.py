"""Train the antecedent scorer on GAP development, pick the epoch on GAP validation.

Takes: ../shared/data/gap/gap-development.tsv, GAP validation (the tracked
copy in export/data/gap/), the packaged base encoder, hyper-parameters on
the command line.
Gives, in --out (default models/kgx-coref-minilm): adapter/ (LoRA on the
encoder's attention and feed-forward, the projection saved whole) and
train_log.json (per-epoch loss and validation scores). The training
rows are GAP development and `--augment` renamed copies of each
(`data.renamed`: A and B get other development names of the pronoun's
gender). The loss is the marginal log-likelihood of the gold
antecedent tokens (or [CLS] for "neither") among the tokens of the
window's capitalised words (the names kgx can find) and [CLS].
Validation here scores A and B with the labelled spans as the only
candidates (a training signal); `kgx eval --format gap` scores the real
thing, with the mentions kgx finds itself.
Run: python -m kgx_export.coref.train
"""
from __future__ import annotations

import argparse
import math
import random
import time
from pathlib import Path

from kgx_export.common import (BASE_ID, REPO, base_model_dir, load_tokenizer, optimiser_step, set_threads_and_seed,
                               warmup_linear_decay, write_json)
from kgx_export.coref.data import MAX_TOKENS, examples, examples_of, name_pools, read_gap, renamed
from kgx_export.coref.model import DIM, base_scorer, scores
from kgx_export.train.trainer import save_adapter

GAP = REPO.parent / "shared" / "data" / "gap"      # development (training only)
VALIDATION = REPO / "export" / "data" / "gap" / "gap-validation.tsv"  # a tracked copy
OUT = REPO / "models" / "kgx-coref-minilm"
DEFAULTS = dict(epochs=2, lr=1e-3, head_lr=1e-3, batch_size=8, r=16, alpha=32, dropout=0.1, seed=13,
                threads=2, warmup=0.1, weight_decay=0.01, target_modules=["query", "key", "value", "dense"],
                augment=6)


def training_rows(path, copies: int, seed: int) -> list[dict]:
    """GAP development rows, then `copies` renamed copies of each (name
    augmentation, `data.renamed`; rows without a name of their own skipped)."""
    rows = read_gap(path)
    pools, rng = name_pools(rows), random.Random(seed)
    extra = [renamed(r, pools, rng) for _ in range(copies) for r in rows]
    return rows + [r for r in extra if r is not None]


def pad(group):
    import torch

    n = max(len(e.input_ids) for e in group)
    ids = torch.tensor([e.input_ids + [0] * (n - len(e.input_ids)) for e in group])
    mask = torch.tensor([[1] * len(e.input_ids) + [0] * (n - len(e.input_ids)) for e in group])
    return ids, mask, torch.zeros_like(ids), torch.tensor([e.pronoun for e in group])


def batches(exs, size, rng=None):
    order = sorted(range(len(exs)), key=lambda i: len(exs[i].input_ids))
    groups = [[exs[i] for i in order[k:k + size]] for k in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(groups)
    return groups


def loss_of(model, group):
    import torch

    ids, mask, types, pron = pad(group)
    q, k = model(ids, mask, types)
    s = scores(q, k, pron, mask)
    # Each pronoun's antecedent is chosen among the name-like tokens and [CLS], as in kgx.
    allowed = torch.zeros_like(s, dtype=torch.bool)
    allowed[:, 0] = True
    gold = torch.full_like(s, float("-inf"))
    for row, e in enumerate(group):
        allowed[row, e.candidates] = True
        for t in (e.gold or [0]):
            gold[row, t] = s[row, t]
    s = s.masked_fill(~allowed, float("-inf"))
    return (torch.logsumexp(s, -1) - torch.logsumexp(gold, -1)).mean()


def gap_f1(decisions) -> dict:
    """decisions: (predicted, gold, feminine) per A/B decision -> F1 overall, M, F, bias F/M."""
    def f1(ds):
        tp = sum(p and g for p, g, _ in ds)
        fp = sum(p and not g for p, g, _ in ds)
        fn = sum(g and not p for p, g, _ in ds)
        return 2 * tp / max(1, 2 * tp + fp + fn)
    m = f1([d for d in decisions if not d[2]])
    f = f1([d for d in decisions if d[2]])
    return {"f1": f1(decisions), "masculine": m, "feminine": f, "bias": f / m if m else 0.0}


def validate(model, exs) -> dict:
    import torch

    model.eval()
    decisions = []
    with torch.no_grad():
        for group in batches(exs, 32):
            ids, mask, types, pron = pad(group)
            decisions += labelled_decisions(scores(*model(ids, mask, types), pron, mask), group)
    return gap_f1(decisions)


def labelled_decisions(s, group) -> list:
    """(predicted, gold, feminine) for A and B of each row of `group`, A and B
    being the only candidates; `s` holds the rows' scores (torch or numpy)."""
    decisions = []
    for row, e in enumerate(group):
        best = lambda ts: max((float(s[row, t]) for t in ts), default=float("-inf"))
        a, b, none = best(e.a_tokens), best(e.b_tokens), float(s[row, 0])
        decisions += [(a > max(b, none), e.a_coref, e.feminine), (b > max(a, none), e.b_coref, e.feminine)]
    return decisions


def make_model(base_dir, hp):
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=hp["r"], lora_alpha=hp["alpha"], lora_dropout=hp["dropout"],
                     target_modules=hp["target_modules"], modules_to_save=["project"])
    return get_peft_model(base_scorer(base_dir), cfg)


def train(hp: dict, out: Path, limit: int = 0, log=print) -> dict:
    import torch

    set_threads_and_seed(hp["seed"], hp["threads"])
    base = base_model_dir()
    tok = load_tokenizer(base)
    tr = examples_of(training_rows(GAP / "gap-development.tsv", hp["augment"], hp["seed"]), tok)
    va = examples(VALIDATION, tok)
    tr = tr[:limit] if limit else tr
    log(f"{len(tr)} training examples ({hp['augment']} renamed copies of each development row)")
    model = make_model(base, hp)
    head = [p for n, p in model.named_parameters() if p.requires_grad and "project" in n]
    lora = [p for n, p in model.named_parameters() if p.requires_grad and "project" not in n]
    opt = torch.optim.AdamW([{"params": lora, "lr": hp["lr"]}, {"params": head, "lr": hp["head_lr"]}],
                            weight_decay=hp["weight_decay"])
    sched = warmup_linear_decay(opt, hp["epochs"] * math.ceil(len(tr) / hp["batch_size"]), hp["warmup"])
    rng = random.Random(hp["seed"])
    out.mkdir(parents=True, exist_ok=True)
    record = {"name": out.name, "base": BASE_ID, "hyper_parameters": hp, "train_examples": len(tr),
              "validation_examples": len(va), "max_tokens": MAX_TOKENS, "dim": DIM, "epochs": []}
    best, t0 = -1.0, time.time()
    for epoch in range(1, hp["epochs"] + 1):
        model.train()
        te, total, n = time.time(), 0.0, 0
        for group in batches(tr, hp["batch_size"], rng):
            total, n = total + optimiser_step(model, loss_of(model, group), opt, sched), n + 1
        train_s = time.time() - te
        val = validate(model, va)
        ep = {"epoch": epoch, "train_loss": round(total / n, 4), "train_seconds": round(train_s, 1),
              "validation_with_labelled_candidates": {k: round(v, 4) for k, v in val.items()}}
        record["epochs"].append(ep)
        log(f"epoch {epoch}: loss {ep['train_loss']} validation F1 {val['f1']:.4f} "
            f"(M {val['masculine']:.4f} F {val['feminine']:.4f} bias {val['bias']:.3f}) {train_s:.0f}s")
        if val["f1"] > best:
            best = val["f1"]
            record["best_epoch"] = epoch
            save_adapter(model, out / "adapter")
    record["wall_seconds"] = round(time.time() - t0, 1)
    record["torch_version"] = torch.__version__
    write_json(out / "train_log.json", record)
    return record


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--limit", type=int, default=0, help="use only N development rows (smoke runs)")
    for k in ("epochs", "batch_size", "r", "alpha", "seed", "threads", "augment"):
        ap.add_argument(f"--{k.replace('_', '-')}", type=int, default=None)
    for k in ("lr", "head_lr", "dropout", "warmup", "weight_decay"):
        ap.add_argument(f"--{k.replace('_', '-')}", type=float, default=None)
    a = ap.parse_args(argv)
    hp = dict(DEFAULTS, **{k: v for k, v in vars(a).items() if k in DEFAULTS and v is not None})
    rec = train(hp, a.out, a.limit)
    print(f"best epoch {rec['best_epoch']}; {rec['wall_seconds']}s")


if __name__ == "__main__":
    main()
