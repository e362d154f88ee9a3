"""Dashboard pages rendered with Streamlit's AppTest against the tiny warehouse: no exceptions,
the right messages, charts whose layers and data match the warehouse tables, filters read from
and written to the URL, and human labels on every table. The pages as a person sees them, in
headless Chromium, are in test_dashboard_browser.py."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from governance import build_results, metric_registry
from governance.dashboard import charts, data, screenshot
from governance.dashboard.views.seller import reasons_in_words
from governance.quality import ExpectationOutcome, ValidationResult, write_validation_state

APP = Path(screenshot.APP)
Z = 1.959964
PAGES = ("overview", "alerts", "strategies", "syndicates", "seller", "data_quality")


def _query(db: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).df()


def _wilson(successes: float, trials: float, side: str) -> float:
    """The Wilson score bound, written out here independently of the SQL macro."""
    p = successes / trials
    centre = p + Z * Z / (2 * trials)
    spread = Z * math.sqrt(p * (1 - p) / trials + Z * Z / (4 * trials * trials))
    bound = (centre - spread if side == "lower" else centre + spread) / (1 + Z * Z / trials)
    return min(max(bound, 0.0), 1.0)


@pytest.fixture
def published(built, monkeypatch):
    """Point the dashboard at the tiny warehouse."""
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(built["published"]))
    return built["published"]


OPTIONAL_MARTS = (
    "metric_rates",
    "alerts",
    "metric_movement_attribution",
    "strategy_performance",
    "syndicates",
    "seller_case_events",
    "data_quality_daily",
    "data_quality_reconciliation",
)


@pytest.fixture(scope="module")
def augmented_db(built, tmp_path_factory) -> Path:
    """A copy of the tiny warehouse with quarantined rows and a stored validation result of its
    build."""
    db = tmp_path_factory.mktemp("dashboard_augmented") / "governance.duckdb"
    shutil.copy(built["published"], db)
    with duckdb.connect(str(db)) as con:
        con.execute(
            """
            insert into monitoring.data_quality_daily (
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
    result.build_id = build_results.build_id(db)
    write_validation_state(db.with_name("governance.validation.json"), {}, result)
    return db


@pytest.fixture(scope="module")
def bare_db(built, tmp_path_factory) -> Path:
    """A copy of the tiny warehouse without the optional marts, as after a partial build."""
    db = tmp_path_factory.mktemp("dashboard_bare") / "governance.duckdb"
    shutil.copy(built["published"], db)
    with duckdb.connect(str(db)) as con:
        con.execute("drop view if exists metrics.metric_rates")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where table_name in (select unnest(?))",
            [list(OPTIONAL_MARTS[1:])],
        ).fetchall()
        for schema, table in tables:
            con.execute(f'drop table "{schema}"."{table}"')
    return db


def _page(name: str, params: dict | None = None) -> AppTest:
    at = AppTest.from_string(
        f"from governance.dashboard.views import {name}\n{name}.render()\n", default_timeout=90
    )
    for key, value in (params or {}).items():
        at.query_params[key] = value
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
    charts_ = []
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        datasets = {
            d.name: pa.ipc.open_stream(d.data.data).read_pandas() for d in element.proto.datasets
        }
        layers = []
        for layer in spec.get("layer", []):
            mark = layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
            layers.append((mark, _data_of(layer, datasets), layer))
        charts_.append({"spec": spec, "layers": layers, "data": _data_of(spec, datasets)})
    return charts_


def _day(values) -> list[str]:
    return [f"{pd.Timestamp(v):%Y-%m-%d}" for v in values]


def _trend(at: AppTest, metric: str) -> dict:
    return next(c for c in _charts(at) if c["spec"]["usermeta"]["metric_name"] == metric)


# --- overview ----------------------------------------------------------------------------------
WEEKLY = """
    with days as (
        select metric_name, metric_date, numerator, denominator,
               cast(date_trunc('week', metric_date) as date) as week
        from metrics.metrics_daily
        where region = ? and category = ?
    ),
    bounds as (
        select metric_name, min(metric_date) as first_day from metrics.metrics_daily
        where is_complete  -- the first day the data covers: earlier cohorts are not final
        group by metric_name
    )
    select d.metric_name, d.week, sum(d.numerator) as numerator,
           sum(d.denominator) as denominator
    from days as d
    inner join bounds as b using (metric_name)
    inner join reference.metric_definitions as m using (metric_name)
    cross join (select max(metric_date) as as_of from metrics.metrics_daily)
    group by d.metric_name, d.week, b.first_day, m.maturity_days, as_of
    having d.week >= b.first_day and d.week + 6 <= as_of
       and d.week + 6 + m.maturity_days <= as_of
    order by d.metric_name, d.week
"""


def _effective_counts(db: Path, metric: str, weeks: pd.DataFrame) -> tuple[list, list]:
    """The weeks' counts the Wilson interval reads: the counts themselves, or for a ratio of
    sums the Kish effective counts from the amounts of its units, the records of one cluster
    (listing) on one day and segment (written out here)."""
    numerators, denominators = weeks["numerator"].tolist(), weeks["denominator"].tolist()
    fact = data.metric_fact(metric)
    if fact.amount_column is None:
        return numerators, denominators
    relation = data.fact_relation(data.open_published(db), fact)
    cluster = metric_registry.load().metric(metric).cluster_column
    squares = _query(
        db,
        f"""
        with units as (
            select {fact.day_column} as day, sum({fact.amount_column}) as amount
            from {relation}
            group by {fact.day_column}, region, category, {cluster}
        )
        select cast(date_trunc('week', day) as date) as week,
               sum(cast(amount as double) * amount) as sum_squares
        from units group by 1
        """,
    )
    by_week = dict(zip(_day(squares["week"]), squares["sum_squares"], strict=True))
    sums = [by_week[week] for week in _day(weeks["week"])]
    return (
        [n * d / q for n, d, q in zip(numerators, denominators, sums, strict=True)],
        [d * d / q for d, q in zip(denominators, sums, strict=True)],
    )


def test_overview_weekly_trends_are_ratios_of_summed_counts_with_band_target_and_marks(published):
    at = _page("overview")  # weekly by default
    definitions = _query(published, "select * from reference.metric_definitions")
    weekly = _query(published, WEEKLY, ["ALL", "ALL"])
    changes = _query(
        published,
        "select distinct metric_name, change_id, change_date "
        "from monitoring.metric_movement_interventions",
    )
    flags = _query(
        published,
        "select metric_name, cast(date_trunc('week', metric_date) as date) as week "
        "from detection.metric_anomalies where is_anomaly and region = 'ALL' and category = 'ALL'",
    )
    charts_ = _charts(at)
    assert sorted(c["spec"]["usermeta"]["metric_name"] for c in charts_) == sorted(
        definitions["metric_name"]
    )
    for chart in charts_:
        metric = chart["spec"]["usermeta"]["metric_name"]
        marks = [mark for mark, _, _ in chart["layers"]]
        assert marks == ["area", "rule", "rule", "line", "point"], metric
        (_, band, band_spec), (_, target, _), (_, rules, _), (_, line, _), (_, points, _) = chart[
            "layers"
        ]
        assert band_spec["encoding"]["y"]["field"] == "ci_lower"
        assert band_spec["encoding"]["y2"]["field"] == "ci_upper"
        expected = weekly[weekly["metric_name"] == metric]
        assert len(expected) >= 3, metric
        # A week's rate is the ratio of its summed counts, with the Wilson interval of the sums.
        assert _day(line["period_date"]) == _day(expected["week"]), metric
        assert line["numerator"].tolist() == expected["numerator"].tolist()
        assert line["denominator"].tolist() == expected["denominator"].tolist()
        ratio = expected["numerator"] / expected["denominator"]
        assert line["value"].tolist() == pytest.approx(ratio.tolist(), abs=1e-12)
        trials = _effective_counts(published, metric, expected)
        lower = [_wilson(n, d, "lower") for n, d in zip(*trials, strict=True)]
        assert band["ci_lower"].tolist() == pytest.approx(lower, abs=1e-9)
        goal = definitions.loc[definitions["metric_name"] == metric, "target_value"].iloc[0]
        assert target["target_value"].tolist() == [pytest.approx(goal)]
        # The strategy changes that could explain the metric's moves, each at its day.
        assert sorted(_day(rules["change_date"])) == sorted(
            _day(changes.loc[changes["metric_name"] == metric, "change_date"])
        )
        # One marker per shown week holding a flagged day, at the week's rate.
        weeks = set(_day(expected["week"]))
        flagged = set(_day(flags.loc[flags["metric_name"] == metric, "week"])) & weeks
        assert sorted(_day(points["period_date"])) == sorted(flagged), metric
    assert sum(len(c["layers"][2][1]) for c in charts_) >= 1  # the tiny tier has changes
    legend = next(m.value for m in at.markdown if "governance-legend" in m.value)
    for item in ("95% interval", "target", "anomaly, up", "anomaly, down", "strategy change"):
        assert item in legend


def _status(value: float, lower: float, upper: float, target: float) -> str:
    """Status against a `down` target, written out here independently of the SQL macro."""
    if value <= target:
        return "on_target"
    return "off_target" if lower > target else "near_target"


def test_overview_tiles_compare_like_weeks_colour_real_changes_and_list_off_target(published):
    at = _page("overview")
    rates = _query(
        published,
        """
        select metric_name, metric_label, period_start, value, ci_lower, ci_upper, target_value
        from metrics.metric_rates
        where period_grain = 'week' and region = 'ALL' and category = 'ALL'
          and is_complete and is_mature and value is not null
        order by metric_name, period_start
        """,
    )
    tiles = {m.label: m for m in at.metric}
    statuses = {}
    for metric, rows in rates.groupby("metric_name"):
        latest = rows.iloc[-1]
        tile = tiles[latest["metric_label"]]
        assert tile.value == f"{latest['value']:.2%}"
        previous = rows[rows["period_start"] == latest["period_start"] - pd.Timedelta(days=7)]
        assert len(previous) == 1, metric
        previous = previous.iloc[0]
        change = (latest["value"] - previous["value"]) * 100
        assert tile.delta == f"{change:+.2f} pp"
        real = (
            latest["ci_lower"] > previous["ci_upper"] or latest["ci_upper"] < previous["ci_lower"]
        )
        colour = tile.proto.color  # GRAY unless the two intervals are apart
        assert (colour != type(tile.proto).MetricColor.GRAY) == bool(real and change), metric
        statuses[latest["metric_label"]] = _status(
            latest["value"], latest["ci_lower"], latest["ci_upper"], latest["target_value"]
        )
    # Every tile carries its status against target...
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    words = {"on_target": "On target", "near_target": "Near target", "off_target": "Off target"}
    shown = sorted(next(w for w in words.values() if w in badge) for badge in badges)
    assert shown == sorted(words[s] for s in statuses.values())
    # ...and the metrics off target are listed.
    off = sorted(label for label, s in statuses.items() if s == "off_target")
    warnings = [w.value for w in at.warning if "Metrics off target" in w.value]
    if off:
        (listed,) = warnings
        assert sorted(line.split("**")[1] for line in listed.splitlines()[1:]) == off
    else:
        assert warnings == []


def test_overview_filters_come_from_and_go_to_the_url(published):
    at = _page(
        "overview",
        {"grain": "day", "region": "SG", "category": "fashion", "final": "0", "from": "2026-05-01"},
    )
    assert at.selectbox(key="overview_region").value == "SG"
    assert at.selectbox(key="overview_category").value == "fashion"
    assert at.segmented_control(key="overview_grain").value == "day"
    assert at.toggle(key="overview_final_only").value is False
    chart = _trend(at, "listing_violation_rate")
    line, line_spec = chart["layers"][3][1], chart["layers"][3][2]
    expected = _query(
        published,
        """
        select metric_date, value, is_mature from metrics.metrics_daily
        where metric_name = 'listing_violation_rate' and region = 'SG' and category = 'fashion'
          and metric_date >= date '2026-05-01'
        order by metric_date
        """,
    )
    assert _day(line["period_date"]) == _day(expected["metric_date"])
    assert line["value"].tolist() == pytest.approx(expected["value"].tolist(), nan_ok=True)
    assert not expected["is_mature"].all()  # immature days are included ...
    assert line_spec["encoding"]["strokeDash"]["field"] == "is_final"  # ... and dashed
    # A change of grain goes into the URL; the other filters stay there.
    at.segmented_control(key="overview_grain").set_value("rolling_7_days")
    _rerun(at)
    assert at.query_params["grain"] == "rolling_7_days"
    assert (at.query_params["region"], at.query_params["from"]) == ("SG", "2026-05-01")
    line = _trend(at, "listing_violation_rate")["layers"][3][1]
    window = _query(
        published,
        """
        select sum(numerator) as n, sum(denominator) as d from metrics.metrics_daily
        where metric_name = 'listing_violation_rate' and region = 'SG' and category = 'fashion'
          and metric_date between date '2026-05-24' and date '2026-05-30'
        """,
    ).iloc[0]
    last = line[[d == "2026-05-30" for d in _day(line["period_date"])]].iloc[0]
    assert (last["numerator"], last["denominator"]) == (window["n"], window["d"])


def test_pages_say_which_marts_are_not_built_yet(bare_db, monkeypatch):
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(bare_db))
    expected = {
        "overview": "metrics.metric_rates",
        "alerts": "monitoring.alerts",
        "strategies": "strategy.strategy_performance",
        "syndicates": "detection.syndicates",
        "data_quality": "monitoring.data_quality_daily",
    }
    for page, relation in expected.items():
        at = _page(page)
        assert any("Not built yet" in i.value and relation in i.value for i in at.info), page
    # Without alerts, the alerts page still lists the raw anomaly flags.
    at = _page("alerts")
    flags = _query(bare_db, "select count(*) as n from detection.metric_anomalies where is_anomaly")
    assert len(at.dataframe[0].value) == min(200, flags["n"].iloc[0])
    # Without the case timeline the seller page still shows the seller.
    seller = _query(bare_db, "select seller_id from detection.seller_features limit 1")[
        "seller_id"
    ][0]
    at = _page("seller", {"seller_id": seller})
    assert any("Not built yet" in i.value and "seller_case_events" in i.value for i in at.info)


# --- alerts -------------------------------------------------------------------------------------
def test_alerts_page_lists_incidents_breaks_down_the_move_and_names_the_sellers(published):
    alerts = _query(
        published,
        "select * from monitoring.alerts "
        "order by is_open desc, first_day desc, severity_rank desc, incident_id",
    )
    assert len(alerts) >= 1
    alert = alerts.iloc[-1]
    at = _page("alerts", {"incident_id": alert["incident_id"]})  # a deep link to an incident
    assert list(at.dataframe[0].value["incident_id"]) == list(alerts["incident_id"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Incidents"] == str(len(alerts))
    assert metrics["Open"] == str(int(alerts["is_open"].sum()))
    assert at.selectbox(key="alerts_incident").value == alert["incident_id"]
    assert at.info[0].value == alert["summary"]

    (chart,) = _charts(at)
    attribution = _query(
        published,
        """
        select region, category, contribution
        from monitoring.metric_movement_attribution
        where metric_name = ? and metric_date = ? and comparison = 'week_over_week'
        """,
        [alert["metric_name"], alert["peak_date"].date()],
    )
    for column, code in (
        ("region", alert["anchor_region"]),
        ("category", alert["anchor_category"]),
    ):
        if code != "ALL":
            attribution = attribution[attribution[column] == code]
    top = attribution.reindex(attribution["contribution"].abs().nlargest(12).index)
    names = _query(
        published,
        "select region_code as code, region_name as name from reference.regions union all "
        "select category_code, category_name from reference.categories",
    )
    name = dict(zip(names["code"], names["name"], strict=True))
    # Segments by name, contributions in percentage points.
    assert sorted(chart["data"]["segment"]) == sorted(
        f"{name[r]} · {name[c]}" for r, c in zip(top["region"], top["category"], strict=True)
    )
    assert chart["spec"]["encoding"]["x"]["field"] == "contribution_pp"
    assert sorted(chart["data"]["contribution_pp"]) == pytest.approx(
        sorted(top["contribution"] * 100)
    )

    fact = data.metric_fact(alert["metric_name"])
    relation = data.fact_relation(data.open_published(published), fact)
    where = [f"{fact.day_column} between ? and ?"]
    for column, code in (
        ("region", alert["anchor_region"]),
        ("category", alert["anchor_category"]),
    ):
        if code != "ALL":
            where.append(f"{column} = '{code}'")
    # Most counted records first; ties go to the seller with more records in the cohort.
    behind = _query(
        published,
        f"select seller_id, sum({fact.counted(True)}) as n, sum({fact.counted(False)}) as n_cohort "
        f"from {relation} where {' and '.join(where)} and seller_id is not null group by 1 "
        "having n > 0 order by n desc, n_cohort desc, seller_id limit 15",
        [alert["first_day"].date(), alert["last_day"].date()],
    )
    sellers = next(df.value for df in at.dataframe if "n_records" in df.value.columns)
    assert list(sellers["seller_id"]) == list(behind["seller_id"])
    assert list(sellers["n_records"]) == list(behind["n"])
    assert all(
        link == f"seller?seller_id={s}" for s, link in sellers[["seller_id", "seller_link"]].values
    )

    at.segmented_control(key="alerts_comparison").set_value("day_over_day")
    _rerun(at)
    (chart,) = _charts(at)
    assert set(chart["data"]["comparison"]) == {"day_over_day"}
    assert at.query_params["comparison"] == "day_over_day"


def test_each_metric_fact_counts_the_numerators_of_metrics_daily(published):
    # The alerts page finds the sellers behind an incident in each metric's record-grain fact
    # (its cohort's model in the metric registry): the fact, its day, its flag and its amount
    # must give metrics_daily's numerators and denominators.
    wh = data.open_published(published)
    names = metric_registry.load().names
    assert len(names) == 7
    for metric in names:
        fact = data.metric_fact(metric)
        relation = data.fact_relation(wh, fact)
        assert relation is not None, metric
        counted = _query(
            published,
            f"""
            select f.{fact.day_column} as metric_date,
                   sum({fact.counted(True)}) as numerator, sum({fact.counted(False)}) as denominator
            from {relation} as f group by 1
            """,
        )
        published_counts = _query(
            published,
            "select metric_date, numerator, denominator from metrics.metrics_daily "
            "where metric_name = ? and region = 'ALL' and category = 'ALL' and denominator > 0",
            [metric],
        )
        merged = published_counts.merge(counted, on="metric_date", suffixes=("", "_fact"))
        assert len(merged) == len(published_counts) > 10, metric
        assert (merged["numerator"] == merged["numerator_fact"]).all(), metric
        assert (merged["denominator"] == merged["denominator_fact"]).all(), metric


# --- strategies --------------------------------------------------------------------------------
def _label_boxes(frame: pd.DataFrame) -> list[tuple[float, float, float, float]]:
    """The labels' boxes in pixels as drawn: anchored at (label_x, label_y), left- or right-
    aligned, each character at most LABEL_CHAR_PX wide."""
    boxes = []
    for row in frame.itertuples():
        width = len(row.strategy_name) * charts.LABEL_CHAR_PX
        x = row.label_x * charts.SCATTER_WIDTH
        y = (1 - row.label_y) * charts.SCATTER_HEIGHT
        left = x - width if row.label_align == "right" else x
        boxes.append((left, y - 5.5, left + width, y + 5.5))
    return boxes


def test_strategy_page_plots_precision_against_recall_with_labels_apart(published):
    at = _page("strategies")
    (chart,) = _charts(at)
    marks = [mark for mark, _, _ in chart["layers"]]
    assert marks == ["rule", "rule", "rule", "point", "text", "text"]
    expected = _query(
        published,
        """
        select strategy_id, strategy_status, is_shadow_mode, qa_precision, estimated_recall
        from strategy.strategy_performance
        where window_days = (select max(window_days) from strategy.strategy_performance)
          and qa_precision is not null and estimated_recall is not null
        order by strategy_id
        """,
    )
    plotted = chart["data"].sort_values("strategy_id")
    assert list(plotted["strategy_id"]) == list(expected["strategy_id"])
    assert plotted["qa_precision"].tolist() == pytest.approx(expected["qa_precision"].tolist())
    modes = {"live": "enforcing", "shadow": "shadow mode", "retired": "retired"}
    assert [modes[s] for s in expected["strategy_status"]] == plotted["mode"].tolist()
    points = chart["layers"][3][2]
    assert points["encoding"]["shape"]["field"] == "mode"
    assert points["encoding"]["x"]["field"] == "estimated_recall"
    # No two labels overlap.
    boxes = _label_boxes(plotted)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1])

    at.segmented_control(key="strategies_window").set_value(7)
    _rerun(at)
    assert at.query_params["window"] == "7"
    counts = _query(
        published, "select count(*) as n from strategy.strategy_performance where window_days = 7"
    )
    scorecard = next(df.value for df in at.dataframe if "window_days" in df.value.columns)
    assert len(scorecard) == counts["n"].iloc[0]
    assert set(scorecard["window_days"]) == {7}


def test_retired_strategies_are_drawn_as_retired_and_crowded_labels_kept_apart():
    # A retired strategy that never enforced is retired, not shadow mode.
    frame = pd.DataFrame(
        {
            "strategy_id": [f"ST{i}" for i in range(8)],
            "strategy_name": [f"strategy_number_{i}" for i in range(8)],
            "strategy_status": ["live", "shadow", "retired", "retired"] + ["live"] * 4,
            "is_shadow_mode": [False, True, True, False] + [False] * 4,
            "qa_precision": [0.80, 0.81, 0.79, 0.80, 0.80, 0.82, 0.78, 0.81],
            "estimated_recall": [0.50, 0.51, 0.49, 0.52, 0.50, 0.48, 0.51, 0.53],
            "qa_precision_ci_lower": 0.6,
            "qa_precision_ci_upper": 0.9,
            "recall_ci_lower": 0.3,
            "recall_ci_upper": 0.7,
            "hits_per_day": [1.0, 5.0, 2.0, 3.0, 9.0, 1.0, 1.0, 2.0],
            "policy_code": "x",
            "n_flagged_checks": 10,
            "n_recall_checks": 10,
        }
    )
    spec = charts.strategy_precision_recall(frame).to_dict()
    (_, _, _, points, left, right) = spec["layer"]
    shapes = points["encoding"]["shape"]["scale"]
    assert dict(zip(shapes["domain"], shapes["range"], strict=True)) == {
        "enforcing": "circle",
        "shadow mode": "diamond",
        "retired": "cross",
    }
    laid = charts.label_layout(
        frame.assign(r=8.0), "estimated_recall", "qa_precision", "strategy_name", radius="r"
    )
    modes = [
        charts.strategy_mode(s, m) for s, m in frame[["strategy_status", "is_shadow_mode"]].values
    ]
    assert modes[:4] == ["enforcing", "shadow mode", "retired", "retired"]
    boxes = laid["label_box"].tolist()
    for i, a in enumerate(boxes):  # eight labels on one spot, none over another
        for b in boxes[i + 1 :]:
            assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1])


def test_strategy_page_lists_a_strategys_most_hit_sellers_from_the_url(published):
    top = _query(
        published,
        "select strategy_id, count(*) as n from detection.seller_case_events "
        "where event_type = 'strategy_hit' group by 1 order by n desc limit 1",
    )["strategy_id"][0]
    at = _page("strategies", {"strategy_id": top})
    assert at.selectbox(key="strategies_strategy").value == top
    expected = _query(
        published,
        "select seller_id, count(*) as n from detection.seller_case_events "
        "where event_type = 'strategy_hit' and strategy_id = ? "
        "group by 1 order by n desc, max(event_at) desc, seller_id limit 25",
        [top],
    )
    sellers = next(df.value for df in at.dataframe if "last_hit_at" in df.value.columns)
    assert list(sellers["seller_id"]) == list(expected["seller_id"])
    assert list(sellers["n_hits"]) == list(expected["n"])


# --- syndicates and the seller case ------------------------------------------------------------
def test_syndicates_page_ranks_rings_and_opens_a_syndicates_members(published):
    expected = _query(
        published, "select * from detection.syndicates order by risk_score desc, size desc"
    )
    chosen = expected["syndicate_id"].iloc[-1]
    at = _page("syndicates", {"syndicate_id": chosen})
    (chart,) = _charts(at)
    assert list(chart["data"]["syndicate_id"]) == list(expected["syndicate_id"].head(15))
    queue = at.dataframe[0].value
    unenforced = expected[expected["n_unenforced_members"] > 0].head(15)
    assert list(queue["unenforced_member_ids"]) == list(unenforced["unenforced_member_ids"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Not yet enforced"] == f"{int(expected['n_unenforced_members'].sum()):,}"
    assert at.selectbox(key="syndicates_detail").value == chosen
    members = next(df.value for df in at.dataframe if "membership_strength" in df.value.columns)
    stored = _query(
        published,
        "select seller_id from detection.seller_syndicates where syndicate_id = ?",
        [chosen],
    )
    assert sorted(members["seller_id"]) == sorted(stored["seller_id"])
    assert set(members["seller_link"]) == {f"seller?seller_id={s}" for s in stored["seller_id"]}


def test_seller_case_page_shows_risk_reasons_ring_and_timeline(published):
    seller = _query(
        published,
        """
        select m.seller_id
        from detection.seller_syndicates as m
        inner join detection.seller_risk_scores as r using (seller_id)
        inner join detection.seller_case_events as e using (seller_id)
        where m.syndicate_id is not null and r.top_features is not null
        group by m.seller_id, r.risk_score
        order by count(*) desc, m.seller_id
        limit 1
        """,
    )["seller_id"][0]
    profile = _query(
        published,
        "select * from detection.seller_risk_scores "
        "join detection.seller_syndicates using (seller_id) where seller_id = ?",
        [seller],
    ).iloc[0]
    at = _page("seller", {"seller_id": seller})
    assert at.text_input(key="seller_id").value == seller
    assert any(
        m.label == "Risk score" and m.value == f"{profile['risk_score']:.3f}" for m in at.metric
    )
    reasons = next(m.value for m in at.markdown if m.value.startswith("1. "))
    assert len(reasons.splitlines()) == len(profile["top_features"].split(";"))
    assert "raises the score" in reasons or "lowers the score" in reasons
    members = next(df.value for df in at.dataframe if "membership_strength" in df.value.columns)
    size = _query(
        published,
        "select count(*) as n from detection.seller_syndicates where syndicate_id = ?",
        [profile["syndicate_id"]],
    )["n"][0]
    assert len(members) == size - 1 and seller not in set(members["seller_id"])
    events = _query(
        published,
        "select event_type, count(*) as n from detection.seller_case_events where seller_id = ? "
        "group by 1",
        [seller],
    )
    listings = _query(
        published,
        "select count(*) as n from semantic.fct_listing_outcomes where seller_id = ?",
        [seller],
    )["n"][0]
    timeline = next(df.value for df in at.dataframe if "event_label" in df.value.columns)
    assert len(timeline) == events["n"].sum() + listings
    assert timeline["event_at"].is_monotonic_decreasing
    assert at.query_params["seller_id"] == seller


def test_the_case_page_shows_the_hashed_identifiers_that_bind_a_ring_where_published(
    built, tmp_path, monkeypatch
):
    # The syndicate tables as built publish the ring's shape and its binding identifiers.
    with duckdb.connect(str(built["published"]), read_only=True) as con:
        seller, shape, identifiers = con.execute(
            "select m.seller_id, s.shape, s.binding_identifiers "
            "from detection.seller_syndicates as m "
            "inner join detection.syndicates as s on m.syndicate_id = s.syndicate_id "
            "order by m.seller_id limit 1"
        ).fetchone()
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(built["published"]))
    at = _page("seller", {"seller_id": seller})
    shown = next(m.value for m in at.markdown if "Identifiers that bind it" in m.value)
    assert f"`{identifiers.split('; ')[0]}`" in shown
    assert f"Shape: **{shape}**" in shown
    # Tables that do not publish them: the counts of shared values per signal type.
    db = tmp_path / "governance.duckdb"
    shutil.copy(built["published"], db)
    with duckdb.connect(str(db)) as con:
        con.execute("alter table detection.syndicates drop column shape")
        con.execute("alter table detection.syndicates drop column binding_identifiers")
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(db))
    at = _page("seller", {"seller_id": seller})
    assert any("Shared identity values per signal type" in m.value for m in at.markdown)
    assert not any("Identifiers that bind it" in m.value for m in at.markdown)


def test_an_unknown_seller_is_said_so(published):
    at = _page("seller", {"seller_id": "S-NOBODY"})
    assert any("No seller `S-NOBODY`" in w.value for w in at.warning)


def test_risk_reasons_read_as_sentences_from_the_feature_documentation():
    meanings = {"n_strategy_hits": "Strategy hits on the seller or its listings."}
    assert reasons_in_words(
        "n_strategy_hits=28 (+0.359); region_SG=1 (-0.012); tenure_days=3 (+0.000)", meanings
    ) == [
        "Strategy hits on the seller or its listings: 28 — raises the score by 0.359",
        "region is SG — lowers the score by 0.012",
        "tenure days: 3 — does not move the score by 0.000",
    ]
    assert reasons_in_words(None, meanings) == []


# --- data quality ------------------------------------------------------------------------------
def test_data_quality_page_shows_the_tests_of_the_build_that_published_the_warehouse(
    published, built
):
    at = _page("data_quality")
    results = json.loads(Path(built["results"]).read_text())
    n_tests = sum(r["unique_id"].startswith("test.") for r in results["results"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Data tests"] == str(n_tests)
    assert metrics["Failing"] == "0"
    assert any(results["metadata"]["invocation_id"] in c.value for c in at.caption)
    raw_tables = _query(
        published, "select count(*) as n from monitoring.data_quality_reconciliation"
    )
    assert any(
        f"Every raw row of the {raw_tables['n'].iloc[0]} raw tables" in s.value for s in at.success
    )
    # No `governance validate` of this build is recorded beside it.
    assert any("did not validate it" in i.value for i in at.info)

    counts = next(df.value for df in at.dataframe if "row_count" in df.value.columns)
    listings = _query(published, "select count(*) as n from semantic.fct_listing_outcomes")[
        "n"
    ].iloc[0]
    row = counts[counts["table_name"] == "fct_listing_outcomes"]
    assert row["row_count"].tolist() == [listings]
    assert {"metrics", "monitoring", "detection"} <= set(counts["schema_name"])


def test_data_quality_page_shows_quarantine_and_this_builds_validation(augmented_db, monkeypatch):
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(augmented_db))
    at = _page("data_quality")
    assert any("expect_table_row_count_to_be_between" in w.value for w in at.warning)
    assert any("`governance validate` of this build" in c.value for c in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Quarantined rows"] == "8"
    assert metrics["Superseded rows"] == "2"
    quarantine = _charts(at)[-1]
    assert quarantine["data"]["row_count"].sum() == 10
    assert quarantine["spec"]["encoding"]["color"]["field"] == "table_name"
    # Every query closed its read-only connection: a writer can open the file now.
    duckdb.connect(str(augmented_db)).close()


def test_a_validation_of_another_build_is_not_shown_as_this_ones(
    augmented_db, tmp_path, monkeypatch
):
    db = tmp_path / "governance.duckdb"
    shutil.copy(augmented_db, db)
    state = json.loads(augmented_db.with_name("governance.validation.json").read_text())
    state["last_run"]["build_id"] = "another-build"
    db.with_name("governance.validation.json").write_text(json.dumps(state))
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(db))
    at = _page("data_quality")
    assert any("did not validate it" in i.value for i in at.info)
    assert not any("expect_table_row_count" in w.value for w in at.warning)


def test_an_incremental_builds_page_shows_the_last_full_builds_source_tests(
    built, tmp_path, monkeypatch
):
    # An incremental night runs no raw-source test: the results table carries the last full
    # build's over, and the page shows the ones that did not pass.
    db = tmp_path / "governance.duckdb"
    shutil.copy(built["published"], db)
    with duckdb.connect(str(db)) as con:
        con.execute(
            "update monitoring.build_results set status = 'warn', failures = 12 "
            "where name = 'source_unique_marketplace_orders_order_id'"
        )
    payload = json.loads(Path(built["results"]).read_text())
    payload["metadata"]["invocation_id"] = "incremental-night"
    payload["results"] = [r for r in payload["results"] if ".source_" not in r["unique_id"]]
    night = tmp_path / "run_results.json"
    night.write_text(json.dumps(payload))
    recorded = build_results.record(db, night)
    carried = recorded[recorded["is_carried_over"]]
    assert len(carried) > 10 and set(carried["build_id"]) != {"incremental-night"}
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(db))
    at = _page("data_quality")
    assert any(
        f"left the {len(carried)} raw-source tests to full builds" in c.value for c in at.caption
    )
    assert any("1 raw-source test(s) did not pass" in w.value for w in at.warning)
    flagged = next(
        df.value
        for df in at.dataframe
        if "failures" in df.value.columns
        and "source_unique_marketplace_orders_order_id" in set(df.value["name"])
        and len(df.value) == 1
    )
    assert flagged["failures"].tolist() == [12]


def test_the_page_says_which_staged_changes_the_facts_have_not_taken_in(
    built, tmp_path, monkeypatch
):
    db = tmp_path / "governance.duckdb"
    shutil.copy(built["published"], db)
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


# --- every page --------------------------------------------------------------------------------
def test_every_table_column_has_a_human_label(published):
    seller = _query(
        published,
        "select seller_id from detection.seller_syndicates where syndicate_id is not null limit 1",
    )["seller_id"][0]
    for page in PAGES:
        at = _page(page, {"seller_id": seller} if page == "seller" else None)
        assert at.dataframe, page
        for frame in at.dataframe:
            config = json.loads(frame.proto.columns or "{}")
            shown = list(frame.proto.column_order) or list(frame.value.columns)
            for column in shown:
                label = (config.get(column) or {}).get("label") or column
                assert "_" not in label, f"{page}: column {column} shown as {label!r}"


def test_entry_app_renders_overview_with_warehouse_facts(published, built):
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "North-star metrics"
    # The reporting date of the build (in its state; the published file has no internals).
    as_of = _query(built["db"], "select max(as_of_date) as d from intermediate.int_as_of_date")
    assert f"{as_of['d'].iloc[0]:%Y-%m-%d}" in at.sidebar.caption[0].value


def test_pages_explain_a_missing_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVERNANCE_DUCKDB_PATH", str(tmp_path / "absent.duckdb"))
    at = _page("overview")
    assert "No published warehouse" in at.error[0].value
    assert "make demo" in at.error[0].value
