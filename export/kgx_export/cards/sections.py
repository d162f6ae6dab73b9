"""What every model card shares: sizes, the dev metrics table, the CaRB
section, the base model and adapter lines, and writing README.md.

Takes: the model directory (adapter/, model.json, carb_eval.json when
`kgx_export.baselines.carb_compare` has run). Gives: card lines for the
card modules of each kind of model (merged, layered, virtual).
"""
from __future__ import annotations

import json
from pathlib import Path

from kgx_export.common import BASE_ID, BASE_PACKAGE, LABELS

SPAN = [l for l in LABELS if l != "O"]


def mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def saved_modules(model_dir: Path, acfg: dict) -> list[str]:
    """modules_to_save entries that really are in the adapter weights (peft
    adds default names such as `score` that BERT does not have)."""
    from safetensors import safe_open

    with safe_open(str(model_dir / "adapter" / "adapter_model.safetensors"), "np") as f:
        keys = list(f.keys())
    names = set(acfg.get("modules_to_save") or [])
    return sorted(n for n in names if any(f".{n}." in k for k in keys))


def metrics_table(m: dict) -> list[str]:
    rows = ["| label | precision | recall | F1 | gold spans |", "| --- | --- | --- | --- | --- |"]
    for l in SPAN:
        s = m["spans"][l]
        rows.append(f"| {l} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1']:.4f} | {s['gold']} |")
    rows.append(f"| macro | | | {m['macro_f1']:.4f} | |")
    return rows


def carb_section(model_dir: Path) -> list[str]:
    """CaRB dev comparison from carb_eval.json (kgx_export.baselines.carb_compare), if present."""
    path = model_dir / "carb_eval.json"
    if not path.exists():
        return []
    rep = json.loads(path.read_text())
    names = {"kgx-minilm-lora": "one-triple model (kgx-minilm-lora)",
             "kgx-minilm-multi": "predicate-indexed model, marker at the input (kgx-minilm-multi)",
             "kgx-minilm-layered": "predicate-indexed model, marker at layer 4 (kgx-minilm-layered)",
             "spacy-root": "spaCy rules, ROOT verb only (the baseline as specified)",
             "spacy-extended": "spaCy rules, extended (conj/clause verbs, inherited subjects)"}
    lines = ["## CaRB dev (`kgx eval`, the CaRB benchmark's matching rules)",
             f"Gold: {rep['gold']}. Made by `python -m kgx_export.baselines.carb_compare` after "
             "`make baseline-spacy`; every system scored by `kgx eval`.", "",
             "| system | extractions | P | R | F1 | best F1 (threshold) | AUC |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for key, v in rep["systems"].items():
        a, b = v["all"], v["best"]
        lines.append(f"| {names.get(key, key)} | {v['predicted_tuples']} | {a['precision']:.3f} | "
                     f"{a['recall']:.3f} | {a['f1']:.3f} | {b['f1']:.3f} ({b['threshold']:.3f}) | {v['auc']:.3f} |")
    sysm = rep["systems"]
    model = rep.get("model", "kgx-minilm-multi")
    if {model, "spacy-root", "spacy-extended"} <= set(sysm):
        f = {k: sysm[k]["all"]["f1"] for k in (model, "spacy-root", "spacy-extended")}
        lines += ["", f"Against the targets (F1 >= 0.50; >= 10 points above the spaCy baseline): {model} F1 "
                  f"{f[model]:.3f}; {100 * (f[model] - f['spacy-root']):+.1f} points "
                  f"vs the ROOT-verb rules, {100 * (f[model] - f['spacy-extended']):+.1f} vs the "
                  "extended rules. CaRB only needs one shared relation token for a match, so rules that "
                  "emit a tuple for every verb with a subject and an object score well."]
    tuning = rep.get("head_threshold_tuning")
    if tuning:
        lines += ["", f"Head threshold (`head_threshold` in model.json) tuned on CaRB dev: {tuning['chosen']} "
                  "(F1 over all predictions by threshold: " + ", ".join(
                      f"{k} {v:.3f}" for k, v in tuning["f1_by_threshold"].items()) + ")."]
    tp = rep.get("throughput")
    if tp:
        others = [m for m in tp["sample_5000"] if m != "lora"]
        lines += ["", f"CPU throughput, sentences/s (`{tp['command']}`, median of round-robin runs), and how",
                  "many times slower than the one-triple model:", "",
                  "| corpus | kgx-minilm-lora | " + " | ".join(f"kgx-minilm-{m}" for m in others) + " |",
                  "| --- | ---: |" + " ---: |" * len(others)]
        for corpus in ("sample_5000", "carb_dev_641"):
            one = tp[corpus]["lora"]["median_sentences_per_s"]
            cells = [f"{tp[corpus][m]['median_sentences_per_s']:.0f} ({one / tp[corpus][m]['median_sentences_per_s']:.2f}x)"
                     for m in others]
            lines.append(f"| {corpus} | {one:.0f} | " + " | ".join(cells) + " |")
        slowest = max(tp[c]["lora"]["median_sentences_per_s"] / tp[c][model.removeprefix("kgx-minilm-")]["median_sentences_per_s"]
                      for c in ("sample_5000", "carb_dev_641"))
        lines += ["", f"Target: within 2x of the one-triple model's throughput. {model}: at most {slowest:.2f}x "
                  f"slower: {'met' if slowest <= 2 else 'not met'}."]
    return lines + [""]


def base_and_lora_lines(model_dir: Path, acfg: dict, saved: str) -> list[str]:
    """The card's "Base model and adapter" heading, the base encoder and the
    LoRA adapter, whose modules_to_save are described by `saved`."""
    return [
        "## Base model and adapter",
        f"- Base: `{BASE_ID}` (Apache-2.0), loaded offline from the PyPI package `{BASE_PACKAGE}`;",
        "  6 layers, hidden 384, 12 heads, uncased WordPiece vocabulary of 30,522.",
        f"- Adapter: LoRA ({acfg.get('peft_type')}), r={acfg.get('r')}, alpha={acfg.get('lora_alpha')}, "
        f"dropout={acfg.get('lora_dropout')}, target modules {sorted(acfg.get('target_modules') or [])}, "
        f"modules_to_save {saved_modules(model_dir, acfg)} ({saved}).",
    ]


def write(model_dir: Path, text: str) -> Path:
    """model_dir/README.md holding `text`."""
    path = model_dir / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
