"""The services pane of `loglens monit`: per service its rate, error share, health, restarts and
sparklines of volume and errors, and under it the daemon's supervised commands."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from loglens.tui.data import (
    LEVEL_STYLES,
    CommandRow,
    ServiceRow,
    compact,
    health_style,
    human_bytes,
    rest_width,
    sparkline,
)

FIXED_COLUMNS = (("service", 12), ("rate/m", 6), ("err %", 5), ("health", 6), ("rst", 3))
MAX_SPARK = 30


def spark_width(table_width: int) -> int:
    """Columns for each of the two sparklines: what the table's width leaves, shared (16 at 80
    columns; at most `MAX_SPARK`)."""
    return min(MAX_SPARK, rest_width(table_width, [w for _, w in FIXED_COLUMNS], shares=2))


def error_style(pct: float) -> str:
    return "bold #ff4444" if pct >= 5 else "#ffa500" if pct >= 1 else ""


def service_cells(row: ServiceRow, width: int) -> tuple[Text, ...]:
    """One row of the table as styled cells."""
    return (
        Text(row.service, overflow="ellipsis", no_wrap=True),
        Text(compact(row.per_minute), justify="right"),
        Text(f"{row.error_pct:.1f}", style=error_style(row.error_pct), justify="right"),
        Text(str(row.health), style=health_style(row.health), justify="right"),
        Text(str(row.restarts), style="#ffa500" if row.restarts else "", justify="right"),
        Text(sparkline(row.volume, width), style="#4a90e2"),
        Text(sparkline(row.error_volume, width), style=LEVEL_STYLES["error"]),
    )


def command_cells(row: CommandRow) -> tuple[Text, ...]:
    cpu = "–" if row.cpu_percent is None else f"{row.cpu_percent:.1f}"
    last = "–" if row.last_exit is None else str(row.last_exit)
    return (
        Text(row.name, style="bold #ff4444" if row.failing else "", overflow="ellipsis", no_wrap=True),
        Text("–" if row.pid is None else str(row.pid), justify="right"),
        Text(row.state),
        Text(cpu, justify="right"),
        Text(human_bytes(row.rss_bytes), justify="right"),
        Text(str(row.restarts), style="#ffa500" if row.restarts else "", justify="right"),
        Text(last, style=LEVEL_STYLES["error"] if row.last_exit else "", justify="right"),
    )


class ServicesPane(Vertical):
    """The services table, the selected service's last error, and the commands table (shown only
    when the daemon supervises commands)."""

    DEFAULT_CSS = """
    ServicesPane #services { height: 1fr; }
    ServicesPane #service-detail { height: 1; color: $text-muted; }
    ServicesPane #commands { height: auto; max-height: 7; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ServiceRow] = []
        self.commands: list[CommandRow] = []
        self._spark = 0

    def compose(self) -> ComposeResult:
        yield DataTable(id="services", cursor_type="row", zebra_stripes=True)
        yield Static("", id="service-detail")
        commands: DataTable[Text] = DataTable(id="commands", cursor_type="none")
        commands.display = False
        yield commands

    def on_mount(self) -> None:
        commands = self.query_one("#commands", DataTable)
        for label, width in (("command", 12), ("pid", 7), ("state", 9), ("cpu %", 5), ("mem", 8),
                             ("rst", 3), ("exit", 4)):  # fmt: skip
            commands.add_column(label, width=width)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#services", DataTable)

    def selected(self) -> str | None:
        """The service under the cursor."""
        if not self.rows:
            return None
        return self.rows[min(self.table.cursor_row, len(self.rows) - 1)].service

    def show(self, rows: list[ServiceRow]) -> None:
        """Replaces the rows, keeping the cursor on the same service."""
        table = self.table
        keep = self.selected()
        width = spark_width(self.size.width or self.app.size.width)
        if width != self._spark:
            table.clear(columns=True)
            for label, column_width in FIXED_COLUMNS:
                table.add_column(label, width=column_width)
            table.add_column("volume", width=width)
            table.add_column("errors", width=width)
            self._spark = width
        table.clear()
        self.rows = rows
        for row in rows:
            table.add_row(*service_cells(row, width), key=row.service)
        names = [r.service for r in rows]
        if keep in names:
            table.move_cursor(row=names.index(keep), animate=False)
        self.show_detail()

    def show_detail(self) -> None:
        """The selected service's last error under the table."""
        name = self.selected()
        row = next((r for r in self.rows if r.service == name), None)
        text = Text(no_wrap=True, overflow="ellipsis")
        if row is not None:
            text.append(f"{row.service}: {row.lines:,} lines, {row.errors:,} errors", style="bold")
            if row.last_error:
                text.append("  last error ")
                text.append(row.last_error, style=LEVEL_STYLES["error"])
        self.query_one("#service-detail", Static).update(text)

    def show_commands(self, rows: list[CommandRow]) -> None:
        table = self.query_one("#commands", DataTable)
        self.commands = rows
        table.display = bool(rows)
        table.clear()
        for row in rows:
            table.add_row(*command_cells(row), key=row.name)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "services":
            self.show_detail()
