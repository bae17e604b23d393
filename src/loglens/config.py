"""`loglens.toml` → typed configuration, and where the store and config live.

Every setting has a default, so no file at all is a valid configuration. Lookup order is the
contract in DESIGN.md: `--config`, `$LOGLENS_CONFIG`, `./loglens.toml`, `$XDG_CONFIG_HOME/loglens/`.
"""

from __future__ import annotations

import fnmatch
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loglens.ai.llm import LlmSettings, parse_llm
from loglens.alerts.settings import AlertSettings, parse_alerts
from loglens.analysis.metrics import MetricRule, parse_metrics
from loglens.analysis.watch import WatchSettings, parse_analysis
from loglens.bus.settings import BusSettings, parse_bus
from loglens.enrich.privacy import PrivacySettings, parse_privacy
from loglens.errors import ConfigError, LoglensError
from loglens.formats.level import LevelRule, level_from_name
from loglens.mining.drain import DEFAULT_MAX_TEMPLATES
from loglens.query.timerange import parse_duration
from loglens.server.settings import ServerSettings, parse_server
from loglens.sources.follow import FollowSettings
from loglens.sources.journald import JournalSettings, parse_journald
from loglens.sources.lines import DEFAULT_MAX_LINE_BYTES
from loglens.sources.supervised import CommandSpec, parse_commands
from loglens.store.duckdb import COMPRESSIONS, DEFAULT_COMPRESSION, DEFAULT_MEMORY_LIMIT
from loglens.store.retention import RetentionSettings, parse_retention
from loglens.tenants import config_tenant
from loglens.volume_filter import VolumeFilterSettings, parse_filter


@dataclass(frozen=True, slots=True)
class SourceRule:
    """A `[[sources]]` entry: settings for the files whose path matches `path` (a glob or a path)."""

    path: str
    format: str | None = None
    service: str | None = None
    timezone: tzinfo | None = None
    tenant: str = ""
    """The tenant the matching files' records belong to ('' none; docs/api.md, Tenants)."""

    def matches(self, file_path: str, display: str) -> bool:
        """True when this rule applies to a file (matched on its resolved path or as it was given)."""
        pattern = os.path.expanduser(self.path)
        if not os.path.isabs(pattern):
            pattern = os.path.abspath(pattern)
        if fnmatch.fnmatch(file_path, pattern) or fnmatch.fnmatch(os.path.abspath(display), pattern):
            return True
        # A folder named in a rule covers everything under it.
        folder = pattern.rstrip("/") + "/"
        return file_path.startswith(folder)


@dataclass(frozen=True, slots=True)
class Config:
    """Everything loglens reads from `loglens.toml`, with defaults."""

    source_file: Path | None = None
    store_path: Path | None = None
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    compression: str = DEFAULT_COMPRESSION
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    timezone: tzinfo | None = None
    sources: tuple[SourceRule, ...] = ()
    level_rules: tuple[LevelRule, ...] = field(default=())
    max_templates: int = DEFAULT_MAX_TEMPLATES
    metrics: tuple[MetricRule, ...] = ()
    analysis: WatchSettings = field(default_factory=WatchSettings)
    follow: FollowSettings = field(default_factory=FollowSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    filter: VolumeFilterSettings | None = None
    commands: tuple[CommandSpec, ...] = ()
    journald: JournalSettings | None = None
    alerts: AlertSettings = field(default_factory=AlertSettings)
    llm: LlmSettings | None = None
    retention: RetentionSettings | None = None
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    store_url: str | None = None
    """`[store] url`: a shared PostgreSQL (`postgresql://…`) instead of the embedded file (scale-out)."""
    bus: BusSettings | None = None

    def rule_for(self, file_path: str, display: str) -> SourceRule | None:
        """The first `[[sources]]` entry matching a file, if any."""
        for rule in self.sources:
            if rule.matches(file_path, display):
                return rule
        return None


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / default


def find_config_file(explicit: str | None) -> Path | None:
    """The config file to read, by the documented lookup order (None: run on defaults)."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return path
    env = os.environ.get("LOGLENS_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"$LOGLENS_CONFIG points at {env}, which does not exist")
        return path
    for candidate in (Path("loglens.toml"), _xdg("XDG_CONFIG_HOME", ".config") / "loglens" / "loglens.toml"):
        if candidate.is_file():
            return candidate
    return None


def resolve_store_path(explicit: str | None, config: Config) -> Path:
    """Where the store lives: `--store`, `$LOGLENS_STORE`, `[store] path`, then the XDG data folder."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("LOGLENS_STORE")
    if env:
        return Path(env).expanduser()
    if config.store_path is not None:
        return config.store_path
    return _xdg("XDG_DATA_HOME", ".local/share") / "loglens" / "loglens.duckdb"


def parse_timezone(name: str, where: str) -> tzinfo | None:
    """A zone name (`UTC`, `Europe/Berlin`, `local`) as a tzinfo; `local` gives None (the machine's zone)."""
    if name.lower() == "local":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise ConfigError(
            f"{where}: unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')"
        ) from None


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _array(data: dict[str, Any], key: str, where: str, name: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {name} must be an array of tables ([[{name}]])")
    return value


def parse_config(data: dict[str, Any], source_file: Path | None = None) -> Config:
    """Builds a Config from parsed TOML, naming the file and key of anything wrong."""
    where = str(source_file) if source_file else "config"
    from loglens.formats import format_names

    store = _table(data, "store", where)
    ingest = _table(data, "ingest", where)
    levels = _table(data, "levels", where)
    mining = _table(data, "mining", where)
    max_templates = mining.get("max_templates", DEFAULT_MAX_TEMPLATES)
    if not isinstance(max_templates, int) or isinstance(max_templates, bool) or max_templates < 100:
        raise ConfigError(f"{where}: [mining] max_templates must be an integer ≥ 100")
    store_path = Path(os.path.expanduser(str(store["path"]))) if "path" in store else None
    compression = str(store.get("compression", DEFAULT_COMPRESSION))
    if compression not in COMPRESSIONS:
        raise ConfigError(f"{where}: [store] compression must be one of: {', '.join(COMPRESSIONS)}")
    max_line = ingest.get("max_line_bytes", DEFAULT_MAX_LINE_BYTES)
    if not isinstance(max_line, int) or max_line < 1024:
        raise ConfigError(f"{where}: [ingest] max_line_bytes must be an integer ≥ 1024")
    tz = parse_timezone(str(ingest["timezone"]), f"{where} [ingest]") if "timezone" in ingest else None

    rules: list[SourceRule] = []
    for i, entry in enumerate(_array(data, "sources", where, "sources")):
        here = f"{where} [[sources]] #{i + 1}"
        if not isinstance(entry, dict) or "path" not in entry:
            raise ConfigError(f"{here}: each source needs a `path`")
        fmt = entry.get("format")
        if fmt is not None and fmt not in format_names():
            raise ConfigError(f"{here}: unknown format {fmt!r}; choose one of: {', '.join(format_names())}")
        zone = parse_timezone(str(entry["timezone"]), here) if "timezone" in entry else None
        tenant = config_tenant(entry["tenant"], here) if "tenant" in entry else ""
        rules.append(SourceRule(str(entry["path"]), fmt, entry.get("service"), zone, tenant))

    level_rules: list[LevelRule] = []
    for i, entry in enumerate(_array(levels, "rules", where, "levels.rules")):
        here = f"{where} [[levels.rules]] #{i + 1}"
        if not isinstance(entry, dict) or "pattern" not in entry or "level" not in entry:
            raise ConfigError(f"{here}: each rule needs `pattern` and `level`")
        level = level_from_name(str(entry["level"]))
        if level is None:
            raise ConfigError(f"{here}: unknown level {entry['level']!r}")
        try:
            pattern = re.compile(str(entry["pattern"]), 0 if entry.get("case_sensitive") else re.IGNORECASE)
        except (re.error, OverflowError) as exc:  # OverflowError: a repeat count such as {4294967296}
            raise ConfigError(f"{here}: invalid regex {entry['pattern']!r}: {exc}") from None
        level_rules.append(LevelRule(pattern, level))

    follow = parse_follow(_table(data, "follow", where), max_line, where)
    server = parse_server(_table(data, "server", where), where)
    metrics = parse_metrics(data.get("metrics", []), where)
    analysis = parse_analysis(_table(data, "analysis", where), where)
    volume_filter = parse_filter(_table(data, "filter", where), where)
    commands = parse_commands(data.get("commands", []), where, format_names())
    journald = parse_journald(_table(data, "journald", where), where) if "journald" in data else None
    alerts = parse_alerts(_table(data, "alerts", where), where)
    llm = parse_llm(_table(data, "llm", where), where)
    retention = parse_retention(data["retention"], where) if "retention" in data else None
    privacy = parse_privacy(_table(data, "privacy", where), where)
    bus = parse_bus(_table(data, "bus", where), where) if "bus" in data else None
    store_url = store.get("url")
    if store_url is not None and (
        not isinstance(store_url, str) or not store_url.startswith(("postgresql://", "postgres://"))
    ):
        raise ConfigError(
            f'{where}: [store] url must be a PostgreSQL URL such as "postgresql://host/loglens"'
        )

    return Config(
        source_file=source_file,
        store_path=store_path,
        memory_limit=str(store.get("memory_limit", DEFAULT_MEMORY_LIMIT)),
        compression=compression,
        max_line_bytes=max_line,
        timezone=tz,
        sources=tuple(rules),
        level_rules=tuple(level_rules),
        max_templates=max_templates,
        metrics=metrics,
        analysis=analysis,
        follow=follow,
        server=server,
        filter=volume_filter,
        commands=commands,
        journald=journald,
        alerts=alerts,
        llm=llm,
        retention=retention,
        privacy=privacy,
        store_url=store_url,
        bus=bus,
    )


_FOLLOW_SECONDS = ("poll_interval", "rotate_wait", "partial_timeout", "quiet_flush", "scan_interval")


def parse_follow(table: dict[str, Any], max_line_bytes: int, where: str) -> FollowSettings:
    """`[follow]`: how live sources are polled; times as seconds (0.25) or durations ("250ms")."""
    values: dict[str, Any] = {"max_line_bytes": max_line_bytes}
    for key, value in table.items():
        if key not in _FOLLOW_SECONDS:
            known = ", ".join(_FOLLOW_SECONDS)
            raise ConfigError(f"{where}: [follow] has no setting {key!r}; known: {known}")
        try:
            seconds = float(value) if isinstance(value, int | float) else parse_duration(str(value)) / 1e9
        except (ValueError, LoglensError):
            seconds = -1.0
        if isinstance(value, bool) or not math.isfinite(seconds) or seconds < 0:
            raise ConfigError(f'{where}: [follow] {key} must be a duration such as 0.5 or "500ms"')
        values[key] = seconds
    return FollowSettings(**values)


def load_config(explicit: str | None = None) -> Config:
    """Reads the config file found by the lookup order, or returns the defaults when there is none."""
    path = find_config_file(explicit)
    if path is None:
        return Config()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_config(data, path)
