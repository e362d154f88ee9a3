"""Tables the package itself writes into a warehouse file (the build's results, the publication
record), created with their column types and with the table and column comments that readers
of the file see, as dbt's models carry theirs."""

from __future__ import annotations

from collections.abc import Mapping

import duckdb


def sql_literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def create_or_replace(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    columns: Mapping[str, tuple[str, str]],
    comment: str,
) -> None:
    """An empty table ``relation`` (``schema.name``, the schema created if missing) with
    ``columns`` ({name: (type, description)}), the description as each column's comment and
    ``comment`` as the table's, replacing any table of that name."""
    schema = relation.split(".")[0]
    definitions = ", ".join(f"{name} {kind}" for name, (kind, _) in columns.items())
    con.execute(f"create schema if not exists {schema}")
    con.execute(f"create or replace table {relation} ({definitions})")
    con.execute(f"comment on table {relation} is {sql_literal(comment)}")
    for name, (_, description) in columns.items():
        con.execute(f"comment on column {relation}.{name} is {sql_literal(description)}")
