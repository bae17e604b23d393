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


class StaleOffsetError(StoreError):
    """A bus partition's stored offset moved under this writer: another process node took the partition
    over and stored its messages first. The commit is rolled back; the node lets the partition go."""


class MiningProcessError(LoglensError):
    """The template-mining process of a bulk load failed or went away."""


class TenantScopeError(LoglensError):
    """A tenant's request asked for something that spans every tenant (raw SQL, host metrics, alerts):
    only the operator's view (no tenant) may have it. The API answers 403 with the sentence."""
