"""Label alignment to WordPiece sub-tokens (kgx_export.data.align) and metrics."""
from kgx_export.data.align import encode, first_subtoken_mask
from kgx_export.common import IGNORE, LABEL2ID, load_tokenizer
from kgx_export.metrics import evaluate, spans

O, S, R, T = (LABEL2ID[x] for x in ("O", "SRC", "REL", "TGT"))


def test_first_subtoken_only(tiny_tokenizer_dir):
    tok = load_tokenizer(tiny_tokenizer_dir)
    tokens = ["The", "cats", "sees", "Bob's", "fish", "."]
    enc = encode(tok, tokens, ["SRC", "SRC", "REL", "TGT", "TGT", "O"])
    pieces = tok.encode(" ".join(tokens)).tokens
    assert pieces == ["[CLS]", "the", "cat", "##s", "sees", "bob", "'", "s", "fish", ".", "[SEP]"]
    # "cats" -> first piece labelled, ##s ignored; "Bob's" is three pre-tokenizer
    # words, each the first sub-token of its word, all labelled TGT
    assert enc["labels"] == [IGNORE, S, S, IGNORE, R, T, T, T, T, O, IGNORE]
    assert enc["attention_mask"] == [1] * len(pieces)
    assert set(enc["token_type_ids"]) == {0}


def test_unknown_and_truncation(tiny_tokenizer_dir):
    tok = load_tokenizer(tiny_tokenizer_dir)
    enc = encode(tok, ["zebra", "ate", "fish"], ["SRC", "REL", "TGT"])
    assert enc["labels"] == [IGNORE, S, R, T, IGNORE]
    long = encode(tok, ["fish"] * 20, ["O"] * 20, max_tokens=8)
    assert len(long["input_ids"]) == 8 and long["labels"][-1] == IGNORE


def test_tokenizer_has_no_fixed_padding(tiny_tokenizer_dir):
    tok = load_tokenizer(tiny_tokenizer_dir)
    assert tok.padding is None and tok.truncation is None


def test_first_subtoken_mask():
    assert first_subtoken_mask([None, 0, 0, 1, 2, 2, None]) == [False, True, False, True, True, False, False]


def test_span_metrics_exact_match():
    assert spans([0, 1, 1, 2, 3, 3, 0, 3]) == {(1, 1, 3), (2, 3, 4), (3, 4, 6), (3, 7, 8)}
    gold = [[1, 1, 2, 3, 3]]
    m = evaluate([[1, 1, 2, 3, 0]], gold)
    assert m["token_accuracy"] == 0.8
    assert m["spans"]["SRC"]["f1"] == 1.0 and m["spans"]["REL"]["f1"] == 1.0
    assert m["spans"]["TGT"]["f1"] == 0.0  # partial span is a miss
    assert abs(m["macro_f1"] - 2 / 3) < 1e-9
