"""How raw Parquet files are read: every file through one typed, quarantining read (the staging
base models and the tests on the raw sources alike), so a file of the wrong physical type is
quarantined row by row instead of stopping the build, and time-zone-aware timestamps are
converted to UTC whatever the host's time zone."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from governance.nightly import latest_file_night, run_nightly
from governance.publish import whole_build
from governance.simulator.feed import generate_with_holdback

TIME_ZONES = ("UTC", "Asia/Singapore")
# The models a night builds here: the two base tables concerned with what they read, the raw
# source tests of those tables, and what the night's summary reads.
SELECT = [
    "--select",
    "resource_type:seed",
    "source:marketplace.orders",
    "source:marketplace.listings",
    "staging",
    "marts.data_quality",
    "+int_as_of_date",
    "--exclude",
    "resource_type:unit_test",
    "--indirect-selection",
    "cautious",
]


def _first_rows(raw: Path, table: str, n: int) -> pa.Table:
    return pq.read_table(next((raw / table).glob("initial-load-*.parquet"))).slice(0, n)


def _with_column(rows: pa.Table, name: str, array: pa.Array) -> pa.Table:
    return rows.set_column(rows.schema.get_field_index(name), name, array)


def _ids(prefix: str, n: int) -> pa.Array:
    return pa.array([f"{prefix}{i}" for i in range(n)])


def _bad_files(raw: Path) -> dict:
    """Delivers tonight: orders with `gmv_usd` as text, listings with `created_at` as int64
    epoch milliseconds, and listings with `created_at` in Asia/Singapore time."""
    night = latest_file_night(raw)
    orders = _first_rows(raw, "orders", 3)
    orders = _with_column(orders, "order_id", _ids("O-TEXT-", 3))
    orders = _with_column(orders, "gmv_usd", pa.array(["12.5", "n/a", "7"]))
    pq.write_table(orders, raw / "orders" / f"{night}-wrongtype.parquet")

    listings = _first_rows(raw, "listings", 2)
    epoch = _with_column(listings, "listing_id", _ids("L-EPOCH-", 2))
    epoch = _with_column(epoch, "created_at", pa.array([1782000000000, None], pa.int64()))
    pq.write_table(epoch, raw / "listings" / f"{night}-epoch.parquet")

    # 00:30 and 21:00 UTC on the night: 08:30 that night and 05:00 the next day in Singapore.
    midnight = datetime(night.year, night.month, night.day, tzinfo=UTC)
    utc = [midnight + timedelta(minutes=30), midnight + timedelta(hours=21)]
    singapore = _with_column(listings, "listing_id", _ids("L-SGT-", 2))
    singapore = _with_column(
        singapore, "created_at", pa.array(utc, pa.timestamp("us", tz="Asia/Singapore"))
    )
    pq.write_table(singapore, raw / "listings" / f"{night}-singapore.parquet")
    return {"night": night, "utc": [t.replace(tzinfo=None) for t in utc]}


def _night_under(time_zone: str, raw: Path, published: Path):
    """A full-refresh night run with the host time zone set to ``time_zone`` (dbt runs in a
    subprocess that inherits it)."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = time_zone
    try:
        return run_nightly(
            raw,
            published,
            full_refresh=True,
            freshness=False,
            quality=False,
            target_path=published.parent / "target",
            extra_vars={"quarantine_max_share": 1.0},
            dbt_args=SELECT,
            log=lambda line: None,
        )
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous


def _rows(db: Path, sql: str) -> list[tuple]:
    """Rows of a warehouse's whole build (the state beside a published file)."""
    with duckdb.connect(str(whole_build(db)), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw-read")
    raw = root / "raw"
    generate_with_holdback(raw, root / "truth", 1, scale="tiny", seed=11, days=10)
    planted = _bad_files(raw)
    built = {}
    for time_zone in TIME_ZONES:
        published = root / time_zone.replace("/", "-") / "governance.duckdb"
        published.parent.mkdir()
        built[time_zone] = (_night_under(time_zone, raw, published), published)
    return {"raw": raw, "planted": planted, "built": built}


def test_a_time_zone_aware_file_is_staged_in_utc_whatever_the_host_time_zone(nights):
    sql = (
        "select listing_id, disposition, rule_name, created_at "
        "from staging.base_marketplace__listings where listing_id like 'L-SGT-%' order by 1"
    )
    expected = [(f"L-SGT-{i}", "staged", None, t) for i, t in enumerate(nights["planted"]["utc"])]
    for time_zone in TIME_ZONES:
        assert _rows(nights["built"][time_zone][1], sql) == expected, time_zone
    # Every staged row of every table is the same under both host time zones.
    everything = "select * exclude (processed_at) from staging.base_marketplace__{} order by all"
    for table in ("listings", "orders", "sellers"):
        utc, singapore = (
            _rows(nights["built"][tz][1], everything.format(table)) for tz in TIME_ZONES
        )
        assert utc == singapore, table


def test_a_mistyped_file_is_quarantined_by_value_and_the_full_build_passes(nights):
    report, published = nights["built"]["UTC"]
    assert report.mode == "full-refresh" and report.dbt["tests_failed"] == 0
    rows = _rows(
        published,
        "select order_id, disposition, rule_name, rule_column, gmv_usd "
        "from staging.base_marketplace__orders where order_id like 'O-TEXT-%' order by 1",
    )
    # Values that parse are staged; the one that does not is quarantined with its column.
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [
        ("O-TEXT-0", None, None, 12.5),
        ("O-TEXT-1", "unparseable_value", "gmv_usd", None),
        ("O-TEXT-2", None, None, 7.0),
    ]
    assert rows[1][1] == "quarantined"
    # The raw source tests ran on the same typed values: the amount check passed or warned.
    assert report.dbt["tests_passed"] + report.dbt["tests_warned"] > 20


def test_int64_epoch_timestamps_are_quarantined_row_by_row(nights):
    report, published = nights["built"]["UTC"]
    assert any("created_at" in w and "int64" in w for w in report.contract_warnings)
    rows = _rows(
        published,
        "select listing_id, disposition, rule_name, rule_column "
        "from staging.base_marketplace__listings where listing_id like 'L-EPOCH-%' order by 1",
    )
    assert rows == [
        ("L-EPOCH-0", "quarantined", "unparseable_value", "created_at"),
        ("L-EPOCH-1", "quarantined", "missing_required_value", "created_at"),
    ]
    # Every raw row of the table is accounted for.
    (raw, staged, quarantined, superseded) = _rows(
        published,
        "select raw_row_count, staged_row_count, quarantined_row_count, superseded_row_count "
        "from monitoring.data_quality_reconciliation where table_name = 'listings'",
    )[0]
    assert raw == pq.read_table(nights["raw"] / "listings").num_rows
    assert raw == staged + quarantined + superseded
