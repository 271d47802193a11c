"""imbalanced-learn's own estimator checks, where they apply.

``imblearn.utils.estimator_checks.parametrize_with_checks`` yields its sampler checks from
the tags (``BayesOverSampler.__sklearn_tags__`` sets imbalanced-learn's ``dataframe`` and
``sample_indices`` tags itself, so imbalanced-learn stays optional).  All of them run:
target types, one label, fit, fit_resample, pandas in/out (dense and sparse columns),
strings, NaN, lists, one-vs-all targets, dtype preservation, no ``sample_indices_``, 2-D
targets, ``get_feature_names_out``.  What does not apply:

* ``check_samplers_sparse``: not yielded, the ``sparse`` tag is False (a density of dense
  rows; sparse input is refused with a message to densify it).
* The count assertions of ``check_samplers_fit_resample`` and
  ``check_samplers_sampling_strategy_fit_resample`` run only for subclasses of
  ``imblearn.over_sampling.base.BaseOverSampler``, which BayesOverSampler is not (it must
  work without imbalanced-learn); the two tests below assert the same thing.

scikit-learn's own estimator checks are in ``test_sklearn_checks.py`` (they need no
imbalanced-learn).
"""

from collections import Counter

import pytest

pytest.importorskip("imblearn")

from imblearn.utils.estimator_checks import (  # noqa: E402
    estimator_checks_generator,
    sample_dataset_generator,
)

from bayesgen import BayesOverSampler  # noqa: E402

# imbalanced-learn's parametrize_with_checks hands pytest a generator, which pytest 9
# deprecates (an error here, where warnings are errors): the same checks, as a list
CHECKS = [
    pytest.param(estimator, check, id=f"{estimator.density}-{check.func.__name__}")
    for estimator in (
        BayesOverSampler(random_state=0),
        BayesOverSampler("gaussian", random_state=0),
    )
    for estimator, check in estimator_checks_generator(estimator)
]


@pytest.mark.parametrize(("estimator", "check"), CHECKS)
def test_imbalanced_learn_checks(estimator, check):
    check(estimator)


def test_fit_resample_balances_like_an_over_sampler():
    X, y = sample_dataset_generator()
    _, y_res = BayesOverSampler(random_state=0).fit_resample(X, y)
    top = max(Counter(y).values())
    assert all(count >= top for count in Counter(y_res).values())


def test_strategy_dict_leaves_other_classes_alone():
    X, y = sample_dataset_generator()
    sampler = BayesOverSampler(sampling_strategy={2: 498, 0: 498}, random_state=0)
    _, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res)[1] == Counter(y)[1]
    assert Counter(y_res)[0] == Counter(y_res)[2] == 498
