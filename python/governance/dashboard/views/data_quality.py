"""Data quality: dbt test results, expectation results, row counts and quarantined rows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from governance.dashboard import charts, data, ui

FAILING = {"fail", "error", "runtime error", "failed"}
RESULT_COLUMNS = ["resource_type", "name", "status", "failures", "message", "run_at"]


def _build_results(wh: data.Warehouse) -> pd.DataFrame | None:
    """The dbt results of the build that published this warehouse (stored in it)."""
    st.subheader("Tests of the build that published this warehouse", divider="gray")
    results = ui.guarded(wh, "build_results")
    if results is None:
        st.info(
            f"This warehouse holds no build results (`{data.BUILD_RESULTS}`): it was built "
            "before builds recorded them. The next `governance build` or nightly run adds them.",
            icon=":material/info:",
        )
        return None
    dbt = results[results["source"] == "dbt"]
    own = dbt[~dbt["is_carried_over"]]
    build_id = own["build_id"].dropna().iloc[0] if own["build_id"].notna().any() else "unknown"
    ran_at = own["run_at"].max()
    st.caption(f"Build `{build_id}` · finished {ui.day(ran_at)} {pd.Timestamp(ran_at):%H:%M} UTC")
    tests = dbt[dbt["resource_type"].isin(["test", "unit_test"])]
    failing = tests[tests["status"].isin(FAILING)]
    warned = tests[tests["status"] == "warn"]
    stats = st.columns(5)
    stats[0].metric("Models built", int((own["resource_type"] == "model").sum()), border=True)
    stats[1].metric("Data tests", int((tests["resource_type"] == "test").sum()), border=True)
    stats[2].metric("Unit tests", int((tests["resource_type"] == "unit_test").sum()), border=True)
    stats[3].metric("Failing", len(failing), border=True)
    stats[4].metric("Warning", len(warned), border=True)
    if failing.empty and warned.empty:
        st.success(
            "Every dbt test of the build that published this warehouse passed.",
            icon=":material/check_circle:",
        )
    if not failing.empty:
        st.error(f"{len(failing)} dbt test(s) failed.", icon=":material/error:")
        ui.table(failing, RESULT_COLUMNS)
    if not warned.empty:
        st.warning(
            f"{len(warned)} dbt test(s) warned (e.g. raw rows held back by quarantine rules).",
            icon=":material/warning:",
        )
        ui.table(warned, RESULT_COLUMNS)
    carried = tests[tests["is_carried_over"]]
    if not carried.empty:
        flagged = carried[carried["status"] != "pass"]
        when = ui.day(carried["run_at"].max())
        st.caption(
            f"The build was incremental and left the {len(carried)} raw-source tests to full "
            f"builds: their results are those of the last full build ({when})."
        )
        if not flagged.empty:
            st.warning(
                f"{len(flagged)} raw-source test(s) did not pass at the last full build ({when}).",
                icon=":material/warning:",
            )
            ui.table(flagged, RESULT_COLUMNS)
    with st.expander(f"All {len(dbt)} dbt nodes of the build"):
        ui.table(dbt, [*RESULT_COLUMNS, "seconds", "is_carried_over"])
    return results


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
    ui.table(changes)


def _expectations(wh: data.Warehouse, results: pd.DataFrame | None) -> None:
    st.subheader("Expectation suites (Great Expectations)", divider="gray")
    expectations = (
        results[results["source"] == "great_expectations"] if results is not None else None
    )
    if expectations is not None and not expectations.empty:
        failed = expectations[expectations["status"] == "failed"]
        warned = expectations[expectations["status"] == "warning"]
        st.caption(
            f"Validated by the build before it published, {ui.day(expectations['run_at'].max())}"
            f" · {len(expectations)} expectations on "
            f"{', '.join(sorted(expectations['relation'].dropna().unique()))}"
        )
        _verdict(
            [f"{r.relation}: {r.name} ({r.message})" for r in failed.itertuples()],
            [f"{r.relation}: {r.name} ({r.message})" for r in warned.itertuples()],
        )
        with st.expander(f"All {len(expectations)} expectations"):
            ui.table(expectations, ["relation", "columns", "name", "status", "severity", "message"])
        return
    summary = ui.load(wh, "validation_summary")
    own_build = None if results is None else _build_id(results)
    if summary is None or own_build is None or summary.get("build_id") != own_build:
        st.info(
            "The build that published this warehouse did not validate it, and no "
            "`governance validate` of this build is recorded: run `governance validate`.",
            icon=":material/info:",
        )
        return
    st.caption(
        f"`governance validate` of this build, {summary['validated_at']} · "
        f"{summary['n_expectations']} expectations on {', '.join(summary['tables'])}"
        + (f" · Data Docs: `{summary['data_docs']}`" if summary.get("data_docs") else "")
    )
    _verdict(summary["critical_failures"], summary["warnings"])


def _build_id(results: pd.DataFrame) -> str | None:
    own = results.loc[~results["is_carried_over"] & results["build_id"].notna(), "build_id"]
    return str(own.iloc[0]) if not own.empty else None


def _verdict(critical: list[str], warnings: list[str]) -> None:
    if critical:
        st.error(
            "**Critical expectations failed:**\n" + "\n".join(f"- {m}" for m in critical),
            icon=":material/error:",
        )
    if warnings:
        st.warning("\n".join(f"- {m}" for m in warnings), icon=":material/warning:")
    if not critical and not warnings:
        st.success("Every expectation passed.", icon=":material/check_circle:")


def _row_counts(wh: data.Warehouse) -> None:
    st.subheader("Published relations", divider="gray")
    with st.spinner("Counting rows…"):
        counts = ui.guarded(wh, "relation_row_counts", data.COUNTED_SCHEMAS)
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
            ui.table(reconciliation)
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
    ui.table(
        frame,
        config={
            "arrived_night": st.column_config.DateColumn("night"),
            "share_of_arrived": st.column_config.NumberColumn("share of arrived", format="percent"),
        },
    )


def render() -> None:
    wh = ui.warehouse()
    ui.header(
        "Data quality",
        "Is the published warehouse complete and trustworthy? The tests and expectation suites "
        "of the build that published it (stored in the warehouse), row counts and quarantined "
        "input.",
    )
    results = _build_results(wh)
    _unprocessed_changes(wh)
    _expectations(wh, results)
    _row_counts(wh)
    _quarantine(wh)
