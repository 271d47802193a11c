"""Exact sampling on conditions on column values (sample(given=...))."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayesgen import BayesClassifier, DataError


def _two_classes(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, 0.7], [0.7, 1.0]])
    X = np.vstack(
        [rng.multivariate_normal([0, 0], cov, n), rng.multivariate_normal([1.5, -1], cov, n)]
    )
    return X, np.repeat([0, 1], n)


def test_range_on_a_gaussian_matches_the_truncated_conditional_mean():
    X, y = _two_classes()
    model = BayesClassifier("gaussian").fit(X, y)
    a = 1.0
    S, labels = model.sample(40_000, y=0, given={0: (a, None)}, random_state=1)
    assert S[:, 0].min() >= a and np.all(labels == 0)
    mean, cov = model.densities_[0].mean_, model.densities_[0].covariance()
    sd0, sd1 = np.sqrt(cov[0, 0]), np.sqrt(cov[1, 1])
    rho = cov[0, 1] / (sd0 * sd1)
    alpha = (a - mean[0]) / sd0
    expected = mean[1] + rho * sd1 * stats.norm.pdf(alpha) / stats.norm.sf(alpha)
    assert abs(S[:, 1].mean() - expected) < 4 * S[:, 1].std() / np.sqrt(len(S))


def test_labels_follow_the_posterior_of_the_condition():
    X, y = _two_classes(seed=1)
    model = BayesClassifier("gaussian").fit(X, y)
    lo, hi = 0.5, 1.0
    p = []
    for density in model.densities_:
        m, s = density.mean_[0], np.sqrt(density.covariance()[0, 0])
        p.append(stats.norm.cdf(hi, m, s) - stats.norm.cdf(lo, m, s))
    posterior = model.class_prior_ * np.array(p)
    posterior /= posterior.sum()
    n = 20_000
    _, labels = model.sample(n, given={0: (lo, hi)}, random_state=2)
    got = np.mean(labels == 1)
    assert abs(got - posterior[1]) < 4 * np.sqrt(posterior[1] * (1 - posterior[1]) / n)


def test_several_truncations_agree_with_filtering_unconditional_samples():
    X, y = _two_classes(seed=2)
    model = BayesClassifier("gaussian").fit(X, y)
    given = {0: (1.2, None), 1: (None, -0.6)}
    S, labels = model.sample(20_000, y=1, given=given, random_state=3)
    R, _ = model.sample(400_000, y=1, random_state=4)
    R = R[(R[:, 0] >= 1.2) & (R[:, 1] <= -0.6)]
    assert (S[:, 0] >= 1.2).all() and (S[:, 1] <= -0.6).all()
    se = R.std(axis=0) * np.sqrt(1 / len(R) + 1 / len(S))
    assert np.all(np.abs(S.mean(axis=0) - R.mean(axis=0)) < 4 * se)


def _table(n=3000, seed=3):
    rng = np.random.default_rng(seed)
    label = rng.choice(["a", "b"], size=n)
    red = rng.random(n) < np.where(label == "a", 0.2, 0.7)
    size = rng.normal(np.where(red, 5.0, 3.0), 1.0)
    frame = pd.DataFrame({"colour": np.where(red, "red", "blue"), "size": np.round(size, 2)})
    return frame, label


def test_category_condition_on_a_table_is_exact_and_labels_follow_it():
    frame, label = _table()
    model = BayesClassifier(random_state=0).fit(frame, label)
    n = 20_000
    S, labels = model.sample(n, given={"colour": "red"}, random_state=5)
    assert (S["colour"] == "red").all()
    j = model.schema_.feature_names.index("colour")
    p_red = []
    for density in model.densities_:
        masses = np.diff(density.marginals_._feature(j)[1])
        p_red.append(masses[1] / masses.sum())
    posterior = model.class_prior_ * np.array(p_red)
    posterior /= posterior.sum()
    got = np.mean(labels == "b")
    assert abs(got - posterior[1]) < 4 * np.sqrt(posterior[1] * (1 - posterior[1]) / n)
    # the sizes of red rows are those of the model's red rows
    R, _ = model.sample(200_000, random_state=6, missing="none")
    red_sizes = R["size"][R["colour"] == "red"]
    assert abs(S["size"].mean() - red_sizes.mean()) < 4 * red_sizes.std() * np.sqrt(1 / n)


def test_bad_conditions_are_refused_clearly():
    frame, label = _table(n=400)
    model = BayesClassifier(random_state=0).fit(frame, label)
    with pytest.raises(DataError, match="did you mean 'colour'"):
        model.sample(5, given={"color": "red"})
    with pytest.raises(DataError, match="not a category seen in training"):
        model.sample(5, given={"colour": "green"})
    with pytest.raises(DataError, match="is empty"):
        model.sample(5, given={"size": (6.0, 2.0)})
    with pytest.raises(DataError, match="categorical; a range needs numbers"):
        model.sample(5, given={"colour": ("blue", "red")})
    with pytest.raises(DataError, match="outside the range seen"):
        model.sample(5, given={"size": 1000.0})
    named = frame.assign(code=[f"id-{i}" for i in range(len(frame))])  # left out: identifier
    model = BayesClassifier(random_state=0).fit(named, label)
    with pytest.raises(DataError, match="'code' is left out of the model"):
        model.sample(5, given={"code": "id-3"})
    X, y = _two_classes(n=300)
    gaussian = BayesClassifier("gaussian").fit(X, y)
    with pytest.raises(DataError, match="zero probability"):
        gaussian.sample(5, given={0: (60.0, None)})


def _dated(n=1200, seed=7):
    """Daily dates over 2001-2004 and yearly ones (every 1 January of 1990-1999), as text."""
    rng = np.random.default_rng(seed)
    label = rng.choice(["a", "b"], size=n)
    day = pd.Timestamp("2001-01-01") + pd.to_timedelta(rng.integers(0, 4 * 365, n), unit="D")
    year = pd.to_datetime((1990 + rng.integers(0, 10, n)).astype(str) + "-01-01")
    frame = pd.DataFrame(
        {
            "day": day.strftime("%Y-%m-%d"),
            "year": year.strftime("%Y-%m-%d"),
            "size": np.round(rng.normal(np.where(label == "a", 0, 2), 1.0), 2),
        }
    )
    return frame, label


def test_a_year_or_a_month_on_a_date_column_is_that_whole_period():
    frame, label = _dated()
    model = BayesClassifier("copula", random_state=0).fit(frame, label)
    S, _ = model.sample(3000, given={"day": "2002"}, random_state=1)
    days = pd.to_datetime(S["day"])
    assert days.min() >= pd.Timestamp("2002-01-01") and days.max() <= pd.Timestamp("2002-12-31")
    assert days.dt.month.nunique() == 12  # the whole year, not its first day
    S, _ = model.sample(2000, given={"day": "2003-02"}, random_state=2)
    days = pd.to_datetime(S["day"])
    assert (days.dt.year == 2003).all() and (days.dt.month == 2).all()
    # as range ends: from the first day of the low end to the last day of the high end
    S, _ = model.sample(3000, given={"day": ("2002", "2003")}, random_state=3)
    assert set(pd.to_datetime(S["day"]).dt.year) == {2002, 2003}
    # a full date in the column's format is a date, not a period
    S, _ = model.sample(50, given={"day": "2002-03-04"}, random_state=4)
    assert (S["day"] == "2002-03-04").all()
    with pytest.raises(DataError, match="not a date in the column's format .*a year"):
        model.sample(5, given={"day": "02"})


def _logged(n=600, seed=3):
    """Readings written to the minute over March 2023, as text with seconds."""
    rng = np.random.default_rng(seed)
    stamps = pd.Timestamp("2023-03-01") + pd.to_timedelta(
        rng.integers(0, 30 * 24 * 60, n), unit="min"
    )
    label = rng.choice(["ok", "warn"], size=n)
    frame = pd.DataFrame(
        {"at": stamps.strftime("%Y-%m-%d %H:%M:%S"), "temp": np.round(rng.normal(40, 8, n), 1)}
    )
    return frame, label


def test_a_log_written_to_the_minute_is_generated_to_the_minute():
    frame, label = _logged()
    model = BayesClassifier("copula", random_state=0).fit(frame, label)
    assert model.schema_["at"].datetime_unit == "min"
    S, _ = model.sample(2000, random_state=1)
    stamps = pd.to_datetime(S["at"], format="%Y-%m-%d %H:%M:%S")
    assert (stamps.dt.second == 0).all()
    assert stamps.dt.minute.nunique() > 50  # minutes, not hours or days


def test_a_day_on_a_column_with_times_is_that_whole_day_and_a_year_may_be_a_number():
    frame, label = _logged()
    model = BayesClassifier("copula", random_state=0).fit(frame, label)
    S, _ = model.sample(2000, given={"at": "2023-03-10"}, random_state=1)
    stamps = pd.to_datetime(S["at"])
    assert (stamps.dt.normalize() == pd.Timestamp("2023-03-10")).all()
    assert stamps.dt.hour.nunique() > 12  # the whole day, not its midnight
    S, _ = model.sample(500, given={"at": 2023}, random_state=2)
    assert pd.to_datetime(S["at"]).dt.day.nunique() > 20  # the year 2023, as "2023" is
    S, _ = model.sample(50, given={"at": "2023-03-10 05:01:00"}, random_state=3)
    assert (S["at"] == "2023-03-10 05:01:00").all()
    for value in ("2023-03-10 05:00:30", "2023-03-10T05:00:30"):
        with pytest.raises(DataError, match="is not a whole minute"):
            model.sample(5, given={"at": value})
    # a range may end between minutes: it holds the minutes inside it
    span = ("2023-03-10 05:00:30", "2023-03-10 06:00:00")
    S, _ = model.sample(500, given={"at": span}, random_state=4)
    stamps = pd.to_datetime(S["at"])
    assert stamps.min() >= pd.Timestamp("2023-03-10 05:01")
    assert stamps.max() <= pd.Timestamp("2023-03-10 06:00")


@pytest.mark.parametrize("zone", [None, "Europe/Paris"])
def test_a_year_on_a_datetime64_column_is_that_year_in_its_time_zone(zone):
    frame, label = _dated()
    frame["day"] = pd.to_datetime(frame["day"]).dt.tz_localize(zone)
    model = BayesClassifier("copula", random_state=0).fit(frame, label)
    S, _ = model.sample(3000, given={"day": "2002"}, random_state=1)
    start = pd.Timestamp("2002-01-01", tz=zone)
    assert S["day"].min() >= start and S["day"].max() < start + pd.DateOffset(years=1)
    assert S["day"].dt.month.nunique() == 12


def test_a_range_keeps_exactly_the_levels_inside_it():
    """Yearly dates are levels a year apart, each owning the half year around it: a range
    ending inside a level's cell keeps the level only if the level itself is inside."""
    frame, label = _dated()
    model = BayesClassifier("copula", random_state=0).fit(frame, label)
    S, _ = model.sample(3000, given={"year": "1995"}, random_state=5)
    assert (S["year"] == "1995-01-01").all()
    S, _ = model.sample(3000, given={"year": (None, "1992-12-31")}, random_state=6)
    assert set(S["year"]) == {"1990-01-01", "1991-01-01", "1992-01-01"}
    S, _ = model.sample(3000, given={"year": ("1997-06-01", None)}, random_state=7)
    assert set(S["year"]) == {"1998-01-01", "1999-01-01"}


def test_conditions_on_levels_are_exact_for_every_class():
    """Whole numbers 3-8: class a has 3 and 4 only, class b 4-8.  A value only class a
    has gives only class a (its cell probability, not a tail density of class b); a range
    beyond a class's largest level is impossible for it (its tail draws take that level);
    a value between levels is impossible."""
    rng = np.random.default_rng(8)
    label = np.repeat(["a", "b"], [300, 600])
    count = np.r_[rng.choice([3, 4], 300, p=[0.05, 0.95]), rng.integers(4, 9, 600)]
    frame = pd.DataFrame({"count": count, "size": rng.normal(np.repeat([0.0, 1.0], [300, 600]))})
    model = BayesClassifier(random_state=0).fit(frame, label)
    S, y = model.sample(500, given={"count": 3}, random_state=1)
    assert (S["count"] == 3).all() and (y == "a").all()
    S, y = model.sample(2000, given={"count": (5, None)}, random_state=2)
    assert (S["count"] >= 5).all() and (y == "b").all()
    with pytest.raises(DataError, match="zero probability"):
        model.sample(5, y="a", given={"count": (6, None)})
    with pytest.raises(DataError, match="cannot appear in generated rows.*whole numbers"):
        model.sample(5, given={"count": 4.5})
    # levels of 1e10 and more: the tolerance follows the gap between levels, not the size
    big = frame.assign(count=frame["count"] + 10**10)
    model = BayesClassifier(random_state=0).fit(big, label)
    S, y = model.sample(1000, given={"count": (10**10 + 5, 10**10 + 6)}, random_state=3)
    assert set(S["count"] - 10**10) <= {5, 6} and (y == "b").all()
    with pytest.raises(DataError, match="cannot appear in generated rows.*whole numbers"):
        model.sample(5, given={"count": 10**10 + 4.5})


# -- Gaussian-mixture latents: the mixtures and the copula with mixture dependence ------


def _bimodal(n=3000, seed=4):
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, 0.6], [0.6, 1.0]])
    parts = [rng.multivariate_normal(m, cov, n // 2) for m in ([-3, 0], [3, 4])]
    X = np.vstack([*parts, rng.multivariate_normal([0, -2], cov, n)])
    return X, np.repeat([0, 1], n)


def test_point_on_a_mixture_gives_the_mixture_conditional():
    """E[x1 | x0 = v] = sum_k pi_k(v) (m1k + S10k / S00k (v - m0k)), pi_k(v) proportional
    to w_k N(v; m0k, S00k): the conditioned component weights and conditionals."""
    X, y = _bimodal()
    model = BayesClassifier("mixture:2", random_state=0).fit(X, y)
    density, v = model.densities_[0], 0.5
    covs = [c.dense() for c in density.covariances_]
    log_w = np.log(density.weights_) + [
        stats.norm.logpdf(v, m[0], np.sqrt(c[0, 0]))
        for m, c in zip(density.means_, covs, strict=True)
    ]
    pi = np.exp(log_w - log_w.max())
    pi /= pi.sum()
    expected = sum(
        p * (m[1] + c[1, 0] / c[0, 0] * (v - m[0]))
        for p, m, c in zip(pi, density.means_, covs, strict=True)
    )
    S, labels = model.sample(40_000, y=0, given={0: v}, random_state=1)
    assert np.all(S[:, 0] == v) and np.all(labels == 0)
    assert abs(S[:, 1].mean() - expected) < 4 * S[:, 1].std() / np.sqrt(len(S))


def test_ranges_on_a_mixture_agree_with_filtering_unconditional_samples():
    X, y = _bimodal(seed=5)
    model = BayesClassifier("mfa:2x1", random_state=0).fit(X, y)
    given = {0: (-1.0, 4.0), 1: (None, 2.0)}
    S, labels = model.sample(20_000, given=given, random_state=2)
    R, r_labels = model.sample(600_000, random_state=3)
    keep = (R[:, 0] >= -1.0) & (R[:, 0] <= 4.0) & (R[:, 1] <= 2.0)
    R, r_labels = R[keep], r_labels[keep]
    assert (S[:, 0] >= -1.0).all() and (S[:, 0] <= 4.0).all() and (S[:, 1] <= 2.0).all()
    se = R.std(axis=0) * np.sqrt(1 / len(R) + 1 / len(S))
    assert np.all(np.abs(S.mean(axis=0) - R.mean(axis=0)) < 4 * se)
    p, q = np.mean(labels == 1), np.mean(r_labels == 1)  # p(y | condition)
    assert abs(p - q) < 4 * np.sqrt(q * (1 - q) * (1 / len(S) + 1 / len(R)))


def test_category_condition_on_a_copula_with_mixture_dependence():
    frame, label = _table(seed=6)
    model = BayesClassifier("mfacopula:2x1", random_state=0).fit(frame, label)
    S, labels = model.sample(20_000, given={"colour": "red"}, random_state=7)
    assert (S["colour"] == "red").all()
    R, r_labels = model.sample(300_000, random_state=8, missing="none")
    red = (R["colour"] == "red").to_numpy()
    sizes = R["size"][red]
    assert abs(S["size"].mean() - sizes.mean()) < 4 * sizes.std() * np.sqrt(1 / len(S))
    p, q = np.mean(labels == "b"), np.mean(np.asarray(r_labels)[red] == "b")
    assert abs(p - q) < 4 * np.sqrt(q * (1 - q) * (1 / len(S) + 1 / red.sum()))


def test_families_without_a_gaussian_latent_still_refuse():
    rng = np.random.default_rng(0)
    X = np.rint(rng.uniform(0, 255, (200, 3)))
    model = BayesClassifier("mppca:2x1+glogit", random_state=0).fit(X, np.repeat([0, 1], 100))
    with pytest.raises(DataError, match="no Gaussian latent form"):
        model.sample(5, given={0: (10.0, 50.0)})


def test_a_condition_the_model_cannot_read_is_a_condition_error():
    """Unreadable conditions (and ranges outside what the model samples) raise
    ConditionError, a DataError, so that callers such as the command line can tell them
    from errors of the sampling itself."""
    import bayesgen

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["u", "v"], 200)})
    model = bayesgen.BayesClassifier("copula").fit(frame, rng.choice(["a", "b"], 200))
    for given in ({"nope": 1.0}, {"c": "w"}, {"x": (3.0, 1.0)}, {"x": "abc"}, {"x": (50, 60)}):
        with pytest.raises(bayesgen.ConditionError):
            model.sample(5, given=given, random_state=0)
    assert issubclass(bayesgen.ConditionError, bayesgen.DataError)


def test_a_value_the_column_cannot_hold_is_refused_not_rounded_away():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"mass": rng.integers(100, 200, 300) * 25, "length": np.round(rng.normal(40, 3, 300), 1)}
    )
    model = BayesClassifier(random_state=0).fit(frame, rng.choice(["a", "b"], 300))
    assert model.schema_["mass"].step == 25
    with pytest.raises(DataError, match="multiples of 25"):
        model.sample(5, given={"mass": 4000.5})
    with pytest.raises(DataError, match="1 decimal"):
        model.sample(5, given={"length": 40.05})
    X, _ = model.sample(5, given={"mass": 4000, "length": 40.1}, random_state=0)
    assert (X["mass"] == 4000).all() and (X["length"] == 40.1).all()


def test_iso_dates_for_a_day_first_column():
    """A column written 31/01/2002 takes conditions in ISO 8601 too; a time zone in the
    value is read in UTC, and a time of day a column of whole days cannot hold is refused."""
    frame, label = _dated()
    frame["day"] = pd.to_datetime(frame["day"]).dt.strftime("%d/%m/%Y")
    model = BayesClassifier("copula", random_state=0).fit(frame, label)
    S, _ = model.sample(200, given={"day": "2002-03-15"}, random_state=1)
    assert (S["day"] == "15/03/2002").all()
    S, _ = model.sample(200, given={"day": "2002-03-15T00:00:00Z"}, random_state=1)
    assert (S["day"] == "15/03/2002").all()
    S, _ = model.sample(500, given={"day": ("2003-01-01", None)}, random_state=2)
    assert (pd.to_datetime(S["day"], format="%d/%m/%Y") >= "2003-01-01").all()
    with pytest.raises(DataError, match="not a whole day"):
        model.sample(5, given={"day": "2002-03-15 08:00"})


def test_rows_may_write_a_date_in_iso_8601_on_a_column_written_day_first():
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 700, 300), unit="D")
    frame = pd.DataFrame({"signup": days.strftime("%d/%m/%Y"), "x": rng.normal(size=300)})
    model = BayesClassifier("copula", random_state=0).fit(frame, rng.choice(["a", "b"], 300))
    rows = pd.DataFrame({"signup": ["2019-05-05", "05/05/2019"], "x": [0.1, 0.1]})
    p = model.predict_proba(rows)
    np.testing.assert_allclose(p[0], p[1])  # the same day, however written
    with pytest.raises(DataError, match=r"'May 5'.*'%d/%m/%Y' seen in training or in ISO 8601"):
        model.predict_proba(pd.DataFrame({"signup": ["May 5"], "x": [0.1]}))


def test_a_boolean_column_reads_true_and_false_written_as_text():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"remote": rng.random(200) < 0.4, "x": rng.normal(size=200)})
    model = BayesClassifier("copula", random_state=0).fit(frame, np.where(frame.remote, "a", "b"))
    as_text = pd.DataFrame({"remote": ["True", " false ", "TRUE"], "x": [0.1, 0.2, 0.3]})
    as_bool = pd.DataFrame({"remote": [True, False, True], "x": [0.1, 0.2, 0.3]})
    np.testing.assert_allclose(model.predict_proba(as_text), model.predict_proba(as_bool))
    as_category = as_text.astype({"remote": "category"})
    np.testing.assert_allclose(model.predict_proba(as_category), model.predict_proba(as_bool))
    with pytest.raises(DataError, match="'yes', a category not seen"):
        model.predict_proba(pd.DataFrame({"remote": ["yes"], "x": [0.1]}))
