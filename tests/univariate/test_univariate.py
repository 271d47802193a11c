"""Tests for bayesgen.univariate: inverse-transform sampling and univariate model choice."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats

from bayesgen import DataError, FitError
from bayesgen.univariate import (
    DEFAULT_CANDIDATES,
    InverseTransformSampler,
    UnivariateFit,
    _open_unit_uniform,
    continuous_family_names,
    fit_univariate,
    tutorial_sanity_checks,
)

# --------------------------------------------------------------------------------------
# Tutorial checks
# --------------------------------------------------------------------------------------


def test_tutorial_sanity_checks_hold():
    checks = tutorial_sanity_checks()
    assert [(expected, got) for _, expected, got in checks] == [(200, 200), (240, 240), (280, 280)]
    assert all(isinstance(desc, str) and desc for desc, _, _ in checks)


def test_tutorial_quantiles_directly():
    sampler = InverseTransformSampler(stats.norm(200, 40))
    assert round(float(sampler.ppf(0.5))) == 200
    assert round(float(sampler.ppf(0.5 + 0.3413))) == 240
    assert round(float(sampler.ppf(0.5 + 0.3413 + 0.1359))) == 280


@pytest.mark.parametrize("mu, sigma", [(0.0, 1.0), (-3.0, 2.0), (1000.0, 10.0)])
def test_tutorial_sanity_checks_other_parameters(mu, sigma):
    for _, expected, got in tutorial_sanity_checks(mu, sigma):
        assert expected == got


@pytest.mark.parametrize("sigma", [0.0, -1.0, math.nan])
def test_tutorial_sanity_checks_rejects_bad_sigma(sigma):
    with pytest.raises(ValueError, match="standard deviation"):
        tutorial_sanity_checks(0.0, sigma)


# --------------------------------------------------------------------------------------
# InverseTransformSampler
# --------------------------------------------------------------------------------------

MOMENT_CASES = [
    stats.norm(200, 40),
    stats.gamma(2.0, scale=3.0),
    stats.beta(2.0, 5.0),
    stats.laplace(1.0, 2.0),
]


@pytest.mark.parametrize("dist", MOMENT_CASES, ids=lambda d: d.dist.name)
def test_sample_moments_match_distribution(dist):
    n = 20_000
    x = InverseTransformSampler(dist).sample(n, random_state=12345)
    assert x.shape == (n,) and x.dtype == np.float64
    mean, var, _, kurt = (float(v) for v in dist.stats(moments="mvsk"))
    se_mean = math.sqrt(var / n)
    assert abs(x.mean() - mean) < 5 * se_mean
    # Var of the sample variance ~ sigma^4 * (2 / (n - 1) + excess_kurtosis / n).
    se_var = var * math.sqrt(2.0 / (n - 1) + kurt / n)
    assert abs(x.var(ddof=1) - var) < 5 * se_var
    # Robust goodness of fit: reject only on overwhelming evidence.
    assert stats.kstest(x, dist.cdf).pvalue > 1e-4


def test_return_latent_gives_open_interval_and_exact_ppf():
    dist = stats.norm(200, 40)
    sampler = InverseTransformSampler(dist)
    z, x = sampler.sample(5000, random_state=3, return_latent=True)
    assert z.shape == x.shape == (5000,)
    assert np.all((z > 0) & (z < 1))
    np.testing.assert_array_equal(x, dist.ppf(z))
    # z itself is uniform
    assert stats.kstest(z, "uniform").pvalue > 1e-4


def test_same_seed_same_output_and_none_differs():
    sampler = InverseTransformSampler(stats.norm(0, 1))
    np.testing.assert_array_equal(
        sampler.sample(100, random_state=7), sampler.sample(100, random_state=7)
    )
    assert not np.array_equal(sampler.sample(100), sampler.sample(100))
    # A Generator continues its stream.
    rng = np.random.default_rng(0)
    assert not np.array_equal(sampler.sample(10, rng), sampler.sample(10, rng))


def test_n_zero_gives_empty_arrays():
    sampler = InverseTransformSampler(stats.norm(0, 1))
    assert sampler.sample(0).shape == (0,)
    z, x = sampler.sample(0, random_state=0, return_latent=True)
    assert z.shape == x.shape == (0,)


def test_numpy_integer_n_is_accepted():
    assert InverseTransformSampler(stats.norm()).sample(np.int64(4), random_state=0).shape == (4,)


@pytest.mark.parametrize("n, exc", [(-1, ValueError), (2.5, TypeError), (True, TypeError)])
def test_bad_n_rejected(n, exc):
    with pytest.raises(exc, match="non-negative int"):
        InverseTransformSampler(stats.norm()).sample(n)


class _ExtremeRng:
    """Stub generator returning the smallest and largest integers the lattice allows."""

    def integers(self, low, high, size, dtype):
        out = np.empty(size, dtype=dtype)
        out[0::2] = low
        out[1::2] = high - 1
        return out


def test_latent_guard_never_hits_zero_or_one():
    z = _open_unit_uniform(_ExtremeRng(), 4)
    assert np.all((z > 0) & (z < 1))
    assert z[0] == 2.0**-53 and z[1] == 1 - 2.0**-53
    x = stats.norm(0, 1).ppf(z)
    assert np.all(np.isfinite(x))
    # symmetric lattice: the extreme quantiles are mirror images
    assert x[0] == -x[1]


def test_rejects_unfrozen_family():
    with pytest.raises(TypeError, match="unfrozen family"):
        InverseTransformSampler(stats.norm)


@pytest.mark.parametrize("dist", [stats.poisson(3.0), stats.poisson])
def test_rejects_discrete(dist):
    with pytest.raises(TypeError, match="discrete"):
        InverseTransformSampler(dist)


@pytest.mark.parametrize("obj", [None, 3.0, "norm", np.zeros(3)])
def test_rejects_non_distributions(obj):
    with pytest.raises(TypeError, match="frozen scipy.stats continuous"):
        InverseTransformSampler(obj)


def test_rejects_invalid_and_array_parameters():
    with pytest.raises(ValueError, match="outside the domain"):
        InverseTransformSampler(stats.norm(0, -1))
    with pytest.raises(ValueError, match="scalar parameters"):
        InverseTransformSampler(stats.norm([0.0, 1.0], 1.0))


def test_passthroughs():
    dist = stats.gamma(2.0, loc=1.0, scale=3.0)
    sampler = InverseTransformSampler(dist)
    q = np.linspace(0.01, 0.99, 7)
    np.testing.assert_allclose(sampler.cdf(sampler.ppf(q)), q, rtol=1e-10)
    np.testing.assert_array_equal(sampler.ppf(q), dist.ppf(q))
    assert sampler.support() == (1.0, math.inf)
    assert sampler.name == "gamma" and sampler.dist is dist
    assert "gamma" in repr(sampler)


def test_from_name_matches_direct_construction():
    a = InverseTransformSampler.from_name("norm", 200, 40)
    b = InverseTransformSampler(stats.norm(200, 40))
    np.testing.assert_array_equal(a.sample(50, random_state=1), b.sample(50, random_state=1))
    c = InverseTransformSampler.from_name("gamma", 2.0, scale=3.0)
    assert c.dist.mean() == pytest.approx(6.0)


def test_from_name_unknown_lists_close_matches():
    with pytest.raises(ValueError, match="'norm'") as info:
        InverseTransformSampler.from_name("nrom", 0, 1)
    assert "unknown" in str(info.value)
    with pytest.raises(ValueError, match="continuous_family_names"):
        InverseTransformSampler.from_name("zzzzqqqq")


def test_from_name_discrete_and_wrong_counts():
    with pytest.raises(ValueError, match="discrete"):
        InverseTransformSampler.from_name("poisson", 3)
    with pytest.raises(ValueError, match=r"norm\(loc=0, scale=1\)"):
        InverseTransformSampler.from_name("norm", 1, 2, 3)
    with pytest.raises(ValueError, match=r"gamma\(a, loc=0, scale=1\)"):
        InverseTransformSampler.from_name("gamma")
    with pytest.raises(ValueError, match="invalid parameters"):
        InverseTransformSampler.from_name("norm", 0, bogus=1)
    with pytest.raises(ValueError, match="outside the domain"):
        InverseTransformSampler.from_name("norm", 0, -2)


def test_continuous_family_names():
    names = continuous_family_names()
    assert {"norm", "gamma", "beta", "lognorm"} <= set(names)
    assert "poisson" not in names
    assert names == sorted(names)


# --------------------------------------------------------------------------------------
# fit_univariate
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gamma_fit():
    x = np.random.default_rng(2024).gamma(2.0, 3.0, size=2000)
    return x, fit_univariate(x)


@pytest.fixture(scope="module")
def normal_fit():
    x = np.random.default_rng(99).normal(200.0, 40.0, size=1000)
    return x, fit_univariate(x)


def test_gamma_data_prefers_a_skewed_family(gamma_fit):
    _, fit = gamma_fit
    assert isinstance(fit, UnivariateFit)
    assert fit.best in {"gamma", "lognorm", "weibull_min"}
    assert fit["norm"].aic - fit[fit.best].aic > 10
    # The fitted gamma's moments are near the truth (mean 6, sd sqrt(18)).
    rec = fit["gamma"]
    n = fit.n_samples
    assert abs(rec.dist.mean() - 6.0) < 5 * math.sqrt(18.0 / n)
    assert abs(rec.dist.std() - math.sqrt(18.0)) < 0.1 * math.sqrt(18.0)


def test_normal_data_keeps_norm_close_to_best(normal_fit):
    x, fit = normal_fit
    norm_rec = fit["norm"]
    assert norm_rec.aic - fit[fit.best].aic <= 2.0
    n = x.size
    loc, scale = norm_rec.params
    assert abs(loc - 200.0) < 5 * 40.0 / math.sqrt(n)
    assert abs(scale - 40.0) < 5 * 40.0 / math.sqrt(2 * n)
    assert norm_rec.n_params == 2


def test_norm_fit_equals_scipy_reference(normal_fit):
    x, fit = normal_fit
    np.testing.assert_allclose(fit["norm"].params, stats.norm.fit(x), rtol=1e-12)
    ref = stats.norm(*stats.norm.fit(x))
    ll = float(np.sum(ref.logpdf(x)))
    assert fit["norm"].loglik == pytest.approx(ll, rel=1e-12)
    assert fit["norm"].aic == pytest.approx(4 - 2 * ll, rel=1e-12)
    assert fit["norm"].bic == pytest.approx(2 * math.log(x.size) - 2 * ll, rel=1e-12)
    ks = stats.kstest(x, ref.cdf)
    assert fit["norm"].ks_statistic == pytest.approx(ks.statistic)
    assert fit["norm"].ks_pvalue == pytest.approx(ks.pvalue)


def test_table_sorted_with_failures_last(gamma_fit):
    x, fit = gamma_fit
    assert {r.name for r in fit.table} == set(DEFAULT_CANDIDATES)
    ok = [r for r in fit.table if r.ok]
    failed = [r for r in fit.table if not r.ok]
    assert fit.table == ok + failed
    assert [r.aic for r in ok] == sorted(r.aic for r in ok)
    assert fit.table[0].name == fit.best
    # beta is fitted on (0, 1) by default, so it is skipped for this data, with a reason.
    beta = fit["beta"]
    assert not beta.ok and "support" in beta.error and math.isnan(beta.aic)
    assert fit.dist is fit.table[0].dist
    sampler = fit.sampler()
    assert isinstance(sampler, InverseTransformSampler) and sampler.dist is fit.dist
    assert sampler.sample(10, random_state=0).shape == (10,)
    assert x.size == fit.n_samples


def test_str_table_is_readable(gamma_fit):
    _, fit = gamma_fit
    text = str(fit)
    assert fit.best in text and "AIC" in text and "failed" in text and "optimistic" in text
    assert len(text.splitlines()) == len(fit.table) + 4


def test_as_dicts_is_json_serialisable(gamma_fit):
    _, fit = gamma_fit
    rows = fit.as_dicts()
    assert rows[0]["name"] == fit.best
    json.dumps(rows)


def test_getitem_unknown_raises(gamma_fit):
    _, fit = gamma_fit
    with pytest.raises(KeyError, match="cauchy"):
        fit["cauchy"]


def test_bic_criterion_and_unit_interval_data():
    x = np.random.default_rng(5).beta(2.0, 5.0, size=1500)
    fit = fit_univariate(x, candidates=("norm", "beta", "gamma"), criterion="BIC")
    assert fit.criterion == "bic"
    assert fit.best == "beta"
    beta = fit["beta"]
    assert beta.n_params == 2  # loc and scale held fixed
    assert beta.params_dict()["loc"] == 0.0 and beta.params_dict()["scale"] == 1.0
    assert beta.params_dict()["a"] == pytest.approx(2.0, rel=0.15)
    bics = [r.bic for r in fit.table if r.ok]
    assert bics == sorted(bics)


def test_candidates_as_families_and_fit_kwargs():
    x = np.random.default_rng(8).lognormal(1.0, 0.5, size=800)
    fit = fit_univariate(
        x, candidates=[stats.lognorm, "norm", stats.lognorm], fit_kwargs={"lognorm": {"floc": 0}}
    )
    assert [r.name for r in fit.table] == ["lognorm", "norm"]
    rec = fit["lognorm"]
    assert rec.n_params == 2 and rec.params_dict()["loc"] == 0.0
    assert rec.params_dict()["s"] == pytest.approx(0.5, rel=0.1)
    assert fit.best == "lognorm"
    single = fit_univariate(x, candidates="norm")
    assert [r.name for r in single.table] == ["norm"]


def test_fixed_loc_precheck_skips_impossible_support():
    x = np.random.default_rng(1).normal(0.0, 1.0, 200)
    fit = fit_univariate(x, candidates=("norm", "expon"), fit_kwargs={"expon": {"floc": 0.0}})
    assert not fit["expon"].ok and "skipped" in fit["expon"].error


def test_bad_candidates_and_criterion():
    x = np.arange(10.0)
    with pytest.raises(ValueError, match="'norm'"):
        fit_univariate(x, candidates=("nrom",))
    with pytest.raises(TypeError, match="discrete"):
        fit_univariate(x, candidates=(stats.poisson,))
    with pytest.raises(TypeError, match="frozen"):
        fit_univariate(x, candidates=(stats.norm(0, 1),))
    with pytest.raises(TypeError, match="candidates must be"):
        fit_univariate(x, candidates=(3,))
    with pytest.raises(ValueError, match="empty"):
        fit_univariate(x, candidates=())
    with pytest.raises(ValueError, match="criterion"):
        fit_univariate(x, criterion="hqic")


@pytest.mark.parametrize(
    "x, match",
    [
        ([1.0, 1.0, 1.0, 1.0], "constant"),
        ([1.0, 2.0], "at least 3"),
        ([1.0, np.nan, 2.0, 3.0], "NaN"),
        (np.ones((4, 2)), "1-D"),
        (["a", "b", "c"], "array of numbers"),
    ],
)
def test_bad_data(x, match):
    with pytest.raises(DataError, match=match):
        fit_univariate(x, candidates=("norm",))
    with pytest.raises(ValueError):  # DataError is a ValueError
        fit_univariate(x, candidates=("norm",))


def test_column_vector_accepted():
    x = np.random.default_rng(0).normal(size=(50, 1))
    assert fit_univariate(x, candidates=("norm",)).n_samples == 50


def test_all_candidates_failing_raises_fit_error():
    x = np.random.default_rng(0).normal(5.0, 1.0, 100)
    with pytest.raises(FitError, match="beta"):
        fit_univariate(x, candidates=("beta",))


# --------------------------------------------------------------------------------------
# Property test
# --------------------------------------------------------------------------------------

PROPERTY_DISTS = [
    stats.norm(200, 40),
    stats.expon(scale=2.0),
    stats.beta(0.5, 0.5),
    stats.uniform(-1.0, 2.0),
    stats.lognorm(1.5),
]


@settings(max_examples=60, deadline=None)
@given(
    seed=hst.integers(min_value=0, max_value=2**32 - 1),
    n=hst.integers(min_value=0, max_value=300),
    which=hst.integers(min_value=0, max_value=len(PROPERTY_DISTS) - 1),
)
def test_samples_in_support_and_latent_open(seed, n, which):
    dist = PROPERTY_DISTS[which]
    z, x = InverseTransformSampler(dist).sample(n, random_state=seed, return_latent=True)
    assert z.shape == x.shape == (n,)
    assert np.all((z > 0) & (z < 1))
    lo, hi = dist.support()
    assert np.all(np.isfinite(x))
    assert np.all((x >= lo) & (x <= hi))
