"""The PEFT methods kgx can train: LoRA, prefix tuning and prompt tuning.

Takes: a method name ("lora" | "prefix" | "prompt"), hyper-parameters and a
base token classifier (transformers BertForTokenClassification).
Gives: per-method defaults (learning rates, virtual-token counts, output
directory), the peft config for `get_peft_model`, the optimiser parameter
groups, and helpers that hide the virtual positions of prompt tuning:
`train_batch` (labels padded with -100 over the virtual tokens, so peft's
loss lines up with the longer logits) and `real_logits` (logits of the real
tokens only, [batch, seq, labels], whatever the method).
What is trained: LoRA matrices + the classifier head (LoRA); the per-layer
key/value prefixes + the head (prefix); the soft-prompt input embeddings +
the head (prompt). The head is a full copy kept by peft's modules_to_save.
"""
from __future__ import annotations

from kgx_export.common import REPO

METHODS = ("lora", "prefix", "prompt")

# Method-specific defaults; the shared budget (epochs, batch, seed, schedule)
# stays in train.DEFAULTS. "lr" is the rate of the adapter parameters,
# "head_lr" the rate of the classifier head (None: same as lr).
# Chosen by a short sweep on dev macro span F1 (full budget each run):
#   prefix, 16 tokens: lr 1e-2 -> ~0.40 (3 epochs), 3e-2 -> 0.439, 5e-2 -> 0.451,
#     1e-1 -> 0.460, 2e-1 -> 0.305 (diverges early); 32 tokens at 1e-1 -> 0.433.
#     5e-2 kept: near the best, well below the rate that diverges.
#   prompt, 16 tokens: lr 3e-2 -> 0.3735, 1e-1 -> 0.3725; head 3e-2 -> 0.3755 (flat).
METHOD_DEFAULTS = {
    "lora": {"lr": 1e-3, "head_lr": None},
    "prefix": {"lr": 5e-2, "head_lr": 5e-3, "virtual_tokens": 16, "prefix_projection": False},
    "prompt": {"lr": 3e-2, "head_lr": 5e-3, "virtual_tokens": 16, "prompt_init": "SAMPLE_VOCAB"},
}

PEFT_TYPES = {"LORA": "lora", "PREFIX_TUNING": "prefix", "PROMPT_TUNING": "prompt"}


def model_dir(method: str):
    """models/kgx-minilm-<method>."""
    return REPO / "models" / f"kgx-minilm-{method}"


def method_of(adapter_config: dict) -> str:
    """'lora' / 'prefix' / 'prompt' from an adapter_config.json's peft_type."""
    try:
        return PEFT_TYPES[adapter_config["peft_type"]]
    except KeyError:
        raise ValueError(f"unsupported peft_type {adapter_config.get('peft_type')!r}") from None


def peft_config(hp: dict, base_config):
    """The peft config of `hp['method']` for a BERT-like `base_config`."""
    from peft import (LoraConfig, PrefixTuningConfig, PromptTuningConfig, PromptTuningInit,
                      TaskType)

    method = hp["method"]
    if method == "lora":
        return LoraConfig(task_type=TaskType.TOKEN_CLS, r=hp["r"], lora_alpha=hp["alpha"],
                          lora_dropout=hp["dropout"], target_modules=hp["target_modules"],
                          modules_to_save=saved_modules(hp))
    shape = dict(num_layers=base_config.num_hidden_layers, token_dim=base_config.hidden_size,
                 num_attention_heads=base_config.num_attention_heads, num_transformer_submodules=1)
    if method == "prefix":
        return PrefixTuningConfig(task_type=TaskType.TOKEN_CLS, num_virtual_tokens=hp["virtual_tokens"],
                                  prefix_projection=hp["prefix_projection"],
                                  encoder_hidden_size=base_config.hidden_size,
                                  modules_to_save=["classifier"], **shape)
    if method == "prompt":
        return PromptTuningConfig(task_type=TaskType.TOKEN_CLS, num_virtual_tokens=hp["virtual_tokens"],
                                  prompt_tuning_init=PromptTuningInit(hp["prompt_init"]),
                                  modules_to_save=["classifier"], **shape)
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}")


def saved_modules(hp: dict) -> list[str]:
    """Modules trained in full beside the adapter: the classifier head, and
    for the predicate-indexed scheme the token-type embeddings that carry
    the predicate marker (type 1 is otherwise untrained in MiniLM); for the
    layered scheme the marker embedding added at the split layer."""
    if hp.get("scheme") == "predicate":
        return ["classifier", "token_type_embeddings"]
    if hp.get("scheme") == "layered":
        from kgx_export.train.layered import MARKER

        return ["classifier", MARKER]
    return ["classifier"]


def param_groups(model, hp: dict) -> list[dict]:
    """AdamW groups: adapter parameters at hp['lr'], the classifier head at
    hp['head_lr'] (one group at hp['lr'] when head_lr is None, as for LoRA)."""
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if hp.get("head_lr") is None:
        return [{"params": [p for _, p in trainable], "lr": hp["lr"]}]
    head = [p for n, p in trainable if "modules_to_save" in n]
    rest = [p for n, p in trainable if "modules_to_save" not in n]
    return [{"params": rest, "lr": hp["lr"]}, {"params": head, "lr": hp["head_lr"]}]


def trained_modules(model) -> dict[str, int]:
    """Trainable parameter count by kind: adapter (lora / prefix / prompt) vs head."""
    out: dict[str, int] = {}
    for n, p in model.named_parameters():
        if p.requires_grad:
            kind = "classifier_head" if "modules_to_save" in n else n.split(".default")[0].split(".")[-1]
            kind = "predicate_marker" if "predicate_marker" in n else kind
            kind = "prompt_encoder" if n.startswith("prompt_encoder") else kind
            out[kind] = out.get(kind, 0) + p.numel()
    return out


def prompt_virtual_tokens(model) -> int:
    """Virtual tokens that appear in the *output* (prompt tuning only: prefix
    tuning adds keys/values, not positions)."""
    cfg = getattr(model, "active_peft_config", None)
    if cfg is None or not cfg.is_prompt_learning or cfg.peft_type.value != "PROMPT_TUNING":
        return 0
    return cfg.num_virtual_tokens * (cfg.num_transformer_submodules or 1)


def train_batch(model, batch: dict) -> dict:
    """Batch for a training step: with prompt tuning, labels get -100 over the
    virtual positions that peft prepends to the logits."""
    import torch

    v = prompt_virtual_tokens(model)
    if v and "labels" in batch:
        lab = batch["labels"]
        batch = dict(batch, labels=torch.cat([lab.new_full((lab.shape[0], v), -100), lab], dim=1))
    return batch


def real_logits(model, logits):
    """Logits of the real tokens: the prompt-tuning virtual positions dropped."""
    v = prompt_virtual_tokens(model)
    return logits[:, v:] if v else logits
