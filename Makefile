# codeflow: `make demo` and `make test` work on a fresh machine (they create .venv themselves).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= export,train,dev

.PHONY: setup test demo lint bench soak clean vscode nvim-test

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

setup: $(STAMP)

test: setup
	$(PY) -m pytest -q -p no:cacheprovider tests

demo: setup
	$(VENV)/bin/codeflow demo

lint: setup
	$(VENV)/bin/ruff check lsp_server context inference tests bench

bench: setup
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

soak: setup
	CODEFLOW_SOAK=1 $(PY) -m pytest -q -p no:cacheprovider tests/robustness

clean:
	rm -rf $(VENV) build *.egg-info
