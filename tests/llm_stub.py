"""A real OpenAI-compatible chat endpoint on 127.0.0.1 for tests: scripted answers over HTTP, every
request recorded; and `explain_sample`, an incident as `loglens explain --json` gives one.

    with LlmStub() as stub:
        stub.ok({"cause": ..., "evidence_ids": [...], "fix": ..., "confidence": 0.8}, usage=(120, 30))
        client = LlmClient(LlmSettings(base_url=stub.url, model="stub"))

Behaviours are used one per request, in order; when none is left the stub answers 500 (a test that
makes more calls than it scripted fails loudly rather than hanging).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

MALFORMED = {
    "not_json": "The root cause is probably the database. Restart it.",
    "missing_fields": json.dumps({"evidence_ids": [1], "confidence": 0.5}),
    "wrong_types": json.dumps(
        {"cause": "db", "evidence_ids": "1, 2", "fix": "restart", "confidence": "high"}
    ),
    "unknown_ids": json.dumps(
        {"cause": "db down", "evidence_ids": [999_999_999], "fix": "restart", "confidence": 0.9}
    ),
}
"""Bad answers by kind: prose, missing cause and fix, wrong types, and ids the prompt never showed."""


@dataclass
class StubRequest:
    """One request as the stub received it (header names lowercased)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


Behaviour = Callable[[BaseHTTPRequestHandler], None]


class LlmStub:
    """A threading HTTP server on a free port of 127.0.0.1 answering `POST /v1/chat/completions`
    (and `/chat/completions`) from a queue of scripted behaviours. Use it as a context manager."""

    def __init__(self) -> None:
        self.requests: list[StubRequest] = []
        self._script: deque[Behaviour] = deque()
        self._answer: Callable[[dict[str, Any]], dict[str, Any] | str] | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path not in ("/v1/chat/completions", "/chat/completions"):
                    _send(self, 404, {"error": {"message": f"no route {self.path}"}})
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"unparsed": raw.decode("utf-8", "replace")}
                with stub._lock:
                    stub.requests.append(
                        StubRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    behaviour = stub._script.popleft() if stub._script else None
                    answer = stub._answer
                if behaviour is None and answer is not None:
                    _send(self, 200, completion(answer(body), (500, 50), "stub-model"))
                    return
                if behaviour is None:
                    _send(self, 500, {"error": {"message": "the stub has no scripted answer left"}})
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    behaviour(self)  # may find the client gone (it gave up waiting: a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="llm-stub", daemon=True
        )

    def __enter__(self) -> LlmStub:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    # -- scripted behaviours, one per request ---------------------------------------------------------

    def _then(self, behaviour: Behaviour) -> LlmStub:
        with self._lock:
            self._script.append(behaviour)
        return self

    def answer_with(self, answer: Callable[[dict[str, Any]], dict[str, Any] | str]) -> LlmStub:
        """Once the script is used up, every request is answered with `answer(request body)` (a
        model that reads its prompt: for tests where the calls are not known in advance)."""
        self._answer = answer
        return self

    def ok(
        self, content: dict[str, Any] | str, usage: tuple[int, int] | None = None, model: str = "stub-model"
    ) -> LlmStub:
        """Answers a chat completion whose content is `content` (a dict is sent as its JSON), with
        `usage` (prompt, completion tokens) or none at all."""
        return self._then(lambda handler: _send(handler, 200, completion(content, usage, model)))

    def slow(self, seconds: float, then: Behaviour | None = None) -> LlmStub:
        """Waits `seconds` (less if the stub closes), then answers as `then` (default: a valid answer
        citing nothing; mostly the client has given up by then)."""
        after = then or (lambda handler: _send(handler, 200, completion("{}", None, "stub-model")))

        def behaviour(handler: BaseHTTPRequestHandler) -> None:
            self._closing.wait(seconds)
            after(handler)

        return self._then(behaviour)

    def malformed(self, kind: str = "not_json") -> LlmStub:
        """A 200 answer whose content breaks the schema in the way `kind` names (see MALFORMED)."""
        return self.ok(MALFORMED[kind])

    def status(self, code: int, body: str = "", retry_after: str | None = None) -> LlmStub:
        """Answers `code` with `body`, and a Retry-After header when given."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return self._then(lambda handler: _send(handler, code, body, headers))

    def close_connection(self) -> LlmStub:
        """Closes the connection without answering."""

        def behaviour(handler: BaseHTTPRequestHandler) -> None:
            handler.close_connection = True

        return self._then(behaviour)


def completion(content: dict[str, Any] | str, usage: tuple[int, int] | None, model: str) -> dict[str, Any]:
    """An OpenAI chat completion carrying `content`."""
    text = content if isinstance(content, str) else json.dumps(content)
    reply: dict[str, Any] = {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }
    if usage is not None:
        reply["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        }
    return reply


def _send(
    handler: BaseHTTPRequestHandler,
    code: int,
    body: dict[str, Any] | str,
    headers: dict[str, str] | None = None,
) -> None:
    data = (body if isinstance(body, str) else json.dumps(body)).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def refused_url() -> str:
    """The base URL of a port on 127.0.0.1 that nothing listens on (a server that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def explain_sample(incident_id: str = "inc-20261121-0116-api", extra_lines: int = 0) -> dict[str, Any]:
    """An incident as `loglens explain --json` gives it: a root cause on sshd, evidence on sshd and
    worker (one line holding an e-mail address), context around the first sign; `extra_lines` more
    evidence lines make it as big as wanted."""
    line = _sample_line
    evidence = [
        line(83140, "01:16:12", "sshd", "warning", "Invalid user centos from 193.97.59.47 port 35962"),
        line(
            83141,
            "01:16:13",
            "sshd",
            "error",
            "Failed password for invalid user ubuntu from 193.97.59.47 port 39007 ssh2",
        ),
        line(
            83485, "01:22:07", "sshd", "error", "Failed password for deploy from 10.8.175.213 port 29024 ssh2"
        ),
        line(91047, "01:23:03", "worker", "error", "Failed to send email to vmitchell@post.example.org"),
    ]
    evidence += [
        line(100_000 + i, "01:24:00", "worker", "error", f"Job {i} failed: " + "stack frame " * 30)
        for i in range(extra_lines)
    ]
    return {
        "id": incident_id,
        "start": "2026-11-21T01:16:00.000Z",
        "end": "2026-11-21T01:25:00.000Z",
        "severity": "critical",
        "services": ["api", "sshd", "worker"],
        "root_cause": {
            "service": "sshd",
            "template_id": "sshd-17",
            "template": "Failed password for <*> from <*> port <*> ssh2",
            "first_event_ts": "2026-11-21T01:22:07.000Z",
            "first_event_id": 83485,
            "confidence": 0.65,
        },
        "candidates": [
            {"service": "sshd", "score": 0.95, "onset": "2026-11-21T01:16:12.000Z"},
            {"service": "worker", "score": 0.27, "onset": "2026-11-21T01:23:03.324Z"},
        ],
        "anomalies": [
            {
                "kind": "template_burst",
                "service": "sshd",
                "start": f"2026-11-21T01:{16 + i % 9:02d}:13.000Z",
                "score": 99.0 - i,
                "detail": f"{43 + i} error lines of one template in a minute (usually 0.053)",
            }
            for i in range(3 + extra_lines)
        ],
        "evidence": evidence,
        "context": {
            "anchor": evidence[2],
            "before": [
                line(
                    83483,
                    "01:21:34",
                    "sshd",
                    "error",
                    "pam_unix(sshd:auth): authentication failure; rhost=125.175.155.82",
                )
            ],
            "after": [
                line(83493, "01:22:54", "sshd", "info", "Received disconnect from 10.4.114.45 port 53424:11")
            ],
        },
    }


def _sample_line(record_id: int, clock: str, service: str, level: str, message: str) -> dict[str, Any]:
    return {
        "id": record_id,
        "ts": f"2026-11-21T{clock}.000Z",
        "service": service,
        "level": level,
        "message": message,
    }
