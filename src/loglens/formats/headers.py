"""Header layouts tried in adaptive order: the layout that matched last is tried first.

A file keeps one layout, so after its first line a multi-layout format costs one regex per event;
a catch-all layout (the last) never moves to the front, so it cannot shadow the specific ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


class HeaderLayouts:
    """An ordered set of header patterns whose last one is a catch-all."""

    __slots__ = ("_catch_all", "_order", "_patterns", "front", "front_index")

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self._patterns = tuple(patterns)
        self._catch_all = len(self._patterns) - 1
        self._order = list(range(len(self._patterns)))
        self.front_index = 0
        self.front = self._patterns[0].match
        """The match function of the layout to try first (bind it in a parse loop)."""

    def match_other(self, header: str) -> tuple[int, re.Match[str] | None]:
        """Tries every layout but the front one; a specific layout that matches moves to the front.

        Call it only when `front` did not match. Returns (layout index, match or None).
        """
        front_index = self.front_index
        for i in self._order:
            if i == front_index:
                continue
            found = self._patterns[i].match(header)
            if found is not None:
                if i != self._catch_all:
                    self._order.remove(i)
                    self._order.insert(0, i)
                    self.front_index = i
                    self.front = self._patterns[i].match
                return i, found
        return front_index, None
