"""Dashboard pages rendered with Streamlit's AppTest against the tiny warehouse: no exceptions,
the right messages, and charts whose layers and data match the warehouse tables."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from governance.dashboard import screenshot
from governance.quality import ExpectationOutcome, ValidationResult, write_validation_state

APP = Path(screenshot.APP)


def _query(db: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).df()


@pytest.fixture
def published(built, monkeypatch):
    """Point the dashboard at the tiny warehouse and its dbt run results."""
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(built["db"]))
    monkeypatch.setenv("DBT_TARGET_PATH", str(Path(built["results"]).parent))
    return built["db"]


OPTIONAL_MARTS = (
    "alerts",
    "metric_movement_attribution",
    "strategy_performance",
    "syndicates",
    "data_quality_daily",
    "data_quality_reconciliation",
)


@pytest.fixture(scope="module")
def augmented_db(built, tmp_path_factory) -> Path:
    """A copy of the tiny warehouse with quarantined rows and a stored validation result."""
    db = tmp_path_factory.mktemp("dashboard_augmented") / "governance.duckdb"
    shutil.copy(built["db"], db)
    with duckdb.connect(str(db)) as con:
        con.execute(
            """
            insert into main.data_quality_daily (
                arrived_night, table_name, disposition, rule_name, rule_column, row_count,
                arrived_row_count, share_of_arrived
            )
            values
                (date '2026-06-29', 'listings', 'quarantined', 'orphan_seller', 'seller_id',
                 3, 100, 0.03),
                (date '2026-06-30', 'listings', 'quarantined', 'orphan_seller', 'seller_id',
                 5, 100, 0.05),
                (date '2026-06-30', 'orders', 'superseded', 'older_version', 'order_id',
                 2, 200, 0.01)
            """
        )
    warning = ExpectationOutcome(
        "metrics_daily",
        (),
        "expect_table_row_count_to_be_between",
        "warning",
        "row count within ±25% of the last passing run",
        "observed 31647",
    )
    result = ValidationResult(True, [], [warning], 55, {"metrics_daily": 31647})
    result.validated_at = "2026-07-01T02:00:00+00:00"
    write_validation_state(db.with_name("governance.validation.json"), {}, result)
    return db


@pytest.fixture(scope="module")
def bare_db(built, tmp_path_factory) -> Path:
    """A copy of the tiny warehouse without the monitoring, strategy, syndicate and
    data-quality marts, as after a partial build."""
    db = tmp_path_factory.mktemp("dashboard_bare") / "governance.duckdb"
    shutil.copy(built["db"], db)
    with duckdb.connect(str(db)) as con:
        for table in OPTIONAL_MARTS:
            con.execute(f"drop table if exists main.{table}")
    return db


def _page(name: str) -> AppTest:
    at = AppTest.from_string(
        f"from governance.dashboard.views import {name}\n{name}.render()\n", default_timeout=60
    )
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _data_of(node: dict, datasets: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    ref = node.get("data") or {}
    if "name" in ref:
        return datasets.get(ref["name"], pd.DataFrame())
    if "values" in ref:
        return pd.DataFrame(ref["values"])
    return None


def _charts(at: AppTest) -> list[dict]:
    """Each Altair chart as {spec, layers: [(mark, data, layer spec)], data: top-level data}."""
    charts = []
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        datasets = {
            d.name: pa.ipc.open_stream(d.data.data).read_pandas() for d in element.proto.datasets
        }
        layers = []
        for layer in spec.get("layer", []):
            mark = layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
            layers.append((mark, _data_of(layer, datasets), layer))
        charts.append({"spec": spec, "layers": layers, "data": _data_of(spec, datasets)})
    return charts


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    out = frame[columns].copy()
    if "metric_date" in out:
        out["metric_date"] = pd.to_datetime(out["metric_date"]).dt.strftime("%Y-%m-%d")
    return [
        tuple(None if pd.isna(v) else (round(v, 12) if isinstance(v, float) else v) for v in row)
        for row in out.itertuples(index=False)
    ]


def test_overview_charts_have_band_line_anomaly_and_target_layers_with_warehouse_rows(published):
    at = _page("overview")
    charts = _charts(at)
    definitions = _query(published, "select * from reference.metric_definitions")
    assert sorted(c["spec"]["usermeta"]["metric_name"] for c in charts) == sorted(
        definitions["metric_name"]
    )
    for chart in charts:
        metric = chart["spec"]["usermeta"]["metric_name"]
        marks = [mark for mark, _, _ in chart["layers"]]
        assert marks == ["area", "rule", "line", "point"], metric
        (_, band, band_spec), (_, rule, _), (_, line, _), (_, points, _) = chart["layers"]
        assert band_spec["encoding"]["y"]["field"] == "ci_lower"
        assert band_spec["encoding"]["y2"]["field"] == "ci_upper"

        expected = _query(
            published,
            """
            select metric_date, value, ci_lower, ci_upper, numerator, denominator
            from main.metrics_daily
            where metric_name = ? and region = 'ALL' and category = 'ALL' and is_mature
                and is_complete
            order by metric_date
            """,
            [metric],
        )
        columns = ["metric_date", "value", "ci_lower", "ci_upper", "numerator", "denominator"]
        assert _rows(line, columns) == _rows(expected, columns), metric
        assert _rows(band, columns) == _rows(expected, columns), metric

        flags = _query(
            published,
            """
            select metric_date, value, severity from main.metric_anomalies
            where is_anomaly and metric_name = ? and region = 'ALL' and category = 'ALL'
            order by metric_date
            """,
            [metric],
        )
        assert len(points) == len(flags), metric
        if len(flags):
            columns = ["metric_date", "value", "severity"]
            assert _rows(points, columns) == _rows(flags, columns)

        target = definitions.loc[definitions["metric_name"] == metric, "target_value"].iloc[0]
        assert rule["target_value"].tolist() == [pytest.approx(target)]

    # The tiny tier's flags sit in Thailand (its one ALL x ALL flag was the edge of the
    # enforcement data, now an incomplete cohort): they must be on Thailand's chart.
    flagged = _query(
        published,
        "select count(*) as n from main.metric_anomalies where is_anomaly "
        "and metric_name = 'listing_violation_rate' and region = 'TH' and category = 'ALL'",
    )["n"].iloc[0]
    assert flagged >= 1
    at.selectbox(key="overview_region").set_value("TH")
    thailand = next(
        c
        for c in _charts(_rerun(at))
        if c["spec"]["usermeta"]["metric_name"] == "listing_violation_rate"
    )
    assert len(thailand["layers"][3][1]) == flagged
    # Sellers onboarded before the first enforcement record are left out of the chart.
    onboarding = next(
        c for c in charts if c["spec"]["usermeta"]["metric_name"] == "bad_seller_onboarding_rate"
    )
    coverage_start = _query(
        published,
        "select min(metric_date) as day from main.metrics_daily "
        "where metric_name = 'bad_seller_onboarding_rate' and is_complete",
    )["day"].iloc[0]
    first_charted = pd.to_datetime(onboarding["layers"][2][1]["metric_date"]).min()
    assert first_charted == pd.Timestamp(coverage_start)
    assert (
        _query(
            published,
            "select count(*) as n from main.metrics_daily where metric_name = "
            "'bad_seller_onboarding_rate' and is_mature and not is_complete",
        )["n"].iloc[0]
        > 0
    )


def test_overview_kpis_show_latest_mature_value_and_weekly_change(published):
    at = _page("overview")
    latest = _query(
        published,
        """
        select d.metric_label, m.value
        from main.metrics_daily as m
        inner join reference.metric_definitions as d using (metric_name)
        where m.region = 'ALL' and m.category = 'ALL' and m.is_mature and m.value is not null
        qualify row_number() over (partition by m.metric_name order by m.metric_date desc) = 1
        """,
    )
    shown = {m.label: m.value for m in at.metric}
    assert shown == {label: f"{v:.2%}" for label, v in zip(*latest.T.values, strict=True)}
    assert all(m.delta.endswith(" pp") for m in at.metric)


def test_overview_segment_filter_and_immature_days(published):
    at = _page("overview")
    at.selectbox(key="overview_region").set_value("SG")
    at.selectbox(key="overview_category").set_value("fashion")
    at.toggle(key="overview_mature_only").set_value(False)
    _rerun(at)
    chart = next(
        c for c in _charts(at) if c["spec"]["usermeta"]["metric_name"] == "listing_violation_rate"
    )
    _, _, (_, line, line_spec), (_, points, _) = chart["layers"]
    expected = _query(
        published,
        """
        select metric_date, value, is_mature from main.metrics_daily
        where metric_name = 'listing_violation_rate' and region = 'SG' and category = 'fashion'
            and is_complete
        order by metric_date
        """,
    )
    assert _rows(line, ["metric_date", "value", "is_mature"]) == _rows(
        expected, ["metric_date", "value", "is_mature"]
    )
    assert not expected["is_mature"].all()  # immature days are included ...
    assert line_spec["encoding"]["strokeDash"]["field"] == "is_mature"  # ... and dashed
    flags = _query(
        published,
        """
        select count(*) as n from main.metric_anomalies
        where is_anomaly and metric_name = 'listing_violation_rate'
          and region = 'SG' and category = 'fashion'
        """,
    )
    assert len(points) == flags["n"].iloc[0]


def test_pages_say_which_marts_are_not_built_yet(bare_db, monkeypatch):
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(bare_db))
    expected = {
        "alerts": "main.alerts",
        "strategies": "main.strategy_performance",
        "syndicates": "main.syndicates",
        "data_quality": "main.data_quality_daily",
    }
    for page, relation in expected.items():
        at = _page(page)
        assert any("Not built yet" in i.value and relation in i.value for i in at.info), page
    # Without alerts, the alerts page still lists the raw anomaly flags.
    at = _page("alerts")
    flags = _query(bare_db, "select count(*) as n from main.metric_anomalies where is_anomaly")
    assert len(at.dataframe[0].value) == min(200, flags["n"].iloc[0])


def test_alerts_page_lists_incidents_and_breaks_down_the_peak_day_move(published):
    alerts = _query(
        published,
        "select * from main.alerts "
        "order by is_open desc, first_day desc, severity_rank desc, incident_id",
    )
    assert len(alerts) >= 1
    at = _page("alerts")
    assert list(at.dataframe[0].value["incident_id"]) == list(alerts["incident_id"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Incidents"] == str(len(alerts))
    assert metrics["Open"] == str(int(alerts["is_open"].sum()))

    alert = alerts.iloc[0]
    assert at.selectbox(key="alerts_incident").value == alert["incident_id"]
    assert at.info[0].value == alert["summary"]
    (chart,) = _charts(at)
    attribution = _query(
        published,
        """
        select region || ' × ' || category as segment, contribution
        from main.metric_movement_attribution
        where metric_name = ? and metric_date = ? and comparison = 'week_over_week'
        """,
        [alert["metric_name"], alert["peak_date"].date()],
    )
    region, category = alert["anchor_region"], alert["anchor_category"]
    if region != "ALL":
        attribution = attribution[attribution["segment"].str.startswith(f"{region} × ")]
    if category != "ALL":
        attribution = attribution[attribution["segment"].str.endswith(f" × {category}")]
    top = attribution.reindex(attribution["contribution"].abs().nlargest(12).index)
    assert sorted(chart["data"]["segment"]) == sorted(top["segment"])
    assert chart["spec"]["encoding"]["x"]["field"] == "contribution"

    at.segmented_control(key="alerts_comparison").set_value("day_over_day")
    _rerun(at)
    (chart,) = _charts(at)
    assert set(chart["data"]["comparison"]) == {"day_over_day"}


def test_strategy_page_plots_precision_against_recall_with_shadow_marked(published):
    at = _page("strategies")
    (chart,) = _charts(at)
    assert [mark for mark, _, _ in chart["layers"]] == ["rule", "rule", "point", "text"]
    expected = _query(
        published,
        """
        select strategy_id, strategy_status, is_shadow_mode, qa_precision, estimated_recall
        from main.strategy_performance
        where window_days = (select max(window_days) from main.strategy_performance)
          and qa_precision is not null and estimated_recall is not null
        order by strategy_id
        """,
    )
    plotted = chart["data"].sort_values("strategy_id")
    assert list(plotted["strategy_id"]) == list(expected["strategy_id"])
    assert plotted["qa_precision"].tolist() == pytest.approx(expected["qa_precision"].tolist())
    shadow = plotted[plotted["is_shadow_mode"]]
    assert (shadow["mode"] == "shadow mode").all()
    assert set(shadow.loc[shadow["strategy_status"] == "shadow", "status"]) <= {"shadow"}
    points = chart["layers"][2][2]
    assert points["encoding"]["shape"]["field"] == "mode"
    assert points["encoding"]["x"]["field"] == "estimated_recall"

    at.segmented_control(key="strategies_window").set_value(7)
    _rerun(at)
    counts = _query(
        published, "select count(*) as n from main.strategy_performance where window_days = 7"
    )
    scorecard = at.dataframe[-1].value
    assert len(scorecard) == counts["n"].iloc[0]
    assert set(scorecard["window_days"]) == {7}


def test_syndicates_page_ranks_rings_and_lists_unenforced_members(published):
    expected = _query(
        published, "select * from main.syndicates order by risk_score desc, size desc"
    )
    at = _page("syndicates")
    (chart,) = _charts(at)
    assert list(chart["data"]["syndicate_id"]) == list(expected["syndicate_id"].head(15))
    queue = at.dataframe[0].value
    unenforced = expected[expected["n_unenforced_members"] > 0].head(15)
    assert list(queue["unenforced_member_ids"]) == list(unenforced["unenforced_member_ids"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Not yet enforced"] == f"{int(expected['n_unenforced_members'].sum()):,}"


def test_data_quality_page_dbt_results_row_counts_and_reconciliation(published, built):
    at = _page("data_quality")
    results = json.loads(Path(built["results"]).read_text())["results"]
    n_tests = sum(r["unique_id"].startswith("test.") for r in results)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Data tests"] == str(n_tests)
    assert metrics["Failing"] == "0"
    raw_tables = _query(published, "select count(*) as n from main.data_quality_reconciliation")
    assert any(
        f"Every raw row of the {raw_tables['n'].iloc[0]} raw tables" in s.value for s in at.success
    )

    at.toggle(key="quality_staging").set_value(True)
    _rerun(at)
    counts = next(df.value for df in at.dataframe if "row_count" in df.value.columns)
    listings = _query(published, "select count(*) as n from staging.stg_marketplace__listings")[
        "n"
    ].iloc[0]
    row = counts[counts["table_name"] == "stg_marketplace__listings"]
    assert row["row_count"].tolist() == [listings]
    assert "int_metric_counts_daily" in set(counts["table_name"])


def test_data_quality_page_shows_quarantine_and_validation_warnings(augmented_db, monkeypatch):
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(augmented_db))
    at = _page("data_quality")
    assert any("expect_table_row_count_to_be_between" in w.value for w in at.warning)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Quarantined rows"] == "8"
    assert metrics["Superseded rows"] == "2"
    quarantine = _charts(at)[-1]
    assert quarantine["data"]["row_count"].sum() == 10
    assert quarantine["spec"]["encoding"]["color"]["field"] == "table_name"
    # Every query closed its read-only connection: a writer can open the file now.
    duckdb.connect(str(augmented_db)).close()


def test_after_an_incremental_night_the_page_shows_the_last_full_builds_source_tests(
    built, tmp_path, monkeypatch
):
    # An incremental night's run results hold no raw-source test; the nightly job kept the last
    # full build's results beside the warehouse, and the page shows the ones that warned.
    db = tmp_path / "governance.duckdb"
    shutil.copy(built["db"], db)
    payload = json.loads(Path(built["results"]).read_text())
    payload["results"] = [r for r in payload["results"] if ".source_" not in r["unique_id"]]
    target = tmp_path / "target"
    target.mkdir()
    (target / "run_results.json").write_text(json.dumps(payload))
    stored = {
        "night": "2026-06-29",
        "tests": [
            {
                "name": "source_unique_marketplace_orders_order_id",
                "status": "warn",
                "failures": 12,
                "message": "Got 12 results, configured to warn if != 0",
            },
            {
                "name": "source_not_null_marketplace_orders_order_id",
                "status": "pass",
                "failures": 0,
                "message": "",
            },
        ],
    }
    (tmp_path / "governance.source_tests.json").write_text(json.dumps(stored))
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(db))
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    at = _page("data_quality")
    assert any(
        "left the 2 raw-source tests to full builds" in c.value and "night 2026-06-29" in c.value
        for c in at.caption
    )
    assert any("1 raw-source test(s) did not pass" in w.value for w in at.warning)
    flagged = next(
        df.value
        for df in at.dataframe
        if "failures" in df.value.columns
        and "source_unique_marketplace_orders_order_id" in set(df.value["name"])
    )
    assert flagged["name"].tolist() == ["source_unique_marketplace_orders_order_id"]
    assert flagged["failures"].tolist() == [12]


def test_the_page_says_which_staged_changes_the_facts_have_not_taken_in(
    built, tmp_path, monkeypatch
):
    db = tmp_path / "governance.duckdb"
    shutil.copy(built["db"], db)
    changes = [
        {"table": "orders", "records": 3, "earliest_day": "2026-02-03", "night": "2026-06-28"},
        {"table": "appeals", "records": 1, "earliest_day": "2026-01-20", "night": "2026-06-29"},
    ]
    report = {"night": "2026-06-29", "unprocessed_changes": changes}
    (tmp_path / "governance.nightly.json").write_text(json.dumps(report))
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(db))
    at = _page("data_quality")
    assert any(
        "4 staged record(s) changed on days the incremental facts did not re-process" in w.value
        and "`governance backfill --from 2026-01-20`" in w.value
        for w in at.warning
    )
    shown = next(df.value for df in at.dataframe if "earliest_day" in df.value.columns)
    assert shown.to_dict("records") == changes
    # A night that left none: nothing said.
    (tmp_path / "governance.nightly.json").write_text(json.dumps({"unprocessed_changes": []}))
    at = _page("data_quality")
    assert not any("did not re-process" in w.value for w in at.warning)


def test_entry_app_renders_overview_with_warehouse_facts(published):
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "North-star metrics"
    as_of = _query(published, "select max(as_of_date) as d from intermediate.int_as_of_date")
    assert f"{as_of['d'].iloc[0]:%Y-%m-%d}" in at.sidebar.caption[0].value


def test_pages_explain_a_missing_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(tmp_path / "absent.duckdb"))
    at = _page("overview")
    assert "No published warehouse" in at.error[0].value
    assert "make demo" in at.error[0].value


def test_screenshot_of_running_app(built, tmp_path):
    chromium = screenshot.find_chromium()
    if chromium is None or not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium missing: apt-get install -y chromium")
    from PIL import Image

    out = tmp_path / "dashboard.png"
    with screenshot.serve(built["db"]) as url:
        screenshot.capture(url, out, chromium=chromium)
    assert out.stat().st_size > 30_000
    image = Image.open(out).convert("RGB")
    assert image.size[0] >= 1000
    colours = image.getcolors(maxcolors=1 << 20)
    assert len(colours) > 100  # not a blank or single-colour page
    assert max(n for n, _ in colours) < 0.95 * image.size[0] * image.size[1]
    line_blue = sum(n for n, c in colours if c == (0x25, 0x63, 0xEB))
    assert line_blue > 200  # the metric lines were drawn
    if os.environ.get("DASHBOARD_SCREENSHOT"):  # keep it, e.g. as a CI artefact
        destination = Path(os.environ["DASHBOARD_SCREENSHOT"])
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, destination)
