"""Joint missing-value patterns per class: which cells of a row are empty together.

Empty cells are rarely independent: a penguin with no bill length usually has no other
measurement either.  A row's *pattern* is the set of its empty columns, a vector
``m in {0, 1}^d``.  Per class this module keeps the distribution of patterns as the
frequencies of the distinct patterns seen, and generated rows draw their pattern from it,
so each column's missing rate *and* the cells missing together are those of the class's
training rows.  The pattern is drawn independently of the generated values, given the
class (missing completely at random within a class).

Size is bounded.  At most ``MAX_PATTERNS`` patterns per class are kept, the most frequent
ones, with probabilities ``p_i``; the rows with any other pattern keep their total mass
``q = 1 - sum_i p_i``, and a generated row that falls there blanks each column
independently at

    r_j = (rate_j - sum_i p_i m_ij) / q,

the rate that makes every column's overall missing rate ``rate_j`` exact.  (Those
independent draws can also give the complete pattern or a kept one, which then come out a
little more often than their ``p_i``; with 256 patterns kept per class this matters only
for tables with very many distinct patterns.)  While chunks of
a table are summarised (:class:`PatternCounter`, mergeable), at most ``TRACK_MAX``
distinct patterns per class are counted; rows whose pattern is first seen after that count
towards ``q``.  A class whose rows are all complete has the single complete pattern.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesgen.base.state_checks import check_array, check_keys

__all__ = ["MAX_PATTERNS", "TRACK_MAX", "MissingPatterns", "PatternCounter"]

#: patterns kept per class in a fitted model (the most frequent)
MAX_PATTERNS = 256
#: distinct patterns counted per class while chunks are summarised
TRACK_MAX = 65_536


class PatternCounter:
    """Mergeable counts of one class's missing-value patterns.

    Parameters
    ----------
    n_features : int

    Attributes
    ----------
    rows : int
        Rows seen.
    missing : ndarray of shape (n_features,)
        Empty cells per column (exact, whatever was tracked).
    counts : dict of bytes to int
        Rows per pattern with at least one empty cell, keyed by the packed bits of its
        mask; complete rows are ``rows - sum(counts) - untracked``.
    untracked : int
        Rows with an empty cell whose pattern was not counted (beyond ``TRACK_MAX``).
    """

    def __init__(self, n_features: int):
        self.n_features = int(n_features)
        self.rows = 0
        self.missing = np.zeros(self.n_features, dtype=np.int64)
        self.counts: dict[bytes, int] = {}
        self.untracked = 0

    @classmethod
    def per_class(cls, gaps: np.ndarray, y_index: np.ndarray, n_classes: int) -> list:
        """One counter per class of in-memory rows: ``gaps`` (n, d) True = empty, classes
        ``0..n_classes - 1``; complete rows are only counted, never sorted."""
        counters = [cls(gaps.shape[1]) for _ in range(n_classes)]
        holed = gaps.any(axis=1)
        complete = np.bincount(y_index[~holed], minlength=n_classes)
        for k, counter in enumerate(counters):
            counter.rows = int(complete[k])
            counter.add(gaps[(y_index == k) & holed])
        return counters

    def add(self, gaps: np.ndarray) -> PatternCounter:
        """Count the rows of a boolean array of shape (n, n_features), True = empty."""
        self.rows += gaps.shape[0]
        self.missing += gaps.sum(axis=0)
        holed = gaps[gaps.any(axis=1)]
        if holed.shape[0]:
            packed = np.packbits(holed, axis=1)
            keys, counts = np.unique(packed, axis=0, return_counts=True)
            for key, count in zip(keys, counts.tolist(), strict=True):
                self._count(key.tobytes(), count)
        return self

    def merge(self, other: PatternCounter) -> PatternCounter:
        """Take in the counts of ``other`` (same columns)."""
        self.rows += other.rows
        self.missing += other.missing
        self.untracked += other.untracked
        for key, count in other.counts.items():
            self._count(key, count)
        return self

    def _count(self, key: bytes, count: int) -> None:
        if key in self.counts:
            self.counts[key] += count
        elif len(self.counts) < TRACK_MAX:
            self.counts[key] = count
        else:
            self.untracked += count

    def top(self, keep: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``keep`` most frequent patterns (the complete one included) as masks of
        shape (m, n_features) and their frequencies among the rows, most frequent first."""
        complete = self.rows - sum(self.counts.values()) - self.untracked
        keys = [bytes(np.packbits(np.zeros(self.n_features, dtype=bool))), *self.counts]
        counts = np.array([complete, *self.counts.values()], dtype=np.float64)
        # ties broken by the pattern itself, so chunks in any order keep the same ones
        ranks = np.argsort(np.argsort(keys, kind="stable"), kind="stable")
        order = np.lexsort((ranks, -counts))[:keep]
        order = order[counts[order] > 0]
        width = (self.n_features + 7) // 8
        packed = np.frombuffer(b"".join(keys[i] for i in order), dtype=np.uint8)
        masks = np.unpackbits(packed.reshape(order.shape[0], width), axis=1)
        masks = masks[:, : self.n_features].astype(bool)
        return masks, counts[order] / max(self.rows, 1)


@dataclass(frozen=True)
class MissingPatterns:
    """The fitted pattern distribution of every class (see the module docstring).

    Attributes
    ----------
    owner : ndarray of shape (m,)
        Class index of each kept pattern.
    masks : ndarray of shape (m, n_features), bool
        The patterns, True = empty.
    probability : ndarray of shape (m,)
        ``p(pattern | class)``; per class they sum to at most 1 (the rest is ``q``).
    """

    owner: np.ndarray
    masks: np.ndarray
    probability: np.ndarray

    @classmethod
    def from_counters(cls, counters, keep: int = MAX_PATTERNS) -> MissingPatterns:
        """From one :class:`PatternCounter` per class, in class order."""
        if not counters:
            raise ValueError("no classes: give one PatternCounter per class")
        parts = [counter.top(keep) for counter in counters]
        owner = np.concatenate([np.full(p.shape[0], k) for k, (_, p) in enumerate(parts)])
        masks = np.concatenate([m for m, _ in parts])
        probability = np.concatenate([p for _, p in parts])
        return cls(owner.astype(np.int64), masks, probability)

    @classmethod
    def of_rows(cls, gaps: np.ndarray, y_index: np.ndarray, n_classes: int):
        """The patterns of in-memory rows: ``gaps`` (n, d) True = empty, classes 0..K-1."""
        return cls.from_counters(PatternCounter.per_class(gaps, y_index, n_classes))

    def blank(self, index: np.ndarray, rates: np.ndarray, rng, observed=()) -> np.ndarray:
        """Which cells of generated rows to empty: a pattern per row from its class.

        Parameters
        ----------
        index : ndarray of shape (n,)
            Class index of each generated row.
        rates : ndarray of shape (n_classes, n_features)
            Each class's per-column missing rate (for the rows beyond the kept patterns).
        rng : numpy.random.Generator
        observed : sequence of int
            Columns known to be filled (the conditions of ``given=``): patterns are drawn
            from ``p(pattern | class, these columns observed)``, i.e. only patterns that
            keep them, renormalised; the rest mass becomes ``q prod_j (1 - r_j)`` over them.

        Returns
        -------
        ndarray of shape (n, n_features), bool
        """
        observed = list(observed)
        out = np.zeros((index.shape[0], rates.shape[1]), dtype=bool)
        u = rng.random(index.shape[0])
        for k in np.unique(index):
            rows = np.flatnonzero(index == k)
            mine = self.owner == k
            p, masks = self.probability[mine], self.masks[mine]
            rest = max(1.0 - p.sum(), 0.0)
            r = np.clip((rates[k] - p @ masks) / rest, 0.0, 1.0) if rest > 1e-12 else None
            if observed:
                p = np.where(masks[:, observed].any(axis=1), 0.0, p)
                rest = rest * np.prod(1.0 - r[observed]) if r is not None else 0.0
                r = None if r is None else np.where(np.isin(np.arange(r.shape[0]), observed), 0, r)
            total = p.sum() + rest
            if total <= 0:  # no pattern keeps those columns: leave the rows whole
                continue
            choice = np.searchsorted(np.cumsum(p / total), u[rows], side="right")
            kept = choice < p.shape[0]
            out[rows[kept]] = masks[choice[kept]]
            other = rows[~kept]
            if other.size and r is not None:
                out[other] = rng.random((other.size, r.shape[0])) < r
        return out

    def state(self) -> dict:
        return {"owner": self.owner, "masks": self.masks, "probability": self.probability}

    @classmethod
    def from_state(cls, state, name: str, n_classes: int, n_features: int):
        """Rebuild from a model file's state, checking what it holds."""
        check_keys(state, name, ("owner", "masks", "probability"))
        owner = check_array(state["owner"], f"{name} owner", kind="i", shape=(None,))
        m = owner.shape[0]
        if m > n_classes * MAX_PATTERNS:
            raise ValueError(
                f"{name} must hold at most {MAX_PATTERNS} patterns per class; found {m} for "
                f"{n_classes} classes"
            )
        masks = check_array(state["masks"], f"{name} masks", kind="b", shape=(m, n_features))
        probability = check_array(
            state["probability"], f"{name} probability", shape=(m,), finite=True
        )
        if m and (owner.min() < 0 or owner.max() >= n_classes):
            raise ValueError(f"{name} owner must hold class indices 0..{n_classes - 1}")
        totals = np.bincount(owner, weights=probability, minlength=n_classes)
        if np.any(probability < 0) or np.any(totals > 1 + 1e-6):
            raise ValueError(f"{name} probability must be >= 0 and sum to <= 1 per class")
        return cls(owner.astype(np.int64), masks, probability)
