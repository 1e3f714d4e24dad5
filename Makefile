# cuelab: `make setup`, then `make reproduce-all` (or `make reproduce STUDY=…`); `make help` lists all.

PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= smoke
STUDY   ?=
PARAMS  ?=
FORCE   ?=

# The studies, as in cuelab.STUDIES (tests/test_reproduce.py checks the two agree); listed here
# so a missing or misspelt STUDY is reported before `setup` spends minutes building a venv.
STUDIES := xor_grokking input_gradients shortcut_cues global_shape

PY    := $(VENV)/bin/python
STAMP := $(VENV)/.cuelab-installed
# The torch builds this project is tested on; keep these pins exact.
TORCH := torch==2.14.1 torchvision==0.29.1

.DEFAULT_GOAL := help
.PHONY: help setup reproduce-all reproduce check-study test bench lab site clean distclean refresh-notebooks

help: ## list the targets
	@echo "usage: make <target> [PROFILE=smoke|full] [STUDY=<study>] [PARAMS=\"name=value …\"] [FORCE=1]"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'
	@echo
	@echo "studies:  $(STUDIES)"
	@echo "profiles: smoke (the notebooks' defaults, minutes on a laptop CPU), full (paper scale, for a GPU)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# The stamp is newer than pyproject.toml once installed, so `setup` is a no-op until the dependencies change.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install $(TORCH)
	$(PY) -m pip install -e '.[dev]'
	@touch $@

setup: $(STAMP) ## create .venv and install cuelab with its dev tools (skipped when up to date)

# PARAMS="name=value …" overrides notebook parameters (values are YAML; every name is checked against
# the notebook before a kernel starts). A study whose inputs match a complete earlier result is skipped;
# FORCE=1 re-runs it.
RUN_FLAGS = --profile $(PROFILE) $(if $(strip $(PARAMS)),--params '$(PARAMS)') $(if $(strip $(FORCE)),--force)

reproduce-all: setup ## run every study's notebook (PROFILE=smoke|full, PARAMS=…, FORCE=1) into reports/
	$(PY) -m cuelab.reproduce --all $(RUN_FLAGS)

# check-study comes before setup so a wrong STUDY fails at once; make builds prerequisites left to right.
reproduce: check-study setup ## run one study: make reproduce STUDY=<study> [PROFILE=full] [PARAMS="n_seeds=10"] [FORCE=1]
	$(PY) -m cuelab.reproduce --study $(STUDY) $(RUN_FLAGS)

check-study:
	@case " $(STUDIES) " in \
	  *" $(STUDY) "*) [ -n "$(STUDY)" ] && [ "$(words $(STUDY))" = 1 ] ;; \
	  *) false ;; \
	esac || { \
	  if [ -z "$(STUDY)" ]; then echo "make reproduce needs STUDY=<study>, one of: $(STUDIES)" >&2; \
	  else echo "STUDY=$(STUDY) is not a study; STUDY must be one of: $(STUDIES)" >&2; fi; \
	  exit 2; }

# One pytest run: the unit tests, and nbval on the study notebooks (only the cells marked
# NBVAL_CHECK_OUTPUT are compared, so floating noise does not fail CI). The notebooks are named
# one by one because a clone without any has no notebooks/ folder for pytest to find; with none,
# the unit tests still run. --nbval-current-env runs the kernel on this venv's python whatever
# kernel name a notebook was last saved with.
NOTEBOOKS = $(wildcard notebooks/*.ipynb)
test: setup ## run the unit tests and the notebook checks (nbval)
	$(PY) -m pytest tests $(NOTEBOOKS) --nbval-lax --nbval-current-env --nbval-cell-timeout=900

bench: setup ## re-run every study (PROFILE=…; never skipped) and print reports/bench.json (wall time, peak memory)
	$(PY) -m cuelab.reproduce --all $(RUN_FLAGS) --bench --force  # a benchmark measures: it never skips

site: setup ## build the static workbook site from the committed notebooks (offline, nothing executed) → build/site/
	$(PY) -m cuelab.site

lab: setup ## open the notebooks in Jupyter Lab
	$(VENV)/bin/jupyter lab notebooks

# Re-executes the notebooks in place with their own (smoke) defaults, so committed notebooks
# carry a smoke run's outputs; run it before committing a changed notebook.
refresh-notebooks: setup ## execute each notebooks/<study>.ipynb in place (smoke) so it carries outputs
	@for study in $(STUDIES); do \
	  nb=notebooks/$$study.ipynb; \
	  if [ -f $$nb ]; then \
	    echo "== $$nb"; \
	    CUELAB_HEADLESS=1 $(PY) -m papermill $$nb $$nb -k python3 -l python --cwd notebooks --progress-bar || exit 1; \
	  fi; \
	done

clean: ## remove reports/, cached data (not data/README.md) and __pycache__; keeps .venv
	rm -rf reports .pytest_cache
	find data -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name lightning_logs -o -name .ipynb_checkpoints \) -type d -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
