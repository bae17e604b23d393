"""Tests for loglens.server.settings: `[server]` read, with a wrong value named."""

from __future__ import annotations

import pytest

from loglens.errors import ConfigError
from loglens.server.decoders import default_workers
from loglens.server.settings import parse_server


class TestParseServer:
    def test_defaults(self) -> None:
        settings = parse_server({}, "loglens.toml")
        assert settings.inbox_records == 200_000 and settings.decode_workers == default_workers() >= 1

    def test_no_decode_workers_is_allowed_but_not_fewer(self) -> None:
        assert parse_server({"decode_workers": 0}, "t").decode_workers == 0
        with pytest.raises(ConfigError, match=r"decode_workers must be a whole number ≥ 0"):
            parse_server({"decode_workers": -1}, "t")
        with pytest.raises(ConfigError, match=r"inbox_records must be a whole number ≥ 1"):
            parse_server({"inbox_records": 0}, "t")

    def test_unknown_key_is_named(self) -> None:
        with pytest.raises(ConfigError, match=r"no setting 'workers'.*decode_workers"):
            parse_server({"workers": 2}, "t")
