"""Explicit randomness: one helper turns ``random_state`` into a numpy Generator."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_random_state"]


def check_random_state(random_state) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``random_state``.

    Parameters
    ----------
    random_state : None, int, numpy.random.SeedSequence or numpy.random.Generator
        ``None`` draws fresh entropy from the operating system (calls differ); an int or a
        ``SeedSequence`` seeds a new PCG64 generator (the same seed gives the same draws);
        a Generator is returned as is, so successive calls continue its stream.

    Returns
    -------
    numpy.random.Generator
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if int(random_state) < 0:
            raise ValueError(
                f"random_state must be a non-negative integer; got {int(random_state)}. "
                "Pass a seed >= 0, a numpy Generator, or None."
            )
        return np.random.default_rng(int(random_state))
    if isinstance(random_state, np.random.RandomState):
        # Legacy generator: derive a Generator deterministically from its stream.
        return np.random.default_rng(random_state.randint(0, 2**31 - 1, size=4))
    raise TypeError(
        "random_state must be None, an int, a numpy SeedSequence or a numpy Generator; "
        f"got {type(random_state).__name__}. Pass e.g. random_state=0."
    )
