"""File sources: finding log files under paths, globs and folders, and reading them from a checkpoint.

A checkpoint remembers, per file, how far it was read and a fingerprint of its first bytes: the same
file grown is read from where it stopped; a different file at the same path (rotation) or a truncated
one is read from the start. `.gz` files are read through gzip with offsets in decompressed bytes.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

FINGERPRINT_BYTES = 1024
SNIFF_BYTES = 8192

# Files a folder walk never treats as logs: documents, tables, archives loglens cannot read, binaries.
NOT_LOG_SUFFIXES = frozenset(
    [
        ".json",
        ".csv",
        ".tsv",
        ".xml",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".md",
        ".rst",
        ".html",
        ".htm",
        ".css",
        ".js",
        ".py",
        ".pyc",
        ".so",
        ".o",
        ".a",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".ico",
        ".pdf",
        ".zip",
        ".tar",
        ".tgz",
        ".xz",
        ".bz2",
        ".zst",
        ".7z",
        ".rar",
        ".db",
        ".sqlite",
        ".sqlite3",
        ".duckdb",
        ".wal",
        ".parquet",
        ".arrow",
        ".journal",
        ".journal~",
        ".lock",
        ".pid",
        ".pem",
        ".key",
        ".crt",
        ".bin",
        ".dat",
        ".exe",
        ".deb",
        ".rpm",
    ]
)
_ROTATION_SUFFIX = re.compile(r"(?:[.-]\d+|[.-]\d{8}(?:\d{2,6})?)$")
_LOG_EXTENSIONS = (".log", ".jsonl", ".ndjson", ".txt", ".out", ".err", ".logs")
GENERIC_STEMS = frozenset(
    [
        "access",
        "error",
        "errors",
        "app",
        "application",
        "log",
        "logs",
        "output",
        "out",
        "stdout",
        "stderr",
        "current",
        "main",
        "server",
        "service",
        "debug",
        "info",
        "latest",
        "all",
        "combined",
    ]
)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far one file was read: `offset` bytes (decompressed for .gz) of the file with this head,
    and `skip` records from there that are stored already (a commit can end inside a read chunk:
    reading again from `offset`, the first `skip` events are dropped instead of stored twice)."""

    path: str
    inode: int
    offset: int
    fingerprint: str
    fingerprint_len: int
    skip: int = 0
    committed_ns: int = field(default=0, compare=False)
    """When it was committed (ns since the epoch; 0 when not known): copies made since are unread."""


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A file to read: `path` resolved for checkpoints, `display` as the user gave it (the record source)."""

    path: Path
    display: str


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file a walk did not read, and why (shown in the ingest summary)."""

    display: str
    reason: str


def service_from_path(path: str) -> str:
    """The service name a file's records get when their format names none.

    `nginx/access.log` → `nginx` (a generic stem takes its folder's name), `api.jsonl.2.gz` → `api`.
    """
    p = Path(path)
    name = p.name
    if name.endswith(".gz"):
        name = name[:-3]
    name = _ROTATION_SUFFIX.sub("", name)
    for ext in _LOG_EXTENSIONS:
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    name = _ROTATION_SUFFIX.sub("", name) or p.name
    if name.lower() in GENERIC_STEMS and p.parent.name not in ("", ".", "log", "logs"):
        return p.parent.name
    return name


def looks_binary(head: bytes) -> bool:
    """True for data that is not text: NUL bytes or many control bytes in the first KiBs."""
    if not head:
        return False
    if b"\x00" in head[:SNIFF_BYTES]:
        return True
    sample = head[:SNIFF_BYTES]
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return control > len(sample) * 0.05


def read_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """The first `size` bytes of a file, decompressed when it is gzip."""
    with open_binary(path) as fh:
        return fh.read(size)


def open_binary(path: Path) -> BinaryIO:
    """Opens a file for reading bytes, through gzip when its name ends in `.gz`."""
    if path.name.endswith(".gz"):
        return gzip.GzipFile(path, "rb")  # type: ignore[return-value]  # a BinaryIO in all but name
    return open(path, "rb")


def fingerprint(head: bytes) -> str:
    """A short digest of a file's first bytes: tells "the same file, grown" from "a new file"."""
    return hashlib.blake2b(head, digest_size=12).hexdigest()


def _is_ndjson(path: Path) -> bool:
    """A `.json` file that is really JSON lines (first two non-empty lines each an object) is a log."""
    try:
        lines = [ln for ln in read_head(path, 65536).split(b"\n") if ln.strip()][:2]
    except OSError:
        return False
    return len(lines) == 2 and all(
        ln.lstrip().startswith(b"{") and ln.rstrip().endswith(b"}") for ln in lines
    )


def _walk_reason(path: Path) -> str | None:
    """Why a file met in a folder walk is not a log file, or None when it should be read."""
    suffix = path.suffix.lower()
    if path.name.endswith(".gz"):
        suffix = Path(path.name[:-3]).suffix.lower()
    if suffix in NOT_LOG_SUFFIXES:
        if suffix == ".json" and _is_ndjson(path):
            return None
        return f"not a log file ({suffix})"
    return None


def discover(paths: list[str]) -> tuple[list[FoundFile], list[SkippedFile]]:
    """Expands files, globs and folders (recursively) into the files to read.

    Files named explicitly are always read (unless missing); files met in a folder walk or a glob
    are skipped when their extension says they are documents or tables, or their content is binary.
    """
    found: list[FoundFile] = []
    skipped: list[SkippedFile] = []
    seen: set[Path] = set()

    def add(path: Path, display: str, explicit: bool) -> None:
        try:
            resolved = path.resolve()
        except OSError:
            resolved = path.absolute()
        if resolved in seen:
            return
        seen.add(resolved)
        if not explicit:
            reason = _walk_reason(path)
            if reason is None:
                try:
                    if path.stat().st_size == 0:
                        return
                    if looks_binary(read_head(path)):
                        reason = "binary content"
                except (OSError, EOFError, gzip.BadGzipFile) as exc:
                    reason = _os_reason(exc)
            if reason is not None:
                skipped.append(SkippedFile(display, reason))
                return
        found.append(FoundFile(resolved, display))

    for arg in paths:
        p = Path(arg)
        if p.is_dir():
            for root, dirs, files in os.walk(
                p, onerror=lambda e: skipped.append(SkippedFile(str(e.filename), _os_reason(e)))
            ):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    full = Path(root) / name
                    if full.is_file():
                        add(full, str(full), explicit=False)
        elif p.exists():
            add(p, arg, explicit=True)
        elif glob.has_magic(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                skipped.append(SkippedFile(arg, "no file matches this pattern"))
            for match in matches:
                mp = Path(match)
                if mp.is_file():
                    add(mp, match, explicit=False)
        else:
            skipped.append(SkippedFile(arg, "no such file or directory"))
    return found, skipped


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "vanished before it could be read"
    if isinstance(exc, gzip.BadGzipFile | EOFError):
        return f"damaged gzip file ({exc})"
    return str(exc) or type(exc).__name__


@dataclass(slots=True)
class OpenedFile:
    """A file opened for reading at its resume offset, with what its new checkpoint needs."""

    found: FoundFile
    stream: BinaryIO
    start_offset: int
    inode: int
    mtime_ns: int
    head: bytes
    skip: int = 0
    """Events at `start_offset` already stored (from the checkpoint resumed); the reader drops them."""

    def checkpoint(self, offset: int) -> Checkpoint:
        """The checkpoint for this file read up to `offset`."""
        fp_head = self.head[:FINGERPRINT_BYTES]
        return Checkpoint(str(self.found.path), self.inode, offset, fingerprint(fp_head), len(fp_head))


def resume_offset(head: bytes, size: int | None, previous: Checkpoint | None) -> int:
    """Where to start reading a file given its previous checkpoint (0: from the start).

    Args:
        head: the file's first bytes now (decompressed for gzip).
        size: its byte size now, or None where sizes do not compare with offsets (gzip).
        previous: the checkpoint stored for this path, if any.
    """
    if previous is None:
        return 0
    if fingerprint(head[: previous.fingerprint_len]) != previous.fingerprint:
        return 0  # a different file now lives at this path (rotated or recreated)
    if size is not None and size < previous.offset:
        return 0  # truncated in place (copytruncate)
    return previous.offset


def open_at_checkpoint(found: FoundFile, previous: Checkpoint | None, from_start: bool = False) -> OpenedFile:
    """Opens `found` positioned after what `previous` says was read (raises OSError if unreadable)."""
    stream = open_binary(found.path)
    try:
        st = os.fstat(stream.fileno())
        head = stream.read(max(FINGERPRINT_BYTES, SNIFF_BYTES * 8))
        gz = found.path.name.endswith(".gz")
        start = 0 if from_start else resume_offset(head, None if gz else st.st_size, previous)
        stream.seek(start)
    except BaseException:
        stream.close()
        raise
    resumed = previous is not None and not from_start and start == previous.offset
    skip = previous.skip if resumed and previous is not None else 0
    return OpenedFile(found, stream, start, st.st_ino, st.st_mtime_ns, head, skip)
