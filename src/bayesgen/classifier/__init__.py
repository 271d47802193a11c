"""The Bayes classifier: one density per class plus the class prior."""

from bayesgen.classifier.estimator import BayesClassifier, load
from bayesgen.classifier.sampling import SamplePlan

__all__ = ["BayesClassifier", "SamplePlan", "load"]
