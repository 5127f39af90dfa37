# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not ((3,11) <= sys.version_info[:2] <= (3,12)))' 2>/dev/null; \
	then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK_INDEX ?= https://pypi.org/simple

.PHONY: run test lint lock bench bench-clustering bench-ingest bench-latency bench-replay bench-review eval check clean browser

# The virtualenv holds exactly what requirements-dev.lock names (exact versions, sha256 hashes), whatever newer
# releases the package index serves: a changed lock rebuilds it from scratch. `make lock` refreshes the lock
# from pyproject.toml's ranges (docs/operations.md, "Upgrading dependencies").
$(STAMP): pyproject.toml requirements-dev.lock
	@test -n "$(PYTHON)" || { echo "need Python 3.11 or 3.12 (durable_rules does not import on 3.13)"; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@$(BIN)/python -m pip check --disable-pip-version-check >$(VENV)/pip-check.txt 2>&1 || { cat $(VENV)/pip-check.txt; \
		echo "requirements-dev.lock no longer satisfies pyproject.toml (the packages above): run 'make lock' and commit it"; \
		exit 1; }
	touch $(STAMP)

# Resolve pyproject.toml's ranges to exact versions with hashes, on the index users install from:
# requirements-dev.lock (every extra: what make and CI install) and requirements.lock (the daemon and its
# fast extra, the same versions: what a county server installs, docs/deploy.md).
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --index-url $(LOCK_INDEX) --no-emit-index-url --no-emit-find-links
lock:
	@test -n "$(PYTHON)" || { echo "need Python 3.11 or 3.12"; exit 1; }
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --disable-pip-version-check 'pip-tools>=7.4,<8'
	PIP_CONFIG_FILE=/dev/null .venv-lock/bin/pip-compile $(LOCK_FLAGS) --extra fast --extra test --extra dev \
		--output-file requirements-dev.lock pyproject.toml
	PIP_CONFIG_FILE=/dev/null .venv-lock/bin/pip-compile $(LOCK_FLAGS) --extra fast -c requirements-dev.lock \
		--output-file requirements.lock pyproject.toml
	rm -rf .venv-lock

run: $(STAMP)
	mkdir -p examples/var/inbox
	cp -n examples/inbox-samples/*.json* examples/var/inbox/ 2>/dev/null || true
	$(BIN)/yuqing run -c examples/config.yaml

check: $(STAMP)
	$(BIN)/yuqing check -c examples/config.yaml

lint: $(STAMP)
	$(BIN)/ruff check daemon rules channels tests $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Browser tests (acknowledgement page, HTML reports) need Debian's chromium (and a Chinese font for the
# screenshots); installed when missing and we may.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& { apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 \
		&& apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1; }; }; } \
		|| echo "chromium is not installed: browser tests will be skipped"

# Tests run in four processes (most of the suite waits on real daemons, sockets and timers, so more
# workers than cores pays); the ten slowest are listed at the end to keep the suite under five minutes.
test: lint browser
	$(BIN)/python -m pytest -q -n 4 --durations=10

bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.library
	$(BIN)/python -m bench.replay

# `yuqing replay` over N stored messages (-n, default 20,000): msgs/s and the time for 500,000 (90 days).
bench-replay: $(STAMP)
	$(BIN)/python -m bench.replay

bench-clustering: $(STAMP)
	$(BIN)/python -m bench.clustering

bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest

# Rename into the inbox -> alert accepted by a local webhook and SMTP server: p50/p95/p99 at 1, 5, 20 msg/s.
bench-latency: $(STAMP)
	$(BIN)/python -m bench.latency

# The review net (待研判): false reviews per 10,000 ordinary posts and the cost per post (docs/incidents.md).
bench-review: $(STAMP)
	$(BIN)/python -m bench.review

# Recall and false alarms of examples/rules on the labelled development set (docs/eval.md). Texts are
# read from clones of their repositories under EVAL_SOURCES; EVAL_ARGS=--verbose lists every miss.
EVAL_SOURCES ?= ../eval-sources
eval: $(STAMP)
	$(BIN)/python -m bench.eval --sources $(EVAL_SOURCES) $(EVAL_ARGS)

clean:
	rm -rf $(VENV) .venv-lock examples/var .pytest_cache .mypy_cache .ruff_cache
