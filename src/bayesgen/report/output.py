"""Writing the page: atomically, so a target is either untouched or the whole new page."""

from __future__ import annotations

from pathlib import Path

from bayesgen.base.atomic import atomic_write_bytes

__all__ = ["atomic_write_bytes", "write_report"]


def write_report(path, html_text: str) -> Path:
    """Write an HTML page atomically (UTF-8).

    The text goes to a temporary file beside ``path`` that is moved into place only once
    complete, so ``path`` is either untouched or the whole new page.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its folder must exist.
    html_text : str
        The document, e.g. from :func:`~bayesgen.report.build_report`.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    TypeError
        ``html_text`` is not a str.
    bayesgen.base.atomic.MissingFolderError
        The folder does not exist (a :class:`FileNotFoundError` and a ``DataError``).
    """
    if not isinstance(html_text, str):
        raise TypeError(f"html_text must be a str; got {type(html_text).__name__}.")
    return atomic_write_bytes(path, html_text.encode("utf-8"))
