# SP-MIS on Tryton 8.0 LTS: the commands of the README.
#
#   make demo              run the demo (http://127.0.0.1:8000/, login admin)
#   make test              run every test (SQLite, then PostgreSQL if reachable)
#
#   make demo-reset        wipe the demo database and start over
#   make serve-postgresql  production topology on PostgreSQL: gunicorn + worker + cron
#   make bench SIZE=...    benchmarks (bench/run_all.py), when present
#   make clean             remove test artifacts and caches (keeps .venv, sao, var)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
RUNTIME_STAMP := $(VENV)/.spp-runtime.stamp
TEST_STAMP := $(VENV)/.spp-test.stamp
SAO_STAMP := sao/.spp-sao-installed
SIZE ?= small

.PHONY: help demo demo-reset test serve-postgresql bench chromium clean

help:
	@sed -n '1,12p' Makefile | sed 's/^# \{0,1\}//'

# The virtualenv: created when missing, reinstalled only when requirements.txt
# or pyproject.toml is newer than the stamp, so re-runs are fast.
$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "ERROR: Python 3.11 or newer is needed (found: $$($(PYTHON) --version 2>&1))." >&2; \
		echo "Point PYTHON at it, e.g.  make demo PYTHON=python3.11" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { \
		rm -rf $(VENV); \
		echo "ERROR: could not create the virtualenv $(VENV)." >&2; \
		echo "On Debian/Ubuntu install the venv module:  sudo apt-get install -y python3-venv" >&2; \
		exit 1; }

$(RUNTIME_STAMP): requirements.txt pyproject.toml | $(PY)
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q -e . --no-deps
	@touch $@

$(TEST_STAMP): requirements-test.txt $(RUNTIME_STAMP)
	$(PIP) install -q -r requirements-test.txt
	@touch $@

# The sao web client (npm tryton-sao 8.0.x), unpacked into ./sao.
$(SAO_STAMP):
	@tools/ensure_sao.sh

demo: $(RUNTIME_STAMP) $(SAO_STAMP)
	@$(PY) tools/demo.py

demo-reset: $(RUNTIME_STAMP) $(SAO_STAMP)
	@RESET=1 $(PY) tools/demo.py

chromium:
	@tools/ensure_chromium.sh

test: $(TEST_STAMP) $(SAO_STAMP) chromium
	@$(PY) tools/run_tests.py $(ARGS)

serve-postgresql: $(RUNTIME_STAMP) $(SAO_STAMP)
	@$(PY) tools/serve_postgresql.py

BENCH_STAMP := $(VENV)/.spp-bench.stamp

$(BENCH_STAMP): requirements-bench.txt $(RUNTIME_STAMP)
	$(PIP) install -q -r requirements-bench.txt
	@touch $@

bench: $(RUNTIME_STAMP) $(BENCH_STAMP)
	@if [ -f bench/run_all.py ]; then \
		SIZE=$(SIZE) $(PY) bench/run_all.py && $(PY) bench/plot.py; \
	else \
		echo "No benchmarks yet (bench/run_all.py is missing)."; \
	fi

clean:
	rm -rf test-artifacts .pytest_cache
	find addons tests tools -name __pycache__ -type d -prune -exec rm -rf {} +
