"""Tracked artifacts: prepared data, manifest and tokenizer stay consistent."""
import json
from pathlib import Path

import pytest

from kgx_export.data.align import encode
from kgx_export.common import DATA_DIR, LABELS, MODEL_DIR, load_tokenizer, read_jsonl
from kgx_export.data.prepare import prepare_split, read_oie


def test_prepare_groups_and_labels(tmp_path):
    oie = tmp_path / "x.oie"
    oie.write_text("a b c d\tb\tb\ta\n"            # no ARG2: skipped
                   "a b c d\tc\twill c\tb\td\n"    # 'will' missing: counted
                   "e f g\tf\tf\te\tg\tx\n")
    rows, stats = prepare_split(read_oie(oie), "t")
    assert [r["text"] for r in rows] == ["a b c d", "e f g"]
    assert rows[0]["triple"] == 1 and rows[0]["labels"] == ["O", "SRC", "REL", "TGT"]
    assert len(rows[0]["tuples"]) == 2 and rows[1]["tuples"][0]["args"] == ["e", "g", "x"]
    assert stats["words_missing"] == 1 and stats["labelled_sentences"] == 2


@pytest.mark.parametrize("split", ["train", "dev"])
def test_prepared_jsonl(split):
    rows = read_jsonl(DATA_DIR / f"{split}.jsonl")
    labelled = [r for r in rows if r["labels"]]
    assert len(labelled) > 0.9 * len(rows)
    for r in labelled:
        assert len(r["labels"]) == len(r["text"].split())
        assert {"SRC", "REL", "TGT"} <= set(r["labels"]) <= set(LABELS)
        assert r["tuples"][r["triple"]]["args"][1]


def test_manifest_and_tokenizer():
    manifest = json.loads((MODEL_DIR / "model.json").read_text())
    assert manifest["labels"] == LABELS == json.loads((MODEL_DIR / "labels.json").read_text())
    assert manifest["cpu_default"] in ("fp32", "fp32_opt", "int8")
    assert set(manifest["files"]) == {"fp32", "fp32_opt", "int8", "fp16"}
    assert (MODEL_DIR / manifest["adapter"] / "adapter_model.safetensors").exists()
    raw = json.loads((MODEL_DIR / manifest["tokenizer"]).read_text())
    assert raw["padding"] is None and raw["truncation"] is None
    tok = load_tokenizer(MODEL_DIR / manifest["tokenizer"])
    row = next(r for r in read_jsonl(DATA_DIR / "dev.jsonl") if r["labels"])
    enc = encode(tok, row["text"].split(), row["labels"])
    assert len(enc["input_ids"]) == len(enc["labels"]) <= manifest["max_tokens"]


@pytest.mark.parametrize("method,peft_type", [("prefix", "PREFIX_TUNING"), ("prompt", "PROMPT_TUNING")])
def test_virtual_token_models(method, peft_type):
    """Tracked prefix/prompt directories: fp32-only manifest, small adapter of
    the right type, the LoRA tokenizer, virtual tokens + max_tokens <= 512."""
    from kgx_export.train.methods import model_dir

    d = model_dir(method)
    manifest = json.loads((d / "model.json").read_text())
    assert manifest["name"] == d.name and manifest["labels"] == LABELS
    assert manifest["files"] == {"fp32": "onnx/model.onnx"}
    assert manifest["cpu_default"] == manifest["gpu_default"] == "fp32"
    acfg = json.loads((d / "adapter" / "adapter_config.json").read_text())
    assert acfg["peft_type"] == peft_type and acfg["task_type"] == "TOKEN_CLS"
    assert acfg["num_virtual_tokens"] + manifest["max_tokens"] <= 512
    assert (d / "adapter" / "adapter_model.safetensors").stat().st_size < 1_000_000
    assert (d / "tokenizer.json").read_bytes() == (MODEL_DIR / "tokenizer.json").read_bytes()
    log = json.loads((d / "train_log.json").read_text())
    assert log["params"]["trainable_by_kind"]["classifier_head"] == 384 * 4 + 4


def test_cpu_default_moves_off_fp32_only_for_a_clear_speed_gain():
    from kgx_export.onnx_export.merged import choose_cpu_default

    assert choose_cpu_default({"fp32": 1.00, "fp32_opt": 0.97}) == "fp32"
    assert choose_cpu_default({"fp32": 1.00, "fp32_opt": 0.80, "int8": 0.60}) == "int8"
    assert choose_cpu_default({"fp32": 1.00}) == "fp32"
