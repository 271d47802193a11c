"""scikit-learn's estimator contract for every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from bayesgen import BayesClassifier, GaussianDensity


@parametrize_with_checks(
    [
        BayesClassifier(),
        BayesClassifier("diag"),
        BayesClassifier("tied"),
        GaussianDensity(),
        GaussianDensity("diag"),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
