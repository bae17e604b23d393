"""The one exception hierarchy: messages say what was wrong, where, and what to do about it."""

from __future__ import annotations


class LoglensError(Exception):
    """Base of every error loglens raises on purpose; the CLI prints these without a traceback."""


class ConfigError(LoglensError):
    """`loglens.toml` (or a command-line option) holds something loglens cannot use."""


class QueryError(LoglensError):
    """A search query could not be parsed; the message points at the offending part."""


class StoreError(LoglensError):
    """The store could not be opened, migrated or written."""


class ReadOnlyError(StoreError):
    """A write was attempted through a read-only entry point (such as `loglens sql`)."""


class MiningProcessError(LoglensError):
    """The template-mining process of a bulk load failed or went away."""
