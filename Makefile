# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
DEMO_PROBLEM := problems/001b_two_layer_relu_sigmoid.yaml

.PHONY: demo test lint unit bench clean golden

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/backprop solve $(DEMO_PROBLEM)
	$(BIN)/backprop check problems/

test: lint unit

lint: $(TEST_STAMP)
	$(BIN)/ruff check backprop_cli tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(TEST_STAMP)
	$(BIN)/python -m pytest

golden: $(TEST_STAMP)
	$(BIN)/python -m pytest tests/render/test_render_golden.py --update-golden

# Whole-process timings against the import floor and NumPy loops; writes
# benchmarks/results/latest.{json,md}. BENCH_ARGS="--runs 15 --only engine" narrows it.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
