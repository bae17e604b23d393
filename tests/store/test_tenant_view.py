"""Tests for loglens.store.tenant_view: one tenant's records of a real DuckDB store, through every
read the views make, and nothing of another tenant's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loglens.errors import ReadOnlyError, TenantScopeError
from loglens.mining.drain import TemplateMiner
from loglens.record import Level, Record
from loglens.store.base import Annotation, Document, SeriesQuery
from loglens.store.duckdb import DuckDBStore
from loglens.store.tenant_view import TenantStore

T0 = 1_795_000_000 * 10**9
S = 10**9


def _record(ts: int, tenant: str, message: str, level: Level = Level.INFO) -> Record:
    return Record(ts=ts, observed_ts=ts, service="api", source="t", message=message, raw=message,
                  level=level, tenant=tenant, fields={"who": tenant or "operator"})  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    """Three owners of one service: acme, globex and the operator ('')."""
    records = [
        *(_record(T0 + i * S, "acme", f"acme order {i} shipped") for i in range(6)),
        _record(T0 + 7 * S, "acme", "acme payment failed", Level.ERROR),
        *(_record(T0 + i * S, "globex", f"globex invoice {i} sent") for i in range(4)),
        _record(T0 + 8 * S, "globex", "globex ledger corrupt", Level.ERROR),
        _record(T0 + 9 * S, "", "operator cron ran"),
    ]
    miner = TemplateMiner()
    miner.label(records)
    opened = DuckDBStore(tmp_path / "t.duckdb")
    opened.save_templates(miner.take_changes())
    opened.write(records)
    yield opened
    opened.close()


def texts(found: object) -> str:
    return repr(found)


class TestTenantStore:
    def test_every_compiled_query_sees_one_tenant(self, store: DuckDBStore) -> None:
        """search, hits, counts, pattern stats, last errors, minute folds and series: acme's alone."""
        acme = TenantStore(store, "acme")
        found = list(acme.search("TRUE", [], None))
        assert len(found) == 7 and {r.tenant for r in found} == {"acme"}
        assert list(acme.search("message LIKE ?", ["%invoice%"], None)) == []
        assert acme.count() == 7 and TenantStore(store, "globex").count() == 5 and store.count() == 13
        assert sum(n for _, _, n in acme.hits("TRUE", [], 60 * S, "service")) == 7
        counts = acme.counts("TRUE", [])
        assert counts.total == 7 and all(t.template_id.startswith("acme/") for t in counts.templates)
        stats = acme.pattern_stats("TRUE", [], 0.5)
        assert {s.template for s in stats} == {"acme order <*> shipped", "acme payment failed"}
        assert acme.last_errors("TRUE", []) == {"api": (T0 + 7 * S, "acme payment failed")}
        folds, _ = acme.minute_stats("TRUE", [], [])
        assert sum(row[4] for row in folds) == 7
        series = acme.metric_series(SeriesQuery("TRUE", (), "count", 60 * S))
        assert sum(value for _, _, value in series) == 7
        assert "globex" not in texts([found, counts, stats, folds])

    def test_templates_are_the_tenants(self, store: DuckDBStore) -> None:
        """Templates and the ones known before a time: only ids of the tenant's own."""
        acme = TenantStore(store, "acme")
        assert {t.text for t in acme.templates()} == {"acme order <*> shipped", "acme payment failed"}
        assert all(i.startswith("acme/") for _, i in acme.templates_before(T0 + 3600 * S))
        assert len(acme.templates_before(T0 + 3600 * S)) == 2

    def test_a_service_named_like_a_tenants_ids_is_not_the_tenants(self, tmp_path: Path) -> None:
        """The operator's service `acme/api` mints ids that begin as acme's own (`acme/api-1`):
        ownership is the template's tenant, not its id's look."""
        records = [_record(T0, "acme", "acme order shipped"), _record(T0 + S, "", "operator job ran")]
        records[1].service = "acme/api"
        miner = TemplateMiner()
        miner.label(records)
        opened = DuckDBStore(tmp_path / "t.duckdb")
        try:
            opened.save_templates(miner.take_changes())
            opened.write(records)
            acme = TenantStore(opened, "acme")
            assert [t.text for t in acme.templates()] == ["acme order shipped"]
            assert acme.templates_before(T0 + 60 * S) == [("api", records[0].template_id)]
            assert len(opened.templates_before(T0 + 60 * S)) == 2
        finally:
            opened.close()

    def test_documents_live_in_the_tenants_own_id_space(self, store: DuckDBStore) -> None:
        """Two tenants store a document of the same id without touching each other's; each reads back
        its own under the plain id, the operator sees neither under that id."""
        acme, globex = TenantStore(store, "acme"), TenantStore(store, "globex")
        stored = acme.put_document(Document("signature", "learned-x", {"owner": "acme"}, "active"))
        globex.put_document(Document("signature", "learned-x", {"owner": "globex"}, "active"))
        assert stored.id == "learned-x"
        assert [(d.id, d.body) for d in acme.documents("signature")] == [("learned-x", {"owner": "acme"})]
        assert acme.document("signature", "learned-x") is not None
        assert globex.document("signature", "learned-x").body == {"owner": "globex"}  # type: ignore[union-attr]
        assert store.document("signature", "learned-x") is None
        store.put_document(Document("insight", "inc-1", {"owner": "operator"}))
        assert acme.documents("insight") == [] and acme.document("insight", "inc-1") is None
        assert acme.delete_document("signature", "learned-x") and not acme.delete_document("insight", "inc-1")
        assert globex.documents("signature")[0].body == {"owner": "globex"}

    def test_what_spans_every_tenant_is_refused(self, store: DuckDBStore) -> None:
        """Raw SQL and the shared notes are refused saying why; writing is not a reader's."""
        acme = TenantStore(store, "acme")
        with pytest.raises(TenantScopeError, match="raw SQL would see every tenant's records"):
            acme.sql("SELECT * FROM records")
        with pytest.raises(TenantScopeError, match="shared by every tenant"):
            acme.annotations(None, None)
        with pytest.raises(TenantScopeError, match="shared by every tenant"):
            acme.add_annotation(Annotation(since=T0, text="x"))
        with pytest.raises(ReadOnlyError):
            acme.write([_record(T0, "acme", "x")])
