"""Tests for loglens.enrich.privacy: `[privacy]` read from TOML, records redacted in place, and the
generated corpus's PII gone from a real store after `loglens ingest` and the pipeline (counted by the
generator's own `count_pii`). The other ingest paths (stdin, `run`, the daemon): test_privacy_paths.py."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conftest import run_loglens, shared_dir
from loglens.config import Config, parse_config
from loglens.enrich.privacy import PrivacySettings, RecordRedactor, parse_privacy
from loglens.enrich.redact import DEFAULT_RULES, IP_RULES
from loglens.errors import ConfigError
from loglens.pipeline import Ingestor
from loglens.record import Record
from loglens.store.duckdb import DuckDBStore

KINDS_REDACTED_BY_DEFAULT = ("email", "credit_card", "bearer_token")
MARKER_OF_KIND = {"email": "<email>", "credit_card": "<card>", "bearer_token": "<token>", "ipv4": "<ip>"}
MIN_RECALL = 0.99
MAX_FALSE_SHARE = 0.01
"""Placeholders beyond the PII truth.json counts, at most this share of it (precision ≥ 99%)."""


def generator() -> ModuleType:
    """The shared corpus generator, imported by path: its `count_pii` defines what PII is."""
    path = shared_dir() / "bench" / "gen_corpus.py"
    if not path.exists():
        pytest.skip(f"{path} not found: the shared corpus generator is needed (set LOGLENS_SHARED)")
    spec = importlib.util.spec_from_file_location("gen_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(out: Path, seed: int, lines: int) -> tuple[list[str], dict[str, Any]]:
    """A corpus written by the shared generator: its log folders and its truth.json."""
    gen = shared_dir() / "bench" / "gen_corpus.py"
    subprocess.run(
        [sys.executable, str(gen), "--lines", str(lines), "--seed", str(seed), "--out", str(out),
         "--quiet", "--jobs", "2"],
        check=True,
    )  # fmt: skip
    truth: dict[str, Any] = json.loads((out / "truth.json").read_text())
    folders = sorted({str(out / Path(name).parts[0]) for name in truth["pii_by_file"]})
    return folders, truth


@dataclasses.dataclass
class Stored:
    """What a store holds after ingesting a corpus, counted with the generator's `count_pii`."""

    truth: dict[str, int]
    remaining: dict[str, int]  # PII still found in message, raw, fields, params and templates
    in_raw: dict[str, int]  # PII still found in raw alone
    markers: dict[str, int]  # placeholders in raw
    raw_text: str


def stored(store_path: Path, truth: dict[str, Any]) -> Stored:
    count_pii = generator().count_pii
    store = DuckDBStore(store_path, read_only=True)
    try:
        _, rows = store.sql(
            "SELECT message, raw, coalesce(CAST(fields AS VARCHAR), ''), "
            "coalesce(array_to_string(params, ' '), '') FROM records"
        )
        _, templates = store.sql("SELECT template FROM templates")
    finally:
        store.close()
    # Joined with newlines, which none of the generator's patterns crosses: one count per column.
    columns = ["\n".join(row[i] for row in rows) for i in range(4)]
    columns.append("\n".join(row[0] for row in templates))
    remaining = dict.fromkeys(truth["pii"], 0)
    for column in columns:
        for kind, count in count_pii(column).items():
            remaining[kind] += count
    raw = columns[1]
    markers = {kind: raw.count(marker) for kind, marker in MARKER_OF_KIND.items()}
    return Stored(truth["pii"], remaining, count_pii(raw), markers, raw)


@pytest.fixture(scope="module")
def default_corpus(tmp_path_factory: pytest.TempPathFactory) -> Stored:
    """50k lines (seed 11) through `loglens ingest` with no [privacy] table: the defaults."""
    folder = tmp_path_factory.mktemp("privacy-default")
    folders, truth = generate(folder / "corpus", 11, 50_000)
    (folder / "loglens.toml").write_text("")
    store = folder / "s.duckdb"
    run_loglens("ingest", "-q", "--config", str(folder / "loglens.toml"), "--store", str(store), *folders)
    return stored(store, truth)


@pytest.fixture(scope="module")
def ip_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Stored, dict[str, int]]:
    """30k lines (seed 23) ingested with `ips = true`, templates mined in a process of their own;
    with the ingest report's counts."""
    folder = tmp_path_factory.mktemp("privacy-ips")
    folders, truth = generate(folder / "corpus", 23, 30_000)
    store = DuckDBStore(folder / "s.duckdb")
    try:
        ingestor = Ingestor(store, Config(), mining_process=True, privacy=PrivacySettings(ips=True))
        report = ingestor.ingest_paths(folders)
    finally:
        store.close()
    return stored(folder / "s.duckdb", truth), report.redacted


def recall(found: Stored, kind: str) -> float:
    return 1 - found.remaining[kind] / found.truth[kind]


def false_share(found: Stored, kind: str) -> float:
    """Placeholders that replaced no PII, as a share of the PII there was."""
    replaced = found.truth[kind] - found.in_raw[kind]
    return (found.markers[kind] - replaced) / found.truth[kind]


def settings_from(text: str) -> PrivacySettings:
    return parse_privacy(tomllib.loads(text).get("privacy", {}), "loglens.toml")


def ingest_lines(tmp_path: Path, lines: Sequence[str], settings: PrivacySettings) -> list[tuple[Any, ...]]:
    """`lines` as a file through the real pipeline into a DuckDB store; (message, raw, fields) stored."""
    log = tmp_path / "app.log"
    log.write_text("".join(line + "\n" for line in lines))
    store = DuckDBStore(tmp_path / "s.duckdb")
    try:
        Ingestor(store, Config(), mining_process=False, privacy=settings).ingest_paths([str(log)])
        _, rows = store.sql("SELECT message, raw, CAST(fields AS VARCHAR) FROM records ORDER BY id")
    finally:
        store.close()
    return rows


def record(message: str, raw: str | None = None, fields: dict[str, Any] | None = None) -> Record:
    return Record(
        ts=0, observed_ts=0, service="s", source="t", message=message, raw=raw or message, fields=fields
    )


class TestParsePrivacy:
    def test_defaults(self) -> None:
        """No table: on, IPs off, the built-in rules in their order."""
        settings = parse_privacy({}, "loglens.toml")
        assert settings == PrivacySettings()
        assert settings.enabled and not settings.ips
        assert settings.active_rules() == DEFAULT_RULES

    def test_full_table(self) -> None:
        """ips, keep and a rule of one's own are read; one's own runs first, kept rules not at all,
        and a rule without `replacement` gets `<name>`."""
        settings = settings_from(
            """
            [privacy]
            ips = true
            keep = ["email", "ipv6"]
            [[privacy.rules]]
            name = "order_id"
            pattern = 'ORD-\\d{6}'
            """
        )
        names = [rule.name for rule in settings.active_rules()]
        assert names[0] == "order_id" and "email" not in names and "ipv6" not in names
        assert "ipv4" in names and names[1:] == [r.name for r in (*DEFAULT_RULES, *IP_RULES)
                                                 if r.name not in ("email", "ipv6")]  # fmt: skip
        assert settings.rules[0].replacement == "<order_id>"

    def test_disabled(self) -> None:
        """`enabled = false` leaves no rule to run, and records pass untouched."""
        settings = settings_from("[privacy]\nenabled = false")
        assert settings.active_rules() == ()
        line = record("mail ana@example.com")
        RecordRedactor(settings)([line])
        assert line.message == "mail ana@example.com"

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("[privacy]\nredact = true", "no setting 'redact'"),
            ('[privacy]\nenabled = "yes"', "enabled must be true or false"),
            ('[privacy]\nkeep = "email"', "keep must be a list"),
            ('[privacy]\nkeep = ["emails"]', "names no built-in rule 'emails'"),
            ('[[privacy.rules]]\nname = "x"\npattern = "(unclosed"', "not a valid regex"),
            ('[[privacy.rules]]\nname = "x"\npattern = "a*"', "matches the empty string"),
            ('[[privacy.rules]]\nname = "Order Id"\npattern = "x"', "lowercase letters"),
            ('[[privacy.rules]]\nname = "email"\npattern = "x"', "built-in rule's name"),
            ('[[privacy.rules]]\nname = "x"', "needs a `pattern`"),
            ('[[privacy.rules]]\nname = "x"\npattern = "y"\nreplacement = 3', "must be a string"),
            ('[[privacy.rules]]\nname = "x"\npattern = "y"\nflags = "i"', "unknown keys ['flags']"),
            ('[[privacy.rules]]\nname = "x"\npattern = "y"\n[[privacy.rules]]\nname = "x"\npattern = "z"',
             "used twice"),
        ],
    )  # fmt: skip
    def test_mistakes_are_named(self, text: str, says: str) -> None:
        """Each mistake is refused with the file, the setting or rule, and what is wrong."""
        with pytest.raises(ConfigError, match=re.escape(says)) as raised:
            settings_from(text)
        assert str(raised.value).startswith("loglens.toml")


class TestRecordRedactor:
    def test_message_raw_and_nested_fields(self) -> None:
        """Message, raw and strings in nested fields and lists are redacted; other values are kept."""
        line = record(
            "charge 4111 1111 1111 1111 for ana@example.com",
            '{"msg": "charge 4111 1111 1111 1111 for ana@example.com"}',
            {"user": {"contact": ["ana@example.com", "+1 555"], "age": 41}, "status": 200},
        )
        RecordRedactor(PrivacySettings())([line])
        assert line.message == "charge <card> for <email>"
        assert line.raw == '{"msg": "charge <card> for <email>"}'
        assert line.fields == {"user": {"contact": ["<email>", "+1 555"], "age": 41}, "status": 200}

    def test_fields_outside_raw(self) -> None:
        """A field raw does not hold (an OTLP attribute) is redacted too: screening covers it."""
        line = record("signup ok", fields={"user.email": "eve@example.org"})
        RecordRedactor(PrivacySettings())([line])
        assert line.fields == {"user.email": "<email>"} and line.raw == "signup ok"

    def test_secret_keys(self) -> None:
        """A value under a key naming a secret is replaced whatever it looks like (an authentication
        scheme kept); sudo's PWD, a bare scheme and markers are left alone."""
        fields = {
            "password": "hunter2",
            "headers": {"Authorization": "Basic dXNlcjpwYXNz", "X-Api-Key": "k1"},
            "refresh_token": "r-123",
            "PWD": "/home/deploy",
            "auth_scheme": "Bearer",
            "db_password": "<secret>",
        }
        line = record("login", fields=fields)
        redactor = RecordRedactor(PrivacySettings())
        redactor([line])
        assert line.fields == {
            "password": "<secret>",
            "headers": {"Authorization": "Basic <token>", "X-Api-Key": "<token>"},
            "refresh_token": "<token>",
            "PWD": "/home/deploy",
            "auth_scheme": "Bearer",
            "db_password": "<secret>",
        }
        assert redactor.counts()["password"] == 1 and redactor.counts()["authorization"] == 1

    def test_shared_fields_dict_left_intact(self) -> None:
        """A fields dict two records share is replaced, not changed in place."""
        shared = {"to": "bob@example.com"}
        first, second = record("a", fields=shared), record("b", fields=shared)
        RecordRedactor(PrivacySettings())([first, second])
        assert shared == {"to": "bob@example.com"}
        assert first.fields == second.fields == {"to": "<email>"}

    def test_card_number_as_a_json_number(self) -> None:
        """A Luhn-valid card number held as an integer field becomes <card>; other big numbers stay."""
        line = record("paid", fields={"pan": 4111111111111111, "ts_ms": 1763683200002, "n": 7})
        RecordRedactor(PrivacySettings())([line])
        assert line.fields == {"pan": "<card>", "ts_ms": 1763683200002, "n": 7}

    def test_counted_once_per_record(self) -> None:
        """An address in message, raw and a field counts once; two in one string count two."""
        redactor = RecordRedactor(PrivacySettings())
        redactor([record("to a@example.com", "x to a@example.com", {"to": "a@example.com"})])
        redactor([record("a@example.com b@example.com")])
        assert redactor.counts()["email"] == 3
        assert redactor.counts()["card"] == 0

    def test_metric_lines(self) -> None:
        """The Prometheus lines name every active rule, found or not."""
        redactor = RecordRedactor(PrivacySettings(keep=frozenset({"jwt"})))
        redactor([record("to a@example.com")])
        lines = redactor.metric_lines()
        assert lines[0].startswith("# HELP loglens_redacted_total Values redacted before storage")
        assert lines[1] == "# TYPE loglens_redacted_total counter"
        assert 'loglens_redacted_total{rule="email"} 1' in lines
        assert 'loglens_redacted_total{rule="card"} 0' in lines
        assert not any('rule="jwt"' in line or 'rule="ipv4"' in line for line in lines)

    def test_rule_with_a_keep_group(self) -> None:
        """A rule of one's own keeps its `keep` group in front of the replacement."""
        settings = settings_from(
            "[[privacy.rules]]\nname = 'session'\n"
            "pattern = '(?P<keep>sid=)[0-9a-f]{8}'\nreplacement = '<sid>'"
        )
        line = record("resumed sid=deadbeef for ana@example.com")
        RecordRedactor(settings)([line])
        assert line.message == "resumed sid=<sid> for <email>"


class TestGeneratedCorpus:
    @pytest.mark.parametrize("kind", KINDS_REDACTED_BY_DEFAULT)
    def test_recall_by_default(self, default_corpus: Stored, kind: str) -> None:
        """`loglens ingest` with no [privacy] table leaves ≤ 1% of each kind of PII the generator
        wrote, anywhere in the store (message, raw, fields, params, templates)."""
        assert default_corpus.truth[kind] > 50
        assert recall(default_corpus, kind) >= MIN_RECALL, default_corpus.remaining

    @pytest.mark.parametrize("kind", KINDS_REDACTED_BY_DEFAULT)
    def test_lookalikes_kept(self, default_corpus: Stored, kind: str) -> None:
        """Placeholders in raw match the PII replaced: ≤ 1% of them replaced something else."""
        assert false_share(default_corpus, kind) <= MAX_FALSE_SHARE, default_corpus.markers

    def test_no_password_in_the_corpus_is_found(self, default_corpus: Stored) -> None:
        """The corpus holds no password: sudo's `PWD=/home/…`, sshd's `Failed password for` and
        systemd's `user@1000.service` stay as written."""
        raw = default_corpus.raw_text
        assert "<secret>" not in raw
        assert re.search(r"PWD=/home/\w", raw) and re.search(r"user@\d+\.service", raw)

    def test_ips_kept_by_default(self, default_corpus: Stored) -> None:
        """Without `ips = true` every IPv4 address is stored as written."""
        assert default_corpus.markers["ipv4"] == 0
        assert default_corpus.in_raw["ipv4"] == default_corpus.truth["ipv4"]

    @pytest.mark.parametrize("kind", [*KINDS_REDACTED_BY_DEFAULT, "ipv4"])
    def test_recall_and_precision_with_ips(self, ip_corpus: tuple[Stored, dict[str, int]], kind: str) -> None:
        """A second seed with `ips = true`, mined in a process of its own: ≤ 1% of each kind left,
        addresses included, and ≤ 1% of placeholders false."""
        found, _ = ip_corpus
        assert recall(found, kind) >= MIN_RECALL, found.remaining
        assert false_share(found, kind) <= MAX_FALSE_SHARE, found.markers

    def test_ingest_report_counts(self, ip_corpus: tuple[Stored, dict[str, int]]) -> None:
        """The ingest report's counts agree with the placeholders stored."""
        found, redacted = ip_corpus
        assert redacted["email"] == found.markers["email"]
        assert redacted["card"] == found.markers["credit_card"]
        assert redacted["ipv4"] + redacted.get("ipv6", 0) == found.markers["ipv4"]  # both are <ip>


class TestRulesThroughThePipeline:
    LINES = (
        "2026-11-27 10:00:00 INFO order ORD-123456 paid by ana@example.com from 10.1.2.3",
        "2026-11-27 10:00:01 INFO retry for ORD-654321 card 5555-5555-5555-4444",
    )

    def test_custom_rule_and_keep(self, tmp_path: Path) -> None:
        """A rule of one's own applies, a kept built-in rule does not, the others still do."""
        settings = settings_from(
            "[privacy]\nkeep = ['email']\n[[privacy.rules]]\nname = 'order'\npattern = 'ORD-\\d{6}'"
        )
        rows = ingest_lines(tmp_path, self.LINES, settings)
        assert [row[1] for row in rows] == [
            "2026-11-27 10:00:00 INFO order <order> paid by ana@example.com from 10.1.2.3",
            "2026-11-27 10:00:01 INFO retry for <order> card <card>",
        ]

    def test_ips_only_when_asked(self, tmp_path: Path) -> None:
        """`ips = true` replaces the address; the default keeps it."""
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        kept = ingest_lines(tmp_path / "a", self.LINES[:1], PrivacySettings())
        gone = ingest_lines(tmp_path / "b", self.LINES[:1], PrivacySettings(ips=True))
        assert kept[0][0].endswith("from 10.1.2.3") and gone[0][0].endswith("from <ip>")

    def test_templates_hold_markers(self, tmp_path: Path) -> None:
        """Mining sees the redacted message: the template holds `<email>`, its values no address."""
        lines = [f"2026-11-27 10:00:0{i} INFO reset link sent to user{i}@example.com" for i in range(5)]
        rows = ingest_lines(tmp_path, lines, PrivacySettings())
        store = DuckDBStore(tmp_path / "s.duckdb", read_only=True)
        try:
            _, templates = store.sql("SELECT template FROM templates")
            _, params = store.sql("SELECT array_to_string(params, ' ') FROM records")
        finally:
            store.close()
        assert {row[0] for row in rows} == {"reset link sent to <email>"}
        assert [t[0] for t in templates] == ["reset link sent to <email>"]
        assert not any("@" in (p[0] or "") for p in params)

    def test_config_wiring(self) -> None:
        """`[privacy]` in loglens.toml reaches `Config.privacy` and the ingestor."""
        config = parse_config({"privacy": {"ips": True, "keep": ["email"]}})
        ingestor = Ingestor(DuckDBStore(":memory:"), config)
        assert [r.name for r in ingestor.redactor.rules] == [
            r.name for r in (*DEFAULT_RULES, *IP_RULES) if r.name != "email"
        ]
