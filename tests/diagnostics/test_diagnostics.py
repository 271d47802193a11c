"""check_gaussian: Mahalanobis vs chi-squared, marginal tests, effective rank, verdicts."""

import json

import numpy as np
import pytest
from scipy import stats

from bayesgen import DataError
from bayesgen.diagnostics import check_gaussian


def test_gaussian_data_pass():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    X = rng.normal(size=(1500, 4)) @ A + 3.0
    y = np.repeat(["a", "b", "c"], 500)
    result = check_gaussian(X, y)
    assert [c.label for c in result.classes] == ["a", "b", "c"]
    assert all(c.gaussian_plausible for c in result.classes)
    assert "plausible for all 3" in result.verdict
    c = result.classes[0]
    assert c.dof == 4 and c.n_constant == 0 and c.n_samples == 500
    # under the MLE covariance the squared distances average exactly p (a trace identity)
    assert c.mahalanobis_sq.mean() == pytest.approx(4.0, rel=1e-6)
    q, d2 = c.qq_data()
    assert q.shape == d2.shape == (500,) and np.all(np.diff(d2) >= 0)
    json.dumps(result.as_dicts())


def test_heavy_tails_and_skewed_marginals_are_flagged():
    rng = np.random.default_rng(1)
    heavy = stats.multivariate_t(np.zeros(3), np.eye(3), df=2.5).rvs(1000, random_state=2)
    skewed = rng.exponential(size=(1000, 3))
    result = check_gaussian(np.vstack([heavy, skewed]), np.repeat([0, 1], 1000))
    for c in result.classes:
        assert not c.gaussian_plausible
        assert c.frac_reject_bonferroni > 0.5
        assert "not Gaussian" in c.verdict
    assert result.classes[0].ks_pvalue < 1e-3
    assert "rejected for 2 of 2" in result.verdict
    assert "copula" in result.verdict


def test_constant_features_and_effective_rank():
    rng = np.random.default_rng(3)
    X = np.zeros((400, 12))
    X[:, :10] = rng.normal(size=(400, 2)) @ rng.normal(size=(2, 10)) * 5 + 0.01 * rng.normal(
        size=(400, 10)
    )
    c = check_gaussian(X).classes[0]
    assert c.n_constant == 2 and c.dof == 10
    assert 1.0 <= c.effective_rank < 2.5
    assert "constant" in c.verdict and "lowrank" in c.verdict


def test_effective_rank_of_isotropic_data_is_full():
    X = np.random.default_rng(4).normal(size=(20_000, 6))
    assert check_gaussian(X).classes[0].effective_rank == pytest.approx(6, abs=0.05)


def test_plot_uses_plotting_module(tmp_path):
    pytest.importorskip("matplotlib")
    plotting = pytest.importorskip("bayesgen.plotting")
    if not hasattr(plotting, "plot_qq_chi2"):
        pytest.skip("bayesgen.plotting.plot_qq_chi2 not available yet")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X = np.random.default_rng(5).normal(size=(300, 3))
    fig = check_gaussian(X, np.repeat([0, 1, 2], 100)).plot()
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3
    fig.savefig(tmp_path / "qq.png")
    plt.close(fig)


def test_bad_input():
    with pytest.raises(DataError):
        check_gaussian(np.array([[np.nan, 1.0], [1.0, 2.0]]))
    with pytest.raises(DataError, match="one label per row"):
        check_gaussian(np.zeros((5, 2)), [0, 1])


def test_effective_rank_does_not_depend_on_units():
    # five unrelated measurements, grams next to millimetres: no "low rank" advice
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 5)) * np.array([1000.0, 1.0, 0.1, 10.0, 1.0])
    c = check_gaussian(X).classes[0]
    assert c.effective_rank == pytest.approx(5, abs=0.3)
    assert "lowrank" not in c.verdict


def test_too_few_rows_cannot_be_judged():
    X = np.random.default_rng(6).normal(size=(20, 30))
    c = check_gaussian(X).classes[0]
    assert c.verdict.startswith("cannot judge") and "lowrank" not in c.verdict
    assert np.isnan(c.ks_statistic)
    overall = check_gaussian(X, np.repeat([0, 1], 10))
    assert "cannot be judged" in overall.verdict and "plausible" not in overall.verdict
