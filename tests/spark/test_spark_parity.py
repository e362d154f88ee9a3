"""Every model builds on Spark, the dbt Python models included, and gives the same tables as on
DuckDB: metrics, seller features, anomaly flags, syndicate memberships, risk scores, alerts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from governance.warehouse import dbt_executable

METRIC_KEY = ["metric_name", "metric_date", "region", "category"]
# Schema of each compared relation, the same on both engines.
SCHEMAS = {
    "metrics_daily": "metrics",
    "seller_features_stored": "detection",
    "int_seller_identity_links": "intermediate",
    "metric_anomalies": "detection",
    "seller_syndicates": "detection",
    "syndicates": "detection",
    "seller_risk_scores": "detection",
    "alerts": "monitoring",
}


def _duckdb_table(db: Path, relation: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"select * from {relation}").df()


def _spark_table(warehouse: Path, schema: str, table: str) -> pd.DataFrame:
    folder = warehouse / f"{schema}.db" / table
    assert folder.is_dir(), f"Spark table {schema}.{table} has no data folder {folder}"
    pattern = str(folder / "*.parquet")
    with duckdb.connect() as con:
        return con.execute(f"select * from read_parquet('{pattern}')").df()


def _normalised(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = (
                pd.to_datetime(frame[column]).dt.tz_localize(None).astype("datetime64[us]")
            )
        elif pd.api.types.is_bool_dtype(frame[column]):
            frame[column] = frame[column].astype("boolean")
        elif pd.api.types.is_integer_dtype(frame[column]):
            frame[column] = frame[column].astype("Int64")
        elif pd.api.types.is_float_dtype(frame[column]):
            frame[column] = frame[column].astype("Float64")
        elif frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            sample = frame[column].dropna()
            if len(sample) and not isinstance(sample.iloc[0], str):
                frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
            else:
                frame[column] = frame[column].astype("string")
    return frame.sort_values(key).reset_index(drop=True)


def _statuses(run_results: Path) -> dict[str, str]:
    return {r["unique_id"]: r["status"] for r in json.loads(run_results.read_text())["results"]}


def test_every_model_and_data_test_passes_on_spark(engines):
    process = engines["spark_process"]
    assert process.returncode == 0, process.stdout[-6000:]
    statuses = _statuses(engines["spark_results"])
    # Exposures are documentation: dbt lists them as no-op.
    failed = {
        k: v
        for k, v in statuses.items()
        if v not in ("success", "pass") and not (k.startswith("exposure.") and v == "no-op")
    }
    assert failed == {}
    duck_models = {k for k in _statuses(engines["duckdb_results"]) if k.startswith("model.")}
    spark_models = {k for k in statuses if k.startswith("model.")}
    # Every model the DuckDB build made is built on Spark too, the dbt Python models included.
    assert spark_models == duck_models
    for name in ("metrics_daily", "metric_anomalies", "seller_syndicates", "alerts"):
        assert f"model.marketplace_governance.{name}" in spark_models
    assert any(k.startswith("test.") for k in statuses)
    assert any(k.startswith("unit_test.") for k in statuses)


def test_spark_run_registers_the_raw_tables(engines):
    assert "Registered 11 raw Parquet tables" in engines["spark_process"].stdout


def test_metrics_daily_matches_duckdb_row_for_row(engines):
    duck, spark = _both(engines, "metrics_daily", METRIC_KEY)
    assert len(duck) > 1000
    assert list(spark.columns) == list(duck.columns)
    exact = ["metric_name", "metric_date", "region", "category", "numerator", "denominator"]
    pd.testing.assert_frame_equal(spark[exact + ["is_mature"]], duck[exact + ["is_mature"]])
    for column in ("value", "ci_lower", "ci_upper"):
        pd.testing.assert_series_equal(spark[column], duck[column], rtol=1e-12, atol=1e-15)


def test_seller_features_match_duckdb_row_for_row(engines):
    """The stored seller features, row for row but the build stamp. The `seller_features` view
    over them (the reporting date's tenure and label maturity) has no data of its own: Spark's
    risk scores read it, and match DuckDB's below."""
    duck, spark = (
        frame.drop(columns="processed_at")
        for frame in _both(engines, "seller_features_stored", ["seller_id"])
    )
    assert len(duck) > 100
    assert list(spark.columns) == list(duck.columns)
    pd.testing.assert_frame_equal(spark, duck, check_exact=False, rtol=1e-12)


def test_pii_hashes_agree_across_engines_with_the_same_salt(engines):
    key = ["seller_id", "signal_type", "signal_value_hash"]
    links = "int_seller_identity_links"
    duck = _duckdb_table(engines["duckdb"], f"{SCHEMAS[links]}.{links}")
    spark = _spark_table(engines["spark_warehouse"], SCHEMAS[links], links)
    duck_hashes = set(map(tuple, duck[key].itertuples(index=False)))
    spark_hashes = set(map(tuple, spark[key].itertuples(index=False)))
    assert len(duck_hashes) > 100
    assert spark_hashes == duck_hashes
    assert all(len(h) == 64 for h in duck["signal_value_hash"])


@pytest.mark.parametrize(
    ("salt", "message"),
    [("", "GOVERNANCE_PII_SALT is not set"), ("governance-demo-salt", "public demo salt")],
)
def test_spark_target_refuses_to_hash_pii_without_a_secret_salt(
    salt, message, tmp_path, dbt_project_dir
):
    project = dbt_project_dir
    env = dict(os.environ, GOVERNANCE_PII_SALT=salt, GOVERNANCE_SPARK_DIR=str(tmp_path))
    process = subprocess.run(
        [dbt_executable(), "run-operation", "check_spark_pii_salt", "--target", "spark"]
        + ["--project-dir", str(project), "--profiles-dir", str(project)]
        + ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=project,
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )
    assert process.returncode != 0
    assert message in process.stdout


def _both(engines, table: str, key: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    schema = SCHEMAS[table]
    duck = _normalised(_duckdb_table(engines["duckdb"], f"{schema}.{table}"), key)
    spark = _normalised(_spark_table(engines["spark_warehouse"], schema, table), key)
    return duck, spark


def test_metric_anomalies_match_duckdb_flag_for_flag(engines):
    key = ["metric_name", "region", "category", "metric_date"]
    duck, spark = _both(engines, "metric_anomalies", key)
    assert len(duck) > 1000 and duck["is_anomaly"].sum() > 0
    _assert_same_anomalies(duck, spark, key)


def _assert_same_anomalies(duck: pd.DataFrame, spark: pd.DataFrame, key: list[str]) -> None:
    assert list(spark.columns) == list(duck.columns)
    exact = [*key, "is_anomaly", "direction", "severity", "history_days", "method"]
    pd.testing.assert_frame_equal(spark[exact], duck[exact])
    for column in ("expected_value", "p_value", "q_value", "cusum_up"):
        pd.testing.assert_series_equal(spark[column], duck[column], rtol=1e-9, atol=1e-12)


def test_the_next_spark_run_resumes_anomaly_detection_from_the_table_it_built(
    engines, spark_anomalies_rerun
):
    process = spark_anomalies_rerun["process"]
    assert process.returncode == 0, process.stdout[-6000:]
    duck, spark = _both(engines, "metric_anomalies", ["metric_name", "region", "category"])
    # The previous build's table was read (dbt-spark drops it before building the model)...
    assert f"resuming from the previous build ({len(duck)} rows)" in process.stdout
    # ...the result is the full scan's, and the kept copy is gone.
    _assert_same_anomalies(duck, spark, ["metric_name", "region", "category", "metric_date"])
    schema = engines["spark_warehouse"] / f"{SCHEMAS['metric_anomalies']}.db"
    assert sorted(p.name for p in schema.glob("metric_anomalies*")) == ["metric_anomalies"]


def _memberships(frame: pd.DataFrame) -> set[frozenset]:
    members = frame.dropna(subset=["syndicate_id"])
    return {frozenset(g["seller_id"]) for _, g in members.groupby("syndicate_id")}


def test_syndicate_memberships_match_duckdb_up_to_label_names(engines):
    duck, spark = _both(engines, "seller_syndicates", ["seller_id"])
    assert len(_memberships(duck)) > 0
    assert _memberships(spark) == _memberships(duck)


def test_syndicates_match_duckdb(engines):
    duck, spark = _both(engines, "syndicates", ["syndicate_id"])
    assert len(duck) > 0
    assert list(spark.columns) == list(duck.columns)
    pd.testing.assert_frame_equal(spark, duck, check_exact=False, rtol=1e-9)
    duck, spark = _both(engines, "seller_syndicates", ["seller_id"])
    assert list(spark.columns) == list(duck.columns)
    pd.testing.assert_frame_equal(spark, duck, check_exact=False, rtol=1e-9)


def test_risk_scores_match_duckdb_with_the_same_model(engines):
    duck, spark = _both(engines, "seller_risk_scores", ["seller_id"])
    assert len(duck) > 100
    assert list(spark.columns) == list(duck.columns)
    same = ["seller_id", "risk_band", "model_version", "top_features", "is_out_of_time"]
    pd.testing.assert_frame_equal(spark[same], duck[same])
    pd.testing.assert_series_equal(spark["risk_score"], duck["risk_score"], rtol=0, atol=1e-9)


def test_alerts_match_duckdb(engines):
    duck, spark = _both(engines, "alerts", ["incident_id"])
    assert len(duck) > 0
    assert list(spark.columns) == list(duck.columns)
    pd.testing.assert_frame_equal(spark, duck, check_exact=False, rtol=1e-9)
