"""The long-running processes tests start, killed at each test's teardown (conftest's autouse fixture).

A module of its own: pytest loads conftest.py as `tests.conftest` while test files import it as
`conftest`, two module objects with two lists; this module is imported by one name everywhere.
"""

from __future__ import annotations

import subprocess

SPAWNED: list[subprocess.Popen[bytes]] = []


def spawned(proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    """Registers a long-running loglens process a test started, so it is killed at teardown."""
    SPAWNED.append(proc)
    return proc
