"""The antecedent scorer: the base encoder (LoRA) + one linear projection.

Takes: token ids, attention mask, token type ids of a window of text.
Gives: `query` and `key` vectors [batch, tokens, DIM] for every token. The
score of token j as the antecedent of the pronoun at token i is
q_i . k_j / sqrt(DIM); token 0 ([CLS]) stands for "no antecedent in the
window". The ONNX export has exactly these two outputs; kgx (Rust) takes
the dot products for the pronoun and candidate mentions it found.
"""
from __future__ import annotations

import math

import torch
from torch import nn

DIM = 128


class AntecedentScorer(nn.Module):
    def __init__(self, encoder, dim: int = DIM):
        super().__init__()
        self.encoder = encoder
        self.project = nn.Linear(encoder.config.hidden_size, 2 * dim)
        self.dim = dim

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        query, key = self.project(hidden).split(self.dim, dim=-1)
        return query, key


def scores(query, key, pronouns, mask):
    """[batch, tokens] scores of every token as the antecedent of each row's
    pronoun token (padding and the pronoun itself at -inf)."""
    q = query[torch.arange(query.shape[0]), pronouns]                # [B, D]
    s = torch.einsum("bd,btd->bt", q, key) / math.sqrt(query.shape[-1])
    s = s.masked_fill(mask == 0, float("-inf"))
    s[torch.arange(s.shape[0]), pronouns] = float("-inf")
    return s


def base_scorer(base_dir):
    from transformers import AutoModel

    return AntecedentScorer(AutoModel.from_pretrained(str(base_dir), attn_implementation="eager"))
