# Two commands a new user needs: `make run` (the app with demo data) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
STAMP  := $(VENV)/.installed
# The exact versions the suite passes with (docs/dependencies.md); pip installs nothing else.
CONSTRAINTS := constraints.txt

# Debian 12 packages: PDF rendering (Pango, HarfBuzz with subsetting, fonts), independent PDF checks
# (poppler, qpdf), the browser for the journeys, PostgreSQL for the multi-user tests, Redis and nginx for
# the tests of several nodes.
SYSTEM_PACKAGES := python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
	fonts-dejavu-core fonts-noto-color-emoji poppler-utils qpdf chromium postgresql \
	redis-server nginx

.PHONY: run test test-fast lint install translations bench clean-instance clean-archive system-deps lock

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e ".[test,lint]"
	touch $(STAMP)

install: $(STAMP) translations

# Compiled message catalogues are build output (git-ignored); the .po files are the source.
translations: $(STAMP)
	$(BIN)/pybabel compile -d assessments/translations -D messages

run: install
	$(FLASK) init
	$(FLASK) demo
	$(FLASK) run --host 127.0.0.1 --port 5000

# One worker per core (pytest-xdist): each has its own SQLite file, or its own PostgreSQL database next to
# TEST_DATABASE_URL's (tests/conftest.py). PYTEST_ARGS="-n 0" runs in one process.
PYTEST_ARGS ?= -n auto
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# Everything but the browser journeys and the PostgreSQL-only tests (those skip without TEST_DATABASE_URL),
# on SQLite, one worker per core (each worker has its own database file).
test-fast: install
	$(BIN)/pytest -m "not browser" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check assessments tests benchmarks
	$(BIN)/mypy

# Installs the system packages the README names (as root, on Debian 12 or a derivative).
system-deps:
	apt-get update
	apt-get install -y --no-install-recommends $(SYSTEM_PACKAGES)

# After changing a dependency in pyproject.toml: resolve again in a fresh venv, run the suite, commit both.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip
	.venv-lock/bin/pip install --quiet -e ".[test,lint]"
	{ echo "# The exact versions the suite passes with, used by make and .ci/run (pip install -c). Regenerate with"; \
	  echo "# \`make lock\` after changing pyproject.toml, then run the suite (docs/dependencies.md)."; \
	  .venv-lock/bin/pip freeze --exclude-editable | grep -v "^konsekvens"; } > $(CONSTRAINTS)
	rm -rf .venv-lock

# The archive and the seals are the signed record: they are deleted only when asked for by name.
clean-instance:
	rm -rf instance/konsekvens.sqlite instance/konsekvens.sqlite-wal instance/konsekvens.sqlite-shm instance/secret_key
	@echo "Removed the database and the secret key. The signed archive (instance/archive) and the seals"
	@echo "(instance/seals) are kept; remove them with 'make clean-archive CONFIRM=yes' if you really mean it."

clean-archive:
	@test "$(CONFIRM)" = "yes" || { echo "This deletes every signed document and seal. Run: make clean-archive CONFIRM=yes"; exit 1; }
	rm -rf instance/archive instance/seals

bench: install
	$(BIN)/python -m benchmarks.run
