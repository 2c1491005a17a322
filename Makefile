# Two front doors: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= $(shell command -v python3.12 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BROWSER := $(VENV)/.browser

.PHONY: run test lint bench docs clean app screenshots
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), f"Python >= 3.12 needed, found {sys.version.split()[0]} ($(PYTHON))"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,app]"
	@touch $(STAMP)

# The page's browser tests need Chromium, a CJK font (Chinese figure labels) and npm (offline
# front-end files): Debian's packages where apt is available, else Playwright's own Chromium.
$(BROWSER): $(STAMP)
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-wqy-microhei"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null; then \
	  echo "installing$$missing (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	elif echo "$$missing" | grep -q chromium; then $(BIN)/playwright install chromium; fi
	$(BIN)/python -m sim.app.offline
	@touch $(BROWSER)

run: $(STAMP)
	$(BIN)/carbon-budget run default --seed 1 --out runs/default

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks experiments
	$(BIN)/ruff format --check sim tests benchmarks experiments
	$(BIN)/mypy sim

test: lint $(BROWSER)
	$(BIN)/python -m pytest

app: $(BROWSER)
	$(BIN)/carbon-budget app

screenshots: $(BROWSER)  # the page's screenshots in docs/img, taken by its browser tests
	SCREENSHOTS_DIR=docs/img $(BIN)/python -m pytest tests/test_app_page.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

.PHONY: bench-sweep
bench-sweep: $(STAMP)  # Sobol sweep benchmark at N=64 (N=1024: python benchmarks/sweep_bench.py --n 1024)
	$(BIN)/python benchmarks/sweep_bench.py

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache

docs: $(STAMP)
	{ sed '/^| name |/,$$d' docs/parameters.md; $(BIN)/carbon-budget params --format markdown; } > docs/parameters.new && mv docs/parameters.new docs/parameters.md
