# credstack: every target bootstraps its own virtualenv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VCJS_INSTALL := ../shared/tools/vc-js/install.sh

.PHONY: run demo test check lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/credstack db upgrade
	@$(BIN)/credstack seed
	@$(BIN)/credstack serve --host 127.0.0.1 --port 8000

demo: $(STAMP)
	@$(BIN)/credstack demo

check: $(STAMP)
	$(BIN)/ruff check credstack tests bench
	$(BIN)/ruff format --check credstack tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: check
	$(BIN)/python -m pytest -n 2 -q

format: $(STAMP)
	$(BIN)/ruff check --fix credstack tests bench
	$(BIN)/ruff format credstack tests bench

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache var
