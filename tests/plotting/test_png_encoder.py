"""One PNG encoder for pixel arrays: the report embeds what bayesgen.plotting encodes."""

import numpy as np

import bayesgen.plotting
import bayesgen.report


def test_report_uses_the_plotting_encoder():
    assert bayesgen.report.png_bytes is bayesgen.plotting.png_bytes
    data = bayesgen.plotting.png_bytes(np.zeros((2, 3), dtype=np.uint8))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
