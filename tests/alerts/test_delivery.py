"""Tests for alert delivery: retries with backoff, one worker per channel so a hung or dead channel
delays no other, drops when a queue is full, a prompt close, and outcomes for every notification."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from loglens.alerts.channels import WebhookChannel, WebhookConfig
from loglens.alerts.delivery import CLOSED, QUEUE_FULL, Delivery, Outcome, retry_delay

WAIT_S = 10.0
"""How long a test waits for something that should happen at once; only reached when it is broken."""


def notification(alert_id: str = "1", event: str = "opened") -> dict[str, Any]:
    return {
        "event": event,
        "group": "service=api",
        "alerts": [{"id": alert_id, "rule": "db-errors", "severity": "error", "title": "db down"}],
    }


class Receiver:
    """A real HTTP server on 127.0.0.1 that records POSTed alert ids, answers `statuses` in turn (then
    200), and, while `gate` is clear, holds every request open (a hung receiver)."""

    def __init__(self, statuses: list[int], hung: bool) -> None:
        self.ids: list[str] = []
        self.statuses = list(statuses)
        self.gate = threading.Event()
        if not hung:
            self.gate.set()
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.changed:
                    receiver.ids.append(body["alerts"][0]["id"])
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.changed.notify_all()
                receiver.gate.wait(WAIT_S)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def channel(self, name: str, timeout_s: float = WAIT_S) -> WebhookChannel:
        url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        return WebhookChannel(name, WebhookConfig(url=url, timeout_s=timeout_s))

    def wait_for(self, count: int) -> list[str]:
        """The ids received, once there are `count` of them."""
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.ids) >= count, WAIT_S), self.ids
            return list(self.ids)

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """Starts receivers on demand (`receiver(500, 500)`, `receiver(hung=True)`), stopped after the test."""
    started: list[Receiver] = []

    def start(*statuses: int, hung: bool = False) -> Receiver:
        started.append(Receiver(list(statuses), hung))
        return started[-1]

    yield start
    for one in started:
        one.close()


class Outcomes:
    """Collects outcomes from the workers and lets a test wait for them."""

    def __init__(self) -> None:
        self.seen: list[Outcome] = []
        self.changed = threading.Condition()

    def __call__(self, outcome: Outcome) -> None:
        with self.changed:
            self.seen.append(outcome)
            self.changed.notify_all()

    def wait_for(self, count: int, channel: str | None = None) -> list[Outcome]:
        """The outcomes (of `channel`, when given), once there are `count` of them."""

        def mine() -> list[Outcome]:
            return [o for o in self.seen if channel is None or o.channel == channel]

        with self.changed:
            assert self.changed.wait_for(lambda: len(mine()) >= count, WAIT_S), self.seen
            return mine()


@pytest.fixture
def deliveries() -> Iterator[Callable[..., Delivery]]:
    """Builds Delivery objects that are closed after the test, whatever it left running."""
    made: list[Delivery] = []

    def make(*args: Any, **kwargs: Any) -> Delivery:
        made.append(Delivery(*args, **kwargs))
        return made[-1]

    yield make
    for delivery in made:
        delivery.close(timeout=0.5)


def refused_url_channel(name: str) -> WebhookChannel:
    """A webhook channel to a port nothing listens on: every attempt is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return WebhookChannel(name, WebhookConfig(url=f"http://127.0.0.1:{port}/", timeout_s=2.0))


class TestRetryDelay:
    """Retry waits double from `backoff`, stop at `max_backoff` and vary by ±20%."""

    def test_doubling_cap_and_jitter(self) -> None:
        """Retries 0, 1, 2 wait 1, 2, 4 s at no jitter; a late retry waits the cap; jitter spans 0.8–1.2×."""
        assert [retry_delay(n, 1.0, 60.0, 0.5) for n in range(3)] == [1.0, 2.0, 4.0]
        assert retry_delay(20, 1.0, 60.0, 0.5) == 60.0
        assert retry_delay(0, 10.0, 60.0, 0.0) == pytest.approx(8.0)
        assert retry_delay(0, 10.0, 60.0, 0.999999) == pytest.approx(12.0)


class TestDelivery:
    """Delivery sends in the background, per channel, and reports one outcome per notification."""

    def test_retries_until_it_succeeds(
        self, receiver: Callable[..., Receiver], deliveries: Callable[..., Delivery]
    ) -> None:
        """A receiver failing twice then answering 200 gives one ok outcome after 3 attempts."""
        flaky = receiver(500, 503)
        outcomes = Outcomes()
        delivery = deliveries([flaky.channel("ops")], outcomes, backoff=0.01)
        assert delivery.submit("ops", notification("7", "escalated"))
        [outcome] = outcomes.wait_for(1)
        assert (outcome.channel, outcome.kind, outcome.event, outcome.alert_ids) == (
            "ops",
            "webhook",
            "escalated",
            ("7",),
        )
        assert (outcome.ok, outcome.attempts, outcome.error) == (True, 3, None)
        assert outcome.elapsed_s >= 0 and outcome.finished_at_ns > 0
        assert flaky.wait_for(3) == ["7", "7", "7"]
        assert (delivery.sent, delivery.failed, delivery.dropped) == ({"ops": 1}, {"ops": 0}, {"ops": 0})

    def test_dead_channel_fails_after_retries_and_delays_no_other(
        self,
        receiver: Callable[..., Receiver],
        deliveries: Callable[..., Delivery],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A refused channel ends in a failed outcome after 1 + retries attempts, naming the error and
        logged; meanwhile every notification to a healthy channel arrives."""
        healthy = receiver()
        outcomes = Outcomes()
        delivery = deliveries(
            [refused_url_channel("dead"), healthy.channel("ops")], outcomes, retries=2, backoff=0.01
        )
        with caplog.at_level(logging.WARNING, logger="loglens.alerts"):
            for n in range(3):
                assert delivery.submit("dead", notification(str(n)))
                assert delivery.submit("ops", notification(str(n)))
            assert healthy.wait_for(3) == ["0", "1", "2"]
            failed = outcomes.wait_for(3, "dead")
        assert all(not o.ok and o.attempts == 3 for o in failed)
        assert all(o.error is not None and "cannot reach" in o.error for o in failed)
        assert [o.ok for o in outcomes.wait_for(3, "ops")] == [True, True, True]
        assert delivery.failed == {"dead": 3, "ops": 0}
        assert "giving up after 3 attempts" in caplog.text

    def test_hung_channel_delays_no_other(
        self, receiver: Callable[..., Receiver], deliveries: Callable[..., Delivery]
    ) -> None:
        """While one channel's receiver holds its request open, another channel's notifications all arrive."""
        hung, healthy = receiver(hung=True), receiver()
        outcomes = Outcomes()
        delivery = deliveries([hung.channel("slow"), healthy.channel("ops")], outcomes)
        assert delivery.submit("slow", notification("s"))
        hung.wait_for(1)
        for n in range(5):
            assert delivery.submit("ops", notification(str(n)))
        assert healthy.wait_for(5) == ["0", "1", "2", "3", "4"]
        assert all(o.ok for o in outcomes.wait_for(5, "ops"))
        assert delivery.pending() == {"slow": 1, "ops": 0}
        hung.gate.set()
        assert outcomes.wait_for(1, "slow")[0].ok

    def test_full_queue_drops_and_reports(
        self, receiver: Callable[..., Receiver], deliveries: Callable[..., Delivery]
    ) -> None:
        """With the channel busy and its queue full, submit returns False at once and reports a drop."""
        hung = receiver(hung=True)
        outcomes = Outcomes()
        delivery = deliveries([hung.channel("slow")], outcomes, queue_size=1)
        assert delivery.submit("slow", notification("1"))
        hung.wait_for(1)  # the worker holds "1"; the queue is empty again
        assert delivery.submit("slow", notification("2"))
        assert not delivery.submit("slow", notification("3"))
        [dropped] = outcomes.wait_for(1)
        assert (dropped.alert_ids, dropped.ok, dropped.attempts, dropped.error) == (
            ("3",),
            False,
            0,
            QUEUE_FULL,
        )
        assert delivery.pending() == {"slow": 2}
        assert delivery.dropped == {"slow": 1}
        hung.gate.set()
        assert [o.alert_ids for o in outcomes.wait_for(3)] == [("3",), ("1",), ("2",)]
        assert delivery.sent == {"slow": 2}

    def test_close_is_prompt_while_retrying(
        self, receiver: Callable[..., Receiver], deliveries: Callable[..., Delivery]
    ) -> None:
        """A channel waiting 30 s before its next retry does not hold close() up: the wait ends, and the
        notification is reported failed, saying it was not retried."""
        failing = receiver(500, 500, 500, 500)
        outcomes = Outcomes()
        delivery = deliveries([failing.channel("ops")], outcomes, backoff=30.0)
        assert delivery.submit("ops", notification())
        failing.wait_for(1)
        started = time.monotonic()
        delivery.close(timeout=0.2)
        [outcome] = outcomes.wait_for(1)
        assert time.monotonic() - started < 20.0  # far below the 30 s (±20%) the retry would have waited
        assert (outcome.ok, outcome.attempts) == (False, 1)
        assert outcome.error is not None
        assert "HTTP 500" in outcome.error and "not retried: delivery closed" in outcome.error
        assert failing.ids == ["1"]

    def test_close_sends_what_is_queued_then_refuses(
        self, receiver: Callable[..., Receiver], deliveries: Callable[..., Delivery]
    ) -> None:
        """close() lets queued notifications be sent; a submit afterwards is refused and reported dropped."""
        healthy = receiver()
        outcomes = Outcomes()
        delivery = deliveries([healthy.channel("ops")], outcomes)
        for n in range(3):
            assert delivery.submit("ops", notification(str(n)))
        delivery.close()
        assert healthy.ids == ["0", "1", "2"]
        assert delivery.sent == {"ops": 3}
        assert not delivery.submit("ops", notification("late"))
        assert outcomes.wait_for(4)[-1].error == CLOSED
        assert delivery.pending() == {"ops": 0}

    def test_on_outcome_raising_does_not_stop_the_worker(
        self,
        receiver: Callable[..., Receiver],
        deliveries: Callable[..., Delivery],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """An outcome recorder that raises is logged, and later notifications are still sent and reported."""
        healthy = receiver()
        recorded: list[Outcome] = []
        done = threading.Event()

        def record(outcome: Outcome) -> None:
            recorded.append(outcome)
            if len(recorded) == 1:
                raise RuntimeError("store is busy")
            done.set()

        delivery = deliveries([healthy.channel("ops")], record)
        with caplog.at_level(logging.ERROR, logger="loglens.alerts"):
            assert delivery.submit("ops", notification("1"))
            healthy.wait_for(1)
            assert delivery.submit("ops", notification("2"))
            assert done.wait(WAIT_S)
        assert [o.alert_ids for o in recorded] == [("1",), ("2",)]
        assert "recording the outcome of alert channel ops failed" in caplog.text

    def test_a_channel_bug_is_a_failure_not_a_dead_worker(self, deliveries: Callable[..., Delivery]) -> None:
        """A send raising something other than ChannelError fails that notification; the next is sent."""

        class Buggy:
            name, kind = "buggy", "test"

            def send(self, notification: dict[str, Any]) -> None:
                if notification["alerts"][0]["id"] == "bad":
                    raise KeyError("oops")

        outcomes = Outcomes()
        delivery = deliveries([Buggy()], outcomes, retries=0)
        assert delivery.submit("buggy", notification("bad"))
        assert delivery.submit("buggy", notification("good"))
        bad, good = outcomes.wait_for(2)
        assert (bad.ok, bad.error) == (False, "KeyError: 'oops'")
        assert (good.ok, good.alert_ids) == (True, ("good",))

    def test_unknown_channel_and_duplicate_names(
        self, receiver: Callable[..., Receiver], deliveries: Callable[..., Delivery]
    ) -> None:
        """Submitting to an unknown channel is a KeyError; two channels with one name a ValueError."""
        healthy = receiver()
        delivery = deliveries([healthy.channel("ops")], Outcomes())
        with pytest.raises(KeyError, match="no alert channel named 'pager'; known: ops"):
            delivery.submit("pager", notification())
        with pytest.raises(ValueError, match="unique"):
            Delivery([healthy.channel("ops"), healthy.channel("ops")], Outcomes())
