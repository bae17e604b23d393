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


def ensure_corpus(shared: Path, lines: int, seed: int, corpus: Path) -> dict[str, Any]:
    """The corpus' truth.json, generating the corpus first unless one of this size and seed is there."""
    truth_path = corpus / "truth.json"
    if truth_path.exists():
        truth: dict[str, Any] = json.loads(truth_path.read_text())
        if truth.get("lines_requested") == lines and truth.get("seed") == seed:
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
    ]
    subprocess.run(command, check=True)
    generated: dict[str, Any] = json.loads(truth_path.read_text())
    return generated
