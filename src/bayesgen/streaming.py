"""Data bigger than memory: fit from a file in chunks, generate to a file in chunks.

Fitting
-------
:func:`fit_file` reads a CSV, Parquet, NPZ or IDX file chunk by chunk
(:func:`bayesgen.io.iter_chunks`) and reduces every chunk to per-class sufficient statistics
(count, mean, centred scatter; see :mod:`bayesgen.kernels.stats`), merged exactly as they come.
The class factors are computed once, at the end.  Peak memory is set by ``chunk_rows``
(plus one d x d scatter per class), not by the number of rows, and the model equals the
in-memory ``fit`` to rounding (1e-10 relative).  Labels need not be known up front: classes
are collected as they appear.

Generating
----------
:meth:`bayesgen.BayesClassifier.iter_samples` yields labelled rows chunk by chunk;
:func:`write_samples` streams them to a CSV, NPZ or Parquet file with bounded memory.  Rows
are made in fixed generation blocks, each with its own child of a
:class:`numpy.random.SeedSequence`, so the same seed gives the same rows whatever the chunk
size.  :func:`sample_dask` builds the same blocks as a dask array, one task per block, so the
result does not depend on the cluster either.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayesgen.base.errors import DataError, RowDataError, data_row
from bayesgen.base.threads import blas_thread_limit, usable_cores
from bayesgen.base.validation import (
    check_finite,
    check_positive_int,
    check_sample_dtype,
    format_label,
)
from bayesgen.classifier.estimator import BayesClassifier
from bayesgen.kernels.class_stats import _class_rows
from bayesgen.kernels.stats import StatsAccumulator
from bayesgen.kernels.streams import default_block_size, seed_sequence

__all__ = ["Progress", "default_block_size", "fit_file", "sample_dask", "write_samples"]


@dataclass(frozen=True)
class Progress:
    """Where a streaming job stands; passed to the ``progress`` callback after each chunk.

    Attributes
    ----------
    rows : int
        Rows processed so far.
    chunks : int
        Chunks processed so far.
    total_rows : int or None
        Rows the job will process: exact for generation, Parquet, NPZ and IDX input,
        estimated from the file size for uncompressed CSV, None when unknown.
    total_exact : bool
        Whether ``total_rows`` is exact.
    elapsed : float
        Seconds since the job started.
    done : bool
        True on the final call, made once after the last chunk.
    like : LabelledData or None
        For :func:`fit_file`: the source's metadata (feature names, image shape, pixel
        scale, format) as a zero-row :class:`~bayesgen.io.LabelledData`, to write generated
        rows in the same layout.
    """

    rows: int
    chunks: int
    total_rows: int | None
    total_exact: bool
    elapsed: float
    done: bool = False
    like: object = None

    @property
    def fraction(self) -> float | None:
        """Share done in [0, 1] (1 only when done), or None when the total is unknown."""
        if self.done:
            return 1.0
        if not self.total_rows:
            return None
        return min(self.rows / self.total_rows, 0.999)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0


# ------------------------------------------------------------------------------ fitting
def fit_file(
    model: BayesClassifier,
    path,
    *,
    chunk_rows: int = 10_000,
    label_column=None,
    classes=None,
    progress: Callable[[Progress], None] | None = None,
    prefetch: bool = True,
    **read_options,
) -> BayesClassifier:
    """Fit ``model`` on a file read in chunks; memory is bounded by ``chunk_rows``.

    Equivalent to ``model.fit(*bayesgen.io.read_labelled(path))`` (to 1e-10 relative) for
    Gaussian class densities ("gaussian", "diag", "tied"), without holding the data.

    A *table* (a CSV or Parquet file with text, boolean or date columns or empty cells,
    see :func:`bayesgen.io.is_table_file`; or any CSV/Parquet file when the model has
    ``column_types`` or a class density fitted from column summaries, such as "copula")
    is fitted in two passes over its chunks, as ``model.fit(table.X, table.y)`` of
    :func:`bayesgen.io.read_table` would fit it in memory: pass 1 gathers per-class
    column summaries and the schema, pass 2 the copula's dependence (see
    :mod:`bayesgen.classifier.table_stream` for what is exact and what is close).  Column
    kinds are decided on the first chunk.

    Parameters
    ----------
    model : BayesClassifier
        Unfitted or fitted; its parameters are used and its fitted state replaced.
    path : str or os.PathLike
        A CSV/TSV (optionally gzip), Parquet, NPZ or IDX file (see
        :func:`bayesgen.io.iter_chunks`).
    chunk_rows : int, default=10000
        Rows per chunk.  Memory is about ``chunk_rows * n_features * 8`` bytes a few times
        over, plus one ``n_features**2`` scatter per class (two for a class whose mean drifts
        far within the file, see :class:`~bayesgen.kernels.stats.StatsAccumulator`).
    label_column : str, int or None
        Label column of a CSV/Parquet file (default: ``label``, else the first column).
    classes : array-like, optional
        Every label expected.  Labels outside it raise :class:`DataError`; listed classes
        absent from the file are kept with no rows (as ``partial_fit(classes=...)`` does).
        By default the classes are the labels found.
    progress : callable, optional
        Called with a :class:`Progress` after every chunk and once more at the end
        (``done=True``); the command line draws its progress bar from it.  For a table
        both passes count: ``rows`` ends at twice the rows of the file, and ``like`` is
        a zero-row :class:`~bayesgen.io.TableData` (label column, columns, layout).
    prefetch : bool, default=True
        Read the next chunk in a background thread while the current one is reduced
        (about one more chunk of memory; the result is the same either way).
    **read_options
        Passed to :func:`bayesgen.io.iter_chunks` (``image_shape``, ``format``,
        ``labels_path``, ``delimiter``, ``kaggle``, ``label_dtype``); for a table only
        ``delimiter`` and ``drop_missing_labels`` (see :func:`bayesgen.io.read_table`).

    Returns
    -------
    BayesClassifier
        ``model``, fitted.

    Raises
    ------
    DataError
        Unreadable input, non-finite values (the message gives the row in the file), labels
        outside ``classes``, or fewer than two classes.
    FitError
        A density that cannot be fitted from sufficient statistics, or a class that cannot
        be fitted (the message names the class and the parameter to change).
    """
    from bayesgen import io

    if _is_table_source(model, path, read_options, label_column):
        return _fit_table_file(
            model,
            path,
            chunk_rows=chunk_rows,
            label_column=label_column,
            classes=classes,
            progress=progress,
            prefetch=prefetch,
            **read_options,
        )
    kind = model.require_statistics(
        "cannot be fitted in chunks", "read the file with bayesgen.io.read_labelled and call fit"
    )
    known = None if classes is None else _as_label_set(classes)
    total, exact = _estimate_rows(path, read_options.get("format"))
    started = time.perf_counter()
    stats: dict = {}
    rows = chunks = 0
    like = None
    n_features = None
    # Kaggle pixels come as read (uint8): their statistics are rescaled by 1/255 at the end
    chunks_iter = io.iter_chunks(
        path, chunk_rows, label_column=label_column, _raw_pixels=True, **read_options
    )
    divisors = set()
    # parse the next chunk (pyarrow / numpy, mostly without the GIL) while this one is
    # reduced (BLAS, held to its share of the cores): one chunk in flight, so memory stays
    # ~2 chunks
    limit = blas_thread_limit(max(1, usable_cores() // 2)) if prefetch else nullcontext()
    with limit:
        for chunk, divisor in _prefetch(chunks_iter) if prefetch else chunks_iter:
            divisors.add(divisor)
            X = chunk.X
            if X.dtype != np.uint8:
                X = np.ascontiguousarray(X, dtype=np.float64)
            y = np.asarray(chunk.y)
            if like is None:
                like = _metadata_of(chunk)
                n_features = X.shape[1]
            _add_chunk(stats, X, y, kind, rows, known)
            rows += X.shape[0]
            chunks += 1
            if progress is not None:
                progress(
                    Progress(rows, chunks, total, exact, time.perf_counter() - started, like=like)
                )
    if not stats:
        raise DataError(f"{os.fspath(path)!r} holds no rows; fit needs labelled rows")
    labels = sorted(stats) if known is None else sorted(known)
    class_array = np.array(labels)
    results = {label: acc.result() for label, acc in stats.items()}
    (divisor,) = divisors  # decided on the first chunk, enforced on the others
    if divisor is not None:
        results = {label: r.rescaled(1.0 / divisor) for label, r in results.items()}
    model.fit_from_statistics(
        class_array, [results.get(label) for label in labels], n_features=n_features
    )
    if hasattr(model, "feature_names_in_"):
        del model.feature_names_in_
    if progress is not None:
        progress(
            Progress(rows, chunks, rows, True, time.perf_counter() - started, done=True, like=like)
        )
    return model


_TABLE_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".parquet", ".pq")
_TABLE_OPTIONS = ("delimiter", "drop_missing_labels")


def _is_table_source(model: BayesClassifier, path, read_options: dict, label_column) -> bool:
    """Whether ``path`` is fitted as a table (see :func:`fit_file`)."""
    name = os.fspath(path).lower()
    if not name.endswith(_TABLE_SUFFIXES) or read_options.get("format") not in (None, "csv"):
        return False
    if set(read_options) - {"delimiter", "drop_missing_labels", "format"}:
        return False  # image shapes, Kaggle pixels ...: a file of numbers
    if read_options.get("drop_missing_labels") or model.column_types is not None:
        return True
    if model.statistics_kind() is None:
        summary_kind = getattr(model.make_class_density(), "summary_kind", lambda: None)
        if summary_kind() is not None:  # e.g. "copula": a table even if all numbers
            return True
    elif model.density is not None:
        return False  # a Gaussian family: numbers only, as before
    return _features_are_a_table(path, label_column, read_options.get("delimiter"))


def _features_are_a_table(path, label_column, delimiter) -> bool:
    """Whether the first rows' feature columns (the label column left out) hold text,
    booleans, dates or empty cells: what ``fit`` of those rows would treat as a table."""
    from bayesgen import io
    from bayesgen.io.table_chunks import iter_table_chunks
    from bayesgen.tables import is_table

    if not io.is_table_file(path, delimiter=delimiter):
        return False
    chunks = iter_table_chunks(
        path, 2000, label_column=label_column, delimiter=delimiter, drop_missing_labels=True
    )
    try:
        head = next(chunks, None)
    except DataError:
        return False  # the numeric reader says what is wrong, as before
    finally:
        chunks.close()
    return head is not None and is_table(head.X)


def _fit_table_file(
    model, path, *, chunk_rows, label_column, classes, progress, prefetch, **options
) -> BayesClassifier:
    """:func:`fit_file` of a table: two passes over its chunks."""
    from bayesgen.classifier.table_files import FilePasses

    options.pop("format", None)
    total, exact = _estimate_rows(path)
    total = None if total is None else 2 * total
    started = time.perf_counter()
    passes = None

    def report(rows, chunks):
        elapsed = time.perf_counter() - started
        progress(Progress(rows, chunks, total, exact, elapsed, like=passes.like))

    passes = FilePasses(
        path,
        check_positive_int(chunk_rows, "chunk_rows", 10_000),
        label_column=label_column,
        classes=None if classes is None else _as_label_set(classes),
        wrap=_prefetch if prefetch else None,
        progress=None if progress is None else report,
        **{key: options[key] for key in _TABLE_OPTIONS if key in options},
    )
    model.fit_from_passes(passes)
    if classes is not None:
        absent = sorted(_as_label_set(classes) - {_plain(c) for c in model.classes_}, key=str)
        if absent:
            raise DataError(
                f"classes=... lists {', '.join(format_label(c) for c in absent)}, which "
                f"{os.fspath(path)!r} has no rows of; a table class needs rows"
            )
    if progress is not None:
        rows, elapsed = passes.rows_read, time.perf_counter() - started
        done = Progress(rows, passes.chunks_read, rows, True, elapsed, done=True, like=passes.like)
        progress(done)
    return model


_DONE = object()


def _prefetch(iterator, depth: int = 1):
    """Iterate ``iterator`` in a background thread, ``depth`` items ahead.

    Exceptions raised by the iterator are re-raised here, in the consumer; when the
    consumer stops early, the thread is told to stop and the iterator closed there.
    """
    import queue
    import threading

    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in iterator:
                if not put((item, None)):
                    break
            else:
                put((_DONE, None))
        except BaseException as exc:  # handed to the consumer
            put((_DONE, exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="bayesgen-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = items.get()
            if item is _DONE:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                items.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()


def _as_label_set(classes) -> set:
    values = np.unique(np.asarray(classes))
    if values.shape[0] < 2:
        raise DataError(f"classes must list at least two labels; got {list(values)!r}")
    return {_plain(v) for v in values}


def _plain(label):
    """A label as a hashable Python value (``np.int64(7)`` -> ``7``)."""
    return label.item() if isinstance(label, np.generic) else label


def _add_chunk(stats: dict, X: np.ndarray, y: np.ndarray, kind: str, offset: int, known) -> None:
    """Add one chunk's rows to the per-class accumulators in ``stats`` (label -> acc.).

    Each class keeps a :class:`~bayesgen.kernels.stats.StatsAccumulator`: the chunk's rows of that
    class are gathered, centred and reduced with one BLAS update added to the running
    moments, with no ``d x d`` merge per chunk.
    """
    if X.shape[0] == 0:
        return
    labels, inverse = np.unique(y, return_inverse=True)
    inverse = inverse.reshape(-1)
    if known is not None:
        unknown = [_plain(v) for v in labels if _plain(v) not in known]
        if unknown:
            shown = ", ".join(format_label(u) for u in unknown[:5])
            strange = [i for i, v in enumerate(labels) if _plain(v) not in known]
            first = int(np.flatnonzero(np.isin(inverse, strange))[0])
            raise DataError(
                f"label(s) {shown} (the first at {data_row(offset + first)}) are not in "
                "classes=...; known labels "
                f"are {', '.join(format_label(c) for c in sorted(known))}"
            )
    finite = True
    for label, rows in zip(labels, _class_rows(inverse, labels.shape[0]), strict=True):
        key = _plain(label)
        if key not in stats:
            stats[key] = StatsAccumulator(
                X.shape[1], diagonal=kind == "diagonal", fourth=kind == "fourth"
            )
        finite &= stats[key].add(X, rows=None if rows.shape[0] == X.shape[0] else rows)
    if not finite:
        try:
            check_finite(X)
        except RowDataError as exc:
            raise exc.shifted(offset) from None


def _metadata_of(chunk):
    """The chunk's metadata as a zero-row LabelledData (a ``like=`` for writers)."""
    from bayesgen.io import LabelledData

    return LabelledData(
        np.empty((0, chunk.X.shape[1])),
        np.asarray(chunk.y)[:0],
        feature_names=chunk.feature_names,
        image_shape=chunk.image_shape,
        source_format=chunk.source_format,
        pixel_scale=chunk.pixel_scale,
        label_column=getattr(chunk, "label_column", None),
    )


def _estimate_rows(path, format=None) -> tuple[int | None, bool]:
    """Rows in a file without reading it: exact for Parquet, estimated for plain CSV."""
    try:
        path = Path(os.fspath(path))
        name = path.name.lower()
        if format in (None, "parquet") and name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows), True
        if format in (None, "csv", "kaggle-csv") and name.endswith((".csv", ".tsv")):
            size = path.stat().st_size
            with open(path, "rb") as handle:
                head = handle.read(1 << 20)
            lines = head.count(b"\n")
            if lines < 2:
                return None, False
            if len(head) == size:
                return lines - 1 + (not head.endswith(b"\n")), True
            header = head.index(b"\n") + 1
            per_row = (len(head) - header) / (lines - 1)
            return max(1, round((size - header) / per_row)), False
    except Exception:  # an estimate only: never fail the fit because of it
        return None, False
    return None, False


# ------------------------------------------------------------------------------ generating
def write_samples(
    model: BayesClassifier,
    n_samples,
    path,
    *,
    chunk_size: int | None = None,
    block_size: int | None = None,
    random_state=None,
    like=None,
    y=None,
    prior="learned",
    dtype=np.float64,
    progress: Callable[[Progress], None] | None = None,
    **writer_options,
) -> int:
    """Generate labelled rows and stream them to a CSV, NPZ or Parquet file.

    Memory is bounded by one generation block plus one chunk, whatever ``n_samples``.
    The file is written atomically (it appears only once complete).  The same
    ``random_state`` gives the same rows whatever ``chunk_size``.

    Parameters
    ----------
    model : BayesClassifier
        A fitted model.
    n_samples : int
        Rows to write (ignored when ``y`` is an array: one row per label).
    path : str or os.PathLike
        ``.csv``/``.tsv`` (optionally ``.gz``), ``.npz`` or ``.parquet``.
    chunk_size, block_size, random_state, y, prior, dtype
        As for :meth:`~bayesgen.BayesClassifier.iter_samples`.
    like : LabelledData or str, optional
        Write in the layout of this source (e.g. Kaggle CSV with 0-255 pixels); see
        :func:`bayesgen.io.open_chunked_writer`.
    progress : callable, optional
        Called with a :class:`Progress` after every chunk and once at the end.
    **writer_options
        Passed to :func:`bayesgen.io.open_chunked_writer` (``image_shape``,
        ``pixel_scale``, ``label_column``, ``feature_names``, ``format``,
        ``keep_formulas``, ``delimiter``).

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    DataError
        Before anything is drawn, when the estimated file is larger than the free space of
        its disk (:func:`bayesgen.io.limits.check_output_size`).
    """
    from bayesgen.io import open_chunked_writer
    from bayesgen.io.limits import check_output_size

    if y is not None and np.ndim(y) > 0:
        n_samples = None
    chunks = model.iter_samples(
        n_samples,
        chunk_size=chunk_size,
        block_size=block_size,
        y=y,
        prior=prior,
        random_state=random_state,
        dtype=dtype,
    )
    total = None if n_samples is None else int(n_samples)
    if total is None:
        total = int(np.shape(y)[0])
    check_output_size(
        path,
        total,
        int(model.n_features_in_),
        itemsize=np.dtype(dtype).itemsize,
        format=writer_options.get("format"),
        like=like,
    )
    started = time.perf_counter()
    rows = count = 0
    with open_chunked_writer(path, like=like, **writer_options) as writer:
        for X, labels in chunks:
            writer.write(X, labels)
            rows += X.shape[0]
            count += 1
            if progress is not None:
                progress(Progress(rows, count, total, True, time.perf_counter() - started))
        if rows == 0:  # n = 0: an empty file of the right width, not no file
            writer.write(np.empty((0, model.n_features_in_), dtype=dtype), model.classes_[:0])
    if progress is not None:
        progress(Progress(rows, count, total, True, time.perf_counter() - started, done=True))
    return rows


def sample_dask(
    model: BayesClassifier,
    n_samples=None,
    *,
    chunks: int | None = None,
    y=None,
    prior="learned",
    random_state=None,
    dtype=np.float64,
):
    """Labelled samples as dask arrays, one generation block per dask chunk.

    Block ``b`` draws from child ``b`` of a :class:`numpy.random.SeedSequence` built from
    ``random_state``, whichever worker computes it, so the values do not depend on the
    cluster layout, and equal ``model.iter_samples(..., block_size=chunks)``.

    Parameters
    ----------
    model : BayesClassifier
        A fitted model.
    n_samples : int, optional
    chunks : int, optional
        Rows per dask chunk (= generation block); defaults to
        :func:`default_block_size` of the number of features.
    y, prior, random_state, dtype
        As for :meth:`~bayesgen.BayesClassifier.iter_samples`.  ``random_state=None``
        fixes fresh entropy when the graph is built, so computing the arrays twice gives
        the same rows.

    Returns
    -------
    X : dask.array.Array of shape (n_samples, n_features)
    y : dask.array.Array of shape (n_samples,)
    """
    dtype = check_sample_dtype(dtype)
    plan = model.plan_samples(n_samples, y=y, prior=prior)
    block = check_positive_int(chunks, "chunks", default_block_size(model.n_features_in_))
    return _dask_blocks(model, plan, block, seed_sequence(random_state), dtype)


def _dask_blocks(model: BayesClassifier, plan, block: int, root, dtype):
    """Dask arrays ``(X, y)`` with generation block ``b`` as chunk ``b``."""
    import dask
    import dask.array as da

    d = model.n_features_in_
    model_ref = dask.delayed(model, pure=True)
    plan_ref = dask.delayed(plan, pure=True)
    xs, ys = [], []
    for b in range(plan.n_blocks(block)):
        rows = min(block, plan.n_rows - b * block)
        part = dask.delayed(_sample_block, pure=True, nout=2)(
            model_ref, plan_ref, b, block, root, dtype
        )
        xs.append(da.from_delayed(part[0], shape=(rows, d), dtype=dtype))
        ys.append(da.from_delayed(part[1], shape=(rows,), dtype=model.classes_.dtype))
    if not xs:
        return (
            da.zeros((0, d), dtype=dtype, chunks=(block, d)),
            da.from_array(model.classes_[:0], chunks=block),
        )
    return da.concatenate(xs, axis=0), da.concatenate(ys, axis=0)


def _sample_block(model, plan, b, block, root, dtype):
    return model.sample_block(plan, b, block, root, dtype)
