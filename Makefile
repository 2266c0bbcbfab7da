# Two commands do all set-up (see README.md):
#   make lab    create .venv from requirements.txt on first use, then open the course
#   make test   install the test tools too, then run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: lab test release grade clean-env

lab: $(VENV)/.course
	JUPYTER_CONFIG_PATH=jupyter $(BIN)/jupyter lab --ServerApp.root_dir=. lectures/01_perceptron/01_perceptron.ipynb

test: $(VENV)/.dev
	bash tests/browser/setup.sh $(BIN)/python
	bash tests/hub/setup.sh
	$(BIN)/python -m pytest -n 2 --dist loadgroup

$(VENV)/.course: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.course
	$(PIP) -r requirements-dev.txt
	touch $@

clean-env:
	rm -rf $(VENV)
