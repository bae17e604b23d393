"""Tests for loglens.ai.insights: the worker asks a real OpenAI-compatible stub over HTTP and keeps
valid insights in a real DuckDB store, skips what it already knows, drops when full, and survives
an endpoint that is down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llm_stub import LlmStub, explain_sample, refused_url
from loglens.ai.insights import InsightWorker, insights_for
from loglens.ai.llm import LlmClient, LlmSettings
from loglens.store.duckdb import DuckDBStore

ANSWER = {
    "cause": "An SSH brute-force attack from 193.97.59.47.",
    "evidence_ids": [83485, 83141, 7],
    "fix": "Block the address and enable fail2ban.",
    "confidence": 0.75,
}


def client_for(url: str, **kw: Any) -> LlmClient:
    return LlmClient(LlmSettings(base_url=url, model="stub", backoff=0.01, **kw), env={})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    opened = DuckDBStore(tmp_path / "loglens.duckdb")
    yield opened
    opened.close()


def template(tid: str, record_id: int) -> dict[str, Any]:
    return {
        "id": tid,
        "service": "billing",
        "text": f"Payment <*> failed ({tid})",
        "count": 4,
        "examples": [{"id": record_id, "message": f"Payment pi_{record_id} failed"}],
    }


def item(tid: str, record_id: int) -> dict[str, Any]:
    return {
        "template_id": tid,
        "cause": f"cause of {tid}",
        "evidence_ids": [record_id],
        "fix": "retry",
        "confidence": 0.5,
    }


class TestIncidents:
    def test_insight_stored(self, store: DuckDBStore) -> None:
        """A submitted incident's valid insight is stored as an insight document about that incident."""
        with LlmStub() as stub:
            stub.ok(ANSWER, usage=(900, 80), model="llama3.1:8b")
            worker = InsightWorker(client_for(stub.url), store)
            assert worker.submit_incident(explain_sample(), None)
            worker.close(timeout=10)
        [stored] = insights_for(store, "incident:inc-20261121-0116-api")
        assert stored["subject"] == "incident:inc-20261121-0116-api"
        assert stored["evidence_ids"] == [83485, 83141]
        assert (stored["cause"], stored["fix"], stored["confidence"]) == (
            ANSWER["cause"],
            ANSWER["fix"],
            0.75,
        )
        assert stored["model"] == "llama3.1:8b"
        assert stored["tokens"] == {"prompt": 900, "answer": 80}
        assert stored["created"].endswith("Z")
        assert [d.state for d in store.documents("insight")] == ["incident"]
        assert worker.counts["stored"] == worker.counts["analysed"] == 1

    def test_subject_already_analysed_skipped(self, store: DuckDBStore) -> None:
        """An incident that already has an insight is not asked about again, by this worker or a new
        one over the same store."""
        with LlmStub() as stub:
            stub.ok(ANSWER)
            first = InsightWorker(client_for(stub.url), store)
            first.submit_incident(explain_sample(), None)
            first.submit_incident(explain_sample(), None)
            first.close(timeout=10)
            second = InsightWorker(client_for(stub.url), store)
            second.submit_incident(explain_sample(), None)
            second.close(timeout=10)
        assert len(stub.requests) == 1
        assert (first.counts["skipped"], second.counts["skipped"]) == (1, 1)
        assert len(insights_for(store, "incident:inc-20261121-0116-api")) == 1

    def test_discarded_answer_not_stored(self, store: DuckDBStore) -> None:
        """An answer citing no evidence it was shown is counted as discarded and nothing is stored."""
        with LlmStub() as stub:
            stub.malformed("unknown_ids")
            worker = InsightWorker(client_for(stub.url), store)
            worker.submit_incident(explain_sample(), None)
            worker.close(timeout=10)
        assert worker.counts["discarded"] == 1 and worker.counts["stored"] == 0
        assert store.documents("insight") == []
        assert worker.client.discarded == {"no_known_evidence": 1}

    def test_survives_refused_endpoint(self, store: DuckDBStore) -> None:
        """With the endpoint down, each incident is counted as failed and the thread keeps going."""
        worker = InsightWorker(client_for(refused_url(), retries=0), store)
        worker.submit_incident(explain_sample("inc-a"), None)
        worker.submit_incident(explain_sample("inc-b"), None)
        worker.close(timeout=10)
        assert worker.counts["failed"] == 2
        assert store.documents("insight") == []

    def test_thread_alive_after_failure(self, store: DuckDBStore) -> None:
        """After a failed call the worker still answers the next incident."""
        with LlmStub() as stub:
            stub.status(400, "bad request").ok(ANSWER)
            worker = InsightWorker(client_for(stub.url), store)
            worker.submit_incident(explain_sample("inc-a"), None)
            worker.submit_incident(explain_sample("inc-b"), None)
            worker.close(timeout=10)
        assert worker.counts["failed"] == 1 and worker.counts["stored"] == 1
        assert insights_for(store, "incident:inc-b") and not insights_for(store, "incident:inc-a")

    def test_budget_refusal_counted(self, store: DuckDBStore) -> None:
        """A call the hourly cap refuses is counted as budget_refused and never reaches the endpoint."""
        with LlmStub() as stub:
            worker = InsightWorker(client_for(stub.url, max_tokens_per_hour=100), store)
            worker.submit_incident(explain_sample(), None)
            worker.close(timeout=10)
        assert worker.counts["budget_refused"] == 1
        assert stub.requests == []


class TestQueue:
    def test_dropped_when_full(self, store: DuckDBStore) -> None:
        """Past queue_size, submits return False at once and are counted as dropped; what was queued
        is still analysed."""
        with LlmStub() as stub:
            stub.ok(ANSWER).ok(ANSWER)
            worker = InsightWorker(client_for(stub.url), store, queue_size=2, autostart=False)
            accepted = [worker.submit_incident(explain_sample(f"inc-{i}"), None) for i in range(3)]
            assert accepted == [True, True, False]
            assert worker.submit_templates([template("t-1", 1)]) is False
            assert (worker.counts["submitted"], worker.counts["dropped"]) == (2, 2)
            worker.start()
            worker.close(timeout=10)
        assert worker.counts["stored"] == 2

    def test_closed_worker_refuses(self, store: DuckDBStore) -> None:
        """After close, submits are refused and counted as dropped."""
        worker = InsightWorker(client_for(refused_url()), store)
        worker.close(timeout=10)
        assert not worker.alive
        assert worker.submit_incident(explain_sample(), None) is False
        assert worker.counts["dropped"] == 1


class TestTemplates:
    def test_batched_per_call(self, store: DuckDBStore) -> None:
        """Templates go to the LLM batch_size at a time, the rest when the worker closes, and each
        valid item is stored as an insight about its template."""
        with LlmStub() as stub:
            stub.ok({"insights": [item("t-1", 11), item("t-2", 12)]}).ok({"insights": [item("t-3", 13)]})
            worker = InsightWorker(client_for(stub.url), store, batch_size=2, interval=60)
            assert worker.submit_templates([template("t-1", 11), template("t-2", 12), template("t-3", 13)])
            worker.close(timeout=10)
        asked = [r.body["messages"][1]["content"] for r in stub.requests]
        assert len(asked) == 2
        assert "Template t-1" in asked[0] and "Template t-2" in asked[0] and "t-3" not in asked[0]
        assert "Template t-3" in asked[1]
        assert [d.state for d in store.documents("insight")] == ["template"] * 3
        [one] = insights_for(store, "template:t-2")
        assert one["cause"] == "cause of t-2" and one["evidence_ids"] == [12]

    def test_interval_flushes_a_partial_batch(self, store: DuckDBStore) -> None:
        """A batch that does not fill is sent once `interval` has passed, without closing."""
        with LlmStub() as stub:
            stub.ok({"insights": [item("t-1", 11)]})
            worker = InsightWorker(client_for(stub.url), store, batch_size=10, interval=0.2)
            worker.submit_templates([template("t-1", 11)])
            for _ in range(100):
                if worker.counts["stored"]:
                    break
                time.sleep(0.05)
            stored = worker.counts["stored"]
            worker.close(timeout=10)
        assert stored == 1

    def test_known_templates_skipped(self, store: DuckDBStore) -> None:
        """A template with an insight already is left out of the next batch."""
        with LlmStub() as stub:
            stub.ok({"insights": [item("t-1", 11)]}).ok({"insights": [item("t-2", 12)]})
            worker = InsightWorker(client_for(stub.url), store, batch_size=1)
            worker.submit_templates([template("t-1", 11)])
            worker.submit_templates([template("t-1", 11), template("t-2", 12)])
            worker.close(timeout=10)
        assert len(stub.requests) == 2
        assert worker.counts["skipped"] == 1
        assert {d.body["subject"] for d in store.documents("insight")} == {"template:t-1", "template:t-2"}
