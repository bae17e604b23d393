"""Tests for loglens.sources.file: discovery, skipping non-logs, service names, checkpoints."""

from __future__ import annotations

import gzip
import os
from dataclasses import replace
from pathlib import Path

import pytest

from loglens.sources.file import (
    FoundFile,
    discover,
    fingerprint,
    looks_binary,
    open_at_checkpoint,
    resume_offset,
    service_from_path,
)


class TestServiceFromPath:
    @pytest.mark.parametrize(
        ("path", "service"),
        [
            ("nginx/access.log", "nginx"),
            ("api/api.jsonl", "api"),
            ("/var/log/syslog.2.gz", "syslog"),
            ("worker/worker.log.1", "worker"),
            ("billing-20261121.log", "billing"),
            ("app.log", "app"),
        ],
    )
    def test_names(self, path: str, service: str) -> None:
        """Generic stems take their folder's name; rotation and compression suffixes are ignored."""
        assert service_from_path(path) == service


class TestDiscover:
    def test_walk_skips_documents_tables_and_binaries(self, tmp_path: Path) -> None:
        """A folder walk reads logs (plain, rotated, gz, NDJSON .json) and says why it skipped the rest."""
        (tmp_path / "sub").mkdir()
        (tmp_path / "app.log").write_text("hello\n")
        (tmp_path / "sub" / "app.log.1").write_text("older\n")
        with gzip.open(tmp_path / "sub" / "app.log.2.gz", "wt") as fh:
            fh.write("oldest\n")
        (tmp_path / "truth.json").write_text('{\n "a": 1\n}\n')
        (tmp_path / "events.json").write_text('{"a": 1}\n{"a": 2}\n')
        (tmp_path / "templates.csv").write_text("a,b\n1,2\n")
        (tmp_path / "wtmp").write_bytes(b"\x00\x01\x02" * 100)
        (tmp_path / "empty.log").write_text("")
        found, skipped = discover([str(tmp_path)])
        names = sorted(f.path.name for f in found)
        assert names == ["app.log", "app.log.1", "app.log.2.gz", "events.json"]
        reasons = {Path(s.display).name: s.reason for s in skipped}
        assert reasons["truth.json"].startswith("not a log file")
        assert reasons["templates.csv"].startswith("not a log file")
        assert reasons["wtmp"] == "binary content"

    def test_glob_and_missing(self, tmp_path: Path) -> None:
        """Globs expand; a missing path is reported, not raised."""
        (tmp_path / "a.log").write_text("x\n")
        (tmp_path / "b.log").write_text("y\n")
        found, skipped = discover([str(tmp_path / "*.log"), str(tmp_path / "nope.log")])
        assert [f.path.name for f in found] == ["a.log", "b.log"]
        assert skipped[0].reason == "no such file or directory"

    def test_explicit_file_is_read_even_if_json(self, tmp_path: Path) -> None:
        """A file named explicitly is read whatever its extension."""
        (tmp_path / "x.json").write_text('{"msg": "hi"}\n')
        found, _ = discover([str(tmp_path / "x.json")])
        assert len(found) == 1

    @pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
    def test_unreadable_in_walk(self, tmp_path: Path) -> None:
        """An unreadable file met in a walk is skipped with the reason."""
        p = tmp_path / "secret.log"
        p.write_text("x\n")
        p.chmod(0)
        _, skipped = discover([str(tmp_path)])
        assert skipped[0].reason == "permission denied"


class TestCheckpoints:
    def test_binary_sniff(self) -> None:
        """Text is text; NULs or many control bytes are binary."""
        assert not looks_binary(b"Nov 21 00:00:01 host app: hi\n")
        assert looks_binary(b"abc\x00def")
        assert looks_binary(bytes(range(1, 9)) * 50)

    def test_resume_rules(self) -> None:
        """Same head resumes; a different head or a shorter file restarts from 0."""
        from loglens.sources.file import Checkpoint

        head = b"first line\nsecond\n"
        cp = Checkpoint("/x", 1, 11, fingerprint(head[:11]), 11)
        assert resume_offset(head, 100, cp) == 11
        assert resume_offset(b"other file\n", 100, cp) == 0
        assert resume_offset(head, 5, cp) == 0
        assert resume_offset(head, 100, None) == 0

    def test_open_positions_stream(self, tmp_path: Path) -> None:
        """Opening at a checkpoint positions the stream after what was read, also for gzip."""
        for name, opener in (("a.log", open), ("b.log.gz", gzip.open)):
            p = tmp_path / name
            with opener(p, "wb") as fh:
                fh.write(b"one\ntwo\nthree\n")
            found = FoundFile(p, str(p))
            first = open_at_checkpoint(found, None)
            first.stream.close()
            cp = first.checkpoint(8)
            again = open_at_checkpoint(found, cp)
            assert again.start_offset == 8
            assert again.stream.read() == b"three\n"
            again.stream.close()

    def test_skip_applies_only_where_reading_resumes(self, tmp_path: Path) -> None:
        """Records already stored past a checkpoint are skipped when reading resumes there, not when
        the file is read from its start (another file, `--from-start`)."""
        p = tmp_path / "a.log"
        p.write_bytes(b"one\ntwo\nthree\n")
        found = FoundFile(p, str(p))
        first = open_at_checkpoint(found, None)
        first.stream.close()
        cp = replace(first.checkpoint(4), skip=1)
        resumed = open_at_checkpoint(found, cp)
        resumed.stream.close()
        restarted = open_at_checkpoint(found, cp, from_start=True)
        restarted.stream.close()
        p.write_bytes(b"other\ncontent\n")
        replaced = open_at_checkpoint(found, cp)
        replaced.stream.close()
        assert (resumed.start_offset, resumed.skip) == (4, 1)
        assert (restarted.start_offset, restarted.skip) == (0, 0)
        assert (replaced.start_offset, replaced.skip) == (0, 0)
