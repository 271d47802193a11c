"""Output sizes that cannot fit, refused before any work.

Some outputs are built whole in memory (a PNG grid, the rows of a folder of PNG files, a
table written in one piece), one writes a file per row (an image folder) and the others are
streamed to disk (CSV, NPZ, Parquet).  :func:`check_output_size` estimates what a request
needs and raises :class:`~bayesgen.base.errors.DataError`, naming the number asked and the
limit, when it cannot fit: more images than a grid or a folder takes, more bytes than the
stated in-memory limit or the memory available, an estimated file larger than the free
space of its disk.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bayesgen.base.errors import DataError
from bayesgen.io.registry import write_format

__all__ = [
    "MAX_FOLDER_IMAGES",
    "MAX_GRID_IMAGES",
    "MAX_WHOLE_BYTES",
    "available_memory",
    "check_grid_images",
    "check_in_memory",
    "check_output_size",
]

#: Images in one PNG grid: a bigger grid is too large to look at.
MAX_GRID_IMAGES = 2_000
#: PNG files in one image folder (one file per row); more rows belong in CSV, NPZ or Parquet.
MAX_FOLDER_IMAGES = 100_000
#: Bytes of rows held in memory for an output written whole (32 GiB), whatever the memory.
MAX_WHOLE_BYTES = 32 * 2**30
#: Estimated bytes per value of a Kaggle CSV (a digit and a comma at least).
_KAGGLE_VALUE_BYTES = 2
#: gzip shrinks the text of generated numbers about this much.
_GZIP_RATIO = 4


def _size_text(n_bytes: float) -> str:
    """``7.28 TiB``, ``512 B``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _cgroup_memory_left() -> int | None:
    """What the process's cgroup (v2) may still use, or None without a limit."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((base / "memory.current").read_text()))
    except (OSError, ValueError):
        return None


def available_memory() -> int | None:
    """Bytes of memory available to new allocations, or None when the system does not say
    (``MemAvailable`` of ``/proc/meminfo``, capped by the cgroup's limit)."""
    found = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            found = None
    left = _cgroup_memory_left()
    if left is not None:
        found = left if found is None else min(found, left)
    return found


#: What to do about an output too big for memory, unless the caller knows better.
_FEWER_ROWS = "ask for fewer rows"
_STREAM_INSTEAD = (
    "ask for fewer rows, or write them to a .csv, .npz or .parquet file, which is written in chunks"
)


def check_in_memory(
    n_rows: int, n_features: int, *, itemsize: int = 8, where: str, fix: str = _FEWER_ROWS
) -> None:
    """Refuse rows held whole in memory when ``n_rows x n_features x itemsize`` bytes pass
    :data:`MAX_WHOLE_BYTES` or the memory available.

    Parameters
    ----------
    n_rows, n_features : int
    itemsize : int, default=8
    where : str
        The output, for the message.
    fix : str, default="ask for fewer rows"
        How to get under the limit, for the message.

    Raises
    ------
    DataError
        Naming the rows asked, the estimate and the limit.
    """
    need = int(n_rows) * int(n_features) * int(itemsize)
    available = available_memory()
    limit, what = MAX_WHOLE_BYTES, "the limit for outputs written whole"
    if available is not None and available < limit:
        limit, what = available, "the memory available"
    if need > limit:
        raise DataError(
            f"{where}: {n_rows:,} rows x {n_features:,} values need about {_size_text(need)} "
            f"in memory, more than {what} ({_size_text(limit)}); {fix}."
        )


def check_grid_images(n_images: int, where: str) -> None:
    """Refuse a PNG grid of more than :data:`MAX_GRID_IMAGES` images.

    Raises
    ------
    DataError
        Naming the number asked and the limit.
    """
    if n_images > MAX_GRID_IMAGES:
        raise DataError(
            f"{where}: a PNG grid shows at most {MAX_GRID_IMAGES:,} images; {n_images:,} were "
            "asked. Ask for fewer, or write the samples to a folder or a data file."
        )


def _check_disk(path: Path, need: int, n_rows: int, where: str) -> None:
    """Refuse a streamed file whose estimated size passes the free space of its disk."""
    try:
        free = shutil.disk_usage(path.absolute().parent).free
    except OSError:
        return  # the writer reports a missing folder in its own words
    if need > free:
        raise DataError(
            f"{where}: {n_rows:,} rows need at least about {_size_text(need)} on disk, but "
            f"only {_size_text(free)} is free there; ask for fewer rows or write to a disk "
            "with more space."
        )


def _stream_bytes(fmt: str, path: Path, n_rows: int, n_features: int, itemsize: int) -> int:
    """A low estimate of a streamed file's size: ``itemsize`` bytes per value (the text of a
    generated number is longer), two for Kaggle pixels, a quarter of that when gzipped."""
    per_value = _KAGGLE_VALUE_BYTES if fmt == "kaggle-csv" else itemsize
    need = n_rows * (n_features * per_value + 1)
    if path.name.lower().endswith(".gz"):
        need //= _GZIP_RATIO
    return need


def check_output_size(
    path,
    n_rows: int,
    n_features: int,
    *,
    itemsize: int = 8,
    format: str | None = None,
    like=None,
    in_memory: bool = False,
) -> None:
    """Refuse, before any work, an output of ``n_rows`` rows that cannot fit its format.

    * a PNG grid: at most :data:`MAX_GRID_IMAGES` images;
    * an image folder: at most :data:`MAX_FOLDER_IMAGES` files, and the rows in memory;
    * CSV, NPZ, Parquet: the estimated file within the free space of its disk;
    * ``in_memory``: the rows are also held whole (a table written in one piece), so
      ``n_rows x n_features x itemsize`` bytes must stay within :data:`MAX_WHOLE_BYTES`
      and the memory available.

    Parameters
    ----------
    path : str or os.PathLike
        The output, whose name (or ``format``, ``like``) says its format as for
        :func:`~bayesgen.io.write_labelled`.
    n_rows, n_features : int
        The size of what will be written.
    itemsize : int, default=8
        Bytes per value of the rows (4 for float32).
    format, like
        As for :func:`~bayesgen.io.write_labelled`.
    in_memory : bool, default=False

    Raises
    ------
    DataError
        Saying the number asked, the estimate and the limit.
    """
    path = Path(os.fspath(path))
    where = str(path)
    fmt = write_format(path, format, like).name
    if fmt == "png":
        check_grid_images(n_rows, where)
    if fmt == "image-folder":
        if n_rows > MAX_FOLDER_IMAGES:
            raise DataError(
                f"{where}: an image folder holds at most {MAX_FOLDER_IMAGES:,} PNG files (one "
                f"per row); {n_rows:,} were asked. Ask for fewer, or write them to a .csv, "
                ".npz or .parquet file."
            )
        check_in_memory(n_rows, n_features, itemsize=itemsize, where=where, fix=_STREAM_INSTEAD)
    elif in_memory:
        check_in_memory(n_rows, n_features, itemsize=itemsize, where=where)
    if fmt not in ("png", "image-folder"):
        _check_disk(path, _stream_bytes(fmt, path, n_rows, n_features, itemsize), n_rows, where)
