"""The knowledge base: a signature learned from one incident is stored, recognised the next time the
same failure comes (other values, hours later) and cited with the team's own fix; it can be replaced
and forgotten; templates become specific, loose regular expressions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import shared_dir
from loglens.ai.explain import explain_offline
from loglens.ai.kb import (
    KnowledgeBaseError,
    all_signatures,
    forget_signature,
    learn_signature,
    learned_id,
    learned_signatures,
    template_regex,
)
from loglens.ai.signatures import SignatureError, builtin_signatures
from loglens.analysis.explain import explain_incident
from loglens.analysis.findings import named_templates, replay_range
from loglens.analysis.incidents import Incident
from loglens.config import Config
from loglens.pipeline import Ingestor
from loglens.store.base import Document
from loglens.store.duckdb import DuckDBStore

FIX = "Cap the settlement batch at 50 invoices\nkubectl rollout undo deploy/billing"
CONFIG = Config(timezone=UTC)


def ns(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()) * 10**9


def generate(out: Path, seed: int, *extra: str) -> dict[str, Any]:
    gen = shared_dir() / "bench" / "gen_corpus.py"
    if not gen.exists():
        pytest.skip(f"{gen} not found: the shared corpus generator is needed (set LOGLENS_SHARED)")
    args = ["--lines", "60000", "--seed", str(seed), "--out", str(out), "--quiet", "--jobs", "1", *extra]
    subprocess.run([sys.executable, str(gen), *args], check=True)
    truth: dict[str, Any] = json.loads((out / "truth.json").read_text())
    return truth


def overlapping(incidents: list[Incident], injected: dict[str, Any]) -> list[Incident]:
    start, end = ns(injected["start"]), ns(injected["end"])
    return [i for i in incidents if i.start_ns <= end and i.end_ns >= start]


def injected(truth: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(i for i in truth["incidents"] if i["kind"] == kind)


@dataclass
class Learned:
    """One store holding two corpora of the same scenario, six hours apart and of other seeds: the
    first one's billing chain learned (with `FIX`) before the second was ingested."""

    store: DuckDBStore
    first: dict[str, Any]
    """The first corpus's billing incident, as `explain_incident` gave it."""
    later: dict[str, dict[str, Any]]
    """The second corpus's incidents by truth kind, each explained by `explain_incident`."""

    def explain(self, kind: str) -> dict[str, Any]:
        return explain_offline(self.store, self.later[kind], all_signatures(self.store))


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Learned]:
    root = tmp_path_factory.mktemp("kb")
    generate(root / "first", 3)
    later_truth = generate(root / "later", 11, "--start", "2026-11-21T06:00:00Z")
    store = DuckDBStore(root / "loglens.duckdb")
    first_truth = json.loads((root / "first" / "truth.json").read_text())
    Ingestor(store, CONFIG).ingest_paths([str(root / "first")])
    incidents = replay_range(store, CONFIG, None, None).incidents
    (chain,) = [
        i
        for i in overlapping(incidents, injected(first_truth, "causal_chain"))
        if i.candidates()[0].service == "billing"
    ]
    first = explain_incident(store, chain, named_templates(store, chain.anomalies), 5)
    learn_signature(store, first, FIX, notes="Happens after the nightly settlement job", created_by="oncall")
    Ingestor(store, CONFIG).ingest_paths([str(root / "later")])
    incidents = replay_range(store, CONFIG, None, None).incidents
    later: dict[str, dict[str, Any]] = {}
    for kind in ("ssh_brute_force", "causal_chain", "oom_kill", "log_storm"):
        window = [i for i in overlapping(incidents, injected(later_truth, kind)) if i.start_ns > chain.end_ns]
        strongest = max(window, key=lambda i: len(i.anomalies))
        later[kind] = explain_incident(store, strongest, named_templates(store, strongest.anomalies), 5)
    yield Learned(store, first, later)
    store.close()


class TestLearnSignature:
    def test_learned_signature_is_stored_as_a_document(self, learned: Learned) -> None:
        """The learned signature is a `signature` document with its TOML fields and where it came from."""
        sig_id = learned_id(learned.first["id"])
        doc = learned.store.document("signature", sig_id)
        assert doc is not None and doc.state == "active"
        body = doc.body
        assert body["learned_from"] == learned.first["id"]
        assert body["created_by"] == "oncall"
        assert body["fix"] == FIX.splitlines()
        assert body["notes"] == "Happens after the nightly settlement job"
        assert body["services"] == ["^billing$"]
        assert body["category"] == "database"
        assert 2 <= len(body["patterns"]) <= 6
        assert body["examples"]
        assert "new_template" not in body.get("kinds", [])

    def test_patterns_come_from_the_incidents_own_templates(self, learned: Learned) -> None:
        """Its first pattern is the root cause's template, and every pattern matches one of the
        incident's lines (the examples)."""
        (sig,) = learned_signatures(learned.store)
        root_template = learned.first["root_cause"]["template"]
        assert sig.patterns[0].search(root_template)
        for example in sig.examples:
            assert any(p.search(example) for p in sig.patterns), example

    def test_later_incident_cites_the_learned_signature_with_its_fix(self, learned: Learned) -> None:
        """Six hours later, with other values, the same failure is explained by the learned signature:
        its source, the incident it was learned from, and the team's fix."""
        result = learned.explain("causal_chain")
        sig = result["signature"]
        assert sig["id"] == learned_id(learned.first["id"])
        assert sig["source"] == "learned"
        assert sig["learned_from"] == learned.first["id"]
        assert result["fix"] == FIX.splitlines()
        assert any(learned.first["id"] in note and "oncall" in note for note in result["notes"])
        assert any(e["signature"] == sig["id"] for e in result["evidence"])

    def test_other_failures_keep_their_builtin_readings(self, learned: Learned) -> None:
        """The learned signature is specific: the later brute force, OOM kill and log storm are still
        read as such."""
        expected = {"ssh_brute_force": "brute-force-login", "oom_kill": "oom-kill", "log_storm": "log-storm"}
        for kind, sig_id in expected.items():
            assert learned.explain(kind)["signature"]["id"] == sig_id, kind

    def test_learned_signatures_come_first(self, learned: Learned) -> None:
        """`all_signatures` lists learned ones before the built-in library, whole."""
        every = all_signatures(learned.store)
        assert every[0].source == "learned"
        assert every[1:] == builtin_signatures()

    def test_learning_again_replaces(self, learned: Learned) -> None:
        """Learning the same incident again replaces its signature instead of adding a second one."""
        again = learn_signature(learned.store, learned.first, "new fix", created_by="oncall")
        try:
            assert [s.id for s in learned_signatures(learned.store)] == [again.id]
            assert learned_signatures(learned.store)[0].fix == ("new fix",)
        finally:
            learn_signature(
                learned.store, learned.first, FIX, "Happens after the nightly settlement job", None, "oncall"
            )

    def test_forgotten_signature_is_no_longer_cited(self, learned: Learned) -> None:
        """Once forgotten, the later incident is read by the built-in library again; forgetting an
        unknown or built-in id answers False."""
        sig_id = learned_id(learned.first["id"])
        try:
            assert forget_signature(learned.store, sig_id)
            assert learned_signatures(learned.store) == ()
            assert learned.explain("causal_chain")["signature"]["source"] == "builtin"
            assert not forget_signature(learned.store, sig_id)
            assert not forget_signature(learned.store, "oom-kill")
        finally:
            learn_signature(
                learned.store, learned.first, FIX, "Happens after the nightly settlement job", None, "oncall"
            )

    def test_an_empty_fix_is_refused(self, learned: Learned) -> None:
        """A signature without a fix teaches nothing: refused, and nothing is stored."""
        with pytest.raises(KnowledgeBaseError, match="fix"):
            learn_signature(learned.store, learned.first, "  \n ")
        assert len(learned_signatures(learned.store)) == 1

    def test_an_incident_without_a_usable_template_is_refused(self, learned: Learned) -> None:
        """An incident whose only signs are whole-service anomalies (no template) cannot be learned."""
        bare = {
            "id": "inc-20261121-0443-api",
            "services": ["api"],
            "root_cause": {"service": "api", "template_id": None, "first_event_id": None},
            "anomalies": [
                {
                    "kind": "field_drift",
                    "service": "api",
                    "start": "2026-11-21T04:43:00.000Z",
                    "template_id": None,
                }
            ],
        }
        with pytest.raises(KnowledgeBaseError, match="no template specific enough"):
            learn_signature(learned.store, bare, "restart it")

    def test_a_broken_stored_signature_names_how_to_remove_it(self, learned: Learned) -> None:
        """A stored signature that no longer checks is reported with the command that removes it."""
        learned.store.put_document(Document("signature", "learned-broken", {"name": "x", "patterns": ["("]}))
        try:
            with pytest.raises(SignatureError, match="loglens kb forget learned-broken"):
                learned_signatures(learned.store)
        finally:
            learned.store.delete_document("signature", "learned-broken")


class TestTemplateRegex:
    def test_variables_become_lazy_wildcards(self) -> None:
        """A template's regex matches its real lines whatever the values, and not other wording."""
        regex = template_regex("Failed password for <*> from <*> port <*> ssh2")
        assert regex is not None
        pattern = re.compile(regex, re.IGNORECASE)
        assert pattern.search("Failed password for root from 203.0.113.7 port 4242 ssh2")
        assert pattern.search("Failed password for invalid user admin from 198.51.100.1 port 22 ssh2")
        assert not pattern.search("Accepted password for root from 203.0.113.7 port 4242 ssh2")

    def test_literal_text_is_escaped_and_spacing_loose(self) -> None:
        """Regex characters in the template are literal, and runs of spaces match any spacing."""
        regex = template_regex("connection pool exhausted (pool=billing-client, size=<*>, waiting=<*>)")
        assert regex is not None
        pattern = re.compile(regex)
        assert pattern.search("connection  pool exhausted (pool=billing-client, size=50, waiting=3)")
        assert not pattern.search("connection pool exhausted pool=billing-client size=50 waiting=3")

    def test_edges_are_loose_words(self) -> None:
        """Wildcards at either end are dropped and the pattern starts on a word boundary."""
        regex = template_regex("<*> - Connection is not available, request timed out after <*>")
        assert regex is not None
        assert regex.startswith(r"\-\s+Connection") and regex.endswith(r"after\b")
        word = template_regex("ERROR: deadlock detected")
        assert word == r"\bERROR:\s+deadlock\s+detected\b"
        assert not re.search(word, "ERROR: deadlock detectedness")

    @pytest.mark.parametrize("template", ["<*> <*>", "Call Trace:", "<*> ms", "error <*>"])
    def test_unspecific_templates_are_not_patterns(self, template: str) -> None:
        """A template with too little literal text would match almost anything: it is not used."""
        assert template_regex(template) is None

    def test_long_templates_are_cut_at_a_variable(self) -> None:
        """A long template keeps its specific head; its tail, where versions differ, is left out."""
        template = "Task <*> raised unexpected: " + " ".join(f"word{n} <*>" for n in range(40))
        regex = template_regex(template)
        assert regex is not None
        assert "word10" in regex and "word39" not in regex
        assert re.search(regex, "Task t1 raised unexpected: " + " ".join(f"word{n} v" for n in range(15)))
