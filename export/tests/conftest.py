"""pytest setup: import kgx_export from export/, no model hub, tiny fixtures.

Gives fixtures: `tiny_tokenizer_dir` (a WordPiece tokenizer.json built here)
and `tiny_base_dir` (a randomly initialised 2-layer BERT saved beside it).
"""
import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("the a cat dog bob alice saw sees ate likes fish mouse house in on big small red "
         "he she said would come to and , . ' s").split()
PIECES = ["##s", "##ed", "##er"]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_tokenizer(path: Path) -> Path:
    """BERT-style tokenizer.json (lowercase, BertPreTokenizer, WordPiece)."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = {t: i for i, t in enumerate(SPECIALS + WORDS + PIECES)}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tok.decoder = decoders.WordPiece()
    tok.save(str(path / "tokenizer.json"))
    return path


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory):
    return build_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="session")
def tiny_base_dir(tmp_path_factory):
    import torch
    from transformers import BertConfig, BertModel

    d = build_tokenizer(tmp_path_factory.mktemp("tiny_bert"))
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(SPECIALS) + len(WORDS) + len(PIECES), hidden_size=32,
                     num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                     max_position_embeddings=64, pad_token_id=0)
    BertModel(cfg).save_pretrained(str(d))
    return d


def corrupted_copy(src: Path, dst: Path) -> Path:
    """`src` ONNX file with a tenth of its largest weight shifted by 0.05, saved as `dst`."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    init = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
    arr = numpy_helper.to_array(init).copy()
    arr.flat[: arr.size // 10] += 0.05
    init.CopyFrom(numpy_helper.from_array(arr, init.name))
    onnx.save(model, str(dst))
    return dst
