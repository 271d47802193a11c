"""Chunked generation and streaming fit: chunk-size invariance, equality with fit, files."""

import os
from pathlib import Path

import numpy as np
import pytest

from bayesgen import BayesClassifier, DataError, FitError, streaming
from bayesgen.streaming import default_block_size


def _data(n=1200, d=5, k=3, seed=0, offset=50.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    mix = rng.normal(size=(k, d, d)) * 0.5 + np.eye(d)
    X = np.einsum("nd,nde->ne", rng.normal(size=(n, d)), mix[y]) + rng.normal(0, 3, (k, d))[y]
    return X + offset, y


@pytest.fixture(scope="module")
def model():
    X, y = _data()
    return BayesClassifier(shrinkage="auto").fit(X, y)


def _collect(chunks):
    chunks = list(chunks)
    return np.vstack([X for X, _ in chunks]), np.concatenate([y for _, y in chunks]), chunks


def _assert_same_model(a, b, rtol=1e-10):
    np.testing.assert_array_equal(a.classes_, b.classes_)
    assert a.classes_.dtype == b.classes_.dtype
    np.testing.assert_allclose(a.class_count_, b.class_count_)
    np.testing.assert_allclose(a.class_prior_, b.class_prior_, rtol=1e-12)
    assert a.n_features_in_ == b.n_features_in_
    for da, db in zip(a.densities_, b.densities_, strict=True):
        np.testing.assert_allclose(da.mean_, db.mean_, rtol=rtol, atol=1e-12)
        cov_a, cov_b = da.covariance(), db.covariance()
        np.testing.assert_allclose(cov_a, cov_b, rtol=rtol, atol=rtol * np.abs(cov_b).max())


# ------------------------------------------------------------------ chunked generation
@pytest.mark.parametrize("labels", ["prior", "array", "scalar"])
def test_same_seed_same_rows_whatever_the_chunk_size(model, labels):
    kwargs = {"block_size": 97, "random_state": 11}
    if labels == "array":
        kwargs["y"] = np.random.default_rng(1).integers(0, 3, size=500)
        n = None
    elif labels == "scalar":
        kwargs["y"] = 2
        n = 500
    else:
        n = 500
    ref_X, ref_y, _ = _collect(model.iter_samples(n, chunk_size=500, **kwargs))
    assert ref_X.shape == (500, 5)
    for chunk_size in (1, 7, 97, 130, 499, 2000):
        X, y, chunks = _collect(model.iter_samples(n, chunk_size=chunk_size, **kwargs))
        np.testing.assert_array_equal(X, ref_X)
        np.testing.assert_array_equal(y, ref_y)
        assert all(c[0].shape[0] == chunk_size for c in chunks[:-1])
    if labels == "array":
        np.testing.assert_array_equal(ref_y, kwargs["y"])
    if labels == "scalar":
        assert set(ref_y) == {2}


def test_seeds_blocks_and_generators(model):
    first = lambda **kw: _collect(model.iter_samples(300, **kw))[0]  # noqa: E731
    np.testing.assert_array_equal(first(random_state=3), first(random_state=3))
    assert not np.array_equal(first(random_state=3), first(random_state=4))
    assert not np.array_equal(first(), first())
    # the block size, not the chunk size, decides the numbers
    assert not np.array_equal(
        first(random_state=3, block_size=64), first(random_state=3, block_size=128)
    )
    seq = np.random.SeedSequence(99)
    np.testing.assert_array_equal(first(random_state=seq), first(random_state=99))
    gen = np.random.default_rng(5)
    a, b = first(random_state=gen), first(random_state=gen)
    assert not np.array_equal(a, b)  # a Generator moves on between calls...
    gen2 = np.random.default_rng(5)
    np.testing.assert_array_equal(first(random_state=gen2), a)  # ...reproducibly
    assert default_block_size(5) == 65536 and default_block_size(784) == 4096
    assert list(model.iter_samples(0, random_state=0)) == []


def test_chunked_samples_follow_the_model(model):
    n = 60_000
    X, y, _ = _collect(model.iter_samples(n, chunk_size=7000, block_size=4096, random_state=0))
    freq = np.array([(y == c).mean() for c in model.classes_])
    se = np.sqrt(model.class_prior_ * (1 - model.class_prior_) / n)
    assert np.all(np.abs(freq - model.class_prior_) < 5 * se)
    assert not np.all(np.diff(y[:500]) >= 0), "rows should come in random order"
    for k, density in enumerate(model.densities_):
        Xk = X[y == model.classes_[k]]
        cov = density.covariance()
        se_mean = np.sqrt(np.diag(cov) / len(Xk))
        assert np.all(np.abs(Xk.mean(0) - density.mean_) < 5 * se_mean)
        np.testing.assert_allclose(np.cov(Xk.T), cov, atol=0.06 * np.abs(cov).max())


def test_float32_path_matches_moments(model):
    X, y = model.sample(40_000, random_state=1, dtype=np.float32)
    assert X.dtype == np.float32
    chunks = list(model.iter_samples(100, chunk_size=30, dtype=np.float32, random_state=1))
    assert all(c[0].dtype == np.float32 for c in chunks)
    for k, density in enumerate(model.densities_):
        Xk = X[y == model.classes_[k]].astype(np.float64)
        cov = density.covariance()
        assert np.all(np.abs(Xk.mean(0) - density.mean_) < 5 * np.sqrt(np.diag(cov) / len(Xk)))
        np.testing.assert_allclose(np.cov(Xk.T), cov, atol=0.06 * np.abs(cov).max())
    with pytest.raises(DataError, match="float32 or numpy.float64"):
        model.sample(3, dtype=np.int32)


def test_iter_samples_bad_arguments(model):
    with pytest.raises(DataError, match="chunk_size"):
        model.iter_samples(10, chunk_size=0)
    with pytest.raises(DataError, match="block_size"):
        model.iter_samples(10, block_size=2.5)
    with pytest.raises(DataError, match="known labels"):
        model.iter_samples(10, y="nope")


def test_diag_and_tied_models_sample_in_chunks():
    X, y = _data(seed=3)
    for kind in ("diag", "tied"):
        m = BayesClassifier(kind).fit(X, y)
        a, _, _ = _collect(m.iter_samples(900, chunk_size=100, block_size=256, random_state=2))
        b, _, _ = _collect(m.iter_samples(900, chunk_size=333, block_size=256, random_state=2))
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ streaming fit
def _write_csv(path: Path, X, y, header=True):
    names = ",".join(["label"] + [f"f{j}" for j in range(X.shape[1])])
    pairs = zip(y, X, strict=True)
    rows = [",".join([str(label)] + [repr(float(v)) for v in row]) for label, row in pairs]
    path.write_text((names + "\n" if header else "") + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("chunk_rows", [1, 173, 5000])
def test_fit_file_equals_in_memory_fit(tmp_path, chunk_rows):
    X, y = _data(n=700, seed=4, offset=1e4)
    path = _write_csv(tmp_path / "data.csv", X, y)
    whole = BayesClassifier(shrinkage="auto").fit(X, y)
    seen = []
    model = streaming.fit_file(
        BayesClassifier(shrinkage="auto"), path, chunk_rows=chunk_rows, progress=seen.append
    )
    _assert_same_model(model, whole)
    np.testing.assert_allclose(model.score_samples(X), whole.score_samples(X), rtol=1e-10)
    rows = [p.rows for p in seen]
    assert rows == sorted(rows) and rows[-1] == 700 and seen[-1].done
    assert seen[-1].fraction == 1.0 and seen[0].total_rows is not None
    assert seen[-1].like.feature_names == [f"f{j}" for j in range(5)]


def test_fit_file_prefetch_off_and_interrupted(tmp_path):
    import threading

    X, y = _data(n=500, seed=9)
    path = _write_csv(tmp_path / "data.csv", X, y)
    on = streaming.fit_file(BayesClassifier(), path, chunk_rows=60)
    off = streaming.fit_file(BayesClassifier(), path, chunk_rows=60, prefetch=False)
    _assert_same_model(on, off, rtol=1e-13)

    def interrupt(progress):
        if progress.chunks == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        streaming.fit_file(BayesClassifier(), path, chunk_rows=60, progress=interrupt)
    assert not [t for t in threading.enumerate() if t.name == "bayesgen-reader"]


def test_fit_file_discovers_classes_across_chunks(tmp_path):
    X, y = _data(n=600, seed=5)
    order = np.argsort(y, kind="stable")  # first chunks see one class only
    X, y = X[order], np.array(["cat", "dog", "emu"])[y[order]]
    path = _write_csv(tmp_path / "sorted.csv", X, y)
    for kind in ("gaussian", "diag", "tied"):
        whole = BayesClassifier(kind).fit(X, y)
        model = streaming.fit_file(BayesClassifier(kind), path, chunk_rows=64)
        _assert_same_model(model, whole)
        assert model.classes_.tolist() == ["cat", "dog", "emu"]


def test_fit_file_npz_and_classes_argument(tmp_path):
    X, y = _data(n=400, seed=6)
    path = tmp_path / "data.npz"
    np.savez(path, X=X, y=y)
    model = streaming.fit_file(BayesClassifier(), path, chunk_rows=50, classes=[0, 1, 2, 3])
    assert model.classes_.tolist() == [0, 1, 2, 3]
    assert model.class_count_[3] == 0 and model.class_prior_[3] == 0
    whole = BayesClassifier("gaussian").fit(X, y)
    for k in range(3):
        np.testing.assert_allclose(model.densities_[k].mean_, whole.densities_[k].mean_)
    with pytest.raises(DataError, match="not in classes"):
        streaming.fit_file(BayesClassifier(), path, chunk_rows=50, classes=[0, 1])


def test_fit_file_errors(tmp_path):
    X, y = _data(n=300, seed=7)
    X[250, 2] = np.inf
    path = _write_csv(tmp_path / "bad.csv", X, y)
    with pytest.raises(DataError, match="finite"):
        streaming.fit_file(BayesClassifier(), path, chunk_rows=100)
    one = _write_csv(tmp_path / "one.csv", X[:10], np.zeros(10, dtype=int))
    with pytest.raises(DataError, match="one class"):
        streaming.fit_file(BayesClassifier(), one)
    from sklearn.neighbors import KernelDensity

    with pytest.raises(FitError, match="chunks"):
        streaming.fit_file(BayesClassifier(KernelDensity()), one)


def test_fit_file_real_kaggle_csv(tmp_path):
    shared = Path(
        os.environ.get(
            "BAYESGEN_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"
        )
    )
    source = shared / "digit-recognizer" / "train_first1537rows.csv"
    if not source.exists():
        pytest.skip("shared data not available")
    from bayesgen.io import read_labelled

    path = tmp_path / "train.csv"  # the first 700 rows keep the test quick
    with open(source) as handle:
        path.write_text("".join(line for _, line in zip(range(701), handle, strict=False)))
    data = read_labelled(path)
    assert data.source_format == "kaggle-csv" and data.X.shape == (700, 784)
    whole = BayesClassifier(shrinkage="auto").fit(data.X, data.y)
    model = streaming.fit_file(BayesClassifier(shrinkage="auto"), path, chunk_rows=250)
    _assert_same_model(model, whole)


# ------------------------------------------------------------------ streaming output
def test_write_samples_npz_and_csv_equal_iter_samples(tmp_path, model):
    X_ref, y_ref, _ = _collect(model.iter_samples(1000, block_size=256, random_state=8))
    from bayesgen.io import read_labelled

    for name in ("a.npz", "b.csv"):
        path = tmp_path / name
        ticks = []
        n = streaming.write_samples(
            model, 1000, path, chunk_size=77, block_size=256, random_state=8, progress=ticks.append
        )
        assert n == 1000 and ticks[-1].done and ticks[-1].rows == 1000
        back = read_labelled(path)
        np.testing.assert_array_equal(back.y, y_ref)
        np.testing.assert_allclose(back.X, X_ref, rtol=1e-15)
    small = tmp_path / "c.csv"
    streaming.write_samples(model, 1000, small, chunk_size=1000, block_size=256, random_state=8)
    assert small.read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_write_samples_explicit_labels(tmp_path, model):
    labels = np.array([2, 0, 1, 1, 2, 0, 0])
    path = tmp_path / "lab.npz"
    assert streaming.write_samples(model, None, path, y=labels, chunk_size=3, random_state=0) == 7
    from bayesgen.io import read_labelled

    np.testing.assert_array_equal(read_labelled(path).y, labels)


def _kaggle_csv(path, n=300, seed=0, odd_cell=None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    pixels = np.zeros((n, 784), dtype=np.int64)
    pixels[:, 300:330] = rng.integers(0, 256, size=(n, 30))
    pixels[:, 330:340] = (pixels[:, 300:310] // 2 + 10 * y[:, None]).clip(0, 255)
    lines = ["label," + ",".join(f"pixel{j}" for j in range(784))]
    for i in range(n):
        cells = [str(v) for v in pixels[i]]
        if odd_cell is not None and i == odd_cell:
            cells[305] = f"{pixels[i, 305]}.0"  # an integer written as a float
        lines.append(f"{y[i]}," + ",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("odd_cell", [None, 250])
def test_fit_file_of_raw_kaggle_pixels_equals_the_scaled_fit(tmp_path, monkeypatch, odd_cell):
    """Kaggle pixels are reduced as read (uint8) and the statistics rescaled; a block that
    does not parse as uint8 (a '7.0') comes as exact float counts; same model either way."""
    import bayesgen.io as bio

    monkeypatch.setattr(bio, "_CSV_BLOCK_BYTES", 64 << 10)  # several blocks per chunk
    path = _kaggle_csv(tmp_path / "train.csv", odd_cell=odd_cell)
    pairs = list(bio.iter_chunks(path, 100, _raw_pixels=True))
    assert [divisor for _, divisor in pairs] == [255.0] * 3
    dtypes = [chunk.X.dtype for chunk, _ in pairs]
    assert dtypes[0] == np.uint8 and (odd_cell is not None) == (np.float64 in dtypes)
    data = bio.read_labelled(path)
    np.testing.assert_array_equal(np.concatenate([c.X for c, _ in pairs]) / 255.0, data.X)
    for kind, shrinkage in (("gaussian", "auto"), ("diag", 0.1)):
        whole = BayesClassifier(kind, shrinkage=shrinkage).fit(data.X, data.y)
        model = streaming.fit_file(BayesClassifier(kind, shrinkage=shrinkage), path, chunk_rows=100)
        _assert_same_model(model, whole)


def test_raw_chunks_of_other_files_come_unscaled_with_no_divisor(tmp_path):
    import bayesgen.io as bio

    X, y = _data(n=120, seed=2)
    path = _write_csv(tmp_path / "plain.csv", X, y)
    pairs = list(bio.iter_chunks(path, 50, _raw_pixels=True))
    assert [divisor for _, divisor in pairs] == [None] * 3
    np.testing.assert_allclose(np.concatenate([c.X for c, _ in pairs]), X)
