"""Shared fixtures: the shared data folder and a generated corpus (made once per test session)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from loglens.mining.drain import TemplateMiner
from spawned_processes import SPAWNED, spawned

__all__ = ["spawned"]

pytest_plugins = ["alert_receivers", "nats_server", "pg_database"]
"""Fixtures of real notification receivers (HTTP, SMTP), for the channel and daemon tests."""

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """`../shared` beside the repo, or $LOGLENS_SHARED."""
    return Path(os.environ.get("LOGLENS_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30k-line generated corpus with truth.json and templates.csv (skips where ../shared is absent)."""
    gen = shared_dir() / "bench" / "gen_corpus.py"
    if not gen.exists():
        pytest.skip(f"{gen} not found: the shared corpus generator is needed (set LOGLENS_SHARED)")
    out = tmp_path_factory.mktemp("corpus")
    subprocess.run(
        [
            sys.executable,
            str(gen),
            "--lines",
            "30000",
            "--seed",
            "1",
            "--out",
            str(out),
            "--quiet",
            "--jobs",
            "2",
        ],
        check=True,
    )
    return out


@pytest.fixture
def cli() -> type[LoglensCli]:
    """The real `loglens` CLI, run in a subprocess (UTC, no colour)."""
    return LoglensCli


class LoglensCli:
    """Namespace for `run`: tests call `cli.run("logs", "--json", ...)`."""

    @staticmethod
    def run(
        *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run_loglens(*args, stdin=stdin, env=env, check=check)


def run_loglens(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Runs the real `loglens` CLI in a subprocess (UTC, no colour), returning its output."""
    full_env = {**os.environ, "TZ": "UTC", "NO_COLOR": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "loglens", *args],
        input=stdin,
        capture_output=True,
        env=full_env,
        check=False,
    )
    result = subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )
    if check and result.returncode != 0:
        raise AssertionError(f"loglens {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


@dataclass
class Rec:
    """A record as the template views (dedupe, patterns) read one; `mined()` gives it its template."""

    ts: int
    service: str
    message: str
    level: str = "info"
    raw: str = ""
    template_id: str | None = None
    params: list[str] | None = None
    tenant: str = ""


def mined(records: list[Rec]) -> list[Rec]:
    """The records, labelled by a fresh miner as ingest labels them."""
    TemplateMiner().label(records)
    return records


@pytest.fixture(autouse=True)
def _no_leftover_processes() -> Iterator[None]:
    """A test that fails before stopping its `loglens tail`/`up` process does not leave it running.

    Only what the test itself started: a module-scoped fixture's daemon (started before this
    fixture) lives on for the module's other tests, and is killed at the session's end at the latest.
    """
    before = len(SPAWNED)
    yield
    _kill(SPAWNED[before:])
    del SPAWNED[before:]


@pytest.fixture(autouse=True, scope="session")
def _no_leftover_processes_at_all() -> Iterator[None]:
    yield
    _kill(SPAWNED)
    SPAWNED.clear()


def _kill(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
