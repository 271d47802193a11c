"""The one atomic writer: every output file of bayesgen is written through this module.

A write goes to a temporary sibling ``.NAME.PID-HEX.tmp`` of the target (same folder, so the
final :func:`os.replace` is atomic on POSIX file systems), is flushed to disk and only then
moved into place.  The target is therefore either untouched or complete.

A process killed with SIGKILL cannot remove its temporary, so every new write to a target
first removes the temporaries of that target whose writing process no longer exists (the PID
in the name says whose it is).  Temporaries of live processes are left alone, so two writers
never delete each other's work.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from bayesgen.base.errors import DataError

__all__ = [
    "MissingFolderError",
    "OutputIsFolderError",
    "atomic_write",
    "atomic_write_bytes",
    "commit",
    "discard",
    "temp_sibling",
]


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else, or we cannot tell: keep it
    return True


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.NAME.PID-HEX.tmp`` siblings of ``path`` left by processes that are gone."""
    prefix = f".{path.name}."
    with contextlib.suppress(OSError):
        for entry in path.parent.iterdir():
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            pid_text = name[len(prefix) : -len(".tmp")].split("-", 1)[0]
            if pid_text.isdigit() and not _pid_alive(int(pid_text)):
                discard(entry)


class MissingFolderError(DataError, FileNotFoundError):
    """The folder of an output path does not exist (a :class:`DataError` and a
    :class:`FileNotFoundError`, so either ``except`` clause catches it)."""


class OutputIsFolderError(DataError, IsADirectoryError):
    """An output path names an existing folder where a file is expected."""


def check_output_folder(path, *, folder_ok: bool = False) -> None:
    """Refuse an output path whose folder does not exist, or that is a folder (unless
    ``folder_ok``: an output that may be a folder of files); checked before any work is
    done, and again when the output is written.

    Raises
    ------
    OutputIsFolderError
    MissingFolderError
    """
    path = Path(path)
    if not folder_ok and path.is_dir() and not path.is_symlink():
        raise OutputIsFolderError(f"{str(path)!r} is a folder; give a file name for the output")
    if not path.absolute().parent.is_dir():
        raise MissingFolderError(
            f"output folder {str(path.parent)!r} does not exist; create it first or "
            "choose another path"
        )


def temp_sibling(path, *, directory: bool = False) -> Path:
    """Create an empty temporary file (or folder) beside ``path`` and return its path.

    Stale temporaries of the same target (their process is gone) are removed first.  The
    mode honours the umask, as a plain ``open()`` would.

    Raises
    ------
    DataError
        When the folder does not exist or is not writable.
    """
    path = Path(path).absolute()
    if not directory or not path.parent.is_dir():
        check_output_folder(path)
    _remove_stale_temporaries(path)
    for _ in range(100):
        candidate = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            if directory:
                os.mkdir(candidate, 0o777)
            else:
                os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as exc:
            raise DataError(
                f"Cannot create a temporary file in {path.parent} to write {path.name}: "
                f"{exc.strerror or exc}. Check that the folder is writable."
            ) from None
        return candidate
    raise DataError(f"Cannot create a temporary file next to {path}.")  # pragma: no cover


def commit(tmp: Path, path) -> Path:
    """Move a finished temporary into place (atomic replace); returns the target path."""
    target = Path(path)
    if tmp.is_dir() and target.is_dir() and not target.is_symlink():
        # a folder cannot replace a folder atomically: swap through a second name
        old = temp_sibling(target, directory=True)
        os.rmdir(old)
        os.replace(target, old)
        os.replace(tmp, target)
        discard(old)
    else:
        os.replace(tmp, target)
    return target


def discard(tmp: Path | None) -> None:
    """Remove a temporary file or folder, ignoring errors (it may already be gone)."""
    if tmp is None:
        return
    with contextlib.suppress(OSError):
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp)
        else:
            tmp.unlink()


def atomic_write(path, write: Callable) -> Path:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then move it into place.

    The file is flushed and fsynced before the move; on any failure (including
    KeyboardInterrupt) the temporary is removed and ``path`` keeps its old content.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file; its folder must exist.
    write : callable
        Receives a binary file object opened for writing.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    target = Path(path)
    tmp = temp_sibling(target)
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_current_umask())
        commit(tmp, target)
    except BaseException:
        discard(tmp)
        raise
    return target


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda handle: handle.write(data))
