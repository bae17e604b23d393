"""The patterns pane of `loglens monit`: the templates behind the window's records, most common
first, with their share, trend and most severe level."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable

from loglens.tui.data import LEVEL_STYLES, PatternRow, compact, rest_width

FIXED_COLUMNS = (("count", 6), ("share", 5), ("trend", 7), ("level", 7), ("service", 10))


class PatternsPane(Vertical):
    """One table of templates."""

    DEFAULT_CSS = """
    PatternsPane #patterns { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[PatternRow] = []
        self._template_width = 0

    def compose(self) -> ComposeResult:
        yield DataTable(id="patterns", cursor_type="row", zebra_stripes=True)

    def _columns(self) -> None:
        """Sized to the pane: the template takes what the others leave."""
        width = rest_width(self.size.width or self.app.size.width, [w for _, w in FIXED_COLUMNS], least=20)
        if width == self._template_width:
            return
        self.table.clear(columns=True)
        for label, column_width in (*FIXED_COLUMNS, ("template", width)):
            self.table.add_column(label, width=column_width)
        self._template_width = width

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#patterns", DataTable)

    def selected(self) -> PatternRow | None:
        if not self.rows:
            return None
        return self.rows[min(self.table.cursor_row, len(self.rows) - 1)]

    def show(self, rows: list[PatternRow]) -> None:
        """Replaces the rows, keeping the cursor on the same template."""
        table = self.table
        keep = self.selected()
        self._columns()
        table.clear()
        self.rows = rows
        for row in rows:
            table.add_row(
                Text(compact(row.count), justify="right"),
                Text(f"{row.share_pct:.1f}%", justify="right"),
                Text(row.trend, overflow="ellipsis", no_wrap=True),
                Text(row.level, style=LEVEL_STYLES.get(row.level, "")),
                Text(row.service, overflow="ellipsis", no_wrap=True),
                Text(row.template, overflow="ellipsis", no_wrap=True),
                key=row.template_id,
            )
        ids = [r.template_id for r in rows]
        if keep is not None and keep.template_id in ids:
            table.move_cursor(row=ids.index(keep.template_id), animate=False)
