"""The daemon's path from findings to insights, with real parts: the shared generator's corpus in a
DuckDB store, fed in order to the daemon's `LiveWatch`; each closed incident and new error shape
handed to the insight worker, which asks a local OpenAI-compatible stub over HTTP and stores the
answers; `loglens explain`'s report then shows them. And `loglens ask` worded by the same stub."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC
from typing import Any

import pytest

from conftest import shared_dir
from llm_stub import LlmStub
from loglens.ai.alert_context import alert_explanation, ask_for_insight
from loglens.ai.ask import answer_question
from loglens.ai.incident_report import incident_report
from loglens.ai.insights import InsightWorker, insights_for
from loglens.ai.llm import LlmClient, LlmSettings
from loglens.alerts.replay import stored_batches
from loglens.analysis.live_watch import LiveWatch
from loglens.config import Config
from loglens.formats.timestamp import from_iso_ms
from loglens.pipeline import Ingestor
from loglens.store.duckdb import DuckDBStore

ID_TAG = re.compile(r"\[id (\d+)\]")
TEMPLATE_BLOCK = re.compile(r"Template (\S+) \(service(.*?)(?=Template \S+ \(service|\Z)", re.DOTALL)
INCIDENT = re.compile(r"(?s).*?Incident (\S+) from")
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")


def reads_its_prompt(body: dict[str, Any]) -> dict[str, Any]:
    """A model that cites the first line it was shown (so the answer is valid for any prompt)."""
    prompt = "\n".join(m["content"] for m in body["messages"])
    ids = [int(n) for n in ID_TAG.findall(prompt)]
    if '"insights"' in body["messages"][0]["content"]:
        blocks = TEMPLATE_BLOCK.findall(prompt)
        return {
            "insights": [
                {"template_id": template_id, "cause": "a new failure", "fix": "look at it", "confidence": 0.4,
                 "evidence_ids": [int(n) for n in ID_TAG.findall(block)][:1]}
                for template_id, block in blocks
            ]
        }  # fmt: skip
    return {
        "cause": "the first line says it",
        "evidence_ids": ids[:1],
        "fix": "do the obvious",
        "confidence": 0.7,
    }


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> tuple[DuckDBStore, list[dict[str, Any]], LiveWatch]:
    gen = shared_dir() / "bench" / "gen_corpus.py"
    if not gen.exists():
        pytest.skip(f"{gen} not found: the shared corpus generator is needed (set LOGLENS_SHARED)")
    root = tmp_path_factory.mktemp("insights")
    subprocess.run([sys.executable, str(gen), "--lines", "60000", "--seed", "42", "--out", str(root / "c"),
                    "--quiet", "--jobs", "2"], check=True)  # fmt: skip
    store = DuckDBStore(root / "s.duckdb", memory_limit="256MB")
    Ingestor(store, Config(timezone=UTC)).ingest_paths([str(root / "c")])
    events: list[dict[str, Any]] = []
    watch = LiveWatch(Config().analysis, events.append, store.template_texts)
    for batch in stored_batches(store, None, None):
        watch.add(batch)
    watch.tick(watch.watcher.newest_ns + 3600 * 10**9 if watch.watcher.newest_ns else None)
    yield store, events, watch
    store.close()


class TestInsights:
    def test_closed_incidents_get_stored_insights(
        self, watched: tuple[DuckDBStore, list[dict[str, Any]], LiveWatch]
    ) -> None:
        """Every incident the watch closed is analysed once, its insight stored and cited from a line it
        was shown, and the explain report carries it; prompts hold no e-mail address."""
        store, events, watch = watched
        closed = [e["incident"]["id"] for e in events if e["type"] == "incident" and e["state"] == "closed"]
        assert len(closed) >= 3
        with LlmStub() as stub:
            stub.answer_with(reads_its_prompt)
            client = LlmClient(LlmSettings(base_url=stub.url, model="stub-model", interval=0.2))
            worker = InsightWorker(client, store, interval=0.2)
            for event in events:
                ask_for_insight(worker, store, watch, event)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(
                insights_for(store, f"incident:{i}") for i in closed
            ):
                time.sleep(0.2)
            worker.close(10)
            client.close()
            prompts = ["\n".join(m["content"] for m in r.body["messages"]) for r in stub.requests]
        shown = {m.group(1): {int(n) for n in ID_TAG.findall(p)} for p in prompts if (m := INCIDENT.match(p))}
        for incident_id in closed:
            (insight,) = insights_for(store, f"incident:{incident_id}")
            assert insight["cause"] and insight["model"] == "stub-model"
            assert set(insight["evidence_ids"]) <= shown[incident_id]
            assert bool(insight["evidence_ids"]) == bool(shown[incident_id])
        kernel = next(i for i in closed if i.endswith("-kernel"))
        report = incident_report(store, Config(timezone=UTC), kernel, 3)
        assert report["insights"][0]["cause"] == insights_for(store, f"incident:{kernel}")[0]["cause"]
        assert report["explanation"]["signature"]["id"] == "oom-kill"
        assert prompts and not any(EMAIL.search(p) for p in prompts)
        templates = [d for d in store.documents("insight", state="template")]
        assert templates, "new error shapes were analysed too"

    def test_incident_alert_explanation(
        self, watched: tuple[DuckDBStore, list[dict[str, Any]], LiveWatch]
    ) -> None:
        """An incident's alert carries the offline reading: what happened, signature, fix, confidence."""
        store, events, watch = watched
        opened = next(
            e["incident"] for e in events if e["type"] == "incident" and "kernel" in e["incident"]["services"]
        )
        found = alert_explanation(store, watch.incident(opened["id"]))
        assert found is not None and found["signature_id"] == "oom-kill" and found["root_cause"] == "kernel"
        assert found["fix"] and 0 < found["confidence"] <= 1
        assert alert_explanation(store, None) is None


class TestAskWithModel:
    def test_narrative_from_the_stub_beside_the_offline_answer(
        self, watched: tuple[DuckDBStore, list[dict[str, Any]], LiveWatch]
    ) -> None:
        """With an LLM, `ask` keeps its offline answer and adds the model's words; the model is sent
        the offline facts."""
        store, _, _ = watched
        end = from_iso_ms("2026-11-21T06:00:00Z")
        with LlmStub() as stub:
            stub.ok("The kernel killed python3 for lack of memory at 03:45.")
            client = LlmClient(LlmSettings(base_url=stub.url, model="stub-model"))
            found = answer_question(store, Config(timezone=UTC), "what caused the OOM killer?", end, client)
            client.close()
            sent = json.dumps(stub.requests[0].body)
        assert found["narrative"] == "The kernel killed python3 for lack of memory at 03:45."
        assert "kernel" in found["answer"] and "kernel" in sent
