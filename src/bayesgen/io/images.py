"""Images (needs Pillow): reading a folder with one sub-folder of images per class, and
writing samples as one PNG grid or as such a folder of PNG files.

Pixels are read as grayscale and scaled to [0, 1]; they are written as 0-255 integers.
Every write is atomic (:mod:`bayesgen.base.atomic`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bayesgen.base import atomic
from bayesgen.base.errors import DataError
from bayesgen.base.png import png_bytes
from bayesgen.base.validation import format_label, label_text, safe_text
from bayesgen.io.checks import _check_output_path, _resolve_image_shape
from bayesgen.io.data import LabelledData, _ReadOptions, _single, _to_uint8_pixels
from bayesgen.io.deps import _require_pillow
from bayesgen.io.labels import _labels_from_text

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _natural_key(p: Path):
    """Sort key putting ``2.png`` before ``10.png`` (numeric names first, by number)."""
    stem = p.stem
    return (0, int(stem), p.name) if stem.isdigit() else (1, 0, p.name)


def _class_images(sub: Path) -> list[Path]:
    """The image files of one class folder, in natural order (hidden files skipped)."""
    return sorted(
        (
            f
            for f in sub.iterdir()
            if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in _IMAGE_SUFFIXES
        ),
        key=_natural_key,
    )


def _image_folder_listing(path: Path):
    """``[(image file, class name), ...]`` of a folder, classes in name order."""
    try:
        subdirs = sorted(
            (p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.name,
        )
    except OSError as exc:
        raise DataError(f"Cannot list the directory {path}: {exc.strerror or exc}.") from None
    files = []
    for sub in subdirs:
        files.extend((f, sub.name) for f in _class_images(sub))
    if not files:
        loose = [f.name for f in path.iterdir() if f.suffix.lower() in _IMAGE_SUFFIXES]
        extra = f" It has {len(loose)} image file(s) at the top level." if loose else ""
        raise DataError(
            f"{path} holds no images in class sub-folders; expected one sub-folder per class "
            f"(named after the label) containing PNG or JPEG files, e.g. {path}/3/0.png.{extra}"
        )
    return files


def _gray_pixels(Image, f: Path) -> np.ndarray:
    """An image file as a uint8 grayscale array, or :class:`DataError` when unreadable."""
    try:
        with Image.open(f) as im:
            return np.asarray(im.convert("L"), dtype=np.uint8)
    except Exception as exc:  # Pillow raises many types for broken files
        raise DataError(
            f"Cannot read the image {f} ({type(exc).__name__}: {exc}); expected a PNG "
            "or JPEG file. Delete or re-create it."
        ) from None


def _image_folder_chunks(path: Path, chunk_rows: int, image_shape, label_dtype, whole: bool):
    """Yield :class:`LabelledData` chunks of ``chunk_rows`` images (all when ``whole``);
    every image must have the size of the first."""
    Image, _ = _require_pillow()
    files = _image_folder_listing(path)
    y_all = _labels_from_text([c for _, c in files], label_dtype, str(path))
    size = None
    step = len(files) if whole else chunk_rows
    shape = None
    for start in range(0, len(files), step):
        part = files[start : start + step]
        block = None
        for i, (f, _) in enumerate(part):
            arr = _gray_pixels(Image, f)
            if size is None:
                size = arr.shape
                shape = _resolve_image_shape(image_shape, arr.size, size, str(path))
            elif arr.shape != size:
                raise DataError(
                    f"{f} is {arr.shape[1]}x{arr.shape[0]} pixels, but the first image "
                    f"{files[0][0]} is {size[1]}x{size[0]}; all images must share one size. "
                    "Resize them first."
                )
            if block is None:
                block = np.empty((len(part), arr.size), dtype=np.uint8)
            block[i] = arr.reshape(-1)
        yield LabelledData(
            X=np.divide(block, 255.0, dtype=np.float64),
            y=y_all[start : start + step],
            feature_names=None,
            image_shape=shape,
            source_format="image-folder",
            pixel_scale=255.0,
            label_column=None,
        )


def read_image_folder(path, options: _ReadOptions) -> LabelledData:
    """Read a whole image folder (uses ``image_shape`` and ``label_dtype`` of ``options``)."""
    return _single(
        _image_folder_chunks(path, 0, options.image_shape, options.label_dtype, whole=True)
    )


def iter_image_folder(path, chunk_rows: int, options: _ReadOptions):
    """Read an image folder in chunks of ``chunk_rows`` images."""
    yield from _image_folder_chunks(
        path, chunk_rows, options.image_shape, options.label_dtype, whole=False
    )


def _grid_image(X, y, shape, scale):
    """A Pillow image of every sample in a grid, each under its label, enlarged to at least
    32 pixels so that small images stay visible."""
    Image, ImageDraw = _require_pillow()
    pix = _to_uint8_pixels(X, scale).reshape((-1,) + shape)
    n, h, w = pix.shape
    f = max(1, -(-32 // max(h, w)))
    th, tw = h * f, w * f
    strip = 12
    pad = 2
    ncols = max(1, math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncols)
    canvas = np.full((nrows * (th + strip + pad) + pad, ncols * (tw + pad) + pad), 255, np.uint8)
    origins = []
    for i in range(n):
        r, c = divmod(i, ncols)
        y0 = pad + r * (th + strip + pad) + strip
        x0 = pad + c * (tw + pad)
        canvas[y0 : y0 + th, x0 : x0 + tw] = np.repeat(np.repeat(pix[i], f, 0), f, 1)
        origins.append((x0, y0 - strip))
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    for (x0, y0), label in zip(origins, y.tolist(), strict=True):
        draw.text((x0 + 1, y0), label_text(label)[: max(1, tw // 6)], fill=0)
    return img


def write_png_grid(path: Path, X, y, shape, scale) -> None:
    """Write one PNG grid image of all samples with their labels, atomically.

    Parameters
    ----------
    path : pathlib.Path
    X : ndarray of shape (n, height * width)
    y : ndarray of shape (n,)
    shape : tuple of int
        ``(height, width)``.
    scale : float or None
        See :func:`~bayesgen.io.data._to_uint8_pixels`.
    """
    _check_output_path(path)
    img = _grid_image(X, y, shape, scale)
    atomic.atomic_write_bytes(path, png_bytes(np.asarray(img)))


def _check_folder_label(label: str, where: str) -> None:
    """Refuse a label that cannot safely name a folder (slashes, dots, spaces, empty, and
    control characters or bidi marks, which would act on a terminal listing the folder)."""
    if (
        not label
        or label in (".", "..")
        or label.startswith(".")
        or any(ch in label for ch in "/\\\0")
        or label != label.strip()
        or safe_text(label) != label
    ):
        raise DataError(
            f"{where}: the label {format_label(label)} cannot be a folder name; image-folder "
            "output needs labels without slashes, leading dots, surrounding spaces or control "
            "characters. Rename the classes."
        )


def _check_output_folder(path: Path) -> None:
    """Refuse a missing parent, a file of the name, or a folder that is not empty."""
    parent = path.absolute().parent
    if not parent.is_dir():
        raise DataError(
            f"Cannot write {path}: its parent directory {parent} does not exist. Create it "
            "first (bayesgen only creates the output folder itself)."
        )
    if path.exists():
        if not path.is_dir():
            raise DataError(f"Cannot write the image folder {path}: a file of that name exists.")
        if any(path.iterdir()):
            raise DataError(
                f"Cannot write the image folder {path}: it exists and is not empty. Choose a "
                "new folder name or delete the old one (bayesgen never deletes folders)."
            )


def write_image_folder(path: Path, X, y, shape, scale) -> None:
    """Write one PNG per sample, ``<path>/<label>/<index>.png``, atomically.

    The files go to a temporary folder beside ``path`` that is moved into place once
    complete; ``path`` must not exist or be an empty folder.  Parameters as for
    :func:`write_png_grid`.
    """
    where = str(path)
    _check_output_folder(path)
    labels = [label_text(v, raw=True) for v in y.tolist()]
    for lab in set(labels):
        _check_folder_label(lab, where)
    pix = _to_uint8_pixels(X, scale).reshape((-1,) + shape)
    tmp = atomic.temp_sibling(path, directory=True)
    try:
        for lab in set(labels):
            (tmp / lab).mkdir()
        for i, lab in enumerate(labels):
            (tmp / lab / f"{i}.png").write_bytes(png_bytes(pix[i]))
        atomic.commit(tmp, path)
    except BaseException:
        atomic.discard(tmp)
        raise
