"""JSON-lines logs: one JSON object per line, decoded with orjson and mapped onto `Record`.

`StructuredMapper` (which keys carry the message, time, level, service, host…) is shared with logfmt,
so that both structured formats read the same keys the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final

import orjson

from loglens.formats.base import SourceContext, process_id, unparsed_record
from loglens.formats.level import level_from_name
from loglens.json_text import dumps_any
from loglens.record import Level, Record

# A key and, for ECS-style nesting (`{"log": {"level": "info"}}`), the key inside its object. A flat
# candidate (`None`) takes a scalar value only, a nested one an object only, so `log` can be a Docker
# message string on one line and an ECS object on the next.
_Candidate = tuple[str, str | None]
_Plan = tuple[tuple[_Candidate, ...], ...]

# Role order inside a plan. The tuples below are in precedence order: the first usable one wins.
ROLE_CANDIDATES: Final[tuple[tuple[_Candidate, ...], ...]] = (
    # message (Serilog CLEF's @m/@mt after the common names)
    (
        ("msg", None), ("message", None), ("@message", None), ("log", None), ("text", None),
        ("event", None), ("@m", None), ("@mt", None),
    ),
    # timestamp
    (
        ("ts", None), ("time", None), ("timestamp", None), ("@timestamp", None), ("t", None),
        ("date", None), ("datetime", None), ("@t", None),
    ),
    # level
    (
        ("level", None), ("lvl", None), ("severity", None), ("levelname", None), ("loglevel", None),
        ("log.level", None), ("log", "level"), ("@l", None),
    ),
    # service
    (
        ("service", None), ("service", "name"), ("service.name", None), ("service_name", None),
        ("app", None), ("application", None),
    ),
    # host
    (("host", None), ("hostname", None), ("host", "name"), ("host", "hostname"), ("host.name", None)),
    # pid
    (("pid", None), ("process", "pid"), ("process.pid", None)),
    # trace id
    (("trace_id", None), ("traceId", None), ("trace", "id"), ("trace.id", None)),
    # span id
    (("span_id", None), ("spanId", None), ("span", "id"), ("span.id", None)),
)  # fmt: skip

# Only these may hold an object or array that becomes the message (dumped as compact JSON); `log`,
# `text` and `event` are objects with other meanings in ECS and friends.
OBJECT_MESSAGE_KEYS: Final = frozenset({"msg", "message", "@message"})
# Inside an object message, the key that holds its human text (`{"message": {"text": "…"}}`).
_INNER_TEXT_KEYS: Final = ("text", "msg", "message")

# Memo value for a minute the timestamp parser rejected.
_NO_MINUTE: Final = -1
# Distinct key layouts are few in a real log; the bound only protects against hostile input.
_PLAN_LIMIT: Final = 4096

JSON_TYPE_NAMES: Final[dict[type, str]] = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _text(value: Any) -> str | None:
    """A non-empty string, else None (hosts, services and ids are never numbers or objects)."""
    return value if type(value) is str and value else None


def _pid(value: Any) -> int | None:
    """A process id from an int or a string of digits (one too big to be a pid stays a field)."""
    if type(value) is int or type(value) is str:
        return process_id(value)
    return None


def _take(obj: dict[str, Any], candidates: tuple[_Candidate, ...], accept: Callable[[Any], Any]) -> Any:
    """Removes and returns the first candidate value that `accept` turns into something, else None."""
    for key, sub in candidates:
        value = obj.get(key)
        if value is None:
            continue
        if sub is None:
            if type(value) is dict:
                continue
            got = accept(value)
            if got is not None:
                del obj[key]
                return got
        elif type(value) is dict:
            got = _take_nested(obj, key, value, sub, accept)
            if got is not None:
                return got
    return None


def _take_nested(
    obj: dict[str, Any], key: str, inner: dict[str, Any], sub: str, accept: Callable[[Any], Any]
) -> Any:
    """`_take` for `obj[key][sub]`; an object left empty is removed, so no `{"log": {}}` stays behind."""
    value = inner.get(sub)
    if value is None:
        return None
    got = accept(value)
    if got is not None:
        del inner[sub]
        if not inner:
            del obj[key]
    return got


def _object_message(obj: dict[str, Any], key: str, value: dict[str, Any] | list[Any]) -> str:
    """The message held by an object or array under `key`; what is not the message stays in `obj`."""
    if type(value) is dict:
        for inner in _INNER_TEXT_KEYS:
            text = value.get(inner)
            if type(text) is str:
                del value[inner]
                if not value:
                    del obj[key]
                return text
    del obj[key]
    return dumps_any(value).decode()


class StructuredMapper:
    """Turns a decoded structured event (a JSON object, logfmt pairs) into a `Record`.

    The keys that carry the standard fields are looked up once per distinct key layout ("shape") and
    remembered, so a line costs a tuple of its keys, one dict hit and a pop per field found.
    Everything that is not a standard field stays in `Record.fields`, nested structure kept.
    """

    __slots__ = ("_plans",)

    def __init__(self) -> None:
        self._plans: dict[tuple[str, ...], _Plan] = {}

    def _plan(self, keys: tuple[str, ...]) -> _Plan:
        present = set(keys)
        plan = tuple(
            tuple(cand for cand in candidates if cand[0] in present) for candidates in ROLE_CANDIDATES
        )
        if len(self._plans) >= _PLAN_LIMIT:
            self._plans.clear()
        self._plans[keys] = plan
        return plan

    def records(self, pairs: list[tuple[dict[str, Any], str]], ctx: SourceContext) -> list[Record]:
        """One Record per (decoded object, raw line); the objects are consumed (standard keys removed)."""
        plans = self._plans
        make_plan = self._plan
        parse_ts = ctx.timestamps.parse
        parse_epoch = ctx.timestamps.parse_epoch
        classify = ctx.levels.classify
        level_of = level_from_name
        observed = ctx.observed_ns
        source = ctx.source
        default_service = ctx.service
        default_host = ctx.host
        object_keys = OBJECT_MESSAGE_KEYS
        take = _take
        take_nested = _take_nested
        text = _text
        # Minute of a `…T00:00:05.311Z` stamp -> ns, for this batch only (a batch is one source, so
        # one zone and reference; the parser itself decides everything about the minute).
        minutes: dict[str, int] = {}
        out: list[Record] = []
        append = out.append
        for obj, raw in pairs:
            keys = tuple(obj)
            plan = plans.get(keys)
            if plan is None:
                plan = make_plan(keys)
            msg_c, ts_c, level_c, service_c, host_c, pid_c, trace_c, span_c = plan

            value: Any
            message: str | None = None
            for key, _ in msg_c:
                value = obj.get(key)
                if type(value) is str:
                    # Docker's json-file driver keeps the line's newline in `log`.
                    message = value[:-1] if value.endswith("\n") else value
                    del obj[key]
                    break
                if key in object_keys and type(value) in (dict, list):
                    message = _object_message(obj, key, value)
                    break
            if message is None:
                message = raw

            ts: int | None = None
            for key, _ in ts_c:
                value = obj.get(key)
                kind = type(value)
                if kind is str:
                    # JavaScript's toISOString() layout, the usual one in JSON logs: the parser runs
                    # once per minute and the seconds and milliseconds are added here.
                    if len(value) == 24 and value[23] == "Z" and value[19] == ".":
                        sec = value[17:19]
                        milli = value[20:23]
                        if sec.isdecimal() and milli.isdecimal():
                            minute = value[:17]
                            base = minutes.get(minute)
                            if base is None:
                                parsed = parse_ts(minute + "00.000Z")
                                base = minutes[minute] = _NO_MINUTE if parsed is None else parsed
                            if base != _NO_MINUTE:
                                ts = base + int(sec) * 1_000_000_000 + int(milli) * 1_000_000
                    if ts is None:
                        ts = parse_ts(value)
                elif kind is int or kind is float:
                    ts = parse_epoch(value)
                else:
                    continue
                if ts is not None:
                    del obj[key]
                    break

            level: Level | None = None
            for key, sub in level_c:
                value = obj.get(key)
                if sub is None:
                    if value is None or type(value) is dict:
                        continue
                    level = level_of(value)
                    if level is not None:
                        del obj[key]
                        break
                elif type(value) is dict:
                    level = take_nested(obj, key, value, sub, level_of)
                    if level is not None:
                        break

            service: str | None = None
            for key, sub in service_c:
                value = obj.get(key)
                if sub is None:
                    if type(value) is str and value:
                        service = value
                        del obj[key]
                        break
                elif type(value) is dict:
                    service = take_nested(obj, key, value, sub, text)
                    if service is not None:
                        break

            append(
                Record(
                    ts=observed if ts is None else ts,
                    observed_ts=observed,
                    service=service or default_service,
                    source=source,
                    message=message,
                    raw=raw,
                    level=classify(message) if level is None else level,
                    host=(take(obj, host_c, text) if host_c else None) or default_host,
                    pid=take(obj, pid_c, _pid) if pid_c else None,
                    trace_id=take(obj, trace_c, text) if trace_c else None,
                    span_id=take(obj, span_c, text) if span_c else None,
                    # Last: the arguments above remove their keys from obj as they are evaluated.
                    fields=obj or None,
                )
            )
        return out


def merge_in_order(records: list[Record], bad: list[tuple[int, Record]]) -> list[Record]:
    """Puts the `bad` records (event index, record) back among `records`, which hold the other events."""
    if not bad:
        return records
    merged: list[Record] = []
    good = iter(records)
    for index, record in bad:
        while len(merged) < index:
            merged.append(next(good))
        merged.append(record)
    merged.extend(good)
    return merged


class JsonFormat:
    """JSON lines: each line one object (`{"ts": …, "level": …, "msg": …, …}`)."""

    name: ClassVar[str] = "json"
    multiline: ClassVar[bool] = False

    def __init__(self) -> None:
        self._mapper = StructuredMapper()

    def sniff(self, line: str) -> bool:
        """True for a line that is a whole JSON object."""
        text = line.strip()
        if not (text.startswith("{") and text.endswith("}")):
            return False
        try:
            return type(orjson.loads(text)) is dict
        except orjson.JSONDecodeError:
            return False

    def parse(self, events: list[str], ctx: SourceContext) -> list[Record]:
        """One Record per line; a line that is not a JSON object gets `parse_error` set."""
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        decoded: list[tuple[dict[str, Any], str]] = []
        # Bad lines are rare; they are parsed apart and put back in place at the end, so the common
        # path is one loads() and one append per line.
        bad: list[tuple[int, Record]] = []
        for index, raw in enumerate(events):
            try:
                obj = loads(raw)
            except decode_error as exc:
                reason = exc.msg[:1].lower() + exc.msg[1:] if raw.strip() else "empty line"
                bad.append((index, unparsed_record(raw, f"json: {reason} (char {exc.pos})", ctx)))
                continue
            if type(obj) is not dict:
                kind = JSON_TYPE_NAMES.get(type(obj), type(obj).__name__)
                bad.append((index, unparsed_record(raw, f"json: not an object (got {kind})", ctx)))
                continue
            decoded.append((obj, raw))
        return merge_in_order(self._mapper.records(decoded, ctx), bad)
