# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not ((3,11) <= sys.version_info[:2] <= (3,12)))' 2>/dev/null; \
	then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-clustering bench-ingest eval check clean browser

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "need Python 3.11 or 3.12 (durable_rules does not import on 3.13)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p examples/var/inbox
	cp -n examples/inbox-samples/*.json* examples/var/inbox/ 2>/dev/null || true
	$(BIN)/yuqing run -c examples/config.yaml

check: $(STAMP)
	$(BIN)/yuqing check -c examples/config.yaml

lint: $(STAMP)
	$(BIN)/ruff check daemon rules channels tests $(wildcard bench)
	$(BIN)/mypy

# Browser tests (acknowledgement page, HTML reports) need Debian's chromium (and a Chinese font for the
# screenshots); installed when missing and we may.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& { apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 \
		&& apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1; }; }; } \
		|| echo "chromium is not installed: browser tests will be skipped"

test: lint browser
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

bench-clustering: $(STAMP)
	$(BIN)/python -m bench.clustering

bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest

# Recall and false alarms of examples/rules on the labelled development set (docs/eval.md). Texts are
# read from clones of their repositories under EVAL_SOURCES; EVAL_ARGS=--verbose lists every miss.
EVAL_SOURCES ?= ../eval-sources
eval: $(STAMP)
	$(BIN)/python -m bench.eval --sources $(EVAL_SOURCES) $(EVAL_ARGS)

clean:
	rm -rf $(VENV) examples/var .pytest_cache .mypy_cache .ruff_cache
