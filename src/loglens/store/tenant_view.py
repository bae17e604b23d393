"""One tenant's part of a store: what every read of a tenant's request goes through.

Every query a view compiles reaches the store as a `where` clause with its parameters; `TenantStore`
ANDs `tenant = ?` into each of them, so the views (logs, stats, patterns, summary, diff, the detectors'
replay, ask, the report, …) need not know about tenants at all, and one that forgets cannot leak.
What cannot be scoped that way is refused with `TenantScopeError` (raw SQL, annotations), and
writing is not a reader's business. Documents (learned signatures, insights, alerts) are kept in an
id space of the tenant's own (`TENANT/ID`): a tenant sees and replaces only those it made.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa

from loglens.errors import ReadOnlyError, TenantScopeError
from loglens.mining.drain import TemplateChange
from loglens.query.language import CompiledQuery, and_all
from loglens.record import Record
from loglens.sources.file import Checkpoint
from loglens.store.base import (
    Annotation,
    Document,
    PatternStats,
    RecordCounts,
    SeriesQuery,
    Store,
    StoredRecord,
)

ALL_TIME_NS = 2**62
"""A bucket longer than any store's span: `hits` then counts everything in one."""
TENANT_DOCUMENT_SEP = "/"
"""Between a tenant's name and a document id of its own (tenant names never hold it)."""


def tenant_clause(tenant: str) -> CompiledQuery:
    """The records of one tenant, as a query fragment."""
    return CompiledQuery("tenant = ?", [tenant])


def is_tenant_document(document_id: str) -> bool:
    """True for a document a tenant made (kept for that tenant's view alone)."""
    return TENANT_DOCUMENT_SEP in document_id


class TenantStore:
    """The records of `tenant` in `store`, read-only (see the module docstring)."""

    def __init__(self, store: Store, tenant: str) -> None:
        self.store = store
        self.tenant = tenant
        self.clause = tenant_clause(tenant)
        self._documents = tenant + TENANT_DOCUMENT_SEP

    def _scoped(self, where: str, params: Sequence[object]) -> CompiledQuery:
        return and_all([CompiledQuery(where, list(params)), self.clause])

    # -- reads: every compiled query gets the tenant's clause ----------------------------------------

    def search(
        self, where: str, params: Sequence[object], limit: int | None, oldest: bool = False
    ) -> Iterator[StoredRecord]:
        scoped = self._scoped(where, params)
        return self.store.search(scoped.where, scoped.params, limit, oldest)

    def hits(
        self, where: str, params: Sequence[object], bucket_ns: int, by: str
    ) -> list[tuple[int, str, int]]:
        scoped = self._scoped(where, params)
        return self.store.hits(scoped.where, scoped.params, bucket_ns, by)

    def pattern_stats(self, where: str, params: Sequence[object], recent_share: float) -> list[PatternStats]:
        scoped = self._scoped(where, params)
        return self.store.pattern_stats(scoped.where, scoped.params, recent_share)

    def counts(self, where: str, params: Sequence[object]) -> RecordCounts:
        scoped = self._scoped(where, params)
        return self.store.counts(scoped.where, scoped.params)

    def last_errors(self, where: str, params: Sequence[object]) -> dict[str, tuple[int, str]]:
        scoped = self._scoped(where, params)
        return self.store.last_errors(scoped.where, scoped.params)

    def minute_stats(
        self, where: str, params: Sequence[object], watched_fields: Sequence[str] | None
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        scoped = self._scoped(where, params)
        return self.store.minute_stats(scoped.where, scoped.params, watched_fields)

    def metric_series(self, query: SeriesQuery) -> list[tuple[int, str | None, float]]:
        scoped = self._scoped(query.where, query.params)
        return self.store.metric_series(replace(query, where=scoped.where, params=tuple(scoped.params)))

    def count(self) -> int:
        """How many records the tenant has."""
        return sum(n for _, _, n in self.hits("TRUE", [], ALL_TIME_NS, "level"))

    # -- templates: a tenant's are mined apart, with ids of its own ---------------------------------

    def templates(self) -> list[TemplateChange]:
        """The tenant's templates."""
        return [t for t in self.store.templates() if t.tenant == self.tenant]

    def template_texts(self, ids: Iterable[str]) -> dict[str, str]:
        """The text of these template ids. Ids reach here from the tenant's own records and
        findings, and the miner never gives a template to two tenants, so these are its own."""
        return self.store.template_texts(ids)

    def templates_before(self, ts_ns: int) -> list[tuple[str, str]]:
        """(service, id) of the tenant's templates first seen before `ts_ns`. Told apart by the
        template's tenant, not by its id's prefix: the operator's service `acme/api` mints ids that
        begin as the tenant acme's own do."""
        own = {t.id for t in self.templates()}
        return [(s, i) for s, i in self.store.templates_before(ts_ns) if i in own]

    # -- documents: the tenant's own id space -------------------------------------------------------

    def _own(self, document: Document) -> Document:
        return replace(document, id=document.id.removeprefix(self._documents))

    def put_document(self, document: Document) -> Document:
        if not document.id:
            raise TenantScopeError("a tenant's documents need an id of their own")
        stored = self.store.put_document(replace(document, id=self._documents + document.id))
        return self._own(stored)

    def documents(
        self, kind: str, state: str | None = None, since_ns: int | None = None, limit: int | None = None
    ) -> list[Document]:
        # Filtered after the limit would give fewer than asked: read them all, then cut.
        found = self.store.documents(kind, state, since_ns, None)
        mine = [self._own(d) for d in found if d.id.startswith(self._documents)]
        return mine if limit is None else mine[:limit]

    def document(self, kind: str, document_id: str) -> Document | None:
        found = self.store.document(kind, self._documents + document_id)
        return None if found is None else self._own(found)

    def delete_document(self, kind: str, document_id: str) -> bool:
        return self.store.delete_document(kind, self._documents + document_id)

    # -- refused: what would see every tenant, and writing ------------------------------------------

    def sql(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        raise TenantScopeError(
            "raw SQL would see every tenant's records: a tenant's requests cannot use it "
            "(ask /api/logs, /api/stats … instead)"
        )

    def add_annotation(self, annotation: Annotation) -> int:
        raise TenantScopeError(_SHARED_NOTES)

    def annotations(self, since_ns: int | None, until_ns: int | None) -> list[Annotation]:
        raise TenantScopeError(_SHARED_NOTES)

    def delete_annotation(self, annotation_id: int) -> bool:
        raise TenantScopeError(_SHARED_NOTES)

    def write(self, batch: Sequence[Record], checkpoint: Checkpoint | None = None) -> None:
        raise ReadOnlyError(_READ_ONLY)

    def prepare(self, batch: Sequence[Record]) -> pa.Table:
        raise ReadOnlyError(_READ_ONLY)

    def combine(self, prepared: Sequence[pa.Table]) -> pa.Table:
        raise ReadOnlyError(_READ_ONLY)

    def append(self, batch: Any) -> None:
        raise ReadOnlyError(_READ_ONLY)

    def commit(self, checkpoints: Sequence[Checkpoint] = ()) -> None:
        raise ReadOnlyError(_READ_ONLY)

    @property
    def uncommitted(self) -> int:
        return 0

    def rows_to_next_commit(self) -> int:
        raise ReadOnlyError(_READ_ONLY)

    def checkpoint(self, path: str) -> Checkpoint | None:
        raise ReadOnlyError(_READ_ONLY)

    def save_templates(self, changes: Sequence[TemplateChange]) -> None:
        raise ReadOnlyError(_READ_ONLY)

    def rollback(self) -> None:
        """Nothing was appended through a reader's view."""

    def applied_offset(self, stream: str) -> int:
        raise ReadOnlyError(_READ_ONLY)

    def advance_offset(self, stream: str, through_seq: int) -> None:
        raise ReadOnlyError(_READ_ONLY)

    def close(self) -> None:
        """Nothing to release: the store is its owner's."""


_SHARED_NOTES = (
    "notes and bookmarks are shared by every tenant of this loglens: only the operator's view (no "
    "tenant) reads or writes them"
)
_READ_ONLY = "a tenant's view of the store reads; records arrive through the ingest endpoints"
