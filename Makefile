# Two commands: `make demo` and `make test`. Both create .venv if missing and install everything (idempotent).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
# The test suite never downloads: it reads the shared benchmark files when they are beside the repo.
export GRAPHCL_OFFLINE ?= 1

.PHONY: demo test setup clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel
	# Keep a torch that is already in the environment; otherwise take the local CPU wheel (plain `torch`
	# can resolve to a multi-GB CUDA build).
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[all]'
	# RecBole without ray (see setup.cfg, extra "recsys").
	$(PIP) install --quiet --no-deps recbole==1.2.1
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/graphcl train grace --dataset synthetic

test: $(STAMP)
	$(PY) -m pytest -m "not slow" -q

clean:
	rm -rf $(VENV) runs .pytest_cache
