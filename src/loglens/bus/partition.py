"""Which partition a service's records travel in, and the JetStream names that follow from it.

A service (a tenant's service: see `partition_key`) hashes to one of a fixed number of partitions;
each partition is one subject prefix, one durable consumer and one lease, so one process node at a
time holds a service's template and detector state. The number of partitions is fixed for the life
of a stream (changing it would move services between partitions with their state behind): choose a
few times the most process nodes you expect.
"""

from __future__ import annotations

import re
import zlib
from typing import Final

from loglens.mining.drain import id_prefix

__all__ = [
    "consumer_name",
    "lease_key",
    "offset_key",
    "partition_filter",
    "partition_key",
    "partition_of",
    "subject_for",
]

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_-]")
MAX_TOKEN: Final = 64


def partition_of(service: str, partitions: int) -> int:
    """The partition of a service: CRC-32 of its name (stable across processes and versions, unlike
    Python's salted `hash`) modulo the partition count."""
    return zlib.crc32(service.encode("utf-8", "surrogatepass")) % partitions


def partition_key(service: str, tenant: str) -> str:
    """What places a record in a partition: the prefix of its template ids (`api`, `acme/api`).

    Not the bare service name: owners whose ids share a prefix (the services '' and 'x'; the tenant
    acme's 'api' and the untenanted service 'acme/api') must be numbered by one miner, or two process
    nodes would each mint `x-1` for different templates. Keyed on the prefix, they share a partition
    and so one miner and one numbering."""
    return id_prefix(service, tenant)


def subject_token(service: str) -> str:
    """A service name as one NATS subject token (no dots, wildcards or spaces). Only for routing and
    for people reading the stream: the record itself carries the real name."""
    token = _UNSAFE.sub("_", service)[:MAX_TOKEN]
    return token or "_"


def subject_for(prefix: str, partition: int, service: str) -> str:
    """`<prefix>.p007.<service>`: a subject per service, grouped under its partition."""
    return f"{prefix}.p{partition:03d}.{subject_token(service)}"


def partition_filter(prefix: str, partition: int) -> str:
    """The subjects of one partition (a consumer's filter)."""
    return f"{prefix}.p{partition:03d}.>"


def consumer_name(stream: str, partition: int) -> str:
    """The durable consumer reading one partition (one per partition, whoever holds it)."""
    return f"{stream}-p{partition:03d}"


def lease_key(partition: int) -> str:
    """The lease key in the coordination bucket: its value names the node holding the partition."""
    return f"partition.p{partition:03d}"


def offset_key(stream: str, partition: int) -> str:
    """Where the store keeps how far a partition's messages are stored (its exactly-once fence)."""
    return f"{stream}/p{partition:03d}"
