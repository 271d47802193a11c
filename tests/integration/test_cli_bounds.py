"""`bayesgen sample --bounds`: a table's generated values stay in the range seen in training
unless the user widens (or lifts) it for the run."""

import numpy as np
import pandas as pd
import pytest

from bayesgen.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def model(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {
            "mass": np.round(rng.normal(50, 10, n), 1),
            "day": (
                pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 100, n), unit="D")
            ).strftime("%Y-%m-%d"),
            "kind": rng.choice(["a", "b"], n),
        }
    )
    data = tmp_path / "t.csv"
    frame.to_csv(data, index=False)
    path = tmp_path / "m.bgm"
    assert run(capsys, "fit", data, "-o", path)[0] == 0
    return path, frame


def _sample(capsys, tmp_path, model, *extra):
    out = tmp_path / "s.csv"
    code, _, err = run(capsys, "sample", model, "-n", "20000", "--seed", "3", *extra, "-o", out)
    assert code == 0, err
    return pd.read_csv(out)


def test_values_stay_in_the_training_range_unless_widened(model, tmp_path, capsys):
    path, frame = model
    lo, hi = frame["mass"].min(), frame["mass"].max()
    inside = _sample(capsys, tmp_path, path)
    assert inside["mass"].min() >= lo and inside["mass"].max() <= hi
    wide = _sample(capsys, tmp_path, path, "--bounds", f"mass={lo - 30}:")
    # the tails below the training minimum now come through, down to the new end
    assert wide["mass"].min() < lo and wide["mass"].min() >= lo - 30
    assert wide["mass"].max() <= hi
    lifted = _sample(capsys, tmp_path, path, "--bounds", "mass=none")
    assert lifted["mass"].min() < lo
    # a column without a range takes any new one
    ranged = _sample(capsys, tmp_path, path, "--bounds", "mass=none", "--bounds", "mass=0:60")
    assert ranged["mass"].min() >= 0 and ranged["mass"].max() <= 60


def test_date_bounds_take_the_columns_format(model, tmp_path, capsys):
    path, frame = model
    first = pd.to_datetime(frame["day"]).min()
    wide = _sample(capsys, tmp_path, path, "--bounds", "day=2019-12-01:")
    days = pd.to_datetime(wide["day"], format="%Y-%m-%d")  # the column's own format
    # a daily lattice: tail draws take the end days, so the widened end is not reached
    assert days.min() == first


def test_a_narrower_range_is_refused_for_given(model, tmp_path, capsys):
    """Clipping onto a narrower range would pile values up on its ends."""
    path, _ = model
    for option in ("mass=45:55", "day=2020-01-10:2020-01-20"):
        code, _, err = run(capsys, "sample", path, "-n", "5", "--bounds", option, "-o", "-")
        assert code == 2 and "only widens" in err and "--given" in err


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("mas=1:2", "did you mean 'mass'"),
        ("mass=x:2", "needs a number; got 'x'"),
        ("mass=5:1", "low end is above the high end"),
        ("mass", "write NAME=LO:HI"),
        ("day=1:2020-01-01", "needs a date"),
    ],
)
def test_bad_bounds_are_usage_errors(model, tmp_path, capsys, option, message):
    path, _ = model
    code, _, err = run(
        capsys, "sample", path, "-n", "5", "--bounds", option, "-o", tmp_path / "x.csv"
    )
    assert code == 2 and message in err
    assert not (tmp_path / "x.csv").exists()
