"""Tests for loglens.analysis.diff: ranges and sources, the significance rule, and `loglens diff`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from conftest import LoglensCli
from loglens.analysis.diff import (
    EmptySideError,
    compare_templates,
    diff,
    is_changed,
    level_mix,
    range_bounds,
    range_clause,
    source_clause,
    split_range,
    two_proportion_z,
)
from loglens.errors import LoglensError, QueryError
from loglens.mining.drain import TemplateChange
from loglens.query.language import CompiledQuery
from loglens.record import Level, Record
from loglens.store.base import LevelCount, RecordCounts, TemplateCount
from loglens.store.duckdb import DuckDBStore

S = 10**9
NOW = 1_795_000_000 * S
T10 = 1_795_255_200 * S  # 2026-11-21T10:00:00Z


def _tpl(template_id: str, count: int, level: str = "info", service: str = "api") -> TemplateCount:
    return TemplateCount(template_id, service, f"template {template_id}", level, count)


def _counts(templates: list[TemplateCount], levels: dict[str, int] | None = None) -> RecordCounts:
    by_level = levels if levels is not None else {"info": sum(t.count for t in templates)}
    return RecordCounts(
        total=sum(by_level.values()),
        templates=tuple(templates),
        levels=tuple(LevelCount(name, int(Level.from_label(name)), n) for name, n in by_level.items()),
    )


class TestSplitRange:
    def test_both_ends_and_open_ends(self) -> None:
        """START..END splits on `..`; an empty side is open (None); fractional seconds survive."""
        assert split_range("2026-11-21T10:00:00.5Z..2026-11-21T11:00:00Z") == (
            "2026-11-21T10:00:00.5Z",
            "2026-11-21T11:00:00Z",
        )
        assert split_range("1h..") == ("1h", None)
        assert split_range(" .. 30m") == (None, "30m")
        assert split_range("..") == (None, None)

    def test_missing_separator(self) -> None:
        """A single time is refused with the accepted forms spelled out."""
        with pytest.raises(QueryError, match=r"START\.\.END"):
            split_range("1h")


class TestRangeBounds:
    def test_relative_bounds_use_one_now(self) -> None:
        """`1h..` starts an hour before now and is open; `..30m` ends 30 minutes before now."""
        assert range_bounds("1h..", NOW) == (NOW - 3600 * S, None)
        assert range_bounds("..30m", NOW) == (None, NOW - 1800 * S)
        assert range_bounds("2h..1h", NOW) == (NOW - 7200 * S, NOW - 3600 * S)

    def test_absolute_bounds(self) -> None:
        """Absolute times with a zone are read as given."""
        assert range_bounds("2026-11-21T10:00:00Z..2026-11-21T11:00:00Z", NOW) == (T10, T10 + 3600 * S)

    def test_inverted_range(self) -> None:
        """A range that ends before (or where) it starts is an error, not a silent empty diff."""
        with pytest.raises(QueryError, match="must start before it ends"):
            range_bounds("1h..2h", NOW)
        with pytest.raises(QueryError, match="must start before it ends"):
            range_clause("1h..1h", NOW)

    def test_unreadable_bound(self) -> None:
        """A bound that is no time names the bad text."""
        with pytest.raises(QueryError, match="yesterdayish"):
            range_bounds("yesterdayish..", NOW)


def _store(tmp_path: Path, records: list[Record], templates: Sequence[TemplateChange] = ()) -> DuckDBStore:
    store = DuckDBStore(tmp_path / "d.duckdb")
    store.save_templates(list(templates))
    store.write(records)
    return store


def _rec(ts: int, message: str, **kw: object) -> Record:
    values: dict[str, object] = {
        "ts": ts,
        "observed_ts": ts,
        "service": "api",
        "source": "logs/a.log",
        "message": message,
        "raw": message,
    }
    values.update(kw)
    return Record(**values)  # type: ignore[arg-type]


def _total(store: DuckDBStore, query: CompiledQuery) -> int:
    return store.counts(query.where, query.params).total


class TestRangeClause:
    def test_start_inclusive_end_exclusive(self, tmp_path: Path) -> None:
        """Records at the start count, records at the end do not; an open side bounds nothing."""
        store = _store(tmp_path, [_rec(T10 + i * 1800 * S, f"m {i}") for i in range(4)])  # 10:00 … 11:30
        assert _total(store, range_clause("2026-11-21T10:00:00Z..2026-11-21T11:00:00Z", NOW)) == 2
        assert _total(store, range_clause("2026-11-21T10:30:00Z..", NOW)) == 3
        assert _total(store, range_clause("..2026-11-21T10:30:00Z", NOW)) == 1
        store.close()


class TestSourceClause:
    def test_exact_unless_glob(self, tmp_path: Path) -> None:
        """Without `*` the source must equal the text; with `*` it is a glob over the whole path;
        `%` and `_` are literal."""
        records = [
            _rec(T10, "one", source="logs/a.log"),
            _rec(T10, "two", source="logs/b.log"),
            _rec(T10, "three", source="old/a.log.1"),
        ]
        store = _store(tmp_path, records)
        assert _total(store, source_clause("logs/a.log")) == 1
        assert _total(store, source_clause("a.log")) == 0  # not a substring match
        assert _total(store, source_clause("*a.log*")) == 2
        assert _total(store, source_clause("*/a.log")) == 1
        assert _total(store, source_clause("logs/%")) == 0
        assert _total(store, source_clause("logs/_.log")) == 0
        store.close()

    def test_empty_source(self) -> None:
        """An empty source is refused rather than matching nothing."""
        with pytest.raises(QueryError, match="expected a source"):
            source_clause("")


class TestStoreCounts:
    def test_counts_per_template_and_level(self, tmp_path: Path) -> None:
        """Per template: stored text, worst level, count; per level every record, templated or not."""
        records = [_rec(T10 + i * S, f"tick {i}", template_id="api-1") for i in range(4)]
        records.append(_rec(T10 + 9 * S, "tick 9", template_id="api-1", level=Level.ERROR))
        records.append(_rec(T10 + 10 * S, "no template here", level=Level.WARNING))
        store = _store(tmp_path, records, [TemplateChange("api-1", "api", "tick <*>", False)])
        counts = store.counts("TRUE", [])
        assert counts.total == 6
        assert counts.templates == (TemplateCount("api-1", "api", "tick <*>", "error", 5),)
        assert sorted(counts.levels, key=lambda c: c.level) == [
            LevelCount("error", int(Level.ERROR), 1, "api"),
            LevelCount("info", int(Level.INFO), 4, "api"),
            LevelCount("warning", int(Level.WARNING), 1, "api"),
        ]
        assert store.counts("ts >= make_timestamp_ns(?)", [T10 + 9 * S]).total == 2
        store.close()


class TestTwoProportionZ:
    def test_known_value_and_sign(self) -> None:
        """10/100 against 30/100: pooled p=0.2, se=√(0.2·0.8·0.02), z=+3.54; swapped, −3.54."""
        assert two_proportion_z(10, 100, 30, 100) == pytest.approx(3.5355, abs=1e-4)
        assert two_proportion_z(30, 100, 10, 100) == pytest.approx(-3.5355, abs=1e-4)

    def test_undefined_is_zero(self) -> None:
        """An empty side, or a template that is every record on both sides, scores 0."""
        assert two_proportion_z(0, 0, 5, 10) == 0.0
        assert two_proportion_z(10, 10, 20, 20) == 0.0


class TestIsChanged:
    def test_rise_and_fall_that_pass_all_three_tests(self) -> None:
        """3× the share with |z| = 3.5 and 30 records is a change, up or down."""
        assert is_changed(10, 100, 30, 100)
        assert is_changed(30, 100, 10, 100)

    def test_ratio_below_two_is_not_a_change(self) -> None:
        """1.9× the share is not a change, even with |z| far above 3."""
        assert abs(two_proportion_z(100, 1000, 190, 1000)) > 5
        assert not is_changed(100, 1000, 190, 1000)

    def test_small_z_is_not_a_change(self) -> None:
        """3× the share over few records (|z| = 1.6) is noise."""
        assert abs(two_proportion_z(2, 20, 6, 20)) < 3
        assert not is_changed(2, 20, 6, 20)

    def test_fewer_than_five_records_is_not_a_change(self) -> None:
        """40× the share with |z| > 5 but only 4 records on the larger side is not reported."""
        assert abs(two_proportion_z(1, 1000, 4, 100)) > 5
        assert not is_changed(1, 1000, 4, 100)

    def test_absent_on_a_side_is_not_a_change(self) -> None:
        """New and gone templates are reported as such, never as changed."""
        assert not is_changed(0, 100, 50, 100)
        assert not is_changed(50, 100, 0, 100)


class TestCompareTemplates:
    def test_new_gone_changed_and_stable(self) -> None:
        """Only-in-B is new, only-in-A gone, a 10× jump changed, a steady template nowhere."""
        a = [_tpl("steady", 100), _tpl("retry", 3), _tpl("cache", 6)]
        b = [_tpl("steady", 100), _tpl("retry", 30), _tpl("pool", 8, "error")]
        new, gone, changed = compare_templates(a, b)
        assert [(d.template_id, d.a, d.b, d.level) for d in new] == [("pool", 0, 8, "error")]
        assert [(d.template_id, d.a, d.b) for d in gone] == [("cache", 6, 0)]
        assert [(d.template_id, d.a, d.b) for d in changed] == [("retry", 3, 30)]
        retry = changed[0]
        assert retry.share_a == pytest.approx(3 / 109) and retry.share_b == pytest.approx(30 / 138)
        assert retry.ratio == pytest.approx((30 / 138) / (3 / 109))
        assert retry.z > 3
        assert new[0].ratio is None and gone[0].ratio is None

    def test_order(self) -> None:
        """New and gone by count, most first; changed by |z|, largest first."""
        a = [_tpl("g1", 5), _tpl("g2", 50), _tpl("up", 10), _tpl("down", 300), _tpl("base", 1000)]
        b = [_tpl("n1", 7), _tpl("n2", 70), _tpl("up", 60), _tpl("down", 20), _tpl("base", 1000)]
        new, gone, changed = compare_templates(a, b)
        assert [d.template_id for d in new] == ["n2", "n1"]
        assert [d.template_id for d in gone] == ["g2", "g1"]
        assert [d.template_id for d in changed] == ["down", "up"]
        assert abs(changed[0].z) > abs(changed[1].z)

    def test_same_id_in_two_services_is_two_templates(self) -> None:
        """Templates are keyed by service and id together."""
        new, gone, _ = compare_templates([_tpl("x-1", 5, service="api")], [_tpl("x-1", 5, service="db")])
        assert [d.service for d in new] == ["db"] and [d.service for d in gone] == ["api"]


class TestLevelMix:
    def test_shares_and_percentage_points(self) -> None:
        """Each level's share of all records per side, the change in points, most severe first."""
        a = [LevelCount("info", 9, 106), LevelCount("warning", 13, 3)]
        b = [LevelCount("info", 9, 100), LevelCount("warning", 13, 30), LevelCount("error", 17, 8)]
        mix = level_mix(a, b)
        assert [(s.level, s.a, s.b) for s in mix] == [("error", 0, 8), ("warning", 3, 30), ("info", 106, 100)]
        assert mix[0].change_pp == pytest.approx(800 / 138)
        assert mix[1].change_pp == pytest.approx((30 / 138 - 3 / 109) * 100)
        assert mix[2].share_a == pytest.approx(106 / 109) and mix[2].change_pp < -24
        assert sum(s.change_pp for s in mix) == pytest.approx(0.0, abs=1e-9)

    def test_services_add_up(self) -> None:
        """Counts of one level from several services are one level of the mix."""
        a = [LevelCount("info", 9, 60, "api"), LevelCount("info", 9, 40, "db")]
        b = [LevelCount("info", 9, 50, "api"), LevelCount("error", 17, 50, "db")]
        mix = level_mix(a, b)
        assert [(s.level, s.a, s.b) for s in mix] == [("error", 0, 50), ("info", 100, 50)]


class TestDiff:
    def test_puts_the_parts_together(self) -> None:
        """Totals come from all records; lists from the templates; levels from the level counts."""
        a = _counts([_tpl("steady", 100), _tpl("cache", 6)], {"info": 110})
        b = _counts([_tpl("steady", 100), _tpl("pool", 8, "error")], {"info": 100, "error": 8})
        found = diff(a, b)
        assert (found.records_a, found.records_b) == (110, 108)
        assert [d.template_id for d in found.new] == ["pool"]
        assert [d.template_id for d in found.gone] == ["cache"]
        assert found.changed == []
        assert [s.level for s in found.levels] == ["error", "info"]

    def test_empty_side_names_it(self) -> None:
        """An empty side raises a LoglensError naming that side, with the hint."""
        some = _counts([_tpl("steady", 10)])
        with pytest.raises(EmptySideError, match=r"^B \(--b 'x'\) matched no records: widen it$"):
            diff(some, _counts([], {}), ["A (--a 'y')", "B (--b 'x')"], "widen it")
        with pytest.raises(LoglensError, match=r"^A matched no records$"):
            diff(_counts([], {}), some)


# -- the command ---------------------------------------------------------------------------------


def _line(minute: int, second: int, level: str, message: str, hour: int, service: str = "api") -> str:
    ts = f"2026-11-21T{hour:02d}:{minute:02d}:{second:02d}Z"
    return json.dumps({"ts": ts, "level": level, "msg": message, "service": service})


def _build(hour: int, only_a: bool) -> list[str]:
    """One build's hour of logs: a steady request template in both builds; in A a cache template and
    3 retries, in B 30 retries (10×), a pool error and a worker template."""
    lines = [
        _line(i % 60, i // 60 * 30, "info", f"request {i} served in {i % 9 + 1}ms", hour) for i in range(100)
    ]
    if only_a:
        lines += [_line(30 + i, 5, "info", f"cache warmed for shard {i}", hour) for i in range(6)]
        lines += [_line(40 + i, 7, "warn", f"retrying upstream billing attempt {i}", hour) for i in range(3)]
    else:
        lines += [_line(i, 7, "warn", f"retrying upstream billing attempt {i}", hour) for i in range(30)]
        lines += [_line(40 + i, 9, "error", f"pool exhausted size={i}", hour) for i in range(8)]
        lines += [_line(50 + i, 1, "info", f"queue backlog {i * 10}", hour, "worker") for i in range(5)]
    return sorted(lines, key=lambda line: str(json.loads(line)["ts"]))


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A store holding build A (a.jsonl, 10:00–11:00) and build B (b.jsonl, 11:00–12:00)."""
    folder = tmp_path_factory.mktemp("builds")
    a, b = folder / "a.jsonl", folder / "b.jsonl"
    a.write_text("\n".join(_build(10, only_a=True)) + "\n")
    b.write_text("\n".join(_build(11, only_a=False)) + "\n")
    store = folder / "s.duckdb"
    LoglensCli.run("ingest", "--store", str(store), str(a), str(b))
    return store, a, b


def _diff_json(store: Path, *args: str) -> dict[str, object]:
    out = LoglensCli.run("diff", "--store", str(store), "--json", *args).stdout
    assert len(out.splitlines()) == 1
    result: dict[str, object] = json.loads(out)
    return result


def _templates(result: dict[str, object], key: str) -> list[tuple[str, int, int]]:
    items = result[key]
    assert isinstance(items, list)
    return [(d["template"], d["a"], d["b"]) for d in items]


A_RANGE = "2026-11-21T10:00:00Z..2026-11-21T11:00:00Z"
B_RANGE = "2026-11-21T11:00:00Z..2026-11-21T12:00:00Z"


class TestDiffCommand:
    def test_by_time_range(self, builds: tuple[Path, Path, Path]) -> None:
        """By range: new, gone and the 10× template are found, the steady one is not changed, and
        the level shift is in percentage points."""
        store, _, _ = builds
        result = _diff_json(store, "--a", A_RANGE, "--b", B_RANGE, "--service", "api")
        assert list(result) == ["a", "b", "new", "gone", "changed", "levels"]
        assert result["a"] == {
            "range": A_RANGE,
            "source": None,
            "since": "2026-11-21T10:00:00.000Z",
            "until": "2026-11-21T11:00:00.000Z",
            "records": 109,
        }
        assert _templates(result, "new") == [("pool exhausted size=<*>", 0, 8)]
        assert _templates(result, "gone") == [("cache warmed for shard <*>", 6, 0)]
        assert _templates(result, "changed") == [("retrying upstream billing attempt <*>", 3, 30)]
        levels = {d["level"]: (d["a"], d["b"], d["change_pp"]) for d in result["levels"]}  # type: ignore[attr-defined]
        assert levels == {"error": (0, 8, 5.8), "warning": (3, 30, 18.99), "info": (106, 100, -24.78)}

    def test_by_source_and_open_ranges(self, builds: tuple[Path, Path, Path]) -> None:
        """By source (exact path for A, a glob for B) and by open ranges the same changes are found;
        without --service the other service's new template is listed too."""
        store, a, _ = builds
        by_source = _diff_json(store, "--a-source", str(a), "--b-source", "*/b.jsonl")
        assert by_source["b"] == {
            "range": None,
            "source": "*/b.jsonl",
            "since": None,
            "until": None,
            "records": 143,
        }
        assert _templates(by_source, "new") == [
            ("pool exhausted size=<*>", 0, 8),
            ("queue backlog <*>", 0, 5),
        ]
        assert _templates(by_source, "gone") == [("cache warmed for shard <*>", 6, 0)]
        assert _templates(by_source, "changed") == [("retrying upstream billing attempt <*>", 3, 30)]
        by_open_range = _diff_json(store, "--a", "..2026-11-21T11:00:00Z", "--b", "2026-11-21T11:00:00Z..")
        assert {k: by_open_range[k] for k in ("new", "gone", "changed", "levels")} == {
            k: by_source[k] for k in ("new", "gone", "changed", "levels")
        }

    def test_text_sections(self, builds: tuple[Path, Path, Path]) -> None:
        """Text output has the four sections; each template line shows A, B, service and template."""
        store, _, _ = builds
        out = LoglensCli.run(
            "diff", "--store", str(store), "--a", A_RANGE, "--b", B_RANGE, "-s", "api"
        ).stdout
        sections = out.split("\n\n")
        assert [s.splitlines()[0] for s in sections[1:]] == [
            "New in B (1)",
            "Gone from A (1)",
            "Changed (1)",
            "Level mix",
        ]
        assert sections[0].splitlines()[0] == (
            "A: 2026-11-21T10:00:00.000Z .. 2026-11-21T11:00:00.000Z  (109 records)"
        )
        assert sections[1].splitlines()[2].split() == [
            "0",
            "8",
            "error",
            "api",
            "pool",
            "exhausted",
            "size=<*>",
        ]
        assert sections[3].splitlines()[2].split()[:4] == ["3", "30", "x7.90", "+4.4"]
        assert sections[4].splitlines()[2].split() == ["0", "8", "error", "0.0%", "5.8%", "+5.8", "pp"]
        assert "request <*> served in <*>" not in out

    def test_top_limits_each_list(self, builds: tuple[Path, Path, Path]) -> None:
        """--top 1 keeps one template per list and says how many there were."""
        store, a, b = builds
        out = LoglensCli.run(
            "diff", "--store", str(store), "--a-source", str(a), "--b-source", str(b), "--top", "1"
        ).stdout
        assert "New in B (2, top 1)" in out
        assert "queue backlog" not in out

    def test_empty_range_is_a_clear_error(self, builds: tuple[Path, Path, Path]) -> None:
        """A range with no records exits 1 with one line naming the side, and no traceback."""
        store, _, _ = builds
        proc = LoglensCli.run(
            "diff",
            "--store",
            str(store),
            "--a",
            "2020-01-01T00:00:00Z..2020-01-02T00:00:00Z",
            "--b",
            B_RANGE,
            check=False,
        )
        assert proc.returncode == 1
        assert "A (--a '2020-01-01T00:00:00Z..2020-01-02T00:00:00Z') matched no records" in proc.stderr
        assert "Traceback" not in proc.stderr

    def test_source_is_exact_without_a_glob(self, builds: tuple[Path, Path, Path]) -> None:
        """A bare file name is not the path as ingested: the error says how sources are matched."""
        store, a, _ = builds
        proc = LoglensCli.run(
            "diff", "--store", str(store), "--a-source", str(a), "--b-source", "b.jsonl", check=False
        )
        assert proc.returncode == 1
        assert "B (--b-source 'b.jsonl') matched no records" in proc.stderr
        assert "glob with *" in proc.stderr

    @pytest.mark.parametrize(
        "args",
        [
            ("--a", A_RANGE),
            ("--a", A_RANGE, "--b-source", "x"),
            ("--a", A_RANGE, "--b", B_RANGE, "--a-source", "x"),
            (),
        ],
    )
    def test_needs_exactly_one_pair(self, builds: tuple[Path, Path, Path], args: tuple[str, ...]) -> None:
        """Anything but --a with --b, or --a-source with --b-source, is a usage error (exit 2)."""
        store, _, _ = builds
        proc = LoglensCli.run("diff", "--store", str(store), *args, check=False)
        assert proc.returncode == 2
        assert "not a mix" in proc.stderr
