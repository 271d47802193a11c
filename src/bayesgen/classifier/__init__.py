"""The Bayes classifier: one density per class plus the class prior."""

from bayesgen.classifier.estimator import BayesClassifier, load

__all__ = ["BayesClassifier", "load"]
