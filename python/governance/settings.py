"""Paths and settings shared by the command-line tools, taken from environment variables."""

from __future__ import annotations

import os
from pathlib import Path

RAW_DIR_ENV = "GOVERNANCE_RAW_DIR"
TRUTH_DIR_ENV = "GOVERNANCE_TRUTH_DIR"
DUCKDB_PATH_ENV = "GOVERNANCE_DUCKDB_PATH"
PII_SALT_ENV = "GOVERNANCE_PII_SALT"
TARGET_ENV = "GOVERNANCE_TARGET"
# The night's dates for dbt (macros/vars/validated_vars.sql: validated_date_var); the dbt vars
# as_of_date and ingest_date, when set, win over them.
AS_OF_DATE_ENV = "GOVERNANCE_AS_OF_DATE"
INGEST_DATE_ENV = "GOVERNANCE_INGEST_DATE"

# Public, documented salt for the generated demo data only. Real targets refuse it.
DEMO_PII_SALT = "governance-demo-salt"


class PiiSaltError(RuntimeError):
    """The PII salt is missing or is the public demo value on a target that hashes real PII."""


def project_dir() -> Path:
    """The dbt project directory: the repository root that holds dbt_project.yml."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "dbt_project.yml").exists():
            return parent
    return Path.cwd()


def raw_dir() -> Path:
    return Path(os.environ.get(RAW_DIR_ENV, project_dir() / "data" / "raw"))


def truth_dir() -> Path:
    return Path(os.environ.get(TRUTH_DIR_ENV, project_dir() / "data" / "truth"))


def default_duckdb_path() -> Path:
    """The demo warehouse of a checkout: the one path a build may create a folder for unasked."""
    return project_dir() / "warehouse" / "governance.duckdb"


def duckdb_path() -> Path:
    return Path(os.environ.get(DUCKDB_PATH_ENV, default_duckdb_path()))


class WarehouseNotFoundError(FileNotFoundError):
    """No warehouse file where a command was told to read one."""


def existing_warehouse(path: Path | str) -> Path:
    """``path`` when a warehouse file is there; else WarehouseNotFoundError saying what to do."""
    path = Path(path)
    if not path.is_file():
        raise WarehouseNotFoundError(
            f"no warehouse at {path}: run `make demo` or `governance build` first, or point "
            f"--duckdb-path (or {DUCKDB_PATH_ENV}) at a built warehouse"
        )
    return path
