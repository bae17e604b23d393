"""`loglens retention status|run|restore`: what [retention] would delete from the store, a pass run
now (archive, then delete), and archived days put back. On the store itself: stop the daemon first."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from loglens.commands.common import open_store, store_options, write_json
from loglens.config import Config, load_config, resolve_store_path
from loglens.errors import ConfigError, LoglensError
from loglens.query.timerange import parse_duration
from loglens.store.duckdb import DEFAULT_MEMORY_LIMIT, READER_MEMORY_LIMIT, DuckDBStore
from loglens.store.retention import (
    ARCHIVE_PREFIX,
    DaySize,
    ExpiredDay,
    RetentionReport,
    RetentionSettings,
    StoreSize,
    archive_path,
    expired_days,
    format_size,
    parse_size,
    run_retention,
)

F = TypeVar("F", bound=Callable[..., Any])


def configured_retention(config: Config) -> RetentionSettings | None:
    """`[retention]` of loglens.toml (None: not configured)."""
    return config.retention


def _settings(config: Config, max_age: str | None, max_bytes: str | None) -> RetentionSettings | None:
    """The configured settings with the command line's limits over them; options alone configure a
    run (with the defaults for the rest, and no limit the options do not name)."""
    settings = configured_retention(config)
    if max_age is None and max_bytes is None:
        return settings
    settings = settings or RetentionSettings(max_age_ns=None)
    if max_age is not None:
        settings = dataclasses.replace(settings, max_age_ns=_option(parse_duration, max_age, "--max-age"))
    if max_bytes is not None:
        settings = dataclasses.replace(settings, max_bytes=_option(parse_size, max_bytes, "--max-bytes"))
    return settings


def _option(parse: Callable[[str], int], text: str, name: str) -> int:
    try:
        value = parse(text)
    except LoglensError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None
    if value <= 0:
        raise click.BadParameter("must be more than 0", param_hint=name)
    return value


def limit_options(func: F) -> F:
    """`--max-age` and `--max-bytes`, over what [retention] says."""
    func = click.option("--max-bytes", metavar="SIZE", help="Keep the store under this size (10GB, 500MB).")(
        func
    )
    func = click.option("--max-age", metavar="AGE", help="Delete whole UTC days older than this (30d, 12w).")(
        func
    )
    return func


def _open(store_path: str | None, config: Config, read_only: bool) -> DuckDBStore:
    """The store for a retention command, with the readers' memory cap: archiving and restoring join
    a day's ids, which the bulk writer's 32 MB would make spill to disk."""
    if config.store_url is not None:
        raise LoglensError(
            "retention works on the embedded store; on PostgreSQL, drop old day partitions "
            "(records_YYYYMMDD) instead (docs/scale-out.md)"
        )
    if config.memory_limit == DEFAULT_MEMORY_LIMIT:
        config = dataclasses.replace(config, memory_limit=READER_MEMORY_LIMIT)
    store = open_store(store_path, config, read_only=read_only)
    assert isinstance(store, DuckDBStore)  # no [store] url: the embedded file
    return store


def _size_json(size: StoreSize) -> dict[str, int]:
    return {
        "file_bytes": size.file_bytes,
        "used_bytes": size.used_bytes,
        "free_bytes": size.free_bytes,
        "wal_bytes": size.wal_bytes,
        "data_bytes": size.data_bytes,
    }


def _settings_json(settings: RetentionSettings | None, folder: Path | None) -> dict[str, Any] | None:
    if settings is None:
        return None
    return {
        "max_age_ns": settings.max_age_ns,
        "max_bytes": settings.max_bytes,
        "archive": str(folder) if settings.archive_enabled else None,
        "check_every_ns": settings.check_every_ns,
    }


def _size_line(size: StoreSize) -> str:
    return (
        f"store data {format_size(size.data_bytes)} (file {format_size(size.file_bytes)}, "
        f"{format_size(size.free_bytes)} of it free blocks DuckDB reuses)"
    )


@click.group()
def retention() -> None:
    """Retention of old records by age and size ([retention] in loglens.toml, docs/store.md)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RetentionStatus:
    """What `retention status` shows: the store's size and days, which would go, which are archived."""

    store: Path
    size: StoreSize
    days: list[DaySize]
    settings: RetentionSettings | None
    folder: Path
    going: dict[date, str]
    archived: frozenset[str]

    def is_archived(self, day: DaySize) -> bool:
        """True when the day has an archive (some of its records were archived before)."""
        return archive_path(self.folder, day.day).name in self.archived

    def to_json(self) -> dict[str, Any]:
        """The status as `--json` prints it."""
        return {
            "store": str(self.store),
            "size": _size_json(self.size),
            "settings": _settings_json(self.settings, self.folder),
            "days": [
                {
                    "day": d.day.isoformat(), "records": d.records, "bytes": d.bytes,
                    "first_id": d.first_id, "last_id": d.last_id, "expires": self.going.get(d.day),
                    "archived": self.is_archived(d),
                }
                for d in self.days
            ],
            "archives": sorted(self.archived),
        }  # fmt: skip

    def lines(self) -> list[str]:
        """The status for people: a line per day, then the archive folder."""
        settings = self.settings
        out = [
            f"{self.store}: {_size_line(self.size)}",
            f"retention: {settings.describe()}" if settings else "retention: not configured ([retention])",
        ]
        for d in self.days:
            reason = self.going.get(d.day)
            mark = f"goes ({reason})" if reason else ""
            kept = "archived" if self.is_archived(d) else ""
            size = f"~{format_size(d.bytes)}"
            out.append(f"  {d.day.isoformat()}  {d.records:>12,} records  {size:>11}  {kept:<8}  {mark}")
        if not self.days:
            out.append("  no records")
        count = len(self.archived)
        out.append(f"{count} archived day{'s' if count != 1 else ''} in {self.folder}")
        return out


@retention.command("status")
@limit_options
@click.option("--json", "as_json", is_flag=True, help="Days, sizes and what would go, as JSON.")
@store_options
def status(
    max_age: str | None, max_bytes: str | None, as_json: bool, store_path: str | None, config_path: str | None
) -> None:
    """The store's size, its records per UTC day, their archives, and which days a pass would delete."""
    config = load_config(config_path)
    settings = _settings(config, max_age, max_bytes)
    path = resolve_store_path(store_path, config)
    folder = (settings or RetentionSettings()).archive_folder(path)
    store = _open(store_path, config, read_only=True)
    try:
        size, days = store.storage_size(), store.day_sizes()
    finally:
        store.close()
    expired = expired_days(days, settings, time.time_ns()) if settings else []
    archives = folder.glob(f"{ARCHIVE_PREFIX}*.parquet") if folder.is_dir() else iter(())
    found = RetentionStatus(
        store=path,
        size=size,
        days=days,
        settings=settings,
        folder=folder,
        going={e.day.day: e.reason for e in expired},
        archived=frozenset(p.name for p in archives),
    )
    if as_json:
        write_json(found.to_json())
    else:
        for line in found.lines():
            click.echo(line)


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Say what would be archived and deleted; change nothing.")
@limit_options
@click.option("--json", "as_json", is_flag=True, help="What the pass did, as JSON.")
@store_options
def run(
    dry_run: bool,
    max_age: str | None,
    max_bytes: str | None,
    as_json: bool,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """Runs a retention pass now: expired days archived to Parquet, then deleted."""
    config = load_config(config_path)
    settings = _settings(config, max_age, max_bytes)
    if settings is None:
        raise ConfigError(
            "retention is not configured: add a [retention] table to loglens.toml (docs/store.md), "
            "or give --max-age / --max-bytes"
        )
    folder = settings.archive_folder(resolve_store_path(store_path, config))
    store = _open(store_path, config, read_only=dry_run)
    try:
        report = run_retention(store, settings, folder, time.time_ns(), dry_run=dry_run)
    finally:
        store.close()
    if as_json:
        write_json(_report_json(report))
        return
    for line in _report_lines(report, settings):
        click.echo(line)


def _report_json(report: RetentionReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "expired": [_expired_json(e) for e in report.expired],
        "archived": [
            {"day": a.day.isoformat(), "path": str(a.path), "rows": a.rows, "added": a.added}
            for a in report.archived
        ],
        "deleted": report.deleted,
        "before": _size_json(report.before),
        "after": _size_json(report.after) if report.after else None,
        "over_cap_bytes": report.over_cap_bytes,
    }


def _expired_json(entry: ExpiredDay) -> dict[str, Any]:
    return {"day": entry.day.day.isoformat(), "records": entry.day.records, "reason": entry.reason}


def _report_lines(report: RetentionReport, settings: RetentionSettings) -> list[str]:
    """A line per expired day, then the sizes before and after."""
    archives = {a.day: a for a in report.archived}
    lines = []
    for entry in report.expired:
        day, what = entry.day.day, f"{entry.day.records:,} records"
        archived = archives.get(day)
        if report.dry_run:
            lines.append(f"would delete {day.isoformat()}: {what} ({entry.reason})")
        elif archived is not None:
            lines.append(
                f"{day.isoformat()}: {what} archived to {archived.path} and deleted ({entry.reason})"
            )
        elif settings.archive_enabled:
            lines.append(f"{day.isoformat()}: left for the next pass (this one was stopped)")
        else:
            lines.append(f"{day.isoformat()}: {what} deleted, not archived ({entry.reason})")
    if not report.expired:
        lines.append(f"nothing to delete ({settings.describe()})")
    after = report.after
    if after is not None and report.expired:
        lines.append(
            f"{report.deleted:,} records deleted; store data {format_size(report.before.data_bytes)} → "
            f"{format_size(after.data_bytes)}, file {format_size(after.file_bytes)} "
            f"({format_size(after.free_bytes)} of free blocks, filled before it grows)"
        )
    if report.over_cap_bytes:
        lines.append(
            f"still about {format_size(report.over_cap_bytes)} over max_bytes: the day with the newest "
            "records is always kept"
        )
    return lines


@retention.command("restore")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="What was restored, as JSON.")
@store_options
def restore(files: tuple[Path, ...], as_json: bool, store_path: str | None, config_path: str | None) -> None:
    """Puts archived records back (FILES: records-YYYY-MM-DD.parquet), with their ids; records still
    stored are skipped. A day older than max_age goes again at the next pass."""
    config = load_config(config_path)
    store = _open(store_path, config, read_only=False)
    try:
        restored = [store.restore(path) for path in files]
    finally:
        store.close()
    if as_json:
        write_json([{"path": str(r.path), "rows": r.rows, "inserted": r.inserted} for r in restored])
        return
    for r in restored:
        skipped = r.rows - r.inserted
        click.echo(f"restored {r.inserted:,} of {r.rows:,} records from {r.path} ({skipped:,} were stored)")
