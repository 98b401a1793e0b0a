# Two commands a new user needs: `make run` (the app with demo data) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
STAMP  := $(VENV)/.installed

.PHONY: run test install translations bench clean-instance

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP) translations

# Compiled message catalogues are build output (git-ignored); the .po files are the source.
translations: $(STAMP)
	$(BIN)/pybabel compile -d assessments/translations -D messages

run: install
	$(FLASK) init
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install
	$(BIN)/pytest

clean-instance:
	rm -rf instance/konsekvens.sqlite instance/archive instance/seals instance/secret_key

bench: install
	$(BIN)/python -m benchmarks.run
