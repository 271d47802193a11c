"""Reading and writing Parquet files (``.parquet``, ``.pq``; needs pyarrow).

A file holds a label column and numeric feature columns; bayesgen's own files carry their
image shape, pixel scale and label column in the schema metadata (key ``bayesgen``).
Chunked reading goes by row batches, so memory stays bounded.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np

from bayesgen.base.errors import DataError, data_row
from bayesgen.io.checks import _check_finite, _resolve_image_shape
from bayesgen.io.data import LabelledData, _ReadOptions, _WriteOptions
from bayesgen.io.deps import _require_parquet
from bayesgen.io.labels import _labels_from_array, _select_label_column


def _parquet_file(path: Path):
    """The open ``pyarrow.parquet.ParquetFile``, or :class:`DataError` when it is not one."""
    pa, pq = _require_parquet()
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(
            f"{path} is not a readable Parquet file ({exc}); expected a Parquet file written by "
            "pyarrow, pandas or bayesgen. Re-export it."
        ) from None


def _parquet_meta(schema) -> dict:
    """bayesgen's metadata in a schema (``{}`` when absent or unreadable)."""
    meta = schema.metadata or {}
    raw = meta.get(b"bayesgen")
    if not raw:
        return {}
    try:
        out = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    return out if isinstance(out, dict) else {}


def _parquet_plan(pf, path: Path, label_column):
    """``(names, label_idx, meta)`` of a Parquet file whose features are all numeric."""
    pa, _ = _require_parquet()
    schema = pf.schema_arrow
    names = list(schema.names)
    if len(names) < 2:
        raise DataError(
            f"{path} has {len(names)} column(s); expected a label column and at least one "
            "feature column."
        )
    label_idx = _select_label_column(names, label_column, str(path))
    for i, field in enumerate(schema):
        if i == label_idx:
            continue
        t = field.type
        if not (
            pa.types.is_integer(t)
            or pa.types.is_floating(t)
            or pa.types.is_boolean(t)
            or pa.types.is_decimal(t)
        ):
            raise DataError(
                f"{path}: feature column {field.name!r} has type {t}; expected numbers. "
                "Convert it to numbers, drop it, or choose it as label_column=."
            )
    return names, label_idx, _parquet_meta(schema)


def _parquet_features(table, feature_names, where: str, row_offset: int) -> np.ndarray:
    """The feature columns of a table as a float64 (n, d) matrix (no nulls, all finite)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    XT = np.empty((len(feature_names), table.num_rows), dtype=np.float64)
    for j, nm in enumerate(feature_names):
        col = table.column(nm)
        if col.null_count:
            r = pc.index(pc.is_null(col), True).as_py()
            raise DataError(
                f"{where}: {data_row(row_offset + r)}, column {nm!r} is missing (null); "
                "expected a number in every cell. Impute or drop the missing values."
            )
        off = 0
        for chunk in col.chunks:
            m = len(chunk)
            if pa.types.is_decimal(chunk.type):
                chunk = chunk.cast(pa.float64())
            XT[j, off : off + m] = chunk.to_numpy(zero_copy_only=False)
            off += m
    X = np.ascontiguousarray(XT.T)
    _check_finite(X, where, row_offset, feature_names)
    return X


def _parquet_labels(table, name: str, where: str, row_offset: int) -> np.ndarray:
    """The label column of a table as int64 or unicode labels (no nulls)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lab = table.column(name)
    if lab.null_count:
        r = pc.index(pc.is_null(lab), True).as_py()
        raise DataError(
            f"{where}: {data_row(row_offset + r)} has no label (null in column "
            f"{name!r}); every sample needs a label."
        )
    if pa.types.is_dictionary(lab.type):
        lab = lab.cast(lab.type.value_type)
    if pa.types.is_string(lab.type) or pa.types.is_large_string(lab.type):
        return np.array(lab.to_pylist(), dtype=str)
    return _labels_from_array(lab.to_numpy(zero_copy_only=False), where)


def _parquet_table_to_data(table, names, label_idx, meta, path, image_shape, row_offset):
    """The :class:`LabelledData` of a table whose first row is row ``row_offset`` of the file.

    An image shape from the file's metadata that does not fit is dropped; one the caller
    passed is an error.
    """
    where = str(path)
    feature_names = [nm for i, nm in enumerate(names) if i != label_idx]
    X = _parquet_features(table, feature_names, where, row_offset)
    y = _parquet_labels(table, names[label_idx], where, row_offset)
    try:
        shape = _resolve_image_shape(image_shape, X.shape[1], meta.get("image_shape"), where)
    except DataError:
        if image_shape is not None:
            raise
        shape = None
    scale = meta.get("pixel_scale")
    return LabelledData(
        X=X,
        y=y,
        feature_names=feature_names,
        image_shape=shape,
        source_format="parquet",
        pixel_scale=float(scale) if isinstance(scale, (int, float)) else None,
        label_column=names[label_idx],
    )


def _open_parquet(path, label_column):
    """``(ParquetFile, names, label_idx, meta)``; :class:`DataError` for a file without rows."""
    pf = _parquet_file(path)
    names, label_idx, meta = _parquet_plan(pf, path, label_column)
    if pf.metadata.num_rows == 0:
        raise DataError(f"{path} holds no rows; expected at least one labelled sample.")
    return pf, names, label_idx, meta


def _read_parquet(path, *, label_column, image_shape):
    """The whole Parquet file as :class:`LabelledData`."""
    pa, _ = _require_parquet()
    pf, names, label_idx, meta = _open_parquet(path, label_column)
    try:
        table = pf.read()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the Parquet data ({exc}); re-export it.") from None
    return _parquet_table_to_data(table, names, label_idx, meta, path, image_shape, 0)


def _iter_parquet(path, chunk_rows, *, label_column, image_shape):
    """The Parquet file in chunks of exactly ``chunk_rows`` rows (the last may be shorter),
    cut from row batches without copies."""
    pa, _ = _require_parquet()
    pf, names, label_idx, meta = _open_parquet(path, label_column)
    schema = pf.schema_arrow
    pending, pending_rows, offset = [], 0, 0
    batches = pf.iter_batches(batch_size=chunk_rows)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            break
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(
                f"{path}: cannot read the Parquet data ({exc}); re-export it."
            ) from None
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows >= chunk_rows:
            table = pa.Table.from_batches(pending, schema=schema)
            head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
            yield _parquet_table_to_data(head, names, label_idx, meta, path, image_shape, offset)
            offset += chunk_rows
            pending, pending_rows = rest.to_batches(), rest.num_rows
    if pending_rows:
        table = pa.Table.from_batches(pending, schema=schema)
        yield _parquet_table_to_data(table, names, label_idx, meta, path, image_shape, offset)


def read_parquet_file(path, options: _ReadOptions) -> LabelledData:
    """Read a whole Parquet file (uses ``label_column`` and ``image_shape`` of ``options``)."""
    return _read_parquet(path, label_column=options.label_column, image_shape=options.image_shape)


def iter_parquet_file(path, chunk_rows: int, options: _ReadOptions):
    """Read a Parquet file in chunks of ``chunk_rows`` rows (see :func:`read_parquet_file`)."""
    yield from _iter_parquet(
        path, chunk_rows, label_column=options.label_column, image_shape=options.image_shape
    )


class _ParquetSink:
    """Rows appended to a temporary Parquet file, one row group per chunk.

    The schema (label type, float64 features, bayesgen's metadata) is fixed by the first
    chunk.
    """

    def __init__(self, tmp: Path, final: Path, opts: _WriteOptions):
        self.pa, self.pq = _require_parquet()
        self.tmp, self.final, self.opts = tmp, final, opts
        self.writer = None
        self.schema = None

    def _open(self, y, names) -> None:
        """Fix the schema from the first chunk and open the file."""
        pa = self.pa
        meta = {"label_column": self.opts.label_column}
        if self.opts.image_shape is not None:
            meta["image_shape"] = list(self.opts.image_shape)
        if self.opts.pixel_scale is not None:
            meta["pixel_scale"] = self.opts.pixel_scale
        label_type = pa.string() if y.dtype.kind == "U" else pa.int64()
        fields = [pa.field(self.opts.label_column, label_type)]
        fields += [pa.field(nm, pa.float64()) for nm in names]
        self.schema = pa.schema(fields, metadata={b"bayesgen": json.dumps(meta).encode()})
        self.writer = self.pq.ParquetWriter(str(self.tmp), self.schema)

    def write(self, X, y, names):
        """Append rows."""
        pa = self.pa
        if self.writer is None:
            self._open(y, names)
        XT = np.ascontiguousarray(X.T)
        label = pa.array(y.tolist(), type=pa.string()) if y.dtype.kind == "U" else pa.array(y)
        cols = [label] + [pa.array(XT[j]) for j in range(XT.shape[0])]
        self.writer.write_table(pa.Table.from_arrays(cols, schema=self.schema))

    def finish(self):
        """Close the file (the caller moves it into place)."""
        self.writer.close()

    def discard(self):
        """Close the file after a failure (the caller removes it)."""
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
