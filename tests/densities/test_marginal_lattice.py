"""When a feature's values form a lattice: whole numbers beside one-decimal columns stay
whole numbers, and a sparse grid is kept only where the values use its step."""

import numpy as np

from bayesgen import GaussianCopulaDensity
from bayesgen.densities.marginals import EmpiricalMarginals


def test_whole_numbers_are_not_a_grid_of_the_other_columns_decimals():
    rng = np.random.default_rng(0)
    n = 400
    cylinders = rng.choice([4.0, 6.0, 8.0], size=n)
    displacement = np.round(cylinders * 40 + rng.normal(0, 10, n), 1)  # one decimal
    X = np.column_stack([cylinders, displacement])
    density = GaussianCopulaDensity(random_state=0).fit(X)
    samples = density.sample(20_000, random_state=1)
    # only the observed levels, never 4.1 .. 7.9, and no 5 or 7 after rounding
    assert set(np.unique(samples[:, 0])) <= {4.0, 6.0, 8.0}


def _pixel_column(rng, n, rare_levels):
    """A pixel column on the 1/255 grid: 0 mostly, 2-4 often, ``rare_levels`` once each;
    1/255 never. A second column sets the data's resolution to 1/255."""
    frequent = rng.choice([0.0, 2.0, 3.0, 4.0], size=n - len(rare_levels), p=[0.7, 0.1, 0.1, 0.1])
    pixels = np.r_[frequent, rare_levels] / 255
    other = rng.integers(0, 256, size=n) / 255
    return np.column_stack([pixels, other])


def test_a_grid_used_by_the_values_keeps_its_unseen_levels():
    rng = np.random.default_rng(1)
    X = _pixel_column(rng, 2_000, np.arange(10.0, 30.0))  # 20 levels seen once
    density = GaussianCopulaDensity(random_state=0).fit(X)
    draws = density.sample(200_000, random_state=2)[:, 0]
    # 1/255 was never seen but lies on the grid the values use, and levels seen once say
    # that unseen ones occur (Good-Turing): it keeps a little mass
    share = np.mean(np.isclose(draws, 1 / 255))
    assert 0 < share < 20 / 2_000


def test_an_empty_gap_between_frequent_levels_keeps_only_a_trace():
    rng = np.random.default_rng(1)
    X = _pixel_column(rng, 2_000, [])  # no level seen once: (0 + 1) / n of unseen mass
    density = GaussianCopulaDensity(random_state=0).fit(X)
    draws = density.sample(400_000, random_state=2)[:, 0]
    share = np.mean(np.isclose(draws, 1 / 255))
    assert share < 3 / 2_000  # the add-alpha smoothing alone gave 0.5 / 2000 per level...
    assert share < 0.5 * np.mean(np.isclose(draws, 2 / 255)) / 100
    assert np.all(np.isfinite(density.score_samples(np.array([[1 / 255, 0.5]]))))


def test_round_off_in_the_data_is_one_value_with_its_neighbour():
    """``0.41000000000000003`` beside ``0.41`` (what float arithmetic writes) once broke
    the bins ("non-increasing edges"); the marginal is now the one of the clean values."""
    rng = np.random.default_rng(0)
    clean = np.round(rng.normal(0, 0.5, (300, 1)), 2)
    noisy = clean.copy()
    noisy[::7, 0] = noisy[::7, 0] + noisy[::7, 0] * 2e-16  # one ulp or so
    assert not np.array_equal(noisy, clean)
    a = EmpiricalMarginals.fit(clean)
    b = EmpiricalMarginals.fit(noisy)
    for name in ("edges", "cdf"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-12, atol=1e-15)


def test_a_column_of_few_frequent_values_gives_almost_only_those():
    """Discounts of 0, 5, 10, 20 or 50 %: the grid of step 5 is real (every value on it),
    but 15, 25 ... 45 were never seen among hundreds of rows and keep only a trace."""
    rng = np.random.default_rng(0)
    discount = rng.choice([0.0, 5, 10, 20, 50], size=300, p=[0.3, 0.3, 0.2, 0.15, 0.05])
    other = np.round(rng.normal(size=300) + discount / 10, 2)
    density = GaussianCopulaDensity(random_state=0).fit(np.column_stack([discount, other]))
    draws = density.sample(50_000, random_state=1)[:, 0]
    unseen = ~np.isin(draws, [0, 5, 10, 20, 50])
    # each unseen level holds (N_1 + 1) / U = 1 / 6 of a row's mass among 300 rows (0.056 %
    # each); the add-0.5 smoothing gave 0.5 (1 % in all, what a newcomer saw)
    assert unseen.mean() < 0.005
