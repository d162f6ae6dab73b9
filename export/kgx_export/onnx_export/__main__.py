"""Build a model directory: merge or bake its adapter, export ONNX, enforce
parity, write the card. Dispatches on the model: layered (model.json lists
marked_files) -> onnx_export/layered.py; prefix/prompt tuning (the adapter's
peft_type) -> onnx_export/virtual.py; LoRA -> onnx_export/merged.py.
Run: python -m kgx_export.onnx_export [--model-dir models/kgx-minilm-<method>]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kgx_export.onnx_export import layered, merged, virtual
from kgx_export.onnx_export.parity import ParityError
from kgx_export.common import DATA_DIR, MODEL_DIR, base_model_dir, read_json, read_jsonl
from kgx_export.train.methods import method_of
from kgx_export.train.trainer import SCHEMES


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    ap.add_argument("--base", type=Path, default=None)
    ap.add_argument("--dev", type=Path, default=None,
                    help="dev rows (default: the dev split of the model's scheme, see train.SCHEMES)")
    a = ap.parse_args(argv)
    if a.dev is None:
        scheme = read_json(a.model_dir / "model.json").get("scheme", "single")
        a.dev = DATA_DIR / f"dev{SCHEMES[scheme]}.jsonl"
    method = method_of(read_json(a.model_dir / "adapter" / "adapter_config.json"))
    try:
        if "marked_files" in read_json(a.model_dir / "model.json"):
            r = layered.build(a.model_dir, a.base or base_model_dir(), read_jsonl(a.dev))
            print(json.dumps({k: r[k] for k in ("exact", "interface", "batch_invariance")}, indent=1))
            print(f"build OK in {r['build_seconds']}s (layered, marker at layer {r['marker_layer']})")
            return 0
        if method != "lora":
            r = virtual.build(a.model_dir, a.base or base_model_dir(), read_jsonl(a.dev))
            print(json.dumps({k: r[k] for k in ("exact", "interface", "batch_invariance", "cpu_timing")},
                             indent=1))
            print(f"build OK in {r['build_seconds']}s ({method}); cpu_default=fp32")
            return 0
        r = merged.build(a.model_dir, a.base or base_model_dir(), read_jsonl(a.dev))
    except ParityError as e:
        bar = "!" * 72
        print(f"\n{bar}\nPARITY FAILED: {e}\nsee {a.model_dir / 'parity.json'}\n{bar}", file=sys.stderr)
        return 1
    print(json.dumps({k: r[k] for k in ("exact", "fp32_opt", "fp16", "cpu_timing")}, indent=1))
    print(f"int8: {r['int8']['chosen']['recipe']['name']} from {r['int8']['chosen']['source']}, "
          f"F1 loss {r['int8']['chosen']['f1_loss_points']:.2f} pts, ok={r['int8']['ok']}")
    print(f"build OK in {r['build_seconds']}s; cpu_default={r['cpu_timing']['cpu_default']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
