"""Partitions, subjects and the lease assignment: stable, spread, and agreed by every node."""

from __future__ import annotations

from collections import Counter

from loglens.bus.leases import wanted_partitions
from loglens.bus.partition import (
    partition_filter,
    partition_key,
    partition_of,
    subject_for,
    subject_token,
)
from loglens.bus.publisher import by_partition_key
from loglens.record import Record


def test_a_service_always_lands_in_the_same_partition() -> None:
    """Pinned values: CRC-32, not Python's per-process salted `hash`, so every node and every version
    agrees on where a service lives (a change here would move services between partitions)."""
    assert [partition_of(s, 16) for s in ("api", "db", "nginx")] == [15, 8, 3]


def test_services_spread_over_partitions() -> None:
    counts = Counter(partition_of(f"service-{i}", 16) for i in range(1_600))
    assert len(counts) == 16
    assert max(counts.values()) < 2 * min(counts.values())


def test_subjects_are_single_tokens_under_the_partition() -> None:
    assert subject_for("loglens.records", 7, "api") == "loglens.records.p007.api"
    assert subject_token("a.b *>c d") == "a_b___c_d"
    assert subject_token("") == "_"
    subject = subject_for("x", 3, "web.front end")
    assert subject.startswith("x.p003.") and subject.count(".") == 2
    assert partition_filter("x", 3) == "x.p003.>"


def test_every_partition_is_wanted_by_exactly_one_live_node() -> None:
    nodes = ["a-1", "b-2", "c-3"]
    shares = [wanted_partitions(node, nodes, 32) for node in nodes]
    assert set().union(*shares) == set(range(32))
    assert sum(len(share) for share in shares) == 32
    assert all(len(share) >= 4 for share in shares)


def test_a_node_leaving_moves_only_its_own_partitions() -> None:
    before = {node: wanted_partitions(node, ["a", "b", "c"], 64) for node in "abc"}
    after = {node: wanted_partitions(node, ["a", "b"], 64) for node in "ab"}
    for node in "ab":
        assert before[node] <= after[node]
    assert after["a"] | after["b"] == set(range(64))


def test_owners_whose_template_ids_share_a_prefix_share_a_partition() -> None:
    """Template ids are numbered per prefix by the miner of a partition: two owners minting under one
    prefix on two nodes would both make `acme/api-1` (a tenant's service against a service so named)."""
    assert partition_key("api", "acme") == partition_key("acme/api", "") == "acme/api"
    assert partition_key("", "") == partition_key("x", "") == "x"
    assert partition_key("api", "") == "api"  # untenanted services keep their partitions
    assert partition_key("api", "acme") != partition_key("api", "beta")


def test_a_batch_is_split_by_partition_key_in_order() -> None:
    records = [
        Record(i, i, service, "test", f"m{i}", f"m{i}", tenant=tenant)
        for i, (service, tenant) in enumerate(
            [("api", ""), ("api", "acme"), ("acme/api", ""), ("", ""), ("x", ""), ("api", "")]
        )
    ]
    groups = by_partition_key(records)
    assert {key: [r.ts for r in group] for key, group in groups.items()} == {
        "api": [0, 5],
        "acme/api": [1, 2],
        "x": [3, 4],
    }
