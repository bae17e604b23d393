"""What every `loglens` command shares: the store and range options, opening the store (or finding
the daemon that holds it), and JSON output."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import orjson

from loglens.client import DaemonClient, daemon_for, running_daemon
from loglens.config import Config, resolve_store_path
from loglens.errors import LoglensError
from loglens.store import open_store as open_any_store
from loglens.store.base import Store
from loglens.store.duckdb import DuckDBStore

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def store_options(func: F) -> F:
    func = click.option("--config", "config_path", metavar="PATH", help="Config file (default: see docs).")(
        func
    )
    func = click.option("--store", "store_path", metavar="PATH", help="Store file (default: see docs).")(func)
    return func


def range_options(func: F) -> F:
    """`--since` and `--until`, the same on every command that reads a time range."""
    func = click.option("--until", metavar="TIME", help="Same forms as --since; exclusive.")(func)
    func = click.option(
        "--since", metavar="TIME", help="From this time: 15m, 2h, 2d, or '2026-02-12 10:00' (local time)."
    )(func)
    return func


def open_store(store_path: str | None, config: Config, read_only: bool) -> Store:
    """The store a command reads or writes: `[store] url`'s PostgreSQL (shared: any number of
    processes may open it), else the embedded file, unless a daemon holds that."""
    if config.store_url is not None:
        return open_any_store(config.store_url, read_only=read_only)
    path = resolve_store_path(store_path, config)
    url = running_daemon(path)
    if url is not None:
        raise LoglensError(
            f"the daemon at {url} holds {path} (one process at a time may open it), and this command "
            "does not go through the daemon yet: logs, patterns, anomalies, incidents, explain, "
            "summary, diff, metrics and sql do (as does the API, docs/api.md); or stop the daemon"
        )
    return DuckDBStore(
        path, read_only=read_only, memory_limit=config.memory_limit, compression=config.compression
    )


def view(
    store_path: str | None,
    config: Config,
    local: Callable[[Store], T],
    remote: Callable[[DaemonClient], T],
) -> T:
    """A view's JSON: asked of the daemon while it holds the store, else computed on the store
    opened read-only; both answer with the same objects, so the command prints the same bytes."""
    daemon = daemon_for(resolve_store_path(store_path, config), config)
    if daemon is not None:
        return remote(daemon)
    store = open_store(store_path, config, read_only=True)
    try:
        return local(store)
    finally:
        store.close()


def write_json(value: object) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")
