"""What every build does, whichever kind of model: load the PeftModel it
is checked against, and conclude (the model card, then the parity verdict).

Takes: the base model and adapter directories; later the build's parity
report. Gives: the PeftModel in eval mode; README.md, and ParityError when
a check failed (parity.json is written by then).
"""
from __future__ import annotations

from pathlib import Path

from kgx_export.onnx_export.parity import ParityError
from kgx_export.common import read_json
from kgx_export.train.trainer import base_classifier


def load_peft(base_dir: Path, adapter_dir: Path, marker: bool = False):
    """Base token classifier (eager attention; with `marker`, the layered
    scheme's marker embedding) + trained adapter, eval mode."""
    from peft import PeftModel

    return PeftModel.from_pretrained(base_classifier(base_dir, marker), str(adapter_dir)).eval()


def conclude(model_dir: Path, report: dict, failures: list[str], write_card, log=None) -> dict:
    """The end of every build: the model card (from train_log.json when
    training left one), with `log` the PeftModel-vs-ONNX line, then
    ParityError if a check failed (parity.json is already written)."""
    log_path = model_dir / "train_log.json"
    write_card(model_dir, read_json(log_path) if log_path.exists() else {}, report)
    if log:
        exact = report["exact"]["peft_vs_onnx_fp32"]
        log(f"{model_dir.name}: peft vs onnx max |diff| {exact['max_abs_diff']:.2e}, argmax {exact['argmax_agreement']:.6f}")
    if failures:
        raise ParityError("; ".join(failures))
    return report
