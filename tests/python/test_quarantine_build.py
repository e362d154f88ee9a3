"""Quarantine on the standard build (the session `built` warehouse): clean data stages every raw
row, and a raw rule breach no longer fails the build but is held back, named by table, key,
column and rule, while the raw-source test only warns."""

from __future__ import annotations

import json
import subprocess

import duckdb
import pyarrow.parquet as pq

from governance.warehouse import build


def test_clean_data_stages_every_raw_row(built):
    with duckdb.connect(str(built["db"]), read_only=True) as con:
        rows = con.execute(
            "select table_name, raw_row_count, staged_row_count, quarantined_row_count, "
            "superseded_row_count, is_reconciled from monitoring.data_quality_reconciliation"
        ).fetchall()
        held_back = con.execute("select count(*) from monitoring.data_quality_daily").fetchone()[0]
    assert len(rows) == 11
    for table, raw, staged, quarantined, superseded, reconciled in rows:
        files = (built["raw"] / table).glob("*.parquet")
        assert raw == sum(pq.read_metadata(f).num_rows for f in files), table
        assert (staged, quarantined, superseded, reconciled) == (raw, 0, 0, True), table
    assert held_back == 0


def test_a_raw_rule_breach_is_quarantined_and_the_source_test_only_warns(built, tmp_path):
    raw = tmp_path / "raw"
    subprocess.run(["cp", "-r", str(built["raw"]), str(raw)], check=True)
    listing_files = sorted((raw / "listings").glob("*.parquet"))
    table = pq.read_table(listing_files[0]).to_pandas()
    table.loc[table.index[0], "price_usd"] = -5.0
    broken_listing = table.loc[table.index[0], "listing_id"]
    table.to_parquet(listing_files[0], index=False)

    results = build(
        raw,
        tmp_path / "quarantine.duckdb",
        extra_args=[
            "--select",
            "resource_type:seed",
            "staging",
            "source:marketplace.listings",
            "--indirect-selection",
            "cautious",
        ],
        target_path=tmp_path / "target",
        quiet=True,
    )
    statuses = {
        r["unique_id"].split(".")[2]: r["status"]
        for r in json.loads(results.read_text())["results"]
    }
    source_test = next(k for k in statuses if "expression_is_true_marketplace_listings_price" in k)
    assert statuses[source_test] == "warn"
    with duckdb.connect(str(tmp_path / "quarantine.duckdb"), read_only=True) as con:
        quarantined = con.execute(
            "select table_name, record_key, rule_name, rule_column, source_file "
            "from staging.stg_marketplace__quarantine order by table_name, record_key"
        ).fetchall()
        orders_of_listing = con.execute(
            "select order_id from staging.base_marketplace__orders where listing_id = ? "
            "order by order_id",
            [broken_listing],
        ).fetchall()
        complaints_of_listing = con.execute(
            "select complaint_id from staging.base_marketplace__complaints where listing_id = ? "
            "order by complaint_id",
            [broken_listing],
        ).fetchall()
        staged = con.execute(
            "select count(*) from staging.stg_marketplace__listings where listing_id = ?",
            [broken_listing],
        ).fetchone()[0]
    assert staged == 0
    assert quarantined[0] == (
        "listings",
        broken_listing,
        "negative_amount",
        "price_usd",
        listing_files[0].name,
    )
    # Rows that reference the quarantined listing are held back too, as orphans: staged data
    # never points at a record that is not staged.
    orphans = {(t, k) for t, k, rule, column, _ in quarantined[1:]}
    assert {r for _, _, r, _, _ in quarantined[1:]} <= {"orphan_foreign_key"}
    assert orphans == {("orders", o) for (o,) in orders_of_listing} | {
        ("complaints", c) for (c,) in complaints_of_listing
    }
