"""Export wrappers that bake prompt- or prefix-tuning virtual tokens into a graph.

Takes: a loaded PeftModel (PeftModelForTokenClassification around a BERT-like
token classifier, eager attention) whose active adapter is PROMPT_TUNING or
PREFIX_TUNING, with the classifier head in modules_to_save.
Gives: a plain torch module with kgx's interface, forward(input_ids,
attention_mask, token_type_ids) -> object with `.logits` [batch, seq, labels]
for the real tokens only, that computes what the PeftModel computes:
- PromptWrapper: the learned soft prompt [V, hidden] is a constant buffer; it
  is prepended to the word embeddings (token type 0, positions 0..V-1, the
  real tokens at V..V+seq-1 as in peft), the attention mask gets V ones in
  front, the encoder runs, and the V virtual positions are sliced off the logits.
- PrefixWrapper: the learned per-layer key/value prefixes [layers, 2, heads,
  V, head_dim] are constant buffers, fed to the encoder as past_key_values (a
  DynamicCache built in forward, expanded to the batch); the attention mask
  gets V ones in front; no output positions are added (real tokens sit at
  positions V..V+seq-1, as peft's past_key_values_length makes them).
`bake(peft_model)` picks the wrapper. Both use the trained head copy.
"""
from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import TokenClassifierOutput


def unwrap_head(peft_model) -> nn.Module:
    """The base token classifier with every ModulesToSaveWrapper replaced by
    its trained copy of the active adapter (plain modules, no peft hooks)."""
    from peft.utils.other import ModulesToSaveWrapper

    base = peft_model.get_base_model()
    adapter = peft_model.active_adapter
    for name, module in list(base.named_modules()):
        if isinstance(module, ModulesToSaveWrapper):
            parent = base.get_submodule(name.rsplit(".", 1)[0]) if "." in name else base
            setattr(parent, name.rsplit(".", 1)[-1], module.modules_to_save[adapter])
    return base.eval()


def _ones_prefix(mask: torch.Tensor, n: int) -> torch.Tensor:
    """[batch, n] ones of mask's dtype, batch size taken from `mask` (dynamic in ONNX)."""
    return torch.ones_like(mask[:, :1]).expand(-1, n)


class PromptWrapper(nn.Module):
    """Soft prompt baked in as a constant; see the module docstring."""

    def __init__(self, model: nn.Module, prompt: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("prompt", prompt.detach().clone().float())
        self.n = int(prompt.shape[0])

    def forward(self, input_ids, attention_mask, token_type_ids):
        words = self.model.get_input_embeddings()(input_ids)
        prompt = self.prompt.unsqueeze(0).expand(words.shape[0], -1, -1).to(words.dtype)
        mask = torch.cat([_ones_prefix(attention_mask, self.n), attention_mask], dim=1)
        types = torch.cat([torch.zeros_like(_ones_prefix(token_type_ids, self.n)), token_type_ids], dim=1)
        out = self.model(inputs_embeds=torch.cat([prompt, words], dim=1), attention_mask=mask,
                         token_type_ids=types)
        return TokenClassifierOutput(logits=out.logits[:, self.n:])


class PrefixWrapper(nn.Module):
    """Key/value prefixes baked in as constants; see the module docstring."""

    def __init__(self, model: nn.Module, keys: torch.Tensor, values: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("keys", keys.detach().clone().float())      # [layers, heads, V, head_dim]
        self.register_buffer("values", values.detach().clone().float())
        self.n = int(keys.shape[2])

    def forward(self, input_ids, attention_mask, token_type_ids):
        from transformers import DynamicCache

        b = input_ids.shape[0]
        layers = [(k.unsqueeze(0).expand(b, -1, -1, -1), v.unsqueeze(0).expand(b, -1, -1, -1))
                  for k, v in zip(self.keys.unbind(0), self.values.unbind(0))]
        cache = DynamicCache(layers)
        mask = torch.cat([_ones_prefix(attention_mask, self.n), attention_mask], dim=1)
        backbone = getattr(self.model, self.model.base_model_prefix)
        hidden = backbone(input_ids=input_ids, attention_mask=mask, token_type_ids=token_type_ids,
                          past_key_values=cache, return_dict=True)[0]
        logits = self.model.classifier(self.model.dropout(hidden))
        return TokenClassifierOutput(logits=logits)


def learned_prompt(peft_model) -> torch.Tensor:
    """[V, hidden] soft prompt of the active adapter (as peft's get_prompt)."""
    with torch.no_grad():
        return peft_model.get_prompt(batch_size=1)[0].float()


def learned_prefix(peft_model) -> tuple[torch.Tensor, torch.Tensor]:
    """([layers, heads, V, head_dim] keys, same-shaped values) of the active
    adapter, read from peft's own get_prompt (so any post-processing applies)."""
    with torch.no_grad():
        cache = peft_model.get_prompt(batch_size=1)
        if hasattr(cache, "layers"):  # DynamicCache (transformers >= 4.56)
            pairs = [(l.keys, l.values) for l in cache.layers]
        else:  # legacy tuple of [2, batch, heads, V, head_dim] or (k, v) pairs
            pairs = [(kv[0], kv[1]) for kv in cache]
        keys = torch.stack([k[0] for k, _ in pairs]).float()
        values = torch.stack([v[0] for _, v in pairs]).float()
    return keys, values


def bake(peft_model) -> nn.Module:
    """The export wrapper for a prompt- or prefix-tuning PeftModel (eval mode)."""
    kind = peft_model.active_peft_config.peft_type.value
    if kind == "PROMPT_TUNING":
        prompt = learned_prompt(peft_model)
        return PromptWrapper(unwrap_head(peft_model), prompt).eval()
    if kind == "PREFIX_TUNING":
        keys, values = learned_prefix(peft_model)
        return PrefixWrapper(unwrap_head(peft_model), keys, values).eval()
    raise ValueError(f"bake() handles PROMPT_TUNING and PREFIX_TUNING, not {kind}")
