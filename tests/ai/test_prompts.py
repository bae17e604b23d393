"""Tests for loglens.ai.prompts: prompts hold only redacted lines tagged with their ids, fit their
token budget (dropping the least important lines first), and spell out the answer's schema."""

from __future__ import annotations

import re

import pytest

from llm_stub import explain_sample
from loglens.ai.prompts import (
    PromptBudgetError,
    estimate_tokens,
    incident_prompt,
    question_prompt,
    template_prompt,
)
from loglens.enrich.redact import Redactor

OFFLINE = {
    "what_happened": "An SSH brute-force attack from few addresses.",
    "signature": {"id": "sig-3", "name": "ssh-bruteforce"},
    "fix": ["Block the addresses", "Enable fail2ban"],
    "confidence": 0.8,
}


def shown_ids(text: str) -> list[int]:
    return [int(i) for i in re.findall(r"\[id (\d+)\]", text)]


class TestIncidentPrompt:
    def test_lines_tagged_with_their_ids(self) -> None:
        """Every evidence and context line appears once, tagged [id N], and evidence_ids lists them."""
        prompt = incident_prompt(explain_sample(), OFFLINE, Redactor(), 3000)
        tagged = [i for i in shown_ids(prompt.user) if f"[id {i}] 2026" in prompt.user]
        assert sorted(set(tagged)) == sorted(prompt.evidence_ids)
        assert set(prompt.evidence_ids) == {83140, 83141, 83485, 91047, 83483, 83493}
        assert prompt.subjects == {"inc-20261121-0116-api": prompt.evidence_ids}
        assert not prompt.batch

    def test_offline_explanation_and_root_cause_included(self) -> None:
        """The offline explanation, its signature and fixes, and the ranked root cause are in the prompt."""
        prompt = incident_prompt(explain_sample(), OFFLINE, Redactor(), 3000)
        assert "ssh-bruteforce" in prompt.user and "Enable fail2ban" in prompt.user
        assert "loglens ranks sshd as the most likely origin" in prompt.user
        assert "Other suspects: worker" in prompt.user

    def test_email_never_reaches_the_prompt(self) -> None:
        """An e-mail address in an evidence line is redacted before the prompt is built."""
        redactor = Redactor()
        prompt = incident_prompt(explain_sample(), None, redactor, 3000)
        assert "vmitchell@post.example.org" not in prompt.user + prompt.system
        assert (
            "[id 91047] 2026-11-21T01:23:03.000Z worker error: Failed to send email to <email>" in prompt.user
        )
        assert redactor.redact_counts["email"] == 1

    def test_schema_and_citation_rule_in_system_prompt(self) -> None:
        """The system prompt spells out the four answer fields and says to cite only given ids."""
        prompt = incident_prompt(explain_sample(), None, Redactor(), 3000)
        for key in ('"cause"', '"evidence_ids"', '"fix"', '"confidence"'):
            assert key in prompt.system
        assert "cite only ids that appear as [id N]" in prompt.system

    def test_huge_incident_fits_the_budget(self) -> None:
        """A 2,000-line incident is trimmed to the budget, keeping the root cause's line and its context."""
        found = explain_sample(extra_lines=2000)
        prompt = incident_prompt(found, OFFLINE, Redactor(), 1000)
        total = estimate_tokens(prompt.system) + estimate_tokens(prompt.user)
        assert prompt.estimated_tokens == total <= 1000
        assert 83485 in prompt.evidence_ids
        assert {83483, 83493} <= set(prompt.evidence_ids)
        assert len(prompt.evidence_ids) < 50
        assert set(shown_ids(prompt.user)) == set(prompt.evidence_ids)

    def test_least_important_dropped_first(self) -> None:
        """As the budget shrinks, anomalies go before evidence lines, and evidence before the root line."""
        found = explain_sample(extra_lines=40)
        roomy = incident_prompt(found, None, Redactor(), 6000)
        tight = incident_prompt(found, None, Redactor(), 800)
        assert "template_burst" in roomy.user and "template_burst" not in tight.user
        assert set(tight.evidence_ids) < set(roomy.evidence_ids)
        assert 83485 in tight.evidence_ids

    def test_long_line_cut(self) -> None:
        """A huge message (a stack trace on one line) is cut, so it cannot eat the budget."""
        found = explain_sample()
        found["evidence"][2]["message"] = "Failed password " + "x" * 50_000
        prompt = incident_prompt(found, None, Redactor(), 3000)
        assert prompt.estimated_tokens <= 3000
        assert "[id 83485]" in prompt.user and "…" in prompt.user

    def test_budget_too_small_raises(self) -> None:
        """A budget that cannot hold the instructions and the root cause raises PromptBudgetError."""
        with pytest.raises(PromptBudgetError, match="max_prompt_tokens"):
            incident_prompt(explain_sample(), None, Redactor(), 200)


def templates(n: int) -> list[dict[str, object]]:
    return [
        {
            "id": f"billing-{i}",
            "service": "billing",
            "text": f"Payment <*> failed for <*>: code {i}",
            "count": 10 + i,
            "examples": [
                {
                    "id": 5000 + i * 10 + k,
                    "message": f"Payment pi_{k} failed for ann{k}@example.com: code {i}",
                }
                for k in range(3)
            ],
        }
        for i in range(n)
    ]


class TestTemplatePrompt:
    def test_batch_subjects_and_ids(self) -> None:
        """Each template is a subject with its own example ids, and the answer is asked as a list."""
        prompt = template_prompt(templates(3), Redactor(), 3000)
        assert prompt.batch
        assert prompt.subjects == {
            f"billing-{i}": tuple(5000 + i * 10 + k for k in range(3)) for i in range(3)
        }
        assert '"insights"' in prompt.system and '"template_id"' in prompt.system
        assert "@example.com" not in prompt.user

    def test_templates_that_do_not_fit_are_left_out(self) -> None:
        """Under a tight budget the first templates are kept whole and the rest left for a later batch."""
        prompt = template_prompt(templates(60), Redactor(), 700)
        assert prompt.estimated_tokens <= 700
        assert "billing-0" in prompt.subjects and "billing-59" not in prompt.subjects
        kept = list(prompt.subjects)
        assert kept == [f"billing-{i}" for i in range(len(kept))]
        assert all(ids for ids in prompt.subjects.values())

    def test_bare_message_examples(self) -> None:
        """Examples given as bare messages are shown untagged, leaving that template no ids to cite."""
        batch = [
            {
                "id": "kernel-4",
                "service": "kernel",
                "text": "Out of memory: Killed process <*>",
                "count": 2,
                "examples": ["Out of memory: Killed process 4242 (java)"],
            }
        ]
        prompt = template_prompt(batch, Redactor(), 3000)
        assert prompt.subjects == {"kernel-4": ()}
        assert "  - Out of memory: Killed process 4242 (java)" in prompt.user


class TestQuestionPrompt:
    def test_facts_redacted_and_cut(self) -> None:
        """The facts are sent as redacted JSON, cut to fit the budget."""
        facts = {"errors": [f"user{i}@example.com failed to log in" for i in range(2000)]}
        prompt = question_prompt("who failed to log in?", facts, Redactor(), 1000)
        assert prompt.estimated_tokens <= 1000
        assert "@example.com" not in prompt.user
        assert prompt.user.startswith("Question: who failed to log in?") and prompt.user.endswith("(cut)")
