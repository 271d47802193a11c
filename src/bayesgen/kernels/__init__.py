"""Numerical kernels with no notion of a model: covariance representations (full, diagonal,
low-rank plus diagonal, behind one interface), Gaussian sufficient statistics, the sampling
engine, Gaussian conditioning and the Dask block reduction."""
