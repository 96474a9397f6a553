# The README's two commands: `make run` (serve the embedded model) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?=
# llama-cpp-python compiles llama.cpp on install. A native build (-march=native) can emit
# instructions the sandbox forbids (AMX, seen here as "Illegal instruction"), so build for a
# portable AVX2 baseline unless the caller sets CMAKE_ARGS.
CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
export CMAKE_ARGS

.PHONY: run test check lint bench calibrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files re-run the install only when pyproject.toml changes.
$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[embedded]'
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[test]'
	touch $@

run: $(VENV)/.run-deps
	$(BIN)/lethe serve $(if $(CONFIG),--config $(CONFIG))

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# The quick loop while developing: lint, types and the tests that need no model, no server
# process and no long run (markers in pyproject.toml). `make test` is what CI runs.
check: lint
	$(BIN)/pytest -q -m "not slow and not model and not e2e"

# Benchmarks write their sections of docs/BENCHMARKS.md (each takes minutes; run on a quiet machine).
bench: $(VENV)/.test-deps
	$(BIN)/python -m bench gateway
	$(BIN)/python -m bench verifiers
	$(BIN)/python -m bench guarantee
	$(BIN)/python -m bench unlearning

# Re-make the demo's calibration artifact over 120 TOFU proxy targets, 720 queries, three
# refinement strategies (about 2 h on 2 cores; resumes if interrupted). The datasets are
# seeded and template-built: re-building them gives the same files.
# EPSILON / FORGET_EPSILON: the marginal and forget-side risk levels.
TOFU ?= ../shared/data/tofu
EPSILON ?= 0.1
FORGET_EPSILON ?= 0.1
# Refinement strategies calibrated together; each one after the first costs only its
# refinement rounds (the first rounds are generated once and shared).
STRATEGIES ?= reprompt scrub ban
# Refinement rounds after the first, at most (K on the grid runs 0..MAX_BUDGET). Most
# calibration queries score above the smallest τ in round one, so each extra round costs
# about as much as the first: 1 keeps the demo's run near two hours on 2 cores.
MAX_BUDGET ?= 1
calibrate: $(VENV)/.test-deps
	$(BIN)/lethe build-dataset --tofu $(TOFU) --out deploy/calibration
	$(BIN)/lethe calibrate --config deploy/demo.yaml \
		--dataset deploy/calibration/tofu-proxy-calibration \
		--artifact deploy/artifacts/tofu-forget10.json \
		--report docs/calibration/tofu-forget10.md --max-budget $(MAX_BUDGET) \
		--strategy $(STRATEGIES) \
		--epsilon $(EPSILON) --forget-epsilon $(FORGET_EPSILON)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
