"""Tests for the daemon's inbox: its bound holds a push until the push is committed."""

from __future__ import annotations

from loglens.inbox import Inbox, IngestJob


def test_a_taken_push_counts_until_released() -> None:
    inbox = Inbox(max_records=10)
    assert inbox.submit(IngestJob(lines=["a"] * 6)) and inbox.admits_more()
    taken = inbox.take()
    assert inbox.depth == 6  # taken, not yet committed: still held
    assert not inbox.submit(IngestJob(lines=["b"] * 5)) and inbox.refused == 1
    assert inbox.submit(IngestJob(lines=["c"] * 4)) and not inbox.admits_more()
    assert inbox.refused == 2
    inbox.release(taken)
    assert inbox.depth == 4 and inbox.admits_more()
    inbox.close()


def test_an_oversized_push_fits_an_empty_inbox() -> None:
    """One push larger than the bound is taken when nothing else waits (else it could never be)."""
    inbox = Inbox(max_records=10)
    assert inbox.submit(IngestJob(lines=["x"] * 25)) and not inbox.admits_more()
    inbox.close()
