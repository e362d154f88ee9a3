"""Deterministic simulator of a marketplace and its trust & safety enforcement.

``generate`` writes the raw data contract (parquet, one folder per table) plus the ground truth
(bad sellers, rings, hubs, violating listings, planted metric incidents) used to evaluate the
warehouse and its detection algorithms.
"""

from .config import SCALES, ScaleConfig
from .core import generate
from .writer import RAW_SCHEMAS, RAW_TABLES, TRUTH_SCHEMAS

__all__ = ["RAW_SCHEMAS", "RAW_TABLES", "SCALES", "TRUTH_SCHEMAS", "ScaleConfig", "generate"]
