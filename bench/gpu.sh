#!/usr/bin/env bash
# GPU benchmark, run on the lent H100/H200 (see ../shared/gpu/README.md).
# Prepare here:  bench/gpu.sh --stage      (fills .gpu-run/, git-ignored, < 60 MB)
# Then, on the device, after `unpack-ort-cuda` wrote /opt/ort-env.sh:
#   . /opt/ort-env.sh && bash .gpu-run/gpu.sh --run > $OUT/gpu.txt
# Reports sentences/s and tokens/s for: kgx --device cuda end-to-end into a
# store; kgx --device cuda --dry-run (tagging only); kgx --device cpu on the
# machine's cores; the seed's path (PyTorch + PeftModel) per sentence and
# batched on the same GPU. Same corpus (>= 200k sentences made there from the
# shipped slice), same model.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
--stage)
  repo=$(cd "$here/.." && pwd)
  dst="$repo/.gpu-run"
  rm -rf "$dst" && mkdir -p "$dst/model/onnx" "$dst/adapter"
  strip -o "$dst/kgx" "${CARGO_TARGET_DIR:-$repo/target}/release/kgx"
  cp "$repo/models/kgx-minilm-lora/"{model.json,tokenizer.json} "$dst/model/"
  cp "$repo/models/kgx-minilm-lora/onnx/model.fp16.onnx" "$dst/model/onnx/"
  cp "$repo/models/kgx-minilm-lora/adapter/"* "$dst/adapter/"
  cp "$repo/samples/wiki_films.csv" "$repo/bench/gpu.sh" "$repo/bench/gpu_torch.py" "$dst/"
  du -sh "$dst"
  ;;
--run)
  work=$(mktemp -d)
  python3 - "$here/wiki_films.csv" "$work/corpus.jsonl" <<'PY'
import csv, json, sys
rows = [r["sentence"].strip() for r in csv.DictReader(open(sys.argv[1])) if r["sentence"].strip()]
with open(sys.argv[2], "w") as f:
    for i in range(200_000):
        f.write(json.dumps({"id": f"s{i}", "text": rows[i % len(rows)]}) + "\n")
PY
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  run() { local name=$1; shift; local t0=$(date +%s.%N); "$@"; local t1=$(date +%s.%N); echo "$name: $(python3 -c "print(f'{200000/($t1-$t0):,.0f} sentences/s ({$t1-$t0:.1f} s)')")"; }
  run "kgx cuda end-to-end" "$here/kgx" extract --quiet --device cuda --model "$here/model" --store "$work/s1" "$work/corpus.jsonl"
  run "kgx cuda tagging only (--dry-run)" "$here/kgx" extract --quiet --device cuda --dry-run --model "$here/model" "$work/corpus.jsonl"
  run "kgx cpu (fp16 file on CPU: see RESULTS.md)" "$here/kgx" extract --quiet --device cpu --precision fp16 --model "$here/model" --dry-run "$work/corpus.jsonl"
  python3 "$here/gpu_torch.py" "$here/adapter" "$work/corpus.jsonl"
  ;;
*) echo "usage: bench/gpu.sh --stage | --run" >&2; exit 2 ;;
esac
