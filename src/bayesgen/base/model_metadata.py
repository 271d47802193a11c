"""The schema of a model file's metadata.

``bayesgen fit`` records what it knows about the data (see ``cli/fit.py``); the commands that
read a model back use those keys to write output like the input.  Each of those keys has a
type and bounds here.  Library users may store other keys through ``save(metadata=...)``:
those must be plain JSON (mappings with text keys, lists, text, finite numbers, booleans,
null).  The same check runs when a model is saved and when it is loaded, so a file that
saves always loads.
"""

from __future__ import annotations

import math
import re

from bayesgen.base.errors import ModelFileError

__all__ = ["check_metadata"]

_MAX_TEXT = 4096
_FORMAT_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value) -> str | None:
    ok = isinstance(value, str) and len(value) <= _MAX_TEXT
    return None if ok else f"text of at most {_MAX_TEXT} characters"


def _texts(value) -> str | None:
    ok = isinstance(value, (list, tuple)) and all(_text(v) is None for v in value)
    return None if ok else f"a list of texts of at most {_MAX_TEXT} characters each"


def _format_name(value) -> str | None:
    ok = isinstance(value, str) and _FORMAT_NAME.fullmatch(value)
    return None if ok else "a format name such as 'csv' or 'idx'"


def _flag(value) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _delimiter(value) -> str | None:
    # a control character would be written between every two cells of the output
    ok = isinstance(value, str) and len(value) == 1 and (value == "\t" or value.isprintable())
    ok = ok and value != '"'
    return None if ok else "one character, printable or a tab, other than a quote"


def _decimal(value) -> str | None:
    return None if value in (".", ",") else "'.' or ','"


def _label_dtype(value) -> str | None:
    return None if value == "category" else "'category' (or null)"


def _count(value) -> str | None:
    return None if _is_int(value) and 0 <= value < 2**63 else "a non-negative integer"


def _image_shape(value) -> str | None:
    ok = (
        isinstance(value, (list, tuple))
        and len(value) in (2, 3)
        and all(_is_int(s) and 1 <= s <= 2**20 for s in value)
        and (len(value) == 2 or value[2] in (3, 4))
        and math.prod(value) <= 2**31
    )
    return None if ok else "[height, width] or [height, width, 3|4] of positive sizes"


def _scale(value) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return None if ok and math.isfinite(value) and value > 0 else "a finite positive number"


#: the keys ``bayesgen fit`` writes, each with its check (every one may also be null)
_FIT_KEYS = {
    "source": _text,
    "source_format": _format_name,
    "table": _flag,
    "columns": _texts,
    "delimiter": _delimiter,
    "decimal": _decimal,
    "label_dtype": _label_dtype,
    "label_column": _text,
    "n_rows": _count,
    "image_shape": _image_shape,
    "pixel_scale": _scale,
    "feature_names": _texts,
}


def _check_plain_json(value, where: str, max_depth: int, error: type) -> None:
    """Refuse anything but plain JSON values, nested at most ``max_depth`` deep (walked
    without recursion)."""
    stack = [(value, where, 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > max_depth:
            raise error(f"{path} is nested more than {max_depth} levels deep")
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str):
                    raise error(f"{path} has a key {key!r} that is not text")
                stack.append((item, f"{path}[{key[:40]!r}]", depth + 1))
        elif isinstance(node, (list, tuple)):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            raise error(f"{path} is {node}; metadata numbers must be finite")
        elif node is not None and not isinstance(node, (str, int, float)):
            raise error(f"{path} is a {type(node).__name__}; metadata must be plain JSON")


def check_metadata(
    metadata, *, max_depth: int, error: type = ModelFileError, where: str = "metadata"
) -> dict:
    """Check model metadata against its schema; return it.

    Parameters
    ----------
    metadata : dict
    max_depth : int
        Deepest nesting allowed below the metadata mapping itself.
    error : exception class, default ModelFileError
        What to raise (saving raises :class:`~bayesgen.base.errors.DataError`).
    where : str, default "metadata"
        How messages name the metadata mapping.

    Raises
    ------
    error
        Naming the key, what it must be and what it is.
    """
    if not isinstance(metadata, dict):
        raise error(f"{where} must be a mapping; found a {type(metadata).__name__}")
    _check_plain_json(metadata, where, max_depth, error)
    for key, check in _FIT_KEYS.items():
        value = metadata.get(key)
        expected = None if value is None else check(value)
        if expected is not None:
            found = repr(value)
            found = found if len(found) <= 80 else found[:77] + "..."
            raise error(f"{where}[{key!r}] must be {expected}; found {found}")
    return metadata
