"""Tests for loglens.allocation: the collector is off during bulk work and restored after."""

from __future__ import annotations

import gc
import weakref

from loglens.allocation import PacedCollection, bulk_allocation


def test_bulk_allocation_restores_collector() -> None:
    """The collector is off during a bulk load and on again afterwards."""
    assert gc.isenabled()
    with bulk_allocation() as tick:
        assert not gc.isenabled()
        for _ in range(300):
            tick()
    assert gc.isenabled()


class Node:
    """A reference cycle's member, for telling whether the collector ran."""

    def __init__(self) -> None:
        self.other: Node | None = None


def orphan_cycle() -> weakref.ref[Node]:
    """Two nodes pointing at each other and at nothing else: only the cyclic collector frees them."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


class TestPacedCollection:
    def test_cycles_freed_by_the_clock_not_by_allocations(self) -> None:
        paced = PacedCollection(young_every_s=5.0, full_every_s=600.0)
        paced.start(now=100.0)
        try:
            assert not gc.isenabled()
            assert gc.get_freeze_count() > 0  # start-up's objects are out of the collector's way
            cycle = orphan_cycle()
            made = [[{}] for _ in range(50_000)]  # far past the allocation trigger (700)
            del made
            assert cycle() is not None
            paced.tick(now=104.0)  # not yet due
            assert cycle() is not None
            paced.tick(now=105.0)
            assert cycle() is None
        finally:
            paced.stop()
        assert gc.isenabled()
        assert gc.get_freeze_count() == 0

    def test_full_collection_when_due(self) -> None:
        """What survived young collections into the oldest generation is freed by the full one."""
        paced = PacedCollection(young_every_s=5.0, full_every_s=60.0)
        paced.start(now=0.0)
        try:
            held = Node()
            held.other = Node()
            held.other.other = held
            cycle = weakref.ref(held)
            gc.collect(1)  # alive: moved to the oldest generation
            del held  # garbage now, in the generation young collections leave alone
            paced.tick(now=5.0)
            still = cycle() is not None
            paced.tick(now=60.0)
            assert still and cycle() is None
        finally:
            paced.stop()
