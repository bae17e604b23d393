"""`/api/kb` (the failure signatures loglens knows, and learning one from an incident), `/api/ask`
(a plain-English question answered from the logs) and `/api/search/semantic` (templates by meaning)
— `loglens kb`, `loglens ask` and `loglens search --semantic` go through these while the daemon runs.
A tenant's request reads its own records and templates, and learns and sees its own signatures (and
the built-in ones)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from loglens.ai.ask import answer_question
from loglens.ai.kb import all_signatures, forget_signature, learn_signature
from loglens.ai.llm import LlmClient
from loglens.ai.signatures import signature_json
from loglens.analysis.explain import UnknownIncidentError, explain_view
from loglens.server.tenancy import RequestScope

if TYPE_CHECKING:
    from loglens.daemon import Daemon

router = APIRouter(prefix="/api")


class LearnIn(BaseModel):
    """An incident that was resolved, and what fixed it (one step per line)."""

    incident_id: str
    fix: str = Field(min_length=1, max_length=20_000)
    notes: str | None = Field(default=None, max_length=20_000)
    name: str | None = Field(default=None, max_length=200)


@router.get(
    "/kb/signatures", summary="The failure signatures the explainer knows: learned first, then built-in"
)
def signatures(scope: RequestScope) -> list[dict[str, Any]]:
    """Each signature's id, name, category, patterns, fix and source (builtin or learned)."""
    return [signature_json(s) for s in all_signatures(scope.store)]


@router.post("/kb/signatures", summary="Learn a signature from a resolved incident", status_code=201)
def learn(request: Request, scope: RequestScope, body: LearnIn) -> dict[str, Any]:
    """The new signature: patterns from the incident's root-cause and error templates, the fix as
    given. Later incidents that match it cite it."""
    daemon: Daemon = request.app.state.daemon
    try:
        found = explain_view(scope.store, daemon.config, body.incident_id, 5)
    except UnknownIncidentError as exc:
        raise HTTPException(404, str(exc)) from None
    token = getattr(request.state, "token", None)
    learned = learn_signature(scope.store, found, body.fix, body.notes, body.name,
                              None if token is None else token.name)  # fmt: skip
    return signature_json(learned)


@router.delete("/kb/signatures/{signature_id}", summary="Forget a learned signature", status_code=204)
def forget(scope: RequestScope, signature_id: str) -> None:
    """404 when no learned signature has this id (built-in ones are changed in signatures.toml)."""
    if not forget_signature(scope.store, signature_id):
        raise HTTPException(404, f"no learned signature {signature_id!r}")


@router.get("/ask", summary="A plain-English question about the logs, answered from them")
def ask(
    request: Request,
    scope: RequestScope,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="The question, in words.")],
    limit: Annotated[int, Query(ge=0, le=200, description="Lines shown at most.")] = 20,
) -> dict[str, Any]:
    """How the question was understood (range, levels, services, topic terms), the query run, the
    answer with its figures, matching lines, patterns and incidents; `narrative` when an LLM is
    configured and answered."""
    daemon: Daemon = request.app.state.daemon
    narrator = LlmClient(daemon.config.llm) if daemon.config.llm is not None else None
    try:
        return answer_question(scope.store, daemon.config, q, time.time_ns(), narrator, limit)
    finally:
        if narrator is not None:
            narrator.close()


@router.get("/search/semantic", summary="Templates closest in meaning to a text, and their latest lines")
def semantic_search(
    request: Request,
    scope: RequestScope,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="What to look for, in words.")],
    k: Annotated[int, Query(ge=1, le=100, description="Templates.")] = 10,
    lines: Annotated[int, Query(ge=0, le=1000, description="Their newest lines.")] = 20,
    service: Annotated[list[str] | None, Query(description="Only these services (globs).")] = None,
    since: Annotated[str | None, Query(description="15m, 2h, 2d or a time.")] = None,
    until: Annotated[str | None, Query(description="Same forms as since; exclusive.")] = None,
) -> dict[str, Any]:
    """`{"hits": [{template_id, service, template, score, count}], "records": [...]}` as `loglens
    search --semantic --json`. 501 when the `semantic` extra is not installed."""
    from loglens.query.semantic import SemanticUnavailable, semantic_json

    daemon: Daemon = request.app.state.daemon
    try:
        with daemon.semantic_lock:
            index = daemon.semantic_index()
            return semantic_json(scope.store, index, q, k, service or (), since, until, lines,
                                 daemon.config.timezone, tenant=scope.tenant)  # fmt: skip
    except SemanticUnavailable as exc:
        raise HTTPException(501, str(exc)) from None
