"""The distributed detection functions on hand-made inputs, in a local Spark session: the same
results as the package's pandas functions on one machine."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from governance import spark_detection, spark_syndicates
from governance.detection.anomaly import AnomalyParams, detect_metric_anomalies
from governance.detection.syndicates import (
    SELLER_SYNDICATE_COLUMNS,
    SYNDICATE_COLUMNS,
    SyndicateParams,
    detect_syndicates,
)

# The hand-made inputs of the pandas tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from test_anomaly import START, _day, _segments  # noqa: E402
from test_syndicates import shaped_marketplace  # noqa: E402


def _sorted(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return frame.sort_values(key).reset_index(drop=True)


def test_connected_components_label_each_seller_with_the_smallest_id_of_its_component(spark):
    # A long chain (s09 - s08 - ... - s00 through values v1..v9), a pair, a seller alone.
    edges = [(f"s{i:02d}", f"v{i}") for i in range(1, 10)]
    edges += [(f"s{i - 1:02d}", f"v{i}") for i in range(1, 10)]
    edges += [("b2", "w"), ("b1", "w"), ("c", "x")]
    frame = spark.createDataFrame(edges, "seller_id string, value string")
    found = spark_syndicates.connected_components(frame).toPandas()
    labels = dict(zip(found["seller_id"], found["component"], strict=True))
    assert labels == {**{f"s{i:02d}": "s00" for i in range(10)}, "b1": "b1", "b2": "b1", "c": "c"}


@pytest.fixture(scope="module")
def marketplace():
    g, _ = shaped_marketplace()
    links, sellers = g.links(), g.sellers()
    return links, sellers, detect_syndicates(links, sellers)


def test_syndicates_on_spark_are_the_pandas_syndicates(spark, marketplace):
    links, sellers, (seller_syndicates, syndicates) = marketplace
    spark_links, spark_sellers = spark.createDataFrame(links), spark.createDataFrame(sellers)
    params = SyndicateParams()
    members = spark_syndicates.seller_syndicates(spark_links, spark_sellers, params).toPandas()
    found = _sorted(members, ["seller_id"])
    assert list(found.columns) == SELLER_SYNDICATE_COLUMNS
    assert found["syndicate_id"].nunique() == syndicates["syndicate_id"].nunique() >= 8
    pd.testing.assert_frame_equal(
        found, seller_syndicates, check_exact=False, rtol=1e-9, check_dtype=False
    )
    summary = spark_syndicates.syndicates(
        spark_links, spark_sellers, spark.createDataFrame(members), params
    ).toPandas()
    assert list(summary.columns) == SYNDICATE_COLUMNS
    pd.testing.assert_frame_equal(
        _sorted(summary, ["syndicate_id"]),
        _sorted(syndicates, ["syndicate_id"]),
        check_exact=False,
        rtol=1e-9,
        check_dtype=False,
    )


def test_anomaly_detection_on_spark_resumes_from_the_previous_output(spark):
    data = _segments(130)
    dates = pd.to_datetime(data["metric_date"])
    night = detect_metric_anomalies(data[dates <= pd.Timestamp(START) + pd.Timedelta(days=119)])
    # A quiet day of SG marked as flagged in the stored output: a resumed scan keeps it as
    # stored, which a scan that ignored the previous output would not.
    doctored = night.copy()
    quiet = (doctored["region"] == "SG") & (
        doctored["metric_date"] == _day(night, "SG", "fashion", 115)["metric_date"]
    )
    doctored.loc[quiet, ["is_anomaly", "expected_value"]] = [True, 0.5]
    expected = detect_metric_anomalies(data, previous=doctored)
    params = AnomalyParams()
    found = spark_detection.metric_anomalies(
        spark.createDataFrame(data),
        params,
        previous=spark.createDataFrame(doctored, spark_detection.ANOMALY_SCHEMA),
    ).toPandas()
    key = ["metric_name", "region", "category", "metric_date"]
    found = _sorted(found, key)
    assert _day(found, "SG", "fashion", 115)["expected_value"] == 0.5
    pd.testing.assert_frame_equal(
        found, _sorted(expected, key), check_exact=False, rtol=1e-9, check_dtype=False
    )
