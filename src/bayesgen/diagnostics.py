"""Checking the Gaussian assumption per class.

The tutorial models every class as one Gaussian and says it "would be wise to check this
assumption".  :func:`check_gaussian` does, for each class:

* **Mahalanobis distances.**  If the rows of a class are Gaussian, the squared distances
  ``d_i^2 = (x_i - m)^T C^{-1} (x_i - m)`` to the class mean ``m`` under the maximum-
  likelihood covariance ``C`` follow (approximately, for large n) a chi-squared distribution
  with p degrees of freedom, p the number of non-constant features; exactly,
  ``n d_i^2 / (n - 1)^2 ~ Beta(p/2, (n - p - 1)/2)`` (Gnanadesikan and Kettenring 1972).  The
  Kolmogorov-Smirnov statistic and p-value use the exact Beta law when ``n > p + 1``; the QQ
  data (sorted ``d^2`` against chi-squared quantiles) are kept for plotting.  Heavy tails or
  clusters show as distances above the diagonal.
* **Marginal normality.**  D'Agostino and Pearson's test (:func:`scipy.stats.normaltest`)
  on every non-constant feature; reported are the fraction rejecting at ``alpha`` (about
  ``alpha`` of them reject by chance even for Gaussian data) and the fraction rejecting at the
  Bonferroni level ``alpha / p`` (which controls the chance of any false rejection).
* **Effective rank** ``exp(H)``, H the entropy of the normalised eigenvalues of the
  *correlation* matrix (Roy and Vetterli 2007), so it does not depend on units (grams next
  to millimetres are not "rank 1"): far below p means the data lie near a subspace, where a
  low-rank model (``density="lowrank"``) needs far fewer parameters.  Advised only when
  there are enough rows to estimate the correlation (n > p + 1).
* **Too few rows.**  With ``n <= p + 1`` rows the covariance is singular and the distance
  test cannot be run: the verdict says so and the class gets no QQ panel.
* **Constant features**: a Gaussian is degenerate along them; they need ``reg_covar``.

The verdict per class is one line of text; :attr:`GaussianCheck.verdict` sums up all classes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, stats

from bayesgen.base.errors import DataError
from bayesgen.base.validation import check_finite, format_label

__all__ = ["ClassCheck", "GaussianCheck", "check_gaussian"]


@dataclass
class ClassCheck:
    """The Gaussian check of one class (see the module docstring for each number)."""

    label: object
    n_samples: int
    n_features: int
    n_constant: int
    dof: int
    effective_rank: float
    ks_statistic: float
    ks_pvalue: float
    frac_reject: float
    frac_reject_bonferroni: float
    n_tested: int
    verdict: str
    gaussian_plausible: bool
    mahalanobis_sq: np.ndarray = field(repr=False)

    def qq_data(self) -> tuple[np.ndarray, np.ndarray]:
        """(chi-squared(dof) quantiles, sorted squared distances), each of shape (n,)."""
        d2 = np.sort(self.mahalanobis_sq)
        n = d2.shape[0]
        return stats.chi2.ppf((np.arange(1, n + 1) - 0.5) / n, max(self.dof, 1)), d2

    def as_dict(self) -> dict:
        """JSON-able summary (without the distances)."""
        label = self.label.item() if isinstance(self.label, np.generic) else self.label
        return {
            "label": label,
            "n_samples": self.n_samples,
            "n_features": self.n_features,
            "n_constant": self.n_constant,
            "dof": self.dof,
            "effective_rank": self.effective_rank,
            "ks_statistic": self.ks_statistic,
            "ks_pvalue": self.ks_pvalue,
            "frac_reject": self.frac_reject,
            "frac_reject_bonferroni": self.frac_reject_bonferroni,
            "n_tested": self.n_tested,
            "gaussian_plausible": self.gaussian_plausible,
            "verdict": self.verdict,
        }


@dataclass
class GaussianCheck:
    """Result of :func:`check_gaussian`: one :class:`ClassCheck` per class and a verdict."""

    classes: list[ClassCheck]
    alpha: float
    verdict: str

    def as_dicts(self) -> list[dict]:
        return [c.as_dict() for c in self.classes]

    def __str__(self) -> str:
        labels = [format_label(c.label) for c in self.classes]
        w = max([8, *(len(label) for label in labels)])  # long labels keep the columns
        head = (
            f"{'class':>{w}} {'n':>6} {'p':>5} {'const':>5} {'eff.rank':>8} {'KS':>6} "
            f"{'KS p':>8} {'rej':>5} {'rej(B)':>6}  verdict"
        )
        lines = [head, "-" * len(head)]
        for label, c in zip(labels, self.classes, strict=True):
            lines.append(
                f"{label:>{w}} {c.n_samples:>6} {c.dof:>5} {c.n_constant:>5} "
                f"{c.effective_rank:>8.1f} {c.ks_statistic:>6.3f} {c.ks_pvalue:>8.2g} "
                f"{c.frac_reject:>5.2f} {c.frac_reject_bonferroni:>6.2f}  {c.verdict}"
            )
        lines.append(f"overall: {self.verdict}")
        return "\n".join(lines)

    def can_plot(self) -> bool:
        """True when some class has a distance test to draw (more rows than features)."""
        return any(c.dof and c.n_samples > c.dof + 1 for c in self.classes)

    def plot(self, *, max_classes: int = 10):
        """QQ plots of squared Mahalanobis distances against chi-squared, one per class.

        Uses :func:`bayesgen.plotting.plot_qq_chi2` (matplotlib is imported only here).

        Returns
        -------
        matplotlib.figure.Figure
        """
        from bayesgen.plotting import new_figure, plot_qq_chi2

        shown = [c for c in self.classes if c.n_samples > c.dof + 1 and c.dof][:max_classes]
        if not shown:
            raise DataError(
                "no class has more rows than features, so there is no distance test to plot; "
                "see the verdict"
            )
        cols = min(5, len(shown))
        rows = -(-len(shown) // cols)
        fig = new_figure((3.2 * cols, 3.2 * rows))
        axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
        for ax, check in zip(axes, shown, strict=False):
            plot_qq_chi2(
                check.mahalanobis_sq,
                max(check.dof, 1),
                ax=ax,
                title=f"class {format_label(check.label)}",
            )
        for ax in axes[len(shown) :]:
            ax.set_visible(False)
        return fig


def _effective_rank(C: np.ndarray) -> float:
    """``exp(H)`` of the normalised eigenvalues of the correlation matrix of ``C``."""
    if not C.shape[0]:
        return 0.0
    sd = np.sqrt(np.diag(C))
    eig = np.clip(linalg.eigvalsh(C / sd[:, None] / sd[None, :], check_finite=False), 0.0, None)
    if eig.sum() <= 0:
        return 0.0
    w = eig / eig.sum()
    w = w[w > 0]
    return float(np.exp(-np.sum(w * np.log(w))))


def _squared_distances(C: np.ndarray, R: np.ndarray, rel_ridge: float) -> np.ndarray:
    """Squared Mahalanobis distances of the centred rows ``R`` under covariance ``C``."""
    p = C.shape[0]
    if not p:
        return np.zeros(R.shape[0])
    C = C.copy()
    C.flat[:: p + 1] += rel_ridge * float(np.mean(np.diag(C)))
    L = linalg.cholesky(C, lower=True, check_finite=False)
    W = linalg.solve_triangular(L, R.T, lower=True, check_finite=False)
    return np.einsum("ij,ij->j", W, W)


def _class_check(label, X: np.ndarray, alpha: float, rel_ridge: float) -> ClassCheck:
    n, d = X.shape
    var = X.var(axis=0)
    scale = float(var.max()) if var.size else 0.0
    varying = var > 1e-12 * max(scale, 1e-300)
    n_constant = int(d - varying.sum())
    Z = X[:, varying]
    p = Z.shape[1]
    mean = Z.mean(axis=0)
    R = Z - mean
    C = R.T @ R / max(n, 1)
    eff_rank = _effective_rank(C)
    d2 = _squared_distances(C, R, rel_ridge)
    judged = bool(p) and n > p + 1
    if judged:
        beta = stats.beta(p / 2.0, (n - p - 1) / 2.0)
        ks = stats.kstest(n * d2 / (n - 1) ** 2, beta.cdf)
    else:  # singular covariance: distances carry no information about normality
        ks = None
    ks_stat = float(ks.statistic) if ks is not None else float("nan")
    ks_p = float(ks.pvalue) if ks is not None else float("nan")
    if p and n >= 20:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pvals = stats.normaltest(Z, axis=0).pvalue
        pvals = np.nan_to_num(pvals, nan=1.0)
        frac = float(np.mean(pvals < alpha))
        frac_b = float(np.mean(pvals < alpha / p))
        n_tested = p
    else:
        frac = frac_b = float("nan")
        n_tested = 0
    problems = []
    if n_tested and frac_b > 0.0:
        problems.append(f"{100 * frac_b:.0f}% of features fail the normality test after Bonferroni")
    if ks is not None and ks_p < alpha:
        problems.append(f"Mahalanobis distances do not follow chi-squared (KS {ks_stat:.2f})")
    notes = []
    if n_constant:
        notes.append(f"{n_constant} constant feature(s) need reg_covar")
    if judged and eff_rank < 0.25 * p:
        notes.append(f"effective rank {eff_rank:.0f} of {p}: consider density='lowrank'")
    plausible = not problems and (judged or not p)
    if p and not judged:
        verdict = (
            f"cannot judge: only {n} rows for {p} varying features (the covariance is "
            "singular, so the distance test cannot be run); a full Gaussian needs reg_covar "
            "or shrinkage here"
        )
    elif plausible:
        verdict = "consistent with a Gaussian"
    else:
        verdict = "not Gaussian: " + "; ".join(problems)
    if notes:
        verdict += " (" + "; ".join(notes) + ")"
    return ClassCheck(
        label=label,
        n_samples=n,
        n_features=d,
        n_constant=n_constant,
        dof=p,
        effective_rank=eff_rank,
        ks_statistic=ks_stat,
        ks_pvalue=ks_p,
        frac_reject=frac,
        frac_reject_bonferroni=frac_b,
        n_tested=n_tested,
        verdict=verdict,
        gaussian_plausible=plausible,
        mahalanobis_sq=d2,
    )


def check_gaussian(X, y=None, *, alpha: float = 0.05, rel_ridge: float = 1e-9) -> GaussianCheck:
    """Check the one-Gaussian-per-class assumption (module docstring).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), optional
        Class labels; None checks all rows as one class.
    alpha : float, default=0.05
        Significance level of the tests.
    rel_ridge : float, default=1e-9
        Ridge added to the covariance diagonal, relative to the mean variance, before the
        Mahalanobis distances (numerical safety only).

    Returns
    -------
    GaussianCheck
        ``.classes`` (per-class numbers and verdicts), ``.verdict``, ``.plot()``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgen.diagnostics import check_gaussian
    >>> X = np.random.default_rng(0).normal(size=(500, 3))
    >>> check_gaussian(X, np.repeat([0, 1], 250)).classes[0].gaussian_plausible
    True
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise DataError(f"X must be a 2-D array with at least 2 rows; got shape {X.shape}")
    check_finite(X)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
    if y is None:
        labels, index = np.array([0]), np.zeros(X.shape[0], dtype=int)
    else:
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise DataError(f"y must have one label per row ({X.shape[0]}); got {y.shape}")
        labels, index = np.unique(y, return_inverse=True)
    checks = [_class_check(lab, X[index == k], alpha, rel_ridge) for k, lab in enumerate(labels)]
    unjudged = [c for c in checks if c.verdict.startswith("cannot judge")]
    bad = [c for c in checks if not c.gaussian_plausible and c not in unjudged]
    if not bad and not unjudged:
        verdict = f"the Gaussian assumption is plausible for all {len(checks)} class(es)"
    elif bad:
        names = ", ".join(format_label(c.label) for c in bad[:10])
        verdict = (
            f"the Gaussian assumption is rejected for {len(bad)} of {len(checks)} class(es) "
            f"({names}); consider density='copula', 'mixture', 'mfa' or 'auto'"
        )
    else:
        verdict = "no class was rejected"
    if unjudged:
        verdict += (
            f"; {len(unjudged)} class(es) have no more rows than features and cannot be judged"
        )
    return GaussianCheck(classes=checks, alpha=alpha, verdict=verdict)
