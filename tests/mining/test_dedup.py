"""Tests for loglens.mining.dedup: runs of one event within a window become one line."""

from __future__ import annotations

from conftest import Rec, mined
from loglens.mining.dedup import dedupe, normalise

S = 10**9


class TestDedupe:
    def test_repeats_within_window_merge(self) -> None:
        """Same template and values up to digits, each within the window of the last: one group."""
        records = [Rec(i * S, "api", f"retry {i} of 5 for upstream billing") for i in range(1, 5)]
        records.append(Rec(5 * S, "api", "connection pool exhausted"))
        groups = list(dedupe(mined(records), window_ns=2 * S))
        assert [(g.record.message, g.count) for g in groups] == [
            ("retry 1 of 5 for upstream billing", 4),
            ("connection pool exhausted", 1),
        ]
        assert (groups[0].first_ts, groups[0].last_ts) == (1 * S, 4 * S)

    def test_gap_longer_than_window_starts_a_new_run(self) -> None:
        """A repeat after a quiet gap longer than the window is a new line."""
        records = [
            Rec(0, "a", "disk 1 full"),
            Rec(10 * S, "a", "disk 2 full"),
            Rec(100 * S, "a", "disk 3 full"),
        ]
        assert [g.count for g in dedupe(mined(records), window_ns=30 * S)] == [2, 1]

    def test_services_and_values_split(self) -> None:
        """Other services, and values that differ beyond digits, are not merged."""
        records = [Rec(0, "a", "user alice logged in"), Rec(1, "b", "user alice logged in"),
                   Rec(2, "a", "user alice logged in"), Rec(3, "a", "user bob logged in")]  # fmt: skip
        assert [g.count for g in dedupe(mined(records))] == [2, 1, 1]

    def test_closed_runs_come_out_before_the_input_ends(self) -> None:
        """A run is given out once the records have moved past its window, in first-seen order."""
        records = mined(
            [Rec(0, "a", "disk 1 full"), Rec(1 * S, "a", "cpu hot"), Rec(100 * S, "a", "disk 2 full")]
        )
        groups = dedupe(iter(records), window_ns=10 * S)
        first = next(groups)
        assert (first.record.message, first.count) == ("disk 1 full", 1)
        assert [g.record.message for g in groups] == ["cpu hot", "disk 2 full"]

    def test_groups_by_stored_template_not_by_mining_again(self) -> None:
        """The stored template id decides: records given one id merge although their words differ."""
        records = [Rec(0, "a", "alpha", template_id="a-1", params=[]),
                   Rec(1, "a", "beta", template_id="a-1", params=[]),
                   Rec(2, "a", "alpha", template_id="a-2", params=[])]  # fmt: skip
        assert [g.count for g in dedupe(records)] == [2, 1]

    def test_records_without_template_merge_only_exact_repeats(self) -> None:
        """Unmined records (an old store): identical messages merge, others do not."""
        records = [Rec(0, "a", "retry 1"), Rec(1, "a", "retry 1"), Rec(2, "a", "retry 2")]
        assert [g.count for g in dedupe(records)] == [2, 1]


def test_normalise_blanks_digits() -> None:
    """Digits are blanked, other characters kept."""
    assert normalise(["job-12", "7", "abc"]) == ("job-#", "#", "abc")
