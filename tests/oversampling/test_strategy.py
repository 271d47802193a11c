"""sampling_strategy resolution: the same numbers as imbalanced-learn, clearer errors."""

from collections import Counter

import numpy as np
import pytest

from bayesgen import DataError
from bayesgen.oversampling import resolve_sampling_strategy

Y_SETS = {
    "binary ints": np.array([0] * 30 + [1] * 7),
    "binary text": np.array(["no"] * 5 + ["yes"] * 12),
    "three text": np.array(["a"] * 20 + ["b"] * 9 + ["c"] * 3),
    "ties": np.array([2] * 8 + [5] * 8 + [7] * 3 + [9] * 3),  # two majorities, two minorities
    "floats": np.array([0.5] * 4 + [1.5] * 11 + [2.5] * 6 + [3.5] * 2),
    "ten classes": np.repeat(np.arange(10), np.arange(3, 13)),
}


def _forms(y):
    """Every form imbalanced-learn's over-samplers accept, valid for this y."""
    classes, counts = np.unique(y, return_counts=True)
    top = counts.max()
    forms = [
        "auto",
        "minority",
        "not minority",
        "not majority",
        "all",
        {classes[0]: int(counts[0]) + 4},
        {c: int(top) + 1 for c in classes},
        {classes[-1]: int(counts[-1])},  # no new rows
        lambda labels: {c: int(n) * 2 for c, n in Counter(labels).items()},
    ]
    if classes.shape[0] == 2:
        minority = counts.min()
        forms += [1.0, (minority + 1) / top, 0.99]
    return forms


@pytest.mark.parametrize("name", sorted(Y_SETS))
def test_equals_imbalanced_learn(name):
    utils = pytest.importorskip("imblearn.utils")
    y = Y_SETS[name]
    for form in _forms(y):
        expected = utils.check_sampling_strategy(form, y, "over-sampling")
        got = resolve_sampling_strategy(form, y)
        assert dict(got) == dict(expected), form
        assert list(got) == list(expected), form  # the same (sorted) order


def test_counts_and_order():
    y = np.array(["a"] * 6 + ["b"] * 3 + ["c"] * 1)
    assert dict(resolve_sampling_strategy("auto", y)) == {"b": 3, "c": 5}
    assert dict(resolve_sampling_strategy("all", y)) == {"a": 0, "b": 3, "c": 5}
    assert dict(resolve_sampling_strategy("minority", y)) == {"c": 5}
    assert dict(resolve_sampling_strategy("not minority", y)) == {"a": 0, "b": 3}
    assert list(resolve_sampling_strategy({"c": 2, "b": 3}, y)) == ["b", "c"]


def test_fewer_rows_than_the_class_has():
    y = np.array([0] * 10 + [1] * 4)
    with pytest.raises(DataError) as info:
        resolve_sampling_strategy({1: 3}, y)
    assert str(info.value) == (
        "With over-sampling methods, the number of samples in a class should be greater or "
        "equal to the original number of samples. Originally, there is 4 samples and 3 "
        "samples are asked (class 1)."
    )


def test_unknown_class_is_named():
    y = np.array(["rain"] * 10 + ["snow"] * 2)
    with pytest.raises(DataError, match=r"names the class 'hail', which is not present.*"):
        resolve_sampling_strategy({"hail": 20}, y)
    with pytest.raises(DataError, match="'rain', 'snow'"):
        resolve_sampling_strategy(lambda labels: {"sun": 3}, y)


def test_float_on_multiclass_data():
    y = np.array(["a"] * 9 + ["b"] * 4 + ["c"] * 2)
    with pytest.raises(DataError, match=r"only when y is binary; y has 3 classes \('a'"):
        resolve_sampling_strategy(0.5, y)


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (0.0, r"in the range \(0, 1\]"),
        (1.5, r"in the range \(0, 1\]"),
        (0.2, "asks class 1 for 2 rows, but it has 4 already"),
        ("majority", "under-sampling strategy"),
        ("most", "needs to be one of"),
        ([0, 1], "lists are for cleaning methods"),
        (True, "sampling_strategy must be one of"),
        ({1: -1}, "cannot be negative"),
        ({1: 5.5}, "whole number of rows"),
        (lambda labels: [1], "must return a dict"),
    ],
)
def test_bad_strategies(strategy, message):
    y = np.array([0] * 10 + [1] * 4)
    with pytest.raises(DataError, match=message):
        resolve_sampling_strategy(strategy, y)


def test_one_class():
    with pytest.raises(DataError, match="only one class"):
        resolve_sampling_strategy("auto", np.zeros(5))
