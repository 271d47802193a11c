"""density="auto": one dequantised scale for every candidate, the time budget, progress
lines and the selection records (in model files and in `bayesgen inspect`)."""

import numpy as np
import pytest
from scipy.stats import poisson

import bayesgen
from bayesgen import BayesClassifier
from bayesgen.cli import main
from bayesgen.densities import AutoDensity, TransformedDensity
from bayesgen.densities.lattice import lattice_steps
from bayesgen.densities.select import TABLE_CANDIDATES, _check_record, describe_record


def _pixels(n=400, d=12, seed=0):
    """pixel / 255 images: blank and rarely inked pixels beside busy ones."""
    rng = np.random.default_rng(seed)
    counts = rng.binomial(255, rng.uniform(0.05, 0.6, size=d), size=(n, d))
    counts[:, :3] = 0
    counts[: n // 10, 3] = 253
    return counts / 255.0


def test_lattice_steps():
    rng = np.random.default_rng(1)
    X = np.column_stack(
        [
            rng.integers(0, 9, 200),  # integers
            rng.integers(0, 2, 200),  # a 0/1 column
            rng.integers(0, 100, 200) / 10,  # recorded to 0.1
            rng.normal(size=200),  # continuous
            np.full(200, 3.0),  # constant integer
        ]
    )
    np.testing.assert_allclose(lattice_steps(X), [1, 1, 0.1, 0, 1])
    steps = lattice_steps(_pixels())
    # blank pixels and a pixel seen at 0 and 253/255 share the lattice of the others
    np.testing.assert_allclose(steps, 1 / 255, rtol=1e-9)


def test_a_continuous_density_cannot_win_by_spiking_on_a_lattice():
    """Counts and a 0/1 column: without dequantisation a mixture put components on the
    lattice points and scored +5.7 nats per row; on the dequantised scale no density can
    beat the entropy of the discrete distribution (2.39 nats) by more than noise."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.poisson(2.0, 2000), rng.integers(0, 2, 2000)]).astype(float)
    auto = AutoDensity(["gaussian", "mixture:4", "mixture:8"], random_state=0).fit(X)
    k = np.arange(60)
    entropy = -np.sum(poisson.pmf(k, 2.0) * poisson.logpmf(k, 2.0)) + np.log(2.0)
    assert max(r["score"] for r in auto.selection_) < -entropy + 0.1


def test_the_winner_is_refitted_on_the_dequantised_scale():
    """Cells centred on the lattice points: the mean is that of the counts, the variance
    gains the cell's 1/12, and a constant column is a unit cell, not a spike."""
    rng = np.random.default_rng(4)
    X = np.column_stack([rng.poisson(3.0, 3000), np.zeros(3000)])
    auto = AutoDensity(["gaussian"], random_state=0).fit(X)
    np.testing.assert_allclose(auto.mean(), X.mean(0), atol=0.03)
    np.testing.assert_allclose(np.diag(auto.best_.covariance()), X.var(0) + 1 / 12, rtol=0.05)


def test_transformed_and_plain_families_are_scored_on_one_scale():
    """A diagonal Gaussian of the dequantised pixels, fitted directly (``diag``) or through
    the dequantising transform (``diag+deq``, on (pixel + u) / 256), is nearly the same
    model, and on near-Gaussian pixels so is one in logit space: on one scale their
    held-out scores agree (the plain one scored on the pixels as given would gain
    log 255 per blank pixel, and the transformed ones are densities of (pixel + u) / 256)."""
    X = _pixels(n=1500, seed=2)
    auto = AutoDensity(["diag", "diag+deq", "diag+logit"], random_state=0).fit(X)
    scores = [r["score"] for r in auto.selection_]
    assert max(scores) - min(scores) < 0.005 * abs(scores[0])


def test_budget_skips_the_rest_and_the_record_loads(tmp_path, capsys):
    X, y = _pixels(n=300), np.repeat([0, 1, 2], 100)
    auto = AutoDensity(["diag", "gaussian", "copula"], budget=0, progress=True, random_state=0)
    model = BayesClassifier(auto).fit(X, y)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 9 and err[1] == "gaussian: skipped (time budget)"
    for density in model.densities_:
        first, *rest = density.selection_
        assert first["chosen"] and first["seconds"] >= 0 and density.chosen_ == "diag"
        assert all(r["skipped"] == "time budget" and r["seconds"] is None for r in rest)
        table = density.selection_table()
        assert "skipped" in table and "seconds" in table
    path = tmp_path / "m.bgm"
    model.save(path)
    loaded = bayesgen.load(path)
    assert loaded.densities_[0].selection_ == model.densities_[0].selection_


def test_progress_function_sees_every_record_and_is_not_saved(tmp_path):
    seen = []
    X = _pixels(n=200)
    auto = AutoDensity(["diag", "gaussian"], progress=seen.append, random_state=0).fit(X)
    assert [r["name"] for r in seen] == ["diag", "gaussian"]
    assert seen == auto.selection_
    model = BayesClassifier(auto).fit(X, np.repeat([0, 1], 100))
    model.save(tmp_path / "m.bgm")
    assert bayesgen.load(tmp_path / "m.bgm").densities_[0].progress is None


def test_records_validate_old_and_new():
    old = {"name": "diag", "params": {}, "criterion": "bic", "score": 1.0, "chosen": True}
    _check_record({**old, "error": None}, "old")  # files from before the budget
    skipped = {**old, "score": None, "chosen": False, "error": None, "skipped": "time budget"}
    _check_record({**skipped, "seconds": None}, "new")
    with pytest.raises(ValueError, match="either a score or an error"):
        _check_record({**skipped, "score": 1.0}, "both")
    with pytest.raises(ValueError, match="skipped must be one of"):
        _check_record({**skipped, "skipped": "bored"}, "reason")
    with pytest.raises(ValueError, match="seconds must be"):
        _check_record({**old, "error": None, "seconds": -1.0}, "time")
    with pytest.raises(ValueError, match="budget"):
        AutoDensity(budget=-1).fit(np.zeros((20, 2)))
    assert describe_record({**skipped, "name": "copula"}) == "copula: skipped (time budget)"


def _csv(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "counts.csv"
    X = rng.poisson(4.0, size=(150, 4))
    y = np.repeat(["a", "b", "c"], 50)
    rows = [",".join(["label", "f0", "f1", "f2", "f3"])]
    rows += [",".join([label, *map(str, row)]) for label, row in zip(y, X, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_cli_budget_progress_lines_and_inspect(tmp_path, capsys, monkeypatch):
    data, model = _csv(tmp_path), tmp_path / "m.bgm"
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    code = main(["fit", str(data), "--density", "auto", "--budget", "0", "-o", str(model)])
    err = capsys.readouterr().err
    assert code == 0
    # a table file: auto among the copulas
    assert "class 1/3  copula: held-out log-lik/row" in err
    assert f"class 3/3  {TABLE_CANDIDATES[-1]}: skipped (time budget)" in err
    assert main(["inspect", str(model)]) == 0
    out = capsys.readouterr().out
    assert "density:      auto" in out
    skipped = len(TABLE_CANDIDATES) - 1  # all but the first, which always runs
    assert out.count("(time budget)") == 3 * skipped  # in each of the 3 classes
    # the default for a table in memory is auto, so --budget applies; not with --shrinkage
    assert main(["fit", str(data), "--budget", "5", "-o", str(tmp_path / "x.bgm")]) == 0
    capsys.readouterr()
    argv = ["fit", str(data), "--budget", "5", "--shrinkage", "0.1", "-o", str(tmp_path / "y")]
    assert main(argv) == 2
    assert "--density auto" in capsys.readouterr().err and not (tmp_path / "y").exists()


def test_inspect_shows_the_choice_made_inside_a_transform(tmp_path, capsys):
    X, y = _pixels(n=120), np.repeat([0, 1], 60)
    auto = AutoDensity(["diag", "gaussian"], budget=0, random_state=0)
    BayesClassifier(TransformedDensity(auto)).fit(X, y).save(tmp_path / "m")
    assert main(["inspect", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert out.count("candidates for class") == 2 and "(time budget)" in out
    assert "for every class" not in out  # inside a transform each class chooses
