"""Align whitespace-token labels to WordPiece sub-tokens.

Takes: a sentence's whitespace tokens with one label each, and a
`tokenizers.Tokenizer` (fast, padding/truncation off).
Gives: input_ids, attention_mask, token_type_ids and label ids where only the
FIRST sub-token of each pre-tokenizer word (encoding.word_ids()) carries a
label; other sub-tokens and special tokens get -100. A pre-tokenizer word takes
the label of the whitespace token that contains it (found by char offsets).
"""
from __future__ import annotations

from kgx_export.common import IGNORE, LABEL2ID, MAX_TOKENS


def token_char_spans(tokens: list[str]) -> list[tuple[int, int]]:
    """(start, end) char spans of tokens in " ".join(tokens)."""
    spans, pos = [], 0
    for t in tokens:
        spans.append((pos, pos + len(t)))
        pos += len(t) + 1
    return spans


def first_subtoken_mask(word_ids: list) -> list[bool]:
    """True at the first sub-token of each word, False elsewhere/specials."""
    out, prev = [], None
    for w in word_ids:
        out.append(w is not None and w != prev)
        prev = w
    return out


def encode(tokenizer, tokens: list[str], labels: list[str] | None = None,
           max_tokens: int = MAX_TOKENS, indicator: int | None = None) -> dict:
    """Encode one sentence; with `labels`, also give aligned label ids. With
    `indicator` (a whitespace-token index), the sub-tokens of that token get
    token type 1: the predicate marker of the predicate-indexed scheme."""
    text = " ".join(tokens)
    enc = tokenizer.encode(text)
    ids, offsets, word_ids = enc.ids, enc.offsets, enc.word_ids
    out = {
        "input_ids": list(ids),
        "attention_mask": list(enc.attention_mask),
        "token_type_ids": list(enc.type_ids),
    }
    if indicator is not None:
        start, end = token_char_spans(tokens)[indicator]
        out["token_type_ids"] = [int(w is not None and start <= s < end)
                                 for w, (s, _) in zip(word_ids, offsets)]
    if labels is not None:
        if len(labels) != len(tokens):
            raise ValueError("one label per whitespace token expected")
        spans = token_char_spans(tokens)
        lab, ti = [], 0
        for first, (start, _), w in zip(first_subtoken_mask(word_ids), offsets, word_ids):
            if not first:
                lab.append(IGNORE)
                continue
            while ti < len(spans) - 1 and start >= spans[ti][1]:
                ti += 1
            if not spans[ti][0] <= start < spans[ti][1]:
                raise ValueError(f"word at char {start} outside any token: {text!r}")
            lab.append(LABEL2ID[labels[ti]])
        out["labels"] = lab
    if len(ids) > max_tokens:  # keep [CLS] ... [SEP] shape
        for k in out:
            out[k] = out[k][: max_tokens - 1] + out[k][-1:]
    return out
