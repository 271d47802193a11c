"""The Bayes classifier: one density per class plus the class prior."""

from bayesgen.classifier.estimator import BayesClassifier, load, read_metadata
from bayesgen.classifier.sampling import SamplePlan

__all__ = ["BayesClassifier", "SamplePlan", "load", "read_metadata"]
