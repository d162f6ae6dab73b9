"""Training checkpoints: a run killed mid-epoch and resumed ends with the same
adapter, the same per-epoch losses and dev scores as an uninterrupted run; a
checkpoint from another run is refused."""
import pytest
import torch
from safetensors.torch import load_file
from test_layered import rows

from kgx_export.train import checkpoint
from kgx_export.train.trainer import method_hp, train


class Killed(Exception):
    pass


def quiet(*_):
    pass


def kill_at(epoch, step):
    def on_step(pos):
        if (pos.epoch, pos.step) == (epoch, step):
            raise Killed
    return on_step


def comparable(record):
    return [(e["epoch"], e["train_loss"], e["dev"]) for e in record["epochs"]], record["best_epoch"]


@pytest.fixture(scope="module")
def hp():
    return method_hp("lora", {"scheme": "layered", "split_layer": 1, "epochs": 2, "lr": 5e-3, "batch_size": 8})


@pytest.fixture(scope="module")
def uninterrupted(tiny_base_dir, tmp_path_factory, hp):
    out = tmp_path_factory.mktemp("straight") / "m"
    record = train(tiny_base_dir, rows(24, 1), rows(6, 2), out, hp, log=quiet)
    return out, record


def test_a_run_killed_mid_epoch_resumes_to_the_same_adapter(tiny_base_dir, tmp_path, hp, uninterrupted):
    straight, expected = uninterrupted
    out = tmp_path / "m"
    # 72 rows, batches of 8: 9 steps an epoch; killed during epoch 2, after
    # the checkpoint of its step 5 (checkpoint_seconds=0: every step).
    with pytest.raises(Killed):
        train(tiny_base_dir, rows(24, 1), rows(6, 2), out, hp, log=quiet, checkpoint_seconds=0, on_step=kill_at(2, 5))
    assert (out / checkpoint.FILE_NAME).exists()
    resumed = train(tiny_base_dir, rows(24, 1), rows(6, 2), out, hp, log=quiet, resume=True)
    assert [(r["epoch"], r["step"]) for r in resumed["resumed_at"]] == [(2, 5)]
    assert comparable(resumed) == comparable(expected)
    a, b = load_file(straight / "adapter/adapter_model.safetensors"), load_file(out / "adapter/adapter_model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not (out / checkpoint.FILE_NAME).exists()


def test_a_checkpoint_of_another_run_is_refused(tiny_base_dir, tmp_path, hp):
    out = tmp_path / "m"
    with pytest.raises(Killed):
        train(tiny_base_dir, rows(24, 1), rows(6, 2), out, hp, log=quiet, checkpoint_seconds=0, on_step=kill_at(1, 3))
    with pytest.raises(checkpoint.CheckpointMismatch, match="other hyper-parameters"):
        train(tiny_base_dir, rows(24, 1), rows(6, 2), out, dict(hp, lr=1e-3), log=quiet, resume=True)
    with pytest.raises(checkpoint.CheckpointMismatch):
        train(tiny_base_dir, rows(25, 1), rows(6, 2), out, hp, log=quiet, resume=True)
