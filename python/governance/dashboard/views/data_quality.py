"""Data quality: dbt test results, expectation results, row counts and quarantined rows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from governance.dashboard import charts, data, ui
from governance.warehouse import SOURCE_TEST_PREFIX

FAILING = {"fail", "error", "runtime error"}


def _dbt_tests(wh: data.Warehouse) -> None:
    st.subheader("dbt build results", divider="gray")
    results = data.dbt_results()
    if results is None:
        st.info(
            f"No dbt run results at `{data.run_results_path()}`: they appear after a "
            "`governance build` (set DBT_TARGET_PATH if the build writes elsewhere).",
            icon=":material/info:",
        )
        return
    st.caption(f"`{results.attrs['path']}` · generated {results.attrs.get('generated_at')}")
    tests = results[results["resource_type"].isin(["test", "unit test"])]
    failing = tests[tests["status"].isin(FAILING)]
    warned = tests[tests["status"] == "warn"]
    stats = st.columns(5)
    stats[0].metric("Models built", int((results["resource_type"] == "model").sum()), border=True)
    stats[1].metric("Data tests", int((tests["resource_type"] == "test").sum()), border=True)
    stats[2].metric("Unit tests", int((tests["resource_type"] == "unit test").sum()), border=True)
    stats[3].metric("Failing", len(failing), border=True)
    stats[4].metric("Warning", len(warned), border=True)
    if failing.empty and warned.empty:
        st.success("Every dbt test of the last build passed.", icon=":material/check_circle:")
    if not failing.empty:
        st.error(f"{len(failing)} dbt test(s) failed.", icon=":material/error:")
        st.dataframe(failing, hide_index=True)
    if not warned.empty:
        st.warning(
            f"{len(warned)} dbt test(s) warned (e.g. raw rows held back by quarantine rules).",
            icon=":material/warning:",
        )
        st.dataframe(warned, hide_index=True)
    with st.expander(f"All {len(results)} nodes of the last invocation"):
        st.dataframe(results.drop(columns=["unique_id"]), hide_index=True)
    if not tests["name"].str.startswith(SOURCE_TEST_PREFIX).any():
        _stored_source_tests(wh)


def _stored_source_tests(wh: data.Warehouse) -> None:
    """An incremental night does not run the raw-source tests: show the last full build's."""
    stored = data.stored_source_tests(wh)  # a small file, read each time
    if not stored:
        return
    tests = pd.DataFrame(stored["tests"], columns=["name", "status", "failures", "message"])
    flagged = tests[tests["status"] != "pass"]
    when = f"night {stored['night']}" if stored.get("night") else "`governance build`"
    st.caption(
        f"The last build was incremental and left the {len(tests)} raw-source tests to full "
        f"builds. Their results at the last full build ({when}):"
    )
    if flagged.empty:
        st.success("Every raw-source test passed.", icon=":material/check_circle:")
        return
    st.warning(
        f"{len(flagged)} raw-source test(s) did not pass at the last full build ({when}).",
        icon=":material/warning:",
    )
    st.dataframe(flagged, hide_index=True)


def _unprocessed_changes(wh: data.Warehouse) -> None:
    """Changes staged on days the incremental facts did not re-process (governance.reprocessing):
    the facts and metrics miss them until a backfill from their day or a full refresh."""
    report = data.nightly_report(wh)  # a small file, read each time
    changes = pd.DataFrame(
        (report or {}).get("unprocessed_changes") or [],
        columns=["table", "records", "earliest_day", "night"],
    )
    if changes.empty:
        return
    first_day = changes["earliest_day"].min()
    st.warning(
        f"{int(changes['records'].sum()):,} staged record(s) changed on days the incremental "
        "facts did not re-process: the facts and metrics miss them until "
        f"`governance backfill --from {first_day}` or `governance nightly --full-refresh`.",
        icon=":material/warning:",
    )
    st.dataframe(changes, hide_index=True)


def _expectations(wh: data.Warehouse) -> None:
    st.subheader("Expectation suites (`governance validate`)", divider="gray")
    summary = ui.load(wh, "validation_summary")
    if summary is None:
        st.info(
            "No validation result beside this warehouse yet: run `governance validate`.",
            icon=":material/info:",
        )
        return
    verdict = "passed" if summary["success"] else "failed"
    st.caption(
        f"Last run {summary['validated_at']} · {verdict} · "
        f"{summary['n_expectations']} expectations on {', '.join(summary['tables'])}"
        + (f" · Data Docs: `{summary['data_docs']}`" if summary.get("data_docs") else "")
    )
    if summary["critical_failures"]:
        st.error("\n".join(f"- {m}" for m in summary["critical_failures"]), icon=":material/error:")
    if summary["warnings"]:
        st.warning("\n".join(f"- {m}" for m in summary["warnings"]), icon=":material/warning:")
    if summary["success"] and not summary["warnings"]:
        st.success("Every expectation passed.", icon=":material/check_circle:")


def _row_counts(wh: data.Warehouse) -> None:
    st.subheader("Raw-derived relations", divider="gray")
    include_staging = st.toggle(
        "Include staging views",
        value=False,
        key="quality_staging",
        help="Staging views re-read and deduplicate the raw Parquet files: slow on large "
        "warehouses.",
    )
    schemas = data.RAW_DERIVED_SCHEMAS if include_staging else ("intermediate",)
    with st.spinner("Counting rows…"):
        counts = ui.guarded(wh, "relation_row_counts", tuple(schemas))
    broken = counts[counts["row_count"].isna()]
    if not broken.empty:
        st.warning(
            "Could not count: "
            + "; ".join(f"{r.schema_name}.{r.table_name} ({r.error})" for r in broken.itertuples())
        )
    left, right = st.columns([1.2, 1.0], gap="medium")
    with left:
        st.altair_chart(charts.row_count_bars(counts), width="stretch", key="row_counts")
    with right:
        st.dataframe(
            counts[["table_name", "schema_name", "row_count"]],
            hide_index=True,
            column_config={
                "table_name": st.column_config.TextColumn("relation", width="medium"),
                "schema_name": st.column_config.TextColumn("schema", width="small"),
                "row_count": st.column_config.NumberColumn("rows", format="localized"),
            },
        )


def _quarantine(wh: data.Warehouse) -> None:
    st.subheader("Quarantined and superseded rows", divider="gray")
    reconciliation = ui.guarded(wh, "data_quality_reconciliation")
    if reconciliation is not None and not reconciliation.empty:
        broken = reconciliation[~reconciliation["is_reconciled"]]
        if broken.empty:
            st.success(
                f"Every raw row of the {len(reconciliation)} raw tables is accounted for: "
                "raw = staged + quarantined + superseded.",
                icon=":material/check_circle:",
            )
        else:
            st.error(
                "Raw rows unaccounted for in: " + ", ".join(broken["table_name"]),
                icon=":material/error:",
            )
        with st.expander("Reconciliation per raw table"):
            st.dataframe(reconciliation, hide_index=True)
    frame = ui.guarded(wh, "data_quality_daily")
    if frame is None:
        ui.not_built(data.DATA_QUALITY_DAILY, "the data-quality marts (models/marts/data_quality/)")
        return
    if frame.empty:
        st.write("No raw row was held back: every arrived row was staged.")
        return
    held = frame.groupby("disposition")["row_count"].sum()
    stats = st.columns(3)
    stats[0].metric("Quarantined rows", f"{int(held.get('quarantined', 0)):,}", border=True)
    stats[1].metric("Superseded rows", f"{int(held.get('superseded', 0)):,}", border=True)
    stats[2].metric("Rules broken", f"{frame['rule_name'].nunique():,}", border=True)
    st.altair_chart(charts.daily_quality(frame), width="stretch", key="quarantine")
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "arrived_night": st.column_config.DateColumn("night"),
            "share_of_arrived": st.column_config.NumberColumn("share", format="percent"),
        },
    )


def render() -> None:
    wh = ui.warehouse()
    ui.header(
        "Data quality",
        "Is the published warehouse complete and trustworthy? dbt tests of the last build, "
        "expectation suites over the published tables, row counts and quarantined input.",
    )
    _dbt_tests(wh)
    _unprocessed_changes(wh)
    _expectations(wh)
    _row_counts(wh)
    _quarantine(wh)
