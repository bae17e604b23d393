"""Tests for loglens.server.workspace (context, host metrics, annotations) and /api/stats by template,
on a real daemon."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from daemon_helpers import Up


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    daemon = Up(tmp_path_factory.mktemp("workspace"))
    body = "".join(
        f"2026-11-27 10:00:{i:02d} {'ERROR' if i % 5 == 0 else 'INFO'} step {i} of job\n" for i in range(40)
    )
    assert daemon.client.post("/ingest", params={"service": "ctx"}, content=body.encode()).status_code == 200
    other = "".join(f"2026-11-27 10:00:{i:02d} INFO other {i}\n" for i in range(40))
    assert (
        daemon.client.post("/ingest", params={"service": "noise"}, content=other.encode()).status_code == 200
    )
    try:
        yield daemon
    finally:
        daemon.stop()


class TestContext:
    def test_lines_around_a_moment_of_one_service(self, up: Up) -> None:
        got = up.client.get(
            "/api/context", params={"ts": "2026-11-27T10:00:20Z", "service": "ctx", "before": 3, "after": 2}
        ).json()
        assert [r["msg"] for r in got["before"]] == [f"step {i} of job" for i in (17, 18, 19, 20)]
        assert [r["msg"] for r in got["after"]] == ["step 21 of job", "step 22 of job"]
        assert all(r["svc"] == "ctx" and "id" in r for r in got["before"] + got["after"])

    def test_bad_moment_is_a_400(self, up: Up) -> None:
        answer = up.client.get("/api/context", params={"ts": "yesterday-ish", "service": "ctx"})
        assert answer.status_code == 400 and answer.json()["error"]


class TestAnnotations:
    def test_add_list_delete(self, up: Up) -> None:
        note = {"since": "2026-11-27T10:00:05Z", "until": "2026-11-27T10:00:30Z", "text": "<b>deploy</b> 42"}
        created = up.client.post("/api/annotations", json=note)
        assert created.status_code == 201
        stored = created.json()
        assert stored["text"] == "<b>deploy</b> 42" and stored["kind"] == "note" and stored["id"] >= 1
        mark = {"since": "2026-11-27T10:00:10Z", "text": "this one", "kind": "bookmark", "service": "ctx"}
        assert up.client.post("/api/annotations", json=mark).status_code == 201
        inside = up.client.get(
            "/api/annotations", params={"since": "2026-11-27T10:00:20Z", "until": "2026-11-27T11:00:00Z"}
        )
        assert [a["text"] for a in inside.json()] == ["<b>deploy</b> 42"]  # the bookmark at :10 is before
        everything = up.client.get("/api/annotations").json()
        assert [a["kind"] for a in everything] == ["note", "bookmark"]
        assert up.client.delete(f"/api/annotations/{stored['id']}").status_code == 204
        assert up.client.delete(f"/api/annotations/{stored['id']}").status_code == 404
        assert [a["text"] for a in up.client.get("/api/annotations").json()] == ["this one"]

    def test_bad_annotations_say_why(self, up: Up) -> None:
        wrong_kind = up.client.post("/api/annotations", json={"since": "now", "text": "x", "kind": "sticker"})
        assert (
            wrong_kind.status_code == 400
            and "kind must be one of note, bookmark" in wrong_kind.json()["error"]
        )
        backwards = up.client.post(
            "/api/annotations",
            json={"since": "2026-11-27T10:00:05Z", "until": "2026-11-27T10:00:00Z", "text": "x"},
        )
        assert backwards.status_code == 400 and "until is before since" in backwards.json()["error"]
        assert up.client.post("/api/annotations", json={"since": "now", "text": ""}).status_code == 422


class TestStatsByTemplate:
    def test_counts_per_template_per_bucket(self, up: Up) -> None:
        stats = up.client.get(
            "/api/stats",
            params={"service": "ctx", "by": "template", "bucket": "1m", "since": "2026-11-27T09:00:00Z"},
        ).json()
        assert stats["by"] == "template" and len(stats["buckets"]) == 1
        counts = stats["buckets"][0]["counts"]
        assert sum(counts.values()) == 40 and all(key.startswith("ctx-") for key in counts)


class TestHost:
    def test_samples_of_this_machine(self, up: Up) -> None:
        deadline = time.monotonic() + 15
        while len(samples := up.client.get("/api/host").json()["samples"]) < 2:
            assert time.monotonic() < deadline, samples
            time.sleep(0.5)
        last = samples[-1]
        assert 0 <= last["cpu"] <= 100 and 0 < last["mem"] < 100
        assert all(last[key] >= 0 for key in ("disk_read", "disk_write", "net_in", "net_out"))
        future = up.client.get("/api/host", params={"since": "2099-01-01T00:00:00Z"}).json()
        assert future["samples"] == [] and future["every_s"] == 5.0
