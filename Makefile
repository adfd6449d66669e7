# The course's two commands: `make lab` and `make test`.
# Both create .venv on first use (and again when pyproject.toml changes).

PYTHON      ?= python3.11
VENV        ?= .venv
BIN         := $(VENV)/bin
# CPU build of PyTorch by default. GPU users: see README, e.g.
#   make lab TORCH=torch==2.13.0 TORCH_INDEX=https://download.pytorch.org/whl/cu128
TORCH       ?= torch==2.13.0+cpu
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
STAMP       := $(VENV)/.installed
PYTEST_ARGS ?=
# extra arguments for jupyter lab, e.g. in a container: make lab LAB_ARGS="--ip=0.0.0.0"
LAB_ARGS    ?=

.PHONY: install lab test lint notebooks data clean help

help:
	@echo "make lab    install (first time) and open JupyterLab on the course"
	@echo "make test   install (first time) and run the whole test suite"
	@echo "make lint   ruff on the package, tests, benchmarks, scripts and notebook sources"
	@echo "make notebooks  sync notebooks/src/*.py with the solutions notebooks and derive both"
	@echo "                notebooks (keeps edits: see README, \"Editing a notebook\")"
	@echo "make data   rebuild data/*.npz from the matminer 0.3.9 sdist (maintainers)"

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade "pip>=24"
	$(BIN)/pip install "$(TORCH)" $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(BIN)/pip install -e ".[test]"
	$(BIN)/python -m companion doctor
	touch $(STAMP)

# scripts/lab.py adds --allow-root when run as root and prints the URL to open;
# tests/notebooks/test_lab.py starts JupyterLab through the same script.
lab: $(STAMP)
	$(BIN)/python scripts/lab.py $(LAB_ARGS)

test: $(STAMP)
	# one BLAS/OpenMP thread per test worker: two workers share the two cores
	COMPANION_FAST=1 OMP_NUM_THREADS=1 COMPANION_BROWSER_ARTIFACTS=$(CURDIR)/test-output/browser $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check companion tests benchmarks scripts notebooks/src

notebooks: $(STAMP)
	$(BIN)/python scripts/notebooks.py

data: $(STAMP)
	$(BIN)/python scripts/build_shipped_data.py

clean:
	rm -rf $(VENV) .pytest_cache
