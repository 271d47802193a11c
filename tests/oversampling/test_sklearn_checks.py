"""scikit-learn's own estimator checks (imbalanced-learn's are in test_imblearn_checks.py).

All run but the array-API one, which needs ``SCIPY_ARRAY_API``.  The sampler gets a
strategy that grows only classes of two rows or more: the checks' made-up labels often
have a class of one row, which BayesOverSampler refuses to grow (by design; see
test_oversampler.py).
"""

from collections import Counter

from sklearn.utils.estimator_checks import parametrize_with_checks

from bayesgen import BayesOverSampler


def grow_classes_of_two_rows_or_more(y):
    """A sampling_strategy for scikit-learn's checks, whose made-up labels often have a
    class of one row (which BayesOverSampler refuses to grow, by design)."""
    counts = Counter(y.tolist())
    top = max(counts.values())
    return {label: top for label, n in counts.items() if n >= 2}


@parametrize_with_checks(
    [BayesOverSampler(sampling_strategy=grow_classes_of_two_rows_or_more, random_state=0)],
    expected_failed_checks=lambda estimator: {
        "check_array_api_input": "needs SCIPY_ARRAY_API; densities are numpy code"
    },
)
def test_scikit_learn_checks(estimator, check):
    check(estimator)
