"""Syslog over the network: a UDP and a TCP listener on one port, RFC 3164 and 5424 alike.

TCP framing (RFC 6587) is found per connection from its first byte: a digit starts octet counting
(`<len> <msg>`), anything else is a delimited stream where a newline or a NUL ends a message (Python's
`SysLogHandler` sends `…\\x00` with no newline; `logger --tcp` sends newlines). A UDP datagram is one
message. Messages go to the daemon's inbox as lines of the `syslog` format, so parsing, levels and
mining are the file path's own.

TCP is pushed back on: while the inbox is full a connection stops being read (the sender's socket
buffer fills and it waits). UDP cannot be pushed back on: a datagram that finds the inbox full is
dropped and counted (`dropped`), never queued without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from loglens.formats.multiline import TRUNCATION_MARK
from loglens.inbox import Inbox, IngestJob

MAX_MESSAGE_BYTES = 64 * 1024
MAX_LENGTH_DIGITS = 10
"""The longest octet count read as one (RFC 6587 counts fit in far fewer): longer digit runs are text."""
RETRY_S = 0.05


class SyslogFramer:
    """Bytes of one TCP connection in, whole messages out (octet-counted or delimited, decided by the
    first byte); a message over `max_bytes` is cut and marked, never held whole."""

    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._max = max_bytes
        self._buffer = bytearray()
        self._octet: bool | None = None
        self._skip = 0  # bytes of an over-long octet-counted message still to throw away
        self._dropping = False  # inside a delimited line already cut
        self.cut = 0

    def feed(self, data: bytes) -> list[str]:
        """The messages `data` completes."""
        self._buffer += data
        if self._octet is None and self._buffer:
            self._octet = chr(self._buffer[0]).isdigit()
        return self._counted() if self._octet else self._delimited()

    def _delimited(self) -> list[str]:
        buffer = self._buffer
        out: list[str] = []
        start = 0
        if self._dropping:  # the rest of a line already cut and sent
            ends = [i for i in (buffer.find(b"\n"), buffer.find(b"\0")) if i >= 0]
            if not ends:
                buffer.clear()
                return out
            del buffer[: min(ends) + 1]
            self._dropping = False
        for i, byte in enumerate(buffer):
            if byte in (0x0A, 0x00):
                if i - start > self._max:
                    out.append(self._mark(bytes(buffer[start : start + self._max]), i - start - self._max))
                elif i > start and (text := _text(bytes(buffer[start:i]))):  # not a lone CR
                    out.append(text)
                start = i + 1
        del buffer[:start]
        if len(buffer) > self._max:
            out.append(self._mark(bytes(buffer[: self._max]), len(buffer) - self._max))
            buffer.clear()
            self._dropping = True
        return out

    def _counted(self) -> list[str]:
        buffer = self._buffer
        out: list[str] = []
        while True:
            if self._skip:
                taken = min(self._skip, len(buffer))
                del buffer[:taken]
                self._skip -= taken
                if self._skip:
                    return out
            space = buffer.find(b" ")
            if space < 0:
                if len(buffer) > MAX_LENGTH_DIGITS:  # no length field is that long: not octet counting
                    self._octet = False
                    return out + self._delimited()
                return out
            length_field = bytes(buffer[:space])
            if not length_field.isdigit() or space > MAX_LENGTH_DIGITS:
                self._octet = False
                return out + self._delimited()
            length = int(length_field)
            if length > self._max:
                end = min(len(buffer), space + 1 + self._max)
                out.append(self._mark(bytes(buffer[space + 1 : end]), length - self._max))
                self._skip = length - (end - space - 1)
                del buffer[:end]
                continue
            if len(buffer) < space + 1 + length:
                return out
            message = bytes(buffer[space + 1 : space + 1 + length]).rstrip(b"\n\0")
            del buffer[: space + 1 + length]
            if text := _text(message):
                out.append(text)

    def _mark(self, head: bytes, dropped: int) -> str:
        self.cut += 1
        return _text(head) + TRUNCATION_MARK.format(dropped)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace").replace("\r", "")


@dataclass(slots=True)
class SyslogCounters:
    """What the listeners took in and, for UDP only, dropped because the inbox was full."""

    received: int = 0
    dropped: int = 0
    connections: int = 0
    cut: list[int] = field(default_factory=lambda: [0])


def _job(messages: list[str]) -> IngestJob:
    return IngestJob(lines=messages, source="syslog", format="syslog")


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, inbox: Inbox, counters: SyslogCounters) -> None:
        self.inbox = inbox
        self.counters = counters

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message = data[:MAX_MESSAGE_BYTES].rstrip(b"\n\0")
        if not message:
            return
        self.counters.received += 1
        if not self.inbox.submit(_job([_text(message)])):
            self.counters.dropped += 1


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, inbox: Inbox, counters: SyslogCounters
) -> None:
    counters.connections += 1
    framer = SyslogFramer()
    try:
        while data := await reader.read(65536):
            messages = framer.feed(data)
            if not messages:
                continue
            counters.received += len(messages)
            while not inbox.submit(_job(messages)):
                await asyncio.sleep(RETRY_S)  # not reading: the sender is pushed back on
    finally:
        counters.cut[0] += framer.cut
        writer.close()


async def serve_syslog(
    host: str, port: int, inbox: Inbox, counters: SyslogCounters, ready: Callable[[int], None]
) -> None:
    """Listens on `host:port` (UDP and TCP) until cancelled; `ready` is told the port."""
    loop = asyncio.get_running_loop()
    tcp = await asyncio.start_server(lambda r, w: _serve_connection(r, w, inbox, counters), host, port)
    bound = tcp.sockets[0].getsockname()[1]
    udp, _ = await loop.create_datagram_endpoint(
        lambda: _Datagrams(inbox, counters), local_addr=(host, bound)
    )
    ready(bound)
    try:
        async with tcp:
            await tcp.serve_forever()
    finally:
        udp.close()
