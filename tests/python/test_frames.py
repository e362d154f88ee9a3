"""governance.frames.to_pandas: one call for DuckDB relations, Spark DataFrames and pandas."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from governance.frames import for_engine, is_spark, table_or_none, to_pandas

ROWS = pd.DataFrame(
    {"seller_id": ["s1", "s2", "s3"], "size": [3, 1, 5], "bad": [True, False, True]}
)


def test_duckdb_relation_is_filtered_and_projected_in_the_engine():
    con = duckdb.connect()
    relation = con.from_df(ROWS)
    out = to_pandas(relation, ["seller_id", "size"], where="bad")
    assert out.to_dict("list") == {"seller_id": ["s1", "s3"], "size": [3, 5]}


def test_pandas_frame_gives_the_same_rows():
    out = to_pandas(ROWS, ["seller_id"], where="size > 2")
    assert out["seller_id"].tolist() == ["s1", "s3"]


class FakeSparkFrame:
    """The three methods of a pyspark DataFrame that to_pandas uses."""

    def __init__(self, frame: pd.DataFrame, calls: list):
        self.frame, self.calls = frame, calls

    def filter(self, condition: str):
        self.calls.append(("filter", condition))
        return FakeSparkFrame(self.frame.query(condition), self.calls)

    def select(self, *columns: str):
        self.calls.append(("select", columns))
        return FakeSparkFrame(self.frame[list(columns)], self.calls)

    def toPandas(self):  # noqa: N802 - pyspark's name
        return self.frame.reset_index(drop=True)


def test_spark_dataframe_is_filtered_and_selected_before_collecting():
    calls: list = []
    out = to_pandas(FakeSparkFrame(ROWS, calls), ["seller_id"], where="size > 2")
    assert calls == [("filter", "size > 2"), ("select", ("seller_id",))]
    assert out["seller_id"].tolist() == ["s1", "s3"]


def test_anything_else_is_refused_with_its_type():
    with pytest.raises(TypeError, match="cannot read a list as pandas"):
        to_pandas([1, 2, 3])


class This:
    """What dbt hands a Python model as ``dbt.this``: the parts and the quoted name."""

    def __init__(self, database: str, schema: str, identifier: str):
        self.database, self.schema, self.identifier = database, schema, identifier

    def __repr__(self) -> str:
        return f'"{self.database}"."{self.schema}"."{self.identifier}"'


def test_the_table_a_model_built_last_time_is_read_or_none_before_its_first_build(tmp_path):
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    this = This("wh", "main", "metric_anomalies")
    assert table_or_none(con, this) is None
    con.execute("create table main.metric_anomalies as select 1 as day_count")
    assert to_pandas(table_or_none(con, this)).to_dict("list") == {"day_count": [1]}
    # Same name in another schema is another table.
    assert table_or_none(con, This("wh", "staging", "metric_anomalies")) is None


class FakeSparkSession:
    """The two calls of a Spark session that table_or_none makes."""

    def __init__(self, tables: dict[str, pd.DataFrame]):
        self.tables = tables
        self.catalog = self

    def tableExists(self, name: str) -> bool:  # noqa: N802 - pyspark's name
        return name in self.tables

    def table(self, name: str):
        return FakeSparkFrame(self.tables[name], [])


def test_on_spark_the_table_is_looked_up_by_its_catalog_schema_and_name():
    session = FakeSparkSession({"governance.main.metric_anomalies": ROWS})
    found = table_or_none(session, This("governance", "main", "metric_anomalies"))
    assert to_pandas(found)["seller_id"].tolist() == ["s1", "s2", "s3"]
    assert table_or_none(session, This("governance", "main", "syndicates")) is None
    # dbt-spark has no catalog part: schema.name.
    hive = FakeSparkSession({"main.metric_anomalies": ROWS})
    assert table_or_none(hive, This(None, "main", "metric_anomalies")) is not None
    # ... which a compiled dbt-spark Python model spells "None".
    assert table_or_none(hive, This("None", "main", "metric_anomalies")) is not None


def test_only_a_session_with_a_spark_context_counts_as_spark():
    class SparkLike(FakeSparkSession):
        sparkContext = object()  # noqa: N815 - pyspark's name

    assert is_spark(SparkLike({}))
    assert not is_spark(FakeSparkSession({}))
    assert not is_spark(duckdb.connect())


def test_a_result_goes_to_duckdb_as_it_is_even_empty():
    empty = ROWS.iloc[:0]
    assert for_engine(duckdb.connect(), empty) is empty
    assert for_engine(FakeSparkSession({}), ROWS) is ROWS  # rows: Spark infers their types
