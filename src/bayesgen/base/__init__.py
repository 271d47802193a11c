"""Base utilities every other layer may use: errors, input checks, randomness, threads and
BLAS limits, the atomic writer and model-file persistence.  Imports nothing from bayesgen."""
