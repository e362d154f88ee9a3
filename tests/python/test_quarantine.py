"""Bad input: every corruption class the simulator can write is quarantined with its table, key,
rule and night, every raw row is accounted for, and too much quarantine fails the night with a
message naming the table and the rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from governance.cli import main
from governance.nightly import NightlyError, precheck_raw, run_nightly
from governance.publish import state_path
from governance.simulator import RAW_TABLES
from governance.simulator.corrupt import EXPECTED_RULE, KINDS, corrupt
from governance.simulator.feed import advance_day, generate_with_holdback
from governance.warehouse import run_dbt

NIGHT = "2026-06-30"
ROWS = 5
# (kind, table): every class of bad input, some on more than one table.
CORRUPTIONS = [
    ("null_primary_key", "orders"),
    ("duplicate_primary_key", "listings"),
    ("orphan_foreign_key", "orders"),
    ("orphan_foreign_key", "appeals"),
    ("unknown_code", "sellers"),
    ("unknown_code", "listings"),
    ("unknown_code", "strategies"),
    ("unknown_code", "enforcement_actions"),
    ("unknown_code", "seller_identity_signals"),
    ("timestamp_in_future", "enforcement_actions"),
    ("timestamp_before_launch", "strategy_hits"),
    ("negative_amount", "listings"),
    ("negative_amount", "orders"),
    ("resolved_before_filed", "appeals"),
    ("unparseable_value", "qa_case_checks"),
    ("missing_column", "orders"),
]


def _query(db: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory):
    """A tiny feed whose last night also delivers one file per corruption, built by the nightly
    job (staging, quarantine and data-quality models) with the quarantine limit lifted."""
    root = tmp_path_factory.mktemp("quarantine")
    raw = root / "raw"
    generate_with_holdback(raw, root / "truth", 1, scale="tiny", seed=11)
    advance_day(raw, root / "truth")
    applied = []
    for kind, table in CORRUPTIONS:
        result = corrupt(raw, kind, table=table, rows=ROWS, night=NIGHT)
        applied.append((result, result.file))
    published = root / "wh" / "governance.duckdb"
    lines: list[str] = []
    report = run_nightly(
        raw,
        published,
        target_path=root / "target",
        freshness=False,
        quality=False,
        extra_vars={"quarantine_max_share": 1.0},
        dbt_args=[
            "--select",
            "resource_type:seed",
            "staging",
            "marts.data_quality",
            "+int_as_of_date",
            "--indirect-selection",
            "cautious",
        ],
        log=lines.append,
    )
    return {
        "root": root,
        "raw": raw,
        "db": state_path(published),  # the night's whole build, staging included
        "applied": applied,
        "report": report,
        "log": lines,
    }


def test_every_corruption_class_is_quarantined_with_its_rule_column_and_night(corrupted):
    db = corrupted["db"]
    for result, file_name in corrupted["applied"]:
        if result.disposition != "quarantined":
            continue
        rows = _query(
            db,
            "select rule_name, rule_column, arrived_night, count(*) "
            "from staging.stg_marketplace__quarantine "
            "where table_name = ? and source_file = ? group by all",
            [result.table, file_name],
        )
        expected_column = result.column
        assert [(r[0], r[1], str(r[2]), r[3]) for r in rows] == [
            (result.rule, expected_column, NIGHT, ROWS)
        ], (result.kind, result.table)


def test_quarantined_rows_keep_their_key_and_never_reach_staging(corrupted):
    db = corrupted["db"]
    keys = _query(
        db,
        "select record_key from staging.stg_marketplace__quarantine "
        "where table_name = 'orders' and rule_name = 'negative_amount'",
    )
    assert len(keys) == ROWS and all(k[0].startswith("XNEG") for k in keys)
    assert _query(db, "select count(*) from staging.stg_marketplace__orders where gmv_usd < 0") == [
        (0,)
    ]
    assert _query(
        db,
        "select count(*) from staging.stg_marketplace__quarantine "
        "where table_name = 'orders' and rule_name = 'null_primary_key' and record_key is null",
    ) == [(ROWS,)]
    assert _query(
        db, "select count(*) from staging.stg_marketplace__sellers where region = 'XX'"
    ) == [(0,)]


def test_the_latest_version_of_a_duplicate_key_wins_and_older_ones_are_superseded(corrupted):
    db = corrupted["db"]
    (result, file_name) = next(
        a for a in corrupted["applied"] if a[0].kind == "duplicate_primary_key"
    )
    new_versions = pq.read_table(corrupted["raw"] / "listings" / file_name).to_pandas()
    staged = dict(
        _query(
            db,
            "select listing_id, price_usd from staging.stg_marketplace__listings "
            "where listing_id in (select unnest(?))",
            [list(new_versions.listing_id)],
        )
    )
    assert staged == dict(zip(new_versions.listing_id, new_versions.price_usd, strict=True))
    superseded = _query(
        db,
        "select count(*), min(rule_name), min(rule_column), max(source_file) "
        "from staging.base_marketplace__listings "
        "where disposition = 'superseded' and record_key in (select unnest(?))",
        [list(new_versions.listing_id)],
    )
    assert superseded == [(ROWS, "duplicate_superseded", "listing_id", superseded[0][3])]
    assert not superseded[0][3].startswith(NIGHT)


def test_every_raw_row_is_staged_quarantined_or_superseded(corrupted):
    db, raw = corrupted["db"], corrupted["raw"]
    recon = {
        r[0]: r[1:]
        for r in _query(
            db,
            "select table_name, raw_row_count, staged_row_count, quarantined_row_count, "
            "superseded_row_count, is_reconciled from monitoring.data_quality_reconciliation",
        )
    }
    assert sorted(recon) == sorted(RAW_TABLES)
    for table in RAW_TABLES:
        # Raw rows counted independently, from the Parquet footers.
        raw_rows = sum(pq.read_metadata(f).num_rows for f in (raw / table).glob("*.parquet"))
        staged = _query(db, f"select count(*) from staging.stg_marketplace__{table}")[0][0]
        quarantined, superseded = _query(
            db,
            "select count(*) filter (where disposition = 'quarantined'), "
            "count(*) filter (where disposition = 'superseded') "
            "from staging.stg_marketplace__row_dispositions where table_name = ?",
            [table],
        )[0]
        assert raw_rows == staged + quarantined + superseded, table
        assert recon[table] == (raw_rows, staged, quarantined, superseded, True), table
    assert recon["sellers"][3] > 0  # the feed's onboarding updates supersede registrations


def test_data_quality_daily_counts_quarantine_per_night_table_and_rule(corrupted):
    rows = _query(
        corrupted["db"],
        "select table_name, rule_name, rule_column, row_count, arrived_row_count, "
        "share_of_arrived from monitoring.data_quality_daily "
        "where arrived_night = ? and disposition = 'quarantined' order by all",
        [NIGHT],
    )
    by_key = {(r[0], r[1], r[2]): r[3:] for r in rows}
    count, arrived, share = by_key[("sellers", "unknown_code", "region")]
    assert count == ROWS and arrived > ROWS and share == pytest.approx(ROWS / arrived)
    assert by_key[("orders", "file_breaks_contract", "gmv_usd")][0] == ROWS
    assert by_key[("appeals", "orphan_foreign_key", "action_id")][0] == ROWS


def test_source_tests_only_warn_once_staging_enforces_the_rules(corrupted):
    results = json.loads((corrupted["root"] / "target" / "run_results.json").read_text())
    warned = [r["unique_id"] for r in results["results"] if r["status"] == "warn"]
    assert any(".source_not_null_marketplace_orders_order_id" in w for w in warned)
    assert all(w.startswith("test.marketplace_governance.source_") for w in warned)
    assert corrupted["report"].dbt["tests_failed"] == 0


def test_the_raw_key_tests_read_the_base_models_and_find_every_repeated_key(corrupted):
    # The raw sources' key tests look the keys up in the base models (every raw row, typed):
    # they warn about exactly the keys the raw files repeat.
    results = json.loads((corrupted["root"] / "target" / "run_results.json").read_text())
    failures = {
        r["unique_id"].split(".")[2]: r["failures"]
        for r in results["results"]
        if r["unique_id"].split(".")[2].startswith("source_unique_marketplace_")
    }
    raw = corrupted["raw"]
    with duckdb.connect() as con:
        for table, key in (("listings", "listing_id"), ("sellers", "seller_id")):
            repeated = con.execute(
                f"select count(*) from (select {key} from read_parquet(?, union_by_name = true) "
                f"where {key} is not null group by {key} having count(*) > 1)",
                [str(raw / table / "*.parquet")],
            ).fetchone()[0]
            assert repeated > 0 and failures[f"source_unique_marketplace_{table}_{key}"] == repeated


def test_a_base_row_written_twice_fails_the_base_key_test_naming_the_file(corrupted, tmp_path):
    db = tmp_path / "copy.duckdb"
    db.write_bytes(corrupted["db"].read_bytes())
    with duckdb.connect(str(db)) as con:
        first, second = (
            row[0]
            for row in con.execute(
                "select distinct source_file from staging.base_marketplace__orders "
                "order by 1 limit 2"
            ).fetchall()
        )
        # A row of the first file written twice; in the second file, its first row numbered as
        # its second (a repeated key and a lost row).
        con.execute(
            "insert into staging.base_marketplace__orders select * from "
            "staging.base_marketplace__orders where source_file = ? and file_row_number = 3",
            [first],
        )
        con.execute(
            "update staging.base_marketplace__orders set file_row_number = 1 "
            "where source_file = ? and file_row_number = 0",
            [second],
        )
    run_dbt(
        ["test", "--select", "one_row_per_raw_row_base_marketplace__orders"],
        raw_dir=corrupted["raw"],
        duckdb_path=db,
        target_path=tmp_path / "target",
        quiet=True,
    )
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    (result,) = [r for r in results if r["unique_id"].startswith("test.")]
    assert (result["status"], result["failures"]) == ("fail", 2)
    sql = next((tmp_path / "target" / "compiled").rglob("one_row_per_raw_row_*.sql")).read_text()
    with duckdb.connect(str(db), read_only=True) as con:
        found = {row[0]: row[1:] for row in con.execute(sql).fetchall()}
        rows = dict(
            con.execute(
                "select source_file, count(*) from staging.base_marketplace__orders group by 1"
            ).fetchall()
        )
    assert found == {
        first: (rows[first], 0, rows[first] - 2),
        second: (rows[second], 1, rows[second] - 1),
    }


def test_the_contract_precheck_quarantines_files_missing_a_column(corrupted):
    assert corrupted["report"].quarantined_files == {
        "orders": {f"{NIGHT}-corrupt-missing_column.parquet": "gmv_usd"}
    }
    assert any(
        "qa_case_checks" in w and "checked_at" in w for w in corrupted["report"].contract_warnings
    )
    assert any("file_breaks_contract" in line for line in corrupted["log"])


def test_too_much_quarantine_fails_the_build_naming_table_and_rule(corrupted, tmp_path):
    db_copy = tmp_path / "copy.duckdb"
    db_copy.write_bytes(corrupted["db"].read_bytes())
    process = run_dbt(
        [
            "test",
            "--select",
            "assert_quarantine_share_within_limit",
            "--vars",
            json.dumps({"ingest_date": NIGHT, "quarantine_max_share": {"default": 0.05}}),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        raw_dir=corrupted["raw"],
        duckdb_path=db_copy,
        target_path=tmp_path / "target",
        quiet=True,
    )
    assert process.returncode != 0
    match = re.search(
        r"quarantine share above the limit: raw table '(\w+)', (\d+) of (\d+) rows arriving since "
        r"[\d-]+ quarantined \(limit 0.05, var quarantine_max_share\); most common rule '(\w+)' "
        r"on column '(\w+)'",
        process.stdout,
    )
    assert match, process.stdout[-3000:]
    table, quarantined, arrived, rule, column = match.groups()
    assert int(quarantined) >= ROWS and int(quarantined) > 0.05 * int(arrived)
    expected = {(r.table, r.rule, r.column) for r, _ in corrupted["applied"]}
    assert (table, rule, column) in expected


def test_an_empty_table_folder_stops_the_night_and_keeps_the_published_warehouse(tmp_path):
    raw = tmp_path / "raw"
    generate_with_holdback(raw, tmp_path / "truth", 1, scale="tiny", seed=11, days=10)
    assert corrupt(raw, "empty_table_folder").table == "complaints"
    published = tmp_path / "wh" / "governance.duckdb"
    published.parent.mkdir()
    published.write_bytes(b"last good warehouse")
    with pytest.raises(NightlyError) as failure:
        run_nightly(raw, published, freshness=False, quality=False, log=lambda line: None)
    message = str(failure.value)
    assert "raw table 'complaints'" in message
    assert "table folder holds at least one .parquet file" in message
    assert published.read_bytes() == b"last good warehouse"


def test_a_column_missing_from_every_file_stops_the_night(tmp_path):
    raw = tmp_path / "raw"
    generate_with_holdback(raw, tmp_path / "truth", 1, scale="tiny", seed=11, days=10)
    for f in (raw / "complaints").glob("*.parquet"):
        pq.write_table(pq.read_table(f).drop_columns(["reason"]), f)
    pre = precheck_raw(raw)
    assert pre.blocking == [
        "raw table 'complaints', column 'reason': missing from every file (rule: required "
        "column); nothing of this table can be staged"
    ]


def test_an_unreadable_file_beside_one_missing_a_column_stops_the_night_by_name(tmp_path):
    raw = tmp_path / "raw"
    generate_with_holdback(raw, tmp_path / "truth", 1, scale="tiny", seed=11, days=10)
    corrupt(raw, "missing_column", table="orders", night="2026-06-30")
    (raw / "orders" / "2026-06-30-truncated.parquet").write_bytes(b"PAR1 not a footer")
    pre = precheck_raw(raw)
    assert len(pre.blocking) == 1
    assert pre.blocking[0].startswith("raw table 'orders': cannot read ")
    assert pre.blocking[0].endswith("(rule: readable Parquet)")
    assert pre.files_breaking_contract == {
        "orders": {"2026-06-30-corrupt-missing_column.parquet": "gmv_usd"}
    }


def test_corrupt_command_prints_the_expected_rule(tmp_path, capsys):
    raw = tmp_path / "raw"
    generate_with_holdback(raw, tmp_path / "truth", 1, scale="tiny", seed=11, days=10)
    assert (
        main(["corrupt", "--kind", "negative_amount", "--table", "orders", "--raw-dir", str(raw)])
        == 0
    )
    out = capsys.readouterr().out
    assert "negative_amount: wrote 5 row(s) to orders/corrupt-negative_amount.parquet" in out
    assert "expected: quarantined (negative_amount) on column 'gmv_usd'" in out
    assert (
        main(
            [
                "corrupt",
                "--kind",
                "resolved_before_filed",
                "--table",
                "orders",
                "--raw-dir",
                str(raw),
            ]
        )
        == 2
    )
    assert "applies to tables ['appeals']" in capsys.readouterr().err
    assert set(KINDS) == set(EXPECTED_RULE)
