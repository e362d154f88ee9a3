"""The benchmark harness: what it measures and what it writes (no timed assertions)."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from governance import bench, pandas_metrics
from governance.cli import build_parser
from governance.contract import check_raw_dir

ALLOCATE_AND_SLEEP = (
    "import time; block = bytearray({mb} * 2**20); block[::4096] = b'x' * len(block[::4096]); "
    "time.sleep({sleep}); raise SystemExit({code})"
)


def _child(mb: int, sleep: float = 0.3, code: int = 0) -> list[str]:
    return [sys.executable, "-c", ALLOCATE_AND_SLEEP.format(mb=mb, sleep=sleep, code=code)]


def test_measure_reports_wall_time_and_peak_rss_of_the_child():
    m = bench.measure(_child(mb=300, sleep=0.5))
    assert m.ok
    assert m.seconds >= 0.5
    assert 300 <= m.peak_rss_mb < 1000


def test_measure_counts_grandchildren_in_the_peak():
    # The 250 MB process is a grandchild: the harness must see the whole process tree.
    grandchild = " ".join(_child(mb=250)[2:])
    script = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    m = bench.measure([sys.executable, "-c", script])
    assert m.ok
    assert m.peak_rss_mb >= 250


FORK_AFTER_ALLOCATING = (
    "import os, time; block = bytearray(400 * 2**20); block[::4096] = b'x' * len(block[::4096]); "
    "pid = os.fork(); time.sleep(1.0); os._exit(0) if pid == 0 else os.waitpid(pid, 0)"
)


def test_measure_counts_pages_a_forked_child_shares_with_its_parent_once():
    # Parent and child each show 400 MB resident after the fork, but hold one copy between them.
    m = bench.measure([sys.executable, "-c", FORK_AFTER_ALLOCATING])
    assert m.ok
    assert 400 <= m.peak_rss_mb < 700


def test_measure_reports_a_failing_step_by_exit_code():
    m = bench.measure(_child(mb=1, sleep=0, code=3))
    assert m.returncode == 3
    assert not m.ok


def test_measure_stops_a_step_that_outgrows_the_memory_cap():
    m = bench.measure(_child(mb=600, sleep=5), max_rss_mb=200)
    assert not m.ok
    assert m.stopped_reason == "stopped: RSS of the process tree passed 200 MB"
    assert m.seconds < 5


def test_ratios_are_computed_from_the_measured_figures():
    figures = {"floor_s": 4.0, "full_build_s": 10.0, "incremental_s": 0.5, "raw_load_s": 5.0}
    figures |= {"pandas_metrics_daily_s": 9.0, "dbt_metrics_daily_s": 36.0}
    figures |= {"spark_metrics_daily_s": 180.0, "incremental_rerun_s": 2.0}
    assert bench.ratios(figures) == {
        "full_build_over_floor": 2.5,
        "full_build_over_raw_load": 2.0,
        "incremental_over_full_build": 0.05,
        "incremental_rerun_over_full_build": 0.2,
        "pandas_over_dbt_metrics_daily": 0.25,
        "spark_over_duckdb_metrics_daily": 5.0,
        "spark_over_duckdb_metrics_daily_models": None,
        "spark_over_duckdb_metric_anomalies": None,
        "spark_over_duckdb_syndicates": None,
        "spark_over_duckdb_risk_scores": None,
        "spark_over_duckdb_detection": None,
    }
    duck = dict.fromkeys(bench.DETECTION_MODELS, 2.0)
    figures |= {"duckdb_detection_models_s": duck, "spark_detection_models_s": {}}
    figures["spark_detection_models_s"] = {"metric_anomalies": 6.0, "seller_syndicates": 5.0}
    detection = bench.ratios(figures)
    assert detection["spark_over_duckdb_metric_anomalies"] == 3.0
    # A ratio needs every model it sums.
    assert detection["spark_over_duckdb_syndicates"] is None
    assert detection["spark_over_duckdb_detection"] is None
    figures["spark_detection_models_s"] |= {"syndicates": 3.0, "seller_risk_models": 1.0}
    figures["spark_detection_models_s"]["seller_risk_scores"] = 5.0
    detection = bench.ratios(figures)
    assert detection["spark_over_duckdb_syndicates"] == 2.0
    assert detection["spark_over_duckdb_risk_scores"] == 1.5
    assert detection["spark_over_duckdb_detection"] == 2.0
    figures["dbt_metrics_daily_nodes"] = {"seconds_by_node_kind": {"model": 20.0, "test": 9.0}}
    figures["spark_metrics_daily_nodes"] = {"seconds_by_node_kind": {"model": 150.0}}
    assert bench.ratios(figures)["spark_over_duckdb_metrics_daily_models"] == 7.5
    # A step not measured (skipped, stopped) or a zero denominator gives no ratio.
    assert set(
        bench.ratios({"floor_s": 0.0, "full_build_s": 10.0, "dbt_metrics_daily_s": 3.0}).values()
    ) == {None}


def test_targets_apply_per_tier_and_say_met_or_missed():
    large = {"tier": "large", "full_build_peak_rss_mb": 9000, "incremental_s": None}
    large |= {"incremental_peak_rss_mb": 6000, "dbt_metrics_daily_peak_rss_mb": 3000}
    # The pandas peer stopped past the 16 GB ceiling: its peak is past it.
    large["pandas_metrics_daily_peak_rss_mb"] = 16500
    large["ratios"] = {"full_build_over_raw_load": 3.9, "incremental_over_full_build": None}
    checks = {c["figure"]: c for c in bench.target_checks(large)}
    assert {name: c["met"] for name, c in checks.items()} == {
        "full_build_over_raw_load": True,
        "incremental_over_full_build": None,
        "full_build_peak_rss_mb": False,
        "incremental_peak_rss_mb": True,
        "dbt_metrics_daily_peak_rss_mb": True,
        "pandas_metrics_daily_peak_rss_mb": True,
    }
    assert checks["full_build_peak_rss_mb"] == {
        "figure": "full_build_peak_rss_mb",
        "target": "<= 8192",
        "measured": 9000,
        "met": False,
        "meaning": "full build peak RSS at most 8 GB",
    }
    medium = {"tier": "medium", "ratios": {"pandas_over_dbt_metrics_daily": 0.25}}
    assert [(c["figure"], c["met"]) for c in bench.target_checks(medium)] == [
        ("pandas_over_dbt_metrics_daily", False)
    ]
    assert bench.target_checks({"tier": "small", "ratios": {}}) == []
    report = bench.format_report(
        {**large, "ratios": large["ratios"], "targets": list(checks.values())}
    )
    assert "full_build_peak_rss_mb" in report and "MISSED" in report


def test_reused_data_keeps_the_generation_figures_of_the_run_that_generated_it():
    rows = {"orders": 100, "listings": 10}
    generated = {"seed": 42, "rows": rows, "generate_s": 224.5, "generate_peak_rss_mb": 5956}
    generated["started_at"] = "2026-11-29T23:55:54+00:00"
    carried = bench.generation_of_reused_data(generated, 42, rows)
    assert carried == {
        "generate_s": 224.5,
        "generate_peak_rss_mb": 5956,
        "generate_measured_at": "2026-11-29T23:55:54+00:00",
    }
    # A second reuse still points at the run that measured them.
    again = {**generated, **carried, "started_at": "2026-11-30T02:24:00+00:00"}
    assert bench.generation_of_reused_data(again, 42, rows) == carried
    # Other data (seed or row counts), or nothing measured before: nothing carried over.
    assert bench.generation_of_reused_data(generated, 7, rows) == {}
    assert bench.generation_of_reused_data(generated, 42, {**rows, "orders": 101}) == {}
    assert bench.generation_of_reused_data({**generated, "generate_s": None}, 42, rows) == {}
    assert bench.generation_of_reused_data(None, 42, rows) == {}
    table = bench.format_report({**generated, **carried, "generate_reused": True, "tier": "large"})
    assert "data generation (reused, as measured 2026-11-29)" in table and "224.5 s" in table


def test_the_nightly_breakdown_comes_from_the_nightly_report_and_its_run_results(tmp_path):
    db, target = tmp_path / "governance.duckdb", tmp_path / "target_incremental"
    assert bench.incremental_breakdown(db, target) == {}
    steps = {"raw_check": 0.4, "work_file": 14.2, "dbt_build": 414.2, "publish": 2.1}
    report = {"step_seconds": steps}
    (tmp_path / "governance.nightly.json").write_text(json.dumps(report))
    target.mkdir()
    (target / "run_results.json").write_text(
        json.dumps(
            {
                "elapsed_time": 414.2,
                "results": [
                    {"unique_id": "model.p.fct", "execution_time": 15.0, "status": "success"},
                    {"unique_id": "model.p.risk", "execution_time": 62.9, "status": "success"},
                    {"unique_id": "test.p.unique_fct", "execution_time": 14.0, "status": "pass"},
                ],
            }
        )
    )
    out = bench.incremental_breakdown(db, target)
    # In the order the steps ran, as the nightly report lists them.
    assert list(out["incremental_step_seconds"].items()) == list(steps.items())
    assert out["incremental_nodes"]["seconds_by_node_kind"] == {"model": 77.9, "test": 14.0}
    assert out["incremental_nodes"]["slowest_nodes"][0] == {
        "node": "model.p.risk",
        "seconds": 62.9,
        "status": "success",
    }
    rerun = {"incremental_rerun_step_seconds": {"work_file": 12.0, "dbt_build": 98.5}}
    table = bench.format_report({"tier": "large", **out, **rerun})
    assert (
        "nightly build, time by step: raw_check 0.4 s, work_file 14.2 s, dbt_build 414.2 s" in table
    )
    assert "slowest nodes of the nightly build:" in table
    assert "same night again, time by step: work_file 12.0 s, dbt_build 98.5 s" in table


def test_the_same_night_again_is_not_run_when_the_night_did_not_pass(tmp_path):
    run = SimpleNamespace(night_command=None, result={}, echo=print)
    bench.rerun_night_step(run)
    assert run.result == {"incremental_rerun_s": None, "incremental_rerun_peak_rss_mb": None}


def test_a_result_without_a_required_key_is_not_written(tmp_path):
    with pytest.raises(
        bench.BenchError,
        match="lacks required keys: pandas_metrics_daily_s, pandas_metrics_daily_peak_rss_mb$",
    ):
        bench.write_result(
            {k: 1 for k in bench.RESULT_KEYS if not k.startswith("pandas")} | {"tier": "x"},
            tmp_path,
        )
    assert not (tmp_path / "x.json").exists()


def test_floor_pass_reads_every_raw_table_and_counts_its_rows(built):
    rows = bench.floor_pass(built["raw"])
    expected = {
        table: sum(pq.read_metadata(f).num_rows for f in (built["raw"] / table).glob("*.parquet"))
        for table in bench.FLOOR_COLUMNS
    }
    assert rows == expected
    assert rows["orders"] > 1000


def test_raw_load_copies_every_raw_table_and_leaves_no_file(built, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(built["raw"], raw)
    assert bench.raw_load_pass(raw) == bench.floor_pass(raw)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_the_last_night_is_held_back_from_the_full_build_and_delivered_for_the_nightly(
    built, tmp_path
):
    raw, held = tmp_path / "raw", tmp_path / "held_night"
    shutil.copytree(built["raw"], raw)
    generated = bench.floor_pass(raw)
    night = bench._last_simulated_day(built["truth"])
    rows = bench.hold_back_last_night(raw, held, night)

    # The held night is every row whose event falls on the last simulated day; the rest stays,
    # in the generated files renamed as an initial load of the night before.
    with duckdb.connect() as con:
        on_night = con.execute(
            f"select count(*) from read_parquet('{built['raw']}/orders/*.parquet') "
            f"where cast(ordered_at as date) = date '{night}'"
        ).fetchone()[0]
    assert rows["orders"] == on_night > 0
    assert rows["sellers"] > 0 and rows["listings"] > 0
    generated_files = sorted(p.name for p in (built["raw"] / "orders").iterdir())
    assert sorted(p.name for p in (raw / "orders").iterdir()) == [
        f"initial-load-{night - timedelta(days=1)}-{name}" for name in generated_files
    ]
    assert bench.floor_pass(raw) == {t: generated[t] - rows[t] for t in generated}
    assert check_raw_dir(raw) == []
    assert (
        bench.generated_rows(
            {
                "rows": bench.floor_pass(raw),
                "incremental_night_rows": rows,
                "incremental_night_held_back": True,
            }
        )
        == generated
    )

    # Delivered as <night>.parquet, in the contract schema; taken back for the next run, which
    # finds the folder already split.
    assert bench.deliver_held_night(raw, held) == (str(night), rows)
    delivered = raw / "orders" / f"{night}.parquet"
    assert pq.read_metadata(delivered).num_rows == rows["orders"]
    assert check_raw_dir(raw) == []
    assert bench.floor_pass(raw) == generated
    assert bench.hold_back_last_night(raw, held, night) == rows
    assert not delivered.exists()
    assert bench.floor_pass(raw) == {t: generated[t] - rows[t] for t in generated}


def test_bench_subcommand_is_registered():
    args = build_parser().parse_args(["bench", "--scale", "tiny", "--skip", "pandas", "spark"])
    assert args.func.__module__ == "governance.commands.bench"
    assert args.scale == "tiny"
    assert args.skip == ["pandas", "spark"]


def test_benchmark_run_writes_every_key_with_sane_values(built, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(built["raw"], work / "raw")
    shutil.copytree(built["truth"], work / "truth")
    # Start from the fixture's parse so that dbt parses only what changed (saves ~half a minute).
    for target in ("target_full", "target_metrics_daily"):
        (work / target).mkdir()
        shutil.copy(built["root"] / "target" / "partial_parse.msgpack", work / target)
    config = bench.BenchConfig(
        tier="tiny",
        seed=7,
        work_dir=work,
        results_dir=tmp_path / "results",
        reuse_data=True,
        skip=("incremental", "spark"),
    )
    messages: list[str] = []
    result = bench.run_benchmark(config, echo=messages.append)

    written = json.loads((tmp_path / "results" / "tiny.json").read_text())
    assert written == result
    assert set(bench.RESULT_KEYS) <= set(written)
    assert written["tier"] == "tiny"
    assert written["machine"]["cores"] >= 1
    assert written["machine"]["memory_gb"] > 0
    assert written["machine"]["cpu_model"]
    assert written["rows"] == bench.floor_pass(work / "raw")
    assert bench.generated_rows(written) == bench.floor_pass(built["raw"])
    assert written["incremental_night_rows"]["orders"] > 0
    assert written["generate_s"] is None and written["generate_reused"] is True
    assert written["incremental_s"] is None and written["incremental_kind"] == "skipped"
    steps = ("floor", "raw_load", "pandas_metrics_daily", "dbt_metrics_daily", "full_build")
    for step in steps:
        assert written[f"{step}_s"] > 0
        assert 10 < written[f"{step}_peak_rss_mb"] < 64 * 1024
    assert not (work / bench.RAW_LOAD_FILE).exists()
    assert written["pandas_metrics_daily_status"] == "ok"
    assert written["spark_metrics_daily_s"] is None
    assert written["spark_metrics_daily_status"] == "skipped"
    assert written["spark_detection_s"] is None
    assert isinstance(written["full_build_failed_tests"], list)
    # The two metrics_daily tables of the run, compared row for row.
    match = written["metrics_daily_match"]
    assert match["matched"] is True, match["first_differences"]
    assert match["rows"] == match["pandas_rows"] > 1000
    assert match["mismatched_rows"] == 0
    # With the night held back, a few rows carry a timestamp of that night (an appeal decided
    # then, say) in a file of the night before: staging quarantines them, and the metrics'
    # reporting day leaves them out on both sides.
    assert 0 <= match["quarantined_raw_rows"] < 0.01 * sum(written["rows"].values())
    assert written["dbt_metrics_daily_failed_tests"] == []
    assert written["dbt_metrics_daily_command"] == (
        "dbt build --select +metrics_daily --indirect-selection cautious"
    )
    # Its nodes: the seeds and models metrics_daily is built from, not the whole project.
    md_nodes = [n["node"] for n in written["dbt_metrics_daily_nodes"]["slowest_nodes"]]
    assert len(md_nodes) == 15 and not any("seller_risk" in n for n in md_nodes)
    assert written["dbt_metrics_daily_nodes"]["seconds_by_node_kind"]["seed"] > 0
    assert written["ratios"] == bench.ratios(written)
    assert written["ratios"]["full_build_over_floor"] == round(
        written["full_build_s"] / written["floor_s"], 4
    )
    assert written["ratios"]["pandas_over_dbt_metrics_daily"] == round(
        written["pandas_metrics_daily_s"] / written["dbt_metrics_daily_s"], 4
    )
    nodes = written["full_build_nodes"]
    assert nodes["seconds_by_node_kind"]["model"] > 0
    seconds = [n["seconds"] for n in nodes["slowest_nodes"]]
    assert len(seconds) == 10 and seconds == sorted(seconds, reverse=True)
    with duckdb.connect(str(work / "governance.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from metrics.metrics_daily").fetchone()[0] > 1000
    assert not (tmp_path / "results" / "tiny.partial.json").exists()
    report = bench.format_report(written)
    ratios = written["ratios"]
    assert f"full build / floor              {ratios['full_build_over_floor']:,.2f}x" in report
    raw_load = ratios["full_build_over_raw_load"]
    assert raw_load == round(written["full_build_s"] / written["raw_load_s"], 4)
    assert f"full build / raw load           {raw_load:,.2f}x" in report
    peer = ratios["pandas_over_dbt_metrics_daily"]
    assert f"pandas / dbt +metrics_daily     {peer:,.2f}x" in report
    assert f"pandas metrics_daily = DuckDB's: yes, {match['rows']:,} rows" in report
    assert "slowest nodes of the dbt build +metrics_daily:" in report
    assert "incremental run: skipped" in report
    assert "spark metrics daily: skipped" in report


def test_a_failed_step_is_named_and_the_figures_so_far_are_kept(built, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(built["raw"], work / "raw")
    (tmp_path / "not_a_project").mkdir()
    config = bench.BenchConfig(
        tier="tiny",
        work_dir=work,
        results_dir=tmp_path / "results",
        reuse_data=True,
        project_dir=tmp_path / "not_a_project",
    )
    with pytest.raises(bench.BenchError, match=r"step 'dbt parse' failed \(exit code \d+\); see "):
        bench.run_benchmark(config, echo=lambda _: None)
    partial = json.loads((tmp_path / "results" / "tiny.partial.json").read_text())
    assert partial["rows"] == bench.floor_pass(built["raw"])
    assert partial["floor_s"] > 0
    assert "full_build_s" not in partial
    assert not (tmp_path / "results" / "tiny.json").exists()


def _run_results(tmp_path, statuses: dict[str, str]):
    target = tmp_path / "target"
    target.mkdir()
    results = [{"unique_id": k, "status": v, "execution_time": 1.0} for k, v in statuses.items()]
    (target / "run_results.json").write_text(json.dumps({"results": results}))
    return target


def test_a_build_with_failing_data_tests_is_timed_and_the_failures_recorded(tmp_path):
    target = _run_results(
        tmp_path,
        {
            "model.marketplace_governance.metrics_daily": "success",
            "test.marketplace_governance.unique_x": "fail",
            "test.marketplace_governance.not_null_y": "pass",
        },
    )
    finished = bench.Measurement(seconds=5.0, peak_rss_mb=100, returncode=1)
    assert bench._build_outcome("full dbt build", finished, target) == [
        "test.marketplace_governance.unique_x"
    ]


def test_a_build_whose_models_error_is_a_failed_step(tmp_path):
    target = _run_results(tmp_path, {"model.marketplace_governance.metrics_daily": "error"})
    broken = bench.Measurement(seconds=5.0, peak_rss_mb=100, returncode=1, log_path=tmp_path)
    with pytest.raises(bench.BenchError, match=r"'full dbt build' failed \(model\.marketplace_gov"):
        bench._build_outcome("full dbt build", broken, target)


# --------------------------------------------------------------------------- the pandas peer


def _warehouse_metrics_daily(built) -> pd.DataFrame:
    with duckdb.connect(str(built["db"]), read_only=True) as con:
        return con.execute("select * from metrics.metrics_daily").df()


@pytest.fixture(scope="module")
def peer(built) -> pd.DataFrame:
    return pandas_metrics.metrics_daily(built["raw"])


def test_the_pandas_peer_equals_the_warehouse_metrics_daily_row_for_row(built, peer):
    warehouse = _warehouse_metrics_daily(built)
    match = pandas_metrics.compare_with_warehouse(peer, warehouse)
    assert match["matched"] is True, match["first_differences"]
    assert match["rows"] == match["pandas_rows"] == len(warehouse) > 1000
    assert match["metrics"] == sorted(pandas_metrics.METRICS)
    assert match["compared_columns"] == list(warehouse.columns)
    # Every metric has hits, and every day of each metric the four roll-ups.
    hits = peer[(peer.region == "ALL") & (peer.category == "ALL")].groupby("metric_name")
    assert (hits["numerator"].sum() > 0).all()
    assert (hits.size() == hits["metric_date"].nunique()).all()


def test_the_comparison_finds_a_changed_count_and_a_missing_row(built, peer):
    warehouse = _warehouse_metrics_daily(built)
    changed = warehouse.copy()
    row = changed.index[(changed.numerator > 0) & (changed.region == "ALL")][0]
    changed.loc[row, "numerator"] += 1
    changed = changed.drop(index=changed.index[-1])
    match = pandas_metrics.compare_with_warehouse(peer, changed)
    assert match["matched"] is False
    assert (match["mismatched_rows"], match["only_in_pandas"], match["only_in_warehouse"]) == (
        1,
        1,
        0,
    )
    differences = {
        (d["metric_name"], d["numerator_pandas"], d["numerator_warehouse"])
        for d in match["first_differences"]
    }
    original = warehouse.loc[row]
    assert (original.metric_name, original.numerator, original.numerator + 1) in differences


def test_the_comparison_leaves_out_new_columns_and_stops_on_an_unknown_metric(built, peer):
    warehouse = _warehouse_metrics_daily(built).assign(is_reviewed=True)
    match = pandas_metrics.compare_with_warehouse(peer, warehouse)
    assert match["matched"] is True
    assert match["not_compared_columns"] == ["is_reviewed"]
    new_metric = warehouse.head(3).assign(metric_name="churned_seller_rate")
    with pytest.raises(
        pandas_metrics.PeerError,
        match="metric.s. churned_seller_rate that the pandas peer does not compute",
    ):
        pandas_metrics.compare_with_warehouse(peer, pd.concat([warehouse, new_metric]))


def test_the_latest_version_of_a_record_wins_and_lookups_find_its_row():
    # In version order: the second O1 arrived later; the row without a key is dropped.
    frame = pd.DataFrame(
        {"order_id": ["O1", "O2", "O1", None, "O3"], "status": ["old", "a", "new", "x", "b"]}
    )
    kept, (rows,) = pandas_metrics.latest_versions(
        frame, "order_id", (pd.Series(["O3", "O1", "O9", None]),)
    )
    assert kept.to_dict("list") == {"order_id": ["O2", "O1", "O3"], "status": ["a", "new", "b"]}
    assert rows.tolist() == [2, 1, -1, -1]


def test_raw_files_are_read_in_the_order_their_versions_arrived(tmp_path):
    names = [
        "2026-06-02.parquet",
        "initial-load-2026-06-01-part-001.parquet",
        "part-000.parquet",  # no night in the name: the ingest night
        "initial-load-2026-06-01-part-000.parquet",
        "2026-13-40.parquet",  # not a date: the ingest night
    ]
    for name in names:
        (tmp_path / name).touch()
    ordered = pandas_metrics.raw_files_in_version_order(tmp_path, date(2026, 6, 3))
    assert [p.name for p in ordered] == [
        "initial-load-2026-06-01-part-000.parquet",
        "initial-load-2026-06-01-part-001.parquet",
        "2026-06-02.parquet",
        "2026-13-40.parquet",
        "part-000.parquet",
    ]


def test_a_pandas_peer_past_the_memory_ceiling_is_stopped_and_recorded(built, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(built["raw"], work / "raw")
    config = bench.BenchConfig(
        tier="tiny", work_dir=work, results_dir=tmp_path / "results", max_rss_mb=40
    )
    run = bench.BenchRun.start(config, echo=lambda _: None)
    bench.pandas_metrics_daily_step(run)
    assert run.result["pandas_metrics_daily_s"] is None
    assert run.result["pandas_metrics_daily_status"].startswith(
        "stopped: RSS of the process tree passed 40 MB after "
    )
    assert run.result["pandas_metrics_daily_peak_rss_mb"] >= 40
    assert not (work / bench.PANDAS_OUTPUT).exists()


def test_spark_runs_at_the_small_tiers_when_installed_and_says_why_not(monkeypatch):
    assert bench.spark_unavailable("small", ("spark",)) == "skipped"
    assert bench.spark_unavailable("large", ()) == "not run at this tier (runs at tiny, small)"
    monkeypatch.setattr(bench.importlib.util, "find_spec", lambda name: None)
    assert "the spark extra is not installed" in bench.spark_unavailable("small", ())


def test_time_zone_aware_raw_timestamps_are_read_as_utc(tmp_path):
    (tmp_path / "complaints").mkdir()
    local = timezone(timedelta(hours=-2))
    table = pa.table(
        {
            "complaint_id": ["C1"],
            "order_id": ["O1"],
            "created_at": pa.array(
                [datetime(2026, 6, 1, 23, 30, tzinfo=local)], pa.timestamp("us", tz="-02:00")
            ),
        }
    )
    pq.write_table(table, tmp_path / "complaints" / "part-000.parquet")
    read = pandas_metrics.read_raw(tmp_path, "complaints")
    assert read["created_at"].tolist() == [pd.Timestamp("2026-06-02 01:30")]


def test_model_seconds_reads_one_successful_node_of_run_results(tmp_path):
    results = tmp_path / "run_results.json"
    anomalies = "model.marketplace_governance.metric_anomalies"
    rows = [
        {"unique_id": anomalies, "status": "success", "execution_time": 12.3456},
        {"unique_id": "model.marketplace_governance.alerts", "status": "error"},
    ]
    results.write_text(json.dumps({"results": rows}))
    assert bench.model_seconds(results, anomalies) == 12.346
    assert bench.model_seconds(results, "model.marketplace_governance.alerts") is None
    assert bench.model_seconds(tmp_path / "missing.json", anomalies) is None
    # Every detection model, None for those that did not run.
    seconds = bench.detection_model_seconds(results)
    assert seconds == {**dict.fromkeys(bench.DETECTION_MODELS), "metric_anomalies": 12.346}


def test_raw_load_runs_with_the_builds_duckdb_settings(monkeypatch):
    # profiles.yml holds the one default; the harness resolves it as dbt does.
    monkeypatch.delenv("GOVERNANCE_DUCKDB_MEMORY_LIMIT", raising=False)
    assert bench.build_duckdb_settings() == {
        "TimeZone": "UTC",
        "memory_limit": "6GB",
        "preserve_insertion_order": False,
    }
    monkeypatch.setenv("GOVERNANCE_DUCKDB_MEMORY_LIMIT", "2GB")
    assert bench.build_duckdb_settings()["memory_limit"] == "2GB"
