"""Template accuracy by the shared scorer (`score_templates.py`: GA, PA, FGA, FTA), for the benches."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

METRICS = ("GA", "PA", "FGA", "FTA")


def write_templates(path: Path, templates: list[str]) -> None:
    """A Loghub-style CSV (`LineId`, `EventTemplate`), one row per line, in order."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["LineId", "EventTemplate"])
        writer.writerows(enumerate(templates, 1))


def score(truth_csv: Path, predictions: list[str], scorer: Path) -> dict[str, float]:
    """GA, PA, FGA, FTA of one predicted template per line against a Loghub-style truth CSV."""
    with tempfile.TemporaryDirectory() as tmp:
        pred_csv = Path(tmp) / "pred.csv"
        write_templates(pred_csv, predictions)
        cmd = [sys.executable, str(scorer), "--truth", str(truth_csv), "--pred", str(pred_csv)]
        result = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    return {metric: float(result[metric]) for metric in METRICS}
