"""Which process node holds which partition: leases in a JetStream key-value bucket.

Scheme. Every process node writes a heartbeat key `node.<id>` and each partition it holds as
`partition.pNNN = <id>`; the bucket's TTL (`[bus] lease_ttl`) removes the keys of a node that stops
renewing them (killed, hung, cut off). From the live nodes every node computes the same wanted
assignment by rendezvous hashing (a partition goes to the node with the highest hash of node and
partition), so a node joining or leaving moves only its share. A node releases what it holds but is
no longer wanted, and claims what it wants once free (create-if-absent: one winner). A partition no
node claims for two TTLs (nodes disagreeing about who is alive) goes to whoever takes it first.

Leases decide who reads; they do not guard the data: a node that lost its lease while stalled may
still try to commit, and the store's per-partition offset (compare-and-set in the commit) makes that
commit fail. So a partition moves without loss or duplicates even when leases overlap.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

__all__ = ["NODE_PREFIX", "node_key", "wanted_partitions"]

NODE_PREFIX = "node."


def node_key(node: str) -> str:
    """The heartbeat key of a node."""
    return f"{NODE_PREFIX}{node}"


def _weight(node: str, partition: int) -> int:
    return zlib.crc32(f"{node}/{partition}".encode())


def wanted_partitions(node: str, members: Iterable[str], partitions: int) -> set[int]:
    """The partitions rendezvous hashing gives `node` among `members` (itself included)."""
    nodes: Sequence[str] = sorted({*members, node})
    return {p for p in range(partitions) if max(nodes, key=lambda n: (_weight(n, p), n)) == node}
