"""Predicate marker at an upper layer: one encoder pass serves every predicate.

Takes: a BERT token classifier (transformers BertForTokenClassification, as
a PeftModel with LoRA or merged) and the split layer k.
Gives: the *layered* predicate-indexed model. The embeddings and encoder
layers 0..k-1 run once a sentence, unmarked (every token type 0). Their
output, the hidden state h_k, goes twice through the same upper layers
k..n-1 and the classifier:
  * unmarked: h_k + marker[0] everywhere -> REL on every predicate head;
  * once per head: h_k + marker[1] on the head's sub-tokens, marker[0]
    elsewhere -> that predicate's SRC / REL / TGT.
So a sentence with h heads costs n + h * (n - k) layers instead of
(h + 1) * n with the marker at the input (token type 1, the earlier
scheme). `marker` is a 2 x hidden embedding (`predicate_marker`, zero at
the start, trained in full beside the LoRA matrices and saved with the
adapter by peft's modules_to_save).
Two ONNX graphs (see `export_graphs`):
  model.onnx  (input_ids, attention_mask) -> logits (unmarked), hidden (h_k)
  marked.onnx (hidden, attention_mask, token_type_ids) -> logits
and the marked graph's gather variant (GATHER_INPUTS), which kgx runs on CUDA:
  marked.gather.onnx (hidden_source, hidden_index, attention_mask,
  token_type_ids) -> logits, hidden_source being model.onnx's whole `hidden`
  output and hidden_index [batch, seq, 2] the (row, token) each position reads.
Invariants: `layered_logits` (training and the torch side of parity) and
the two graphs compute the same function; token type 1 means "marked".
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

MARKER = "predicate_marker"
DEFAULT_SPLIT_LAYER = 4
ENCODER_INPUTS = ["input_ids", "attention_mask"]
ENCODER_OUTPUTS = ["logits", "hidden"]
MARKED_INPUTS = ["hidden", "attention_mask", "token_type_ids"]
# The marked graph's gather variant (onnx_tools.gather_hidden): h_k read by
# index from the encoder graph's whole output, so on a GPU it never leaves
# the device: hidden = GatherND(hidden_source, hidden_index).
GATHER_INPUTS = ["hidden_source", "hidden_index", "attention_mask", "token_type_ids"]


def add_marker(token_classifier) -> None:
    """Give a BertForTokenClassification the predicate-marker embedding
    (before get_peft_model / PeftModel.from_pretrained, which then train or
    load it)."""
    import torch

    emb = torch.nn.Embedding(2, token_classifier.config.hidden_size)
    torch.nn.init.zeros_(emb.weight)
    token_classifier.bert.add_module(MARKER, emb)


def token_classifier_of(model):
    """The BertForTokenClassification inside a PeftModel (or the model itself)."""
    inner = getattr(getattr(model, "base_model", None), "model", None)
    return inner if inner is not None and hasattr(inner, "bert") else model


def _mask(bert, attention_mask, hidden):
    return bert._create_attention_masks(attention_mask=attention_mask, encoder_attention_mask=None,
                                        embedding_output=hidden, encoder_hidden_states=None,
                                        past_key_values=None)[0]


def lower(model, input_ids, attention_mask, split_layer: int):
    """h_k: embeddings (token type 0) and the first `split_layer` layers."""
    import torch

    bert = token_classifier_of(model).bert
    h = bert.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
    mask = _mask(bert, attention_mask, h)
    for layer in bert.encoder.layer[:split_layer]:
        h = layer(h, mask)
    return h


def upper(model, hidden, attention_mask, marker_ids, split_layer: int):
    """Logits from h_k: add the marker, run the remaining layers and the head."""
    clf = token_classifier_of(model)
    bert = clf.bert
    h = hidden + getattr(bert, MARKER)(marker_ids)
    mask = _mask(bert, attention_mask, h)
    for layer in bert.encoder.layer[split_layer:]:
        h = layer(h, mask)
    return clf.classifier(clf.dropout(h))


def layered_logits(model, input_ids, attention_mask, token_type_ids, split_layer: int):
    """The whole layered model: token type 1 marks the predicate (all 0: the unmarked pass)."""
    h = lower(model, input_ids, attention_mask, split_layer)
    return upper(model, h, attention_mask, token_type_ids, split_layer)


def export_graphs(model, onnx_dir: Path, split_layer: int, opset: int = 17) -> tuple[Path, Path]:
    """model.onnx (unmarked pass + h_k) and marked.onnx (h_k + marker -> logits),
    legacy TorchScript exporter, dynamic batch and sequence axes."""
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            h = lower(self.m, input_ids, attention_mask, split_layer)
            return upper(self.m, h, attention_mask, torch.zeros_like(input_ids), split_layer), h

    class Marked(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, hidden, attention_mask, token_type_ids):
            return upper(self.m, hidden, attention_mask, token_type_ids, split_layer)

    model.eval()
    onnx_dir.mkdir(parents=True, exist_ok=True)
    ids = torch.ones(2, 8, dtype=torch.long)
    mask = torch.ones(2, 8, dtype=torch.long)
    mask[1, 6:] = 0  # a padded row, so masking is traced
    marker = torch.zeros(2, 8, dtype=torch.long)
    marker[0, 2] = 1
    hidden_size = token_classifier_of(model).config.hidden_size
    seq = {0: "batch", 1: "sequence"}
    paths = onnx_dir / "model.onnx", onnx_dir / "marked.onnx"
    with torch.no_grad():
        torch.onnx.export(Encoder(model), (ids, mask), str(paths[0]), input_names=ENCODER_INPUTS,
                          output_names=ENCODER_OUTPUTS, opset_version=opset, do_constant_folding=True,
                          dynamic_axes={n: seq for n in ENCODER_INPUTS + ENCODER_OUTPUTS}, dynamo=False)
        torch.onnx.export(Marked(model), (torch.randn(2, 8, hidden_size), mask, marker), str(paths[1]),
                          input_names=MARKED_INPUTS, output_names=["logits"], opset_version=opset,
                          do_constant_folding=True, dynamic_axes={n: seq for n in MARKED_INPUTS + ["logits"]},
                          dynamo=False)
    return paths


def forward(split_layer: int):
    """`layered_logits` as a forward for parity.torch_logits."""
    return lambda model, input_ids, attention_mask, token_type_ids: layered_logits(
        model, input_ids, attention_mask, token_type_ids, split_layer)


def ort_layered_logits(encoder, marked, padded: list[dict]) -> list[np.ndarray]:
    """The two graphs run as kgx runs them: the encoder graph on the tokens;
    for rows with a marked token, the marked graph on its h_k. `encoder` and
    `marked` are onnxruntime sessions."""
    out = []
    for b in padded:
        logits, hidden = encoder.run(ENCODER_OUTPUTS, {"input_ids": b["input_ids"],
                                                       "attention_mask": b["attention_mask"]})
        rows = b["token_type_ids"].any(axis=1)
        if rows.any():
            logits = logits.copy()
            logits[rows] = marked.run(["logits"], {"hidden": hidden[rows],
                                                   "attention_mask": b["attention_mask"][rows],
                                                   "token_type_ids": b["token_type_ids"][rows]})[0]
        out.append(logits)
    return out


def ort_gathered_logits(encoder, gathered, padded: list[dict]) -> list[np.ndarray]:
    """`ort_layered_logits` with the marked graph's gather variant, as kgx
    runs it on CUDA: the marked rows (in reverse order, so that a row reads
    another row of the encoder's output) index the encoder's whole hidden
    state instead of receiving their own rows of it."""
    out = []
    for b in padded:
        logits, hidden = encoder.run(ENCODER_OUTPUTS, {"input_ids": b["input_ids"],
                                                       "attention_mask": b["attention_mask"]})
        rows = np.flatnonzero(b["token_type_ids"].any(axis=1))[::-1]
        if len(rows):
            width = b["input_ids"].shape[1]
            index = np.stack(np.broadcast_arrays(rows[:, None], np.arange(width)[None, :]), axis=-1).astype(np.int64)
            logits = logits.copy()
            logits[rows] = gathered.run(["logits"], {"hidden_source": hidden, "hidden_index": index,
                                                     "attention_mask": b["attention_mask"][rows],
                                                     "token_type_ids": b["token_type_ids"][rows]})[0]
        out.append(logits)
    return out
