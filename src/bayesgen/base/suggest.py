""" "Did you mean": the names closest to a misspelt one, for every message that names a
column, a command, an option or a family that does not exist."""

from __future__ import annotations

import difflib

__all__ = ["close_matches", "did_you_mean"]


def close_matches(word, choices, n: int = 3) -> list[str]:
    """The ``choices`` closest to ``word``, best first: a match ignoring case comes first,
    then :func:`difflib.get_close_matches` on lower-cased text.

    Parameters
    ----------
    word : str
    choices : iterable of str
    n : int, default 3
        At most this many.

    Returns
    -------
    list of str
        Members of ``choices`` as they are spelled there (possibly empty).
    """
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(str(choice).lower(), str(choice))
    key = str(word).lower()
    if key in by_lower and by_lower[key] != word:
        return [by_lower[key]]
    found = difflib.get_close_matches(key, list(by_lower), n=n, cutoff=0.6)
    return [by_lower[m] for m in found if by_lower[m] != word]


def did_you_mean(word, choices, n: int = 2) -> str:
    """``"; did you mean 'x'?"`` (or ``'x' or 'y'``) for the closest ``choices``, else ``""``.

    Written to follow a sentence that names the wrong ``word``: ``f"no column {w!r}" +
    did_you_mean(w, columns)``.
    """
    found = close_matches(word, choices, n=n)
    if not found:
        return ""
    return "; did you mean " + " or ".join(repr(m) for m in found) + "?"
