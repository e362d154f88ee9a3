"""The nightly job end to end on a tiny simulated feed: incremental nights equal a full rebuild
(late events included), readers never see a partial night, a killed build leaves the published
warehouse untouched, the same night twice gives the same tables, no raw PII anywhere published
or logged, and vars and dates are validated before they reach SQL."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from nightly_support import base_tables, leaked_values, sha256, table_differences

from governance import build_results, metric_registry, settings
from governance import publish as pub
from governance.detection.risk import SCORE_COLUMNS, score
from governance.detection.risk_features import risk_feature_frame
from governance.detection.risk_registry import load_model
from governance.nightly import (
    NightlyError,
    freshness_target,
    report_path,
    run_backfill,
    run_nightly,
)
from governance.publish import FAULT_ENV, state_path, whole_build
from governance.published_file import partition_keys
from governance.quality import read_validation_state
from governance.simulator.corrupt import _set
from governance.simulator.feed import advance_day, generate_with_holdback
from governance.warehouse import run_dbt, source_tests_path

SEED = 7
FIRST_NIGHT, NIGHT = "2026-06-29", "2026-06-30"
# Data tests validate a night; the runs that only produce tables to compare skip them.
NO_TESTS = ["--exclude", "resource_type:test", "resource_type:unit_test"]
ORDERS_SQL = "marketplace_governance/models/marts/semantic/fct_completed_orders.sql"
ORDER_FACT = "semantic.fct_completed_orders"
BASE_ORDERS_SQL = (
    "marketplace_governance/models/staging/marketplace/base/base_marketplace__orders.sql"
)
ACTIVITY_SQL = "marketplace_governance/models/intermediate/sellers/int_seller_activity.sql"
CASE_EVENTS_SQL = "marketplace_governance/models/marts/risk/seller_case_events.sql"

READER = r"""
import json, sys, time, duckdb
db, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
import os
with open(out, "w") as log:
    while not os.path.exists(stop):
        try:
            with duckdb.connect(db, read_only=True) as con:
                row = con.execute(
                    "select max(metric_date), count(*), sum(numerator), "
                    "(select sum(raw_row_count) from monitoring.data_quality_reconciliation) "
                    "from metrics.metrics_daily"
                ).fetchone()
            log.write(json.dumps({"ok": [str(row[0]), row[1], round(row[2], 6), row[3]]}) + "\n")
        except Exception as exc:  # every error is a finding
            log.write(json.dumps({"error": repr(exc)}) + "\n")
        log.flush()
        time.sleep(0.05)
"""


def _state(db: Path) -> list:
    """Reporting date and metric totals of a warehouse (of the state beside a published file)."""
    with duckdb.connect(str(whole_build(db)), read_only=True) as con:
        row = con.execute(
            "select max(metric_date), count(*), sum(numerator), "
            "(select sum(raw_row_count) from monitoring.data_quality_reconciliation) "
            "from metrics.metrics_daily"
        ).fetchone()
    return [str(row[0]), row[1], round(row[2], 6), row[3]]


def _copy_warehouse(published: Path, to: Path) -> None:
    """A copy of a published warehouse and the build state beside it."""
    shutil.copy(published, to)
    shutil.copy(state_path(published), state_path(to))


LATE_LISTING = "L-LATE-0001"
# The risk model is trained weekly (var risk_retrain_days), not every night.
RISK_TABLES = (("intermediate", "seller_risk_models"), ("detection", "seller_risk_scores"))


def _latest_rows(raw: Path, table: str, time_column: str, n: int) -> pa.Table:
    """The `n` latest rows of the night-1 load (within the incremental lookback window)."""
    rows = pq.read_table(next((raw / table).glob("initial-load-*.parquet")))
    return rows.take(pc.sort_indices(rows, [(time_column, "descending")])[:n])


def _early_orders_of_a_late_listing(raw: Path) -> None:
    orders = _latest_rows(raw, "orders", "ordered_at", 3)
    orders = _set(orders, "order_id", [f"O-EARLY-{i}" for i in range(3)])
    orders = _set(orders, "listing_id", [LATE_LISTING] * 3)
    pq.write_table(orders, raw / "orders" / f"{FIRST_NIGHT}-early-orders.parquet")


def _late_listing(raw: Path) -> None:
    seller = pq.read_table(raw / "orders" / f"{FIRST_NIGHT}-early-orders.parquet")["seller_id"]
    listing = _latest_rows(raw, "listings", "created_at", 1)
    listing = _set(listing, "listing_id", [LATE_LISTING])
    listing = _set(listing, "seller_id", [seller[0].as_py()])
    pq.write_table(listing, raw / "listings" / f"{NIGHT}-late-listing.parquet")


def _corrections(raw: Path) -> None:
    for table, time_column, amount in (
        ("orders", "ordered_at", "gmv_usd"),
        ("listings", "created_at", "price_usd"),
    ):
        rows = _latest_rows(raw, table, time_column, 5)
        rows = _set(rows, amount, pc.multiply(rows[amount], 2.0).to_pylist())
        pq.write_table(rows, raw / table / f"{NIGHT}-corrections.parquet")


def _before_the_order_window(night_1: Path) -> str:
    """The first order day night 2 re-processes for its own window (lookback 3 days and the
    14-day complaint window before night 1's latest order day)."""
    with duckdb.connect(str(night_1), read_only=True) as con:
        return str(
            con.execute(
                f"select cast(max(ordered_date) - interval 17 day as date) from {ORDER_FACT}"
            ).fetchone()[0]
        )


def _late_overturn(raw: Path, night_1: Path) -> str:
    """An appeal decided on night 2 overturns the only action against a violating listing whose
    orders were placed before the window night 2 re-processes for itself; the listing."""
    with duckdb.connect(str(night_1), read_only=True) as con:
        action_id, listing_id = con.execute(
            "select any_value(actions.action_id), actions.target_id "
            "from intermediate.int_enforcement_actions_resolved as actions "
            f"inner join {ORDER_FACT} as orders "
            "on actions.target_id = orders.listing_id "
            "where actions.target_type = 'listing' and orders.is_on_violating_listing "
            "and orders.ordered_date < ? "
            "group by actions.target_id "
            "having count(distinct actions.action_id) = 1 and not bool_or(actions.is_appealed) "
            "order by actions.target_id limit 1",
            [_before_the_order_window(night_1)],
        ).fetchone()
    appeal = pq.read_table(next((raw / "appeals").glob("initial-load-*.parquet"))).slice(0, 1)
    for column, value in (
        ("appeal_id", "P-LATE-OVERTURN"),
        ("action_id", action_id),
        ("filed_at", pd.Timestamp(f"{NIGHT} 01:00:00")),
        ("resolved_at", pd.Timestamp(f"{NIGHT} 02:00:00")),
        ("outcome", "overturned"),
    ):
        appeal = _set(appeal, column, [value])
    pq.write_table(appeal, raw / "appeals" / f"{NIGHT}-late-overturn.parquet")
    return listing_id


def _moved_seller(raw: Path, night_1: Path) -> str:
    """Night 2 delivers again a seller whose listings and orders are older than the window, in
    another region and of the other type; the seller."""
    with duckdb.connect(str(night_1), read_only=True) as con:
        (seller_id,) = con.execute(
            "select orders.seller_id from semantic.fct_completed_orders as orders "
            "where orders.ordered_date < ? and orders.seller_id is not null "
            "group by orders.seller_id order by count(*), orders.seller_id limit 1",
            [_before_the_order_window(night_1)],
        ).fetchone()
    sellers = pq.read_table(next((raw / "sellers").glob("initial-load-*.parquet")))
    seller = sellers.filter(pc.equal(sellers["seller_id"], seller_id))
    (region,) = seller["region"].to_pylist()
    (kind,) = seller["seller_type"].to_pylist()
    seller = _set(seller, "region", ["SG" if region != "SG" else "VN"])
    seller = _set(seller, "seller_type", ["business" if kind != "business" else "individual"])
    pq.write_table(seller, raw / "sellers" / f"{NIGHT}-moved-seller.parquet")
    return seller_id


def _moved_order(raw: Path) -> dict[str, str]:
    """Night 2 delivers again an order loaded on night 1 (not one of the corrected ones), the
    latest order of a seller with other orders, with another seller and another status; the
    order, its seller before and after."""
    orders = _latest_rows(raw, "orders", "ordered_at", 50)
    loaded = pq.read_table(next((raw / "orders").glob("initial-load-*.parquet")))
    orders_of = loaded.group_by("seller_id").aggregate([("order_id", "count")]).to_pydict()
    n_orders = dict(zip(orders_of["seller_id"], orders_of["order_id_count"], strict=True))
    later_sellers = set()  # the sellers of the orders placed after the one looked at
    for index, seller in enumerate(orders["seller_id"].to_pylist()):
        if index >= 10 and seller not in later_sellers and n_orders[seller] > 1:
            break
        later_sellers.add(seller)
    order, other = orders.slice(index, 1), orders.slice(index + 1, 50 - index - 1)
    (old_seller,) = order["seller_id"].to_pylist()
    new_seller = next(s for s in other["seller_id"].to_pylist() if s != old_seller)
    (status,) = order["order_status"].to_pylist()
    order = _set(order, "seller_id", [new_seller])
    order = _set(order, "order_status", ["refunded" if status == "completed" else "completed"])
    pq.write_table(order, raw / "orders" / f"{NIGHT}-moved-order.parquet")
    (order_id,) = order["order_id"].to_pylist()
    return {"order": order_id, "old seller": old_seller, "new seller": new_seller}


LINKS = "intermediate.int_seller_identity_links"
NEW_SHARED_VALUE = "203.0.113.77"  # an identity value no seller had before night 2


def _identity_signals(raw: Path) -> dict[str, tuple[str, str]]:
    """Night 2 delivers again two observations loaded on night 1, one as it was, the other with
    another seller's value of its type (that value gains a seller), and a value new to the
    warehouse observed on two sellers. (seller, signal type) of the seller that gains the value,
    of the seller it came from, and of the two sellers of the new value."""
    rows = pq.read_table(next((raw / "seller_identity_signals").glob("initial-load-*.parquet")))
    rows = rows.take(pc.sort_indices(rows, [("observed_at", "descending")]))
    frame = rows.to_pandas()
    same, changed, new = 0, 1, 2
    seller, kind = frame.at[changed, "seller_id"], frame.at[changed, "signal_type"]
    donor = frame.index[
        (frame["signal_type"] == kind)
        & (frame["seller_id"] != seller)
        & ~frame["signal_value"].isin(frame.loc[frame["seller_id"] == seller, "signal_value"])
    ][0]
    other_new = frame.index[
        (frame.index > new) & (frame["seller_id"] != frame.at[new, "seller_id"])
    ]
    other_new = other_new[0]
    new_kind = frame.at[new, "signal_type"]
    night = rows.take([same, changed, new, other_new])
    values = frame.at[same, "signal_value"], frame.at[donor, "signal_value"]
    night = _set(night, "signal_value", [*values, NEW_SHARED_VALUE, NEW_SHARED_VALUE])
    night = _set(night, "signal_type", [frame.at[same, "signal_type"], kind, new_kind, new_kind])
    pq.write_table(night, raw / "seller_identity_signals" / f"{NIGHT}-signals.parquet")
    return {
        "gains a seller": (seller, kind),
        "donor": (frame.at[donor, "seller_id"], kind),
        "new value": (frame.at[new, "seller_id"], new_kind),
        "new value, other seller": (frame.at[other_new, "seller_id"], new_kind),
    }


def _nightly(root: Path, published: Path, **options):
    return run_nightly(
        root / "raw",
        published,
        target_path=root / "target",
        freshness=options.pop("freshness", False),
        quality=options.pop("quality", False),
        log=lambda line: None,
        **options,
    )


def _tests_run(target: Path) -> set[str]:
    """Data tests by name, unit tests as ``unit:<model>.<test>``."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    names = set()
    for r in results:
        kind, _, *rest = r["unique_id"].split(".")
        if kind == "test":
            names.add(rest[0])
        elif kind == "unit_test":
            names.add("unit:" + ".".join(rest))
    return names


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Night 1 (first, full build) and night 2 (incremental, late events, a reader polling the
    published file throughout) of a tiny feed; then a full rebuild of the same raw data."""
    root = tmp_path_factory.mktemp("nightly")
    generate_with_holdback(root / "raw", root / "truth", 1, scale="tiny", seed=SEED)
    # Night 1 also delivers orders of a listing that arrives only on night 2 (orphans until then).
    _early_orders_of_a_late_listing(root / "raw")
    published = root / "wh" / "governance.duckdb"
    first = _nightly(root, published, freshness=True, quality=True)
    first_state = _state(published)
    first_tests = _tests_run(root / "target")
    snapshot = root / "night1.duckdb"  # night 1's whole build
    snapshot.write_bytes(state_path(published).read_bytes())

    advance_day(root / "raw", root / "truth")
    _late_listing(root / "raw")
    # ...and corrected versions of orders and listings loaded on night 1; an overturn of a
    # listing's action and a seller delivered again, both changing orders older than the window.
    _corrections(root / "raw")
    overturned_listing = _late_overturn(root / "raw", snapshot)
    moved_seller = _moved_seller(root / "raw", snapshot)
    # ...and an order delivered again with another seller and status.
    moved_order = _moved_order(root / "raw")
    # ...and identity signals: an observation delivered again, one with another seller's value,
    # a value new to the warehouse on two sellers.
    identity_signals = _identity_signals(root / "raw")
    dbt_log = root / "target" / "logs" / "dbt.log"
    night_1_log_end = dbt_log.stat().st_size
    stop, polls = root / "stop-reader", root / "reader.jsonl"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published), str(stop), str(polls)])
    try:
        time.sleep(1.0)
        second = _nightly(root, published)
        time.sleep(1.0)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    second_tests = _tests_run(root / "target")
    with dbt_log.open("rb") as log:
        log.seek(night_1_log_end)
        second_log = log.read().decode()
    incremental_sql = {
        step: (root / "target" / step / ORDERS_SQL).read_text() for step in ("compiled", "run")
    }
    incremental_sql["base_compiled"] = (root / "target" / "compiled" / BASE_ORDERS_SQL).read_text()
    incremental_sql["base_run"] = (root / "target" / "run" / BASE_ORDERS_SQL).read_text()
    incremental_sql["activity"] = (root / "target" / "compiled" / ACTIVITY_SQL).read_text()
    incremental_sql["case_events"] = (root / "target" / "compiled" / CASE_EVENTS_SQL).read_text()
    rebuilt = root / "full" / "governance.duckdb"
    full = _nightly(root, rebuilt, full_refresh=True, dbt_args=NO_TESTS)
    return {
        "root": root,
        "published": published,  # what BI reads
        "state": state_path(published),  # night 2's whole build, beside it
        "snapshot": snapshot,
        "overturned_listing": overturned_listing,
        "moved_seller": moved_seller,
        "moved_order": moved_order,
        "identity_signals": identity_signals,
        "rebuilt": state_path(rebuilt),  # the whole build of the full rebuild
        "reports": (first, second, full),
        "states": (first_state, _state(published)),
        "incremental_sql": incremental_sql,
        "tests_run": (first_tests, second_tests),
        "second_dbt_log": second_log,
        "polls": [json.loads(line) for line in polls.read_text().splitlines()],
    }


def test_first_night_is_a_full_build_then_nights_are_incremental(nights):
    first, second, full = nights["reports"]
    assert (first.night, first.mode, first.as_of_date) == (FIRST_NIGHT, "full-refresh", FIRST_NIGHT)
    assert (second.night, second.mode, second.as_of_date) == (NIGHT, "incremental", NIGHT)
    assert full.mode == "full-refresh"
    assert first.quality == "passed"
    assert first.dbt["tests_failed"] == second.dbt["tests_failed"] == 0
    assert second.dbt["tests_passed"] > 100
    # Time by step, in the order the steps ran; they add up to the night's time.
    assert list(first.step_seconds) == [
        "raw_check",
        "work_file",
        "freshness",
        "dbt_build",
        "quality",
        "publish",
    ]
    assert list(second.step_seconds) == ["raw_check", "work_file", "dbt_build", "publish"]
    assert sum(first.step_seconds.values()) == pytest.approx(first.seconds, abs=0.5)
    assert max(second.step_seconds, key=second.step_seconds.get) == "dbt_build"
    # Late events, corrections and orphans of night 2 all fall in the re-processed days.
    assert first.unprocessed_changes == second.unprocessed_changes == []
    assert {f.table for f in first.freshness} >= {"orders", "listings", "enforcement_actions"}
    orders = next(f for f in first.freshness if f.table == "orders")
    assert orders.status_for_night == "pass" and orders.hours_behind_night < 1
    # Night 2 re-wrote whole order days from the lookback window on: its pre-hook deleted them
    # and dbt's own delete by day is off (it would delete the other orders of a day an order
    # re-written alone falls on); the post-hook deleted the rows of the orders written one by one.
    run = re.sub(r"\s+", " ", nights["incremental_sql"]["run"])
    assert "delete from" in run and "where ( ordered_date) in ( select (ordered_date)" in run
    assert re.search(r"from \S+ \) and false ?;", run)
    model = re.sub(r"\s+", " ", nights["incremental_sql"]["compiled"])
    # ...from the latest order day night 1 published minus the lookback (3 days), read from the
    # model when the run started: a constant in the SQL. The order records changed tonight are
    # examined one by one from the 14-day complaint window before that on.
    with duckdb.connect(str(nights["snapshot"]), read_only=True) as con:
        first_day, first_examined_day = con.execute(
            "select cast(cast(max(ordered_at) as date) - interval 3 day as date), "
            "cast(cast(max(ordered_at) as date) - interval 17 day as date) "
            f"from {ORDER_FACT}"
        ).fetchone()
    window = f"ordered_at >= cast(cast('{first_day:%Y-%m-%d}' as date) as timestamp)"
    assert model.count(window) == 2  # the completed orders, complaint check
    examined = f"ordered_at >= cast(cast('{first_examined_day:%Y-%m-%d}' as date) as timestamp)"
    assert model.count(examined) == 2  # the order records delivered again
    assert "max(ordered_at)" not in model
    # The raw orders were read from night 2's files alone (the files of night 1 are loaded)...
    base = re.sub(r"\s+", " ", nights["incremental_sql"]["base_compiled"])
    read = re.findall(r"read_parquet\( ?\[([^\]]*)\]", base)
    files = [f for listed in read for f in re.findall(r"'([^']*)'", listed)]
    assert sorted(Path(f).name for f in files) == [
        f"{NIGHT}-corrections.parquet",
        f"{NIGHT}-moved-order.parquet",
        f"{NIGHT}.parquet",
    ]
    # ...with the loaded versions of the orders it repeats, merged on the raw-row lineage.
    assert '."staging"."base_marketplace__orders" as loaded' in base
    base_run = re.sub(r"\s+", " ", nights["incremental_sql"]["base_run"])
    assert "delete from" in base_run and "file_row_number" in base_run
    # Night 1 wrote the published file from nothing; night 2 copied it and rewrote, of the
    # order fact (a delete+insert model of the manifest), the order days it re-processed: those
    # whose rows carry its stamp.
    assert first.publish["incremental"] is False and second.publish["incremental"] is True
    with duckdb.connect(str(nights["published"]), read_only=True) as con:
        days_rewritten, days, as_of_date = con.execute(
            "select count(distinct ordered_date) filter (where processed_at = ("
            "select max(processed_at) from semantic.fct_completed_orders)), "
            "count(distinct ordered_date), (select as_of_date from monitoring.publication) "
            "from semantic.fct_completed_orders"
        ).fetchone()
    assert second.publish["partitions_rewritten"]["semantic.fct_completed_orders"] == (
        days_rewritten
    )
    assert 0 < days_rewritten < days and str(as_of_date) == NIGHT


def test_a_night_re_parses_only_the_files_that_read_its_dates(nights):
    # The night's dates reach dbt as environment variables and the work file keeps its name, so
    # dbt keeps the previous night's parse and re-reads only the models that use the dates
    # (int_as_of_date, the base models that stamp the ingest night), not the whole project.
    log = nights["second_dbt_log"]
    assert "Unable to do partial parsing" not in log
    changed = [int(n) for n in re.findall(r"Partial parsing enabled: .* (\d+) files changed", log)]
    models = settings.project_dir() / "models"
    project_files = len(list(models.rglob("*.sql"))) + len(list(models.rglob("*.py")))
    assert changed and 1 <= changed[0] <= project_files // 4, changed


def test_incremental_nights_leave_the_raw_source_tests_and_unit_tests_to_full_builds(nights):
    first, second = nights["tests_run"]
    raw = {t for t in first if t.startswith("source_")}
    assert "source_unique_marketplace_orders_order_id" in raw and len(raw) > 50
    unit = {t for t in first if t.startswith("unit:")}
    assert "unit:int_listing_enforcement_outcomes.listing_violation_window_and_policy_kind" in unit
    # Night 2 runs every other test (quarantine share, reconciliation, model tests), no raw one
    # and no unit test (they read hand-made rows, not the night's data).
    assert second == first - raw - unit
    assert "assert_quarantine_share_within_limit" in second
    # The dashboard shows the raw-source results of the last full build (night 1), kept beside
    # the published warehouse.
    stored = json.loads(source_tests_path(nights["published"]).read_text())
    assert stored["night"] == FIRST_NIGHT
    assert {t["name"] for t in stored["tests"]} == raw
    # Each published file holds the results of the build that published it: night 1's dbt
    # nodes and expectations; night 2's nodes, with night 1's raw-source tests carried over.
    with duckdb.connect(str(nights["snapshot"]), read_only=True) as con:
        first_results = build_results.read(con)
    with duckdb.connect(str(nights["published"]), read_only=True) as con:
        second_results = build_results.read(con)
    first_tests_stored = first_results[first_results["resource_type"] == "test"]
    assert set(first_tests_stored["name"]) == {t for t in first if not t.startswith("unit:")}
    expectations = first_results[first_results["source"] == "great_expectations"]
    assert len(expectations) > 40 and set(expectations["status"]) <= {"passed", "warning"}
    assert first_results["build_id"].nunique() == 1
    # The checkpoint named the build it validated (night 2 did not validate).
    validated = read_validation_state(nights["published"])["last_run"]
    assert validated["build_id"] == first_results["build_id"].iloc[0]
    carried = second_results[second_results["is_carried_over"]]
    assert set(carried["name"]) == raw
    assert set(carried["build_id"]) == set(first_results["build_id"])
    own = second_results[~second_results["is_carried_over"]]
    assert set(own.loc[own["resource_type"] == "test", "name"]) == second
    assert set(own["build_id"]).isdisjoint(set(first_results["build_id"]))


def _duplicate_orders(db: Path, stamps: list[str]) -> list[str]:
    """Append a copy of an fct_completed_orders row written at each `stamps` entry
    ('latest' or 'earliest' processed_at), a different order each time, and return their order
    ids."""
    duplicated = []
    with duckdb.connect(str(db)) as con:
        for i, stamp in enumerate(stamps):
            pick = "max" if stamp == "latest" else "min"
            order_id = con.execute(
                f"select distinct order_id from {ORDER_FACT} where processed_at = "
                f"(select {pick}(processed_at) from {ORDER_FACT}) "
                f"order by order_id limit 1 offset {i}"
            ).fetchone()[0]
            con.execute(
                f"insert into {ORDER_FACT} select * from {ORDER_FACT} where order_id = ?",
                [order_id],
            )
            duplicated.append(order_id)
    return duplicated


def _unique_test_of_the_order_fact(db: Path, target: Path) -> tuple[dict, str]:
    run_dbt(
        ["test", "--select", "fct_completed_orders,test_name:unique"],
        duckdb_path=db,
        target_path=target,
        quiet=True,
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    (result,) = [r for r in results if r["unique_id"].startswith("test.")]
    sql = next((target / "compiled").rglob("unique_fct_completed_orders_order_id*.sql"))
    return result, sql.read_text()


def test_after_a_night_uniqueness_tests_check_the_keys_the_night_wrote(nights, tmp_path):
    # A nightly build checks the keys of the rows it wrote against the whole table (a duplicate
    # of an order it re-processed is found); older rows were checked by the builds that wrote
    # them, and a full build checks every key.
    night = tmp_path / "night.duckdb"
    shutil.copy(nights["state"], night)
    with duckdb.connect(str(night), read_only=True) as con:
        stamps = con.execute(f"select count(distinct processed_at) from {ORDER_FACT}").fetchone()[0]
    assert stamps == 2  # rows of night 1 outside the lookback window, rows of night 2
    latest, _ = _duplicate_orders(night, ["latest", "earliest"])
    result, sql = _unique_test_of_the_order_fact(night, tmp_path / "night-target")
    assert (result["status"], result["failures"]) == ("fail", 1)
    assert "processed_at = cast(" in sql
    with duckdb.connect(str(night), read_only=True) as con:
        found = con.execute(sql).fetchall()
    assert found == [(latest, 2)]

    full = tmp_path / "full.duckdb"
    shutil.copy(nights["rebuilt"], full)
    _duplicate_orders(full, ["latest", "latest"])
    result, sql = _unique_test_of_the_order_fact(full, tmp_path / "full-target")
    assert (result["status"], result["failures"]) == ("fail", 2)
    assert "processed_at" not in sql


RESOLVED_ACTIONS = "intermediate.int_enforcement_actions_resolved"
SEVERITY_TEST = "not_null_int_enforcement_actions_resolved_policy_severity"


def _severity_test(db: Path, target: Path, command: str) -> tuple[dict, str]:
    """Runs `command` (test or build) on int_enforcement_actions_resolved and its not_null
    tests; the result and compiled SQL of the not_null test on policy_severity."""
    run_dbt(
        [command, "--select", "int_enforcement_actions_resolved,test_name:not_null"]
        if command == "test"
        else [command, "--select", "int_enforcement_actions_resolved"],
        duckdb_path=db,
        target_path=target,
        quiet=True,
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    (result,) = [r for r in results if r["unique_id"].split(".")[2] == SEVERITY_TEST]
    sql = next((target / "compiled").rglob(f"{SEVERITY_TEST}.sql")).read_text()
    return result, sql


def _drop_severity(con, where: str) -> int:
    """Sets policy_severity to null on the resolved actions `where` holds; how many."""
    con.execute(f"update {RESOLVED_ACTIONS} set policy_severity = null where {where}")
    return con.execute(
        f"select count(*) from {RESOLVED_ACTIONS} where policy_severity is null"
    ).fetchone()[0]


def test_a_night_checks_the_rows_it_wrote_and_a_full_build_every_row(nights, tmp_path):
    # Row tests (not_null, accepted_values, expression_is_true) on a model
    # whose rows carry processed_at read only the rows the latest build wrote: the build's own
    # rows when it built the model, else the newest stamp; a full build checks every row.
    night = tmp_path / "night.duckdb"
    shutil.copy(nights["state"], night)
    with duckdb.connect(str(night)) as con:
        latest, earliest = con.execute(
            f"select max(processed_at), min(processed_at) from {RESOLVED_ACTIONS}"
        ).fetchone()
        assert latest > earliest  # rows of night 1 outside the window, rows of night 2
        # A night that writes a null: the policy of an action it re-processes loses its
        # severity before the build re-resolves the action's window.
        policy = con.execute(
            f"select policy_code from {RESOLVED_ACTIONS} where processed_at = ? "
            "group by policy_code order by count(*) desc limit 1",
            [latest],
        ).fetchone()[0]
        con.execute("update reference.policies set severity = null where policy_code = ?", [policy])
    result, sql = _severity_test(night, tmp_path / "build-target", "build")
    with duckdb.connect(str(night), read_only=True) as con:
        stamp, nulls, unread = con.execute(
            "select max(processed_at), count(*) filter (where policy_severity is null), "
            f"count(*) filter (where policy_code = ? and processed_at < ?) from {RESOLVED_ACTIONS}",
            [policy, latest],
        ).fetchone()
    assert stamp > latest and nulls > 0
    assert (result["status"], result["failures"]) == ("fail", nulls)
    assert f"processed_at = cast('{stamp:%Y-%m-%d %H:%M:%S.%f}' as timestamp)" in sql
    # Rows of that policy the build did not write keep their severity and are not read again.
    assert unread > 0

    # `dbt test` alone reads the rows of the newest stamp: a null in an older row is not read.
    after_night = tmp_path / "after-night.duckdb"
    shutil.copy(nights["state"], after_night)
    with duckdb.connect(str(after_night)) as con:
        assert _drop_severity(con, f"processed_at = '{earliest}'") > 0
    result, sql = _severity_test(after_night, tmp_path / "old-target", "test")
    assert (result["status"], result["failures"]) == ("pass", 0)
    with duckdb.connect(str(after_night)) as con:
        newest = con.execute(
            f"select action_id from {RESOLVED_ACTIONS} where processed_at = ? limit 1", [latest]
        ).fetchone()[0]
        _drop_severity(con, f"action_id = '{newest}'")
    result, _ = _severity_test(after_night, tmp_path / "new-target", "test")
    assert (result["status"], result["failures"]) == ("fail", 1)

    # After a full build every row has its stamp: every row is read.
    full = tmp_path / "full.duckdb"
    shutil.copy(nights["rebuilt"], full)
    with duckdb.connect(str(full)) as con:
        assert (
            con.execute(f"select count(distinct processed_at) from {RESOLVED_ACTIONS}").fetchone()[
                0
            ]
            == 1
        )
        every = _drop_severity(con, "true")
    result, sql = _severity_test(full, tmp_path / "full-target", "test")
    assert (result["status"], result["failures"]) == ("fail", every)
    assert "processed_at" not in sql


def test_incremental_nights_give_the_same_warehouse_as_a_full_rebuild(nights):
    # Every table of the published warehouse: marts, intermediate facts, staging base tables;
    # but the risk model, trained weekly, and its scores (the next test).
    assert len(base_tables(nights["state"])) >= 50
    differences = table_differences(nights["state"], nights["rebuilt"], exclude=RISK_TABLES)
    assert differences == []
    # ...and the published files, written from them, alike.
    differences = table_differences(
        nights["published"], nights["rebuilt"].with_name("governance.duckdb"), exclude=RISK_TABLES
    )
    assert differences == []
    # Night 2 re-delivered records loaded on night 1: their night-1 rows, loaded before, are
    # superseded by rows read on night 2 alone (the base models' incremental re-ranking).
    with duckdb.connect(str(nights["state"]), read_only=True) as con:
        superseded_by_night_2 = con.execute(
            "select count(*) from staging.base_marketplace__orders as old "
            "inner join staging.base_marketplace__orders as new "
            "on old.record_key = new.record_key "
            "where old.disposition = 'superseded' and new.disposition = 'staged' "
            f"and old.arrived_night < '{NIGHT}' and new.arrived_night = '{NIGHT}'"
        ).fetchone()[0]
    assert superseded_by_night_2 == 6  # five corrections and the order with another seller
    # The orders that were orphans on night 1 are staged once their listing arrived.
    with duckdb.connect(str(nights["snapshot"]), read_only=True) as con:
        night_1 = con.execute(
            "select disposition, rule_name, rule_column from staging.base_marketplace__orders "
            "where order_id like 'O-EARLY-%'"
        ).fetchall()
    with duckdb.connect(str(nights["state"]), read_only=True) as con:
        night_2 = con.execute(
            "select disposition from staging.base_marketplace__orders "
            "where order_id like 'O-EARLY-%'"
        ).fetchall()
    assert night_1 == [("quarantined", "orphan_foreign_key", "listing_id")] * 3
    assert night_2 == [("staged",)] * 3


def test_a_night_re_processes_old_rows_whose_listing_or_seller_changed(nights):
    # Night 2 overturned the only action against a violating listing and delivered a seller
    # again in another region and type: rows of orders and listings older than the window the
    # facts re-process for their own days change, and only their days are re-written (the
    # whole tables equal a full rebuild: the test above).
    before = _before_the_order_window(nights["snapshot"])
    queries = {
        "orders of the overturned listing, violating": (
            "select bool_and(is_on_violating_listing) "
            f"from {ORDER_FACT} "
            "where listing_id = ? and ordered_date < ?",
            nights["overturned_listing"],
        ),
        "the moved seller's listing regions": (
            "select string_agg(distinct region) from intermediate.int_listing_segments "
            "where seller_id = ? and created_date < ?",
            nights["moved_seller"],
        ),
        "the moved seller's order regions and types": (
            "select string_agg(distinct region || ' ' || seller_type) "
            "from semantic.fct_completed_orders where seller_id = ? and ordered_date < ?",
            nights["moved_seller"],
        ),
        "the moved seller's listing outcome types": (
            "select string_agg(distinct region || ' ' || seller_type) "
            "from semantic.fct_listing_outcomes where seller_id = ? and created_date < ?",
            nights["moved_seller"],
        ),
    }
    found = {}
    for db in ("snapshot", "state"):
        with duckdb.connect(str(nights[db]), read_only=True) as con:
            found[db] = {
                name: con.execute(query, [key, before]).fetchone()[0]
                for name, (query, key) in queries.items()
            }
    assert found["snapshot"]["orders of the overturned listing, violating"] is True
    assert found["state"]["orders of the overturned listing, violating"] is False
    for name in queries:
        assert found["snapshot"][name] is not None and found["state"][name] is not None, name
        assert found["snapshot"][name] != found["state"][name], name
    # Night 2 re-wrote whole the order days of the lookback window and those whose maturity
    # flags the new reporting date flipped; on every other day, the orders whose row changed
    # (those of the listing and the seller among them) and those delivered again, alone.
    _, changed, whole_days, partial_days = _order_rows_written_by_night_2(nights)
    with duckdb.connect(str(nights["snapshot"]), read_only=True) as con:
        lookback_start = con.execute(
            f"select cast(cast(max(ordered_at) as date) - interval 3 day as date) from {ORDER_FACT}"
        ).fetchone()[0]
    flipped = {day for day in whole_days if day < lookback_start}
    assert {day for day in whole_days if day >= lookback_start} and 1 <= len(flipped) <= 2
    assert partial_days and all(day < lookback_start for day in partial_days)
    assert changed["written"] == changed["changed or delivered again"]
    assert changed["of the listing or seller"] <= changed["written"]
    assert 0 < len(changed["of the listing or seller"]) < len(changed["written"])


def _order_rows_written_by_night_2(nights):
    """Night 2's stamp; by kind, the ids of the orders on days it did not re-write whole: those
    it wrote, those whose row differs from night 1's (or is new) or whose record it delivered
    again, those it wrote of the overturned listing or the moved seller; the days it re-wrote
    whole and those it re-wrote in part."""
    columns = "* exclude (processed_at)"
    queries = {
        "written": "select order_id from facts where processed_at = $stamp",
        "changed or delivered again": (
            f"select order_id from (select {columns} from facts "
            f"except select {columns} from night_1.{ORDER_FACT}) as changed "
            "union select record_key from staging.base_marketplace__orders "
            f"where arrived_night = '{NIGHT}'"
        ),
        "of the listing or seller": (
            "select order_id from facts "
            "where processed_at = $stamp and (listing_id = $listing or seller_id = $seller)"
        ),
    }
    with duckdb.connect(str(nights["state"]), read_only=True) as con:
        con.execute(f"attach '{nights['snapshot']}' as night_1 (read_only)")
        (stamp,) = con.execute(f"select max(processed_at) from {ORDER_FACT}").fetchone()
        con.execute(
            "create temp table days as select ordered_date, bool_and(processed_at = ?) as whole, "
            f"bool_or(processed_at = ?) as any_written from {ORDER_FACT} group by all",
            [stamp, stamp],
        )
        whole_days = {
            day for (day,) in con.execute("select ordered_date from days where whole").fetchall()
        }
        partial_days = {
            day
            for (day,) in con.execute(
                "select ordered_date from days where any_written and not whole"
            ).fetchall()
        }
        con.execute(
            f"create temp view facts as select * from {ORDER_FACT} "
            "where ordered_date in (select ordered_date from days where not whole)"
        )
        parameters = {
            "stamp": stamp,
            "listing": nights["overturned_listing"],
            "seller": nights["moved_seller"],
        }
        found = {
            kind: {
                order_id
                for (order_id,) in con.execute(
                    f"select order_id from ({query}) as of_kind "
                    "where order_id in (select order_id from facts)",
                    {k: v for k, v in parameters.items() if f"${k}" in query},
                ).fetchall()
            }
            for kind, query in queries.items()
        }
    return stamp, found, whole_days, partial_days


def _links_by_value(db: Path, seller_kind: tuple[str, str]) -> dict[str, tuple[int, bool]]:
    """The seller's identity links of the signal type: n_sellers_sharing and whether the latest
    build wrote the row, by value hash."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select signal_value_hash, n_sellers_sharing, "
            f"processed_at = (select max(processed_at) from {LINKS}) "
            f"from {LINKS} where seller_id = ? and signal_type = ?",
            list(seller_kind),
        ).fetchall()
    return {value: (n, written) for value, n, written in rows}


def test_a_night_re_writes_the_identity_values_its_signals_touched(nights):
    # Night 2 observed a value new to the warehouse on two sellers, and another seller's value
    # on a seller: both values' rows, and only the rows of values night 2 touched, are written
    # (the whole table equals a full rebuild: the warehouse equality test above).
    signals = nights["identity_signals"]
    before = {role: _links_by_value(nights["snapshot"], key) for role, key in signals.items()}
    after = {role: _links_by_value(nights["state"], key) for role, key in signals.items()}
    new = {
        role: set(after[role]) - set(before[role])
        for role in ("new value", "new value, other seller", "gains a seller")
    }
    (shared,) = new["new value"] & new["new value, other seller"]
    assert after["new value"][shared] == after["new value, other seller"][shared] == (2, True)
    (gained,) = new["gains a seller"]
    n_before, _ = before["donor"][gained]
    assert after["donor"][gained] == after["gains a seller"][gained] == (n_before + 1, True)
    # Night 2 wrote whole values, a few of them: a value it wrote has no row of night 1.
    with duckdb.connect(str(nights["state"]), read_only=True) as con:
        mixed, written, rows = con.execute(
            "with links as (select *, processed_at = max(processed_at) over () as is_written "
            f"from {LINKS}) "
            "select (select count(*) from (select signal_type, signal_value_hash from links "
            "group by all having count(distinct is_written) > 1)), "
            "count(*) filter (where is_written), count(*) from links"
        ).fetchone()
    assert mixed == 0 and 0 < written < rows / 4


def test_a_build_as_of_an_earlier_day_keeps_no_link_observed_after_it(nights, tmp_path):
    # Built as of an earlier day, the links leave out the observations after it: a value all of
    # whose observations are later keeps no row, which re-writing the values alone would keep
    # (a delete+insert deletes only the keys it writes).
    db = tmp_path / "links.duckdb"
    shutil.copy(nights["state"], db)
    earlier = "2026-06-20"
    run = run_dbt(
        ["run", "--select", "int_as_of_date", "int_seller_identity_links"],
        duckdb_path=db,
        target_path=tmp_path / "target",
        quiet=True,
        env={"GOVERNANCE_AS_OF_DATE": earlier},
    )
    assert run.returncode == 0, run.stdout[-2000:]
    links = f"select * exclude (processed_at) from {LINKS} order by all"
    expected = (
        "with observed as (select seller_id, signal_type, signal_value_hash, "
        "count(*) as n_observations, min(observed_at) as first_observed_at, "
        "max(observed_at) as last_observed_at "
        "from staging.stg_marketplace__seller_identity_signals "
        "where observed_at < cast(? as date) + interval 1 day group by all) "
        "select *, count(*) over (partition by signal_type, signal_value_hash) "
        "as n_sellers_sharing from observed order by all"
    )
    with duckdb.connect(str(nights["state"]), read_only=True) as con:
        (values_before,) = con.execute(
            f"select count(distinct (signal_type, signal_value_hash)) from {LINKS}"
        ).fetchone()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(links).fetchall() == con.execute(expected, [earlier]).fetchall()
        (values_after,) = con.execute(
            f"select count(distinct (signal_type, signal_value_hash)) from {LINKS}"
        ).fetchone()
    assert 0 < values_after < values_before


# The seller-grain models kept by seller (macros/incremental/seller_aggregates.sql).
SELLER_GRAIN = ("intermediate.int_seller_activity", "detection.seller_features_stored")
# Kept by event (macros/incremental/case_events.sql), partitioned by seller for the publish.
CASE_EVENTS = "detection.seller_case_events"


def _sellers_written(db: Path, table: str) -> tuple[set[str], int, int]:
    """The sellers the latest build of ``table`` wrote, how many sellers have rows written by
    it and by an earlier build both (none when a night re-writes whole sellers), and how many
    sellers the table holds."""
    with duckdb.connect(str(db), read_only=True) as con:
        written = con.execute(
            f"select distinct seller_id from {table} "
            f"where processed_at = (select max(processed_at) from {table})"
        ).fetchall()
        mixed, sellers = con.execute(
            "select count(*) filter (where n_stamps > 1), count(*) from (select seller_id, "
            f"count(distinct processed_at) as n_stamps from {table} group by seller_id)"
        ).fetchone()
    return {seller for (seller,) in written}, mixed, sellers


def test_a_night_re_writes_the_sellers_it_touched_and_only_those(nights):
    # Night 2 delivered an order again with another seller and status, and a seller again in
    # another region: the seller-grain rows of both of the order's sellers and of the moved
    # seller are re-computed, a few of the sellers are, and each seller's rows are written
    # whole (the tables equal a full rebuild: the warehouse equality test above).
    moved = nights["moved_order"]
    for table in SELLER_GRAIN:
        written, mixed, sellers = _sellers_written(nights["state"], table)
        assert mixed == 0, table
        # The features follow the identity links, and a night's new observation of a value
        # shared by many sellers re-writes all of their links: more sellers, not all of them.
        share = 1 if table == "detection.seller_features_stored" else 1 / 2
        assert 0 < len(written) < sellers * share, table
        touched = {moved["old seller"], moved["new seller"], nights["moved_seller"]}
        assert touched <= written, table
    query = (
        "select seller_id, n_orders, n_refunded_orders from intermediate.int_seller_activity "
        "where seller_id in (?, ?) order by seller_id"
    )
    found = {}
    for db in ("snapshot", "state"):
        with duckdb.connect(str(nights[db]), read_only=True) as con:
            found[db] = con.execute(query, [moved["old seller"], moved["new seller"]]).fetchall()
    assert found["snapshot"] != found["state"]
    # The order counts were merged from the orders the night wrote, not re-counted, but for the
    # latest order time of the order's seller before, which the moved order held: read again.
    activity_sql = nights["incremental_sql"]["activity"]
    assert "order_deltas as (" in activity_sql
    assert "latest_orders_read_again as (" in activity_sql
    query = "select last_order_at from intermediate.int_seller_activity where seller_id = ?"
    latest = {}
    for db in ("snapshot", "state"):
        with duckdb.connect(str(nights[db]), read_only=True) as con:
            (latest[db],) = con.execute(query, [moved["old seller"]]).fetchone()
    assert latest["state"] < latest["snapshot"]
    with duckdb.connect(str(nights["state"]), read_only=True) as con:
        region = con.execute(
            "select s.region = f.region from staging.stg_marketplace__sellers as s "
            "inner join detection.seller_features as f using (seller_id) where seller_id = ?",
            [nights["moved_seller"]],
        ).fetchone()
    assert region == (True,)


def test_a_night_re_writes_the_case_events_it_touched_and_only_those(nights):
    # Night 2 brought new events and an appeal overturning an old action: it wrote those events
    # (the appeal filed and decided, the action now overturned) and left the other events of
    # their sellers as they were, so sellers hold rows of both builds.
    with duckdb.connect(str(nights["state"]), read_only=True) as con:
        (stamp,) = con.execute(f"select max(processed_at) from {CASE_EVENTS}").fetchone()
        written, total = con.execute(
            f"select count(*) filter (where processed_at = ?), count(*) from {CASE_EVENTS}",
            [stamp],
        ).fetchone()
        (mixed,) = con.execute(
            f"select count(*) from (select seller_id from {CASE_EVENTS} "
            "group by seller_id having count(distinct processed_at) > 1)"
        ).fetchone()
        late = con.execute(
            f"select event_type, outcome from {CASE_EVENTS} where processed_at = ? "
            "and (event_id = 'P-LATE-OVERTURN' or event_id = (select action_id "
            "from staging.stg_marketplace__appeals where appeal_id = 'P-LATE-OVERTURN')) "
            "order by all",
            [stamp],
        ).fetchall()
    assert late == [
        ("appeal_decided", "overturned"),
        ("appeal_filed", None),
        ("enforcement_action", "overturned on appeal"),
    ]
    assert 0 < written < total / 4
    assert mixed > 0
    # The events to re-write were found once, by the first pre-hook, into a temporary table the
    # delete and the model read, dropped after the insert; the model reads no input for them.
    rewritten = '"temp"."main"."seller_case_events__rewritten_events"'
    log = nights["second_dbt_log"]
    assert log.count(f"create or replace temporary table {rewritten} as") == 1
    assert log.count(f"drop table if exists {rewritten}") == 1
    model = nights["incremental_sql"]["case_events"]
    assert f"from {rewritten} as rewritten" in model
    assert not [
        line for line in model.splitlines() if "base_marketplace" in line and "--" not in line
    ]


def _move_rename_and_quarantine(db: Path) -> dict[str, str]:
    """A listing with events delivered again with another seller, a strategy with hits with
    another name, a complaint quarantined (their base rows changed, stamped after the latest
    build); what changed."""
    with duckdb.connect(str(db)) as con:
        (stamp,) = con.execute(
            f"select max(processed_at) + interval 1 second from {CASE_EVENTS}"
        ).fetchone()
        listing, old_seller = con.execute(
            f"select target_id, seller_id from {CASE_EVENTS} where target_type = 'listing' "
            "group by all order by count(distinct event_type) desc, count(*) desc, target_id "
            "limit 1"
        ).fetchone()
        (seller,) = con.execute(
            "select min(seller_id) from staging.stg_marketplace__sellers where seller_id <> ?",
            [old_seller],
        ).fetchone()
        (strategy,) = con.execute(
            f"select strategy_id from {CASE_EVENTS} where event_type = 'strategy_hit' "
            "group by all order by count(*), strategy_id limit 1"
        ).fetchone()
        (complaint,) = con.execute(
            f"select min(event_id) from {CASE_EVENTS} where event_type = 'complaint'"
        ).fetchone()
        for table, column, value, key in (
            ("listings", "seller_id", seller, listing),
            ("strategies", "strategy_name", "renamed", strategy),
            ("complaints", "disposition", "quarantined", complaint),
        ):
            con.execute(
                f"update staging.base_marketplace__{table} set {column} = $value, "
                "processed_at = $stamp where record_key = $key and disposition = 'staged'",
                {"value": value, "stamp": stamp, "key": key},
            )
    return {"listing": listing, "seller": seller, "strategy": strategy, "complaint": complaint}


def _night_and_full_rebuild(state: Path, tmp_path: Path, selection: Sequence[str], change):
    """Two copies of ``state``, each changed by ``change`` (its result, the same for both, is
    returned), then ``selection`` run incrementally on one (``night.duckdb``) and with
    ``--full-refresh`` on the other (``full.duckdb``): (night, full, what ``change`` returned)."""
    night, full = tmp_path / "night.duckdb", tmp_path / "full.duckdb"
    for db in (night, full):
        shutil.copy(state, db)
        changed = change(db)
    for db, refresh in ((night, []), (full, ["--full-refresh"])):
        run = run_dbt(
            ["run", "--select", *selection, *refresh],
            duckdb_path=db,
            target_path=tmp_path / f"target-{db.stem}",
            quiet=True,
        )
        assert run.returncode == 0, run.stdout[-2000:]
    return night, full, changed


def test_case_events_follow_their_listing_and_strategy_and_leave_with_their_record(
    nights, tmp_path
):
    # An event changes without its own record changing: its listing moved to another seller,
    # its strategy renamed. One whose record is quarantined leaves. A night re-writes those
    # events and gives what a full build of the same models gives.
    selection = ["int_listing_segments", "int_strategy_profiles", "int_strategy_hits_enriched"]
    selection += ["seller_case_events"]
    night, full, changed = _night_and_full_rebuild(
        nights["state"], tmp_path, selection, _move_rename_and_quarantine
    )
    events = {}
    for db in (night, full):
        with duckdb.connect(str(db), read_only=True) as con:
            events[db] = con.execute(
                f"select * exclude (processed_at) from {CASE_EVENTS} order by all"
            ).fetchall()
            found = con.execute(
                f"select string_agg(distinct seller_id) filter (where target_id = $listing), "
                "string_agg(distinct event_detail) filter (where strategy_id = $strategy "
                "and event_type = 'strategy_hit'), count(*) filter (where event_id = $complaint) "
                f"from {CASE_EVENTS}",
                {k: v for k, v in changed.items() if k != "seller"},
            ).fetchone()
            assert found == (changed["seller"], "renamed", 0), db.stem
    assert events[night] == events[full]
    with duckdb.connect(str(night), read_only=True) as con:
        written, total = con.execute(
            f"select count(*) filter (where processed_at = (select max(processed_at) "
            f"from {CASE_EVENTS})), count(*) from {CASE_EVENTS}"
        ).fetchone()
    assert 0 < written < total / 10


def test_a_build_as_of_an_earlier_day_keeps_no_seller_row_after_it(nights, tmp_path):
    # Built as of an earlier day, the seller-grain models equal the same models built whole:
    # a seller all of whose events are later keeps no case event, one registered later no
    # features row. The new batch holds no row of theirs, so only the pre-hook's delete of the
    # touched sellers removes them (dbt's delete+insert deletes the keys it writes).
    earlier = "2026-06-20"
    selection = ["int_as_of_date", "int_seller_activity", "seller_features_stored"]
    selection += ["seller_features", "seller_case_events"]
    built = {}
    for mode in ("incremental", "full"):
        db = tmp_path / f"{mode}.duckdb"
        shutil.copy(nights["state"], db)
        run = run_dbt(
            ["run", "--select", *selection, *(["--full-refresh"] if mode == "full" else [])],
            duckdb_path=db,
            target_path=tmp_path / f"target-{mode}",
            quiet=True,
            env={"GOVERNANCE_AS_OF_DATE": earlier},
        )
        assert run.returncode == 0, run.stdout[-2000:]
        built[mode] = db
    exclude = {tuple(t.split(".")) for t in (*SELLER_GRAIN, CASE_EVENTS)}
    kept = tuple(t for t in base_tables(built["full"]) if t not in exclude)
    assert table_differences(built["incremental"], built["full"], exclude=kept) == []
    with duckdb.connect(str(nights["state"]), read_only=True) as con:
        before = [
            con.execute(f"select count(*) from {t}").fetchone()[0]
            for t in (*SELLER_GRAIN, CASE_EVENTS)
        ]
    with duckdb.connect(str(built["incremental"]), read_only=True) as con:
        after = [
            con.execute(f"select count(*) from {t}").fetchone()[0]
            for t in (*SELLER_GRAIN, CASE_EVENTS)
        ]
        (tenure,) = con.execute(
            "select bool_and(tenure_days = date_diff('day', onboarded_at, cast(? as date))) "
            "from detection.seller_features where onboarded_at is not null",
            [earlier],
        ).fetchone()
    assert after[1] < before[1] and after[2] < before[2]
    assert tenure is True


COUNTS = "intermediate.int_metric_counts_daily"


def _metrics_counted_by_day(target: Path) -> dict[str, tuple[str, str]]:
    """The metrics whose outcome model is kept by whole days of their cohort date (delete+insert
    by it, the manifest), with that model's relation and date column."""
    keys = partition_keys(target / "manifest.json")
    by_day = {}
    for metric in metric_registry.load().metrics:
        model, day = metric.outcome["model"], metric.outcome["date_column"]
        for relation, key in keys.items():
            if relation.split(".")[-1] == model and key == (day,):
                by_day[metric.name] = (relation, day)
    return by_day


def test_a_night_re_counts_only_the_metric_days_its_outcome_facts_rewrote(nights):
    # int_metric_counts_daily re-counts a metric whose outcome fact is kept by whole days of its
    # cohort date for the days that fact wrote on night 2 alone (the old creation day of the
    # listing whose action an appeal overturned among them), and the small outcome tables
    # whole; the result equals a full rebuild (the warehouse equality test above).
    by_day = _metrics_counted_by_day(nights["root"] / "target")
    names = [metric.name for metric in metric_registry.load().metrics]
    assert {"listing_violation_rate", "complaint_rate"} <= set(by_day) < set(names)
    recounted = {}
    with duckdb.connect(str(nights["state"]), read_only=True) as con:
        (night_2,) = con.execute(f"select max(processed_at) from {COUNTS}").fetchone()
        for name in names:
            recounted[name], days = con.execute(
                "select list(distinct metric_date order by metric_date) "
                f"filter (where processed_at = ?), count(distinct metric_date) "
                f"from {COUNTS} where metric_name = ?",
                [night_2, name],
            ).fetchone()
            if name not in by_day:
                assert len(recounted[name]) == days, name
                continue
            relation, day = by_day[name]
            (written,) = con.execute(
                f"select list(distinct {day} order by {day}) from {relation} "
                "where processed_at = ?",
                [night_2],
            ).fetchone()
            assert recounted[name] == written and 0 < len(written) < days, name
        (overturned_day,) = con.execute(
            "select created_date from intermediate.int_listing_segments where listing_id = ?",
            [nights["overturned_listing"]],
        ).fetchone()
    assert overturned_day in recounted["listing_violation_rate"]


def test_a_day_a_metric_counted_whole_no_longer_has_keeps_no_count(nights, tmp_path):
    # A metric re-counted whole whose records all left a day (say an appeal delivered again
    # with another resolution day): the night deletes the day's count, which re-counting alone
    # would keep (a delete+insert deletes only the keys it writes).
    db = tmp_path / "counts.duckdb"
    shutil.copy(nights["state"], db)
    by_day = _metrics_counted_by_day(nights["root"] / "target")
    whole = next(m.name for m in metric_registry.load().metrics if m.name not in by_day)
    counts = f"select * exclude (processed_at) from {COUNTS} order by all"
    with duckdb.connect(str(db)) as con:
        before = con.execute(counts).fetchall()
        con.execute(
            f"insert into {COUNTS} select metric_name, cast('2000-01-01' as date), region, "
            "category, numerator, denominator, denominator_sum_squares, processed_at "
            f"from {COUNTS} where metric_name = ? limit 1",
            [whole],
        )
    run = run_dbt(
        ["run", "--select", "int_metric_counts_daily"],
        duckdb_path=db,
        target_path=tmp_path / "target",
        quiet=True,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(counts).fetchall() == before


# The models kept by whole days and the metric counts they feed: schema and day column.
DAY_KEPT_TABLES = {
    "int_listing_segments": ("intermediate", "created_date"),
    "int_listing_enforcement_outcomes": ("intermediate", "created_date"),
    "fct_listing_outcomes": ("semantic", "created_date"),
    "fct_completed_orders": ("semantic", "ordered_date"),
    "int_metric_counts_daily": ("intermediate", "metric_date"),
}
DAY_KEPT = tuple(DAY_KEPT_TABLES)


def _empty_a_listing_day_and_an_order_day(db: Path) -> tuple:
    """Every listing of the oldest creation day quarantined (its records delivered again, now
    breaking a rule) and every order of the newest order day cancelled: a night re-processes
    both days and no row remains on either. The two days."""
    with duckdb.connect(str(db)) as con:
        (listing_day,) = con.execute(
            "select min(created_date) from intermediate.int_listing_segments"
        ).fetchone()
        (order_day,) = con.execute(f"select max(ordered_date) from {ORDER_FACT}").fetchone()
        con.execute(
            "update staging.base_marketplace__listings set disposition = 'quarantined', "
            "processed_at = (select max(processed_at) + interval 1 second "
            "from intermediate.int_listing_segments) "
            "where disposition = 'staged' and cast(created_at as date) = ?",
            [listing_day],
        )
        con.execute(
            "update staging.base_marketplace__orders set order_status = 'cancelled' "
            "where cast(ordered_at as date) = ?",
            [order_day],
        )
    return listing_day, order_day


def test_a_day_the_night_re_processes_whose_rows_all_left_keeps_no_row(nights, tmp_path):
    # dbt's delete+insert deletes only the days the new rows hold: a re-processed day none of
    # whose records remains would keep its old rows. Each model kept by whole days deletes the
    # days it re-processes first, and a model reading one re-processes the days it emptied: the
    # night gives what a full rebuild of the same models gives.
    night, full, (listing_day, order_day) = _night_and_full_rebuild(
        nights["state"], tmp_path, DAY_KEPT, _empty_a_listing_day_and_an_order_day
    )
    tables = {}
    for db in (night, full):
        with duckdb.connect(str(db), read_only=True) as con:
            tables[db] = {
                model: con.execute(
                    f"select * exclude (processed_at) from {schema}.{model} order by all"
                ).fetchall()
                for model, (schema, _) in DAY_KEPT_TABLES.items()
            }
            days = {
                model: {
                    row[0]
                    for row in con.execute(
                        f"select distinct {day} from {schema}.{model}"
                    ).fetchall()
                }
                for model, (schema, day) in DAY_KEPT_TABLES.items()
            }
            by_metric = dict(
                con.execute(
                    "select metric_name, list(distinct metric_date) "
                    "from intermediate.int_metric_counts_daily group by all"
                ).fetchall()
            )
        for model in ("int_listing_segments", "int_listing_enforcement_outcomes"):
            assert listing_day not in days[model], (db.stem, model)
        assert listing_day not in days["fct_listing_outcomes"], db.stem
        assert order_day not in days["fct_completed_orders"], db.stem
        assert listing_day not in by_metric["listing_violation_rate"], db.stem
        assert order_day not in by_metric["complaint_rate"], db.stem
    for model in DAY_KEPT_TABLES:
        assert tables[night][model] == tables[full][model], model


def _risk_models(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select model_id, trained_on, trained_because from intermediate.seller_risk_models"
        ).fetchall()


def _scores_and_scoring_everyone(db: Path, model_id: str):
    """The risk scores a warehouse holds (sorted by seller), those scoring all its sellers with
    the registry's model ``model_id`` gives, and that model."""
    with duckdb.connect(str(db), read_only=True) as con:
        pickled = con.execute(
            "select model_pickle from intermediate.seller_risk_models where model_id = ?",
            [model_id],
        ).fetchall()[0][0]
        tables = [
            con.execute(f"select {columns} from detection.{table}").df()
            for table, columns in (
                ("seller_features", "*"),
                ("seller_syndicates", "*"),
                ("syndicates", "syndicate_id, size"),
            )
        ]
        held = con.execute("select * from detection.seller_risk_scores order by seller_id").df()
    stored = load_model(pickled)
    frame = risk_feature_frame(*tables, model_features=stored.features)
    return held, score(frame, stored, model_id=model_id), stored


def test_nights_score_with_the_weekly_model_and_a_rebuild_trains_its_own(nights):
    published, rebuilt = nights["state"], nights["rebuilt"]
    (model_id, trained_on, because), *others = _risk_models(published)
    assert others == [] and str(trained_on) == FIRST_NIGHT
    assert because == f"no model trained on or before {FIRST_NIGHT}"
    # Night 2 trained nothing: the registry is night 1's, model and evaluation alike.
    others = tuple(t for t in base_tables(published) if t != RISK_TABLES[0])
    assert table_differences(nights["snapshot"], published, exclude=others) == []
    [difference] = table_differences(published, rebuilt, exclude=others)
    assert difference.startswith("intermediate.seller_risk_models: ")
    # Night 2's scores: night 2's features scored by night 1's model.
    published_scores, expected, stored = _scores_and_scoring_everyone(published, model_id)
    assert set(published_scores["model_version"]) == {stored.model_version}
    assert model_id.startswith(stored.model_version)
    # Night 2 wrote the sellers whose inputs changed and kept night 1's score and explanation
    # of every seller the model sees unchanged: bit for bit what scoring every seller gives.
    pd.testing.assert_frame_equal(
        published_scores[SCORE_COLUMNS],
        expected,
        check_dtype=False,
        check_exact=True,
    )
    with duckdb.connect(str(nights["snapshot"]), read_only=True) as con:
        night_1 = con.execute("select seller_id, model_input_key from detection.seller_risk_scores")
        night_1_keys = night_1.df().set_index("seller_id")["model_input_key"]
    kept = expected["model_input_key"].to_numpy() == night_1_keys.reindex(
        expected["seller_id"]
    ).to_numpy(dtype=object)
    assert 0 < kept.sum() < len(expected)
    # The rebuild of the same raw data had no model: it trained one on its own reporting day.
    [(_, rebuilt_on, rebuilt_because)] = _risk_models(rebuilt)
    assert str(rebuilt_on) == NIGHT
    assert rebuilt_because == f"no model trained on or before {NIGHT}"


def test_a_night_rewrites_the_risk_scores_of_changed_sellers_and_drops_those_gone(nights, tmp_path):
    db = tmp_path / "governance.duckdb"
    shutil.copy(nights["state"], db)
    with duckdb.connect(str(db)) as con:
        [changed, gone, untouched] = [
            row[0]
            for row in con.execute(
                "select seller_id from detection.seller_risk_scores order by seller_id limit 3"
            ).fetchall()
        ]
        con.execute(
            "update detection.seller_features_stored set n_complaints = n_complaints + 1000 "
            "where seller_id = ?",
            [changed],
        )
        # Its seller record delivered again without an onboarding time: no longer scored
        # (seller_features is a view of seller_features_stored).
        con.execute(
            "update detection.seller_features_stored set onboarded_at = null where seller_id = ?",
            [gone],
        )
        # A mark on two stored rows: the night overwrites the changed seller's, and leaves the
        # other, whose inputs did not change, as it is.
        con.execute(
            "update detection.seller_risk_scores set risk_band = 'marked' "
            "where seller_id in (?, ?)",
            [changed, untouched],
        )

    def night() -> None:
        done = run_dbt(
            ["run", "--select", "seller_risk_scores"], duckdb_path=db, target_path=tmp_path / "t"
        )
        assert done.returncode == 0, done.stdout[-3000:]

    night()
    [(model_id, _, _)] = _risk_models(db)
    held, expected, _ = _scores_and_scoring_everyone(db, model_id)
    held = held.set_index("seller_id")
    assert gone not in held.index
    assert held.loc[untouched, "risk_band"] == "marked"
    assert held.loc[changed, "risk_band"] != "marked"
    held.loc[untouched, "risk_band"] = expected.set_index("seller_id").loc[untouched, "risk_band"]
    pd.testing.assert_frame_equal(
        held.reset_index()[SCORE_COLUMNS], expected, check_dtype=False, check_exact=True
    )
    # A table written before the fingerprint existed gets the column, every seller scored.
    with duckdb.connect(str(db)) as con:
        con.execute("alter table detection.seller_risk_scores drop column input_fingerprint")
        con.execute("update detection.seller_risk_scores set risk_band = 'marked'")
    night()
    held, expected, _ = _scores_and_scoring_everyone(db, model_id)
    assert held["input_fingerprint"].notna().all()
    pd.testing.assert_frame_equal(
        held[SCORE_COLUMNS], expected, check_dtype=False, check_exact=True
    )


def test_late_events_reach_the_days_they_belong_to(nights):
    root = nights["root"]
    late = pq.read_table(root / "truth" / "late_arrivals.parquet").to_pandas()
    due = late[(late.table_name == "orders") & (late.arrives_at >= NIGHT)]
    delivered_late = due[due.event_at < FIRST_NIGHT]
    assert len(delivered_late) > 0, "the night delivers orders of days already published"
    day = str(delivered_late.event_at.min().date())
    query = (
        "select denominator from metrics.metrics_daily where metric_name = 'complaint_rate' "
        "and region = 'ALL' and category = 'ALL' and metric_date = ?"
    )
    counts = []
    for db in (nights["snapshot"], nights["published"]):
        with duckdb.connect(str(db), read_only=True) as con:
            counts.append(con.execute(query, [day]).fetchone()[0])
    with duckdb.connect(str(nights["rebuilt"]), read_only=True) as con:
        rebuilt = con.execute(query, [day]).fetchone()[0]
    assert counts[1] > counts[0], f"late orders of {day} were not added"
    assert counts[1] == rebuilt


def test_a_complaint_reaches_an_order_placed_before_the_lookback_window(nights):
    # Complaints come days after the order: tonight's count for completed orders placed before
    # the lookback window (but at most 14 days before the complaint), which the night
    # re-wrote one by one.
    tonight = nights["root"] / "raw" / "complaints" / f"{NIGHT}.parquet"
    query = (
        "select outcomes.order_id, outcomes.has_complaint_within_14d "
        f"from {ORDER_FACT} as outcomes "
        f"inner join read_parquet('{tonight}') as complaints "
        "on outcomes.order_id = complaints.order_id "
        "where outcomes.ordered_date < ? "
        "and complaints.created_at <= outcomes.ordered_at + interval 14 day "
        "order by 1"
    )
    with duckdb.connect(str(nights["snapshot"]), read_only=True) as con:
        lookback_start = con.execute(
            f"select cast(cast(max(ordered_at) as date) - interval 3 day as date) from {ORDER_FACT}"
        ).fetchone()[0]
        before = con.execute(query, [lookback_start]).fetchall()
    with duckdb.connect(str(nights["state"]), read_only=True) as con:
        after = dict(con.execute(query, [lookback_start]).fetchall())
    assert len(before) >= 1, "the night delivers a complaint about an order before the window"
    assert all(not flagged for _, flagged in before)
    assert {order_id: after.get(order_id) for order_id, _ in before} == {
        order_id: True for order_id, _ in before
    }
    # The night re-wrote those orders, not their days (but a day whose maturity flipped).
    _, written, whole_days, _ = _order_rows_written_by_night_2(nights)
    assert {order_id for order_id, _ in before} & written["written"]


def test_readers_never_fail_and_never_see_a_partial_night(nights):
    polls = nights["polls"]
    errors = [p["error"] for p in polls if "error" in p]
    assert errors == []
    seen = {tuple(p["ok"]) for p in polls}
    before, after = (tuple(s) for s in nights["states"])
    assert before != after
    assert seen == {before, after}, "every read is one whole published night"
    assert len(polls) >= 20


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in found.read_text().split()] if found.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_killed_builds_leave_the_published_warehouse_untouched_and_a_rerun_is_identical(nights):
    root, published = nights["root"], nights["published"]
    good = sha256(published)
    script = (
        "import sys; from pathlib import Path; from governance.nightly import run_nightly; "
        "run_nightly(Path(sys.argv[1]), Path(sys.argv[2]), target_path=Path(sys.argv[3]), "
        "freshness=False, quality=False, dbt_args=sys.argv[4:])"
    )
    command = [sys.executable, "-u", "-c", script, str(root / "raw"), str(published)]
    command.append(str(root / "target"))
    cheap = ["--select", "int_as_of_date"]
    for point in ("after-copy", "after-dbt", "before-replace"):
        env = {**os.environ, FAULT_ENV: point}
        done = subprocess.run([*command, *cheap], env=env, capture_output=True, text=True)
        assert done.returncode == -signal.SIGKILL, (point, done.stdout[-2000:], done.stderr[-2000:])
        assert sha256(published) == good, point
        assert _state(published) == nights["states"][1], point
    # Killed between the two replaces: the published file is the new build (the same night
    # here), the state the one before, which the rerun below builds the night again from.
    copy = root / "before-kill-published.duckdb"
    copy.write_bytes(published.read_bytes())
    state = sha256(state_path(published))
    env = {**os.environ, FAULT_ENV: "between-replaces"}
    done = subprocess.run([*command, *cheap], env=env, capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, (done.stdout[-2000:], done.stderr[-2000:])
    assert sha256(published) != good and sha256(state_path(published)) == state
    assert table_differences(copy, published) == []
    good = sha256(published)
    # Killed from outside while dbt is writing tables (the whole process group, as a scheduler
    # does), once the dbt log shows models being created by this run.
    dbt_log = root / "target" / "logs" / "dbt.log"
    offset = dbt_log.stat().st_size
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with dbt_log.open("rb") as handle:
            handle.seek(offset)
            if b"OK created sql table model" in handle.read():
                break
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert sha256(published) == good
    assert list(published.parent.glob(".governance.duckdb.building*")), "work files left behind"
    # Killed alone (the night's process, not its group): its dbt process dies with it instead
    # of building on unguarded (it holds the build lock while it lives, test_publish.py).
    offset = dbt_log.stat().st_size
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    children: list[int] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not children:
        with dbt_log.open("rb") as handle:
            handle.seek(offset)
            if b"OK created sql table model" in handle.read():
                children = _children(process.pid)
        time.sleep(0.2)
    assert children, "no dbt process seen"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children), "dbt outlived the night that started it"
    assert sha256(published) == good

    before = root / "before-rerun.duckdb"
    before.write_bytes(state_path(published).read_bytes())
    before_published = root / "before-rerun-published.duckdb"
    before_published.write_bytes(published.read_bytes())
    rerun = _nightly(root, published, dbt_args=NO_TESTS)
    assert rerun.night == NIGHT and rerun.mode == "incremental"
    assert not list(published.parent.glob(".governance.duckdb.building*"))
    # The same night again gives the same values, bit for bit (sums of doubles are rounded).
    assert table_differences(before, state_path(published), exact=True) == []
    assert table_differences(before_published, published, exact=True) == []


def test_no_raw_pii_value_in_any_table_or_log(nights):
    root = nights["root"]
    values = set()
    for table, columns in (
        ("sellers", ["legal_name", "email", "phone"]),
        ("seller_identity_signals", ["signal_value"]),
    ):
        for column in columns:
            data = pq.read_table(root / "raw" / table, columns=[column]).column(column)
            values.update(v for v in data.to_pylist() if v)
    assert len(values) > 1000
    with duckdb.connect() as con:
        con.execute("create table pii (value varchar)")
        con.executemany("insert into pii values (?)", [[v] for v in sorted(values)])
        for db in (nights["published"], nights["state"], nights["rebuilt"]):
            con.execute(f"attach '{db}' as wh (read_only)")
            text_columns = con.execute(
                "select c.schema_name, c.table_name, c.column_name from duckdb_columns() as c "
                "inner join duckdb_tables() as t "
                "on c.database_name = t.database_name and c.schema_name = t.schema_name "
                "and c.table_name = t.table_name "
                "where c.database_name = 'wh' and c.data_type = 'VARCHAR'"
            ).fetchall()
            assert len(text_columns) > 50
            for schema, table, column in text_columns:
                leaked = con.execute(
                    f'select count(*) from wh."{schema}"."{table}" '
                    f'where "{column}" in (select value from pii)'
                ).fetchone()[0]
                assert leaked == 0, f"{schema}.{table}.{column} holds raw PII"
            con.execute("detach wh")
    logs = sorted((root / "target").glob("**/logs/*.log*")) + [
        root / "target" / "run_results.json",
        root / "target" / "sources.json",
        nights["published"].with_name("governance.nightly.json"),
    ]
    text = "\n".join(p.read_text(errors="replace") for p in logs if p.exists())
    assert len(text) > 100_000, "the dbt debug log was written"
    assert leaked_values(values, text) == []


def test_a_real_target_refuses_the_demo_salt_and_hashes_with_the_secret(nights, monkeypatch):
    root = nights["root"]
    args = ["build", "--select", "+base_marketplace__sellers", *NO_TESTS]
    args += ["--vars", json.dumps({"ingest_date": NIGHT})]
    args += ["--log-path", str(root / "prod-logs")]

    def run(db_name: str):
        return run_dbt(
            args,
            raw_dir=root / "raw",
            duckdb_path=root / db_name,
            target_path=root / "target-prod",
            quiet=True,
        )

    monkeypatch.setenv("GOVERNANCE_TARGET", "prod")
    monkeypatch.setenv("GOVERNANCE_PII_SALT", "governance-demo-salt")
    demo = run("prod-demo.duckdb")
    assert demo.returncode != 0
    assert "GOVERNANCE_PII_SALT holds the public demo salt" in demo.stdout
    assert not (root / "prod-demo.duckdb").exists() or not base_tables(root / "prod-demo.duckdb")
    monkeypatch.setenv("GOVERNANCE_PII_SALT", "a-secret-for-this-test")
    ok = run("prod.duckdb")
    assert ok.returncode == 0, ok.stdout[-3000:]
    sellers = pq.read_table(root / "raw" / "sellers", columns=["seller_id", "email"]).to_pandas()
    seller_id, email = sellers.iloc[0]["seller_id"], sellers.iloc[0]["email"]
    with duckdb.connect(str(root / "prod.duckdb"), read_only=True) as con:
        got = con.execute(
            "select email_hash from staging.base_marketplace__sellers "
            "where seller_id = ? and disposition = 'staged'",
            [seller_id],
        ).fetchone()[0]
    assert got == hashlib.sha256(f"a-secret-for-this-test|{email}".encode()).hexdigest()


def test_malformed_vars_and_dates_are_refused_before_any_sql(nights, tmp_path):
    root = nights["root"]
    process = run_dbt(
        [
            "compile",
            "--select",
            "assert_quarantine_share_within_limit",
            "--vars",
            json.dumps({"lookback_days": "3; drop table metrics.metrics_daily"}),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        raw_dir=root / "raw",
        duckdb_path=tmp_path / "compile.duckdb",
        target_path=tmp_path / "target",
        quiet=True,
    )
    assert process.returncode != 0
    assert (
        "dbt var 'lookback_days' must be a whole number of days between 0 and 365, "
        "got '3; drop table metrics.metrics_daily'"
    ) in process.stdout
    published = tmp_path / "wh.duckdb"
    for options, message in (
        ({"lookback_days": "3; drop"}, "lookback days must be a whole number"),
        ({"lookback_days": 400}, "between 0 and 365"),
        ({"night": "2026-02-30"}, "--date must be a real date"),
        ({"night": "30/06/2026"}, "--date must be a date written YYYY-MM-DD"),
    ):
        with pytest.raises(NightlyError, match=message):
            run_nightly(root / "raw", published, log=lambda line: None, **options)
    with pytest.raises(NightlyError, match="--from 2026-06-30 is after --to 2026-06-01"):
        run_backfill(root / "raw", published, "2026-06-30", "2026-06-01")
    assert not published.exists()


def test_a_backfill_reprocesses_every_record_from_its_first_night(nights):
    root, published = nights["root"], nights["published"]
    facts = [
        "int_enforcement_actions_resolved",
        "int_listing_enforcement_outcomes",
        "fct_completed_orders",
    ]
    report = run_backfill(
        root / "raw",
        published,
        "2026-06-01",
        target_path=root / "target",
        freshness=False,
        quality=False,
        dbt_args=["--select", *facts],
        log=lambda line: None,
    )
    assert (report.night, report.mode) == (NIGHT, "incremental")
    model = re.sub(r"\s+", " ", (root / "target" / "compiled" / ORDERS_SQL).read_text())
    # Whole days from the backfill's first day on; the order records changed since the fact's
    # latest build from 14 days (the complaint window) before.
    # (twice each: the bound of the order times read, the earliest day re-written or examined,
    # is the backfill's first day too, nothing earlier having changed).
    assert model.count("ordered_at >= cast(cast('2026-06-01' as date) as timestamp)") == 4
    assert model.count("ordered_at >= cast(cast('2026-05-18' as date) as timestamp)") == 2
    differences = table_differences(
        state_path(published),
        nights["rebuilt"],
        schemas=("intermediate", "semantic"),
        exclude=RISK_TABLES,
    )
    assert differences == []


def test_a_delivered_raw_file_that_changed_or_went_missing_stops_the_night(nights, tmp_path):
    raw, published = tmp_path / "raw", tmp_path / "wh" / "governance.duckdb"
    shutil.copytree(nights["root"] / "raw", raw)
    published.parent.mkdir()
    _copy_warehouse(nights["published"], published)
    good = sha256(published)
    loaded = sorted((raw / "orders").glob("*.parquet"))[0]
    rows = pq.read_table(loaded)
    pq.write_table(rows.slice(0, rows.num_rows - 1), loaded)

    def night():
        run_nightly(
            raw,
            published,
            target_path=tmp_path / "target",
            freshness=False,
            quality=False,
            dbt_args=["--select", "base_marketplace__orders"],
            log=lambda line: None,
        )

    rewritten = (
        f"raw table 'orders', file '{loaded.name}': loaded on an earlier night with "
        f"{rows.num_rows} rows, now has {rows.num_rows - 1} "
        r"\(rule: delivered raw files never change\)"
    )
    with pytest.raises(NightlyError, match=rewritten):
        night()
    loaded.unlink()
    removed = (
        f"raw table 'orders', file '{loaded.name}': loaded on an earlier night, no longer in "
        r"the raw folder \(rule: delivered raw files are never removed\)"
    )
    with pytest.raises(NightlyError, match=removed):
        night()
    assert sha256(published) == good


def _registry(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select model_id, trained_because, warnings from intermediate.seller_risk_models "
            "order by model_id"
        ).df()


def test_a_registry_written_before_a_new_column_keeps_its_models(nights, tmp_path):
    # The registry survives --full-refresh, so an upgrade that adds a column meets a table
    # without it: the night must score with the model in force and add the column, the old
    # models keeping null in it.
    db = tmp_path / "governance.duckdb"
    shutil.copy(nights["state"], db)
    with duckdb.connect(str(db)) as con:
        con.execute("alter table intermediate.seller_risk_models drop column warnings")
        (old_model,) = con.execute(
            "select model_id from intermediate.seller_risk_models"
        ).fetchone()
    models = ["--select", "seller_risk_models", "seller_risk_scores"]

    def run(*args: str) -> None:
        done = run_dbt(["run", *models, *args], duckdb_path=db, target_path=tmp_path / "t")
        assert done.returncode == 0, done.stdout[-3000:]

    run()  # the model in force still serves: nothing trained
    registry = _registry(db)
    assert registry["model_id"].tolist() == [old_model]
    assert registry["warnings"].isna().all()
    run("--vars", "{risk_retrain_days: 0}")
    registry = _registry(db).set_index("model_id")
    assert len(registry) == 2 and pd.isna(registry.loc[old_model, "warnings"])
    new = registry.drop(index=old_model).iloc[0]
    assert new["trained_because"] == "risk_retrain_days is 0: a new model every build"
    assert isinstance(json.loads(new["warnings"]), list)
    with duckdb.connect(str(db), read_only=True) as con:
        scored_by = con.execute(
            "select distinct model_version from detection.seller_risk_scores"
        ).fetchall()
    assert len(scored_by) == 1 and new.name.startswith(scored_by[0][0])


def _gmv(db: Path, order_id: str) -> float:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select gmv_usd from semantic.fct_completed_orders where order_id = ?", [order_id]
        ).fetchone()[0]


def _restated_first_order(nights, tmp_path: Path):
    """A copy of night 2's raw files and warehouse in which the first completed order of the
    initial load has its amount restated tonight (+100), and the options of a night that
    builds the record-level facts only. Returns (raw, published, order id, its day, its old
    amount, options)."""
    raw, published = tmp_path / "raw", tmp_path / "wh" / "governance.duckdb"
    shutil.copytree(nights["root"] / "raw", raw)
    published.parent.mkdir()
    _copy_warehouse(nights["published"], published)
    rows = pq.read_table(next((raw / "orders").glob("initial-load-*.parquet")))
    rows = rows.filter(pc.equal(rows["order_status"], "completed"))
    old = rows.take(pc.sort_indices(rows, [("ordered_at", "ascending")])[:1])
    order_id, day = old["order_id"][0].as_py(), old["ordered_at"][0].as_py().date()
    before = _gmv(published, order_id)
    restated = _set(old, "gmv_usd", [before + 100.0])
    pq.write_table(restated, raw / "orders" / f"{NIGHT}-restatement.parquet")
    options = dict(
        target_path=tmp_path / "target",
        freshness=False,
        quality=False,
        dbt_args=["--select", "+fct_completed_orders", *NO_TESTS],
    )
    return raw, published, order_id, day, before, options


def test_a_correction_older_than_the_window_is_reported_until_a_backfill_takes_it_in(
    nights, tmp_path
):
    raw, published, order_id, day, before, options = _restated_first_order(nights, tmp_path)
    lines = []
    night = run_nightly(raw, published, log=lines.append, **options)
    assert night.unprocessed_changes == [
        {"table": "orders", "records": 1, "earliest_day": str(day), "night": NIGHT}
    ]
    assert (
        f"[nightly] warning: 1 orders record(s) changed on night {NIGHT} on days the "
        f"incremental facts did not re-process (earliest {day}): the facts and metrics take "
        f"them in after `governance backfill --from {day}` or "
        "`governance nightly --full-refresh`"
    ) in lines
    assert _gmv(published, order_id) == before  # staged, not in the fact: said, not silent
    # A backfill from that day takes it in, and the warning goes.
    backfill = run_backfill(raw, published, str(day), log=lambda line: None, **options)
    assert backfill.unprocessed_changes == []
    assert _gmv(published, order_id) == pytest.approx(before + 100.0)


def test_asked_to_a_night_backfills_the_changes_its_facts_did_not_reprocess(nights, tmp_path):
    raw, published, order_id, day, before, options = _restated_first_order(nights, tmp_path)
    # Also a pending change an earlier night reported (listings of a later day): the backfill
    # starts from the earlier of the two.
    earlier = {"table": "listings", "records": 2, "earliest_day": str(day + timedelta(days=5))}
    earlier["night"] = FIRST_NIGHT
    report = json.loads(report_path(nights["published"]).read_text())
    report_path(published).write_text(json.dumps({**report, "unprocessed_changes": [earlier]}))
    lines: list[str] = []
    night = run_nightly(raw, published, backfill_changes=True, log=lines.append, **options)
    assert night.backfill["from"] == str(day)
    assert [c["table"] for c in night.backfill["changes"]] == ["listings", "orders"]
    assert night.unprocessed_changes == []
    assert _gmv(published, order_id) == pytest.approx(before + 100.0)
    assert (
        "[nightly] backfill of 3 changed record(s) the facts did not re-process: dbt build "
        f"re-processing from {day}"
    ) in lines
    assert not any("warning" in line for line in lines)
    assert list(night.step_seconds)[-3:] == ["dbt_build", "backfill", "publish"]


def test_a_stale_source_fails_the_night_it_was_asked_to_and_publishes_nothing(nights, tmp_path):
    published = tmp_path / "wh" / "governance.duckdb"
    published.parent.mkdir()
    _copy_warehouse(nights["published"], published)
    good = sha256(published)
    lines: list[str] = []
    with pytest.raises(NightlyError, match=r"^stale sources for night 2026-07-10: \[.*'orders'"):
        run_nightly(
            nights["root"] / "raw",
            published,
            night="2026-07-10",
            fail_on_stale=True,
            quality=False,
            target_path=tmp_path / "target",
            dbt_args=["--select", "int_as_of_date"],
            log=lines.append,
        )
    assert sha256(published) == good
    # Checked before the build: no dbt build ran.
    assert not any("dbt build (" in line for line in lines)
    assert any(
        line.startswith("[nightly]   freshness orders")
        and line.endswith("error (dbt, against the wall clock: error)")
        for line in lines
    ), lines


def _freshness_results(sources: Path) -> dict:
    """What ``dbt source freshness`` found, by source: latest load time and dbt's status."""
    results = json.loads(sources.read_text())["results"]
    return {r["unique_id"]: (r["max_loaded_at"], r["status"]) for r in results}


def test_freshness_runs_beside_the_copy_on_a_database_and_target_of_its_own(nights, tmp_path):
    published = tmp_path / "wh" / "governance.duckdb"
    published.parent.mkdir()
    _copy_warehouse(nights["published"], published)
    on_work_file = tmp_path / "work.duckdb"
    shutil.copy(state_path(published), on_work_file)
    target = tmp_path / "target"
    lines: list[str] = []
    report = run_nightly(
        nights["root"] / "raw",
        published,
        quality=False,
        target_path=target,
        dbt_args=["--select", "int_as_of_date"],
        log=lines.append,
    )
    # Started before the copy of the work file, its results read after it, before the build.
    steps = [line for line in lines if line.startswith("[nightly]")]
    started = steps.index("[nightly] dbt source freshness, beside the work file")
    first_result = next(i for i, line in enumerate(steps) if "   freshness orders" in line)
    build = next(i for i, line in enumerate(steps) if line.startswith("[nightly] dbt build ("))
    assert started < first_result < build
    assert list(report.step_seconds)[:3] == ["raw_check", "work_file", "freshness"]
    # What dbt source freshness finds on the work file, as the night checked before.
    before = tmp_path / "on-work-file"
    checked = run_dbt(
        ["source", "freshness", "--output", str(before / "sources.json")],
        raw_dir=nights["root"] / "raw",
        duckdb_path=on_work_file,
        target_path=before,
        quiet=True,
    )
    assert (before / "sources.json").exists(), checked.stdout[-2000:]
    found = _freshness_results(target / "sources.json")
    assert found == _freshness_results(before / "sources.json")
    assert {f.table for f in report.freshness} == {u.split(".")[-1] for u in found}
    assert len(found) >= 9
    # In a target folder of its own (the build's parse and files stay the build's), on a
    # database in memory: no database file besides the warehouse's own.
    assert (freshness_target(target) / "partial_parse.msgpack").exists()
    assert (freshness_target(target) / "logs" / "dbt.log").exists()
    assert json.loads((target / "run_results.json").read_text())["args"]["which"] == "build"
    databases = {
        p.relative_to(tmp_path).as_posix()
        for p in tmp_path.rglob("*")
        if p.suffix in (".duckdb", ".wal")
    }
    assert databases == {
        "work.duckdb",
        "wh/governance.duckdb",
        "wh/governance.state.duckdb",
        "wh/governance.standby.duckdb",
    }
    assert not (settings.project_dir() / ":memory:").exists()


def _processes_naming(text: str) -> list[int]:
    """The live processes whose command line holds ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text in command and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_a_failed_or_killed_copy_leaves_no_freshness_check_running(nights, tmp_path, monkeypatch):
    published = tmp_path / "wh" / "governance.duckdb"
    published.parent.mkdir()
    _copy_warehouse(nights["published"], published)
    good = sha256(published)
    target = tmp_path / "target"
    running_during_copy = []

    def copy_fails(published: Path, incremental: bool) -> Path:
        running_during_copy.extend(_processes_naming(str(freshness_target(target))))
        raise OSError("No space left on device")

    monkeypatch.setattr(pub, "start_work_file", copy_fails)
    with pytest.raises(OSError, match="No space left on device"):
        run_nightly(nights["root"] / "raw", published, quality=False, target_path=target)
    assert running_during_copy, "dbt source freshness did not run beside the copy"
    assert _processes_naming(str(freshness_target(target))) == []
    monkeypatch.undo()
    # Killed right after the copy: the freshness check dies with the night.
    script = (
        "import sys; from pathlib import Path; from governance.nightly import run_nightly; "
        "run_nightly(Path(sys.argv[1]), Path(sys.argv[2]), target_path=Path(sys.argv[3]), "
        "freshness=True, quality=False)"
    )
    killed = tmp_path / "killed-target"
    command = [sys.executable, "-c", script, str(nights["root"] / "raw"), str(published)]
    env = {**os.environ, FAULT_ENV: "after-copy"}
    done = subprocess.run([*command, str(killed)], env=env, capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stdout[-2000:] + done.stderr[-2000:]
    deadline = time.monotonic() + 10
    while _processes_naming(str(freshness_target(killed))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_naming(str(freshness_target(killed))) == []
    assert sha256(published) == good
    # The work file the kill left is the only file besides the warehouse's: the next night's
    # to remove (governance.publish.remove_stale_work_files).
    left = sorted(p.name for p in published.parent.iterdir())
    assert left == sorted(
        [
            ".governance.duckdb.building",
            "governance.duckdb",
            "governance.duckdb.lock",
            "governance.state.duckdb",
        ]
    )
    assert not (settings.project_dir() / ":memory:").exists()


def test_a_failed_night_reports_its_own_error_not_the_last_runs(nights, tmp_path, monkeypatch):
    # The target folder holds the artefacts of an earlier failed run: a failed node and stale
    # freshness results. Tonight dbt fails before any node runs (a real target with no salt):
    # the night reports dbt's own error and nothing of the earlier run.
    target = tmp_path / "target"
    target.mkdir()
    stale_node = "model.marketplace_governance.a_node_of_an_earlier_run"
    (target / "run_results.json").write_text(
        json.dumps({"results": [{"unique_id": stale_node, "status": "error", "message": "old"}]})
    )
    (target / "sources.json").write_text(
        json.dumps(
            {
                "results": [
                    {
                        "unique_id": "source.marketplace_governance.marketplace.stale_table",
                        "max_loaded_at": "2020-01-01T00:00:00+00:00",
                        "status": "error",
                    }
                ]
            }
        )
    )
    published = tmp_path / "wh" / "governance.duckdb"
    published.parent.mkdir()
    monkeypatch.setenv("GOVERNANCE_TARGET", "prod")
    monkeypatch.delenv("GOVERNANCE_PII_SALT", raising=False)
    lines: list[str] = []
    with pytest.raises(NightlyError) as failure:
        run_nightly(
            nights["root"] / "raw",
            published,
            target_path=target,
            quality=False,
            dbt_args=["--select", "int_as_of_date"],
            log=lines.append,
        )
    message = str(failure.value)
    assert "GOVERNANCE_PII_SALT is not set" in message
    assert "a_node_of_an_earlier_run" not in message and "\x1b[" not in message
    assert not any("stale_table" in line for line in lines), lines
    assert not published.exists()


def test_a_killed_night_leaves_the_validation_baseline_as_it_was(nights, tmp_path):
    from governance.quality import validation_state_path

    published = tmp_path / "wh" / "governance.duckdb"
    published.parent.mkdir()
    _copy_warehouse(nights["published"], published)
    state = validation_state_path(published)
    state.write_text('{"baseline_row_counts": {"metrics_daily": 1}}\n')
    script = (
        "import sys; from pathlib import Path; from governance.nightly import run_nightly; "
        "run_nightly(Path(sys.argv[1]), Path(sys.argv[2]), target_path=Path(sys.argv[3]), "
        "freshness=False, quality=True, dbt_args=['--select', 'int_as_of_date'])"
    )
    # A script file, not `python -c`: pyspark (imported by Great Expectations when installed)
    # takes a main module without a file for its doctests and exits.
    script_file = tmp_path / "night.py"
    script_file.write_text(script.replace("; ", "\n"))
    command = [sys.executable, str(script_file), str(nights["root"] / "raw"), str(published)]
    env = {**os.environ, FAULT_ENV: "after-validation"}
    done = subprocess.run(
        [*command, str(tmp_path / "target")], env=env, capture_output=True, text=True
    )
    assert done.returncode == -signal.SIGKILL, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Great Expectations checkpoint passed" in done.stdout
    # The checkpoint ran on the unpublished work file: its row counts are no baseline.
    assert state.read_text() == '{"baseline_row_counts": {"metrics_daily": 1}}\n'
    # A night that publishes stores them.
    done = subprocess.run([*command, str(tmp_path / "target")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    stored = json.loads(state.read_text())
    assert stored["baseline_row_counts"]["metrics_daily"] > 1


def test_great_expectations_is_imported_while_the_build_runs_and_joined_after_it(
    monkeypatch, tmp_path
):
    from governance import nightly, quality

    imported_in, started = [], []
    done = threading.Event()

    def slow_import():
        imported_in.append(threading.current_thread().name)
        done.wait(10)
        time.sleep(0.3)  # still importing when dbt is done: the build step waits for it

    class Build:
        def wait(self):
            # dbt is started before the thread (no thread runs beside a fork), the import then
            # runs while dbt does.
            assert started == ["build"]
            for _ in range(100):
                if imported_in:
                    break
                time.sleep(0.05)
            done.set()
            return subprocess.CompletedProcess([], 2, "dbt: profile not found", "")

        def stop(self):
            started.append("stopped")

    def start_dbt(command, variables, extra, *, database, target):
        started.append(command[0])
        started_on.append((database, target))
        return Build()

    started_on = []
    monkeypatch.setattr(quality, "import_great_expectations", slow_import)
    work = tmp_path / "work.duckdb"
    run = SimpleNamespace(start_dbt=start_dbt, target=tmp_path, work=work)
    with pytest.raises(NightlyError, match="dbt build failed"):
        nightly._build(run, {}, "incremental", [], True, report=None)
    assert started_on == [(work, tmp_path)]  # the build runs on the work file, in the target
    assert imported_in == ["load-great-expectations"]
    assert started == ["build", "stopped"]
    assert "load-great-expectations" not in {t.name for t in threading.enumerate()}
