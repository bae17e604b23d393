"""The offline explainer on generated corpora: each injected failure is read as the right signature,
told with its root-cause service, its evidence and its fix, within a bounded read of the store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import loglens.ai.explain as offline
from conftest import shared_dir
from loglens.ai.explain import (
    combined_confidence,
    explain_offline,
    read_incident,
    record_text,
    render_offline,
)
from loglens.ai.signatures import builtin_signatures
from loglens.analysis.explain import explain_incident
from loglens.analysis.findings import named_templates, replay_range
from loglens.config import Config
from loglens.pipeline import Ingestor
from loglens.store.base import StoredRecord
from loglens.store.duckdb import DuckDBStore

SEEDS = (42, 7)
EXPECTED = {
    "ssh_brute_force": ("sshd", "brute-force-login"),
    "causal_chain": ("billing", "deadlock"),
    "oom_kill": ("kernel", "oom-kill"),
    "log_storm": ("queue", "log-storm"),
}
"""Truth kind → (root-cause service loglens names, the signature that must come first)."""
SECTIONS = ("What happened", "Likely root cause", "Signature", "Evidence", "Suggested fix", "Confidence")


def ns(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()) * 10**9


@dataclass
class Corpus:
    """A generated corpus in a store opened read-only, its truth, and each injected incident as
    loglens found it (truth kind → `explain_incident` dict)."""

    store: DuckDBStore
    truth: dict[str, Any]
    found: dict[str, dict[str, Any]]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


def generate(out: Path, seed: int, *extra: str) -> None:
    gen = shared_dir() / "bench" / "gen_corpus.py"
    if not gen.exists():
        pytest.skip(f"{gen} not found: the shared corpus generator is needed (set LOGLENS_SHARED)")
    args = ["--lines", "60000", "--seed", str(seed), "--out", str(out), "--quiet", "--jobs", "1", *extra]
    subprocess.run([sys.executable, str(gen), *args], check=True)


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def corpus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    root = tmp_path_factory.mktemp(f"explain-{request.param}")
    generate(root / "corpus", request.param)
    writer = DuckDBStore(root / "loglens.duckdb")
    try:
        # The generator writes UTC; the zone is given so the test does not depend on the machine's.
        Ingestor(writer, Config(timezone=UTC)).ingest_paths([str(root / "corpus")])
    finally:
        writer.close()
    store = DuckDBStore(root / "loglens.duckdb", read_only=True)
    truth = json.loads((root / "corpus" / "truth.json").read_text())
    incidents = replay_range(store, Config(timezone=UTC), None, None).incidents
    found: dict[str, dict[str, Any]] = {}
    for injected in truth["incidents"]:
        service, _ = EXPECTED[injected["kind"]]
        start, end = ns(injected["start"]), ns(injected["end"])
        for incident in incidents:
            overlaps = incident.start_ns <= end and incident.end_ns >= start
            if overlaps and incident.candidates()[0].service == service:
                found[injected["kind"]] = explain_incident(
                    store, incident, named_templates(store, incident.anomalies), 5
                )
    yield Corpus(store, truth, found)
    store.close()


def explained(corpus: Corpus, kind: str) -> dict[str, Any]:
    """The offline explanation of one injected incident, made once per corpus."""
    if kind not in corpus.results:
        corpus.results[kind] = explain_offline(corpus.store, corpus.found[kind], builtin_signatures())
    return corpus.results[kind]


def truth_of(corpus: Corpus, kind: str) -> dict[str, Any]:
    return next(i for i in corpus.truth["incidents"] if i["kind"] == kind)


def records(store: DuckDBStore, ids: list[int]) -> dict[int, StoredRecord]:
    marks = ", ".join("?" for _ in ids)
    return {r.id: r for r in store.search(f"id IN ({marks})", ids, None)}


class TestExplainOffline:
    def test_all_four_injected_incidents_are_found(self, corpus: Corpus) -> None:
        """At 60k lines the detectors find each injected incident with its true root-cause service."""
        assert set(corpus.found) == set(EXPECTED)

    @pytest.mark.parametrize("kind", list(EXPECTED))
    def test_top_signature_and_root_cause(self, corpus: Corpus, kind: str) -> None:
        """Each failure is read as its signature, built in, and the explanation names the root-cause
        service in its story and its root cause."""
        service, signature = EXPECTED[kind]
        result = explained(corpus, kind)
        assert result["signature"]["id"] == signature
        assert result["signature"]["source"] == "builtin" and result["signature"]["learned_from"] is None
        assert result["root_cause"]["service"] == service
        assert f"It began in {service} at " in result["what_happened"]
        assert service in result["signature"]["matched_in"]

    def test_the_chain_reads_as_a_deadlock_with_the_pool_next(self, corpus: Corpus) -> None:
        """In the billing chain the deadlock (in billing) comes first and the exhausted pool next."""
        result = explained(corpus, "causal_chain")
        assert [result["signature"]["id"], result["other_signatures"][0]["id"]] == [
            "deadlock",
            "connection-pool-exhausted",
        ]
        assert result["signature"]["score"] > result["other_signatures"][0]["score"]
        tagged = {e["signature"] for e in result["evidence"]}
        assert {"deadlock", "connection-pool-exhausted"} <= tagged, "the next reading has a line too"

    def test_readings_name_what_the_truth_names(self, corpus: Corpus) -> None:
        """The brute force is pinned on the attacking address and the OOM kill on the killed pid."""
        address = re.search(
            r"from (\d+\.\d+\.\d+\.\d+)", truth_of(corpus, "ssh_brute_force")["signals"]["auth"]
        )
        pid = re.search(r"pid (\d+)", truth_of(corpus, "oom_kill")["signals"]["kernel"])
        assert address is not None and pid is not None
        brute = explained(corpus, "ssh_brute_force")
        assert brute["signature"]["reading"].endswith(f"came from {address.group(1)}")
        assert any(address.group(1) in step for step in brute["fix"]), "the fix names the address to block"
        oom = explained(corpus, "oom_kill")
        assert f"killed python3 (pid {pid.group(1)})" in oom["what_happened"]

    def test_what_happened_is_a_few_plain_sentences(self, corpus: Corpus) -> None:
        """The story is two to four sentences that give the span and the services in order."""
        for kind in EXPECTED:
            result = explained(corpus, kind)
            text = result["what_happened"]
            sentences = re.findall(r"[.!?”](?:\s+(?=[A-Z])|$)", text)
            assert 2 <= len(sentences) <= 4, text
            assert text.startswith("On ") and " UTC (" in text
            assert ", then ".join(corpus.found[kind]["services"]) in text

    def test_evidence_is_real_lines_root_first(self, corpus: Corpus) -> None:
        """At most ten evidence lines, the root cause's first sign first, each a stored record as it
        was stored, the signature's lines tagged with the pattern that matched them."""
        for kind in EXPECTED:
            result = explained(corpus, kind)
            evidence = result["evidence"]
            assert 1 <= len(evidence) <= offline.MAX_EVIDENCE
            assert evidence[0]["id"] == corpus.found[kind]["root_cause"]["first_event_id"]
            stored = records(corpus.store, [e["id"] for e in evidence])
            top = result["signature"]["id"]
            tagged = [e for e in evidence if e["signature"] == top]
            assert tagged, kind
            for line in evidence:
                assert stored[line["id"]].message.split("\n", 1)[0] == line["message"]
            for line in tagged:
                if line["pattern"].startswith("kind:"):
                    continue
                text = record_text(stored[line["id"]])
                assert re.search(line["pattern"], text, re.IGNORECASE), line

    def test_fix_comes_from_the_signature(self, corpus: Corpus) -> None:
        """The fix is the signature's steps, with what the incident tells filled in (the log storm's
        service and start)."""
        sig = next(s for s in builtin_signatures() if s.id == "log-storm")
        result = explained(corpus, "log_storm")
        assert len(result["fix"]) == len(sig.fix)
        assert result["fix"][0].startswith("loglens logs -s queue --since 2026-11-21T04:5")
        assert result["fix"][1:] == list(sig.fix[1:])

    def test_confidence_combines_ranker_and_signature(self, corpus: Corpus) -> None:
        """Confidence is c + (1 − c)·s when the signature matched in the root-cause service, so it is
        at least the ranker's and at most 1."""
        for kind in EXPECTED:
            result = explained(corpus, kind)
            ranker = corpus.found[kind]["root_cause"]["confidence"]
            assert result["confidence"] == combined_confidence(ranker, result["signature"]["score"], True)
            assert ranker <= result["confidence"] <= 1.0

    def test_without_signatures_the_fix_is_generic_and_confidence_lower(self, corpus: Corpus) -> None:
        """With no signature to match, the explanation says so, gives generic steps built from the
        root-cause service and its first sign, and discounts the ranker's confidence."""
        found = corpus.found["causal_chain"]
        result = explain_offline(corpus.store, found, ())
        assert result["signature"] is None and result["other_signatures"] == []
        assert "No known failure signature matched" in result["what_happened"]
        assert result["fix"][0].startswith("loglens logs -s billing --level '>=warning' --since ")
        assert any("--grep" in step for step in result["fix"])
        assert any(step.startswith(f"loglens kb add {found['id']}") for step in result["fix"])
        assert result["confidence"] == round(found["root_cause"]["confidence"] * 0.8, 3)

    def test_reading_is_bounded(self, corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
        """No more than the line budget is read, and a capped read is said in the notes."""
        found = corpus.found["causal_chain"]
        assert len(read_incident(corpus.store, found).records) <= offline.MAX_LINES_READ
        monkeypatch.setattr(offline, "MAX_LINES_READ", 80)
        reading = read_incident(corpus.store, found)
        assert len(reading.records) <= 80 and reading.capped
        assert any(
            "Only the first 80 lines were read" in n
            for n in explain_offline(corpus.store, found, ())["notes"]
        )

    def test_explain_dict_is_left_alone(self, corpus: Corpus) -> None:
        """The explainer does not change the dict it is given (the CLI prints it too)."""
        found = corpus.found["oom_kill"]
        before = json.dumps(found, sort_keys=True)
        explain_offline(corpus.store, found, builtin_signatures())
        assert json.dumps(found, sort_keys=True) == before

    def test_render_has_every_section_in_order(self, corpus: Corpus) -> None:
        """The terminal text has its six sections in order, the signature and the first fix step."""
        result = explained(corpus, "oom_kill")
        text = render_offline(result)
        positions = [text.index(f"\n{title}\n") for title in SECTIONS]
        assert positions == sorted(positions)
        assert "oom-kill — Out-of-memory kill" in text
        assert f"  1. {result['fix'][0]}" in text
        assert text.startswith(f"{result['id']} — offline explanation\n")


class TestCombinedConfidence:
    def test_formula(self) -> None:
        """c + (1 − c)·s·a, a = 1 in the root-cause service and 0.5 elsewhere; 0.8·c without a signature."""
        assert combined_confidence(0.6, 0.5, True) == 0.8
        assert combined_confidence(0.6, 0.5, False) == 0.7
        assert combined_confidence(0.6, None, True) == 0.48
        assert combined_confidence(1.0, 0.9, True) == 1.0
