"""CaRB dev comparison: the one-triple model, the predicate-indexed models and
the spaCy dependency-rule baselines; throughput of the models.

Takes: the kgx release binary, the built models models/kgx-minilm-lora,
-multi (marker at the input) and -layered (marker at an upper layer),
../shared/data/carb/dev.{txt,gold.tsv} and the
baseline extractions written by `make baseline-spacy`
(export/baselines/spacy_{root,extended}_carb_dev.tsv).
Gives: the head threshold of the model named by --model (default layered),
tuned on CaRB dev
(best F1 over all predictions on a grid of REL probabilities, or the most
probable label) and written to its model.json as `head_threshold`; then
models/kgx-minilm-<model>/carb_eval.json with, per system, CaRB dev
precision / recall / F1 over all predictions, the best F1 and its
confidence threshold, the PR-curve area and the number of extractions (all
scored by `kgx eval`, the CaRB rules of src/eval/carb.rs), plus kgx CPU
throughput of every model (`kgx extract --dry-run`, fp32, 2 threads,
median of --runs round-robin runs) on the 5,000-sentence sample corpus and
on the CaRB dev sentences; then rewrites that model's card, which
shows that file as a table.
Run: python -m kgx_export.baselines.carb_compare [--kgx target/release/kgx] [--runs 3] [--model layered]
"""
from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from pathlib import Path

from kgx_export.baselines.compare import throughput, write_corpus
from kgx_export.cards import layered as layered_card
from kgx_export.cards import merged as merged_card
from kgx_export.common import REPO, read_json, write_json

CARB = REPO.parent / "shared" / "data" / "carb"
BASELINES = {"spacy-root": "spacy_root_carb_dev.tsv", "spacy-extended": "spacy_extended_carb_dev.tsv"}
MODELS = ("lora", "multi", "layered")
HEAD_THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
NUM = r"([0-9.]+)"


def parse_report(text: str) -> dict:
    """Figures of a `kgx eval` report (see src/eval/mod.rs print_report)."""
    def grab(pattern: str) -> list[float]:
        m = re.search(pattern, text)
        if not m:
            raise ValueError(f"kgx eval output lacks {pattern!r}:\n{text}")
        return [float(g) for g in m.groups()]

    gold, predicted = grab(r"([0-9]+) gold tuples, ([0-9]+) predicted tuples")
    p, r, f = grab(rf"all predictions\s+P {NUM}\s+R {NUM}\s+F1 {NUM}")
    t, bp, br, bf = grab(rf"best F1 \(conf >= {NUM}\)\s+P {NUM}\s+R {NUM}\s+F1 {NUM}")
    (auc,) = grab(rf"AUC \(precision/recall curve\)\s+{NUM}")
    return {"gold_tuples": int(gold), "predicted_tuples": int(predicted),
            "all": {"precision": p, "recall": r, "f1": f},
            "best": {"threshold": t, "precision": bp, "recall": br, "f1": bf}, "auc": auc}


def kgx_eval(kgx: Path, *args: str) -> dict:
    cmd = [str(kgx), "eval", "--gold", str(CARB / "dev.gold.tsv"), "--format", "carb", *args]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return {"command": " ".join(["kgx", *cmd[1:]]).replace(str(REPO) + "/", ""), **parse_report(done.stdout)}


def tune_head_threshold(kgx: Path, model_dir: Path) -> dict:
    """CaRB dev F1 for each threshold and for argmax (None); writes the best
    to model.json (removes the key when argmax wins)."""
    manifest_path = model_dir / "model.json"
    manifest = read_json(manifest_path)
    manifest.pop("head_threshold", None)
    write_json(manifest_path, manifest)
    base = ["--device", "cpu", "--precision", "fp32", "--model", str(model_dir)]
    sweep = {"argmax": kgx_eval(kgx, *base)["all"]["f1"]}
    for t in HEAD_THRESHOLDS:
        sweep[str(t)] = kgx_eval(kgx, *base, "--head-threshold", str(t))["all"]["f1"]
        print(f"head threshold {t}: F1 {sweep[str(t)]:.3f}")
    best = max(sweep, key=sweep.get)
    if best != "argmax":
        manifest["head_threshold"] = float(best)
        write_json(manifest_path, manifest)
    return {"f1_by_threshold": sweep, "chosen": best}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kgx", type=Path, default=REPO / "target" / "release" / "kgx")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--model", choices=MODELS[1:], default="layered",
                    help="the predicate-indexed model whose head threshold is tuned and whose card gets the table")
    a = ap.parse_args(argv)
    model_dir = REPO / "models" / f"kgx-minilm-{a.model}"
    tuning = tune_head_threshold(a.kgx, model_dir)
    systems = {}
    for name in MODELS:
        systems[f"kgx-minilm-{name}"] = kgx_eval(a.kgx, "--device", "cpu", "--precision", "fp32",
                                                 "--model", str(REPO / "models" / f"kgx-minilm-{name}"))
        print(name, systems[f"kgx-minilm-{name}"]["all"])
    for name, file in BASELINES.items():
        path = REPO / "export" / "baselines" / file
        if not path.exists():
            raise SystemExit(f"{path} is missing: run `make baseline-spacy` first")
        systems[name] = kgx_eval(a.kgx, "--extractions", str(path))
        print(name, systems[name]["all"])
    report = {"gold": "../shared/data/carb/dev.gold.tsv (641 sentences, 2,548 tuples)", "systems": systems,
              "model": f"kgx-minilm-{a.model}", "head_threshold_tuning": tuning}
    if not a.skip_throughput:
        with tempfile.TemporaryDirectory() as tmp:
            sample = write_corpus(Path(tmp) / "sample.jsonl", 5000)
            carb = Path(tmp) / "carb_dev.txt"
            carb.write_text((CARB / "dev.txt").read_text(encoding="utf-8"), encoding="utf-8")
            report["throughput"] = {
                "sample_5000": throughput(a.kgx, sample, 5000, list(MODELS), a.runs),
                "carb_dev_641": throughput(a.kgx, carb, 641, list(MODELS), a.runs, extra=["--input-format", "lines"]),
                "command": "kgx extract -q --device cpu --precision fp32 --threads 2 --dry-run --model DIR CORPUS",
            }
    out = model_dir / "carb_eval.json"
    write_json(out, report)
    writer = layered_card.write_card if "marked_files" in read_json(model_dir / "model.json") else merged_card.write_card
    writer(model_dir, read_json(model_dir / "train_log.json"), read_json(model_dir / "parity.json"))
    print(f"wrote {out} and {model_dir / 'README.md'}")


if __name__ == "__main__":
    main()
