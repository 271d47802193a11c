"""What the first lines of a CSV file say about how to read it: the field separator
(the one given, else the one its first lines agree on), the decimal mark, and the columns of
codes written with leading zeros.

Spreadsheets in many locales write ``;`` (the comma is their decimal mark), tools write tabs
or ``|``.  A file read with the wrong separator is one column of text, so every reader asks
:func:`csv_delimiter` before parsing.  Zip codes and ids such as ``02680`` are text, which
a number parser would turn into 2680 (:func:`code_columns`).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path

from bayesgen.base.errors import DataError

_LINE_END = re.compile(r"\r\n|\r|\n")

#: separators tried when none is given, in order of preference on a tie
CANDIDATES = (",", ";", "\t", "|")

#: how much of the file the guess reads: enough for a header and a few dozen rows
SNIFF_BYTES = 1 << 16
SNIFF_LINES = 50


def checked_delimiter(delimiter) -> str:
    """``delimiter`` when it is one character a CSV field can be separated by."""
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
        raise DataError(f"delimiter must be a single character; got {delimiter!r}.")
    return delimiter


def default_delimiter(path: Path) -> str:
    """A tab for ``.tsv`` (optionally ``.gz``) files, a comma for any other."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    return "\t" if ".tsv" in suffixes else ","


def output_delimiter(path, preferred=None) -> str:
    """The separator to write a CSV file at ``path`` with: a tab for a ``.tsv`` name, else
    ``preferred`` (the input's, so that output keeps its layout), else a comma."""
    if default_delimiter(path) == "\t":
        return "\t"
    return preferred or ","


@dataclass(frozen=True)
class CsvDialect:
    """How to read a CSV file, from its first lines (:func:`sniff_csv`): the field
    separator, the decimal mark (:func:`csv_decimal`) and the columns of codes written with
    leading zeros (:func:`code_columns`).  The defaults are a Parquet file's."""

    delimiter: str = ","
    decimal: str = "."
    codes: tuple[str, ...] = ()


def sniff_csv(path, delimiter=None) -> CsvDialect:
    """:func:`csv_delimiter`, :func:`csv_decimal` and :func:`code_columns` of a CSV file,
    from one read of its first ``SNIFF_BYTES``."""
    path = Path(path)
    text = _first_lines(path)
    sep = _delimiter_of(text, path, delimiter)
    return CsvDialect(sep, _decimal_of(text, sep), tuple(_codes_of(text, sep)))


def csv_delimiter(path, delimiter=None) -> str:
    """The field separator of the CSV file at ``path``.

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV or TSV file, optionally gzip-compressed.
    delimiter : str or None
        Given: checked and returned.  None: of ``,``, ``;``, tab and ``|``, the one that
        splits the header into the most fields (at least two) and every other record of the
        first ``SNIFF_LINES`` lines into as many; the suffix's default (tab for ``.tsv``,
        else comma) when none does, or on a tie with it.

    Returns
    -------
    str
        One character.
    """
    if delimiter is not None:
        return checked_delimiter(delimiter)
    return _delimiter_of(_first_lines(Path(path)), Path(path), None)


def _delimiter_of(text: str | None, path: Path, delimiter) -> str:
    """The given ``delimiter`` checked, else the one the first ``SNIFF_LINES`` lines of
    ``text`` agree on (see :func:`csv_delimiter`)."""
    if delimiter is not None:
        return checked_delimiter(delimiter)
    default = default_delimiter(path)
    if text is None:
        return default
    text = "\n".join(text.split("\n")[:SNIFF_LINES])
    best, widest = default, _consistent_width(text, default)
    for candidate in CANDIDATES:
        width = _consistent_width(text, candidate)
        if width > max(widest, 1):
            best, widest = candidate, width
    return best


def _first_lines(path: Path) -> str | None:
    """The complete lines of the file's first ``SNIFF_BYTES`` as text, joined by ``\n``,
    or None when it cannot be read (the reader that follows reports why)."""
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        opener = gzip.open if gz else open
        with opener(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    if len(head) == SNIFF_BYTES:  # drop the line cut off at the end of the block
        head = head[: head.rfind(b"\n") + 1] or head
    text = head.decode("utf-8-sig", errors="replace")
    # lines end at CR, LF or CRLF only: str.splitlines would also break at U+2028 or a
    # form feed inside a text field
    return "\n".join(_LINE_END.split(text))


def _consistent_width(text: str, delimiter: str) -> int:
    """Fields per record when ``delimiter`` splits every non-blank record of ``text`` into
    the header's number of fields; 0 when some record disagrees."""
    records = _records(text, delimiter)
    if not records:
        return 0
    width = len(records[0])
    # the last record may be cut by SNIFF_LINES inside a quoted field: it does not vote
    body = records[1:-1] if len(records) > 2 else records[1:]
    return width if all(len(r) == width for r in body) else 0


_COMMA_NUMBER = re.compile(r"[-+]?\d+,\d+")
_POINT_NUMBER = re.compile(r"[-+]?\d*\.\d+")


def csv_decimal(path, delimiter: str) -> str:
    """The decimal mark of the numbers in a CSV file separated by ``delimiter``.

    ``","`` when the separator is not a comma and the first ``SNIFF_BYTES`` of the file
    hold numbers written ``3,5`` but none written ``3.5`` (a spreadsheet of a locale with a
    decimal comma); ``"."`` otherwise.  The readers parse such numbers as numbers and the
    writers write the file's numbers back with its mark.
    """
    return _decimal_of(None if delimiter == "," else _first_lines(Path(path)), delimiter)


def _decimal_of(text: str | None, delimiter: str) -> str:
    """:func:`csv_decimal` of the file's first lines ``text``."""
    if delimiter == "," or text is None:
        return "."
    fields = [f.strip() for r in _records(text, delimiter) for f in r]
    comma = any(_COMMA_NUMBER.fullmatch(f) for f in fields)
    point = any(_POINT_NUMBER.fullmatch(f) for f in fields)
    return "," if comma and not point else "."


_LEADING_ZERO = re.compile(r"\s*[+-]?0\d")


def code_columns(path, delimiter: str) -> list[str]:
    """Columns of a CSV file whose cells in its first ``SNIFF_BYTES`` include a number
    written with a leading zero (``02680``, ``007``): codes, to be read as text so that the
    zeros stay (the table schema then models them as categories or leaves them out as
    identifiers).  Only the first block is read, so a column whose first such cell comes
    later is read as numbers; read such a file with pandas (``dtype={"zip": str}``) and fit
    the DataFrame."""
    return _codes_of(_first_lines(Path(path)), delimiter)


def _codes_of(text: str | None, delimiter: str) -> list[str]:
    """:func:`code_columns` of the file's first lines ``text``."""
    if text is None:
        return []
    records = _records(text, delimiter)
    if len(records) < 2:
        return []
    header, width = records[0], len(records[0])
    coded = set()
    for record in records[1:]:
        if len(record) == width:
            coded.update(j for j, cell in enumerate(record) if _LEADING_ZERO.match(cell))
    return [header[j] for j in sorted(coded)]


def _records(text: str, delimiter: str) -> list[list[str]]:
    """The non-blank records of ``text``; none when it is not CSV at all (the reader that
    follows says what is wrong)."""
    try:
        return [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r]
    except csv.Error:
        return []
