"""loglens: log intelligence — read logs from anywhere, structure, store and search them.

The names below are imported on first use, so that a small process (the mining worker) importing
one module does not pay for DuckDB and the whole pipeline.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Batch": "loglens.record",
    "Level": "loglens.record",
    "Record": "loglens.record",
    "Ingestor": "loglens.pipeline",
    "DuckDBStore": "loglens.store",
    "Store": "loglens.store",
    "open_store": "loglens.store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loglens' has no attribute {name!r}")
    return getattr(import_module(module), name)
