"""Tests for the Prometheus/Loki label-set parser used by Loki's protobuf push."""

from __future__ import annotations

import pytest

from loglens.server.decode.labels import parse_labels


class TestParseLabels:
    def test_plain_label_set(self) -> None:
        """A Promtail-style label set gives each name its value."""
        assert parse_labels('{job="api", level="error", service_name="checkout"}') == {
            "job": "api",
            "level": "error",
            "service_name": "checkout",
        }

    def test_empty_set_and_spacing(self) -> None:
        """`{}` is no labels, and spaces around names, `=` and commas do not matter."""
        assert parse_labels("{}") == {}
        assert parse_labels(' {  a = "1" ,b="2"  } ') == {"a": "1", "b": "2"}

    def test_escapes_in_values(self) -> None:
        """Go escapes in a quoted value are decoded: quotes, backslashes, newlines, \\u and \\x."""
        text = r'{msg="say \"hi\"\\n", path="C:\\tmp", nl="a\nb", e="caf\u00e9", x="\x41"}'
        assert parse_labels(text) == {
            "msg": 'say "hi"\\n',
            "path": "C:\\tmp",
            "nl": "a\nb",
            "e": "café",
            "x": "A",
        }

    def test_quoted_names_and_raw_values(self) -> None:
        """Prometheus 3's quoted UTF-8 names and back-quoted raw values are read."""
        assert parse_labels('{"service.name"="api", re=`\\d+`}') == {"service.name": "api", "re": "\\d+"}

    def test_trailing_comma_and_repeated_name(self) -> None:
        """A trailing comma is accepted and a repeated name keeps its last value."""
        assert parse_labels('{a="1", a="2",}') == {"a": "2"}

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", r"expected '\{' at char 0"),
            ('job="api"', r"expected '\{' at char 0"),
            ("{job=api}", r'expected name="value" at char 1'),
            ('{a="1" b="2"}', r"expected ',' or '\}' at char 7"),
            ('{a="1"', r"expected ',' or '\}' at char 6"),
            ('{a="1"} tail', r"unexpected text after '\}' at char 7"),
        ],
    )
    def test_malformed_sets_say_where(self, text: str, message: str) -> None:
        """Text that is not a label set raises ValueError naming what was expected and where."""
        with pytest.raises(ValueError, match=message):
            parse_labels(text)
