"""Expectation suites (`governance validate`) over the published tables: they pass on a fresh
build and fail with a message naming the table, column and expectation on corrupted copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from governance.cli import main
from governance.quality import (
    expected_grid_rows,
    read_validation_state,
    run_checkpoint,
    validation_state_path,
)


def _counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t: con.execute(f"select count(*) from main.{t}").fetchone()[0]
            for t in ("metrics_daily", "seller_features", "metric_anomalies")
        }


def _copy(built, tmp_path: Path) -> Path:
    db = tmp_path / "governance.duckdb"
    shutil.copy(built["db"], db)
    return db


def test_expected_grid_rows_counts_every_day_of_each_metric_for_every_segment():
    frame = pd.DataFrame(
        {
            "metric_name": ["a", "a", "b"],
            "metric_date": pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-03"]),
        }
    )
    # a: 5 days, b: 1 day; 2 regions and 3 categories plus ALL each.
    assert expected_grid_rows(frame, n_regions=2, n_categories=3) == 6 * 3 * 4


def test_validate_passes_on_a_fresh_build_writes_data_docs_and_baseline(built, tmp_path):
    state = tmp_path / "state.json"
    docs = tmp_path / "gx_data_docs"
    result = run_checkpoint(built["db"], data_docs_dir=docs, state_path=state)

    assert result.success, result.report()
    assert result.exit_code == 0
    assert result.critical_failures == []
    assert result.row_counts == _counts(built["db"])
    assert result.n_expectations >= 45
    assert result.data_docs_index == docs / "index.html"
    html = (docs / "index.html").read_text()
    for suite in ("metrics_daily", "seller_features", "metric_anomalies"):
        assert suite in html
    stored = json.loads(state.read_text())
    assert stored["baseline_row_counts"] == result.row_counts
    assert stored["last_run"]["success"] is True

    # The next run also checks each table's row count against that baseline.
    again = run_checkpoint(built["db"], state_path=state, build_data_docs=False)
    assert again.success
    assert again.n_expectations == result.n_expectations + 3
    assert not any("no previous validation run" in note for note in again.notes)


def test_validate_fails_naming_table_column_and_expectation_on_corrupted_intervals(
    built, tmp_path, capsys
):
    db = _copy(built, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute(
            """
            update main.metrics_daily set ci_lower = value + 0.1
            where rowid in (
                select rowid from main.metrics_daily
                where value is not null and value < 0.5
                order by metric_name, metric_date, region, category
                limit 3
            )
            """
        )

    code = main(["validate", "--duckdb-path", str(db), "--no-data-docs"])
    out = capsys.readouterr().out

    assert code == 1
    critical = [line for line in out.splitlines() if line.startswith("CRITICAL")]
    assert len(critical) == 1, out
    assert critical[0].startswith("CRITICAL metrics_daily.value/ci_lower: ")
    assert "expect_column_pair_values_a_to_be_greater_than_b" in critical[0]
    assert "ci_lower ≤ value" in critical[0]
    assert "3 of" in critical[0]
    assert "Validation FAILED." in out
    # A failed run is recorded but does not become the row-count baseline.
    state = read_validation_state(db)
    assert state["last_run"]["success"] is False
    assert "baseline_row_counts" not in state
    assert validation_state_path(db) == tmp_path / "governance.validation.json"


def test_validate_flags_a_recent_gap_and_warns_on_a_row_count_jump(built, tmp_path):
    db = _copy(built, tmp_path)
    with duckdb.connect(str(db)) as con:
        as_of = con.execute("select max(as_of_date) from intermediate.int_as_of_date").fetchone()[0]
        con.execute(
            """
            delete from main.metrics_daily
            where metric_name = 'listing_violation_rate' and region = 'ALL'
              and category = 'ALL' and metric_date = cast(? as date) - 3
            """,
            [as_of],
        )
    counts = _counts(built["db"])
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"baseline_row_counts": {**counts, "metrics_daily": 10_000}}))

    result = run_checkpoint(db, state_path=state, update_state=False, build_data_docs=False)

    assert not result.success
    messages = [f.message() for f in result.critical_failures]
    gap = next(m for m in messages if m.startswith("metrics_daily__recent_days.denominator:"))
    assert "no gaps in recent days" in gap
    assert "metric_name=listing_violation_rate" in gap
    assert any(
        m.startswith("metrics_daily: expect_table_row_count_to_equal") and "complete date" in m
        for m in messages
    )
    row_count = "expect_table_row_count_to_be_between"
    jump = next(w for w in result.warnings if w.expectation == row_count)
    assert jump.table == "metrics_daily"
    assert "10,000" in jump.rule
    assert json.loads(state.read_text())["baseline_row_counts"]["metrics_daily"] == 10_000


def test_validate_reports_a_missing_warehouse(tmp_path, capsys):
    code = main(["validate", "--duckdb-path", str(tmp_path / "absent.duckdb"), "--no-data-docs"])
    assert code == 2
    assert "No warehouse at" in capsys.readouterr().err


@pytest.mark.parametrize("table", ["seller_features", "metric_anomalies"])
def test_suites_check_accepted_values_of_each_table(built, tmp_path, table):
    db = _copy(built, tmp_path)
    column = "region"
    with duckdb.connect(str(db)) as con:
        con.execute(f"update main.{table} set {column} = 'XX' where rowid = 0")
    result = run_checkpoint(db, state_path=tmp_path / "s.json", build_data_docs=False)
    failing = {(f.table, f.columns, f.expectation) for f in result.critical_failures}
    assert (table, (column,), "expect_column_values_to_be_in_set") in failing
