"""Error types raised by bayesgen.

Every error the library raises on purpose derives from :class:`BayesgenError`, so a caller
(and the command line) can tell a documented failure from a bug.  Messages follow one rule:
say what was expected, what was found and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "BayesgenError",
    "ComponentCollapseWarning",
    "ConditionError",
    "DataError",
    "FitError",
    "ModelFileError",
    "NotFittedError",
    "RowDataError",
    "data_row",
    "n_rows",
]


def data_row(position: int) -> str:
    """How every message names a row of data: ``data row N``, counting from 1.

    ``position`` is the row's 0-based position in the data as a whole (a chunk adds its
    first row's position).  Data row 1 is the first row after a file's header, so in a CSV
    file with one header line data row ``N`` is line ``N + 1``; in a DataFrame or array it
    is ``iloc[N - 1]``.  One convention everywhere, so that a number in a message can be
    looked up without knowing which reader or chunk raised it.
    """
    return f"data row {int(position) + 1}"


def n_rows(n: int) -> str:
    """``"1 row"`` or ``"3 rows"`` (``"2.5 rows"`` for a weighted count): the one wording of
    a count of rows in messages."""
    whole = float(n) == int(n)
    return "1 row" if n == 1 else f"{int(n)} rows" if whole else f"{float(n):g} rows"


class BayesgenError(Exception):
    """Base class of every error bayesgen raises on purpose."""


class DataError(BayesgenError, ValueError):
    """Input data is missing, malformed or inconsistent with the model."""


class RowDataError(DataError):
    """A :class:`DataError` about one row, named in the message by :func:`data_row`.

    The message is ``before + data_row(position) + after``.  A reader that hands the data
    on in chunks catches it and raises :meth:`shifted` by the chunk's first position, so
    the message names the row's place in the whole data, not in its chunk.
    """

    def __init__(self, before: str, position: int, after: str):
        self.before, self.position, self.after = before, int(position), after
        super().__init__(f"{before}{data_row(position)}{after}")

    def shifted(self, offset: int) -> RowDataError:
        """The same error for a chunk whose first row is at ``offset`` in the data."""
        return RowDataError(self.before, self.position + int(offset), self.after)

    def at_rows(self, rows) -> RowDataError:
        """The same error for a chunk whose row ``i`` is at ``rows[i]`` in the data (rows
        with an empty label left out, so the positions are not contiguous)."""
        return RowDataError(self.before, int(rows[self.position]), self.after)

    def within(self, part: str) -> RowDataError:
        """The same error for a part whose place in the data is not known where it is
        read (a Dask partition): the row is counted from the part's first row."""
        return RowDataError(self.before, self.position, f"{self.after} (counted from {part})")

    def __reduce__(self):
        # the default pickles ``args`` (the message alone), which __init__ cannot take:
        # an error raised in a worker process must come back whole
        return RowDataError, (self.before, self.position, self.after)


class ConditionError(DataError):
    """A condition of ``sample(given=...)`` the model cannot read: an unknown column or
    category, a value that is not a date or a number, a malformed or empty range.  (A
    condition the model reads but gives zero probability is a plain :class:`DataError`.)
    """


class FitError(BayesgenError, ValueError):
    """A model could not be fitted; the message names the parameter to change."""


class ModelFileError(BayesgenError, ValueError):
    """A model file is truncated, tampered with, malformed, declares more than the load
    limits allow, or is from an unsupported format version."""


try:  # keep scikit-learn's type so sklearn's own checks recognise it
    from sklearn.exceptions import NotFittedError as _SkNotFitted
except ImportError:  # pragma: no cover - scikit-learn is a hard dependency
    _SkNotFitted = ValueError


class NotFittedError(BayesgenError, _SkNotFitted):
    """A method that needs a fitted model was called before ``fit``."""


try:
    from sklearn.exceptions import ConvergenceWarning as _SkConvergence
except ImportError:  # pragma: no cover - scikit-learn is a hard dependency
    _SkConvergence = UserWarning


class ComponentCollapseWarning(_SkConvergence):
    """Mixture components kept collapsing onto too few rows and were dropped (each after
    a few re-seeds): the fit has fewer components than asked for, more than the rows
    support.  A :class:`sklearn.exceptions.ConvergenceWarning`, so filters on that apply."""
