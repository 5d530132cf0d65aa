# Two commands do all the set-up on a fresh machine:
#   make demo   create .venv, install, run the offline demo on the embedded models
#   make test   create .venv, install, run the test suite
# torch/torchvision are pinned in pyproject.toml (2.14.1 / 0.29.1: on these
# machines pip takes them from local disk).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test test-fast browser lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/headstart demo

# tests/test_report.py opens the HTML reports in headless Chromium (Debian's chromium package):
# installed here when missing and we are root; HEADSTART_SKIP_BROWSER=1 skips both.
browser:
	@if [ "$$HEADSTART_SKIP_BROWSER" = 1 ] || [ -n "$$HEADSTART_CHROMIUM" ] || \
	    command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	    command -v google-chrome >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium (for the report test)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	    echo "chromium is missing: install it as root (apt-get install chromium), set HEADSTART_CHROMIUM," \
	        "or HEADSTART_SKIP_BROWSER=1 to skip the browser test" >&2; \
	fi

# The suite runs in one worker process per core (pytest-xdist; TEST_WORKERS=1 runs it in one).
TEST_WORKERS ?= auto

test: $(STAMP) browser
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# Unit tests only: no real models, no ../shared/data.
test-fast: $(STAMP) browser
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not real"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/linear_probe_speed.py
	$(BIN)/python benchmarks/extraction_throughput.py
	$(BIN)/python benchmarks/accuracy_and_cache.py
	$(BIN)/python benchmarks/finetune_vs_trainer.py
	$(BIN)/python benchmarks/hymenoptera_recipe_cv.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
