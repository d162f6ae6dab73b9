"""ONNX export, optimisation, quantisation, fp16 conversion and ORT runs.

Takes: a merged torch token-classification model (eager attention) or ONNX
file paths.
Gives: model.onnx (legacy TorchScript exporter, opset 17, inputs input_ids /
attention_mask / token_type_ids int64 with dynamic batch and sequence axes,
output `logits` [batch, seq, labels]), the ORT-optimised fp32 file, int8
dynamic-quantisation variants (see RECIPES), an fp16 file converted from the
optimised graph (keep_io_types=True), and helpers to run files in
onnxruntime on padded batches.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
OPSET = 17

# int8 dynamic-quantisation recipes tried by onnx_export/merged.py, most aggressive first.
# "exclude" names node groups kept in fp32: "classifier" (the output head),
# "first"/"last" (the first / last encoder layer), "embeddings". Only MatMuls
# with a constant weight are quantised (MatMulConstBOnly), never Q.K / attn.V.
RECIPES = [
    {"name": "default", "per_channel": False, "op_types": None, "exclude": []},
    {"name": "per_channel", "per_channel": True, "op_types": None, "exclude": []},
    {"name": "per_channel_matmul", "per_channel": True, "op_types": ["MatMul", "Attention"],
     "exclude": ["classifier"]},
    {"name": "per_channel_matmul_keep_ends", "per_channel": True,
     "op_types": ["MatMul", "Attention"], "exclude": ["classifier", "first", "last"]},
]


def export_onnx(model, path: Path, opset: int = OPSET) -> Path:
    """Export `model` (returns .logits) with the legacy TorchScript exporter."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).logits

    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = tuple(torch.ones(2, 8, dtype=torch.long) for _ in INPUTS)
    dummy[1][1, 6:] = 0  # padded row, so masking is traced
    dummy[2].zero_()
    axes = {n: {0: "batch", 1: "sequence"} for n in INPUTS + ["logits"]}
    with torch.no_grad():
        torch.onnx.export(Logits(model), dummy, str(path), input_names=INPUTS,
                          output_names=["logits"], dynamic_axes=axes, opset_version=opset,
                          do_constant_folding=True, dynamo=False)
    return path


def optimize(src: Path, dst: Path, num_heads: int, hidden: int, lite: bool = False) -> Path:
    """ORT transformer optimiser (model_type bert), fp32, CPU fusions.

    `lite` leaves out the Attention and SkipLayerNormalization fusions: on
    CPU those fused kernels ran slower than the MatMul / Add / LayerNorm
    nodes they replace (ORT 1.31, AVX-512: dynamic int8 quantised from the
    lite graph needs 7.2 s where the fully fused one needs 9.5 s for 20k
    sentences, bench/RESULTS.md step 16)."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    if lite:
        options.enable_attention = False
        options.enable_skip_layer_norm = False
    opt = optimize_model(str(src), model_type="bert", num_heads=num_heads,
                         hidden_size=hidden, use_gpu=False, optimization_options=options)
    opt.save_model_to_file(str(dst))
    return dst


def to_fp16(opt_src: Path, dst: Path) -> Path:
    """fp16 copy of the optimised graph (the optimiser's OnnxModel
    convert_float_to_float16, keep_io_types=True: int64 in, fp32 logits out)."""
    import onnx
    from onnxruntime.transformers.onnx_model import OnnxModel

    m = OnnxModel(onnx.load(str(opt_src)))
    m.convert_float_to_float16(keep_io_types=True)
    m.save_model_to_file(str(dst))
    return dst


def gather_hidden(src: Path, dst: Path) -> Path:
    """The gather variant of a layered model's marked graph (train/layered.py
    GATHER_INPUTS): its `hidden` input becomes the output of a GatherND node
    reading `hidden_source` [sources, source sequence, width] (f32, the
    encoder graph's whole hidden output) at `hidden_index` [batch, sequence,
    2] (int64 (row, token) pairs). Every other node, and every weight, is
    the source graph's."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(src))
    graph = model.graph
    hidden = next(i for i in graph.input if i.name == "hidden")
    width = hidden.type.tensor_type.shape.dim[2].dim_value
    rest = [i for i in graph.input if i.name != "hidden"]
    del graph.input[:]
    graph.input.extend([
        helper.make_tensor_value_info("hidden_source", TensorProto.FLOAT, ["sources", "source_sequence", width]),
        helper.make_tensor_value_info("hidden_index", TensorProto.INT64, ["batch", "sequence", 2]),
        *rest])
    graph.node.insert(0, helper.make_node("GatherND", ["hidden_source", "hidden_index"], ["hidden"],
                                          name="kgx_gather_hidden"))
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return dst


def _layer_of(name: str) -> int | None:
    if "layer." not in name:
        return None
    return int(name.split("layer.")[1].split("/")[0].split(".")[0])


def node_groups(path: Path) -> dict[str, list[str]]:
    """Names of quantisable nodes grouped as classifier/first/last/embeddings.
    The layer comes from the node name; fused nodes that lost it (Attention_k)
    take the layer of the next named node in graph order."""
    import onnx

    nodes = list(onnx.load(str(path), load_external_data=False).graph.node)
    layer = [_layer_of(n.name) for n in nodes]
    for i in range(len(nodes) - 2, -1, -1):
        if layer[i] is None and nodes[i].op_type == "Attention":
            layer[i] = next((l for l in layer[i + 1:] if l is not None), None)
    known = [l for l in layer if l is not None]
    ops = {"MatMul", "Attention", "Gather", "Gemm", "EmbedLayerNormalization"}
    out: dict[str, list[str]] = {"classifier": [], "first": [], "last": [], "embeddings": []}
    for n, l in zip(nodes, layer):
        if n.op_type not in ops:
            continue
        if "classifier" in n.name:
            out["classifier"].append(n.name)
        elif "embeddings" in n.name or n.op_type == "EmbedLayerNormalization":
            out["embeddings"].append(n.name)
        elif known and l == min(known):
            out["first"].append(n.name)
        elif known and l == max(known):
            out["last"].append(n.name)
    return out


def quantize_int8(src: Path, dst: Path, recipe: dict) -> Path:
    """Dynamic int8 quantisation of `src` following one RECIPES entry."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    groups = node_groups(src)
    exclude = [name for key in recipe["exclude"] for name in groups.get(key, [])]
    quantize_dynamic(str(src), str(dst), per_channel=recipe["per_channel"],
                     weight_type=QuantType.QInt8, op_types_to_quantize=recipe["op_types"],
                     nodes_to_exclude=exclude,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT,
                                    "MatMulConstBOnly": True})
    return dst


def session(path: Path, threads: int = 2):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def ort_logits(path_or_session, padded: list[dict], threads: int = 2) -> tuple[list[np.ndarray], float]:
    """Logits for each padded batch (numpy int64 inputs) and seconds spent."""
    sess = path_or_session if not isinstance(path_or_session, (str, Path)) else session(path_or_session, threads)
    t0, out = time.perf_counter(), []
    for b in padded:
        out.append(sess.run(["logits"], {k: b[k] for k in INPUTS})[0].astype(np.float32))
    return out, time.perf_counter() - t0
