"""Tests for loglens.record: the severity order and labels every stage relies on."""

from __future__ import annotations

from loglens.record import LABEL_OF, LEVEL_LABELS, Level


class TestLevel:
    def test_order_is_severity(self) -> None:
        """Levels compare by severity, trace lowest and fatal highest."""
        assert sorted(Level) == [
            Level.TRACE, Level.DEBUG, Level.INFO, Level.NOTICE, Level.WARNING, Level.ERROR, Level.CRITICAL,
            Level.FATAL,
        ]  # fmt: skip
        assert Level.WARNING >= Level.NOTICE and Level.ERROR > Level.WARNING

    def test_labels_round_trip(self) -> None:
        """Each level's label maps back to it, and the label table agrees with the enum."""
        assert LEVEL_LABELS == ("trace", "debug", "info", "notice", "warning", "error", "critical", "fatal")
        for level in Level:
            assert Level.from_label(level.label) is level
            assert LABEL_OF[level] == level.label
