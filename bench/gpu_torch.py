"""The PyTorch baselines of bench/gpu.sh, on the same machine and corpus as kgx.

Usage: gpu_torch.py --adapter DIR --base DIR --corpus FILE.jsonl --out FILE.tsv
                    [--device cuda|cpu] [--seed-sentences 5000] [--batch 512]

(a) the seed's path: the base encoder with the LoRA adapter unmerged
    (PeftModel), fp32, one sentence at a time, on the first --seed-sentences
    sentences; (b) the merged model (merge_and_unload), fp16 on CUDA (fp32 on
    CPU), batches of --batch sentences sorted by length, tokenization
    included, on every sentence. Each prints and appends
    `name <TAB> sentences <TAB> seconds` to --out as soon as it has it.

Sentences are the corpus's documents cut as kgx cuts them roughly (at
sentence punctuation): the rate is per sentence, like kgx's.

--base holds config.json and tokenizer.json and, when it is there,
model.safetensors. Without the weights (the GPU machine: a transfer holds
64 MiB, and the weights do not fit beside kgx's models) the encoder starts
from random weights of the same configuration: the timings are the same
(no operation's cost depends on the values) but the outputs mean nothing,
so nothing here compares outputs.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import time

import torch
from peft import PeftModel
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModelForTokenClassification

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def sentences_of(corpus: str) -> list[str]:
    with open(corpus, encoding="utf-8") as f:
        return [s for line in f for s in SENTENCE_END.split(json.loads(line)["text"]) if s.strip()]


def load(base: str, adapter: str, device: str):
    config = AutoConfig.from_pretrained(base, num_labels=4)
    config._attn_implementation = "eager"
    if os.path.exists(os.path.join(base, "model.safetensors")):
        model = AutoModelForTokenClassification.from_pretrained(base, config=config)
        weights = "real"
    else:
        torch.manual_seed(0)
        model = AutoModelForTokenClassification.from_config(config)
        weights = "random (timing only)"
    return PeftModel.from_pretrained(model, adapter).eval().to(device), weights


def record(out: str, name: str, n: int, seconds: float) -> None:
    print(f"{name}: {n} sentences in {seconds:.2f} s, {n / seconds:,.0f} sentences/s", flush=True)
    with open(out, "a", encoding="utf-8") as f:
        f.write(f"{name}\t{n}\t{seconds:.4f}\n")


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--seed-sentences", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=512)
    args = ap.parse_args()
    dev = args.device
    sentences = sentences_of(args.corpus)
    tok = Tokenizer.from_file(os.path.join(args.base, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(256)
    model, weights = load(args.base, args.adapter, dev)
    print(f"weights: {weights}; {len(sentences)} sentences", flush=True)
    with torch.inference_mode():
        seed = sentences[: args.seed_sentences]
        sync(dev)
        t0 = time.perf_counter()
        for s in seed:
            ids = torch.tensor([tok.encode(s).ids], device=dev)
            model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.argmax(-1).cpu()
        sync(dev)
        record(args.out, "torch seed path (PeftModel fp32, 1 sentence a call)", len(seed), time.perf_counter() - t0)

        merged = model.merge_and_unload().eval()
        if dev == "cuda":
            merged = merged.half()
        sync(dev)
        t0 = time.perf_counter()
        encs = tok.encode_batch(sentences)
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        for b in range(0, len(order), args.batch):
            rows = [encs[i].ids for i in order[b : b + args.batch]]
            width = max(map(len, rows))
            ids = torch.tensor([r + [0] * (width - len(r)) for r in rows], device=dev)
            lengths = torch.tensor([len(r) for r in rows], device=dev)
            mask = (torch.arange(width, device=dev)[None, :] < lengths[:, None]).long()
            merged(input_ids=ids, attention_mask=mask).logits.argmax(-1).cpu()
        sync(dev)
        precision = "fp16" if dev == "cuda" else "fp32"
        record(args.out, f"torch merged, batches of {args.batch}, {precision}", len(sentences), time.perf_counter() - t0)


if __name__ == "__main__":
    main()
