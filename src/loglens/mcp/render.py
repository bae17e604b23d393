"""The API's JSON as the compact text the MCP tools answer: one line per record, finding or bucket,
ids kept (so the agent can ask for more), noise left out. Pure functions of the API's answers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from loglens.mcp.guardrails import MESSAGE_CHARS, clip

FIELD_CHARS = 60
FIELDS_CHARS = 300


def record_line(item: dict[str, Any], fields: bool = False, marker: str = "") -> str:
    """`#id ts level service@host: message`, optionally with ` | k=v …` of its parsed fields."""
    host = f"@{item['host']}" if item.get("host") else ""
    ident = f"#{item['id']} " if item.get("id") is not None else ""
    line = f"{marker}{ident}{item['ts']} {item['lvl']} {item['svc']}{host}: {clip(item['msg'])}"
    if fields:
        line += fields_text(item)
    return line


def fields_text(item: dict[str, Any]) -> str:
    """` | tpl=api-9 k=v …` (values and the whole cut short), or nothing when there are none."""
    parts = [f"tpl={item['tpl']}"] if item.get("tpl") else []
    for key, value in (item.get("fields") or {}).items():
        parts.append(f"{key}={clip(str(value), FIELD_CHARS)}")
    text = " ".join(parts)
    if not text:
        return ""
    return " | " + (text if len(text) <= FIELDS_CHARS else text[:FIELDS_CHARS] + "…")


def records_block(records: Sequence[dict[str, Any]], fields: bool = False) -> list[str]:
    return [record_line(item, fields) for item in records]


def full_record(item: dict[str, Any], limit: int = 4 * MESSAGE_CHARS) -> list[str]:
    """A record whole: its header line, then its raw text (a traceback's every line) and fields."""
    lines = [record_line(item, fields=True, marker="> ")]
    raw = str(item.get("raw") or item["msg"])
    if "\n" in raw or len(raw) > MESSAGE_CHARS:
        body = raw if len(raw) <= limit else raw[:limit] + f"… (+{len(raw) - limit} chars)"
        lines.extend("    " + line for line in body.split("\n"))
    return lines


def services_lines(answer: dict[str, Any]) -> list[str]:
    found = answer["services"]
    lines = [f"{len(found)} services (service: records, errors, warnings, first..last):"]
    lines += [
        f"{s['service']}: {s['records']:,} records, {s['errors']:,} errors, {s['warnings']:,} warnings, "
        f"{s['first']}..{s['last']}"
        for s in found
    ]
    return lines


def fields_lines(answer: dict[str, Any]) -> list[str]:
    lines = [
        "record columns (every record): " + ", ".join(answer["columns"]),
        f"parsed fields in the newest {answer['sampled']:,} matching records (name: records holding it, "
        "type, example) — query them as name:value, name:>N, has:name:",
    ]
    for item in answer["fields"]:
        lines.append(
            f"{item['name']}: {item['count']:,} ({item['share']:.0%}), {item['type']}, "
            f"e.g. {item['example']!r}"
        )
    if not answer["fields"]:
        lines.append("(none: these records carry no parsed fields)")
    return lines


def stats_lines(answer: dict[str, Any], total: int) -> list[str]:
    buckets = answer["buckets"]
    lines = [
        f"{total:,} records in {len(buckets)} buckets of {answer['bucket_ms'] // 1000}s by {answer['by']}"
    ]
    for bucket in buckets:
        counts = bucket["counts"]
        parts = " ".join(f"{key or '-'}={n}" for key, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        lines.append(f"{bucket['start']} {sum(counts.values())}: {parts}")
    return lines


def pattern_lines(found: Sequence[dict[str, Any]]) -> list[str]:
    lines = [f"{len(found)} patterns (template id: count, share, trend, level, first..last — template):"]
    for p in found:
        lines.append(
            f"{p['template_id']}: {p['count']:,} ({p['share']:.1%}), {p['trend'].lower()}, {p['level']}, "
            f"{p['first']}..{p['last']} — {clip(p['template'] or p['sample'])}"
        )
    return lines


def anomaly_line(a: dict[str, Any]) -> str:
    template = f" [{a['template_id']}] {clip(a['template'], 160)}" if a.get("template") else ""
    return f"{a['start']} {a['severity']} {a['kind']} {a['service']}: {a['detail']}{template}"


def incident_lines(item: dict[str, Any]) -> list[str]:
    """An incident in two lines: when, how bad, which services; then its root cause."""
    extra = f", {len(item['anomalies'])} anomalies" if "anomalies" in item else ""
    if "matching_lines" in item:
        extra += f", {item['matching_lines']} matching lines"
    lines = [
        f"{item['id']}: {item['severity']}, {item['start']}..{item['end']}, services "
        f"{', '.join(item['services'])}{extra}"
    ]
    root = item.get("root_cause") or {}
    if root:
        first = f"#{root['first_event_id']} " if root.get("first_event_id") is not None else ""
        lines.append(
            f"  root cause: {root['service']} [{root.get('template_id')}] "
            f"{clip(root.get('template') or '', 200)} (confidence {root.get('confidence', 0):.2f}; "
            f"first sign {first}at {root.get('first_event_ts')})"
        )
    return lines


def explain_lines(answer: dict[str, Any]) -> list[str]:
    """What happened, the root cause, the matching failure signature and why, the fix, the evidence
    and the lines around the first sign."""
    explanation = answer.get("explanation") or {}
    lines = incident_lines(answer)
    if explanation.get("what_happened"):
        lines += ["", "what happened: " + explanation["what_happened"]]
    root = explanation.get("root_cause") or {}
    if root.get("reading"):
        lines.append("root cause reading: " + root["reading"])
    signature = explanation.get("signature")
    if signature:
        lines += [
            "",
            f"failure signature: {signature['name']} ({signature['id']}, score {signature['score']})",
        ]
        if signature.get("summary"):
            lines.append("  " + signature["summary"])
        lines += [f"  - {why}" for why in signature.get("why") or ()]
    fix = explanation.get("fix") or []
    if fix:
        lines += ["", "suggested fix:"] + [f"  {i}. {step}" for i, step in enumerate(fix, 1)]
    if explanation.get("confidence") is not None:
        lines.append(f"confidence: {explanation['confidence']}")
    evidence = answer.get("evidence") or []
    if evidence:
        lines += ["", f"evidence ({len(evidence)} lines):"] + [_finding_record(e) for e in evidence[:20]]
    context = answer.get("context") or {}
    if context.get("anchor"):
        lines += ["", "around the first sign:"]
        lines += [_finding_record(e) for e in context.get("before") or ()]
        lines.append(_finding_record(context["anchor"], "> "))
        lines += [_finding_record(e) for e in context.get("after") or ()]
    for insight in answer.get("insights") or ():
        lines += ["", "LLM insight: " + clip(str(insight.get("text") or insight), 2000)]
    return lines


def _finding_record(item: dict[str, Any], marker: str = "") -> str:
    """A record as findings carry it (`id, ts, service, level, message`)."""
    return f"{marker}#{item['id']} {item['ts']} {item['level']} {item['service']}: {clip(item['message'])}"


def summary_lines(found: Sequence[dict[str, Any]]) -> list[str]:
    lines = [f"{len(found)} services, busiest first (health 0–100; restarts; anomalies):"]
    for s in found:
        levels = ", ".join(f"{k} {v:,}" for k, v in s["levels"].items())
        lines.append(
            f"{s['service']}: {s['total']:,} lines ({levels}); health {s['health']}, "
            f"{s['anomalies']} anomalies, {s['restarts']} restarts, {s['error_templates']} error templates"
        )
        if s.get("last_error"):
            lines.append(f"  last error {s['last_error']['ts']}: {clip(s['last_error']['message'], 200)}")
        tops = "; ".join(f"{p['template_id']} ×{p['count']:,}" for p in s.get("top_patterns") or ())
        if tops:
            lines.append(f"  top patterns: {tops}")
    return lines


def diff_lines(answer: dict[str, Any]) -> list[str]:
    a, b, totals = answer["a"], answer["b"], answer.get("totals") or {}
    lines = [_diff_side("A", a), _diff_side("B", b)]
    for key, title in (("new", "new in B"), ("gone", "gone from A"), ("changed", "changed in frequency")):
        items = answer.get(key) or []
        lines.append(f"{title}: {totals.get(key, len(items))} (showing {len(items)})")
        for t in items:
            ratio = f" ×{t['ratio']}" if t.get("ratio") is not None else ""
            lines.append(
                f"  {t['template_id']} {t['service']} {t['level']}: A {t['a']:,} → B {t['b']:,}{ratio} "
                f"(z {t['z']}) — {clip(t['template'], 200)}"
            )
    levels = answer.get("levels") or []
    if levels:
        lines.append(
            "levels (share A → B): "
            + ", ".join(f"{x['level']} {x['share_a']:.1%} → {x['share_b']:.1%}" for x in levels)
        )
    return lines


def _diff_side(name: str, side: dict[str, Any]) -> str:
    what = side.get("range") or side.get("source")
    return f"{name}: {what} ({side['since']}..{side['until'] or 'now'}), {side['records']:,} records"


def ask_lines(answer: dict[str, Any]) -> list[str]:
    lines = [
        "understood: " + answer["understood"],
        f"query: {answer['query']}  (since {answer.get('since')}, until {answer.get('until') or 'now'})",
        "answer: " + answer["answer"],
    ]
    if answer.get("narrative"):
        lines.append("narrative: " + answer["narrative"])
    records = answer.get("records") or []
    if records:
        lines += [f"lines ({answer.get('matched', len(records))} matched):"] + [
            _finding_record(r) for r in records
        ]
    for p in answer.get("patterns") or ():
        lines.append(f"pattern {p['template_id']} ×{p['count']:,} {p['service']}: {clip(p['template'], 200)}")
    for item in answer.get("incidents") or ():
        lines.extend(incident_lines(item) if "services" in item else [f"incident {item.get('id')}"])
    return lines


def trace_lines(answer: dict[str, Any], fields: bool) -> list[str]:
    if not answer["records"]:
        return [f"no record carries the trace or request id {answer['trace_id']!r} (in trace_id, traceId, "
                "request_id, correlation_id … fields) in the range"]  # fmt: skip
    services = ", ".join(
        f"{s['service']} ({s['records']} records, {s['errors']} errors, {s['first']}..{s['last']})"
        for s in answer["services"]
    )
    more = " (the first ones: more exist, raise limit or narrow the range)" if answer["truncated"] else ""
    lines = [
        f"trace {answer['trace_id']}: {answer['count']} records{more} over "
        f"{duration(answer['duration_ms'])}, {answer['first']}..{answer['last']}",
        "services in order of appearance: " + services,
    ]
    return lines + records_block(answer["records"], fields)


def duration(ms: int) -> str:
    """`850 ms`, `12.5 s`, `62 min`."""
    if ms < 1000:
        return f"{ms} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms // 60_000} min"


def alert_line(alert: dict[str, Any]) -> str:
    shown = {k: v for k, v in (alert.get("labels") or {}).items() if k not in ("rule", "severity")}
    labels = ",".join(f"{k}={v}" for k, v in shown.items())
    return (
        f"{alert['id']}: {alert['severity']} {alert['state']} rule={alert['rule']} ×{alert.get('count', 1)} "
        f"{alert.get('first_ts')}..{alert.get('last_ts')} {labels} — {clip(alert.get('title') or '', 200)}"
    )


def alerts_lines(answer: dict[str, Any], state: str) -> list[str]:
    alerts = answer["alerts"]
    counts = answer.get("counts") or {}
    lines = [f"{len(alerts)} {state} alerts ({counts.get('open', 0)} open now):"]
    return lines + [alert_line(a) for a in alerts]


def rule_line(rule: dict[str, Any]) -> str:
    keys = ("query", "regex", "template", "window", "threshold", "op", "min_severity", "service")
    detail = " ".join(f"{k}={rule[k]!r}" for k in keys if rule.get(k) not in (None, "", []))
    return f"{rule['name']} ({rule['type']}, {rule['severity']}, from {rule.get('source', 'api')}) {detail}"


def live_event_line(item: dict[str, Any]) -> Iterable[str]:
    """A pushed item (as `subscriptions.compact_message` makes it) as text, for logstream_poll."""
    kind = item["type"]
    if kind == "records":
        more = f" (+{item['more']} more not kept)" if item.get("more") else ""
        yield f"{len(item['records'])} records{more}:"
        for r in item["records"]:
            yield f"  {r['ts']} {r['lvl']} {r['svc']}: {r['msg']}"
    elif kind == "anomaly":
        a = item["anomaly"]
        yield f"anomaly: {a['start']} {a['severity']} {a['kind']} {a['service']}: {a['detail']}"
    elif kind == "incident":
        i = item["incident"]
        yield f"incident {item['state']}: {i['id']} {i['severity']} services {', '.join(i['services'])}"
    elif kind == "alert":
        for alert in item["alerts"]:
            yield f"alert {item['change']}: " + alert_line(alert)
    else:
        yield f"{kind}: {item.get('reason', '')}"
