"""Helpers shared by the benchmark scripts: data loading, timing, machine description.

Nothing here is part of the library; the scripts import it as ``from _common import ...``
(run them from the repository root as ``python benchmarks/<script>.py``).
"""

from __future__ import annotations

import gzip
import os
import platform
import struct
import sys
import time
from pathlib import Path

import numpy as np

__all__ = [
    "describe_machine",
    "format_table",
    "load_mnist_arrays",
    "read_idx",
    "shared_data_dir",
    "time_pair",
    "timed",
]


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$BAYESGEN_SHARED_DATA``."""
    env = os.environ.get("BAYESGEN_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def read_idx(path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into an array of its stored type.

    The format: two zero bytes, a type code (0x08 = uint8, 0x09 = int8, 0x0B = int16,
    0x0C = int32, 0x0D = float32, 0x0E = float64), the number of dimensions, then one
    big-endian uint32 per dimension and the values in C order (big-endian).
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    types = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}
    if zero != 0 or code not in types:
        raise ValueError(f"{path} is not an IDX file")
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    values = np.frombuffer(data, dtype=types[code], offset=4 + 4 * ndim)
    return values.reshape(dims).astype(np.dtype(types[code]).newbyteorder("="))


def load_mnist_arrays(split: str = "train", data_dir=None):
    """MNIST as ``(X, y)``: X float64 (n, 784) pixels / 255, y int64 (n,).

    Parameters
    ----------
    split : {"train", "t10k"}
    data_dir : path, optional
        Folder with the four ``*-ubyte.gz`` files (default: ``shared_data_dir() / "mnist"``).
    """
    folder = Path(data_dir) if data_dir else shared_data_dir() / "mnist"
    images = read_idx(folder / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(folder / f"{split}-labels-idx1-ubyte.gz")
    X = images.reshape(images.shape[0], -1) / 255.0
    return X, labels.astype(np.int64)


def timed(func, *args, **kwargs) -> float:
    """Seconds one call of ``func`` takes (wall clock)."""
    start = time.perf_counter()
    func(*args, **kwargs)
    return time.perf_counter() - start


def time_pair(candidate, baseline, repeats: int = 5) -> tuple[float, float]:
    """Best-of-``repeats`` times of two callables, run interleaved.

    Interleaving and taking the minimum make the ratio robust to other load on the machine
    (a shared 2-core box): both sides see the same conditions, and the minimum is the run
    least disturbed.

    Returns
    -------
    (candidate_seconds, baseline_seconds)
    """
    cand, base = [], []
    for _ in range(repeats):
        base.append(timed(baseline))
        cand.append(timed(candidate))
    return min(cand), min(base)


def describe_machine() -> dict:
    """CPU, cores, memory, Python, numpy/scipy and the BLAS libraries that are loaded."""
    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "numpy": np.__version__,
    }
    try:
        import scipy

        info["scipy"] = scipy.__version__
    except ImportError:  # pragma: no cover
        pass
    for name in (
        "OPENBLAS_CORETYPE",
        "OPENBLAS_L2_SIZE",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
    ):
        if os.environ.get(name):
            info[name] = os.environ[name]
    info["blas"] = blas_description()
    return info


def blas_description() -> list[str]:
    """One line per loaded BLAS: library, version, kernel ("architecture") and threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed: BLAS kernel unknown"]
    import scipy.linalg  # noqa: F401  (loads scipy's own BLAS so it is listed too)

    lines = []
    for pool in threadpool_info():
        if pool.get("user_api") != "blas":
            continue
        lines.append(
            f"{pool.get('internal_api')} {pool.get('version')} "
            f"kernel={pool.get('architecture')} threads={pool.get('num_threads')} "
            f"({Path(pool.get('filepath', '?')).name})"
        )
    return lines


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def format_table(rows: list[list[str]], header: list[str]) -> str:
    """A GitHub-flavoured markdown table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        padded = (str(c).ljust(w) for c, w in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])
