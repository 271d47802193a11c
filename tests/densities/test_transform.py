"""Dequantisation + logit transform and TransformedDensity (MAF protocol)."""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import logit

import bayesgen
from bayesgen import BayesClassifier, DataError, GaussianDensity
from bayesgen.densities import LogitTransform, TransformedDensity
from bayesgen.densities.transform import bits_per_dim


def _pixels(n=2000, d=3, seed=0):
    rng = np.random.default_rng(seed)
    mix = np.array([[1.5, 0.5, 0.0], [0.0, 1.2, 0.3], [0.0, 0.0, 1.0]])[:d, :d]
    z = rng.normal(size=(n, d)) @ mix
    return np.clip(np.round(255 / (1 + np.exp(-z))), 0, 255)  # integer pixel counts


def test_forward_inverse_and_jacobian():
    tf = LogitTransform().fit(np.array([[0.0, 1.0]]))
    assert tf.input_scale_ == 255.0
    Y = np.random.default_rng(0).uniform(0.001, 0.999, size=(50, 2))
    Z = tf.forward(Y)
    np.testing.assert_allclose(Z, logit(1e-6 + (1 - 2e-6) * Y))
    np.testing.assert_allclose(tf.inverse(Z), Y, atol=1e-12)
    h = 1e-7
    numeric = np.log((tf.forward(Y + h) - tf.forward(Y - h)) / (2 * h)).sum(1)
    np.testing.assert_allclose(tf.log_det_jacobian(Y), numeric, rtol=1e-6)


def test_input_scale_auto_and_range_check():
    assert LogitTransform().fit(np.array([[0.0, 255.0]])).input_scale_ == 1.0
    with pytest.raises(DataError, match="input_scale"):
        LogitTransform(input_scale=255).fit(np.array([[0.0, 2.0]]))


def test_density_of_y_integrates_to_one():
    P = _pixels(d=1)
    density = TransformedDensity(GaussianDensity(), random_state=0).fit(P / 255)
    grid = np.linspace(0.0, 1.0, 400_001)[1:-1, None]
    p = np.exp(density.score_unit(grid))
    assert np.trapezoid(p, grid[:, 0]) == pytest.approx(1.0, abs=2e-3)


def test_score_samples_is_the_affine_image_of_score_unit():
    P = _pixels()
    density = TransformedDensity(random_state=0).fit(P / 255)
    X = P[:20] / 255
    expected = density.score_unit((P[:20] + 0.5) / 256) + 3 * math.log(255 / 256)
    np.testing.assert_allclose(density.score_samples(X), expected)


def test_samples_are_pixels_in_range_with_the_model_cell_probabilities():
    P = _pixels(d=1)
    density = TransformedDensity(GaussianDensity(), random_state=0).fit(P / 255)
    S = density.sample(200_000, random_state=1)
    assert S.min() >= 0 and S.max() <= 1
    counts = np.round(S[:, 0] * 255)
    np.testing.assert_allclose(counts, S[:, 0] * 255, atol=1e-9)  # on the pixel lattice
    # P(pixel = v) = P(z in the logit image of [v/256, (v+1)/256)), end cells take the margins
    mu = density.base_.mean_[0]
    sd = math.sqrt(density.base_.covariance()[0, 0])
    edges = density.transform_.forward(np.arange(1, 256)[None, :] / 256)[0]
    cdf = np.r_[0.0, stats.norm.cdf(edges, mu, sd), 1.0]
    probs = np.diff(cdf)
    freq = np.bincount(counts.astype(int), minlength=256) / S.shape[0]
    se = np.sqrt(probs * (1 - probs) / S.shape[0])
    assert np.all(np.abs(freq - probs) < 5 * se + 1e-12)


def test_bits_per_dim_conventions():
    assert bits_per_dim(np.zeros(10), 784) == pytest.approx(8.0)  # uniform on [0, 1]^d
    assert bits_per_dim(784 * math.log(256), 784) == pytest.approx(0.0)
    P = _pixels()
    density = TransformedDensity(random_state=0).fit(P / 255)
    Y = density.dequantize(P / 255, random_state=3)
    assert np.all((Y > 0) & (Y < 1))
    np.testing.assert_array_equal(np.floor(Y * 256), P)
    assert density.bits_per_dim(P / 255, random_state=3) == pytest.approx(
        bits_per_dim(density.score_unit(Y), 3)
    )


def test_dequantize_only_transform():
    P = _pixels()
    density = TransformedDensity(transform=LogitTransform(logit=False), random_state=0)
    density.fit(P)  # raw counts: input_scale resolves to 1
    assert density.transform_.input_scale_ == 1.0
    S = density.sample(100, random_state=0)
    assert S.min() >= 0 and S.max() <= 255 and np.all(S == np.round(S))


@pytest.mark.parametrize(
    "name", ["gaussian+logit", "lowrank:2+logit", "copula+deq", "mppca:2x1+glogit"]
)
def test_classifier_with_transform_round_trip(tmp_path, name):
    P = _pixels(n=1200)
    y = (P[:, 0] > 128).astype(int)
    model = BayesClassifier(name, random_state=0).fit(P / 255, y)
    Xs, _ = model.sample(50, random_state=0)
    assert Xs.min() >= 0 and Xs.max() <= 1
    path = tmp_path / "t.bgm"
    model.save(path)
    loaded = bayesgen.load(path)
    np.testing.assert_allclose(
        loaded.score_samples(P[:20] / 255), model.score_samples(P[:20] / 255)
    )
    np.testing.assert_array_equal(
        loaded.sample(5, random_state=4)[0], model.sample(5, random_state=4)[0]
    )


def test_tied_with_transform_is_refused():
    with pytest.raises(ValueError, match="tied"):
        BayesClassifier("tied+logit").fit(np.zeros((4, 2)), [0, 0, 1, 1])


# --- Gaussian end cells ("glogit") -------------------------------------------------------
def _glogit(**kw):
    return LogitTransform(end_cells="gaussian", **kw).fit(np.array([[0.0, 1.0]]))


@pytest.mark.parametrize("scale,cut", [(1.0, 2.0), (0.5, 1.0), (2.0, 3.0)])
def test_gaussian_end_cells_forward_inverse_and_jacobian(scale, cut):
    tf = _glogit(end_scale=scale, end_cut=cut)
    rng = np.random.default_rng(1)
    # every cell, with the two end cells heavily represented
    Y = np.concatenate(
        [
            rng.uniform(1e-6, 1 / 256 - 1e-6, 200),
            rng.uniform(1 / 256 + 1e-6, 1 - 1 / 256 - 1e-6, 200),
            1 - rng.uniform(1e-6, 1 / 256 - 1e-6, 200),
        ]
    )[:, None]
    Z = tf.forward(Y)
    np.testing.assert_allclose(tf.inverse(Z), Y, rtol=1e-9, atol=1e-15)
    inner = (Y[:, 0] > 1 / 256) & (Y[:, 0] < 1 - 1 / 256)
    np.testing.assert_allclose(Z[inner], logit(1e-6 + (1 - 2e-6) * Y[inner]))  # unchanged
    h = 1e-10
    numeric = np.log((tf.forward(Y + h) - tf.forward(Y - h)) / (2 * h))[:, 0]
    np.testing.assert_allclose(tf.log_det_jacobian(Y), numeric, rtol=1e-5)
    # monotone and continuous where the end cells meet the inner cells
    grid = np.linspace(1e-9, 1 - 1e-9, 200_001)[:, None]
    assert np.all(np.diff(tf.forward(grid)[:, 0]) > 0)
    for edge in (1 / 256, 1 - 1 / 256):
        lo, hi = tf.forward(np.array([[edge - 1e-12], [edge + 1e-12]]))[:, 0]
        assert abs(hi - lo) < 1e-6
    # a uniform position inside the first cell becomes a cut normal of scale `scale`
    u = rng.random(400_000)
    z0 = tf.forward((u / 256)[:, None])[:, 0]
    b = logit(1e-6 + (1 - 2e-6) / 256)
    assert z0.max() < b
    ref = stats.truncnorm(-np.inf, cut, loc=b - scale * cut, scale=scale)
    assert z0.mean() == pytest.approx(ref.mean(), abs=5 * ref.std() / math.sqrt(u.size))
    assert z0.std() == pytest.approx(ref.std(), rel=0.01)


def test_gaussian_end_cells_density_integrates_to_one_and_samples_quantise():
    P = _pixels(d=1)
    P[:600] = 0  # many blank pixels, as in MNIST
    density = TransformedDensity(GaussianDensity(), transform="glogit", random_state=0)
    density.fit(P / 255)
    assert density.transform_.end_cells == "gaussian"
    # the Gaussian tails of the end cells reach very close to 0 and 1: a grid dense there
    ends = np.geomspace(1e-300, 1 / 256, 50_000)
    grid = np.unique(
        np.concatenate(
            [ends, np.linspace(0.0, 1.0, 400_001)[1:-1], 1 - np.geomspace(1e-15, 1 / 256, 50_000)]
        )
    )[:, None]
    p = np.exp(density.score_unit(grid))
    assert np.trapezoid(p, grid[:, 0]) == pytest.approx(1.0, abs=2e-3)
    S = density.sample(50_000, random_state=2)
    assert S.min() >= 0 and S.max() <= 1
    np.testing.assert_allclose(np.round(S * 255), S * 255, atol=1e-9)
    # P(pixel = 0) is the base mass below the join b
    mu = density.base_.mean_[0]
    sd = math.sqrt(density.base_.covariance()[0, 0])
    b = density.transform_.forward(np.array([[1 / 256]]))[0, 0]
    p0 = stats.norm.cdf(b, mu, sd)
    se = math.sqrt(p0 * (1 - p0) / S.shape[0])
    assert abs((S[:, 0] == 0).mean() - p0) < 5 * se


def test_gaussian_end_cells_fit_blank_pixels_better_than_the_logit():
    """The point of the option: a blank-heavy pixel costs fewer bits under a Gaussian."""
    rng = np.random.default_rng(3)
    P = np.where(rng.random((4000, 1)) < 0.8, 0, rng.integers(1, 256, (4000, 1)))
    train, test = P[:3000] / 255, P[3000:] / 255
    bits = {}
    for name in ("logit", "glogit"):
        density = TransformedDensity(
            bayesgen.densities.GaussianMixtureDensity(3, random_state=0),
            transform=name,
            random_state=0,
        ).fit(train)
        bits[name] = density.bits_per_dim(test, random_state=4)
    assert bits["glogit"] < bits["logit"] - 0.1


def test_gaussian_end_cells_options_are_checked():
    with pytest.raises(ValueError, match="end_cells"):
        LogitTransform(end_cells="cubic").fit(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="end_scale"):
        LogitTransform(end_cells="gaussian", end_scale=0).fit(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="dequantize=True"):
        LogitTransform(end_cells="gaussian", dequantize=False).fit(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="glogit"):
        TransformedDensity(transform="probit").fit(np.zeros((4, 1)))
