"""Expectation suites (`governance validate`) over the published tables: they pass on a fresh
build and fail with a message naming the table, column and expectation on corrupted copies."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from governance.build_results import build_id
from governance.cli import main
from governance.dashboard.screenshot import DOCUMENT_READY_JS, Browser, find_chromium
from governance.quality import (
    expected_grid_rows,
    read_validation_state,
    run_checkpoint,
    validation_state_path,
)


def _counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t.split(".")[1]: con.execute(f"select count(*) from {t}").fetchone()[0]
            for t in (
                "metrics.metrics_daily",
                "detection.seller_features",
                "detection.metric_anomalies",
            )
        }


def _copy(built, tmp_path: Path) -> Path:
    db = tmp_path / "governance.duckdb"
    shutil.copy(built["published"], db)  # what `governance validate` reads
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


@pytest.fixture(scope="module")
def two_runs(built, tmp_path_factory):
    """Two validation runs of the tiny warehouse into one Data Docs folder."""
    root = tmp_path_factory.mktemp("validate")
    state, docs = root / "state.json", root / "gx_data_docs"
    first = run_checkpoint(built["db"], data_docs_dir=docs, state_path=state)
    time.sleep(1.1)  # runs are named by the second they ran
    second = run_checkpoint(built["db"], data_docs_dir=docs, state_path=state)
    return {"docs": docs, "state": state, "runs": (first, second)}


def test_validate_passes_on_a_fresh_build_writes_data_docs_and_baseline(built, two_runs):
    result, again = two_runs["runs"]
    docs = two_runs["docs"]
    assert result.success, result.report()
    assert result.exit_code == 0
    assert result.critical_failures == []
    assert result.row_counts == _counts(built["db"])
    assert result.n_expectations >= 45
    assert len(result.outcomes) == result.n_expectations
    assert [o for o in result.outcomes if not o.passed] == result.warnings
    assert result.data_docs_index == docs / "index.html"
    assert result.build_id == build_id(built["db"]) is not None
    stored = json.loads(two_runs["state"].read_text())
    assert stored["baseline_row_counts"] == result.row_counts
    assert stored["last_run"]["success"] is True
    assert stored["last_run"]["build_id"] == result.build_id
    assert len(stored["last_run"]["expectations"]) == again.n_expectations

    # The next run also checks each table's row count against that baseline.
    assert again.success
    assert again.n_expectations == result.n_expectations + 3
    assert not any("no previous validation run" in note for note in again.notes)


def test_data_docs_work_offline_the_index_lists_the_runs_and_every_link_opens(two_runs):
    chromium = find_chromium()
    if chromium is None or not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium missing: apt-get install -y chromium")
    docs = two_runs["docs"]
    pages = sorted(docs.rglob("*.html"))
    # Nothing is fetched from anywhere: no script, stylesheet, font or image outside the page.
    for page in pages:
        text = page.read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), page
        assert "<script" not in text, page
    with Browser(chromium, offline=True) as browser:
        index = browser.open(docs.joinpath("index.html").as_uri(), ready_js=DOCUMENT_READY_JS)
        assert index["error_text"] is None
        rows = browser.devtools.evaluate(
            "Array.from(document.querySelectorAll('#runs tr')).slice(1).map(r => r.innerText)"
        )
        first, second = two_runs["runs"]
        assert len(rows) == 2  # newest first
        assert rows[0].startswith(second.validated_at) and rows[1].startswith(first.validated_at)
        assert all("passed" in row and "metrics_daily" in row for row in rows)
        links = browser.devtools.evaluate(
            "Array.from(document.querySelectorAll('a')).map(a => a.href)"
        )
        assert len(links) == 2 * (1 + 4)  # each run's page and its four suites
        for link in links:
            state = browser.open(link, ready_js=DOCUMENT_READY_JS, settle=0.1)
            assert state["error_text"] is None, link
            assert "Validation run" in state["text"], link
            anchor = link.partition("#")[2]
            if anchor:
                assert browser.devtools.evaluate(f"!!document.getElementById('{anchor}')"), link
            badges = browser.devtools.evaluate(
                "Array.from(document.querySelectorAll('.badge')).map(b => b.innerText)"
            )
            assert badges and all(b in ("✓ passed", "✗ failed", "! warning") for b in badges)
            back = browser.devtools.evaluate("document.querySelector('a').href")
            assert back == docs.joinpath("index.html").as_uri()
        assert browser.failed_requests == []


def test_validate_fails_naming_table_column_and_expectation_on_corrupted_intervals(
    built, tmp_path, capsys
):
    db = _copy(built, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute(
            """
            update metrics.metrics_daily set ci_lower = value + 0.1
            where rowid in (
                select rowid from metrics.metrics_daily
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
        as_of = con.execute("select max(metric_date) from metrics.metrics_daily").fetchone()[0]
        con.execute(
            """
            delete from metrics.metrics_daily
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


# seller_features is a view: its rows are those of seller_features_stored.
@pytest.mark.parametrize(
    ("table", "stored_in"),
    [("seller_features", "seller_features_stored"), ("metric_anomalies", "metric_anomalies")],
)
def test_suites_check_accepted_values_of_each_table(built, tmp_path, table, stored_in):
    db = _copy(built, tmp_path)
    column = "region"
    with duckdb.connect(str(db)) as con:
        con.execute(f"update detection.{stored_in} set {column} = 'XX' where rowid = 0")
    result = run_checkpoint(db, state_path=tmp_path / "s.json", build_data_docs=False)
    failing = {(f.table, f.columns, f.expectation) for f in result.critical_failures}
    assert (table, (column,), "expect_column_values_to_be_in_set") in failing
