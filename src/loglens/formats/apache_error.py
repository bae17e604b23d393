"""Apache httpd's error log: `[Sun Dec 04 04:47:44 2005] [notice] message` (2.2) and
`[Sun Dec 04 04:47:44.123456 2005] [core:error] [pid 42:tid 7] [client 1.2.3.4:5] message` (2.4).

The stamp has no zone (it is the server's local time); the level and module come from the bracket
after it; pid, thread and client go to fields.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

from loglens.formats.base import SourceContext, process_id, unparsed_record, whole_number
from loglens.formats.level import level_from_name
from loglens.record import Record

_LEVELS: Final = r"emerg|alert|crit|error|warn|notice|info|debug|trace[1-8]"
# Groups: stamp, module, level, pid, thread, client, message.
_LINE: Final = re.compile(
    r"\[([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4})\] "
    rf"\[(?:([\w-]+):)?({_LEVELS})\] "
    r"(?:\[pid (\d+)(?::tid (\d+))?\] )?"
    r"(?:\[(?:client|remote) ([^\]]+)\] )?"
    r"(.*)",
    re.DOTALL,
)


class ApacheErrorFormat:
    """Apache httpd error log lines (2.2 and 2.4 layouts)."""

    name: ClassVar[str] = "apache_error"
    multiline: ClassVar[bool] = False

    def sniff(self, line: str) -> bool:
        """True for `[ctime] [level] …` or `[ctime] [module:level] …`."""
        return line[:1] == "[" and _LINE.match(line) is not None

    def parse(self, events: list[str], ctx: SourceContext) -> list[Record]:
        """One Record per line; a line in neither layout gets `parse_error` set."""
        parse_ts = ctx.timestamps.parse
        observed = ctx.observed_ns
        out: list[Record] = []
        for raw in events:
            match = _LINE.match(raw)
            if match is None:
                out.append(unparsed_record(raw, "apache_error: not an Apache error log line", ctx))
                continue
            stamp, module, level_name, pid, thread, client, message = match.groups()
            fields: dict[str, Any] = {}
            if module:
                fields["module"] = module
            if thread:
                fields["tid"] = whole_number(thread)
            if client:
                fields["client"] = client
            ts = parse_ts(stamp)
            out.append(
                Record(
                    ts=observed if ts is None else ts,
                    observed_ts=observed,
                    service=ctx.service,
                    source=ctx.source,
                    message=message.strip(),
                    raw=raw,
                    level=level_from_name(level_name[:5] if level_name.startswith("trace") else level_name)
                    or ctx.levels.classify(message),
                    host=ctx.host,
                    pid=process_id(pid) if pid else None,
                    fields=fields or None,
                )
            )
        return out
