"""The insight worker: incidents and new error templates go in without waiting, a thread asks the LLM
about them (templates in batches), and each answer that passes its checks is stored as a document.

Ingest must never wait on an LLM: `submit_*` only put work on a bounded queue, a full queue drops
(and counts) instead of blocking, and whatever the LLM does is logged and counted, never raised.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loglens.ai.llm import Insight, LlmBudgetExceeded, LlmClient
from loglens.ai.prompts import incident_prompt, template_prompt
from loglens.errors import LoglensError
from loglens.formats.timestamp import to_iso_ms
from loglens.store.base import Document, Store

log = logging.getLogger("loglens.ai")

INSIGHT = "insight"
"""The store document kind of an LLM insight (docs/store.md)."""
COUNTERS = ("submitted", "analysed", "stored", "discarded", "failed", "dropped", "budget_refused", "skipped")
"""What `InsightWorker.counts` counts: accepted onto the queue, answered by the LLM, stored, answers
discarded, calls (or stores) that failed, refused because the queue was full, refused by the spend
cap, and subjects skipped because they already have an insight."""
_POLL_S = 0.5


def subject_of(kind: str, subject_id: object) -> str:
    """`incident:<id>` or `template:<id>`: what an insight is about, as stored in its body."""
    return f"{kind}:{subject_id}"


def insight_body(subject: str, insight: Insight, created_ns: int) -> dict[str, Any]:
    """The stored body of an insight (docs/store.md, kind "insight")."""
    return {
        "subject": subject,
        "cause": insight.cause,
        "evidence_ids": list(insight.evidence_ids),
        "fix": insight.fix,
        "confidence": insight.confidence,
        "model": insight.model,
        "tokens": {"prompt": insight.prompt_tokens, "answer": insight.answer_tokens},
        "created": to_iso_ms(created_ns),
    }


def insights_for(store: Store, subject: str) -> list[dict[str, Any]]:
    """The stored insights about `subject` (`incident:<id>`, `template:<id>`), newest first, each its
    body plus the document's `id`."""
    kind = subject.split(":", 1)[0]
    return [
        {**doc.body, "id": doc.id}
        for doc in store.documents(INSIGHT, state=kind)
        if doc.body.get("subject") == subject
    ]


@dataclass(frozen=True, slots=True)
class _IncidentJob:
    found: Mapping[str, Any]
    offline: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class _TemplateJob:
    template: Mapping[str, Any]


_WAKE = object()
"""Put on the queue by `close` so a waiting worker notices at once."""


class InsightWorker:
    """A daemon thread turning submitted incidents and templates into stored insights.

    Args:
        client: the LLM client (its settings give the prompt budget).
        store: where insights are kept (`put_document`, kind "insight", state "incident"/"template").
        queue_size: incidents and templates waiting, at most; past it `submit_*` return False.
        batch_size: templates asked about in one call (default `[llm] batch_size`).
        interval: seconds the first waiting template waits for a batch to fill (default `[llm] interval`).
        autostart: start the thread now (else call `start`).

    Each incident is one call; a subject that already has a stored insight is skipped.
    """

    def __init__(
        self,
        client: LlmClient,
        store: Store,
        *,
        queue_size: int = 100,
        batch_size: int | None = None,
        interval: float | None = None,
        autostart: bool = True,
    ) -> None:
        self.client = client
        self.store = store
        self.batch_size = batch_size if batch_size is not None else client.settings.batch_size
        self.interval = interval if interval is not None else client.settings.interval
        self.counts: Counter[str] = Counter({name: 0 for name in COUNTERS})
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._known: set[str] | None = None
        self._pending: list[Mapping[str, Any]] = []
        self._closing = threading.Event()
        self._abandon = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="loglens-insights", daemon=True)
        if autostart:
            self.start()

    def start(self) -> None:
        """Starts the thread (once)."""
        if not self._thread.is_alive() and not self._closing.is_set():
            self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the thread is running."""
        return self._thread.is_alive()

    # -- the callers' side: never blocks ------------------------------------------------------------

    def submit_incident(self, found: Mapping[str, Any], offline: Mapping[str, Any] | None = None) -> bool:
        """Queues an incident (its explain dict and offline explanation); False when the queue is
        full or the worker is closing (counted as dropped)."""
        return self._offer(_IncidentJob(found, offline))

    def submit_templates(self, templates: Sequence[Mapping[str, Any]]) -> bool:
        """Queues new error templates (`{id, service, text, count, examples}`); False when any did
        not fit (each counted as dropped)."""
        return all([self._offer(_TemplateJob(t)) for t in templates])

    def _offer(self, job: object) -> bool:
        if self._closing.is_set():
            self._count("dropped")
            return False
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self._count("dropped")
            return False
        self._count("submitted")
        return True

    def _count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self.counts[name] += by

    def close(self, timeout: float = 10.0) -> None:
        """Stops taking work, asks about what is queued (templates in their batches) and stops; past
        `timeout` seconds the thread is let go after its current call (it is a daemon)."""
        self._closing.set()
        with contextlib.suppress(queue.Full):  # a full queue is fine: the worker polls `_closing` too
            self._queue.put_nowait(_WAKE)
        if self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._abandon.set()
                log.warning("the insight worker is still waiting on the LLM; left to finish on its own")

    # -- the thread --------------------------------------------------------------------------------

    def _run(self) -> None:
        deadline = 0.0
        while not self._abandon.is_set():
            closing = self._closing.is_set()
            wait = max(deadline - time.monotonic(), 0.0) if self._pending else _POLL_S
            try:
                job = self._queue.get(timeout=min(wait, _POLL_S)) if not closing else self._queue.get_nowait()
            except queue.Empty:
                job = None
            if isinstance(job, _IncidentJob):
                self._guarded(self._incident, job)
            elif isinstance(job, _TemplateJob):
                if not self._pending:
                    deadline = time.monotonic() + self.interval
                self._pending.append(job.template)
            due = self._pending and (
                len(self._pending) >= self.batch_size
                or time.monotonic() >= deadline
                or (closing and job is None)
            )
            if due:
                self._guarded(self._templates)
                deadline = time.monotonic() + self.interval
            if closing and job is None and not self._pending:
                return

    def _guarded(self, work: Callable[..., None], *args: object) -> None:
        """Runs one step, so that nothing (an LLM failure, a full disk) stops the thread."""
        try:
            work(*args)
        except LlmBudgetExceeded as exc:
            self._count("budget_refused")
            log.warning("%s", exc)
        except LoglensError as exc:
            self._count("failed")
            log.warning("LLM insight failed: %s", exc)
        except Exception:
            self._count("failed")
            log.exception("LLM insight failed unexpectedly")

    def _known_subjects(self) -> set[str]:
        """Subjects that have an insight, read from the store once, then kept up to date."""
        if self._known is None:
            self._known = {
                str(doc.body.get("subject"))
                for doc in self.store.documents(INSIGHT)
                if doc.body.get("subject")
            }
        return self._known

    def _incident(self, job: _IncidentJob) -> None:
        subject = subject_of("incident", job.found.get("id"))
        if subject in self._known_subjects():
            self._count("skipped")
            return
        prompt = incident_prompt(
            job.found, job.offline, self.client.redactor, self.client.settings.max_prompt_tokens
        )
        insight = self.client.analyse(prompt)
        self._count("analysed")
        if insight is None:
            self._count("discarded")
            return
        self._store(subject, "incident", insight)

    def _templates(self) -> None:
        """Asks about the first `batch_size` waiting templates (those the prompt budget had no room for
        wait for the next batch)."""
        known = self._known_subjects()
        batch: list[Mapping[str, Any]] = []
        seen: set[str] = set()
        while self._pending and len(batch) < self.batch_size:
            template = self._pending.pop(0)
            subject = subject_of("template", template.get("id"))
            if subject in known or subject in seen:
                self._count("skipped")
                continue
            seen.add(subject)
            batch.append(template)
        if not batch:
            return
        prompt = template_prompt(batch, self.client.redactor, self.client.settings.max_prompt_tokens)
        left_out = [t for t in batch if str(t.get("id")) not in prompt.subjects]
        self._pending[:0] = left_out
        found = self.client.analyse_batch(prompt)
        self._count("analysed", len(prompt.subjects))
        self._count("discarded", len(prompt.subjects) - len(found))
        for template_id, insight in found.items():
            self._store(subject_of("template", template_id), "template", insight)

    def _store(self, subject: str, kind: str, insight: Insight) -> None:
        body = insight_body(subject, insight, time.time_ns())
        self.store.put_document(Document(kind=INSIGHT, id="", state=kind, body=body))
        self._known_subjects().add(subject)
        self._count("stored")
