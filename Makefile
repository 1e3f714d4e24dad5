# cuelab: `make setup`, then `make reproduce-all` (or `make reproduce STUDY=…`); `make help` lists all.

PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= smoke
STUDY   ?=
PARAMS  ?=
FORCE   ?=

# The studies, read from the one registry (lib/cuelab/studies.py) with plain python3 and no third-party
# import, so a missing or misspelt STUDY is reported before `setup` spends minutes building a venv.
STUDIES := $(shell $(PYTHON) lib/cuelab/studies.py)
ifeq ($(strip $(STUDIES)),)
$(error could not read the study list: `$(PYTHON) lib/cuelab/studies.py` printed nothing; make needs Python 3 as $(PYTHON))
endif
NAME  ?=
TITLE ?=
PAPER ?=

PY    := $(VENV)/bin/python
STAMP := $(VENV)/.cuelab-installed
# The torch builds this project is tested on; keep these pins exact.
TORCH := torch==2.14.1 torchvision==0.29.1

.DEFAULT_GOAL := help
.PHONY: help setup reproduce-all reproduce check-study test bench lab site clean distclean refresh-notebooks studies new-study check-new-study runs prune-runs record compare compare-all

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

# JupyterLab from this venv, `make lab` or a plain `jupyter lab`, reads the settings overrides in the venv's
# app settings folder: comms over subshells off, so the status bar says "Busy" while cells run (see `lab`).
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): scripts/jupyterlab-settings/overrides.json | $(STAMP)
	@mkdir -p $(dir $@) && cp $< $@

setup: $(STAMP) $(LAB_OVERRIDES) ## create .venv and install cuelab with its dev tools (skipped when up to date)

# PARAMS="name=value …" overrides notebook parameters (values are YAML; every name is checked against
# the notebook before a kernel starts). A study whose inputs match a complete earlier result is skipped;
# FORCE=1 re-runs it.
RUN_FLAGS = --profile $(PROFILE) $(if $(strip $(PARAMS)),--params '$(PARAMS)') $(if $(strip $(FORCE)),--force)

reproduce-all: setup ## run every study's notebook (PROFILE=smoke|full, PARAMS=…, FORCE=1) into reports/
	$(PY) -m cuelab.reproduce --all $(RUN_FLAGS)

# check-study comes before setup so a wrong STUDY fails at once; make builds prerequisites left to right.
reproduce: check-study setup ## run one study: make reproduce STUDY=<study> [PROFILE=full] [PARAMS="n_seeds=10"] [FORCE=1]
	$(PY) -m cuelab.reproduce --study $(STUDY) $(RUN_FLAGS)

studies: ## print the study names, one per line (from lib/cuelab/studies.py)
	@printf '%s\n' $(STUDIES)

# check-new-study comes before setup, as check-study does: a bad NAME fails at once.
new-study: check-new-study setup ## scaffold a study that runs and passes its tests: make new-study NAME=<name> [TITLE="…"] [PAPER="…"]
	$(PY) -m cuelab.scaffold $(NAME) --execute $(if $(strip $(TITLE)),--title "$(TITLE)") $(if $(strip $(PAPER)),--paper "$(PAPER)")

check-new-study:
	@$(PYTHON) lib/cuelab/studies.py --check-new "$(NAME)"

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

# The run store (reports/<study>/runs/, cuelab.runstore) and the committed reference results (results/, cuelab.results).
runs: setup ## list the runs: study, profile, status, when, wall time, verdict counts [STUDY=…]
	$(PY) -m cuelab.runstore list $(if $(strip $(STUDY)),--study $(STUDY))

prune-runs: setup ## remove old runs; keeps the latest complete run of each study and profile [STUDY=…]
	$(PY) -m cuelab.runstore prune $(if $(strip $(STUDY)),--study $(STUDY))

record: check-study setup ## write results/<study>/<profile>.json from the latest complete run (a clean tree): make record STUDY=… PROFILE=…
	$(PY) -m cuelab.results record --study $(STUDY) --profile $(PROFILE)

compare: check-study setup ## compare the latest complete run with results/<study>/<profile>.json: make compare STUDY=… [PROFILE=…]
	$(PY) -m cuelab.results compare --study $(STUDY) --profile $(PROFILE)

compare-all: setup ## compare every study that has results/<study>/<PROFILE>.json with its latest complete run [CLAIMS_DIR=reports: the claims nbval's run wrote]
	$(PY) -m cuelab.results compare --all --profile $(PROFILE) $(if $(strip $(CLAIMS_DIR)),--claims-dir $(CLAIMS_DIR))

# A study's measurement pointed at your own model or method (python -m cuelab measure <instrument> --help), e.g.
# make measure INSTRUMENT=dist ARGS="--model timm:efficientnet_lite0"; without INSTRUMENT it lists the instruments.
.PHONY: measure
measure: setup ## measure your model/method: make measure INSTRUMENT=dist|diffroar|cues|xor ARGS="--model …"
	$(PY) -m cuelab measure $(if $(strip $(INSTRUMENT)),$(INSTRUMENT) $(ARGS),--help)

site: setup ## build the static workbook site from the committed notebooks (offline, nothing executed) → build/site/
	$(PY) -m cuelab.site

# scripts/jupyterlab-settings/overrides.json turns JupyterLab's "comms over subshells" off: with it on (JupyterLab 4.6's
# default) the first widget of a run (a progress bar) makes the status bar read "Idle" while cells still run (issue 29).
lab: setup ## open the notebooks in Jupyter Lab (as root: with --allow-root)
	@flags="--LabApp.app_settings_dir=$(CURDIR)/scripts/jupyterlab-settings"; \
	if [ "$$(id -u)" = "0" ]; then \
	  echo "make lab: running as root, so jupyter lab gets --allow-root"; flags="$$flags --allow-root"; \
	fi; \
	echo "$(VENV)/bin/jupyter lab $$flags notebooks"; \
	$(VENV)/bin/jupyter lab $$flags notebooks

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
	$(PY) scripts/normalize_notebooks.py  # the form JupyterLab saves, so a notebook opens with no unsaved dot

clean: ## remove reports/, cached data (not data/README.md) and __pycache__; keeps .venv
	rm -rf reports .pytest_cache
	find data -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name lightning_logs -o -name .ipynb_checkpoints \) -type d -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
