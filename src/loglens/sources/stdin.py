"""Standard input as a source: a stream with no checkpoint, read once to its end."""

from __future__ import annotations

from loglens.sources.lines import ByteStream


class PrefixedStream:
    """A binary stream that first returns bytes already read (for format detection), then the rest.

    Detection needs a look at the first lines of a pipe, which cannot be rewound.
    """

    def __init__(self, prefix: bytes, rest: ByteStream) -> None:
        self._prefix = prefix
        self._rest = rest

    def read(self, size: int = -1, /) -> bytes:
        """Reads up to `size` bytes (all when negative), prefix first."""
        if self._prefix:
            if size < 0:
                data, self._prefix = self._prefix + self._rest.read(), b""
                return data
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        return self._rest.read(size)
