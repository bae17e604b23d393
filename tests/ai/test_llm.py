"""Tests for loglens.ai.llm against a real OpenAI-compatible stub over HTTP on 127.0.0.1: `[llm]`
parsing, the request sent, retries and what is not retried, the hourly cap, and answer validation."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pytest

from llm_stub import LlmStub, explain_sample, refused_url
from loglens.ai.llm import (
    LlmBadReply,
    LlmBudgetExceeded,
    LlmClient,
    LlmHttpError,
    LlmSettings,
    LlmUnavailable,
    parse_llm,
)
from loglens.ai.prompts import incident_prompt, template_prompt
from loglens.enrich.redact import Redactor
from loglens.errors import ConfigError

MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "Why?"}]
GOOD = {
    "cause": "An SSH brute-force attack exhausted sshd's auth slots.",
    "evidence_ids": [83485, 83141, 424242],
    "fix": "Block 193.97.59.47 and enable fail2ban.",
    "confidence": 0.8,
}


def settings(url: str, **kw: Any) -> LlmSettings:
    return LlmSettings(base_url=url, model="stub", backoff=0.01, **kw)


class Clock:
    """A wall clock a test moves by hand (the spend cap's rolling hour)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class TestParseLlm:
    def test_absent_or_without_base_url(self) -> None:
        """No table, or one without base_url, means no LLM."""
        assert parse_llm(None, "loglens.toml") is None
        assert parse_llm({}, "loglens.toml") is None
        assert parse_llm({"model": "llama3.1:8b"}, "loglens.toml") is None

    def test_full_table(self) -> None:
        """Every key is read; durations may be strings and the URL loses its trailing slash."""
        parsed = parse_llm(
            {
                "base_url": "http://127.0.0.1:11434/v1/",
                "model": "llama3.1:8b",
                "timeout": "45s",
                "interval": 120,
                "retries": 0,
                "max_prompt_tokens": 2000,
                "price_per_1k_prompt": 0.15,
                "cost_cap_per_hour": 2,
                "api_key_env": "OPENAI_API_KEY",
                "redact_ips": True,
            },
            "loglens.toml",
        )
        assert parsed == LlmSettings(
            base_url="http://127.0.0.1:11434/v1",
            model="llama3.1:8b",
            timeout=45.0,
            interval=120.0,
            retries=0,
            max_prompt_tokens=2000,
            price_per_1k_prompt=0.15,
            cost_cap_per_hour=2.0,
            api_key_env="OPENAI_API_KEY",
            redact_ips=True,
        )

    def test_unknown_key_named(self) -> None:
        """An unknown key is a ConfigError naming it and the file."""
        with pytest.raises(ConfigError, match=r"loglens.toml: \[llm\] has no setting 'temprature'"):
            parse_llm({"base_url": "http://x/v1", "model": "m", "temprature": 0}, "loglens.toml")

    def test_api_key_in_file_refused(self) -> None:
        """A key written in the file is refused, pointing at api_key_env."""
        with pytest.raises(ConfigError, match="api_key_env"):
            parse_llm({"base_url": "http://x/v1", "model": "m", "api_key": "sk-123"}, "loglens.toml")

    @pytest.mark.parametrize(
        ("table", "message"),
        [
            ({"base_url": "http://x/v1"}, "needs a model"),
            ({"base_url": "localhost:11434", "model": "m"}, "base_url must be an http"),
            ({"base_url": "http://x/v1", "model": "m", "timeout": "soon"}, "timeout must be a duration"),
            ({"base_url": "http://x/v1", "model": "m", "retries": -1}, "retries must be a whole number"),
            ({"base_url": "http://x/v1", "model": "m", "cost_cap_per_hour": "1$"}, "US dollars"),
            ({"base_url": "http://x/v1", "model": "m", "api_key_env": "MY KEY"}, "environment variable"),
        ],
    )
    def test_bad_values(self, table: dict[str, Any], message: str) -> None:
        """A wrong value is a ConfigError saying what a right one looks like."""
        with pytest.raises(ConfigError, match=message):
            parse_llm(table, "loglens.toml")


class TestChat:
    def test_request_shape(self) -> None:
        """The request is an OpenAI chat completion at temperature 0 asking for a JSON object."""
        with LlmStub() as stub, LlmClient(settings(stub.url, max_answer_tokens=77), env={}) as client:
            stub.ok({"cause": "x"}, usage=(11, 3), model="llama3.1:8b")
            reply = client.chat(MESSAGES)
        request = stub.requests[0]
        assert request.path == "/v1/chat/completions"
        assert request.body == {
            "model": "stub",
            "messages": MESSAGES,
            "temperature": 0,
            "max_tokens": 77,
            "response_format": {"type": "json_object"},
        }
        assert "authorization" not in request.headers
        assert (reply.content, reply.prompt_tokens, reply.answer_tokens, reply.model) == (
            '{"cause": "x"}',
            11,
            3,
            "llama3.1:8b",
        )
        assert not reply.estimated

    def test_usage_estimated_when_absent(self) -> None:
        """Without `usage`, tokens are estimated as characters / 4."""
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.ok("x" * 40)
            reply = client.chat(MESSAGES)
        assert reply.estimated
        assert reply.answer_tokens == 10
        assert reply.prompt_tokens == -(-len("Answer in JSON.Why?") // 4)

    def test_api_key_sent_as_bearer_and_never_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        """The key from the environment goes in `Authorization: Bearer`, and neither logs nor errors
        show it, even when the server echoes it back."""
        key = "loglens-test-key-7f3a9c"
        caplog.set_level(logging.DEBUG)
        env = {"MY_LLM_KEY": key}
        with LlmStub() as stub, LlmClient(settings(stub.url, api_key_env="MY_LLM_KEY"), env=env) as client:
            stub.status(503, f"overloaded (key {key})").status(401, f'{{"error": "bad key {key}"}}')
            with pytest.raises(LlmHttpError) as caught:
                client.chat(MESSAGES)
        assert [r.headers["authorization"] for r in stub.requests] == [f"Bearer {key}"] * 2
        assert caught.value.status == 401
        assert key not in str(caught.value) and "<key>" in str(caught.value)
        assert key not in caplog.text

    def test_reply_that_is_not_a_completion(self) -> None:
        """A 200 that is not JSON (a web page at the wrong URL) is an LlmBadReply naming the URL."""
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.status(200, "<html>hello</html>")
            with pytest.raises(LlmBadReply, match=f"{stub.url}/chat/completions.*OpenAI-compatible"):
                client.chat(MESSAGES)


class TestRetries:
    def test_500_then_ok(self) -> None:
        """A 5xx is retried, and the next answer is used."""
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.status(500, "boom").ok({"cause": "fine"})
            reply = client.chat(MESSAGES)
        assert json.loads(reply.content) == {"cause": "fine"}
        assert len(stub.requests) == 2

    def test_400_not_retried(self) -> None:
        """A 400 (other than about response_format) fails at once, quoting the server's reason."""
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.status(400, '{"error": {"message": "model \'stub\' not found"}}').ok({"cause": "never"})
            with pytest.raises(LlmHttpError, match=r"answered 400 \(1 attempt\(s\)\).*not found") as caught:
                client.chat(MESSAGES)
        assert caught.value.status == 400
        assert len(stub.requests) == 1

    def test_429_retry_after_honoured(self) -> None:
        """A 429 with Retry-After: 1 is asked again no sooner than a second later."""
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.status(429, "slow down", retry_after="1").ok({"cause": "ok"})
            client.chat(MESSAGES)
        first, second = stub.requests
        assert second.at - first.at >= 0.95

    def test_retry_after_capped(self) -> None:
        """A Retry-After longer than max_retry_wait is waited only max_retry_wait."""
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            time.sleep(seconds)

        with (
            LlmStub() as stub,
            LlmClient(settings(stub.url, max_retry_wait=0.05), env={}, sleep=sleep) as client,
        ):
            stub.status(429, "", retry_after="3600").ok({"cause": "ok"})
            client.chat(MESSAGES)
        assert waits == [0.05]

    def test_slow_beyond_timeout_retried_then_fails(self) -> None:
        """An answer slower than the timeout is retried, and when every attempt is too slow the error
        says what to change."""
        with LlmStub() as stub, LlmClient(settings(stub.url, timeout=0.3, retries=1), env={}) as client:
            stub.slow(3).slow(3)
            with pytest.raises(LlmUnavailable, match=r"did not answer within 0.3s.*raise \[llm\] timeout"):
                client.chat(MESSAGES)
        assert len(stub.requests) == 2

    def test_closed_connection_retried(self) -> None:
        """A connection closed without an answer is retried."""
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.close_connection().ok({"cause": "ok"})
            assert json.loads(client.chat(MESSAGES).content) == {"cause": "ok"}
        assert len(stub.requests) == 2

    def test_refused_endpoint(self) -> None:
        """A port nothing listens on fails after the retries with a message naming the URL."""
        url = refused_url()
        with LlmClient(settings(url, retries=1), env={}) as client, pytest.raises(LlmUnavailable) as caught:
            client.chat(MESSAGES)
        assert f"cannot reach the LLM at {url}/chat/completions (2 attempt(s))" in str(caught.value)
        assert "base_url" in str(caught.value)

    def test_response_format_fallback(self) -> None:
        """A server refusing response_format is asked again without it, and not asked with it again."""
        with LlmStub() as stub, LlmClient(settings(stub.url, retries=0), env={}) as client:
            stub.status(400, '{"error": "response_format is not supported"}').ok({"a": 1}).ok({"b": 2})
            assert json.loads(client.chat(MESSAGES).content) == {"a": 1}
            client.chat(MESSAGES)
        assert ["response_format" in r.body for r in stub.requests] == [True, False, False]


class TestBudget:
    def test_cost_cap_refuses_before_any_request(self) -> None:
        """Once the hour's spend plus the worst case of the next call passes the cap, the call is
        refused without a request; an hour later it is allowed again."""
        clock = Clock()
        with LlmStub() as stub:
            priced = settings(
                stub.url,
                max_answer_tokens=100,
                price_per_1k_prompt=1.0,
                price_per_1k_answer=1.0,
                cost_cap_per_hour=0.4,
            )
            with LlmClient(priced, env={}, clock=clock) as client:
                stub.ok({"x": 1}, usage=(300, 50)).ok({"x": 2}, usage=(10, 10))
                client.chat(MESSAGES)
                with pytest.raises(LlmBudgetExceeded, match=r"cost \$0.3500.*cost_cap_per_hour = 0.4"):
                    client.chat(MESSAGES)
                assert len(stub.requests) == 1
                clock.now += 3601
                client.chat(MESSAGES)
        assert len(stub.requests) == 2

    def test_token_cap_for_free_models(self) -> None:
        """With no price set, the cap counts tokens (max_tokens_per_hour)."""
        with (
            LlmStub() as stub,
            LlmClient(
                settings(stub.url, max_answer_tokens=50, max_tokens_per_hour=1000), env={}, clock=Clock()
            ) as client,
        ):
            stub.ok({"x": 1}, usage=(950, 40))
            client.chat(MESSAGES)
            with pytest.raises(LlmBudgetExceeded, match="max_tokens_per_hour = 1000"):
                client.chat(MESSAGES)
        assert len(stub.requests) == 1

    def test_failed_call_costs_nothing(self) -> None:
        """A call that failed is taken off the hour's spend, so it does not use up the cap."""
        with (
            LlmStub() as stub,
            LlmClient(settings(stub.url, max_answer_tokens=60, max_tokens_per_hour=100), env={}) as client,
        ):
            stub.status(400, "no").ok({"x": 1}, usage=(5, 5))
            with pytest.raises(LlmHttpError):
                client.chat(MESSAGES)
            client.chat(MESSAGES)
        assert len(stub.requests) == 2

    def test_call_under_way_counts(self) -> None:
        """While one call is under way its largest size counts, so a second call at the same time
        cannot slip under the cap."""
        with (
            LlmStub() as stub,
            LlmClient(settings(stub.url, max_answer_tokens=60, max_tokens_per_hour=100), env={}) as client,
        ):
            stub.slow(0.5)
            first = threading.Thread(target=client.chat, args=(MESSAGES,))
            first.start()
            give_up = time.monotonic() + 5
            while not stub.requests and time.monotonic() < give_up:
                time.sleep(0.01)
            with pytest.raises(LlmBudgetExceeded):
                client.chat(MESSAGES)
            first.join(10)
        assert len(stub.requests) == 1


class TestAnalyse:
    def test_good_answer_ids_filtered(self) -> None:
        """A valid answer becomes an Insight; ids the prompt never showed are dropped."""
        prompt = incident_prompt(explain_sample(), None, Redactor(), 3000)
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.ok(GOOD, usage=(812, 64), model="llama3.1:8b")
            insight = client.analyse(prompt)
        assert insight is not None
        assert insight.evidence_ids == [83485, 83141]
        assert (insight.cause, insight.fix, insight.confidence) == (GOOD["cause"], GOOD["fix"], 0.8)
        assert (insight.model, insight.prompt_tokens, insight.answer_tokens) == ("llama3.1:8b", 812, 64)
        assert stub.requests[0].body["messages"] == prompt.messages()

    def test_fenced_json_accepted(self) -> None:
        """An answer wrapped in ```json fences is read."""
        prompt = incident_prompt(explain_sample(), None, Redactor(), 3000)
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.ok("```json\n" + json.dumps(GOOD) + "\n```")
            insight = client.analyse(prompt)
        assert insight is not None and insight.evidence_ids == [83485, 83141]

    @pytest.mark.parametrize(
        ("kind", "reason"),
        [
            ("not_json", "not_json"),
            ("missing_fields", "missing_cause"),
            ("wrong_types", "bad_confidence"),
            ("unknown_ids", "no_known_evidence"),
        ],
    )
    def test_malformed_discarded(self, kind: str, reason: str, caplog: pytest.LogCaptureFixture) -> None:
        """A malformed answer gives None, its reason counted and logged to loglens.ai."""
        prompt = incident_prompt(explain_sample(), None, Redactor(), 3000)
        caplog.set_level(logging.WARNING, logger="loglens.ai")
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.malformed(kind)
            assert client.analyse(prompt) is None
        assert client.discarded == {reason: 1}
        assert reason in caplog.text and "inc-20261121-0116-api" in caplog.text

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"confidence": 1.5}, "bad_confidence"),
            ({"confidence": True}, "bad_confidence"),
            ({"fix": "  "}, "missing_fix"),
            ({"evidence_ids": "83485"}, "bad_evidence_ids"),
        ],
    )
    def test_out_of_range_discarded(self, change: dict[str, Any], reason: str) -> None:
        """Confidence outside [0, 1] (or a bool), an empty fix, or ids not in a list are discarded."""
        prompt = incident_prompt(explain_sample(), None, Redactor(), 3000)
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.ok({**GOOD, **change})
            assert client.analyse(prompt) is None
        assert client.discarded == {reason: 1}

    def test_batch_of_templates(self) -> None:
        """A batch answer is checked item by item: a good item is kept, one naming a template not
        asked about and a template left unanswered are each discarded and counted."""
        batch = [
            {
                "id": "billing-1",
                "service": "billing",
                "text": "Payment <*> failed",
                "count": 3,
                "examples": [{"id": 501, "message": "Payment pi_1 failed"}],
            },
            {
                "id": "billing-2",
                "service": "billing",
                "text": "Refund <*> failed",
                "count": 2,
                "examples": [{"id": 502, "message": "Refund re_1 failed"}],
            },
        ]
        prompt = template_prompt(batch, Redactor(), 3000)
        items = [
            {
                "template_id": "billing-1",
                "cause": "card declined",
                "evidence_ids": [501, 502],
                "fix": "retry",
                "confidence": 0.6,
            },
            {"template_id": "billing-9", "cause": "?", "evidence_ids": [501], "fix": "?", "confidence": 0.1},
        ]
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.ok({"insights": items}, usage=(400, 100))
            found = client.analyse_batch(prompt)
        assert list(found) == ["billing-1"]
        assert found["billing-1"].evidence_ids == [501]
        assert found["billing-1"].prompt_tokens == 200
        assert client.discarded == {"unknown_subject": 1, "no_answer": 1}


class TestAnswer:
    def test_plain_answer_from_redacted_facts(self) -> None:
        """A question is asked without JSON mode, its facts redacted, and the answer's text returned."""
        facts = {"top_errors": [{"service": "worker", "message": "Failed to send email to ann@example.com"}]}
        with LlmStub() as stub, LlmClient(settings(stub.url), env={}) as client:
            stub.ok("  The worker cannot send e-mail.  ")
            text = client.answer("why is the worker failing?", facts)
        assert text == "The worker cannot send e-mail."
        body = stub.requests[0].body
        assert "response_format" not in body
        assert "ann@example.com" not in json.dumps(body) and "<email>" in body["messages"][1]["content"]

    def test_none_on_failure(self) -> None:
        """When the endpoint is down, `answer` returns None instead of raising."""
        with LlmClient(settings(refused_url(), retries=0), env={}) as client:
            assert client.answer("why?", {"n": 1}) is None
