"""Fresh PostgreSQL databases for tests, on the server at 127.0.0.1:5432 (or $LOGLENS_TEST_PG, a
libpq URL of a server where the user may create databases), dropped afterwards. Tests that need one
skip, saying why, where no server answers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

SERVER = os.environ.get("LOGLENS_TEST_PG", "postgresql://postgres@127.0.0.1:5432").rstrip("/")


def admin(sql: str) -> None:
    """Runs one statement on the server's `postgres` database (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def server_problem() -> str | None:
    """Why no PostgreSQL can be used here, or None when one answers."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is missing: pip install 'loglens[scale]' (make test installs it)"
    try:
        psycopg.connect(f"{SERVER}/postgres", connect_timeout=5).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL at {SERVER} ({exc}); set LOGLENS_TEST_PG to a server URL"
    return None


class PgDatabase:
    """One database made for a test; `url` for loglens, `scalar`/`rows` to check what it holds."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = f"{SERVER}/{name}"

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.rows(sql, params)[0][0]


@contextmanager
def fresh_database(prefix: str = "loglens_test") -> Iterator[PgDatabase]:
    """Creates a uniquely named database and drops it afterwards (closing what is still connected);
    skips the calling test where no server can be used."""
    problem = server_problem()
    if problem is not None:
        pytest.skip(problem)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield PgDatabase(name)
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def pg_database() -> Iterator[PgDatabase]:
    """A fresh database for a test module."""
    with fresh_database() as database:
        yield database
