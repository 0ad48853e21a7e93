# evalfed: every target sets up what it needs (virtual environment, install, generated code).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTO_SRC := $(wildcard protos/evalfed/v1/*.proto)
PYTEST_ARGS ?=

.PHONY: install bytecode protos check-protos vectors demo test lint fmt bench bench-large fuzz \
	clean chromium dashboard-shots

install: $(STAMP) bytecode

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,inspect]'
	touch $(STAMP)

# The sources' bytecode. An editable install leaves it to Python, which cannot keep it where
# PYTHONDONTWRITEBYTECODE is set (as on these machines, and in many container images) and then
# compiles every evalfed module again in every process: publishing 300 files took 0.389 s
# against 0.334 (medians of six alternating runs). compileall redoes only what changed.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q client server keys protos tests

protos: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -Iprotos --python_out=protos --pyi_out=protos \
		--grpc_python_out=protos $(PROTO_SRC)

# Fails when the committed generated code differs from what the .proto files give.
check-protos: protos
	git diff --exit-code -- protos/ || \
		(echo "generated code in protos/ is stale: run 'make protos' and commit" >&2; exit 1)

# The conformance vectors of PROTOCOL.md, from fixed seeds (tests/unit/test_vectors.py checks them).
vectors: $(STAMP)
	$(BIN)/python -m tests.vectors.generate

demo: $(STAMP) bytecode
	$(BIN)/python -m evalfed.server.demo

test: $(STAMP) bytecode chromium
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# The dashboard's browser tests drive Debian's chromium (never a browser Playwright downloads);
# installed here when missing (as root, as on the project's machines and CI).
CHROMIUM := /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q -o DPkg::Lock::Timeout=600 chromium; }

# Not part of CI: demo-like nodes, then PNG screenshots of the dashboard's main pages.
dashboard-shots: $(STAMP) bytecode chromium
	$(BIN)/python -m tests.dashboard_shots docs/screenshots

# Not part of CI: a few minutes on 100,000 records (bench-large: one million).
# BENCH_ARGS=--log-trees (or --no-log-trees) measures with the nodes' log trees on (off).
bench: $(STAMP) bytecode
	$(BIN)/python -m evalfed.server.bench --records 100000 $(BENCH_ARGS)

bench-large: $(STAMP) bytecode
	$(BIN)/python -m evalfed.server.bench --records 1000000 $(BENCH_ARGS)

# Not part of CI: coverage-guided fuzzing (atheris) of envelope checking and the importers,
# FUZZ_SECONDS per harness. The corpus grows in build/fuzz/HARNESS, crashes land in
# build/fuzz/artifacts; set EVALFED_FUZZ_FINDINGS=FILE to log crashes and keep going.
FUZZ_SECONDS ?= 300
FUZZ_HARNESSES := envelope import
FUZZ_DIR := build/fuzz

fuzz: $(STAMP) bytecode
	$(BIN)/python -m pip install --quiet -e '.[dev,inspect,fuzz]'
	mkdir -p $(FUZZ_DIR)/artifacts
	for h in $(FUZZ_HARNESSES); do \
		$(BIN)/python -m tests.fuzz.fuzz_$$h --write-seeds $(FUZZ_DIR)/$$h && \
		$(BIN)/python -m tests.fuzz.fuzz_$$h $(FUZZ_DIR)/$$h -max_total_time=$(FUZZ_SECONDS) \
			-timeout=10 -rss_limit_mb=2048 -artifact_prefix=$(FUZZ_DIR)/artifacts/$$h- \
			-print_final_stats=1 || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy protos keys client server tests

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find client server keys protos tests -name __pycache__ -prune -exec rm -rf {} +
