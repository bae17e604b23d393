"""Log formats: one module per format, all registered in `registry()` in detection priority order."""

from __future__ import annotations

from functools import cache

from loglens.formats.base import LogFormat, SourceContext

__all__ = ["LogFormat", "SourceContext", "format_by_name", "format_names", "registry"]


@cache
def registry() -> dict[str, LogFormat]:
    """Every format loglens knows, by name, in the order detection prefers them on a tie."""
    # Imported here, not at module top, so that `formats.base` stays importable by the format modules.
    from loglens.formats.apache_error import ApacheErrorFormat
    from loglens.formats.clf import ClfFormat
    from loglens.formats.java import JavaLogFormat
    from loglens.formats.json import JsonFormat
    from loglens.formats.kernel import KernelFormat
    from loglens.formats.logfmt import LogfmtFormat
    from loglens.formats.plain import PlainTextFormat
    from loglens.formats.python import PythonLoggingFormat
    from loglens.formats.syslog import SyslogFormat

    formats: list[LogFormat] = [
        JsonFormat(),
        SyslogFormat(),
        ClfFormat(),
        ApacheErrorFormat(),
        PythonLoggingFormat(),
        JavaLogFormat(),
        KernelFormat(),
        LogfmtFormat(),
        PlainTextFormat(),
    ]
    return {fmt.name: fmt for fmt in formats}


def format_names() -> list[str]:
    """The names accepted by `format = "…"` in a `[[sources]]` entry of loglens.toml."""
    return list(registry())


def format_by_name(name: str) -> LogFormat:
    """The registered format called `name`; raises ConfigError naming the valid choices."""
    from loglens.errors import ConfigError

    try:
        return registry()[name]
    except KeyError:
        raise ConfigError(f"unknown log format {name!r}; choose one of: {', '.join(registry())}") from None
