"""Tests for loglens.config: lookup order, defaults, and errors that name the file and key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from loglens.config import Config, find_config_file, load_config, parse_config, resolve_store_path
from loglens.errors import ConfigError
from loglens.record import Level
from loglens.sources.follow import FollowSettings
from loglens.sources.lines import DEFAULT_MAX_LINE_BYTES


class TestLookup:
    def test_order(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """--config beats $LOGLENS_CONFIG beats ./loglens.toml beats XDG; none is fine."""
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        monkeypatch.delenv("LOGLENS_CONFIG", raising=False)
        assert find_config_file(None) is None
        xdg = tmp_path / "xdg" / "loglens" / "loglens.toml"
        xdg.parent.mkdir(parents=True)
        xdg.write_text("")
        assert find_config_file(None) == xdg
        (tmp_path / "loglens.toml").write_text("")
        assert find_config_file(None) == Path("loglens.toml")
        env = tmp_path / "env.toml"
        env.write_text("")
        monkeypatch.setenv("LOGLENS_CONFIG", str(env))
        assert find_config_file(None) == env
        explicit = tmp_path / "x.toml"
        explicit.write_text("")
        assert find_config_file(str(explicit)) == explicit

    def test_store_path_order(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """--store, $LOGLENS_STORE, [store] path, then $XDG_DATA_HOME/loglens/loglens.duckdb."""
        monkeypatch.delenv("LOGLENS_STORE", raising=False)
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
        assert resolve_store_path(None, Config()) == tmp_path / "loglens" / "loglens.duckdb"
        assert resolve_store_path(None, Config(store_path=Path("/c.duckdb"))) == Path("/c.duckdb")
        monkeypatch.setenv("LOGLENS_STORE", "/e.duckdb")
        assert resolve_store_path(None, Config(store_path=Path("/c.duckdb"))) == Path("/e.duckdb")
        assert resolve_store_path("/x.duckdb", Config()) == Path("/x.duckdb")


class TestParse:
    def test_full_example_parses(self) -> None:
        """The commented example in the repo, uncommented, is a valid config."""
        text = (Path(__file__).resolve().parents[1] / "loglens.toml.example").read_text()
        import re
        import tomllib

        setting = re.compile(r"^# (\[|[a-z_]+ = )")
        uncommented = "\n".join(line[2:] if setting.match(line) else line for line in text.splitlines())

        config = parse_config(tomllib.loads(uncommented))
        assert config.sources[0].format == "java"
        assert config.level_rules[0].level is Level.ERROR
        assert config.max_templates == 50000
        assert [rule.name for rule in config.alerts.rules] == ["api-errors", "incidents"]
        assert [entry["name"] for entry in config.alerts.channels] == ["ops", "pager"]
        assert config.llm is not None and config.llm.model == "llama3.1:8b"

    def test_errors_name_the_place(self, tmp_path: Path) -> None:
        """Bad values are refused with the file, the entry and what to do."""
        cases = {
            '[[sources]]\npath = "x"\nformat = "yaml"\n': "unknown format 'yaml'",
            '[[sources]]\nformat = "json"\n': "needs a `path`",
            '[ingest]\ntimezone = "Mars/Olympus"\n': "unknown time zone",
            '[[levels.rules]]\npattern = "("\nlevel = "error"\n': "invalid regex",
            '[[levels.rules]]\npattern = "x"\nlevel = "loud"\n': "unknown level",
            "[ingest]\nmax_line_bytes = 10\n": "max_line_bytes",
            '[store]\ncompression = "lz4"\n': "compression must be one of",
            "[mining]\nmax_templates = 5\n": "max_templates must be an integer ≥ 100",
            "not toml [": "not valid TOML",
        }
        for text, message in cases.items():
            path = tmp_path / "bad.toml"
            path.write_text(text)
            with pytest.raises(ConfigError, match=message):
                load_config(str(path))

    def test_source_rule_matching(self, tmp_path: Path) -> None:
        """A rule matches by glob or by folder."""
        config = parse_config(
            {
                "sources": [
                    {"path": str(tmp_path / "*.txt"), "service": "a"},
                    {"path": str(tmp_path / "sub"), "service": "b"},
                ]
            }
        )
        rule = config.rule_for(str(tmp_path / "x.txt"), "x.txt")
        assert rule is not None and rule.service == "a"
        rule = config.rule_for(str(tmp_path / "sub" / "deep" / "y.log"), "y.log")
        assert rule is not None and rule.service == "b"
        assert config.rule_for(str(tmp_path / "z.log"), "z.log") is None


class TestFollow:
    @pytest.mark.parametrize("value", ["nan", "inf"])
    def test_not_a_finite_time(self, value: str) -> None:
        """nan and inf are not durations."""
        with pytest.raises(ConfigError, match="poll_interval"):
            parse_config(tomllib.loads(f"[follow]\npoll_interval = {value}\n"))

    def test_defaults_without_table(self) -> None:
        """No [follow] table gives the default FollowSettings, with the default line limit."""
        follow = parse_config({}).follow
        assert follow == FollowSettings()
        assert follow.max_line_bytes == DEFAULT_MAX_LINE_BYTES
        assert Config().follow == follow

    def test_numbers_and_durations(self) -> None:
        """Times are read as seconds from numbers and from durations such as "250ms" and "2s"."""
        follow = parse_config(
            {
                "follow": {
                    "poll_interval": 0.25,
                    "rotate_wait": "2s",
                    "partial_timeout": "250ms",
                    "quiet_flush": 3,
                    "scan_interval": "1m",
                }
            }
        ).follow
        assert follow.poll_interval == 0.25
        assert follow.rotate_wait == 2.0
        assert follow.partial_timeout == 0.25
        assert follow.quiet_flush == 3.0
        assert isinstance(follow.quiet_flush, float)
        assert follow.scan_interval == 60.0

    def test_unset_keys_keep_defaults(self) -> None:
        """Setting one key leaves the others at their defaults."""
        follow = parse_config({"follow": {"partial_timeout": 1}}).follow
        assert follow.partial_timeout == 1.0
        assert follow.poll_interval == FollowSettings().poll_interval
        assert follow.rotate_wait == FollowSettings().rotate_wait

    def test_zero_is_allowed(self) -> None:
        """A time of zero is accepted (not negative)."""
        assert parse_config({"follow": {"rotate_wait": 0}}).follow.rotate_wait == 0.0

    def test_max_line_bytes_from_ingest(self) -> None:
        """max_line_bytes of the follow settings comes from [ingest] max_line_bytes."""
        config = parse_config({"ingest": {"max_line_bytes": 4096}, "follow": {"poll_interval": 1}})
        assert config.follow.max_line_bytes == 4096
        assert config.max_line_bytes == 4096

    def test_unknown_key_named(self) -> None:
        """An unknown [follow] key is refused with its name and the known ones."""
        for key in ("poll_intervall", "max_line_bytes", "read_bytes"):
            with pytest.raises(
                ConfigError, match=rf"\[follow\] has no setting '{key}'; known: poll_interval"
            ):
                parse_config({"follow": {key: 1}})

    def test_bad_values_named(self) -> None:
        """Negative, non-duration and boolean values are refused naming the key."""
        bad: dict[str, object] = {
            "poll_interval": -1,
            "rotate_wait": -0.5,
            "partial_timeout": "-1s",
            "quiet_flush": "soon",
            "scan_interval": True,
        }
        for key, value in bad.items():
            with pytest.raises(ConfigError, match=rf"\[follow\] {key} must be a duration"):
                parse_config({"follow": {key: value}})

    def test_errors_name_the_file(self, tmp_path: Path) -> None:
        """Through load_config, [follow] errors name the file, and a non-table [follow] is refused."""
        path = tmp_path / "loglens.toml"
        path.write_text('[follow]\nrotate_wait = "later"\n')
        with pytest.raises(ConfigError, match=re.escape(f"{path}: [follow] rotate_wait")):
            load_config(str(path))
        path.write_text("follow = 3\n")
        with pytest.raises(ConfigError, match=r"\[follow\] must be a table"):
            load_config(str(path))

    def test_loaded_from_file(self, tmp_path: Path) -> None:
        """A loglens.toml with [follow] and [ingest] gives the matching FollowSettings."""
        path = tmp_path / "loglens.toml"
        path.write_text(
            '[ingest]\nmax_line_bytes = 2048\n[follow]\npoll_interval = "50ms"\nquiet_flush = 0.5\n'
        )
        follow = load_config(str(path)).follow
        assert follow == FollowSettings(poll_interval=0.05, quiet_flush=0.5, max_line_bytes=2048)
