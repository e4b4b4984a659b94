"""A CSV file read a chunk of rows at a time (``data.chunk_rows``).

:meth:`Chunks.scan` goes through the file once, line by line, and yields each chunk of
``chunk_rows`` rows as it finds it, recording where the chunk starts and ends in bytes;
:meth:`Chunks.read` later reads one chunk by seeking straight to it, so chunks can be read
in any order. A row whose quoted field spans lines stays whole: quotes are followed as the
``csv`` module reads them (a quote opens a field only at its start, ``""`` inside one is a
quote), so a stray ``5" screen`` does not swallow the rest of the file. Each chunk is handed to the row parser as a layout of its own
(:meth:`Chunks.layout`), so a chunk is read exactly as a whole file would be, and its error
messages name the file's own line numbers.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import DataError
from .options import CsvOptions
from .sniff import _SAMPLE_ROWS, _dotted, _Layout, _sniff


@dataclass
class Chunks:
    """Where the chunks of one CSV file are.

    Attributes
    ----------
    path : Path
    head : _Layout
        What the head of the file says (delimiter, header, names, decimal mark).
    rows : int
        ``data.chunk_rows``: the most rows a chunk holds.
    spans : list of (start, end, line0)
        Each chunk's byte range and the number of the line before its first row.
    """

    path: Path
    head: _Layout
    rows: int
    spans: list[tuple[int, int, int]] = field(default_factory=list)
    records: int = 0
    """The rows the file holds (before ``data.missing: drop``), counted by :meth:`scan`."""

    def __len__(self) -> int:
        return len(self.spans)

    @classmethod
    def open(cls, path: str | Path, opts: CsvOptions, rows: int) -> Chunks:
        """The file's head; :meth:`scan` then finds its chunks."""
        path = Path(path)
        return cls(path, _sniff(path, opts), rows)

    def scan(self) -> Iterator[_Layout]:
        """Go through the whole file once, yielding every chunk in order as a layout, and record the chunks."""
        self.spans.clear()
        self.records = 0
        skip = int(self.head.header) + self.head.skip  # non-blank lines before the first row
        lines: list[bytes] = []
        delimiter = ord(self.head.delimiter)
        start = line0 = offset = count = 0
        odd = False  # inside a quoted field that continues on the next line
        try:
            with open(self.path, "rb") as f:
                for number, raw in enumerate(_lines(f), 1):
                    here, offset = offset, offset + len(raw)
                    text = raw[len(codecs.BOM_UTF8):] if number == 1 and raw.startswith(codecs.BOM_UTF8) else raw
                    if not odd and not text.strip():
                        if lines:
                            lines.append(raw)
                        continue
                    if skip:
                        odd = _ends_quoted(text, delimiter, odd)
                        skip -= not odd
                        continue
                    if not lines:
                        start, line0 = here, number - 1
                    lines.append(raw)
                    odd = _ends_quoted(text, delimiter, odd)
                    count += not odd
                    self.records += not odd
                    if count == self.rows:
                        yield self._chunk(start, offset, line0, b"".join(lines))
                        lines, count = [], 0
        except OSError as err:
            raise DataError(f"{self.path}: cannot read ({err.strerror})") from None
        if lines:  # (a quote left open at the end is the parser's to report, as for the whole file)
            yield self._chunk(start, offset, line0, b"".join(lines))

    def read(self, i: int) -> _Layout:
        """Chunk ``i`` (as :meth:`scan` numbered them), read from its place in the file."""
        start, end, line0 = self.spans[i]
        try:
            with open(self.path, "rb") as f:
                f.seek(start)
                data = f.read(end - start)
        except OSError as err:
            raise DataError(f"{self.path}: cannot read ({err.strerror})") from None
        return self.layout(data, line0)

    def layout(self, data: bytes, line0: int) -> _Layout:
        """The layout the row parser reads chunk ``data`` (whole rows, no header) with."""
        try:
            # universal newlines, as reading the whole file in text mode has them: "\r\n" in a quoted field is "\n"
            text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError as err:
            raise DataError(f"{self.path}: not UTF-8 text (in the rows after line {line0}, byte {err.start})") from None
        head = [line for line in io.StringIO(text) if line.strip()][:_SAMPLE_ROWS]
        try:
            sample = list(csv.reader(head, delimiter=self.head.delimiter))
        except csv.Error:
            sample = []  # the parser's csv path reports it with its line
        if self.head.decimal == ",":
            sample = [_dotted(r) for r in sample]
        return dataclasses.replace(self.head, sample=sample, notes=[], body=text, line0=line0)

    def _chunk(self, start: int, end: int, line0: int, data: bytes) -> _Layout:
        self.spans.append((start, end, line0))
        return self.layout(data, line0)


_QUOTE = ord('"')


def _ends_quoted(line: bytes, delimiter: int, inside: bool) -> bool:
    """Whether ``line`` ends inside a quoted field (the row goes on), starting inside one if ``inside``.

    The ``csv`` module's rules: a quote opens a field only as its first character, ``""``
    within a quoted field is a literal quote, any other quote there closes the field."""
    if _QUOTE not in line:
        return inside
    at_start, i, n = not inside, 0, len(line)
    while i < n:
        c = line[i]
        if inside:
            if c == _QUOTE:
                if i + 1 < n and line[i + 1] == _QUOTE:
                    i += 1
                else:
                    inside = False
        elif c == _QUOTE and at_start:
            inside = True
        at_start = not inside and c == delimiter
        i += 1
    return inside


def _lines(f, block: int = 1 << 20) -> Iterator[bytes]:
    """The lines of a binary file, each with its end: ``\n`` or ``\r\n``, or a bare ``\r`` in a file whose head
    has no ``\n`` (old Mac line ends, as reading in text mode splits them too)."""
    head = f.read(block)
    f.seek(0)
    if b"\n" in head or b"\r" not in head:
        yield from f
        return
    rest = b""
    while data := f.read(block):
        *done, rest = (rest + data).split(b"\r")
        for line in done:
            yield line + b"\r"
    if rest:
        yield rest
