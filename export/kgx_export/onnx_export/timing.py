"""CPU timing of ONNX variants in a clean process (no torch loaded).

Takes: an .npz of padded dev batches (arrays input_ids_<i>, attention_mask_<i>,
token_type_ids_<i>), the ONNX directory and variant=file pairs.
Gives (stdout, JSON): per variant the minimum seconds for one pass over all
batches, over `rounds` round-robin passes, onnxruntime CPU EP with
`threads` intra-op threads. Run by merged.py and virtual.py in a subprocess because torch's
own thread pool in the same process slows onnxruntime down.
Run: python -m kgx_export.onnx_export.timing BATCHES.npz ONNX_DIR fp32=model.onnx ... [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def save_batches(padded: list[dict], path: Path) -> None:
    np.savez(path, **{f"{k}_{i}": b[k] for i, b in enumerate(padded) for k in INPUTS})


def load_batches(path: Path) -> list[dict]:
    z = np.load(path)
    n = len(z.files) // len(INPUTS)
    return [{k: z[f"{k}_{i}"] for k in INPUTS} for i in range(n)]


def time_files(onnx_dir: Path, files: dict, padded: list[dict], rounds: int, threads: int) -> dict:
    from kgx_export.onnx_export.onnx_tools import ort_logits, session

    sessions = {k: session(onnx_dir / f, threads) for k, f in files.items()}
    for s in sessions.values():  # warm-up
        ort_logits(s, padded[:2])
    best = {k: float("inf") for k in files}
    for _ in range(rounds):
        for k, s in sessions.items():
            best[k] = min(best[k], ort_logits(s, padded)[1])
    return best


def time_in_subprocess(onnx_dir: Path, files: dict, padded: list[dict], rounds: int = 5,
                       threads: int = 2) -> dict:
    """Run this module in a fresh interpreter and return its timings."""
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "batches.npz"
        save_batches(padded, npz)
        cmd = [sys.executable, "-m", "kgx_export.onnx_export.timing", str(npz), str(onnx_dir),
               *[f"{k}={v}" for k, v in files.items()], "--rounds", str(rounds),
               "--threads", str(threads)]
        pkg_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=pkg_root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("batches", type=Path)
    ap.add_argument("onnx_dir", type=Path)
    ap.add_argument("files", nargs="+", help="variant=file.onnx")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    files = dict(f.split("=", 1) for f in a.files)
    print(json.dumps(time_files(a.onnx_dir, files, load_batches(a.batches), a.rounds, a.threads)))


if __name__ == "__main__":
    main()
