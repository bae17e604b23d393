"""Storage: the `Store` protocol and its backends (DuckDB embedded by default, PostgreSQL to scale out)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from loglens.store.base import Store, StoredRecord
from loglens.store.duckdb import DEFAULT_COMPRESSION, DEFAULT_MEMORY_LIMIT, DuckDBStore

if TYPE_CHECKING:
    from loglens.store.postgres import PostgresStore

__all__ = ["POSTGRES_SCHEMES", "DuckDBStore", "Store", "StoredRecord", "is_postgres_url", "open_store"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(url_or_path: str | Path) -> bool:
    """True for a PostgreSQL URL (`postgresql://…`), False for a DuckDB file path."""
    return isinstance(url_or_path, str) and url_or_path.startswith(POSTGRES_SCHEMES)


def open_store(
    url_or_path: str | Path,
    *,
    read_only: bool = False,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    compression: str = DEFAULT_COMPRESSION,
) -> DuckDBStore | PostgresStore:
    """Opens the store at `url_or_path` (creating and migrating it when writable): a PostgreSQL URL
    opens the shared database, anything else the DuckDB file at that path (`memory_limit` and
    `compression` are DuckDB's). psycopg is imported only for a URL: it is an optional dependency."""
    if is_postgres_url(url_or_path):
        from loglens.store.postgres import PostgresStore

        return PostgresStore(str(url_or_path), read_only=read_only)
    return DuckDBStore(url_or_path, read_only=read_only, memory_limit=memory_limit, compression=compression)
