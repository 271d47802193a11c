"""The library version, here so that no module has to import the root package for it."""

__version__ = "0.1.0"
