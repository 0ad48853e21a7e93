# evalfed: every target sets up what it needs (virtual environment, install, generated code).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTO_SRC := $(wildcard protos/evalfed/v1/*.proto)
PYTEST_ARGS ?=

.PHONY: install protos check-protos demo test lint fmt bench bench-large clean

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,inspect]'
	touch $(STAMP)

protos: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -Iprotos --python_out=protos --pyi_out=protos \
		--grpc_python_out=protos $(PROTO_SRC)

# Fails when the committed generated code differs from what the .proto files give.
check-protos: protos
	git diff --exit-code -- protos/ || \
		(echo "generated code in protos/ is stale: run 'make protos' and commit" >&2; exit 1)

demo: $(STAMP)
	$(BIN)/python -m evalfed.server.demo

test: $(STAMP)
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# Not part of CI: a few minutes on 100,000 records (bench-large: one million).
bench: $(STAMP)
	$(BIN)/python -m evalfed.server.bench --records 100000

bench-large: $(STAMP)
	$(BIN)/python -m evalfed.server.bench --records 1000000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy protos keys client server tests

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
