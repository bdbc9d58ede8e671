# Two commands on a fresh machine: `make demo`, then `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of PyTorch. On this project's machines pip finds torch 2.13.0 (CPU) on disk; an
# unpinned torch on a CPU-only Linux box would pull a multi-GB CUDA build. Elsewhere, override:
#   make demo TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.13.0
# Everything the README's commands need. `pip install autocolor` alone is the lean, torch-free
# install that colours photos (README, "Install").
EXTRAS := train,eval,onnx,app,video,restore,serve,c2pa,ray,dev

.PHONY: demo test test-slow bench lint corpus train-default onnx recipes clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH_SPEC)
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/autocolor colorize samples/*.jpg -o out/ --overwrite

test: $(STAMP)
	bash scripts/ensure_chromium.sh
	$(BIN)/python -m pytest -q

# Tests marked slow (camera-sized photos end to end); not part of `make test`.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python scripts/bench.py --output BENCHMARKS.md
	$(BIN)/python scripts/bench_data.py --output BENCHMARKS.md
	$(BIN)/python scripts/bench_video.py --output BENCHMARKS.md
	$(BIN)/python scripts/bench_serve.py --output BENCHMARKS.md
	$(BIN)/python scripts/bench_scale.py --output BENCHMARKS.md
	$(BIN)/python scripts/bench_scale.py --pools --photos 200 --repeats 3 --output BENCHMARKS.md
	$(BIN)/python scripts/bench_restore.py --output BENCHMARKS.md
	$(BIN)/python scripts/bench_floor.py --output BENCHMARKS.md

# The default training corpus from Debian packages and library sample photos (docs/corpus.md).
corpus: $(STAMP)
	$(BIN)/pip install -q -e '.[corpus]'
	$(BIN)/autocolor data build-corpus --out data/corpus

# Reproduces src/autocolor/weights/default.safetensors (docs/recipes.md has the wall times).
train-default: corpus
	$(BIN)/autocolor train --recipe default --data data/corpus --out runs/default --restart
	cp runs/default/final.safetensors src/autocolor/weights/default.safetensors
	$(MAKE) onnx

# The ONNX file shipped beside the default weights (issue: torch-free CPU inference), its
# heads holding only the ab bins the model uses on the corpus's training photos (faster, the
# same colours: src/autocolor/infer/bin_usage.py).
onnx: corpus
	$(BIN)/autocolor export onnx --model src/autocolor/weights/default.safetensors \
		-o src/autocolor/weights/default.onnx --bins-from data/corpus

# Every recipe of the comparison side by side (docs/recipes.md); meant for a GPU.
recipes: corpus
	$(BIN)/python scripts/train_recipes.py --data data/corpus --out runs/recipes

clean:
	rm -rf out runs .pytest_cache
