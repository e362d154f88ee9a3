"""Marketplace governance warehouse: simulator, detection algorithms and command-line tools."""

__version__ = "0.1.0"
