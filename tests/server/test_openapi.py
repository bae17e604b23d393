"""The OpenAPI description at /openapi.json documents every route the daemon serves."""

from __future__ import annotations

from pathlib import Path

from daemon_helpers import Up


def test_every_route_is_described(tmp_path: Path) -> None:
    """Each HTTP route of the API, ingest and shipper protocols is in /openapi.json with a summary
    and a description; the query API's parameters have descriptions or are self-explaining."""
    daemon = Up(tmp_path)
    spec = daemon.client.get("/openapi.json").json()
    daemon.stop()
    paths = spec["paths"]
    expected = {
        "/ingest", "/loki/api/v1/push", "/_bulk", "/{index}/_bulk", "/v1/logs", "/services/collector/event",
        "/services/collector/raw", "/api/v2/logs", "/api/health", "/api/logs", "/api/stats", "/api/patterns",
        "/api/anomalies", "/api/incidents", "/api/incidents/{incident_id}",
        "/api/incidents/{incident_id}/explain", "/api/summary", "/api/diff", "/api/metrics/series",
        "/api/sql", "/api/live/sse", "/metrics",
    }  # fmt: skip
    assert expected <= set(paths), expected - set(paths)
    undocumented = [
        (path, method)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if not operation.get("summary") or not operation.get("description")
    ]
    assert undocumented == []
