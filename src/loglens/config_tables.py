"""`[[name]]` arrays of tables in loglens.toml, read one way: each entry a table of known keys, and
every error naming the file, the array, the entry's number and what is wrong."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from loglens.errors import ConfigError


def table_entries(
    entries: object, where: str, name: str, keys: Sequence[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(how an error names it, the entry) for each entry of `[[name]]`, once checked to be a table
    holding only `keys`."""
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: {name} must be a list of tables ([[{name}]])")
    for number, entry in enumerate(entries, 1):
        here = f"{where}: [[{name}]] #{number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{here} must be a table")
        unknown = sorted(set(entry) - set(keys))
        if unknown:
            raise ConfigError(f"{here} has unknown keys {unknown}; known: {', '.join(keys)}")
        yield here, entry
