"""loglens: log intelligence — read logs from anywhere, structure, store and search them."""

from loglens.pipeline import Ingestor
from loglens.record import Batch, Level, Record
from loglens.store import DuckDBStore, Store, open_store

__all__ = ["Batch", "DuckDBStore", "Ingestor", "Level", "Record", "Store", "open_store"]
