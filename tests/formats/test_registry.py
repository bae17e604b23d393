"""Every registered format is documented, and the registry refuses unknown names clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from loglens.errors import ConfigError
from loglens.formats import format_by_name, format_names, registry

REPO = Path(__file__).resolve().parents[2]


def test_every_format_is_documented() -> None:
    """The example config lists every name `format = "…"` accepts, and docs/cli.md names each format."""
    example = (REPO / "loglens.toml.example").read_text()
    listed = example.split("`format` skips detection: one of", 1)[1].split("\n# [[sources]]", 1)[0]
    assert {name.strip(" #.\n") for name in listed.split(",")} == set(format_names())
    cli_doc = (REPO / "docs" / "cli.md").read_text().lower()
    described = {
        "json": "json lines",
        "logfmt": "logfmt",
        "syslog": "syslog",
        "clf": "common log format",
        "apache_error": "apache error log",
        "python": "python logging",
        "java": "java/logback",
        "kernel": "kernel/dmesg",
        "plain": "plain text",
    }
    assert set(described) == set(registry())
    for name, words in described.items():
        assert words in cli_doc, name


def test_names_match_instances() -> None:
    """Each format is registered under its own name."""
    assert all(fmt.name == name for name, fmt in registry().items())


def test_unknown_name() -> None:
    """An unknown format name lists the valid ones."""
    with pytest.raises(ConfigError, match="choose one of: json"):
        format_by_name("yaml")
