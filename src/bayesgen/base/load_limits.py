"""Caps on what loading a model file may cost, checked before anything is decompressed.

A model file is small on disk but declares what it holds: array shapes and dtypes in the
manifest, objects and array references in its JSON tree.  Every cost of loading follows from
those declarations, so :func:`check_declared` compares them with a :class:`LoadLimits` before
any array is read or any object built.  The defaults leave a wide margin over the largest
honest models (see :class:`LoadLimits`); a bigger honest model loads with raised limits.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass

from bayesgen.base.errors import DataError, ModelFileError

__all__ = [
    "COMPRESSION_ALLOWANCE",
    "ENV_MAX_MODEL_BYTES",
    "LoadLimits",
    "check_cap",
    "check_declared",
    "check_expansion",
    "check_manifest_text",
    "parse_byte_size",
]

#: environment variable the command line reads to scale every size cap (see LoadLimits.scaled)
ENV_MAX_MODEL_BYTES = "BAYESGEN_MAX_MODEL_BYTES"

_GIB = 2**30
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"\s*([0-9]+)\s*([A-Za-z]*)\s*")
#: bytes an archive may decompress to whatever its compressed size (see
#: LoadLimits.max_compression_ratio): small models re-zipped with deflate always load
COMPRESSION_ALLOWANCE = 64 * 2**20
#: caps that are not sizes, so neither :meth:`LoadLimits.scaled` nor the environment
#: variable changes them
_UNSCALED = ("max_json_depth", "max_compression_ratio")


@dataclass(frozen=True)
class LoadLimits:
    """What a model file may declare before :func:`bayesgen.load` refuses it.

    Every cap is checked from the manifest before any array is decompressed or any object
    built, so a crafted file costs at most about these amounts.  The largest honest models
    measured stay far below every default: on MNIST, a copula takes 82 MB of arrays (10.3
    million elements, 104 arrays), a Gaussian per class 49 MB, a tied Gaussian 49 MB of
    references to one 4.9 MB factor, an MFA with 10 components of rank 30 a 103 KB manifest of
    3,343 JSON values and 111 objects; models of the tables in the benchmarks nest 21 deep.

    Parameters
    ----------
    max_array_bytes : int, default 2 GiB
        Sum of the sizes of all arrays (shape x itemsize), i.e. the memory the arrays take.
    max_elements : int, default 2**28
        Sum of the element counts of all arrays.
    max_referenced_bytes : int, default 2 GiB
        Sum, over every reference to an array in the object tree, of that array's size.  An
        array is decoded once, but each object built on it may copy it or factorise it, so
        one array referenced many times costs as much as many arrays.  In an honest model
        every array is referenced once, except a tied covariance (once per class).
    max_arrays : int, default 50,000
        Number of arrays (members of the archive).
    max_objects : int, default 50,000
        Number of objects in the tree (densities, covariances, schemas...).
    max_manifest_bytes : int, default 64 MiB
        Size of ``manifest.json``.
    max_json_nodes : int, default 1,000,000
        Values in the manifest (every mapping, list, string, number...).
    max_json_depth : int, default 100
        Nesting depth of the manifest.
    max_compression_ratio : int, default 32
        How many times its compressed size the archive's members may decompress to, beyond
        a first 64 MiB.  bayesgen stores members uncompressed and deflating an honest model
        gains about 2x, while deflate reaches 1000x on zeros: without this cap a 1 MB file
        could make loading fill 1 GiB.  Like the depth, it does not grow with
        :meth:`scaled` (it is a ratio, not a size).

    Examples
    --------
    >>> from bayesgen import LoadLimits
    >>> LoadLimits().max_array_bytes == 2 * 2**30
    True
    >>> LoadLimits.scaled(8 * 2**30).max_array_bytes == 8 * 2**30
    True
    """

    max_array_bytes: int = 2 * _GIB
    max_elements: int = 2**28
    max_referenced_bytes: int = 2 * _GIB
    max_arrays: int = 50_000
    max_objects: int = 50_000
    max_manifest_bytes: int = 64 * 2**20
    max_json_nodes: int = 1_000_000
    max_json_depth: int = 100
    max_compression_ratio: int = 32

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise DataError(
                    f"LoadLimits.{field.name} must be a positive integer; got {value!r}"
                )

    @classmethod
    def scaled(cls, max_array_bytes: int) -> LoadLimits:
        """Limits for models of up to ``max_array_bytes``: every size and count cap scales
        by the same factor from its default; the nesting depth and the compression ratio
        stay as they are."""
        if not isinstance(max_array_bytes, int) or max_array_bytes < 1:
            raise DataError(f"max_array_bytes must be a positive integer; got {max_array_bytes!r}")
        default = cls()
        factor = max_array_bytes / default.max_array_bytes
        caps = {
            field.name: max(1, math.ceil(getattr(default, field.name) * factor))
            for field in dataclasses.fields(cls)
            if field.name != "max_array_bytes" and field.name not in _UNSCALED
        }
        return cls(max_array_bytes=max_array_bytes, **caps)

    @classmethod
    def from_env(cls, environ=None) -> LoadLimits:
        """The defaults, or :meth:`scaled` to ``$BAYESGEN_MAX_MODEL_BYTES`` when it is set
        (a byte count such as ``4294967296``, ``4GiB`` or ``500MB``).

        Raises
        ------
        DataError
            The variable is set but is not a positive size.
        """
        text = (os.environ if environ is None else environ).get(ENV_MAX_MODEL_BYTES)
        if text is None or not text.strip():
            return cls()
        try:
            return cls.scaled(parse_byte_size(text))
        except DataError as exc:
            raise DataError(f"environment variable {ENV_MAX_MODEL_BYTES}: {exc}") from None


def parse_byte_size(text: str) -> int:
    """A positive byte count from ``"1048576"``, ``"512MB"`` or ``"2GiB"`` (units B, KB, MB,
    GB, TB in powers of 1000; KiB, MiB, GiB, TiB in powers of 1024; any case).

    Raises
    ------
    DataError
        Anything else, including zero, fractions and unknown units.
    """
    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS or int(match.group(1)) == 0:
        raise DataError(
            f"expected a positive whole number of bytes such as 4294967296, 4GiB or 500MB; "
            f"got {text!r}"
        )
    return int(match.group(1)) * _UNITS[unit]


def check_cap(what: str, declared: int, limits: LoadLimits, field: str, cap=None) -> None:
    """Refuse ``declared`` above ``cap`` (default ``limits.<field>``), saying how to raise
    the limit."""
    cap = getattr(limits, field) if cap is None else cap
    if declared <= cap:
        return
    where = (
        f"; on the command line set {ENV_MAX_MODEL_BYTES} (it scales every size limit)"
        if field not in _UNSCALED  # limits that do not grow with a model's size
        else ""
    )
    raise ModelFileError(
        f"model file declares {what}: {declared:,}, above the limit of {cap:,} "
        f"(LoadLimits.{field}); if you trust the file, raise it with "
        f"bayesgen.load(path, limits=LoadLimits({field}=...)){where}"
    )


def check_manifest_text(raw: bytes, limits: LoadLimits, declared_size: int) -> None:
    """Refuse a manifest too big to parse cheaply: its size, and an upper bound on its JSON
    values (every value but the first follows a ``,`` or opens with ``{``/``[``)."""
    check_cap("manifest bytes", max(declared_size, len(raw)), limits, "max_manifest_bytes")
    bound = raw.count(b"{") + raw.count(b"[") + raw.count(b",") + 1
    check_cap(
        "JSON values in its manifest (at most, counting brackets and commas)",
        bound,
        limits,
        "max_json_nodes",
    )


def check_expansion(declared: int, compressed: int, limits: LoadLimits) -> None:
    """Refuse members that decompress to more than ``max_compression_ratio`` times their
    compressed size plus :data:`COMPRESSION_ALLOWANCE`, so that what loading costs follows
    the size of the file and not only what it declares.

    Parameters
    ----------
    declared : int
        Bytes the archive's members decompress to (their declared sizes, which reading
        enforces).
    compressed : int
        Bytes the members take in the archive.
    limits : LoadLimits
    """
    cap = limits.max_compression_ratio * compressed + COMPRESSION_ALLOWANCE
    what = f"decompressed bytes (from {compressed:,} compressed)"
    check_cap(what, declared, limits, "max_compression_ratio", cap)


def _census(manifest, sizes: dict[str, int]) -> tuple[int, int, int, int]:
    """JSON values, nesting depth, objects and referenced array bytes of ``manifest``,
    counted without recursion (a hostile tree may be deep)."""
    nodes = depth = objects = referenced = 0
    stack = [(manifest, 1)]
    while stack:
        node, level = stack.pop()
        nodes += 1
        depth = max(depth, level)
        if isinstance(node, dict):
            objects += "__object__" in node
            key = node.get("__ndarray__")
            referenced += sizes.get(key, 0) if isinstance(key, str) else 0
            stack.extend((value, level + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, level + 1) for value in node)
    return nodes, depth, objects, referenced


def check_declared(manifest: dict, specs: dict, limits: LoadLimits) -> None:
    """Refuse a manifest whose declared content exceeds ``limits``.

    Parameters
    ----------
    manifest : dict
        The parsed manifest.
    specs : dict
        Array key -> ``(dtype, shape)`` as declared (already checked to be valid).
    limits : LoadLimits
    """
    check_cap("arrays", len(specs), limits, "max_arrays")
    sizes = {key: math.prod(shape) * dtype.itemsize for key, (dtype, shape) in specs.items()}
    elements = sum(math.prod(shape) for _, shape in specs.values())
    check_cap("array elements in all", elements, limits, "max_elements")
    check_cap("array bytes in all", sum(sizes.values()), limits, "max_array_bytes")
    nodes, depth, objects, referenced = _census(manifest, sizes)
    check_cap("a manifest nested this many levels deep", depth, limits, "max_json_depth")
    check_cap("JSON values in its manifest", nodes, limits, "max_json_nodes")
    check_cap("objects", objects, limits, "max_objects")
    check_cap("array bytes summed over every reference", referenced, limits, "max_referenced_bytes")
