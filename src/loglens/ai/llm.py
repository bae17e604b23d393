"""The optional LLM: `[llm]` settings and a client of any OpenAI-compatible chat endpoint (OpenAI,
Ollama, vLLM, llama.cpp server) that asks about incidents and keeps only answers it can check.

Nothing in loglens requires it. Every call is bounded (timeout, retries, an hourly spend cap checked
before the request), every failure is an `LlmError` saying what to do, and an answer that does not
fit the schema or cites evidence it was not shown is discarded, logged and counted, never stored.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from loglens.ai.prompts import Prompt, estimate_tokens, question_prompt
from loglens.enrich.redact import Redactor
from loglens.errors import ConfigError, LoglensError
from loglens.query.timerange import parse_duration

log = logging.getLogger("loglens.ai")

HOUR_S = 3600.0
BODY_SHOWN = 300
"""Characters of an error response body quoted in an LlmError (enough for the server's reason)."""
MAX_TEXT_CHARS = 2000
"""An answer's cause, fix or plain-English reply is cut to this (a runaway model must not flood a page)."""


class LlmError(LoglensError):
    """A call to the LLM failed; the message names the URL and what it answered, and what to change."""


class LlmUnavailable(LlmError):
    """The endpoint could not be reached, or did not answer in time, on every attempt."""


class LlmHttpError(LlmError):
    """The endpoint answered with an error status (`status`); 4xx other than 408/429 are not retried."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class LlmBadReply(LlmError):
    """The endpoint answered 2xx with something that is not an OpenAI chat completion."""


class LlmBudgetExceeded(LlmError):
    """The call could take the last hour's spend past `cost_cap_per_hour` (or `max_tokens_per_hour`);
    refused before any request is made."""


@dataclass(frozen=True, slots=True)
class LlmSettings:
    """`[llm]` in loglens.toml; only `base_url` and `model` are needed.

    Attributes:
        base_url: the OpenAI-compatible API root, such as "http://127.0.0.1:11434/v1" (Ollama) or
            "https://api.openai.com/v1"; requests go to `{base_url}/chat/completions`.
        model: the model name the server knows (llama.cpp's server takes any name).
        api_key_env: the environment variable holding the API key (sent as `Authorization: Bearer`);
            the key itself is never written in loglens.toml. Unset: no Authorization header.
        timeout: seconds to wait for one answer.
        retries: further attempts after a timeout, a refused connection, 408, 429 or 5xx.
        backoff: seconds before the first retry, doubling with each further one.
        max_retry_wait: the longest wait between attempts, even when Retry-After asks for more.
        max_prompt_tokens: the prompt's budget (estimated as characters / 4); evidence is trimmed to it.
        max_answer_tokens: `max_tokens` of each request.
        cost_cap_per_hour: USD the last hour's calls may cost, when a price is set.
        price_per_1k_prompt, price_per_1k_answer: USD per 1,000 tokens; 0 (a local model) makes the
            hourly cap count tokens instead (`max_tokens_per_hour`).
        max_tokens_per_hour: the last hour's prompt and answer tokens, at most, for a free model.
        batch_size: new templates asked about in one call by the insight worker.
        interval: seconds the worker waits for a batch of templates to fill before asking anyway.
        redact_ips: also replace IP addresses with `<ip>` in what is sent.
    """

    base_url: str
    model: str
    api_key_env: str = "LOGLENS_LLM_API_KEY"
    timeout: float = 30.0
    retries: int = 2
    backoff: float = 1.0
    max_retry_wait: float = 60.0
    max_prompt_tokens: int = 3000
    max_answer_tokens: int = 600
    cost_cap_per_hour: float = 1.0
    price_per_1k_prompt: float = 0.0
    price_per_1k_answer: float = 0.0
    max_tokens_per_hour: int = 200_000
    batch_size: int = 10
    interval: float = 60.0
    redact_ips: bool = False

    @property
    def priced(self) -> bool:
        """Whether calls cost money (the hourly cap is then in USD, else in tokens)."""
        return self.price_per_1k_prompt > 0 or self.price_per_1k_answer > 0

    def cost(self, prompt_tokens: int, answer_tokens: int) -> float:
        """USD of a call of this size."""
        return (prompt_tokens * self.price_per_1k_prompt + answer_tokens * self.price_per_1k_answer) / 1000


LLM_KEYS = (
    "base_url",
    "model",
    "api_key_env",
    "timeout",
    "retries",
    "backoff",
    "max_retry_wait",
    "max_prompt_tokens",
    "max_answer_tokens",
    "cost_cap_per_hour",
    "price_per_1k_prompt",
    "price_per_1k_answer",
    "max_tokens_per_hour",
    "batch_size",
    "interval",
    "redact_ips",
)
_SECONDS = ("timeout", "backoff", "max_retry_wait", "interval")
_WHOLE = {
    "retries": 0,
    "max_prompt_tokens": 500,
    "max_answer_tokens": 16,
    "max_tokens_per_hour": 1,
    "batch_size": 1,
}
_USD = ("cost_cap_per_hour", "price_per_1k_prompt", "price_per_1k_answer")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_llm(table: Mapping[str, Any] | None, where: str) -> LlmSettings | None:
    """`[llm]` of loglens.toml → settings, or None (no LLM) when the table is absent or has no
    `base_url`. Times are seconds (30) or durations ("30s"); errors name the key and a valid value."""
    if not table:
        return None
    if "api_key" in table:
        raise ConfigError(
            f"{where}: [llm] api_key: the key is not read from loglens.toml; export it in an environment "
            'variable and name that variable: api_key_env = "LOGLENS_LLM_API_KEY"'
        )
    unknown = sorted(set(table) - set(LLM_KEYS))
    if unknown:
        raise ConfigError(f"{where}: [llm] has no setting {unknown[0]!r}; known: {', '.join(LLM_KEYS)}")
    if "base_url" not in table:
        return None
    values: dict[str, Any] = {}
    for key, value in table.items():
        values[key] = _setting(key, value, where)
    if "model" not in values:
        raise ConfigError(
            f'{where}: [llm] needs a model, such as model = "llama3.1:8b" (Ollama) or "gpt-4o-mini" '
            "(OpenAI); a llama.cpp server takes any name"
        )
    return LlmSettings(**values)


def _setting(key: str, value: object, where: str) -> object:
    """One `[llm]` value, checked and converted."""
    here = f"{where}: [llm] {key}"
    if key == "base_url":
        if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+", value):
            raise ConfigError(f'{here} must be an http(s) URL such as "http://127.0.0.1:11434/v1"')
        return value.rstrip("/")
    if key in ("model", "api_key_env"):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{here} must be a non-empty string")
        if key == "api_key_env" and not _ENV_NAME.match(value):
            raise ConfigError(f'{here} must name an environment variable, such as "OPENAI_API_KEY"')
        return value.strip()
    if key == "redact_ips":
        if not isinstance(value, bool):
            raise ConfigError(f"{here} must be true or false")
        return value
    if key in _SECONDS:
        try:
            seconds = float(value) if isinstance(value, int | float) else parse_duration(str(value)) / 1e9
        except (ValueError, LoglensError):
            seconds = -1.0
        if isinstance(value, bool) or not math.isfinite(seconds) or seconds <= 0:
            raise ConfigError(f'{here} must be a duration such as 30 or "30s"')
        return seconds
    if key in _WHOLE:
        least = _WHOLE[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(f"{here} must be a whole number ≥ {least}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{here} must be a number of US dollars ≥ 0, such as 0.15")
    return float(value)


@dataclass(frozen=True, slots=True)
class ChatReply:
    """One chat completion: its text, its size in tokens (from `usage`, else estimated) and which
    model answered; `elapsed` is seconds from the first attempt to the answer."""

    content: str
    prompt_tokens: int
    answer_tokens: int
    model: str
    elapsed: float
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class Insight:
    """An LLM's answer that passed every check: a cause, the evidence ids (among those it was shown)
    backing it, a fix and a confidence in [0, 1]; tokens are this answer's share of its call."""

    cause: str
    evidence_ids: list[int]
    fix: str
    confidence: float
    model: str
    prompt_tokens: int
    answer_tokens: int


class DiscardedAnswer(Exception):
    """An answer (or one item of a batch) that does not fit the schema; `reason` is what is counted."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


_FENCE = re.compile(r"^\s*```[\w-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def parse_answer(content: str) -> dict[str, Any]:
    """The JSON object of an answer, from inside ``` fences or surrounding prose if need be."""
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        try:
            value = orjson.loads(text[start : end + 1]) if 0 <= start < end else None
        except orjson.JSONDecodeError:
            value = None
        if value is None:
            raise DiscardedAnswer("not_json", f"the answer is not JSON: {text[:80]!r}") from None
    if not isinstance(value, dict):
        raise DiscardedAnswer("not_an_object", f"the answer is a JSON {type(value).__name__}, not an object")
    return value


def checked_answer(item: Mapping[str, Any], allowed_ids: Sequence[int]) -> tuple[str, list[int], str, float]:
    """(cause, evidence ids, fix, confidence) of one answer object, or DiscardedAnswer saying why not.

    Ids the prompt did not show are dropped; when the prompt showed some and none is left, the answer
    is discarded (it cites nothing loglens can point at). Numeric strings are accepted as ids.
    """
    cause, fix = item.get("cause"), item.get("fix")
    if not isinstance(cause, str) or not cause.strip():
        raise DiscardedAnswer("missing_cause", "the answer has no cause")
    if not isinstance(fix, str) or not fix.strip():
        raise DiscardedAnswer("missing_fix", "the answer has no fix")
    confidence = item.get("confidence")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0 <= confidence <= 1  # NaN fails this too
    ):
        raise DiscardedAnswer("bad_confidence", f"confidence {confidence!r} is not a number from 0 to 1")
    cited = item.get("evidence_ids")
    if not isinstance(cited, list):
        raise DiscardedAnswer("bad_evidence_ids", f"evidence_ids {cited!r} is not a list")
    allowed = set(allowed_ids)
    ids: list[int] = []
    for value in cited:
        number = int(value) if isinstance(value, str) and value.strip().isdigit() else value
        if (
            isinstance(number, int)
            and not isinstance(number, bool)
            and number in allowed
            and number not in ids
        ):
            ids.append(number)
    if allowed and not ids:
        raise DiscardedAnswer("no_known_evidence", f"none of the cited ids {cited[:10]!r} was in the prompt")
    return cause.strip()[:MAX_TEXT_CHARS], ids, fix.strip()[:MAX_TEXT_CHARS], float(confidence)


class SpendLedger:
    """The last hour's calls as [time, tokens, USD], so a cap holds over any rolling hour.

    A call is entered before it is made, at its largest, and settled at its real size once answered:
    two threads calling at once cannot both slip under the cap.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._calls: deque[list[float]] = deque()
        self._lock = threading.Lock()

    def spent(self) -> tuple[int, float]:
        """Tokens and USD of the calls made (or under way) in the last hour."""
        with self._lock:
            horizon = self._clock() - HOUR_S
            while self._calls and self._calls[0][0] <= horizon:
                self._calls.popleft()
            return int(sum(c[1] for c in self._calls)), sum(c[2] for c in self._calls)

    def add(self, tokens: int, cost: float) -> list[float]:
        """Enters a call made now; the entry is what `settle` takes."""
        entry = [self._clock(), float(tokens), cost]
        with self._lock:
            self._calls.append(entry)
        return entry

    def settle(self, entry: list[float], tokens: int, cost: float) -> None:
        """Corrects a call's size once known (0 for a call that failed)."""
        with self._lock:
            entry[1], entry[2] = float(tokens), cost


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from `now`; None when absent or
    unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(text).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return None


_RETRIED_STATUSES = frozenset({408, 429})


class LlmClient:
    """Talks to one OpenAI-compatible endpoint (sync, over httpx), within the settings' bounds.

    Args:
        settings: the `[llm]` settings.
        env: where `api_key_env` is looked up (the key is read once, here).
        clock: wall-clock seconds, for the rolling hour of the spend cap.
        sleep: how waits between attempts are made.
        redactor: applied to what `answer` sends (prompts for incidents and templates are built
            redacted by `loglens.ai.prompts`); default: the default rules, plus IPs if `redact_ips`.

    `discarded` counts the answers thrown away, by reason (see `checked_answer`).
    """

    def __init__(
        self,
        settings: LlmSettings,
        env: Mapping[str, str] = os.environ,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        redactor: Redactor | None = None,
    ) -> None:
        self.settings = settings
        self.url = f"{settings.base_url}/chat/completions"
        self.redactor = redactor or Redactor(ips=settings.redact_ips)
        self.discarded: Counter[str] = Counter()
        self._key = env.get(settings.api_key_env) or None
        self._clock = clock
        self._sleep = sleep
        self._ledger = SpendLedger(clock)
        self._budget_lock = threading.Lock()
        self._json_mode = True
        headers = {"User-Agent": "loglens"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        self._http = httpx.Client(timeout=settings.timeout, headers=headers, follow_redirects=False)

    def close(self) -> None:
        """Releases the HTTP connections."""
        self._http.close()

    def __enter__(self) -> LlmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one chat call -----------------------------------------------------------------------------

    def chat(self, messages: Sequence[Mapping[str, str]], *, json_mode: bool = True) -> ChatReply:
        """One chat completion at temperature 0.

        With `json_mode`, the request asks for a JSON object (`response_format`); a server that
        answers 400 about response_format is asked again without it, and not asked with it again.

        Raises:
            LlmBudgetExceeded: before any request, when the call could pass the hourly cap.
            LlmError: when every attempt failed, or the reply is not a chat completion.
        """
        prompt_tokens = estimate_tokens("".join(m["content"] for m in messages))
        entry = self._reserve(prompt_tokens)
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": [dict(m) for m in messages],
            "temperature": 0,
            "max_tokens": self.settings.max_answer_tokens,
        }
        if json_mode and self._json_mode:
            body["response_format"] = {"type": "json_object"}
        started = time.monotonic()
        try:
            reply = self._reply(self._post(body), prompt_tokens, time.monotonic() - started)
        except BaseException:
            self._ledger.settle(entry, 0, 0.0)
            raise
        tokens = reply.prompt_tokens + reply.answer_tokens
        self._ledger.settle(entry, tokens, self.settings.cost(reply.prompt_tokens, reply.answer_tokens))
        return reply

    def _reserve(self, prompt_tokens: int) -> list[float]:
        """Enters the call in the ledger at its largest (all of `max_answer_tokens`), or refuses it
        when that could take the rolling hour past the cap, so the cap holds whatever the model says."""
        settings = self.settings
        worst_tokens = prompt_tokens + settings.max_answer_tokens
        worst = settings.cost(prompt_tokens, settings.max_answer_tokens)
        with self._budget_lock:
            self._check_budget(worst_tokens, worst)
            return self._ledger.add(worst_tokens, worst)

    def _check_budget(self, worst_tokens: int, worst: float) -> None:
        settings = self.settings
        tokens, cost = self._ledger.spent()
        if settings.priced and cost + worst > settings.cost_cap_per_hour:
            raise LlmBudgetExceeded(
                f"LLM call refused: the last hour's calls cost ${cost:.4f} and this one could cost "
                f"${worst:.4f}, past [llm] cost_cap_per_hour = {settings.cost_cap_per_hour}; "
                "wait, or raise the cap"
            )
        if not settings.priced and tokens + worst_tokens > settings.max_tokens_per_hour:
            raise LlmBudgetExceeded(
                f"LLM call refused: the last hour's calls used {tokens} tokens and this one could use "
                f"{worst_tokens}, past [llm] max_tokens_per_hour = {settings.max_tokens_per_hour}; "
                "wait, or raise the cap"
            )

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POSTs `body`, retrying what may pass (timeouts, refused connections, 408, 429, 5xx) with
        exponential backoff (429: Retry-After when given), at most `retries` times."""
        attempts = self.settings.retries + 1
        failures = 0
        while True:
            wait: float | None = None
            try:
                response = self._http.post(self.url, json=body)
            except httpx.TimeoutException:
                failure: LlmError = LlmUnavailable(
                    f"the LLM at {self.url} did not answer within {self.settings.timeout:g}s "
                    f"({failures + 1} attempt(s)): raise [llm] timeout, or use a smaller or closer model"
                )
            except httpx.TransportError as exc:
                failure = LlmUnavailable(
                    f"cannot reach the LLM at {self.url} ({failures + 1} attempt(s)): "
                    f"{self._mask(str(exc))}; is the server running, and is [llm] base_url right?"
                )
            else:
                if response.is_success:
                    return self._json(response)
                text = self._mask(response.text)
                if response.status_code == 400 and "response_format" in body and "response_format" in text:
                    # Some servers (older vLLM, llama.cpp builds) refuse JSON mode: ask plainly instead.
                    log.info("the LLM at %s refused response_format; asking without it from now on", self.url)
                    self._json_mode = False
                    del body["response_format"]
                    continue
                failure = self._status_error(response.status_code, text, failures + 1)
                if response.status_code == 429:
                    wait = retry_after_seconds(response.headers.get("retry-after"), self._clock())
                elif response.status_code < 500 and response.status_code not in _RETRIED_STATUSES:
                    raise failure
            failures += 1
            if failures >= attempts:
                raise failure
            delay = wait if wait is not None else self.settings.backoff * 2 ** (failures - 1)
            log.info(
                "LLM call failed (%s); attempt %d of %d in %.2fs", failure, failures + 1, attempts, delay
            )
            self._sleep(min(delay, self.settings.max_retry_wait))

    def _status_error(self, status: int, text: str, attempts: int) -> LlmHttpError:
        """An LlmHttpError quoting the start of the server's body, with what to check for the status."""
        hint = {
            401: f"check the API key in ${self.settings.api_key_env}",
            403: f"check the API key in ${self.settings.api_key_env} and its access to the model",
            404: f"check [llm] base_url (usually ending in /v1) and the model {self.settings.model!r}",
            413: "lower [llm] max_prompt_tokens",
            429: "the server is rate-limiting: lower the load or raise its limits",
        }.get(status, "the server's log may say more" if status >= 500 else "see the server's reason above")
        shown = " ".join(text.split())
        shown = shown if len(shown) <= BODY_SHOWN else shown[: BODY_SHOWN - 1] + "…"
        said = f"the LLM at {self.url} answered {status} ({attempts} attempt(s)): {shown or '(empty body)'}"
        return LlmHttpError(f"{said}; {hint}", status)

    def _mask(self, text: str) -> str:
        """`text` without the API key (a server may echo what it was sent)."""
        return text.replace(self._key, "<key>") if self._key else text

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise LlmBadReply(
                f"the LLM at {self.url} answered {response.status_code} with something that is not a JSON "
                f"object: {self._mask(response.text)[:BODY_SHOWN]!r}; "
                "is [llm] base_url an OpenAI-compatible API?"
            )
        return data

    def _reply(self, data: Mapping[str, Any], prompt_estimate: int, elapsed: float) -> ChatReply:
        """The chat completion's first choice and usage (estimated as characters / 4 when absent)."""
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            content = None
        if not isinstance(content, str):
            raise LlmBadReply(
                f"the LLM at {self.url} answered without choices[0].message.content: "
                f"{self._mask(orjson.dumps(data).decode())[:BODY_SHOWN]}"
            )
        usage = data.get("usage")
        prompt_tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        answer_tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
        estimated = not (isinstance(prompt_tokens, int) and isinstance(answer_tokens, int))
        model = data.get("model")
        return ChatReply(
            content=content,
            prompt_tokens=prompt_tokens if isinstance(prompt_tokens, int) else prompt_estimate,
            answer_tokens=answer_tokens if isinstance(answer_tokens, int) else estimate_tokens(content),
            model=model if isinstance(model, str) and model else self.settings.model,
            elapsed=elapsed,
            estimated=estimated,
        )

    # -- questions with checked answers ------------------------------------------------------------

    def analyse(self, prompt: Prompt) -> Insight | None:
        """The insight answering a one-subject prompt (an incident), or None when the answer was
        discarded (the reason is logged to `loglens.ai` and counted in `discarded`).

        Raises:
            LlmError: when the call itself failed (see `chat`).
        """
        if prompt.batch:
            raise ValueError("analyse takes a one-subject prompt; use analyse_batch for a batch")
        reply = self.chat(prompt.messages())
        subject = next(iter(prompt.subjects), "")
        try:
            cause, ids, fix, confidence = checked_answer(parse_answer(reply.content), prompt.evidence_ids)
        except DiscardedAnswer as why:
            self._discard(why, subject)
            return None
        return Insight(cause, ids, fix, confidence, reply.model, reply.prompt_tokens, reply.answer_tokens)

    def analyse_batch(self, prompt: Prompt) -> dict[str, Insight]:
        """Subject id → insight for each subject of a batch prompt whose answer item passed every
        check (items naming no subject of the prompt, repeated ones and those missing are discarded,
        each counted). Each insight carries an equal share of the call's tokens.

        Raises:
            LlmError: when the call itself failed (see `chat`).
        """
        reply = self.chat(prompt.messages())
        subjects = prompt.subjects
        try:
            items = parse_answer(reply.content).get("insights")
            if not isinstance(items, list):
                raise DiscardedAnswer("not_a_batch", 'the answer has no "insights" list')
        except DiscardedAnswer as why:
            for subject in subjects:
                self._discard(why, subject)
            return {}
        share = max(len(subjects), 1)
        found: dict[str, Insight] = {}
        for item in items:
            subject = str(item.get("template_id")) if isinstance(item, dict) else ""
            try:
                if not isinstance(item, dict):
                    raise DiscardedAnswer("not_an_object", "an item of the batch is not an object")
                if subject not in subjects or subject in found:
                    raise DiscardedAnswer("unknown_subject", f"template_id {subject!r} was not asked about")
                cause, ids, fix, confidence = checked_answer(item, subjects[subject])
            except DiscardedAnswer as why:
                self._discard(why, subject)
                continue
            found[subject] = Insight(
                cause,
                ids,
                fix,
                confidence,
                reply.model,
                reply.prompt_tokens // share,
                reply.answer_tokens // share,
            )
        for subject in subjects:
            if subject not in found and not any(
                isinstance(i, dict) and str(i.get("template_id")) == subject for i in items
            ):
                self._discard(DiscardedAnswer("no_answer", "the batch answer has no item for it"), subject)
        return found

    def _discard(self, why: DiscardedAnswer, subject: str) -> None:
        self.discarded[why.reason] += 1
        log.warning("discarded the LLM's answer about %s (%s): %s", subject or "?", why.reason, why.detail)

    def answer(self, question: str, facts: Mapping[str, Any]) -> str | None:
        """A short plain-English answer to a user's question from offline `facts`, or None on any
        failure (logged): the offline answer then stands alone."""
        try:
            prompt = question_prompt(question, facts, self.redactor, self.settings.max_prompt_tokens)
            reply = self.chat(prompt.messages(), json_mode=False)
        except LoglensError as exc:
            log.warning("no LLM answer to the question: %s", exc)
            return None
        text = reply.content.strip()
        return text[:MAX_TEXT_CHARS] or None
