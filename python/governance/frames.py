"""Relations handed to dbt Python models, as pandas DataFrames, whatever the engine.

dbt-duckdb gives a model DuckDB relations (``.df()``); dbt-databricks and other Spark-based
adapters give Spark DataFrames (``.toPandas()``). The Python models call :func:`to_pandas` so
the same model file runs on both; the algorithms themselves take and return pandas.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def to_pandas(
    relation, columns: Sequence[str] | None = None, where: str | None = None
) -> pd.DataFrame:
    """The rows of ``relation`` (optionally filtered by the SQL condition ``where``) and the
    given ``columns`` (all when None) as a pandas DataFrame, filtered by the engine."""
    if isinstance(relation, pd.DataFrame):
        if where is not None:
            relation = relation.query(where)
        return relation[list(columns)].copy() if columns is not None else relation.copy()
    if where is not None:
        relation = relation.filter(where)
    if hasattr(relation, "toPandas"):  # Spark DataFrame
        if columns is not None:
            relation = relation.select(*columns)
        return relation.toPandas()
    if hasattr(relation, "df"):  # DuckDB relation
        if columns is not None:
            relation = relation.project(", ".join(columns))
        return relation.df()
    raise TypeError(
        f"cannot read a {type(relation).__name__} as pandas: expected a DuckDB relation, "
        "a Spark DataFrame or a pandas DataFrame"
    )


def is_spark(session) -> bool:
    """Whether ``session`` (what dbt hands a Python model) is a Spark session: the models then
    run their distributed form (governance.spark_detection)."""
    return hasattr(session, "catalog") and hasattr(session, "sparkContext")


def table_or_none(session, this):
    """The table a dbt Python model builds (``dbt.this``) as it stands before this build, as a
    relation of ``session``; None when it does not exist yet (first build, new warehouse).

    ``session`` is the DuckDB connection (dbt-duckdb) or the Spark session (Spark adapters).
    """
    schema, name = this.schema, this.identifier
    if hasattr(session, "catalog"):  # Spark session; the catalog part only where there is one
        # dbt-spark has no catalog part: its compiled ``this`` holds the text "None" there
        parts = (this.database, schema, name)
        qualified = ".".join(part for part in parts if part and part != "None")
        return session.table(qualified) if session.catalog.tableExists(qualified) else None
    ((found,),) = session.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = ? and table_schema = ? and table_name = ?",
        [this.database, schema, name],
    ).fetchall()
    return session.sql(f"select * from {this}") if found else None


def previous_output(session, this, suffix: str):
    """The table a dbt Python model built before this build (``dbt.this``), or None. On Spark
    dbt-spark drops the table before the model runs, so the model's pre-hook
    (macros/engine/previous_output.sql) renames it to ``<name><suffix>`` first: that one is
    read when it exists. Elsewhere the table itself (:func:`table_or_none`)."""
    if is_spark(session):
        parts = (this.database, this.schema, f"{this.identifier}{suffix}")
        kept = ".".join(part for part in parts if part and part != "None")
        if session.catalog.tableExists(kept):
            return session.table(kept)
    return table_or_none(session, this)


# pandas dtype name prefix -> Spark type name, for the columns of an empty result.
_SPARK_TYPES = (
    ("bool", "Boolean"),
    ("int", "Long"),
    ("float", "Double"),
    ("datetime", "Timestamp"),
)


def for_engine(session, frame: pd.DataFrame, *relations):
    """A model's pandas result as the engine can store it. On DuckDB, ``frame`` itself. On
    Spark, an empty ``frame`` becomes an empty Spark DataFrame with typed columns (Spark cannot
    infer a type from no rows): a column takes its type from the first of ``relations`` (Spark
    DataFrames the model read) that has it, else from its pandas dtype, text otherwise."""
    if not is_spark(session) or len(frame):
        return frame
    from pyspark.sql import types

    known = {f.name: f.dataType for relation in reversed(relations) for f in relation.schema}
    fields = []
    for column, dtype in frame.dtypes.items():
        name = str(dtype)
        spark_type = next((t for prefix, t in _SPARK_TYPES if name.startswith(prefix)), "String")
        data_type = known.get(column) or getattr(types, f"{spark_type}Type")()
        fields.append(types.StructField(str(column), data_type, True))
    return session.createDataFrame([], types.StructType(fields))
