"""Journal files for tests, written from journal export format by Debian's `systemd-journal-remote`
(the tests that need it skip, saying so, where it is not installed; `make test` installs it)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

BOOT_ID = "0123456789abcdef0123456789abcdef"
BASE_US = 1_763_640_000_000_000  # 2025-11-20 12:00 UTC, in µs
REMOTE_PATHS = ("/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote")


def journal_remote() -> str | None:
    """systemd-journal-remote's path: it lives outside PATH (/lib/systemd) in Debian's package."""
    found = shutil.which("systemd-journal-remote")
    return found or next((path for path in REMOTE_PATHS if os.access(path, os.X_OK)), None)


needs_journal = pytest.mark.skipif(
    journal_remote() is None or shutil.which("journalctl") is None,
    reason="needs journalctl and systemd-journal-remote (apt-get install systemd-journal-remote)",
)


def entry(i: int, **fields: str | bytes) -> dict[str, str | bytes]:
    """Entry number `i` of a test journal: 1 ms apart, from `app` (pid 4242) on host `h1`, priority info."""
    return {
        "__REALTIME_TIMESTAMP": str(BASE_US + i * 1000),
        "__MONOTONIC_TIMESTAMP": str(5_000_000 + i * 1000),
        "_BOOT_ID": BOOT_ID,
        "MESSAGE": f"entry {i}",
        "PRIORITY": "6",
        "SYSLOG_IDENTIFIER": "app",
        "_HOSTNAME": "h1",
        "_PID": "4242",
        **fields,
    }


def export_format(entries: list[dict[str, str | bytes]]) -> bytes:
    """Journal export format: `KEY=value` lines, binary-safe `KEY\\n<u64 le length><data>\\n` for values with
    newlines or non-UTF-8 bytes, a blank line after each entry."""
    out = bytearray()
    for fields in entries:
        for key, value in fields.items():
            data = value.encode() if isinstance(value, str) else value
            if isinstance(value, str) and "\n" not in value:
                out += f"{key}={value}\n".encode()
            else:
                out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        out += b"\n"
    return bytes(out)


def write_journal(path: Path, entries: list[dict[str, str | bytes]]) -> Path:
    """A closed journal file holding `entries` (the name must end in .journal)."""
    remote = journal_remote()
    assert remote is not None
    subprocess.run(
        [remote, "-o", str(path), "-"], input=export_format(entries), check=True, capture_output=True
    )
    return path
