"""The raw-data contract, read from the dbt source declaration, and a checker for raw folders.

The dbt sources file (``models/staging/marketplace/_marketplace__sources.yml``) is the single
declaration of the contract: table names, column names and data types. ``check_raw_dir`` compares
the Parquet files of a raw folder against it using only the files' metadata (no data is loaded),
so it is cheap at any scale, and reports every problem with the table, the column and the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from governance.settings import project_dir

SOURCES_FILE = Path("models") / "staging" / "marketplace" / "_marketplace__sources.yml"
SOURCE_NAME = "marketplace"


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class Violation:
    table: str
    column: str | None
    rule: str
    detail: str

    def __str__(self) -> str:
        where = f"raw table '{self.table}'"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.detail} (rule: {self.rule})"


class RawContractError(ValueError):
    """Raised when a raw folder breaks the contract; holds every violation found."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"{len(violations)} raw-data contract violation(s):\n{lines}")


def load_contract(sources_file: Path | None = None) -> list[Table]:
    """Tables and typed columns of the `marketplace` source, in declaration order."""
    path = sources_file or project_dir() / SOURCES_FILE
    spec = yaml.safe_load(path.read_text())
    for source in spec.get("sources", []):
        if source.get("name") == SOURCE_NAME:
            return [
                Table(
                    name=t["name"],
                    columns=tuple(
                        Column(c["name"], str(c.get("data_type", "varchar")).lower())
                        for c in t.get("columns", [])
                    ),
                )
                for t in source.get("tables", [])
            ]
    raise ValueError(f"{path} declares no source named '{SOURCE_NAME}'")


def _type_matches(contract_type: str, arrow_type: pa.DataType) -> bool:
    if pa.types.is_null(arrow_type):
        return True  # a column with only nulls carries no type
    if contract_type == "varchar":
        return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    if contract_type == "timestamp":
        # A naive timestamp is read as UTC; a time-zone-aware one is converted to UTC.
        return pa.types.is_timestamp(arrow_type)
    if contract_type == "double":
        return pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type)
    if contract_type == "integer":
        return pa.types.is_integer(arrow_type)
    if contract_type == "boolean":
        return pa.types.is_boolean(arrow_type)
    return True


def check_raw_dir(raw_dir: Path, contract: list[Table] | None = None) -> list[Violation]:
    """Every contract violation in `raw_dir`, by reading Parquet footers only."""
    contract = contract or load_contract()
    violations: list[Violation] = []
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        return [Violation("*", None, "raw folder exists", f"folder {raw_dir} does not exist")]
    for table in contract:
        folder = raw_dir / table.name
        files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        if not files:
            violations.append(
                Violation(
                    table.name,
                    None,
                    "table folder holds at least one .parquet file",
                    f"no Parquet files in {folder}",
                )
            )
            continue
        for file in files:
            try:
                schema = pq.read_schema(file)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
                violations.append(
                    Violation(table.name, None, "readable Parquet", f"cannot read {file}: {exc}")
                )
                continue
            for column in table.columns:
                index = schema.get_field_index(column.name)
                if index < 0:
                    violations.append(
                        Violation(
                            table.name,
                            column.name,
                            "required column",
                            f"missing in {file.name}",
                        )
                    )
                    continue
                arrow_type = schema.field(index).type
                if not _type_matches(column.data_type, arrow_type):
                    violations.append(
                        Violation(
                            table.name,
                            column.name,
                            f"type {column.data_type}",
                            f"has type {arrow_type} in {file.name}",
                        )
                    )
    return violations


def assert_raw_dir(raw_dir: Path) -> None:
    violations = check_raw_dir(raw_dir)
    if violations:
        raise RawContractError(violations)
