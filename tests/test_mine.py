"""`loglens mine`: one object per input line, final templates, both modes, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import LoglensCli

LINES = [
    "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
    "Dec 10 06:55:48 LabSZ sshd[24202]: Invalid user test9 from 52.80.34.196",
    "",
    "Dec 10 07:02:47 LabSZ sshd[24203]: Connection closed by 212.47.254.145 [preauth]",
]


def mine(path: Path, *args: str) -> list[dict[str, object]]:
    out = LoglensCli.run("mine", *args, str(path)).stdout
    return [json.loads(line) for line in out.splitlines()]


class TestMine:
    def test_header_parsing_and_final_templates(self, tmp_path: Path) -> None:
        """Syslog headers are parsed off; every line gets its template as it stands at the end."""
        log = tmp_path / "auth.log"
        log.write_text("\n".join(LINES) + "\n")
        rows = mine(log)
        assert [r["line"] for r in rows] == [1, 2, 3, 4]
        assert rows[0]["template"] == rows[1]["template"] == "Invalid user <*> from <*>"
        assert rows[0]["template_id"] == rows[1]["template_id"] != rows[3]["template_id"]
        assert rows[0]["params"] == ["webmaster", "173.234.31.186"]
        assert rows[3]["template"] == "Connection closed by <*> [preauth]"

    def test_message_only_and_out_file(self, tmp_path: Path) -> None:
        """--message-only mines whole lines; --out writes the same JSONL to a file."""
        log = tmp_path / "m.txt"
        log.write_text("disk 1 full\ndisk 2 full\n")
        out = tmp_path / "out.jsonl"
        LoglensCli.run("mine", "--message-only", "--out", str(out), str(log))
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["template"] for r in rows] == ["disk <*> full", "disk <*> full"]
        assert [r["params"] for r in rows] == [["1"], ["2"]]
