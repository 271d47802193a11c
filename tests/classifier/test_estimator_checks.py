"""scikit-learn's estimator contract for every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from bayesgen import (
    AutoDensity,
    BayesClassifier,
    FactorAnalysisDensity,
    GaussianCopulaDensity,
    GaussianDensity,
    GaussianMixtureDensity,
    MixtureOfFactorAnalysersDensity,
)


@parametrize_with_checks(
    [
        BayesClassifier(),
        BayesClassifier("diag"),
        BayesClassifier("tied"),
        BayesClassifier("lowrank:1"),
        GaussianDensity(),
        GaussianDensity("diag"),
        FactorAnalysisDensity(n_components=1),
        GaussianMixtureDensity(n_components=2, random_state=0),
        MixtureOfFactorAnalysersDensity(n_components=2, rank=1, random_state=0),
        GaussianCopulaDensity(),
        AutoDensity(random_state=0),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
