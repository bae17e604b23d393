"""Retention: which whole UTC days of records leave the store (older than `max_age`, or the oldest
while it is over `max_bytes`), archived to Parquet first; the pass, and the daemon's task running it.

The store's part (sizes, archiving a day, deleting it, restoring a file) is `DuckDBStore`'s; this
module decides what goes and in which order, so that a pass can stop anywhere and be run again.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from loglens.errors import ConfigError, LoglensError
from loglens.query.timerange import format_duration, parse_duration

if TYPE_CHECKING:
    from loglens.store.duckdb import DuckDBStore

__all__ = [
    "ARCHIVE_PREFIX",
    "RETENTION_KEYS",
    "ArchivedDay",
    "DaySize",
    "ExpiredDay",
    "RestoredFile",
    "RetentionReport",
    "RetentionSettings",
    "RetentionTask",
    "StoreSize",
    "archive_path",
    "day_bounds",
    "expired_days",
    "format_size",
    "parse_retention",
    "parse_size",
    "run_retention",
]

log = logging.getLogger("loglens.store")

DAY_NS = 86_400 * 10**9
RETENTION_KEYS = ("max_age", "max_bytes", "archive", "archive_enabled", "check_every")
DEFAULT_MAX_AGE_NS = 30 * DAY_NS
DEFAULT_CHECK_EVERY_NS = 3600 * 10**9
ARCHIVE_PREFIX = "records-"
"""Archives are `records-YYYY-MM-DD.parquet`: one file per UTC day, sorted by name = by day."""
_OFF = frozenset({"off", "none", "never"})
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip

Expiry = Literal["age", "size"]


# -- settings --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """`[retention]` in loglens.toml: how long records stay and how big the store may grow.

    Attributes:
        max_age_ns: a UTC day goes once all of it is older than this (None: no age limit).
        max_bytes: while the store's data is bigger, its oldest days go (None: no size limit).
            Counted as DuckDB's used blocks plus its write-ahead log, not the file's length: the
            file keeps the blocks a delete frees and reuses them for new rows (docs/store.md).
        archive: where days are archived before they are deleted; relative to the store's folder.
        archive_enabled: False deletes expired days without archiving them.
        check_every_ns: how often the daemon runs a pass.
    """

    max_age_ns: int | None = DEFAULT_MAX_AGE_NS
    max_bytes: int | None = None
    archive: Path = Path("archive")
    archive_enabled: bool = True
    check_every_ns: int = DEFAULT_CHECK_EVERY_NS

    def archive_folder(self, store_path: Path) -> Path:
        """The archive folder of the store at `store_path`."""
        return self.archive if self.archive.is_absolute() else store_path.parent / self.archive

    def describe(self) -> str:
        """One line for people: `max_age 30d, max_bytes 10.0 GB, archived to …`."""
        age = format_duration(self.max_age_ns) if self.max_age_ns is not None else "off"
        size = format_size(self.max_bytes) if self.max_bytes is not None else "off"
        archive = f"archived to {self.archive}" if self.archive_enabled else "not archived"
        every = format_duration(self.check_every_ns)
        return f"max_age {age}, max_bytes {size}, {archive}, checked every {every}"


def parse_size(text: str) -> int:
    """A size (`500MB`, `10GB`, `1.5GiB`, `4096`) in bytes: KB/MB/GB/TB count in thousands, KiB/MiB/
    GiB/TiB in 1024s (as DuckDB's own settings do); a bare number is bytes. Raises ConfigError."""
    match = _SIZE.match(text)
    if match is None:
        raise ConfigError(f"cannot read the size {text!r}: use a number and a unit, such as 500MB or 10GB")
    unit = (match.group(2) or "b").lower()
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def format_size(n: int) -> str:
    """Bytes for people, in the units `parse_size` reads: 812 B, 14.2 KB, 368.9 MB, 10.0 GB."""
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if abs(n) >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} B"


def parse_retention(table: dict[str, Any] | None, where: str) -> RetentionSettings | None:
    """Reads `[retention]`; None when the table is absent, so that nothing is ever deleted unless
    the user asked for it. A present table keeps 30 days (`max_age`) unless it says otherwise.

    Raises:
        ConfigError: an unknown key, a value that is not a duration/size/bool/path, or a table
            that limits nothing (`max_age` and `max_bytes` both off).
    """
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [retention] must be a table")
    unknown = sorted(set(table) - set(RETENTION_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: [retention] has no setting {unknown[0]!r}; known: {', '.join(RETENTION_KEYS)}"
        )
    here = f"{where}: [retention]"
    max_age = _duration_or_off(table.get("max_age", "30d"), f"{here} max_age", "30d")
    max_bytes = _size_or_off(table.get("max_bytes", "off"), f"{here} max_bytes")
    if max_age is None and max_bytes is None:
        raise ConfigError(
            f'{here} limits nothing: set max_age (such as "30d") or max_bytes (such as "10GB"), '
            "or remove the table"
        )
    archive = table.get("archive", "archive")
    if not isinstance(archive, str) or not archive.strip():
        raise ConfigError(f'{here} archive must be a folder path, such as "archive" (beside the store)')
    enabled = table.get("archive_enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{here} archive_enabled must be true or false")
    check_every = _duration_or_off(table.get("check_every", "1h"), f"{here} check_every", "1h")
    if check_every is None:
        raise ConfigError(f'{here} check_every must be a duration such as "1h"')
    return RetentionSettings(
        max_age_ns=max_age,
        max_bytes=max_bytes,
        archive=Path(os.path.expanduser(archive)),
        archive_enabled=enabled,
        check_every_ns=check_every,
    )


def _duration_or_off(value: object, here: str, example: str) -> int | None:
    if value is False or (isinstance(value, str) and value.strip().lower() in _OFF):
        return None
    try:
        ns = parse_duration(value) if isinstance(value, str) else -1
    except LoglensError:
        ns = -1
    if ns <= 0:
        raise ConfigError(f'{here} must be a duration such as "{example}" (or "off")')
    return ns


def _size_or_off(value: object, here: str) -> int | None:
    if value is False or (isinstance(value, str) and value.strip().lower() in _OFF):
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ConfigError("not a size")
        size = value if isinstance(value, int) else parse_size(value)
    except ConfigError:
        size = 0
    if size <= 0:
        raise ConfigError(f'{here} must be a size such as "10GB" or "500MB" (or "off")')
    return size


# -- what the store reports and does ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreSize:
    """How big the store is (`DuckDBStore.storage_size`).

    `file_bytes` is the file's length; `used_bytes` the blocks holding data, `free_bytes` the blocks
    deletes freed, which DuckDB reuses before growing the file; `wal_bytes` the write-ahead log.
    """

    file_bytes: int
    used_bytes: int
    free_bytes: int
    wal_bytes: int

    @property
    def data_bytes(self) -> int:
        """What `max_bytes` is compared with: the data as it stands, in blocks and in the log."""
        return self.used_bytes + self.wal_bytes


@dataclass(frozen=True, slots=True)
class DaySize:
    """One UTC day of records (`DuckDBStore.day_sizes`): a partition retention keeps or drops whole.

    `bytes` is an estimate (the store's data bytes × the day's share of records): DuckDB compresses
    row groups across days and has no per-day size of its own.
    """

    day: date
    records: int
    first_id: int
    last_id: int
    bytes: int


@dataclass(frozen=True, slots=True)
class ArchivedDay:
    """A day written to its archive: `rows` in the file now, `added` of them taken from the store by
    this run (the rest were in the file already, from a run that stopped before deleting)."""

    day: date
    path: Path
    rows: int
    added: int


@dataclass(frozen=True, slots=True)
class RestoredFile:
    """An archive put back: `rows` in the file, `inserted` of them (the others were still stored)."""

    path: Path
    rows: int
    inserted: int


def day_bounds(day: date) -> tuple[int, int]:
    """[start, end) of a UTC day in ns since the epoch."""
    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 10**9
    return start, start + DAY_NS


def archive_path(folder: Path, day: date) -> Path:
    """Where a day's archive lives: `folder/records-YYYY-MM-DD.parquet`."""
    return folder / f"{ARCHIVE_PREFIX}{day.isoformat()}.parquet"


# -- the pass ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpiredDay:
    """A day a pass deletes, and why: `age` (all of it older than max_age) or `size` (the store is over
    max_bytes and this is among its oldest days)."""

    day: DaySize
    reason: Expiry


def expired_days(days: Sequence[DaySize], settings: RetentionSettings, now_ns: int) -> list[ExpiredDay]:
    """The days to delete, oldest first: those wholly older than `max_age`, then, while the days
    left are estimated over `max_bytes`, the oldest of them.

    The day holding the newest record id is never taken: the store numbers new records from the
    highest id it holds when opened, and an id given twice would make a restore skip a record as
    already there. (It is normally today; an old file ingested last is kept until newer records come.)
    """
    if not days:
        return []
    newest_id = max(days, key=lambda d: d.last_id)
    candidates = sorted((d for d in days if d is not newest_id), key=lambda d: d.day)
    chosen: dict[date, ExpiredDay] = {}
    if settings.max_age_ns is not None:
        cutoff = now_ns - settings.max_age_ns
        for candidate in candidates:
            if day_bounds(candidate.day)[1] <= cutoff:
                chosen[candidate.day] = ExpiredDay(candidate, "age")
    if settings.max_bytes is not None:
        kept = sum(d.bytes for d in days if d.day not in chosen)
        for candidate in candidates:
            if kept <= settings.max_bytes:
                break
            if candidate.day not in chosen:
                chosen[candidate.day] = ExpiredDay(candidate, "size")
                kept -= candidate.bytes
    return sorted(chosen.values(), key=lambda e: e.day.day)


@dataclass(slots=True)
class RetentionReport:
    """What a pass did (or, `dry_run`, would do)."""

    expired: list[ExpiredDay]
    before: StoreSize
    dry_run: bool = False
    archived: list[ArchivedDay] = field(default_factory=list)
    deleted: int = 0
    after: StoreSize | None = None
    stopped: bool = False
    """True when the pass was asked to stop before it went through every expired day."""
    over_cap_bytes: int = 0
    """How far the records kept are estimated to stay over `max_bytes` (0: under, or no cap): the
    newest day is always kept."""


def run_retention(
    store: DuckDBStore,
    settings: RetentionSettings,
    archive_folder: Path,
    now_ns: int,
    *,
    dry_run: bool = False,
    stop: threading.Event | None = None,
) -> RetentionReport:
    """One retention pass over `store`: each expired day archived (when enabled) then deleted, then
    the freed blocks handed back to DuckDB.

    Safe to stop or crash anywhere: a day's archive is written to a temporary name, read back and
    checked, then renamed; only the records whose ids are in the renamed archive are deleted. A
    rerun finds a day either gone, or still stored with its archive (or a leftover temporary file)
    beside it: the archive is rewritten as itself plus whatever of the day is stored and not in it,
    so nothing is archived twice and nothing deleted unarchived.
    """
    if not dry_run:
        store.reclaim_space()  # fold the log in first, so used blocks say what is really there
    before = store.storage_size()
    days = store.day_sizes()
    expired = expired_days(days, settings, now_ns)
    report = RetentionReport(expired=expired, before=before, dry_run=dry_run)
    if settings.max_bytes is not None:
        kept = sum(d.bytes for d in days) - sum(e.day.bytes for e in expired)
        report.over_cap_bytes = max(kept - settings.max_bytes, 0)
    if dry_run:
        return report
    for entry in expired:
        if stop is not None and stop.is_set():
            report.stopped = True
            break
        day = entry.day.day
        if settings.archive_enabled:
            archived = store.archive_day(day, archive_path(archive_folder, day))
            report.archived.append(archived)
            if archived.rows:
                report.deleted += store.delete_day(day, archived.path)
        else:
            report.deleted += store.delete_day(day, None)
    if report.deleted:
        store.reclaim_space()
    report.after = store.storage_size()
    return report


# -- in the daemon ------------------------------------------------------------------------------------


class RetentionTask:
    """Runs the retention pass every `check_every` in a thread of its own, for the daemon.

    `tick` is called from the daemon's once-a-second tick on the pipeline thread and returns at once.
    The pass works on its own DuckDB cursors beside the store writer's, not through the writer queue:
    the writer only appends to `records` and updates `templates`, and the pass reads (the archive
    COPY sees a snapshot), deletes rows the writer never touches, and leaves `templates` alone, so
    DuckDB's optimistic concurrency never has the two conflict. Ingest waits only while DuckDB
    serialises the two commits (the delete's is milliseconds per 100k rows). One pass at a time.

    Args:
        store: the daemon's store (opened for writing).
        settings: `[retention]`.
        archive_folder: where days are archived (`settings.archive_folder(store_path)`).
    """

    def __init__(self, store: DuckDBStore, settings: RetentionSettings, archive_folder: Path) -> None:
        self.store = store
        self.settings = settings
        self.archive_folder = archive_folder
        self.last_report: RetentionReport | None = None
        self.last_error: BaseException | None = None
        self.passes = 0
        self._started_ns: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        """True while a pass runs."""
        return self._thread is not None and self._thread.is_alive()

    def tick(self, now_ns: int) -> bool:
        """Starts a pass in the background when one is due (the first at the first tick) and none
        runs; True when it started one."""
        if self._stop.is_set() or self.running:
            return False
        if self._started_ns is not None and now_ns - self._started_ns < self.settings.check_every_ns:
            return False
        self._started_ns = now_ns
        self._thread = threading.Thread(
            target=self._run, args=(now_ns,), name="loglens-retention", daemon=True
        )
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for a running pass to end; True when none runs any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def close(self, timeout: float | None = 60.0) -> None:
        """Lets a running pass finish the day it is on, and waits for it (before the store closes)."""
        self._stop.set()
        self.wait(timeout)

    def _run(self, now_ns: int) -> None:
        try:
            report = run_retention(self.store, self.settings, self.archive_folder, now_ns, stop=self._stop)
        except Exception as exc:  # a failed pass must not take the daemon down; the next one retries
            self.last_error = exc
            log.warning("retention pass failed (it is retried in %s): %s",
                        format_duration(self.settings.check_every_ns), exc)  # fmt: skip
            return
        self.last_report, self.last_error = report, None
        self.passes += 1
        if report.expired:
            log.info(
                "retention: %d days, %d records deleted (%d archived to %s)",
                len(report.expired), report.deleted, len(report.archived), self.archive_folder,
            )  # fmt: skip
