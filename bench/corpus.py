"""The generated corpus the benches share: made once by ../shared/bench/gen_corpus.py, then reused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

LOG_FILES = (
    "nginx/access.log",
    "api/api.jsonl",
    "queue/queue.log",
    "worker/worker.log",
    "billing/billing.log",
    "syslog/auth.log",
    "syslog/kernel.log",
)
"""The corpus' log files (truth.json and templates.csv beside them are not logs)."""


def ensure_corpus(
    shared: Path, lines: int, seed: int, corpus: Path, hours: float = 6.0, start: str | None = None
) -> dict[str, Any]:
    """The corpus' truth.json, generating the corpus first unless one of this size, seed, span and
    start is there (`start` None: the generator's default)."""
    truth_path = corpus / "truth.json"
    if truth_path.exists():
        truth: dict[str, Any] = json.loads(truth_path.read_text())
        wanted = {"lines_requested": lines, "seed": seed, "hours": hours} | (
            {"start": start} if start else {}
        )
        if all(truth.get(key) == value for key, value in wanted.items()):
            return truth
    gen = shared / "bench" / "gen_corpus.py"
    if not gen.exists():
        sys.exit(f"{gen} not found: pass --shared pointing at the shared folder")
    print(f"generating a {lines:,}-line corpus in {corpus} …", flush=True)
    command = [
        sys.executable,
        str(gen),
        "--lines",
        str(lines),
        "--seed",
        str(seed),
        "--out",
        str(corpus),
        "--quiet",
        "--hours",
        str(hours),
        *(["--start", start] if start else []),
    ]
    subprocess.run(command, check=True)
    generated: dict[str, Any] = json.loads(truth_path.read_text())
    return generated
