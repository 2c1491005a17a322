# Two front doors: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= $(shell command -v python3.12 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench docs clean
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), f"Python >= 3.12 needed, found {sys.version.split()[0]} ($(PYTHON))"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/carbon-budget run default --seed 1 --out runs/default

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks experiments
	$(BIN)/ruff format --check sim tests benchmarks experiments
	$(BIN)/mypy sim

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

.PHONY: bench-sweep
bench-sweep: $(STAMP)  # Sobol sweep benchmark at N=64 (N=1024: python benchmarks/sweep_bench.py --n 1024)
	$(BIN)/python benchmarks/sweep_bench.py

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache

docs: $(STAMP)
	{ sed '/^| name |/,$$d' docs/parameters.md; $(BIN)/carbon-budget params --format markdown; } > docs/parameters.new && mv docs/parameters.new docs/parameters.md
