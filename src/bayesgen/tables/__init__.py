"""Real tables: detect each column's kind once and turn tables into numbers and back.

:class:`TableSchema` is learned from the training table and stored with the model; it
encodes text categories, integers, dates and missing cells into a float64 matrix for the
densities and decodes generated rows back into a table with the training dtypes.  See
:mod:`bayesgen.tables.schema` for the detection rules.
"""

from __future__ import annotations

import pandas as pd

from bayesgen.tables.schema import TableSchema
from bayesgen.tables.spec import KINDS, ColumnSpec

__all__ = ["KINDS", "ColumnSpec", "TableSchema", "has_table_dtypes", "is_table"]


def is_table(X) -> bool:
    """Whether ``X`` needs the table path: a DataFrame with a non-numeric column or a gap.

    Non-numeric means object, string, category, bool, datetime (or any other dtype that
    is not a real number: those reach the table path and get a clear error there).
    NumPy arrays and everything else give False.
    """
    if not isinstance(X, pd.DataFrame):
        return False
    return has_table_dtypes(X.dtypes) or bool(X.isna().to_numpy().any())


def has_table_dtypes(dtypes) -> bool:
    """Whether any of ``dtypes`` (e.g. a DataFrame's ``dtypes``) is not a real number."""
    for dtype in dtypes:
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if not numeric or pd.api.types.is_complex_dtype(dtype):
            return True
    return False
