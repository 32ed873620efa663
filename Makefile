# One venv, made on first use; every target works from a fresh clone. Each target first makes
# sure the system packages it needs are here (packaging/deps/apt.txt): as root on Debian/Ubuntu
# it installs what is missing, otherwise it prints the command and stops. DEPS=check only
# reports, DEPS=off skips the check.
PY ?= python3
DEPS ?= install
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The groups of packaging/deps/apt.txt each target needs. The venv is made with the groups of
# every goal on the command line, so a missing package is reported (or installed) in one go.
NEEDS_run := run
NEEDS_test := test package
NEEDS_bench := test
NEEDS_package := package
NEEDS := venv $(foreach goal,$(MAKECMDGOALS),$(NEEDS_$(goal)))
ENSURE = @DISCVAULT_DEPS=$(DEPS) DISCVAULT_DEPS_FOR="$(strip make $(MAKECMDGOALS))" PY=$(PY) \
	sh packaging/deps/ensure

.PHONY: run test lint bench package deps clean

$(STAMP): pyproject.toml
	$(ENSURE) $(NEEDS)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,package]'
	touch $(STAMP)

run: $(STAMP)
	$(ENSURE) $(NEEDS_run)
	$(BIN)/discvault $(ARGS)

test: $(STAMP)
	$(ENSURE) $(NEEDS_test)
	$(BIN)/pytest -q -ra $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app tests benchmarks packaging/linux packaging/rthook_qt.py
	$(BIN)/ruff format --check app tests benchmarks packaging/linux packaging/rthook_qt.py
	$(BIN)/mypy app tests benchmarks packaging/linux packaging/rthook_qt.py

bench: $(STAMP)
	$(ENSURE) $(NEEDS_bench)
	$(BIN)/python -m benchmarks.run

package: $(STAMP)
	$(ENSURE) $(NEEDS_package)
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build \
		packaging/discvault.spec
	$(BIN)/python packaging/linux/make_tarball.py
	$(BIN)/python packaging/linux/make_deb.py

# Everything every target needs, at once (what .ci/run installs before it starts).
deps:
	$(ENSURE) venv run test package

clean:
	rm -rf $(VENV) build dist *.egg-info
