"""Following files as they grow, through rotation, truncation and restarts.

A `TailedFile` watches one path *name*. The file behind the name changes when logs rotate, and each
way of rotating looks different from here:

- **rename-and-create** (logrotate's default) and **delete-and-recreate**: the name points to a new
  inode. The old file stays readable through the descriptor held here (even once deleted), so it is
  read to its end before the new one is started, and kept for `rotate_wait` in case its writer has
  not reopened yet. The new file is opened as soon as it is seen, so a second rotation soon after
  cannot make it vanish unread.
- **copytruncate**: the same inode shrinks (or its first bytes change, when the writer has already
  written past the old offset). What was not read yet is in the copy: a rotated sibling whose first
  bytes are the old file's, read from the old offset before the truncated file is read from 0.

A checkpoint (store table `checkpoints`, one row per watched name) records the inode, the offset
after the last committed event and a fingerprint of the first bytes of the file being read. After a
restart — a clean one or kill -9 — the file is found again by that identity: at its name if it has not
rotated, else among its rotated siblings (`app.log.1`, `app.log-20261127`, `.gz` too, matched by
inode or fingerprint), and every sibling rotated after it is read before the current file.

A partial last line is held until its newline arrives, or taken as a line after `partial_timeout`.
Reading is bounded per poll (`read_bytes`), so a huge backlog cannot starve other files or fill memory.
"""

from __future__ import annotations

import gzip
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from loglens.sources.file import (
    FINGERPRINT_BYTES,
    Checkpoint,
    discover,
    fingerprint,
    open_binary,
)
from loglens.sources.lines import DEFAULT_MAX_LINE_BYTES, LineSplitter, waiting_since

READ_CHUNK_BYTES = 256 * 1024
MAX_ROTATED_SIBLINGS = 256
"""Rotated files of one name (the newest) looked at for a checkpoint's file or a copytruncate copy."""

_ROTATED_TAIL = re.compile(r"(?:[.-]\d+|[.-]\d{8}(?:[-T]?\d{2,6})?)(?:\.gz)?$")


@dataclass(frozen=True, slots=True)
class FollowSettings:
    """How files and pipes are followed: `[follow]` in loglens.toml sets the times (see
    config.parse_follow), `[ingest] max_line_bytes` the line limit; defaults suit log files.

    Args:
        poll_interval: seconds between looks at an idle file.
        rotate_wait: seconds a rotated-away file is still read after the new one appears (its writer
            may not have reopened yet; Fluent Bit calls this Rotate_Wait).
        partial_timeout: seconds a line without its newline is held before it is taken as it is.
        quiet_flush: seconds of silence after which an open multi-line event is closed.
        scan_interval: seconds between looks for new files matching the followed globs and folders.
        read_bytes: bytes read from one source per poll, at most (fairness and bounded memory).
        max_line_bytes: longer lines are cut and marked.
    """

    poll_interval: float = 0.1
    rotate_wait: float = 1.0
    partial_timeout: float = 5.0
    quiet_flush: float = 0.3
    scan_interval: float = 1.0
    read_bytes: int = 1024 * 1024
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES


class OpenLogFile:
    """One file (one inode) being read: its descriptor, where its lines end, and its identity."""

    __slots__ = (
        "dev",
        "gz",
        "head",
        "inode",
        "path",
        "splitter",
        "start_offset",
        "stream",
        "superseded_at",
        "waiting_since",
    )

    def __init__(self, path: Path, stream: BinaryIO, offset: int, max_line_bytes: int) -> None:
        self.path = path
        self.stream = stream
        self.gz = path.name.endswith(".gz")
        st = os.fstat(stream.fileno())
        self.inode, self.dev = st.st_ino, st.st_dev
        self.head = b""
        self.splitter = LineSplitter(offset, max_line_bytes)
        self.start_offset = offset
        self.superseded_at: float | None = None  # when a newer file took the name
        self.waiting_since: float | None = None  # when the held partial line started waiting
        self.refresh_head()

    @classmethod
    def open(cls, path: Path, offset: int, max_line_bytes: int) -> OpenLogFile:
        """Opens `path` positioned at `offset` (raises OSError when it cannot be read)."""
        stream = open_binary(path) if path.name.endswith(".gz") else open(path, "rb", buffering=0)  # noqa: SIM115
        try:
            if offset:
                stream.seek(offset)
            return cls(path, stream, offset, max_line_bytes)
        except BaseException:
            stream.close()
            raise

    def refresh_head(self) -> None:
        """Re-reads the first bytes while the file is shorter than a full fingerprint."""
        if len(self.head) >= FINGERPRINT_BYTES:
            return
        if self.gz:
            with open_binary(self.path) as fh:
                self.head = fh.read(FINGERPRINT_BYTES)
        else:
            self.head = os.pread(self.stream.fileno(), FINGERPRINT_BYTES, 0)

    def checkpoint(self, key: str, offset: int) -> Checkpoint:
        """The checkpoint saying the committed events of name `key` end at `offset` of this file."""
        self.refresh_head()
        return Checkpoint(key, self.inode, offset, fingerprint(self.head), len(self.head))

    def truncated(self) -> bool:
        """True when the file shrank below what was read, or its first bytes are no longer ours."""
        if self.gz:
            return False
        fd = self.stream.fileno()
        size = os.fstat(fd).st_size
        if size < self.splitter.consumed + self.splitter.held:
            return True
        if not self.head:
            self.refresh_head()
            return False
        now = os.pread(fd, FINGERPRINT_BYTES, 0)
        if not now.startswith(self.head):
            return True
        self.head = now
        return False

    def read(self, size: int) -> bytes:
        """Up to `size` more bytes; empty at the end of what is written so far."""
        return self.stream.read(size) or b""

    def close(self) -> None:
        """Releases the descriptor (a deleted file's space is freed with it)."""
        self.stream.close()


@dataclass(slots=True)
class FileChunk:
    """Lines read from one file of a watched name, and the offset just past them in that file.

    `ends_file` says the file is finished (rotated away and read to its end): an open multi-line
    event is complete, and the name's next file follows.
    """

    lines: list[str]
    end_offset: int
    exact: bool
    file: OpenLogFile
    ends_file: bool = False


@dataclass(frozen=True, slots=True)
class Resumed:
    """Where a restart picked a name up: events to drop as already stored, and what could not be found."""

    skip: int = 0
    lost: str | None = None


class TailedFile:
    """One watched path name, and the files that have held it since it was picked up (oldest first)."""

    def __init__(self, path: Path, display: str, settings: FollowSettings) -> None:
        self.path = path
        self.key = str(path)
        self.display = display
        self._settings = settings
        self._queue: list[OpenLogFile] = []
        self.retired: list[OpenLogFile] = []
        """Files read to their end, kept open until their last records are committed."""
        self.notes: list[str] = []
        """What happened to the name (rotations, truncations), for a verbose view to print."""

    # -- starting ----------------------------------------------------------------------------------

    def start(self, previous: Checkpoint | None, from_end: bool = False) -> Resumed:
        """Opens the name where its checkpoint says, finding the file the checkpoint points to among
        the rotated siblings when the name holds another file now."""
        limit = self._settings.max_line_bytes
        current = self._try_open(self.path, 0)
        if previous is None:
            if current is not None and from_end:
                offset = os.fstat(current.stream.fileno()).st_size
                current.close()
                current = OpenLogFile.open(self.path, offset, limit)
            self._queue.extend([current] if current is not None else [])
            start = f"byte {self._queue[0].start_offset:,}" if self._queue else "its creation"
            self.notes.append(f"following {self.display} from {start}")
            return Resumed()
        if current is not None and current.inode == previous.inode and _is_same(current, previous):
            copies = self._copies_since(previous, current) if previous.fingerprint_len == 0 else []
            if copies:
                # Empty when checkpointed, and copytruncated since: the copies hold all that came.
                self._queue.extend([*copies, current])
                finished = time.monotonic() - self._settings.rotate_wait
                for opened in copies:
                    opened.superseded_at = finished
                self.notes.append(f"following {self.display} from {copies[0].path.name}, copied since")
                return Resumed(previous.skip)
            current.close()
            self._queue.append(OpenLogFile.open(self.path, previous.offset, limit))
            self.notes.append(f"following {self.display} from byte {previous.offset:,}")
            return Resumed(previous.skip)
        chain = self._rotated_since(previous, current)
        self._queue.extend(chain)
        self._queue.extend([current] if current is not None else [])
        if not chain:
            return Resumed(
                0,
                f"the file read before (inode {previous.inode}) is gone: what followed "
                f"byte {previous.offset:,} of it was not read",
            )
        first = chain[0]
        first.close()
        self._queue[0] = OpenLogFile.open(first.path, previous.offset, limit)
        self.notes.append(
            f"following {self.display} from byte {previous.offset:,} of {first.path.name}, "
            f"where it was before {len(chain)} rotation{'s' if len(chain) > 1 else ''}"
        )
        finished = time.monotonic() - self._settings.rotate_wait  # rotated files: no waiting
        for opened in self._queue[:-1]:
            opened.superseded_at = finished
        return Resumed(previous.skip)

    def _rotated_since(self, previous: Checkpoint, current: OpenLogFile | None) -> list[OpenLogFile]:
        """The checkpoint's file among the rotated siblings and every sibling rotated after it,
        oldest first (empty when it is not there)."""
        siblings = []
        for sibling in rotated_siblings(self.path):
            try:
                st = sibling.stat()
            except OSError:
                continue
            if current is not None and (st.st_ino, st.st_dev) == (current.inode, current.dev):
                continue
            siblings.append((st.st_mtime_ns, rotation_age(sibling.name), sibling))
        siblings.sort(key=lambda item: (item[0], -item[1]))
        chain: list[OpenLogFile] = []
        for _, _, sibling in siblings:
            opened = self._try_open(sibling, 0)
            if opened is None:
                continue
            if chain or _is_same(opened, previous):
                chain.append(opened)
            else:
                opened.close()
        return chain

    def _copies_since(self, previous: Checkpoint, current: OpenLogFile) -> list[OpenLogFile]:
        """Rotated siblings written after `previous` was committed, oldest first (copies of a file
        that was empty then: no fingerprint can recognise them, their time does)."""
        if not previous.committed_ns:
            return []
        newer = []
        for sibling in rotated_siblings(self.path):
            try:
                st = sibling.stat()
            except OSError:
                continue
            if st.st_mtime_ns > previous.committed_ns and st.st_ino != current.inode:
                newer.append((st.st_mtime_ns, -rotation_age(sibling.name), sibling))
        opened = (self._try_open(sibling, 0) for _, _, sibling in sorted(newer))
        return [o for o in opened if o is not None]

    def _try_open(self, path: Path, offset: int) -> OpenLogFile | None:
        try:
            return OpenLogFile.open(path, offset, self._settings.max_line_bytes)
        except (OSError, EOFError, gzip.BadGzipFile):
            return None

    # -- reading -----------------------------------------------------------------------------------

    @property
    def first(self) -> OpenLogFile | None:
        """The file being read now (the oldest one held)."""
        return self._queue[0] if self._queue else None

    @property
    def current(self) -> OpenLogFile | None:
        """The newest file known to hold the name (None while the name does not exist yet)."""
        return self._queue[-1] if self._queue else None

    def poll(self, now: float) -> list[FileChunk]:
        """Reads what was written since the last poll, oldest file first, at most `read_bytes`."""
        self._check_name(now)
        newest = self.current
        if newest is not None and newest.truncated():
            # Looked at on every poll, even while older files are still being read: a file
            # copytruncated twice before it is reached must not lose the first copy.
            self._on_truncation(newest, now)
        settings = self._settings
        budget = settings.read_bytes
        out: list[FileChunk] = []
        while self._queue and budget > 0:
            opened = self._queue[0]
            data = opened.read(min(budget, READ_CHUNK_BYTES))
            if data:
                budget -= len(data)
                splitter = opened.splitter
                completed = splitter.feed(data)
                out.extend(FileChunk(c.lines, c.end_offset, c.exact, opened) for c in completed)
                opened.waiting_since = waiting_since(
                    opened.waiting_since, bool(completed), splitter.held, now
                )
                continue
            if opened.superseded_at is not None:
                if now - opened.superseded_at < settings.rotate_wait:
                    break
                out.append(self._finish(opened, ends_file=True))
                self.retired.append(self._queue.pop(0))
                continue
            if opened.waiting_since is not None and now - opened.waiting_since >= settings.partial_timeout:
                out.append(self._finish(opened, ends_file=False))
            break
        return out

    def _finish(self, opened: OpenLogFile, ends_file: bool) -> FileChunk:
        tail = opened.splitter.finish()
        opened.waiting_since = None
        if tail is None:
            return FileChunk([], opened.splitter.consumed, True, opened, ends_file)
        return FileChunk(tail.lines, tail.end_offset, tail.exact, opened, ends_file)

    def _check_name(self, now: float) -> None:
        """Opens the file now at the name when it is another than the newest one held."""
        try:
            st = os.stat(self.path)
        except OSError:
            return  # rotated away and not recreated yet, or not created yet
        newest = self.current
        if newest is not None and (st.st_ino, st.st_dev) == (newest.inode, newest.dev):
            return
        opened = self._try_open(self.path, 0)
        if opened is None:
            return
        if newest is not None:
            if (opened.inode, opened.dev) == (newest.inode, newest.dev):
                opened.close()
                return
            newest.superseded_at = now
            self.notes.append(f"{self.display} rotated: finishing the old file (inode {newest.inode}) first")
        self._queue.append(opened)

    def _on_truncation(self, opened: OpenLogFile, now: float) -> None:
        """copytruncate: read the rest from the copy (when found), then the file again from 0."""
        copy = self._find_copy(opened)
        fresh = OpenLogFile(opened.path, opened.stream, 0, self._settings.max_line_bytes)
        fresh.stream.seek(0)
        fresh.head = b""
        fresh.refresh_head()
        where = f"the rest is read from {copy.path.name}" if copy is not None else "no copy found"
        self.notes.append(f"{self.display} truncated at byte {opened.splitter.consumed:,}: {where}")
        replacement = [fresh]
        if copy is not None:
            copy.superseded_at = now - self._settings.rotate_wait  # a finished copy: no waiting
            replacement.insert(0, copy)
        at = self._queue.index(opened)
        self._queue[at : at + 1] = replacement

    def _find_copy(self, truncated: OpenLogFile) -> OpenLogFile | None:
        """The rotated sibling holding the truncated file's content (same first bytes, long enough)."""
        if not truncated.head:
            return None
        offset = truncated.splitter.consumed
        mark = fingerprint(truncated.head)
        candidates = []
        for sibling in rotated_siblings(self.path):
            try:
                candidates.append((sibling.stat().st_mtime_ns, sibling))
            except OSError:
                continue
        for _, sibling in sorted(candidates, reverse=True):
            opened = self._try_open(sibling, 0)
            if opened is None:
                continue
            same = fingerprint(opened.head[: len(truncated.head)]) == mark
            opened.close()
            if same:
                copy = self._try_open(sibling, offset)
                if copy is not None:
                    return copy
        return None

    def release(self) -> None:
        """Closes the files read to their end (call once their records are committed)."""
        for opened in self.retired:
            opened.close()
        self.retired.clear()

    def close(self) -> None:
        """Closes every file held."""
        self.release()
        for opened in self._queue:
            opened.close()
        self._queue.clear()


def _is_same(opened: OpenLogFile, previous: Checkpoint) -> bool:
    """True when `opened` is the file `previous` was taken of (or a copy of it), at least as long.

    The same inode must also start with the same bytes (inode numbers are reused after a delete).
    Another inode — a copytruncate copy, a compressed rotation — counts only by a fingerprint of
    real bytes: a checkpoint of an empty file proves nothing about a copy.
    """
    if opened.inode != previous.inode and previous.fingerprint_len == 0:
        return False
    if len(opened.head) < previous.fingerprint_len:
        return False
    if fingerprint(opened.head[: previous.fingerprint_len]) != previous.fingerprint:
        return False
    if opened.gz:
        return True
    return os.fstat(opened.stream.fileno()).st_size >= previous.offset


def rotated_siblings(path: Path) -> list[Path]:
    """Files beside `path` named as its rotations (`app.log.1`, `app.log.2.gz`, `app.log-20261127`),
    the newest `MAX_ROTATED_SIBLINGS` of them."""
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    base = path.name
    found = []
    for name in names:
        if name != base and name.startswith(base) and _ROTATED_TAIL.fullmatch(name[len(base) :]):
            try:
                found.append((os.stat(path.parent / name).st_mtime_ns, path.parent / name))
            except OSError:
                continue
    newest = sorted(found, reverse=True)[:MAX_ROTATED_SIBLINGS]
    return sorted(p for _, p in newest)


def rotation_age(name: str) -> int:
    """How many rotations old a numbered rotation is (`app.log.3.gz` → 3); 0 for dated names."""
    match = _ROTATED_TAIL.search(name)
    digits = match.group().removesuffix(".gz")[1:] if match else ""
    return int(digits) if digits.isdigit() and len(digits) < 8 else 0


def rotation_base(name: str) -> str | None:
    """The live name a rotated file's name comes from (`app.log.1.gz` → `app.log`), or None."""
    match = _ROTATED_TAIL.search(name)
    if match is None or match.start() == 0:
        return None
    return name[: match.start()]


@dataclass(slots=True)
class FollowedPaths:
    """The names to follow from files, globs and folders, looked for again as new files appear.

    An explicit path that does not exist yet is followed anyway (it will be created). A file whose
    name is a rotation of another followed name (`app.log.1` beside `app.log`) is read only as that
    name's rotated tail, never as a log of its own: a glob such as `app.log*` would otherwise read
    every line twice.
    """

    patterns: list[str]
    known: set[str] = field(default_factory=set)

    def scan(self) -> list[tuple[Path, str]]:
        """Names not followed yet: (absolute path, as the user wrote it)."""
        found, _ = discover(self.patterns)
        candidates: dict[str, tuple[Path, str]] = {str(f.path): (f.path, f.display) for f in found}
        for pattern in self.patterns:
            p = Path(pattern)
            if not p.exists() and not _has_magic(pattern):
                candidates.setdefault(str(p.resolve()), (p.resolve(), pattern))
        names = set(candidates) | self.known
        fresh = []
        for key, (path, display) in sorted(candidates.items()):
            if key in self.known:
                continue
            base = rotation_base(path.name)
            if base is not None and str(path.parent / base) in names:
                continue
            self.known.add(key)
            fresh.append((path, display))
        return fresh


def _has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")
