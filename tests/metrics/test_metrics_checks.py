"""Input checks shared by every metric: widths must match, values must be finite."""

from __future__ import annotations

import numpy as np
import pytest

import bayesgen.metrics as M
from bayesgen import DataError


def test_width_mismatch_and_nan_are_data_errors():
    with pytest.raises(DataError, match="features"):
        M.nearest_neighbour_distances(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(DataError, match="NaN"):
        M.frechet_distance(np.array([[np.nan, 1.0]]), np.zeros((2, 2)))
