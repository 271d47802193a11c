"""Tables with mixed columns (text, integers, dates, empty cells): read with their label
column, written back in the input's layout.

The numeric readers of this package take matrices of numbers (more than
:data:`MATRIX_COLUMNS` columns, or columns named ``pixel...``: Kaggle's digit layout,
scikit-learn's digits, spectra); a file with text columns or empty cells, or a narrower
file of numbers, is a *table*, each column a variable with its own kind, decimals and
range: :func:`is_table_file` tells which,
:func:`read_table` returns a pandas DataFrame of the features plus the labels, and
:func:`write_table` writes generated rows with the label column where the input had it.

Choosing the label column
-------------------------
Given ``label_column``, that column (by name or index; a near miss gets a "did you mean").
Otherwise: a column named ``label``, ``class``, ``target`` or ``y`` (any case); else the
first or the last column, whichever looks like class labels (text or integers with few
distinct values, at least two rows per class on average) — text preferred; when neither
or both look so, an error names the columns that could be labels.  :class:`TableData`
records how the column was chosen so that the command line can say it.

A label column that looks like a regression target (non-integer numbers, or hundreds of
distinct numbers) or has a class for every few rows is refused, naming likely label
columns.  Empty labels are refused with their count, or dropped with
``drop_missing_labels=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayesgen.base.atomic import atomic_write
from bayesgen.base.errors import DataError, data_row, n_rows
from bayesgen.base.suggest import did_you_mean
from bayesgen.io.csv_plan import _is_number
from bayesgen.io.csv_writer import formula_safe
from bayesgen.io.delimiter import CsvDialect, output_delimiter, sniff_csv
from bayesgen.io.limits import check_output_size

__all__ = [
    "MATRIX_COLUMNS",
    "TableData",
    "csv_text",
    "header_names",
    "is_table_file",
    "read_frame",
    "read_frame_and_layout",
    "read_table",
    "table_for_output",
    "write_table",
]

_TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
_LABEL_NAMES = ("label", "class", "target", "y")
#: a file of numbers only with more columns than this is a matrix (images, spectra), read
#: by the numeric readers; one with at most this many is a table of variables
MATRIX_COLUMNS = 100
#: rows read to decide whether a file is a table
_SNIFF_ROWS = 2000


@dataclass
class TableData:
    """A table read from a file.

    Attributes
    ----------
    X : pandas.DataFrame
        The feature columns, in file order.
    y : numpy.ndarray
        The labels (text or integers).
    label_column : str
    columns : list of str
        Every column of the file in order, the label included (the layout of written
        samples).
    chosen : str
        How the label column was chosen, in words ("named on the command line", "the
        column named 'label'", "the first column: text with 3 values", ...).
    path : str
    format : {"csv", "parquet"}
    delimiter : str
    decimal : str
        The decimal mark of the file's numbers (:func:`~bayesgen.io.delimiter.csv_decimal`).
    label_dtype : str or None
        ``"category"`` when the label column was a pandas category (a Parquet file's), so
        that written labels are one again; None otherwise.
    dropped_rows : int
        Rows left out because their label was empty (``drop_missing_labels``).
    data_rows : numpy.ndarray or None
        Where rows were left out: each kept row's position among the file's data rows
        (to name a bad cell by its row in the file, :meth:`RowDataError.at_rows`); None
        when every row was kept.
    """

    X: object
    y: np.ndarray
    label_column: str
    columns: list
    chosen: str
    path: str
    format: str
    delimiter: str = ","
    decimal: str = "."
    label_dtype: str | None = None
    dropped_rows: int = 0
    data_rows: np.ndarray | None = None


def _format_of(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in _TABLE_SUFFIXES:
        return None
    return "parquet" if suffixes[-1] in (".parquet", ".pq") else "csv"


def _check_utf8(path: Path) -> None:
    """Name the line of the first byte that is not UTF-8 (pandas would only say 'byte')."""
    if path.suffix.lower() == ".gz":
        return
    line = 1
    with open(path, "rb") as handle:
        pending = b""
        while block := handle.read(1 << 20):
            data = pending + block
            try:
                data.decode("utf-8")
                pending = b""
            except UnicodeDecodeError as exc:
                if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
                    pending = data[exc.start :]  # a character cut by the block boundary
                    data = data[: exc.start]
                else:
                    line += data[: exc.start].count(b"\n")
                    raise DataError(
                        f"{str(path)!r}, line {line}: byte {data[exc.start]:#04x} is not UTF-8 "
                        "text; save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
                    ) from None
            line += data.count(b"\n")


class _FieldCounter:
    """Fields per record of CSV text fed in blocks (RFC 4180 quoting: a separator or line
    break between an odd number of quotes is data), without a Python loop over lines.

    pandas pads a record with too few fields with empty cells without a word; counting the
    separators outside quotes (cumulative sums over the bytes) finds such a record, and its
    physical line, in numpy.
    """

    def __init__(self, separator: str):
        self.sep = ord(separator)
        self.in_quotes = False
        self.fields = 1  # of the record being read
        self.record_bytes = 0  # bytes of it other than CR, to skip blank lines
        self.line = 1  # physical line the record being read started on
        self.lines_seen = 0
        self.header = None

    def feed(self, block: bytes):
        """The first record in ``block`` whose field count differs from the header's, as
        ``(line, fields)``, or None."""
        b = np.frombuffer(block, dtype=np.uint8)
        if b.size == 0:
            return None
        seps, ends = self._separators_and_ends(b)
        # per record ending in this block: its fields and its bytes other than a final CR
        fields = np.diff(np.searchsorted(seps, ends), prepend=0) + 1
        starts = np.r_[0, ends[:-1] + 1]
        sizes = ends - starts
        sizes -= (sizes > 0) & (b[np.maximum(ends - 1, 0)] == ord("\r"))
        if ends.size:
            fields[0] += self.fields - 1
            sizes[0] += self.record_bytes
        found = self._check(fields, sizes)
        if found is not None:
            if found == 0:  # the record that began in an earlier block
                return self.line, int(fields[0])
            line = self.lines_seen + block.count(b"\n", 0, int(starts[found])) + 1
            return line, int(fields[found])
        tail = b[ends[-1] + 1 :] if ends.size else b
        if ends.size:
            self.fields, self.record_bytes = 1, 0
            self.line = self.lines_seen + block.count(b"\n", 0, int(ends[-1]) + 1) + 1
        self.fields += int(np.count_nonzero(seps > (ends[-1] if ends.size else -1)))
        self.record_bytes += int(np.count_nonzero(tail != ord("\r")))
        self.lines_seen += block.count(b"\n")
        return None

    def _separators_and_ends(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the separators and record-ending line breaks outside quotes."""
        quote = b == ord('"')
        sep, newline = b == self.sep, b == ord("\n")
        if self.in_quotes or quote.any():
            inside = np.logical_xor.accumulate(quote) ^ self.in_quotes
            outside = ~inside
            self.in_quotes = bool(inside[-1])
            sep, newline = sep & outside, newline & outside
        return np.flatnonzero(sep), np.flatnonzero(newline)

    def _check(self, fields: np.ndarray, sizes: np.ndarray):
        """Index of the first non-blank record whose count differs from the header's (the
        first non-blank record of the file is the header), or None."""
        filled = np.flatnonzero(sizes > 0)
        if filled.size == 0:
            return None
        if self.header is None:
            self.header = int(fields[filled[0]])
            filled = filled[1:]
        bad = filled[fields[filled] != self.header]
        return int(bad[0]) if bad.size else None

    def finish(self):
        """The last record (one without a final line break), checked like the others;
        blank lines are skipped, as pandas skips them."""
        found = self._check(np.array([self.fields]), np.array([self.record_bytes]))
        return None if found is None else (self.line, self.fields)


def _check_field_counts(path: Path, sep: str) -> None:
    """Refuse a CSV record with more or fewer fields than the header, naming its line."""
    import gzip

    if len(sep) != 1:
        return
    counter = _FieldCounter(sep)
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        found = None
        while found is None and (block := handle.read(1 << 20)):
            found = counter.feed(block)
        found = found or counter.finish()
    if found:
        line, fields = found
        raise DataError(
            f"{str(path)!r}, line {line}: {fields} fields, but the header has "
            f"{counter.header}; fix that line (a missing or extra {sep!r}, or an unclosed "
            "quote before it)"
        )


def _header_row(path: Path, sep: str) -> list[str] | None:
    """A CSV file's first line as written (pandas renames a repeated name ``name.1``);
    None when there is none, or it is malformed (the readers say so)."""
    import pandas as pd

    try:
        header = pd.read_csv(
            path, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False
        ).iloc[0]
    except (pd.errors.EmptyDataError, pd.errors.ParserError, IndexError):
        return None
    return [str(v) for v in header]


def _check_header_names(path: Path, sep: str) -> None:
    """Refuse a CSV header that names a column twice (pandas would rename the second
    ``name.1`` without a word, and it would be modelled and written under that name)."""
    names = _header_row(path, sep)
    if names is None:
        return  # no header, or a malformed one: refused by the reader with its message
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name.strip():  # a blank name: pandas calls it "Unnamed: N", never twice
            continue
        if name in seen:
            raise DataError(
                f"{str(path)!r}: the header names the column {name!r} twice (columns "
                f"{seen[name]} and {position}); rename one of them"
            )
        seen[name] = position


def _read_frame(path: Path, fmt: str, dialect: CsvDialect, nrows=None):
    import pandas as pd

    if fmt == "parquet":
        frame = pd.read_parquet(path)
        return frame if nrows is None else frame.head(nrows)
    try:
        return pd.read_csv(
            path,
            sep=dialect.delimiter,
            nrows=nrows,
            skipinitialspace=False,
            decimal=dialect.decimal,
            dtype=dict.fromkeys(dialect.codes, str),
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{str(path)!r} is empty; expected a header line and rows") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{str(path)!r} is not a well-formed CSV file: {exc}") from None


#: cell texts read as empty (missing) cells when telling a table from a file of numbers;
#: "nan" and "inf" are numbers there, so a numeric file keeps the numeric reader's checks
_EMPTY_TOKENS = ["", "NA", "N/A", "n/a", "NULL", "null", "#N/A"]


def _ragged(path: Path, sep: str, rows: int) -> bool:
    """True when one of the first ``rows`` lines has another number of fields than the
    header (the numeric reader then names the line; pandas would pad it silently)."""
    import csv
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=sep)
        header = next(reader, [])
        for i, row in enumerate(reader):
            if i >= rows:
                break
            if row and len(row) != len(header):
                return True
    return False


def is_table_file(path, *, delimiter=None) -> bool:
    """True for a CSV or Parquet file with a text, boolean or date column, or empty cells,
    or with numbers only in at most :data:`MATRIX_COLUMNS` columns not named ``pixel...``.

    Only the first rows of a CSV file are read.  Matrices of numbers only (wide, or pixels:
    Kaggle's digit layout; ``nan`` and ``inf`` count as numbers, and so do columns of
    mostly numbers with a stray text, which the numeric reader reports by line) are not
    tables: the numeric readers take them faster and check every cell.  A narrower file of
    numbers (measurements, counts, a 0/1 class column) is a table, so that its label column
    is chosen and checked as a table's, and what is written back keeps each column's
    integers, decimals, range and place.  A CSV file whose first lines have a wrong number
    of fields is left to the numeric reader too, which names the line.
    """
    import pandas as pd

    path = Path(path)
    fmt = _format_of(path)
    if fmt is None or not path.is_file():
        return False
    dialect = sniff_csv(path, delimiter) if fmt == "csv" else CsvDialect()
    sep = dialect.delimiter
    try:
        if fmt == "csv" and _ragged(path, sep, _SNIFF_ROWS):
            return False
        if dialect.decimal == "," or dialect.codes:
            return True  # only the table reader takes decimal commas and keeps leading zeros
        # one read: only truly empty cells are missing, and "nan"/"inf" texts are numbers
        # to _numeric_column, as they are to the numeric readers
        head = (
            _read_frame(path, fmt, dialect, nrows=_SNIFF_ROWS)
            if fmt == "parquet"
            else pd.read_csv(
                path, sep=sep, nrows=_SNIFF_ROWS, keep_default_na=False, na_values=_EMPTY_TOKENS
            )
        )
    except (DataError, UnicodeDecodeError, ValueError, OSError):
        return True  # let read_table say precisely what is wrong
    if head.shape[0] == 0:
        return False  # no rows: the numeric readers say so
    names = _header_row(path, sep) if fmt == "csv" else [str(c) for c in head.columns]
    if names is not None and all(_is_number(name) for name in names):
        return False  # a first line of numbers is no header: the numeric reader says so
    numeric = all(_numeric_column(head[name]) for name in head.columns)
    return not numeric or bool(head.isna().to_numpy().any()) or not _a_matrix(head.columns)


def _a_matrix(columns) -> bool:
    """Whether a file of numbers with these columns is a matrix of pixels, not a table:
    more than :data:`MATRIX_COLUMNS` columns, or every column but one (the label) named
    ``pixel...`` (Kaggle's ``pixel0``, scikit-learn's ``pixel_0_0``)."""
    named_pixels = sum(str(c).lower().startswith("pixel") for c in columns)
    return len(columns) > MATRIX_COLUMNS or named_pixels >= max(1, len(columns) - 1)


def _numeric_column(column) -> bool:
    """Numbers, or mostly numbers with a few stray texts (a typo the numeric reader names
    by line and column, rather than a text column of a table)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column.dtype):
        return False
    if pd.api.types.is_numeric_dtype(column.dtype):
        return True
    filled = column.dropna()
    if filled.empty:
        return True
    return bool(pd.to_numeric(filled.astype(str), errors="coerce").notna().mean() >= 0.5)


def _looks_like_labels(column) -> tuple[bool, str]:
    """Whether a column could hold class labels, and why (for messages)."""
    import pandas as pd

    values = column.dropna()
    n, distinct = len(values), values.nunique()
    if n == 0:
        return False, "empty"
    if pd.api.types.is_float_dtype(values) and not np.all(np.round(values) == values):
        return False, f"numbers with fractions ({distinct} distinct values)"
    kind = "numbers" if pd.api.types.is_numeric_dtype(values) else "text"
    if distinct < 2:
        return False, f"{kind} with a single value"
    if distinct > max(2, n // 2) or (kind == "numbers" and distinct > 100):
        return False, f"{kind} with {distinct} distinct values in {n} rows"
    return True, f"{kind} with {distinct} values"


def _candidates(frame) -> list[str]:
    return [str(c) for c in frame.columns if _looks_like_labels(frame[c])[0]]


def _choose_label(frame, label_column, where: str) -> tuple[str, str]:
    columns = [str(c) for c in frame.columns]
    if label_column is not None:
        return _named_label(columns, label_column, where), "named on the command line"
    named = [c for c in columns if c.lower() in _LABEL_NAMES]
    if len(named) == 1:
        return named[0], f"the column named {named[0]!r}"
    ends = [columns[0], columns[-1]] if len(columns) > 1 else columns[:1]
    looks = {c: _looks_like_labels(frame[c]) for c in ends}
    plausible = [c for c in ends if looks[c][0]]
    text = [c for c in plausible if "text" in looks[c][1]]
    if len(plausible) == 2 and len(text) == 1:
        plausible = text
    if len(plausible) == 1:
        place = "first" if plausible[0] == columns[0] else "last"
        return plausible[0], f"the {place} column: {looks[plausible[0]][1]}"
    likely = _candidates(frame)
    hint = f"columns that look like labels: {likely}" if likely else "no column looks like labels"
    raise DataError(
        f"{where}: cannot tell which column holds the class labels ({hint}); pass label_column=NAME"
    )


def _named_label(columns: list[str], label_column, where: str) -> str:
    if isinstance(label_column, (int, np.integer)) and not isinstance(label_column, bool):
        index = int(label_column)
        if not -len(columns) <= index < len(columns):
            raise DataError(
                f"{where}: label column {index} is out of range; the file has {len(columns)} "
                "columns"
            )
        return columns[index]
    if label_column in columns:
        return label_column
    did = did_you_mean(label_column, columns, n=1)
    raise DataError(f"{where}: no column named {label_column!r}{did}. The columns are {columns}.")


def _check_label_values(frame, name: str, where: str, *, first_chunk: bool = False) -> None:
    """Refuse a label column that does not look like class labels.  The first chunk of a
    file sorted by class holds one class: there a single value is no reason to refuse
    (a fit with one class in all is refused once every chunk has been read)."""
    ok, why = _looks_like_labels(frame[name])
    if ok or (first_chunk and frame[name].dropna().nunique() == 1):
        return
    likely = [c for c in _candidates(frame) if c != name]
    hint = f" Columns that look like labels: {likely}." if likely else ""
    values = frame[name].dropna()
    if values.nunique() == 1:  # the data hold one class: no label column would fix that
        raise DataError(
            f"{where}: the label column {name!r} holds a single class "
            f"({values.iloc[0]!r}); a classifier needs at least two. Add rows of other "
            f"classes, or choose another label column with label_column=NAME.{hint}"
        )
    raise DataError(
        f"{where}: column {name!r} does not look like class labels ({why}); a classifier "
        f"needs a few classes, each with several rows. Is it a regression target?{hint} "
        "Choose the label column with label_column=NAME."
    )


def table_format(path: Path, delimiter=None) -> tuple[str, CsvDialect]:
    """``(format, dialect)`` of a table file that exists: "csv" or "parquet", and how its
    first lines say to read it (:func:`~bayesgen.io.delimiter.sniff_csv`; the defaults for
    Parquet).

    Raises
    ------
    DataError
        Not a .csv, .tsv or .parquet path, or no such file.
    """
    fmt = _format_of(path)
    if fmt is None:
        raise DataError(f"{str(path)!r}: expected a .csv, .tsv or .parquet table")
    if not path.is_file():
        raise DataError(f"{str(path)!r} does not exist or is not a file")
    return fmt, sniff_csv(path, delimiter) if fmt == "csv" else CsvDialect()


def _layout(dialect: CsvDialect) -> dict:
    return {"delimiter": dialect.delimiter, "decimal": dialect.decimal}


def header_names(path, *, delimiter=None) -> list[str] | None:
    """The column names of a CSV or Parquet file as written (its header only is read);
    None for any other file, or one that cannot be read (the readers say why)."""
    path = Path(path)
    if _format_of(path) is None or not path.is_file():
        return None
    try:
        fmt, dialect = table_format(path, delimiter)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return [str(c) for c in pq.read_schema(path).names]
        return _header_row(path, dialect.delimiter)
    except (DataError, ValueError, OSError, ImportError, UnicodeDecodeError):
        return None


def read_frame(path, *, delimiter=None):
    """A whole CSV or Parquet table as a pandas DataFrame (no label column split off), with
    the same checks as :func:`read_table` (existence, UTF-8 text with the bad line named)."""
    return _frame_and_format(Path(path), delimiter)[0]


def read_frame_and_layout(path, *, delimiter=None):
    """:func:`read_frame`'s DataFrame and the file's ``{"delimiter": ..., "decimal": ...}``,
    as :func:`write_table` takes them to write a table like it (the defaults for Parquet),
    from one read of the file's first lines."""
    frame, _, dialect = _frame_and_format(Path(path), delimiter)
    return frame, _layout(dialect)


def _frame_and_format(path: Path, delimiter):
    """:func:`read_frame`'s frame, the file's format and its :class:`CsvDialect`."""
    fmt, dialect = table_format(path, delimiter)
    if fmt == "csv":
        _check_utf8(path)
        _check_field_counts(path, dialect.delimiter)
        _check_header_names(path, dialect.delimiter)
    frame = _read_frame(path, fmt, dialect)
    frame.columns = [str(c) for c in frame.columns]
    return frame, fmt, dialect


def label_dtype(column) -> str | None:
    """``"category"`` for a pandas category label column, else None (see
    :attr:`TableData.label_dtype`)."""
    import pandas as pd

    return "category" if isinstance(column.dtype, pd.CategoricalDtype) else None


def label_values(column) -> np.ndarray:
    """A label column without empty cells as labels: whole floats (a column that had empty
    cells before they were dropped) as integers, text as ``str``."""
    labels = column.to_numpy()
    if labels.dtype.kind == "f":
        return labels.astype(np.int64)
    if labels.dtype.kind not in "iub":
        return labels.astype(str)
    return labels


def read_table(
    path, *, label_column=None, drop_missing_labels: bool = False, delimiter=None
) -> TableData:
    """Read a CSV or Parquet table and split off its label column.

    Parameters
    ----------
    path : str or os.PathLike
    label_column : str or int, optional
        See the module docstring for how it is chosen when omitted.
    drop_missing_labels : bool, default=False
        Leave out rows whose label is empty (otherwise they are an error).
    delimiter : str, optional
        CSV field separator; by default the one the first lines agree on
        (:func:`~bayesgen.io.delimiter.csv_delimiter`).

    Returns
    -------
    TableData

    Raises
    ------
    DataError
        A missing or unreadable file, non-UTF-8 text (with its line), no plausible label
        column, empty labels.
    """
    path = Path(path)
    where = repr(str(path))
    frame, fmt, dialect = _frame_and_format(path, delimiter)
    if frame.shape[0] == 0:
        raise DataError(f"{where} has a header but no rows")
    name, chosen = _choose_label(frame, label_column, where)
    _check_label_values(frame, name, where)
    missing = frame[name].isna().to_numpy()
    dropped = 0
    if missing.any():
        if not drop_missing_labels:
            first = int(np.flatnonzero(missing)[0])
            has = "has" if missing.sum() == 1 else "have"
            raise DataError(
                f"{where}: {n_rows(missing.sum())} {has} an empty label in column {name!r} "
                f"(the first at {data_row(first)}); fill them, or drop those rows with "
                "drop_missing_labels=True"
            )
        frame = frame.loc[~missing].reset_index(drop=True)
        dropped = int(missing.sum())
    kept = np.flatnonzero(~missing) if dropped else None
    labels = label_values(frame[name])
    return TableData(
        X=frame.drop(columns=[name]),
        y=labels,
        label_column=name,
        columns=[str(c) for c in frame.columns],
        chosen=chosen,
        path=str(path),
        format=fmt,
        dropped_rows=dropped,
        **_layout(dialect),
        label_dtype=label_dtype(frame[name]),
        data_rows=kept,
    )


def _integer_columns_as_integers(frame, names):
    """Float columns holding integers (integers with empty cells) as nullable integers, so
    that a file shows ``3750``, not ``3750.0``; ``names`` None: every whole-number column."""
    import pandas as pd

    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if names is not None and name not in names:
            continue
        if pd.api.types.is_float_dtype(column):
            values = column.dropna().to_numpy()
            if values.size and np.all(values == np.round(values)) and np.abs(values).max() < 2**53:
                out[name] = column.astype("Int64")
    return out


def table_for_output(
    frame, *, y=None, label_column=None, columns=None, integer_columns=None, label_dtype=None
):
    """The table :func:`write_table` writes: labels inserted as ``label_column`` (default
    ``label``; a pandas category when ``label_dtype`` is ``"category"``), columns in the
    order of ``columns`` (the input's), float columns that hold integers
    (``integer_columns``; None: any whole-number column) as nullable integers."""
    import pandas as pd

    out = _integer_columns_as_integers(frame, integer_columns)
    if y is not None:
        labels = pd.Series(np.asarray(y), index=out.index)
        if label_dtype == "category":
            labels = labels.astype("category")
        out.insert(0, label_column or "label", labels)
        if columns is not None:
            out = out[[c for c in columns if c in out.columns]]
    return out


def _formula_safe_column(column):
    """One text or category column with :func:`~bayesgen.io.csv_writer.formula_safe`
    applied to each distinct value (a table has few; the column is rebuilt only when one
    changes)."""
    import pandas as pd

    values = column.cat.categories if isinstance(column.dtype, pd.CategoricalDtype) else None
    if values is None:
        values = pd.unique(column.dropna())
    changed = {v: formula_safe(v) for v in values if isinstance(v, str) and formula_safe(v) != v}
    if not changed:
        return column
    return column.astype(object).map(lambda v: changed.get(v, v) if isinstance(v, str) else v)


def _formula_safe_cells(frame):
    """``frame`` with :func:`~bayesgen.io.csv_writer.formula_safe` applied to its column
    names and to the text cells of its text and category columns."""
    import pandas as pd

    out = frame.rename(columns=lambda c: formula_safe(c) if isinstance(c, str) else c)
    for k in range(out.shape[1]):
        column = out.iloc[:, k]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
            continue
        out.isetitem(k, _formula_safe_column(column))
    return out


def csv_text(
    frame, *, delimiter: str = ",", decimal: str = ".", keep_formulas: bool = False
) -> str:
    """A table (as :func:`table_for_output` returns it) as CSV text, without the index.

    Parameters
    ----------
    frame : pandas.DataFrame
    delimiter : str, default=","
    decimal : str, default="."
        The decimal mark of the numbers (``","`` for a file that had it).
    keep_formulas : bool, default=False
        Write text cells and column names as they are; by default those a spreadsheet
        would run as a formula get a leading ``'``
        (:func:`~bayesgen.io.csv_writer.formula_safe`).

    Returns
    -------
    str
    """
    if not keep_formulas:
        frame = _formula_safe_cells(frame)
    return frame.to_csv(index=False, sep=delimiter, decimal=decimal, lineterminator="\n")


def write_table(
    frame,
    path,
    *,
    y=None,
    label_column=None,
    columns=None,
    integer_columns=None,
    label_dtype=None,
    format=None,
    delimiter=",",
    decimal=".",
    keep_formulas=False,
) -> Path:
    """Write a table atomically as CSV or Parquet, the label column where the input had it.

    Parameters
    ----------
    frame : pandas.DataFrame
        Feature columns (as :meth:`bayesgen.BayesClassifier.sample` returns them).
    path : str or os.PathLike
        ``.csv``/``.tsv``/``.parquet``/``.pq``; ``-`` is not accepted here (the command
        line writes CSV text to stdout itself).
    y : array-like, optional
        Labels, written as ``label_column``.
    label_column : str, optional
    columns : list of str, optional
        The output column order (the input's, label included); default: label first.
    integer_columns : list of str, optional
        Float columns that hold integers (empty cells made them float); default: every
        column whose values are all whole numbers.
    label_dtype : {"category"}, optional
        Write the labels as a pandas category (Parquet keeps it).
    format : {"csv", "parquet"}, optional
        Default: from the suffix.
    delimiter : str, default=","
        CSV: the field separator (a tab whatever is given for a ``.tsv`` name).
    decimal : str, default="."
        CSV: the decimal mark of the numbers.
    keep_formulas : bool, default=False
        CSV: write text cells as they are (see :func:`csv_text`).

    Raises
    ------
    DataError
        Another suffix, or a file larger than the free space of its disk.
    """

    path = Path(path)
    fmt = format or _format_of(path)
    if fmt not in ("csv", "parquet"):
        raise DataError(
            f"{str(path)!r}: a table is written as .csv, .tsv or .parquet; choose one of those"
        )
    out = table_for_output(
        frame,
        y=y,
        label_column=label_column,
        columns=columns,
        integer_columns=integer_columns,
        label_dtype=label_dtype,
    )
    check_output_size(path, out.shape[0], out.shape[1], format=fmt)
    if fmt == "parquet":
        return atomic_write(path, lambda handle: out.to_parquet(handle, index=False))
    sep = output_delimiter(path, delimiter)
    text = csv_text(out, delimiter=sep, decimal=decimal, keep_formulas=keep_formulas)
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))
