"""The live view of `loglens tail` and `loglens run`: records printed as they are read.

While the sources catch up with what was written before the view started, only the last
`backlog` records are kept (like `tail -n`), and printed once reading has caught up; after that every
matching record is printed as it arrives. Writes go straight to the terminal or pipe: when its reader
is slow the write blocks, and so does reading — the view never queues output of its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TextIO

from loglens.output import format_json, format_line
from loglens.record import Record


class LivePrinter:
    """Prints records that pass `matcher` to `stream`, coloured or plain, or as JSON lines.

    Args:
        stream: where to print (stdout).
        colour: severity colours (only for a terminal; see output.use_colour).
        as_json: one JSON object per record (docs/cli.md) instead of aligned text.
        matcher: keeps the records to show (a compiled query; everything when None).
        backlog: records of the catch-up to show; None shows all of them.
        on_closed: called when the reader of `stream` has gone away (`| head`).
    """

    def __init__(
        self,
        stream: TextIO,
        colour: bool,
        as_json: bool = False,
        matcher: Callable[[Sequence[Record]], list[Record]] | None = None,
        backlog: int | None = 10,
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        self._stream = stream
        self._colour = colour
        self._json = as_json
        self._matcher = matcher
        self._backlog: deque[Record] | None = deque(maxlen=backlog) if backlog is not None else None
        self._on_closed = on_closed
        self.shown = 0
        self.closed = False

    def __call__(self, records: list[Record]) -> None:
        """Shows (or, while catching up, keeps) the records that match."""
        if self.closed:
            return
        matching = self._matcher(records) if self._matcher is not None else records
        if self._backlog is not None:
            self._backlog.extend(matching)
            return
        self._print(matching)

    def caught_up(self) -> None:
        """Reading has reached the end of what was written: show the kept backlog, then go live."""
        if self._backlog is None:
            return
        kept, self._backlog = list(self._backlog), None
        self._print(kept)

    def _print(self, records: Sequence[Record]) -> None:
        if not records:
            return
        if self._json:
            text = "\n".join(format_json(r) for r in records)
        else:
            text = "\n".join(format_line(r, self._colour) for r in records)
        try:
            self._stream.write(text + "\n")
            self._stream.flush()
        except BrokenPipeError:
            self.closed = True
            if self._on_closed is not None:
                self._on_closed()
            return
        self.shown += len(records)
