"""A writer appending to a log while it is rotated and the follower is killed: the issue's torture test.

A writer thread appends numbered events (some of them three-line tracebacks) at `rate` per second.
At random moments the file is rotated (rename-and-create, copytruncate or delete-and-recreate) and
the follower — a real `loglens tail` process — is killed with SIGKILL and started again. At the end
the store must hold exactly the events written, in order, once each.

One limit is physical, not loglens's: a file deleted while no reader holds it open is gone. So in
`delete` mode a file is deleted only while the follower has it open, and the follower is killed
only once it has let go of every deleted file (it does that after committing their last records).
Used by tests/test_live.py (short runs) and bench/follow.py (other rates and timings).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MODES = ("rename", "copytruncate", "delete")


@dataclass(frozen=True, slots=True)
class TortureSettings:
    """One run: how fast the writer writes, how often the file rotates and the follower dies."""

    mode: str
    seconds: float = 6.0
    rate: int = 2500
    rotate_every: tuple[float, float] = (0.4, 1.4)
    kill_every: tuple[float, float] = (0.3, 1.5)
    down_for: tuple[float, float] = (0.0, 0.3)
    multiline_share: float = 0.03
    seed: int = 1
    min_rotations: int = 3
    min_kills: int = 3
    """The run goes on past `seconds` (up to four times as long) until both have happened this often."""


@dataclass(slots=True)
class TortureResult:
    """What was written and what the store holds, with the counts of what happened in between."""

    written: list[str]
    stored: list[str]
    rotations: int = 0
    kills: int = 0
    seconds: float = 0.0
    follower_errors: list[str] = field(default_factory=list)

    def first_difference(self) -> str:
        """Where stored and written part ways, for an assertion message."""
        for i, (w, s) in enumerate(zip(self.written, self.stored, strict=False)):
            if w != s:
                return f"event {i}: wrote {w[:60]!r}, stored {s[:60]!r}"
        return f"wrote {len(self.written)} events, stored {len(self.stored)}"


def _event(seq: int, rng: random.Random, multiline_share: float) -> str:
    ms = seq % 1000
    second = (seq // 1000) % 60
    minute = (seq // 60000) % 60
    header = (
        f"2026-11-27T10:{minute:02d}:{second:02d}.{ms:03d}Z INFO seq={seq:07d} {'x' * rng.randint(0, 160)}"
    )
    if rng.random() < multiline_share:
        return (
            header.replace(" INFO ", " ERROR ", 1)
            + "\nTraceback (most recent call last):\n"
            + f'  File "worker.py", line {seq % 500}, in run\n'
            + f"ValueError: bad input {seq}"
        )
    return header


class _Writer(threading.Thread):
    """Appends events in 10 ms bursts, each burst under the lock that rotation also takes."""

    def __init__(self, path: Path, settings: TortureSettings, lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.settings = settings
        self.lock = lock
        self.written: list[str] = []
        self.stop = threading.Event()
        self.fh = path.open("a")
        self._rng = random.Random(settings.seed)

    def reopen(self) -> None:
        """What an application does on SIGHUP after logrotate: close and open its file by name."""
        self.fh.close()
        self.fh = self.path.open("a")

    def run(self) -> None:
        per_burst = max(1, round(self.settings.rate * 0.01))
        next_at = time.monotonic()
        while not self.stop.is_set():
            with self.lock:
                for _ in range(per_burst):
                    event = _event(len(self.written), self._rng, self.settings.multiline_share)
                    self.fh.write(event + "\n")
                    self.written.append(event)
                self.fh.flush()
            next_at += 0.01
            time.sleep(max(0.0, next_at - time.monotonic()))
        with self.lock:
            self.fh.close()


def _shift(path: Path) -> None:
    """app.log.N → app.log.N+1, newest last, so that app.log.1 is free."""
    numbered = sorted(
        (int(p.name.rsplit(".", 1)[1]), p)
        for p in path.parent.glob(path.name + ".*")
        if p.suffix[1:].isdigit()
    )
    for n, p in reversed(numbered):
        p.rename(path.parent / f"{path.name}.{n + 1}")


def _rotate(mode: str, path: Path, writer: _Writer) -> None:
    with writer.lock:
        writer.fh.flush()
        _shift(path)
        if mode == "rename":
            path.rename(path.parent / (path.name + ".1"))
            writer.reopen()
        elif mode == "copytruncate":
            shutil.copyfile(path, path.parent / (path.name + ".1"))
            os.truncate(path, 0)
        else:
            path.unlink()
            writer.reopen()


def _open_files(pid: int) -> list[str]:
    out = []
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        for fd in fd_dir.iterdir():
            try:
                out.append(os.readlink(fd))
            except OSError:
                continue
    except OSError:
        return []
    return out


def _read_to_the_end(pid: int, log: Path) -> bool:
    """True when the follower holds no file but the current `log`, positioned at its end (read
    from /proc: its open files and their offsets)."""
    try:
        size = log.stat().st_size
        fd_dir = Path(f"/proc/{pid}/fd")
        positions = []
        for fd in fd_dir.iterdir():
            target = os.readlink(fd)
            if target.startswith(str(log)):  # app.log, app.log.3, "app.log (deleted)"
                if target != str(log):
                    return False  # a rotated or deleted file is still being read
                info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
                positions.append(int(info.split("pos:")[1].split()[0]))
    except (OSError, ValueError, IndexError):
        return False
    return positions == [size]


def _holds_deleted(pid: int) -> bool:
    return any(name.endswith("(deleted)") for name in _open_files(pid))


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


class _Follower:
    """The `loglens tail` process under test, started and killed on demand."""

    def __init__(self, path: Path, store: Path, config: Path) -> None:
        self.cmd = [
            sys.executable, "-m", "loglens", "tail", "--store", str(store), "--config", str(config),
            "-n", "0", "--verbose", str(path),
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self.errors: list[str] = []

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait_until_following(self) -> None:
        """Blocks until the follower says it follows the file (its checkpoint is on disk then)."""
        assert self.proc is not None and self.proc.stderr is not None
        line = self.proc.stderr.readline().decode()
        assert line.startswith("loglens: following"), f"the follower said {line!r}"

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stderr.close()  # type: ignore[union-attr]

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=30)
        said = [ln for ln in err.decode(errors="replace").splitlines() if not _is_notice(ln)]
        if self.proc.returncode != 0 or said:
            self.errors.append(f"exit {self.proc.returncode}: {said[-10:]}")


def _is_notice(line: str) -> bool:
    """A verbose note of the follower (where it starts, rotations), not a problem."""
    return line.startswith("loglens: ") and (
        "following " in line or " rotated: " in line or " truncated " in line
    )


def run_torture(workdir: Path, settings: TortureSettings) -> TortureResult:
    """Runs one torture and reads back what the store holds (see the module docstring)."""
    from loglens.store.duckdb import DuckDBStore

    rng = random.Random(settings.seed * 7919)
    log = workdir / "app.log"
    store = workdir / "store.duckdb"
    config = workdir / "loglens.toml"
    config.write_text('[follow]\npoll_interval = "50ms"\nrotate_wait = "500ms"\nquiet_flush = "300ms"\n')
    log.touch()
    lock = threading.Lock()
    writer = _Writer(log, settings, lock)
    follower = _Follower(log, store, config)
    follower.start()
    follower.wait_until_following()  # set up once; from here on, it may die at any moment
    started = time.monotonic()
    writer.start()
    result = TortureResult([], [])
    next_rotation = started + rng.uniform(*settings.rotate_every)
    next_kill = started + rng.uniform(*settings.kill_every)

    def going(elapsed: float) -> bool:
        if elapsed < settings.seconds:
            return True
        short = result.rotations < settings.min_rotations or result.kills < settings.min_kills
        return short and elapsed < 4 * settings.seconds

    while going((now := time.monotonic()) - started):
        time.sleep(max(0.0, min(next_rotation, next_kill) - now))
        assert follower.proc is not None
        pid = follower.proc.pid
        if time.monotonic() >= next_rotation:
            # Deleting the file is only a rotation while the follower holds it open; a follower
            # just restarted may not have opened it yet: wait for that rather than skip (with kills
            # every 0.3-1.5 s and a restart taking ~0.5 s, skipping left as few as 1 rotation in 20 s).
            if settings.mode != "delete" or _wait_for(lambda pid=pid: str(log) in _open_files(pid), 5):
                _rotate(settings.mode, log, writer)
                result.rotations += 1
            next_rotation = time.monotonic() + rng.uniform(*settings.rotate_every)
        if time.monotonic() >= next_kill:
            if settings.mode == "delete":
                let_go = _wait_for(lambda pid=pid: not _holds_deleted(pid), 15)
                assert let_go, "the follower kept a deleted file open for 15 s"
            follower.kill()
            result.kills += 1
            time.sleep(rng.uniform(*settings.down_for))
            follower.start()
            next_kill = time.monotonic() + rng.uniform(*settings.kill_every)
    writer.stop.set()
    writer.join()
    assert follower.proc is not None
    caught_up = _wait_for(lambda pid=follower.proc.pid: _read_to_the_end(pid, log), 120)
    assert caught_up, "the follower did not catch up within 120 s"
    time.sleep(1.5)  # the last event's quiet period and a commit, with room
    follower.stop()
    result.seconds = time.monotonic() - started
    result.written = writer.written
    result.follower_errors = follower.errors
    db = DuckDBStore(store, read_only=True)
    try:
        _, rows = db.sql("SELECT raw FROM records ORDER BY id")
        result.stored = [str(row[0]) for row in rows]
    finally:
        db.close()
    return result
