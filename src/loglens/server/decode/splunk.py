"""Splunk's HTTP Event Collector: `/services/collector/event` (JSON envelopes, concatenated) and
`/services/collector/raw` (plain lines), plus the `{"text", "code"}` replies HEC clients read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from loglens.formats.base import SourceContext, unparsed_record
from loglens.formats.json import StructuredMapper
from loglens.formats.level import LevelClassifier, level_from_name
from loglens.json_text import dumps_any
from loglens.record import Record
from loglens.server.decode.base import (
    DEFAULT_MAX_RECORDS,
    Decoded,
    PayloadError,
    PayloadTooLarge,
    check_record_count,
    json_error_reason,
    request_context,
    split_lines,
)
from loglens.server.decode.structured import has_role, override_role, restore

__all__ = ["HecDecoded", "NoData", "decode_hec_event", "decode_hec_raw", "hec_error_response", "hec_response"]

SOURCE: Final = "hec"
# HEC status codes (Splunk's "Troubleshoot HTTP Event Collector" table).
CODE_SUCCESS: Final = 0
CODE_NO_DATA: Final = 5
CODE_INVALID_FORMAT: Final = 6
CODE_EVENT_REQUIRED: Final = 12
CODE_EVENT_BLANK: Final = 13
_TEXTS: Final = {
    CODE_SUCCESS: "Success",
    CODE_NO_DATA: "No data",
    CODE_INVALID_FORMAT: "Invalid data format",
    CODE_EVENT_REQUIRED: "Event field is required",
    CODE_EVENT_BLANK: "Event field cannot be blank",
}
# Envelope keys that are metadata, not event data, and land in fields under their own names.
_META_FIELDS: Final = ("index", "source", "sourcetype")
_LEVEL_FIELDS: Final = ("level", "severity", "log.level", "status")
_SERVICE_FIELDS: Final = ("service", "service.name", "service_name")

_MAPPER = StructuredMapper()
_DECODER = json.JSONDecoder()
_WHITESPACE: Final = " \t\r\n"


@dataclass(slots=True)
class HecDecoded(Decoded):
    """`Decoded` plus what HEC's reply reports: the first event Splunk would have refused (0-based)
    and the HEC code saying why (6 invalid format, 12 event missing, 13 event blank)."""

    invalid_event: int | None = None
    invalid_code: int = CODE_SUCCESS


class NoData(PayloadError):
    """A HEC body with no event or line in it (HEC code 5)."""


class _Events:
    """Collects one request's records and the first invalid event."""

    def __init__(self, ctx: SourceContext, max_records: int) -> None:
        self.ctx = ctx
        self.max_records = max_records
        self.records: list[Record] = []
        self.errors: list[str] = []
        self.invalid_event: int | None = None
        self.invalid_code = CODE_SUCCESS

    def count(self) -> int:
        """Index of the next event, after checking the limit."""
        check_record_count(len(self.records) + 1, self.max_records)
        return len(self.records)

    def bad(self, raw: str, number: int, code: int, problem: str) -> None:
        self.errors.append(f"event {number}: {problem}")
        self.records.append(unparsed_record(raw, f"{SOURCE}: {problem}", self.ctx))
        if self.invalid_event is None:
            self.invalid_event = number
            self.invalid_code = code

    def result(self) -> HecDecoded:
        return HecDecoded(self.records, self.errors, self.invalid_event, self.invalid_code)


def decode_hec_event(
    body: bytes,
    received_ns: int,
    *,
    max_records: int = DEFAULT_MAX_RECORDS,
    levels: LevelClassifier | None = None,
) -> HecDecoded:
    """One record per HEC event envelope of a body (already decompressed); envelopes are JSON objects
    one after another, with or without whitespace between them.

    `event` is the message when it is a string; an object event is read by loglens's JSON conventions
    (its own message, level, time…). The envelope's `time` (epoch seconds) and `host` win over the
    event's own; `index`, `source` and `sourcetype` go into fields, and so do the indexed `fields`.
    The service is the event's, else a `service` indexed field, else ``hec``. An envelope without a
    usable `event` is an error and kept raw; text that stops being JSON is one last raw record (what
    follows it cannot be framed), as Splunk stops there too. Errors count events from 0 ("event 2: …"),
    as HEC's `invalid-event-number` does.

    Raises:
        NoData: an empty body.
        PayloadTooLarge: more than `max_records` events.
    """
    text = body.decode("utf-8", "replace")
    ctx = request_context(SOURCE, SOURCE, None, received_ns, levels)
    events = _Events(ctx, max_records)
    pos = _skip_space(text, 0)
    if pos == len(text):
        raise NoData("No data: the body holds no events")
    while pos < len(text):
        number = events.count()
        try:
            end = _DECODER.raw_decode(text, pos)[1]
        except (ValueError, RecursionError) as exc:  # ValueError: also a number of over 4,300 digits
            reason = (
                f"{json_error_reason(exc)} at char {exc.pos}"
                if isinstance(exc, json.JSONDecodeError)
                else exc
            )
            events.bad(text[pos:].strip(), number, CODE_INVALID_FORMAT, f"not JSON ({reason})")
            break
        raw = text[pos:end]
        pos = _skip_space(text, end)
        try:
            # The standard decoder frames envelopes; orjson reads them as every other decoder does, so
            # no lone surrogate or integer past 64 bits gets into a record the store could not write.
            envelope = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            events.bad(raw, number, CODE_INVALID_FORMAT, f"not JSON ({json_error_reason(exc)})")
            continue
        if type(envelope) is not dict:
            events.bad(raw, number, CODE_INVALID_FORMAT, "not a JSON object")
            continue
        event = envelope.get("event")
        if event is None:
            events.bad(raw, number, CODE_EVENT_REQUIRED, 'no "event" field')
        elif event == "" or event == {}:
            events.bad(raw, number, CODE_EVENT_BLANK, 'the "event" field is blank')
        else:
            events.records.append(_event_record(envelope, event, raw, ctx))
    return events.result()


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _envelope_fields(envelope: Mapping[str, Any]) -> dict[str, Any]:
    fields = {key: envelope[key] for key in _META_FIELDS if envelope.get(key) is not None}
    indexed = envelope.get("fields")
    if type(indexed) is dict:
        fields.update(indexed)
    return fields


def _first_text(fields: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = fields.get(name)
        if type(value) is str and value:
            return value
    return None


def _envelope_time(envelope: Mapping[str, Any], ctx: SourceContext) -> int | None:
    value = envelope.get("time")
    if isinstance(value, int | float | str):
        return ctx.timestamps.parse_epoch(value)
    return None


def _event_record(envelope: dict[str, Any], event: Any, raw: str, ctx: SourceContext) -> Record:
    fields = _envelope_fields(envelope)
    ts = _envelope_time(envelope, ctx)
    host = envelope.get("host")
    host = host if type(host) is str and host else None
    level_name = _first_text(fields, _LEVEL_FIELDS)
    level = level_from_name(level_name)
    service = _first_text(fields, _SERVICE_FIELDS)
    if type(event) is dict:
        # The event's own JSON is the log line; the envelope around it is transport.
        line = dumps_any(event).decode()
        stash: dict[str, Any] = {}
        if ts is not None:
            stash.update(override_role(event, "time", ts))
        if host is not None:
            stash.update(override_role(event, "host", host))
        if level is not None and not has_role(event, "level"):
            override_role(event, "level", level_name)
        if service is not None and not has_role(event, "service"):
            override_role(event, "service", service)
        record = _MAPPER.records([(event, line)], ctx)[0]
        record.fields = restore(record.fields, stash, fields)
        return record
    message = event if type(event) is str else dumps_any(event).decode()
    return Record(
        ts=ctx.observed_ns if ts is None else ts,
        observed_ts=ctx.observed_ns,
        service=service or ctx.service,
        source=SOURCE,
        message=message,
        raw=message,
        level=ctx.levels.classify(message) if level is None else level,
        host=host,
        fields=fields or None,
    )


def decode_hec_raw(
    body: bytes,
    received_ns: int,
    params: Mapping[str, str] | None = None,
    *,
    max_records: int = DEFAULT_MAX_RECORDS,
    levels: LevelClassifier | None = None,
) -> HecDecoded:
    """One record per non-blank line of a raw HEC body (already decompressed), timed `received_ns`.

    `params` are the request's query arguments: `host` gives the host, `index`, `source`,
    `sourcetype` and `channel` (or the `X-Splunk-Request-Channel` header, passed in as `channel`) go
    into fields. The lines are not parsed: the level comes from their words.

    Raises:
        NoData: an empty body.
        PayloadTooLarge: more than `max_records` lines.
    """
    params = params or {}
    host = params.get("host") or None
    fields = {key: params[key] for key in (*_META_FIELDS, "channel") if params.get(key)}
    ctx = request_context(SOURCE, SOURCE, host, received_ns, levels)
    records: list[Record] = []
    for _, line in split_lines(body):
        check_record_count(len(records) + 1, max_records)
        text = line.decode("utf-8", "replace")
        records.append(
            Record(
                ts=received_ns,
                observed_ts=received_ns,
                service=ctx.service,
                source=SOURCE,
                message=text,
                raw=text,
                level=ctx.levels.classify(text),
                host=host,
                fields=dict(fields) or None,
            )
        )
    if not records:
        raise NoData("No data: the body holds no lines")
    return HecDecoded(records, [])


def hec_response(decoded: HecDecoded) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of HEC's reply: 200 `{"text": "Success", "code": 0}`, or 400 with the code
    and `invalid-event-number` of the first invalid event, as Splunk answers.

    HEC clients treat that 400 as final and do not resend the batch, which suits loglens: the valid
    events are stored and the invalid ones are kept raw.
    """
    if decoded.invalid_event is None:
        return 200, {"text": _TEXTS[CODE_SUCCESS], "code": CODE_SUCCESS}
    code = decoded.invalid_code
    return 400, {"text": _TEXTS[code], "code": code, "invalid-event-number": decoded.invalid_event}


def hec_error_response(error: PayloadError) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) for a body that could not be read at all: 413 when too large, otherwise
    400 "No data" for an empty body and "Invalid data format" for the rest."""
    if isinstance(error, PayloadTooLarge):
        return 413, {"text": str(error), "code": CODE_INVALID_FORMAT}
    if isinstance(error, NoData):
        return 400, {"text": _TEXTS[CODE_NO_DATA], "code": CODE_NO_DATA}
    return 400, {"text": _TEXTS[CODE_INVALID_FORMAT], "code": CODE_INVALID_FORMAT}
