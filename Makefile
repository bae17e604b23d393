# Two commands set everything up on a fresh machine: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
SHARED  ?= ../shared
STORE   ?= $(CURDIR)/.loglens/loglens.duckdb

.PHONY: run test bench fuzz lint fmt clean venv sysdeps

# System packages the tests use, installed from Debian when missing (CI starts from a clean machine):
# systemd-journal-remote writes the journal files the journald tests read; chromium is the browser
# the dashboard's Playwright tests drive (`playwright install` is neither needed nor possible here);
# tmux is the real terminal `loglens monit` is checked in; nats-server (JetStream) is the bus the
# scale-out tests start on a free port (PostgreSQL they find on 127.0.0.1:5432).
SYSDEPS_CHECK := { test -x /lib/systemd/systemd-journal-remote || test -x /usr/lib/systemd/systemd-journal-remote; } && test -x /usr/bin/chromium && command -v tmux >/dev/null && { command -v nats-server || test -x /usr/sbin/nats-server; } >/dev/null
SYSDEPS_PKGS  := systemd-journal-remote chromium tmux nats-server
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
sysdeps:
	@$(SYSDEPS_CHECK) || { command -v apt-get >/dev/null && \
		{ $(SUDO) apt-get install -y -qq $(SYSDEPS_PKGS) >/dev/null 2>&1 || \
		  { $(SUDO) apt-get update -qq >/dev/null && $(SUDO) apt-get install -y -qq $(SYSDEPS_PKGS) >/dev/null; }; }; } || \
		echo "could not install $(SYSDEPS_PKGS): the tests that need it will skip"

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e .
	touch $@

$(DEVSTAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[dev,semantic,scale]'
	touch $@

venv: $(STAMP)

# The daemon on the embedded store: our demo corpus (6 h, 7 services, 4 injected incidents) ingested
# first, then `loglens up --demo` feeding the demo generator's live stream (a new incident every
# 15 min) and printing its URL; Ctrl-C stops it after committing. The demo's stamps are UTC.
DEMO    ?= $(CURDIR)/.loglens/demo
LISTEN  ?= 127.0.0.1:8080
run: $(STAMP)
	$(BIN)/loglens demo --out $(DEMO)
	TZ=UTC $(BIN)/loglens ingest --store $(STORE) $(DEMO)
	TZ=UTC $(BIN)/loglens up --store $(STORE) --listen $(LISTEN) --demo

# Two workers, a test file each at a time (module fixtures — daemons, corpora — stay in one process):
# most tests wait on servers and subprocesses, so the suite takes ~5 min instead of ~8.5.
test: $(DEVSTAMP) sysdeps
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(DEVSTAMP)
	$(BIN)/python -m pytest -m slow || [ $$? -eq 5 ]  # the suites marked slow (5: none selected)
	$(BIN)/python bench/ingest.py --shared $(SHARED)
	$(BIN)/python bench/loghub.py $(SHARED)/data/loghub-2k
	$(BIN)/python bench/follow.py  # ~6 min: rotation tortures at 4 rates x 3 modes, tail throughput, latency, RSS
	$(BIN)/python bench/mining.py --shared $(SHARED)  # ~20 min: Drain3 is the slow part
	$(BIN)/python bench/detect.py --shared $(SHARED)  # ~2 min: 3 seeds × 6 h (the issue's bar)
	$(BIN)/python bench/detect.py --shared $(SHARED) --seeds 4 --lines 2000000 --out bench/results/detect-2m.json
	$(BIN)/python bench/detect.py --shared $(SHARED) --seeds 5 6 --lines 150000 --out bench/results/detect-150k.json
	$(BIN)/python bench/detect.py --shared $(SHARED) --seeds 7 --lines 1000000 --hours 12 \
		--start 2026-11-21T10:00:00Z --out bench/results/detect-12h.json
	$(BIN)/python bench/detect.py --shared $(SHARED) --seeds 8 --lines 1500000 --hours 30 \
		--out bench/results/detect-30h.json
	$(BIN)/python bench/dashboard.py  # first load of the dashboard in chromium
	$(BIN)/python bench/live.py --shared $(SHARED)  # ~25 min: the daemon under load
	$(BIN)/python bench/alerts.py --shared $(SHARED)  # ~1 min: the alert engine per record, the explainer per incident
	$(BIN)/python bench/semantic.py --shared $(SHARED)  # ~30 s: embedding speed and recall of the semantic extra
	$(BIN)/python bench/scale_out.py  # ~10 min: embedded vs 1+1 and 2+2 nodes on NATS + PostgreSQL, takeover after kill -9

# Hypothesis fuzzing of every parser, decoder and ingest/API endpoint, 100,000 cases per target (its
# short profile, 150 cases, runs in `make test`); figures in bench/results/fuzz.json. Hours on 2 cores:
# narrow it with FUZZ_ARGS, e.g. FUZZ_ARGS="-k decoders --examples 20000".
FUZZ_ARGS ?=
fuzz: $(DEVSTAMP)
	$(BIN)/python bench/fuzz.py $(FUZZ_ARGS)

lint: $(DEVSTAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) .loglens .pytest_cache .mypy_cache .ruff_cache
