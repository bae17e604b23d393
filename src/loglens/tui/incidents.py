"""The incidents pane of `loglens monit`: incidents newest first, and the selected one explained
(the offline explainer of `loglens explain`: what happened, the failure signature, the fix)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from loglens.tui.data import SEVERITY_STYLES, IncidentRow, printable, rest_width

FIXED_COLUMNS = (("when", 17), ("sev", 8), ("services", 14))


def explanation_text(explained: dict[str, Any]) -> Text:
    """The `/api/incidents/{id}/explain` answer as the pane shows it: the incident's line, the
    signature it matches, what happened, the root cause, the fix commands, the notes."""
    x = explained.get("explanation") or {}
    text = Text()
    severity = str(explained.get("severity", ""))
    text.append(f"{explained.get('id', '')}", style="bold")
    text.append(f"  {severity}", style=SEVERITY_STYLES.get(severity, ""))
    text.append(f"  {', '.join(explained.get('services', []))}\n")
    signature = x.get("signature")
    if signature:
        text.append("Signature  ", style="bold")
        text.append(str(signature["name"]), style="bold #ffa500")
        text.append(f"  ({signature.get('category', '')}, score {float(signature.get('score', 0)):.2f})\n")
        if signature.get("reading"):
            text.append(f"           {printable(str(signature['reading']))}\n")
    else:
        text.append("Signature  none matched\n", style="dim")
    if x.get("confidence") is not None:
        text.append("Confidence ", style="bold")
        text.append(f"{float(x['confidence']):.0%}\n")
    cause = x.get("root_cause") or explained.get("root_cause") or {}
    if cause:
        text.append("Root cause ", style="bold")
        text.append(f"{cause.get('service', '?')}", style="bold")
        first = cause.get("first_line") or cause.get("template") or ""
        text.append(f": {printable(str(first))}\n")
    if x.get("what_happened"):
        text.append("What happened\n", style="bold")
        text.append(f"{printable(str(x['what_happened']))}\n")
    if x.get("fix"):
        text.append("Fix\n", style="bold")
        for step in x["fix"]:
            text.append(f"  $ {printable(str(step))}\n", style="#9ccc65")
    for note in x.get("notes") or []:
        text.append(f"Note: {printable(str(note))}\n", style="italic")
    return text


class IncidentsPane(Vertical):
    """The incidents table over the explanation of the highlighted one."""

    DEFAULT_CSS = """
    IncidentsPane #incidents { height: 7; }
    IncidentsPane #explanation { height: 1fr; border-top: solid $primary; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[IncidentRow] = []
        self._cause_width = 0

    def compose(self) -> ComposeResult:
        yield DataTable(id="incidents", cursor_type="row")
        with VerticalScroll(id="explanation"):
            yield Static("", id="explanation-text")

    def _columns(self) -> None:
        """Sized to the pane: the root cause takes what the others leave."""
        width = rest_width(self.size.width or self.app.size.width, [w for _, w in FIXED_COLUMNS], least=20)
        if width == self._cause_width:
            return
        self.table.clear(columns=True)
        for label, column_width in (*FIXED_COLUMNS, ("root cause", width)):
            self.table.add_column(label, width=column_width)
        self._cause_width = width

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#incidents", DataTable)

    def selected(self) -> IncidentRow | None:
        if not self.rows:
            return None
        return self.rows[min(self.table.cursor_row, len(self.rows) - 1)]

    def show(self, rows: list[IncidentRow]) -> None:
        """Replaces the rows, keeping the cursor on the same incident."""
        table = self.table
        keep = self.selected()
        self._columns()
        table.clear()
        self.rows = rows
        for row in rows:
            table.add_row(
                Text(row.when),
                Text(row.severity, style=SEVERITY_STYLES.get(row.severity, "")),
                Text(row.services, overflow="ellipsis", no_wrap=True),
                Text(row.root_cause, overflow="ellipsis", no_wrap=True),
                key=row.id,
            )
        ids = [r.id for r in rows]
        if keep is not None and keep.id in ids:
            table.move_cursor(row=ids.index(keep.id), animate=False)
        if not rows:
            self.explain(Text("no incidents in this range", style="dim"))

    def explain(self, text: Text) -> None:
        self.query_one("#explanation-text", Static).update(text)
