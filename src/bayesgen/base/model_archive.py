"""Bounded reading of a model file's zip archive: members, the manifest text, the arrays.

Everything here reads at most what the manifest declares.  Only stored and deflated members
are read, because Python's zipfile decompresses bzip2 and LZMA reads whole before cutting them
to size, while deflate output is bounded by the size asked for.  Each member is read in
chunks straight into its final buffer (one preallocated array per array member), hashed as
it arrives, and refused as soon as it disagrees with the size its manifest entry implies.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from bayesgen.base.errors import ModelFileError
from bayesgen.base.load_limits import (
    LoadLimits,
    check_cap,
    check_expansion,
    check_manifest_text,
)

__all__ = [
    "ALLOWED_DTYPE_KINDS",
    "MANIFEST",
    "array_member",
    "array_spec",
    "check_members",
    "open_archive",
    "parse_manifest",
    "read_array",
    "read_manifest_bytes",
]

MANIFEST = "manifest.json"
ALLOWED_DTYPE_KINDS = "biufU"  # bool, ints, floats, unicode strings; never objects
_CHUNK = 2**20
_NPY_HEADER_MAX = 10_000  # numpy's own cap on the header dictionary
_NPY_PREFIX_MAX = 12  # magic, version and the header length field
_DESCR = re.compile(r"[<>|=][biufU][0-9]{1,9}")
_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_DIRECTORY_BYTES_PER_MEMBER = 256  # an honest entry takes under 100 bytes
_END_RECORD, _END_RECORD64, _LOCATOR64 = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
#: a member's local header: signature, version, flags, method, time, date, CRC-32,
#: compressed and uncompressed sizes, lengths of the name and of the extra field
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_IN_ZIP64_EXTRA = 0xFFFFFFFF  # a local size field that says "see the zip64 extra field"
#: a JSON string escape of a UTF-16 surrogate, the only way a manifest (valid UTF-8) can
#: spell a lone surrogate, which no encoder can write back
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def array_member(key: str) -> str:
    """The archive member that holds array ``key``."""
    return f"arrays/{key}.npy"


def _directory_size(handle) -> int:
    """Bytes of the archive's central directory as its end record declares them (zipfile
    reads that many bytes into memory when it opens the archive); 0 if there is none."""
    end = handle.seek(0, 2)
    handle.seek(max(0, end - 22 - 65535))  # the record and a comment of at most 64 KiB
    tail = handle.read(22 + 65535)
    at = tail.rfind(_END_RECORD)
    if at < 0 or len(tail) < at + 22:
        return 0  # zipfile refuses the file itself
    size = struct.unpack("<I", tail[at + 12 : at + 16])[0]
    locator = tail[at - 20 : at] if at >= 20 else b""
    if size != 0xFFFFFFFF or not locator.startswith(_LOCATOR64):
        return size
    offset = struct.unpack("<Q", locator[8:16])[0]
    if offset > end:  # seeking there fails with an OSError that names no zip structure
        raise ModelFileError(
            f"model file's zip64 end record points past the end of the file (offset "
            f"{offset:,} in a file of {end:,} bytes); the file is damaged"
        )
    handle.seek(offset)
    record = handle.read(56)
    return struct.unpack("<Q", record[40:48])[0] if record.startswith(_END_RECORD64) else size


def _check_member_info(info: zipfile.ZipInfo, seen: set) -> None:
    name = info.filename
    if name in seen:
        raise ModelFileError(
            f"model file holds member {name!r} twice; a model file names each member once "
            "(a crafted file can show one copy to unzip and another to bayesgen)"
        )
    seen.add(name)
    if info.flag_bits & 0x1:
        raise ModelFileError(
            f"model file member {name!r} is encrypted; bayesgen writes plain members only"
        )
    if info.compress_type not in _METHODS:
        method = zipfile.compressor_names.get(info.compress_type, f"method {info.compress_type}")
        raise ModelFileError(
            f"model file member {name!r} is compressed with {method}; bayesgen reads only "
            "stored or deflated members (others cannot be read with bounded memory)"
        )


def _local_header_problem(handle, info: zipfile.ZipInfo) -> str | None:
    """What is wrong with member ``info``'s local header, or None; leaves ``handle`` at
    the end of the header (the start of the member's data)."""
    handle.seek(info.header_offset)
    head = handle.read(_LOCAL_HEADER.size)
    if len(head) < _LOCAL_HEADER.size or not head.startswith(_LOCAL_SIGNATURE):
        return "has no local header where the central directory says"
    _sig, _version, flags, method, _time, _date, crc, csize, size, nlen, elen = (
        _LOCAL_HEADER.unpack(head)
    )
    if method != info.compress_type or (flags ^ info.flag_bits) & 0x1:
        return "has a local header whose compression or encryption differs from the directory's"
    if not flags & 0x8:  # without a data descriptor, the header states the CRC and sizes
        for local, central in (
            (crc, info.CRC),
            (csize, info.compress_size),
            (size, info.file_size),
        ):
            if local != central and local != _IN_ZIP64_EXTRA:
                return "has a local header whose CRC or sizes differ from the directory's"
    handle.seek(nlen + elen, 1)
    return None


def _check_layout(path: Path, infos: list) -> None:
    """Refuse members whose local header disagrees with the central directory (zipfile
    trusts the directory, while streaming readers trust the local headers: a crafted file
    could show each a different content) and members whose bytes overlap."""
    spans = []
    with open(path, "rb") as handle:
        for info in infos:
            problem = _local_header_problem(handle, info)
            if problem is not None:
                raise ModelFileError(
                    f"model file member {info.filename!r} {problem}; the file is damaged or "
                    "crafted (zip readers could disagree on what it holds)"
                )
            spans.append((info.header_offset, handle.tell() + info.compress_size, info.filename))
        size = handle.seek(0, 2)
    spans.sort()
    for (_start, end, name), (start, _end, other) in itertools.pairwise(spans):
        if start < end:
            raise ModelFileError(
                f"model file members {name!r} and {other!r} overlap in the archive; each "
                "member of a model file has bytes of its own"
            )
    # compressed sizes then add up to at most the file's size, which the compression ratio
    # cap (LoadLimits.max_compression_ratio) relies on
    if spans and spans[-1][1] > size:
        raise ModelFileError(
            f"model file member {spans[-1][2]!r} claims more bytes than the file holds; the "
            "file is damaged or truncated"
        )


def open_archive(path: Path, limits: LoadLimits) -> zipfile.ZipFile:
    """Open a model file's archive after checking its directory's size, then refuse
    repeated member names, encrypted members, compression other than stored/deflate, local
    headers that disagree with the directory and overlapping members."""
    if not path.is_file():  # a folder, a device such as /dev/zero, a named pipe
        raise ModelFileError(f"{str(path)!r} is not a regular file, so not a model file")
    with open(path, "rb") as handle:
        directory = _directory_size(handle)
    cap = (limits.max_arrays + 1) * _DIRECTORY_BYTES_PER_MEMBER
    check_cap("zip directory bytes", directory, limits, "max_arrays", cap)
    try:
        archive = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error) as exc:
        raise ModelFileError(
            f"{str(path)!r} is not a readable bayesgen model file ({exc}); it may be damaged "
            "or truncated, or not a model file at all — save the model again"
        ) from None
    try:
        members = len(archive.infolist())
        check_cap("zip members", members, limits, "max_arrays", limits.max_arrays + 1)
        seen: set[str] = set()
        for info in archive.infolist():
            _check_member_info(info, seen)
        _check_layout(path, archive.infolist())
    except BaseException:
        archive.close()
        raise
    return archive


def check_members(archive: zipfile.ZipFile, specs: dict, limits: LoadLimits) -> None:
    """Refuse members the manifest does not list, missing arrays, array members whose
    declared size cannot be a ``.npy`` file of the declared shape and dtype, and members
    that decompress to more than ``limits.max_compression_ratio`` allows."""
    expected = {array_member(key): key for key in specs}
    for info in archive.infolist():
        if info.filename != MANIFEST and info.filename not in expected:
            raise ModelFileError(
                f"model file holds an unexpected member {info.filename!r}; a model file holds "
                f"only {MANIFEST} and arrays/<key>.npy for each array its manifest lists"
            )
    for member, key in expected.items():
        try:
            size = archive.getinfo(member).file_size
        except KeyError:
            raise ModelFileError(
                f"model file is incomplete: array {key!r} (member {member!r}) is missing"
            ) from None
        dtype, shape = specs[key]
        data = math.prod(shape) * dtype.itemsize
        if not data < size <= data + _NPY_PREFIX_MAX + _NPY_HEADER_MAX:
            trailing = " (trailing bytes?)" if size > data else " (truncated?)"
            raise ModelFileError(
                f"model file member {member!r} declares {size:,} bytes, but an array of shape "
                f"{list(shape)} and dtype {dtype.str} takes {data:,} bytes plus a header of at "
                f"most {_NPY_PREFIX_MAX + _NPY_HEADER_MAX:,}{trailing}"
            )
    infos = archive.infolist()
    check_expansion(
        sum(info.file_size for info in infos), sum(info.compress_size for info in infos), limits
    )


def array_spec(key, info) -> tuple[np.dtype, tuple[int, ...]]:
    """The dtype and shape a manifest entry declares for array ``key``, checked: a plain
    bool, integer, float or unicode dtype of non-zero itemsize, and a shape of counts."""
    where = f"{MANIFEST}: arrays.{key}"
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ModelFileError(f"{MANIFEST}: array key {str(key)[:80]!r} is not a valid name")
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "sha256"}:
        raise ModelFileError(f"{where} must be a mapping of dtype, shape and sha256")
    descr, shape, digest = info["dtype"], info["shape"], info["sha256"]
    if not isinstance(descr, str) or not _DESCR.fullmatch(descr):
        raise ModelFileError(
            f"{where}.dtype must be a bool, integer, float or unicode dtype such as '<f8'; "
            f"found {str(descr)[:80]!r}"
        )
    try:
        dtype = np.dtype(descr)
    except TypeError:  # a size numpy has no type for: '<i16', '|b2', '<U999999999'
        raise ModelFileError(f"{where}.dtype {descr!r} is not a dtype numpy knows") from None
    if dtype.itemsize == 0 or np.lib.format.dtype_to_descr(dtype) != descr:
        raise ModelFileError(f"{where}.dtype {descr!r} is not a valid dtype of non-zero size")
    if not (
        isinstance(shape, list)
        and len(shape) <= 32
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    ):
        raise ModelFileError(f"{where}.shape must be a list of at most 32 counts")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ModelFileError(f"{where}.sha256 must be 64 hexadecimal digits")
    return dtype, tuple(shape)


class _Member:
    """A member being read: counts and hashes what comes out, never more than ``limit``."""

    def __init__(self, stream, name: str, limit: int):
        self.stream, self.name, self.limit = stream, name, limit
        self.read_so_far = 0
        self.hash = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        left = self.limit - self.read_so_far
        data = self.stream.read(left if n is None or n < 0 else min(n, left))
        self.read_so_far += len(data)
        self.hash.update(data)
        return data

    def fill(self, view: memoryview) -> None:
        """Fill ``view`` from the member in bounded chunks, then require its end."""
        done = 0
        while done < len(view):
            chunk = view[done : done + _CHUNK]
            got = self.stream.readinto(chunk)
            if not got:
                raise ModelFileError(
                    f"model file member {self.name!r} ends after {self.read_so_far:,} bytes; "
                    "it is truncated"
                )
            self.hash.update(chunk[:got])
            done += got
            self.read_so_far += got
        if self.stream.read(1):
            raise ModelFileError(
                f"model file member {self.name!r} has trailing bytes after its "
                f"{self.read_so_far:,} expected bytes"
            )


@contextlib.contextmanager
def _reading(member: str):
    """Name the member in any error the zip module or zlib raises while it is read."""
    try:
        yield
    except ModelFileError:
        raise
    except Exception as exc:  # BadZipFile (bad CRC), zlib.error, EOFError, OSError...
        raise ModelFileError(
            f"model file member {member!r} cannot be read ({type(exc).__name__}: {exc}); "
            "the file is damaged"
        ) from None


def read_manifest_bytes(archive: zipfile.ZipFile, limits: LoadLimits) -> bytearray:
    """The text of ``manifest.json``, read in chunks and never beyond its cap."""
    info = archive.getinfo(MANIFEST)  # KeyError when there is none
    check_manifest_text(b"", limits, info.file_size)
    buffer = bytearray(info.file_size)
    with _reading(MANIFEST), archive.open(info) as stream:
        _Member(stream, MANIFEST, info.file_size).fill(memoryview(buffer))
    return buffer


def _unique_keys(pairs: list) -> dict:
    """A JSON object as a dict, refusing a repeated key: readers differ on which copy they
    keep, so a crafted manifest could show other tools one value and bayesgen another."""
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        key = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ModelFileError(f"{MANIFEST} holds the key {key[:80]!r} twice in one object")
    return mapping


def _check_unicode(manifest) -> None:
    """Refuse text holding a lone surrogate (written as a ``\\ud800`` escape): no output,
    terminal or file can encode it.  Walked without recursion (the tree may be deep)."""
    stack = [manifest]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise ModelFileError(
                    f"{MANIFEST} holds text that is not valid Unicode (a lone surrogate in "
                    f"{node[:60]!r})"
                ) from None


def parse_manifest(raw: bytearray, limits: LoadLimits):
    """Parse the manifest after bounding its size and its number of JSON values; refuse
    repeated keys and text that is not valid Unicode."""
    check_manifest_text(raw, limits, len(raw))
    try:
        manifest = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except ModelFileError:
        raise
    except RecursionError:
        raise ModelFileError(
            f"{MANIFEST} is nested too deeply to parse; a model file nests at most "
            f"{limits.max_json_depth} levels (LoadLimits.max_json_depth)"
        ) from None
    except MemoryError:
        raise ModelFileError(f"{MANIFEST} needs more memory than is available to parse") from None
    except ValueError as exc:  # bad UTF-8, bad JSON, numbers too long to convert
        raise ModelFileError(f"{MANIFEST} is not valid JSON text ({exc})") from None
    if _SURROGATE_ESCAPE.search(raw):  # honest files rarely spell surrogates at all
        _check_unicode(manifest)
    return manifest


def _read_header(member: _Member):
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(member, max_header_size=_NPY_HEADER_MAX)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(member, max_header_size=_NPY_HEADER_MAX)
        else:
            raise ValueError(f"format version {version} is not supported")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
        raise  # the member itself cannot be read, whatever it holds
    except Exception as exc:  # numpy raises ValueError, the header's parser may raise others
        raise ModelFileError(
            f"model file member {member.name!r} is not a valid .npy array ({exc})"
        ) from None
    return header


def read_array(archive: zipfile.ZipFile, key: str, spec, digest: str) -> np.ndarray:
    """Array ``key``: its ``.npy`` header must match the manifest's dtype and shape, its
    data fills one preallocated array, and its SHA-256 must match the manifest's."""
    dtype, shape = spec
    member = array_member(key)
    info = archive.getinfo(member)
    with _reading(member), archive.open(info) as stream:
        reader = _Member(stream, member, min(info.file_size, _NPY_PREFIX_MAX + _NPY_HEADER_MAX))
        found_shape, fortran_order, found_dtype = _read_header(reader)
        if (found_shape, fortran_order, found_dtype) != (shape, False, dtype):
            raise ModelFileError(
                f"model file member {member!r} holds an array of shape {list(found_shape)}, "
                f"dtype {found_dtype.str} (fortran order: {fortran_order}), but the manifest "
                f"says shape {list(shape)}, dtype {dtype.str} in C order"
            )
        array = np.empty(shape, dtype)
        expected = reader.read_so_far + array.nbytes
        if info.file_size != expected:
            raise ModelFileError(
                f"model file member {member!r} declares {info.file_size:,} bytes, but its "
                f"header and data take {expected:,}"
                + (" (trailing bytes)" if info.file_size > expected else " (truncated)")
            )
        reader.limit = expected
        reader.fill(memoryview(array.reshape(-1).view(np.uint8)))
    if reader.hash.hexdigest() != digest:
        raise ModelFileError(
            f"model file is damaged or was modified: checksum of array {key!r} (member "
            f"{member!r}) does not match its manifest"
        )
    if dtype.kind == "U":
        _check_code_points(array, member)
    return array


def _check_code_points(array: np.ndarray, member: str) -> None:
    """Refuse text arrays holding code points that are not Unicode characters (above
    U+10FFFF, or surrogates): numpy stores any 32-bit value, but turning one into a Python
    string fails (SystemError) or cannot be printed or written (UnicodeEncodeError)."""
    codes = array.reshape(-1).view(np.dtype(np.uint32).newbyteorder(array.dtype.byteorder))
    bad = (codes > 0x10FFFF) | ((codes >= 0xD800) & (codes < 0xE000))
    if bad.any():
        raise ModelFileError(
            f"model file member {member!r} holds text that is not valid Unicode (code point "
            f"{int(codes[bad.argmax()]):#x})"
        )
