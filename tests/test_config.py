"""Tests for loglens.config: lookup order, defaults, and errors that name the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from loglens.config import Config, find_config_file, load_config, parse_config, resolve_store_path
from loglens.errors import ConfigError
from loglens.record import Level


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
