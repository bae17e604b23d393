"""Lets a protocol say "this value is the message (time, level, service, host)" to loglens's JSON mapper.

`StructuredMapper` finds standard fields by its own key conventions. When a protocol knows better (an
envelope's `time`, Datadog's `status`, a `_msg_field` query argument), `override_role` moves the
event's own candidates for that role aside and puts the known value under the key the mapper reads
first, so the mapper still does all the rest (level from the real message, nested ECS keys, fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# The mapper's key tables are the single source of truth for which keys mean what; reading them here
# (rather than copying the names) keeps the two from drifting apart.
from loglens.formats.json import OBJECT_MESSAGE_KEYS, ROLE_CANDIDATES
from loglens.json_text import dumps_any

__all__ = ["MISSING", "ROLES", "has_role", "override_role", "pop_path", "restore", "text_of"]

ROLES: Final = ("message", "time", "level", "service", "host")
_ROLE_INDEX: Final = {"message": 0, "time": 1, "level": 2, "service": 3, "host": 4}
# The key the mapper tries first for each role, and so the one a known value is put under.
_CANONICAL: Final = {"message": "msg", "time": "ts", "level": "level", "service": "service", "host": "host"}


def _takers(index: int) -> dict[str, tuple[bool, bool]]:
    """Key -> (the mapper may take a scalar under it, the mapper may take an object under it)."""
    takers: dict[str, tuple[bool, bool]] = {}
    for key, sub in ROLE_CANDIDATES[index]:
        scalar, obj = takers.get(key, (False, False))
        if sub is None:
            scalar = True
            # Only these flat keys take an object or array (as a message dumped to JSON).
            obj = obj or (index == 0 and key in OBJECT_MESSAGE_KEYS)
        else:
            obj = True
        takers[key] = (scalar, obj)
    return takers


_ROLE_TAKERS: Final = {role: _takers(index) for role, index in _ROLE_INDEX.items()}

MISSING: Final = object()
"""What `pop_path` returns for a path the object does not have (None is a JSON value)."""


def override_role(obj: dict[str, Any], role: str, value: Any) -> dict[str, Any]:
    """Makes `value` the one candidate the mapper sees for `role`; returns the keys moved aside.

    Only keys the mapper could take for `role` are moved: an ECS `log` object stays where it is when
    the message is overridden (it is no message; its `level` still is a level). The moved keys belong
    in the record's fields afterwards (see `restore`): an event's own `msg` is still data when a
    shipper said the message is elsewhere.
    """
    stash: dict[str, Any] = {}
    for key, (scalar, nested) in _ROLE_TAKERS[role].items():
        if key in obj and (nested if type(obj[key]) is dict else scalar):
            stash[key] = obj.pop(key)
    obj[_CANONICAL[role]] = value
    return stash


def has_role(obj: Mapping[str, Any], role: str) -> bool:
    """True when `obj` has a key the mapper could take for `role` (whether its value is usable or not)."""
    return any(
        key in obj and (nested if type(obj[key]) is dict else scalar)
        for key, (scalar, nested) in _ROLE_TAKERS[role].items()
    )


def restore(fields: dict[str, Any] | None, *extra: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """`fields` with each of the `extra` mappings added in order (later wins); None when all are empty."""
    merged = dict(fields) if fields else {}
    for more in extra:
        if more:
            merged.update(more)
    return merged or None


def pop_path(obj: dict[str, Any], path: str) -> Any:
    """Removes and returns `obj[path]`, or the value at the dotted path `a.b.c` through nested objects.

    A literal key wins over a path (`{"log.text": …}`); objects emptied by the removal are removed too.
    Returns `MISSING` when there is no such value.
    """
    if path in obj:
        return obj.pop(path)
    parts = path.split(".")
    chain: list[dict[str, Any]] = [obj]
    for part in parts[:-1]:
        inner = chain[-1].get(part)
        if type(inner) is not dict:
            return MISSING
        chain.append(inner)
    if parts[-1] not in chain[-1]:
        return MISSING
    value = chain[-1].pop(parts[-1])
    for parent, part in zip(reversed(chain[:-1]), reversed(parts[:-1]), strict=True):
        if parent[part]:
            break
        del parent[part]
    return value


def text_of(value: Any) -> str:
    """A JSON value as message text: strings as they are, anything else as compact JSON."""
    if type(value) is str:
        return value
    return dumps_any(value).decode()
