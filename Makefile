# One venv, made on first use; every target works from a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench package clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,package]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/discvault $(ARGS)

test: $(STAMP)
	$(BIN)/pytest -q -ra $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app tests benchmarks
	$(BIN)/ruff format --check app tests benchmarks
	$(BIN)/mypy app tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

package: $(STAMP)
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build \
		packaging/discvault.spec
	$(BIN)/python packaging/linux/make_tarball.py

clean:
	rm -rf $(VENV) build dist *.egg-info
