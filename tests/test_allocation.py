"""Tests for loglens.allocation: the collector is off during bulk work and restored after."""

from __future__ import annotations

import gc

from loglens.allocation import bulk_allocation


def test_bulk_allocation_restores_collector() -> None:
    """The collector is off during a bulk load and on again afterwards."""
    assert gc.isenabled()
    with bulk_allocation() as tick:
        assert not gc.isenabled()
        for _ in range(300):
            tick()
    assert gc.isenabled()
