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


def test_a_grid_used_by_the_values_keeps_its_unseen_levels():
    rng = np.random.default_rng(1)
    n = 2_000
    pixels = rng.choice([0.0, 2.0, 3.0, 4.0], size=n, p=[0.7, 0.1, 0.1, 0.1]) / 255
    other = rng.integers(0, 256, size=n) / 255  # sets the data's resolution to 1/255
    density = GaussianCopulaDensity(random_state=0).fit(np.column_stack([pixels, other]))
    levels = np.unique(density.sample(50_000, random_state=2)[:, 0])
    # 1/255 was never seen but lies on the grid the values use: it keeps a little mass
    assert np.any(np.isclose(levels, 1 / 255))


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
