"""End-to-end: generate a tiny marketplace, build the warehouse with every dbt test, and check
the published metrics against the Wilson formula (tests/python/test_bench.py compares the whole
table with an independent pandas implementation)."""

from __future__ import annotations

import math
import re
import shutil

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from governance.settings import AS_OF_DATE_ENV
from governance.warehouse import run_dbt, run_stats

Z = 1.959964
REGIONS = 6 + 1  # seed regions plus ALL
CATEGORIES = 10 + 1


def _query(db, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def test_build_runs_every_model_and_passes_every_test(built):
    stats = run_stats(built["results"])
    assert stats.tests_failed == 0
    assert stats.unit_tests >= 7
    assert stats.tests_passed >= 100
    assert stats.models >= 20


def test_metrics_daily_is_dense_over_every_segment_and_day(built):
    grid = _query(
        built["db"],
        """
        select metric_name, count(*) as n_rows,
               count(distinct metric_date) as n_days,
               min(metric_date) as first_day, max(metric_date) as last_day
        from metrics.metrics_daily group by metric_name
        """,
    )
    assert len(grid) == 7
    for row in grid.itertuples():
        span = (row.last_day - row.first_day).days + 1
        assert row.n_days == span, row.metric_name
        assert row.n_rows == span * REGIONS * CATEGORIES, row.metric_name


def test_rollups_equal_the_sum_of_segments(built):
    mismatches = _query(
        built["db"],
        """
        with seg as (
            select metric_name, metric_date, sum(numerator) as num, sum(denominator) as den
            from metrics.metrics_daily
            where region <> 'ALL' and category <> 'ALL'
            group by 1, 2
        )
        select count(*) as n
        from metrics.metrics_daily as m
        inner join seg using (metric_name, metric_date)
        where m.region = 'ALL' and m.category = 'ALL'
            and (m.numerator <> seg.num or m.denominator <> seg.den)
        """,
    )
    assert mismatches.n.iloc[0] == 0


def test_wilson_interval_matches_the_reference_formula(built):
    # A ratio of sums (interval_method wilson_kish) reads its effective counts instead.
    rows = _query(
        built["db"],
        """
        select d.interval_method,
               case when d.interval_method = 'wilson' then m.numerator
                    else s.effective_numerator end as successes,
               case when d.interval_method = 'wilson' then m.denominator
                    else s.effective_denominator end as trials,
               m.value, m.ci_lower, m.ci_upper
        from metrics.metrics_daily as m
        inner join reference.metric_definitions as d using (metric_name)
        inner join intermediate.int_metric_sums_daily as s
            using (metric_name, metric_date, region, category)
        where m.denominator > 0
        """,
    )
    assert len(rows) > 100
    assert set(rows["interval_method"]) == {"wilson", "wilson_kish"}
    n, p = rows["trials"], rows["successes"] / rows["trials"]
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * ((p * (1 - p) / n + Z * Z / (4 * n * n)) ** 0.5) / (1 + Z * Z / n)
    assert ((rows["ci_lower"] - (centre - half).clip(lower=0)).abs() < 1e-12).all()
    assert ((rows["ci_upper"] - (centre + half).clip(upper=1)).abs() < 1e-12).all()
    # One worked value: 1 success in 10 trials.
    lower = (0.1 + Z**2 / 20 - Z * math.sqrt(0.09 / 10 + Z**2 / 400)) / (1 + Z**2 / 10)
    assert lower == pytest.approx(0.01787621, abs=1e-6)


def test_maturity_follows_each_metric_window(built):
    frame = _query(
        built["db"],
        """
        select metric_name, max(case when is_mature then metric_date end) as last_mature,
               max(metric_date) as last_day
        from metrics.metrics_daily group by metric_name
        """,
    )
    lag = {r.metric_name: (r.last_day - r.last_mature).days for r in frame.itertuples()}
    assert lag["listing_violation_rate"] == 7
    assert lag["low_quality_listing_rate"] == 7
    assert lag["bad_seller_onboarding_rate"] == 30
    assert lag["complaint_rate"] == 14
    assert lag["violation_prevalence"] == 0
    assert lag["appeal_overturn_rate"] == 0
    assert lag["violating_gmv_share"] == 7


def test_no_raw_pii_value_reaches_any_table_beyond_staging(built):
    sellers = pq.read_table(built["raw"] / "sellers", columns=["email", "phone", "legal_name"])
    secrets = set()
    for column in sellers.column_names:
        secrets.update(v for v in sellers.column(column).to_pylist()[:200] if v)
    with duckdb.connect(str(built["db"]), read_only=True) as con:
        columns = con.execute(
            """
            select c.table_schema, c.table_name, c.column_name
            from information_schema.columns as c
            inner join information_schema.tables as t
                on c.table_schema = t.table_schema and c.table_name = t.table_name
            where t.table_type = 'BASE TABLE' and c.data_type = 'VARCHAR'
            """
        ).fetchall()
        assert columns
        for schema, table, column in columns:
            values = con.execute(
                f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'
            ).fetchall()
            leaked = secrets & {v for (v,) in values}
            assert not leaked, f"{schema}.{table}.{column} holds raw PII"


def test_malformed_as_of_date_var_is_refused_with_a_clear_message(built):
    process = run_dbt(
        ["compile", "--select", "int_as_of_date", "--vars", "{as_of_date: '2026-13-01; drop'}"],
        raw_dir=built["raw"],
        duckdb_path=built["root"] / "compile.duckdb",
        target_path=built["root"] / "target-compile",
        quiet=True,
    )
    assert process.returncode != 0
    assert "dbt var 'as_of_date' must be a date written YYYY-MM-DD" in process.stdout


def test_a_date_var_that_does_not_exist_is_refused_before_any_sql(built, tmp_path):
    for day in ("2026-02-31", "2025-02-29"):
        process = run_dbt(
            ["compile", "--select", "int_as_of_date", "--vars", f"{{as_of_date: '{day}'}}"],
            raw_dir=built["raw"],
            duckdb_path=built["root"] / "compile.duckdb",
            target_path=tmp_path / "target",
            quiet=True,
        )
        assert process.returncode != 0, day
        assert f"dbt var 'as_of_date' must be a date that exists, got '{day}'" in process.stdout
    leap_day = run_dbt(
        ["compile", "--select", "int_as_of_date", "--vars", "{as_of_date: '2024-02-29'}"],
        raw_dir=built["raw"],
        duckdb_path=built["root"] / "compile.duckdb",
        target_path=tmp_path / "target",
        quiet=True,
    )
    assert leap_day.returncode == 0, leap_day.stdout[-2000:]


def test_the_reporting_date_comes_from_the_var_else_the_environment(built, tmp_path):
    def compile_as_of(variables: str, env: dict[str, str]) -> tuple[int, str]:
        target = tmp_path / f"target-{len(list(tmp_path.iterdir()))}"
        process = run_dbt(
            ["compile", "--select", "int_as_of_date", "--vars", variables],
            raw_dir=built["raw"],
            duckdb_path=built["root"] / "compile.duckdb",
            target_path=target,
            quiet=True,
            env=env,
        )
        compiled = list(target.rglob("compiled/**/int_as_of_date.sql"))
        return process.returncode, compiled[0].read_text() if compiled else process.stdout

    night = {AS_OF_DATE_ENV: "2026-05-31"}
    code, sql = compile_as_of("{}", night)
    assert code == 0 and "cast('2026-05-31' as date)" in sql
    code, sql = compile_as_of("{as_of_date: '2026-04-30'}", night)
    assert code == 0 and "cast('2026-04-30' as date)" in sql and "2026-05-31" not in sql
    code, out = compile_as_of("{}", {AS_OF_DATE_ENV: "31/05/2026"})
    assert code != 0
    assert (
        "environment variable GOVERNANCE_AS_OF_DATE must be a date written YYYY-MM-DD, "
        "got '31/05/2026'" in out
    )


def test_a_python_model_starts_with_the_engine_cache_emptied_and_the_limit_restored(
    built, tmp_path
):
    # DuckDB's page cache is emptied (limit lowered) before a detection model builds its pandas
    # frames, then the profile's limit is set back: here the one of GOVERNANCE_DUCKDB_MEMORY_LIMIT.
    db = tmp_path / "governance.duckdb"
    shutil.copyfile(built["db"], db)
    process = run_dbt(
        ["run", "--select", "seller_syndicates", "--log-path", str(tmp_path / "logs")],
        raw_dir=built["raw"],
        duckdb_path=db,
        target_path=tmp_path / "target",
        quiet=True,
        env={"GOVERNANCE_DUCKDB_MEMORY_LIMIT": "3GB"},
    )
    assert process.returncode == 0, process.stdout[-2000:]
    log = (tmp_path / "logs" / "dbt.log").read_text()
    limits = re.findall(r"set memory_limit = '([^']+)'", log)
    assert limits == ["1GB", "3GB"]
    runs = log.index(
        'Writing runtime python for node "model.marketplace_governance.seller_syndicates"'
    )
    assert log.index("set memory_limit = '3GB'") < runs
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from detection.seller_syndicates").fetchone()[0] > 0


def test_every_model_and_column_is_documented(built):
    import json

    manifest = json.loads((built["root"] / "target" / "manifest.json").read_text())
    models = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["package_name"] == "marketplace_governance"
    ]
    assert len(models) >= 20
    undocumented = []
    with duckdb.connect(str(built["db"]), read_only=True) as con:
        for node in models:
            if not node["description"].strip():
                undocumented.append(node["name"])
            documented = {
                name for name, col in node["columns"].items() if col["description"].strip()
            }
            actual = con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [node["schema"], node["alias"]],
            ).fetchall()
            assert actual, f"{node['name']} was not built"
            undocumented += [f"{node['name']}.{c}" for (c,) in actual if c not in documented]
    assert undocumented == []
