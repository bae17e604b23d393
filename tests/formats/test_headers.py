"""Tests for loglens.formats.headers: layouts tried in adaptive order."""

from __future__ import annotations

import re

from loglens.formats.headers import HeaderLayouts


class TestHeaderLayouts:
    def test_last_match_moves_to_front(self) -> None:
        """A specific layout that matched is tried first next time."""
        layouts = HeaderLayouts([re.compile(r"a(\d)"), re.compile(r"b(\d)"), re.compile(r"(.*)")])
        assert layouts.front("b1") is None
        index, found = layouts.match_other("b1")
        assert index == 1 and found is not None and found.group(1) == "1"
        assert layouts.front_index == 1 and layouts.front("b2") is not None

    def test_catch_all_never_leads(self) -> None:
        """The catch-all (last) layout matches but never becomes the front one."""
        layouts = HeaderLayouts([re.compile(r"a(\d)"), re.compile(r"(.*)")])
        index, found = layouts.match_other("zzz")
        assert index == 1 and found is not None
        assert layouts.front_index == 0

    def test_no_match(self) -> None:
        """Without a catch-all, an unknown header gives no match."""
        layouts = HeaderLayouts([re.compile(r"a"), re.compile(r"b")])
        assert layouts.match_other("c")[1] is None
