"""The one PNG encoder for raw pixel arrays (stdlib zlib; no Pillow or matplotlib needed).

Figures are turned into PNG by matplotlib (:mod:`bayesgen.plotting.output`); arrays of
pixels (report thumbnails, image grids and image folders written by :mod:`bayesgen.io`)
come here, so the exact pixels are kept.  In the base layer so that every layer can use it.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from bayesgen.base.errors import DataError

__all__ = ["png_bytes"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, tag, data and the CRC of tag + data."""
    return (
        struct.pack(">I", len(data))
        + tag
        + data
        + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    )


def png_bytes(image) -> bytes:
    """Encode an 8-bit image as a PNG file.

    Parameters
    ----------
    image : array-like of uint8, shape (h, w) (grey), (h, w, 3) (RGB) or (h, w, 4) (RGBA)

    Returns
    -------
    bytes
        A complete PNG file (filter type 0 on every row, zlib level 6).

    Raises
    ------
    DataError
        Another shape, or an empty image.
    """
    img = np.ascontiguousarray(image, dtype=np.uint8)
    if img.ndim == 2:
        colour_type, channels = 0, 1
    elif img.ndim == 3 and img.shape[2] in (3, 4):
        colour_type, channels = (2, 3) if img.shape[2] == 3 else (6, 4)
    else:
        raise DataError(f"image must have shape (h, w), (h, w, 3) or (h, w, 4); got {img.shape}.")
    h, w = img.shape[:2]
    if h == 0 or w == 0:
        raise DataError("image is empty; nothing to encode.")
    rows = np.zeros((h, 1 + w * channels), dtype=np.uint8)  # leading 0: filter "None"
    rows[:, 1:] = img.reshape(h, w * channels)
    header = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )
