"""Storage: the `Store` protocol and its backends (DuckDB embedded by default)."""

from loglens.store.base import Store, StoredRecord
from loglens.store.duckdb import DuckDBStore, open_store

__all__ = ["DuckDBStore", "Store", "StoredRecord", "open_store"]
