"""Ready-made labelled data sets.

* :func:`load_mnist` - the MNIST test set bundled with bayesgen (10,000 handwritten digits,
  28x28 pixels), or any MNIST split from a directory of IDX files you downloaded.
* :func:`load_digits` - scikit-learn's 8x8 digits (1,797 images).
* :func:`load_kaggle_digits` - the Kaggle "Digit Recognizer" ``train.csv`` you downloaded.
* :func:`load_dataset` - the above by name.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, licensed under Creative
Commons Attribution-Share Alike 3.0 (see ``bayesgen/data/mnist/LICENSE``).
"""

from __future__ import annotations

import inspect
import os
from importlib import resources
from pathlib import Path

import numpy as np

from bayesgen.base.errors import DataError
from bayesgen.io import KAGGLE_URL, LabelledData, read_labelled
from bayesgen.io.idx import read_idx

__all__ = [
    "DATASETS",
    "bundled_mnist_files",
    "kaggle_csv_path_error",
    "load_dataset",
    "load_digits",
    "load_kaggle_digits",
    "load_mnist",
]

#: Names accepted by :func:`load_dataset`.
DATASETS = ("mnist", "digits", "kaggle-digits")

_MNIST_PREFIX = {"train": "train", "test": "t10k"}
_MNIST_MIRROR_HINT = (
    "MNIST is published at http://yann.lecun.com/exdb/mnist/ (also mirrored, e.g. "
    "https://ossci-datasets.s3.amazonaws.com/mnist/)"
)


def _result(data: LabelledData, return_X_y: bool):
    """``(X, y)`` or the :class:`LabelledData`, as the caller asked."""
    return (data.X, data.y) if return_X_y else data


def bundled_mnist_files() -> tuple[Path, Path]:
    """Paths of the bundled MNIST test-set files.

    Returns
    -------
    images, labels : pathlib.Path
        ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz`` inside the package.
    """
    base = Path(str(resources.files("bayesgen") / "data" / "mnist"))
    images = base / "t10k-images-idx3-ubyte.gz"
    labels = base / "t10k-labels-idx1-ubyte.gz"
    for f in (images, labels):
        if not f.is_file():
            raise DataError(
                f"The bundled MNIST file {f} is missing; expected it inside the installed "
                "bayesgen package. Reinstall bayesgen (`pip install --force-reinstall "
                "bayesgen`) or pass path= to a directory holding the MNIST IDX files."
            )
    return images, labels


def _find_split_files(directory: Path, split: str) -> tuple[Path, Path]:
    """The images and labels files of an MNIST split in ``directory`` (gzip or not)."""
    prefix = _MNIST_PREFIX[split]
    found = []
    for kind, idx in (("images", "idx3"), ("labels", "idx1")):
        names = [
            f"{prefix}-{kind}-{idx}-ubyte.gz",
            f"{prefix}-{kind}-{idx}-ubyte",
            f"{prefix}-{kind}.{idx}-ubyte.gz",
            f"{prefix}-{kind}.{idx}-ubyte",
        ]
        match = next((directory / n for n in names if (directory / n).is_file()), None)
        if match is None:
            raise DataError(
                f"The MNIST {split} split is expected in {directory.absolute()} as "
                f"{prefix}-images-idx3-ubyte.gz and {prefix}-labels-idx1-ubyte.gz (gzip or "
                f"uncompressed), but {names[0]} (or {names[1]}) is not there. Only the test "
                "split is bundled with bayesgen (load_mnist() without path=); for the "
                f"{split} split download both files ({_MNIST_MIRROR_HINT}) into that directory."
            )
        found.append(match)
    return found[0], found[1]


def load_mnist(split: str = "test", path=None, *, return_X_y: bool = False):
    """Load MNIST handwritten digits (28x28 grayscale, labels 0-9).

    Parameters
    ----------
    split : {"test", "train"}, default="test"
        Which split.  The test split (10,000 images) is bundled with bayesgen; the training
        split (60,000 images) must be downloaded and passed with ``path``.
    path : str or os.PathLike or None, default=None
        Directory holding ``<prefix>-images-idx3-ubyte.gz`` and
        ``<prefix>-labels-idx1-ubyte.gz`` (prefix ``train`` or ``t10k``; uncompressed files
        work too), or the images file itself.  None uses the bundled test set.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a :class:`~bayesgen.io.LabelledData`.

    Returns
    -------
    LabelledData or tuple of (ndarray of shape (n, 784), ndarray of shape (n,))
        ``X`` float64 pixels in [0, 1] (raw value / 255), ``y`` int64 labels 0-9,
        ``image_shape=(28, 28)``, ``pixel_scale=255.0``.

    Raises
    ------
    DataError
        Unknown split, or the files are missing or corrupt.
    """
    if split not in _MNIST_PREFIX:
        raise DataError(f"split must be 'test' or 'train'; got {split!r}.")
    if path is None:
        if split != "test":
            raise DataError(
                "Only the MNIST test split is bundled with bayesgen. For the train split, "
                "download train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz "
                f"({_MNIST_MIRROR_HINT}) into a directory and call "
                "load_mnist(split='train', path=that_directory)."
            )
        images, labels = bundled_mnist_files()
        data = read_idx(images, labels)
        return _result(data, return_X_y)
    path = Path(os.fspath(path))
    if path.is_dir():
        images, labels = _find_split_files(path, split)
        data = read_labelled(images, format="idx", labels_path=labels)
    elif path.exists():
        data = read_labelled(path, format="idx")
    else:
        raise DataError(
            f"Expected a directory with the MNIST {split} files at {path.absolute()}, but "
            "nothing exists there. Only the test split is bundled with bayesgen "
            "(load_mnist() without path=); download the IDX files "
            f"({_MNIST_MIRROR_HINT}) and pass their directory."
        )
    return _result(data, return_X_y)


def load_digits(*, return_X_y: bool = False):
    """Load scikit-learn's 8x8 handwritten digits (1,797 images, labels 0-9).

    Pixels (integers 0-16) are scaled to [0, 1].

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a :class:`~bayesgen.io.LabelledData`.

    Returns
    -------
    LabelledData or tuple of (ndarray of shape (1797, 64), ndarray of shape (1797,))
        ``X`` float64 in [0, 1], ``y`` int64, ``image_shape=(8, 8)``, ``pixel_scale=16.0``,
        ``source_format="sklearn"``.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    data = LabelledData(
        X=np.asarray(bunch.data, dtype=np.float64) / 16.0,
        y=np.asarray(bunch.target, dtype=np.int64),
        feature_names=[str(n) for n in bunch.feature_names],
        image_shape=(8, 8),
        source_format="sklearn",
        pixel_scale=16.0,
        label_column=None,
    )
    return _result(data, return_X_y)


def kaggle_csv_path_error(path) -> DataError:
    """The error for a missing Kaggle Digit Recognizer CSV, telling where to get it.

    Parameters
    ----------
    path : str or os.PathLike
        Where the file was expected.

    Returns
    -------
    DataError
        Not raised; ``raise kaggle_csv_path_error(path)`` at the call site.
    """
    path = Path(os.fspath(path))
    return DataError(
        f"Expected the Kaggle Digit Recognizer training file at {path.absolute()}, but it is "
        f"not there. Download train.csv from the competition page {KAGGLE_URL} (Data tab; "
        f"needs a Kaggle account that accepted the competition rules) and save it as {path}. "
        "Without it, bayesgen.datasets.load_mnist() gives the bundled MNIST test set."
    )


def load_kaggle_digits(path="data/train.csv", *, return_X_y: bool = False):
    """Load the Kaggle "Digit Recognizer" ``train.csv`` (label, pixel0..pixel783).

    Parameters
    ----------
    path : str or os.PathLike, default="data/train.csv"
        The downloaded file (the tutorial's location by default).
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a :class:`~bayesgen.io.LabelledData`.

    Returns
    -------
    LabelledData or tuple
        Pixels scaled to [0, 1], int labels, ``image_shape=(28, 28)``.

    Raises
    ------
    DataError
        The file is missing (the message says where to download it) or not in Kaggle layout.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise kaggle_csv_path_error(path)
    data = read_labelled(path, format="kaggle-csv")
    return _result(data, return_X_y)


def load_dataset(name: str, **kwargs):
    """Load a named data set.

    Parameters
    ----------
    name : {"mnist", "digits", "kaggle-digits"}
        ``"mnist"`` -> :func:`load_mnist`, ``"digits"`` -> :func:`load_digits`,
        ``"kaggle-digits"`` -> :func:`load_kaggle_digits`.
    **kwargs
        Passed on (e.g. ``split=``, ``path=``, ``return_X_y=``).

    Returns
    -------
    LabelledData or tuple
    """
    key = str(name).lower().replace("_", "-")
    loaders = {"mnist": load_mnist, "digits": load_digits, "kaggle-digits": load_kaggle_digits}
    if key not in loaders:
        raise DataError(
            f"Unknown dataset {name!r}; available: {', '.join(DATASETS)}. For your own files "
            "use bayesgen.io.read_labelled(path)."
        )
    loader = loaders[key]
    try:
        inspect.signature(loader).bind(**kwargs)
    except TypeError as exc:
        raise DataError(
            f"load_dataset({name!r}) got unsupported arguments ({exc}); see "
            f"help(bayesgen.datasets.{loader.__name__})."
        ) from None
    return loader(**kwargs)
