"""Training checkpoints: a run killed at any point resumes where its last
checkpoint left it and ends with the same adapter as an uninterrupted run.

Takes: the model's trainable parameters, the optimiser and schedule, the
batch-order RNG (its state at the start of the current epoch, so the epoch's
batches are drawn again in the same order), torch's RNG (dropout), the
position (epoch, steps done in it, running loss) and the run's record so far.
Gives: one file, written atomically (a temporary beside it, then a rename),
so a kill during the write leaves the previous checkpoint whole.
Invariants: a checkpoint resumes only a run with the same hyper-parameters
and training set (CheckpointMismatch otherwise: never a silent mix of two
runs); the file is removed when the run finishes.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "checkpoint.pt"


class CheckpointMismatch(RuntimeError):
    """The checkpoint belongs to a run with other hyper-parameters or data."""


@dataclass
class Position:
    """Where training stands: `epoch` (1-based) is the epoch in progress,
    `step` the optimiser steps already done in it, `loss_sum` their losses."""
    epoch: int = 1
    step: int = 0
    loss_sum: float = 0.0


def fingerprint(hp: dict, train_ids: list[str]) -> str:
    """What a resumed run must share with the run that wrote the checkpoint."""
    blob = json.dumps({"hp": hp, "train": train_ids}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def trainable_state(model) -> dict:
    """The trainable parameters only (the frozen base is rebuilt from disk)."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def save(path: Path, *, model, opt, sched, epoch_rng_state, pos: Position, record: dict, best: float,
         key: str) -> None:
    import torch

    state = {"key": key, "trainable": trainable_state(model), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "epoch_rng": epoch_rng_state, "torch_rng": torch.get_rng_state(),
             "position": vars(pos).copy(), "record": record, "best": best}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load(path: Path, key: str) -> dict | None:
    """The checkpoint at `path`, or None when there is none; CheckpointMismatch
    when it was written by a different run."""
    import torch

    if not path.exists():
        return None
    state = torch.load(path, weights_only=False)
    if state.get("key") != key:
        raise CheckpointMismatch(f"{path} was written by a run with other hyper-parameters or training data; "
                                 "remove it or train without --resume")
    return state


def restore(state: dict, *, model, opt, sched, rng: random.Random) -> tuple[Position, dict, float]:
    """Loads `state` into the live objects; the position, record and best dev
    score to continue from. `rng` is set to the epoch's starting state."""
    import torch

    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state["trainable"].items():
            params[name].copy_(value)
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    rng.setstate(state["epoch_rng"])
    torch.set_rng_state(state["torch_rng"])
    return Position(**state["position"]), state["record"], state["best"]
