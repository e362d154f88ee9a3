"""Helpers shared by the dashboard pages: cached data loading, warehouse checks, messages, filters
kept in the page URL, links between pages and human labels for table columns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from governance import metric_registry
from governance.dashboard import data

CACHE_SECONDS = 600

#: The app's pages by url path, registered by app.py so that pages can link to each other.
PAGES: dict[str, Any] = {}

#: Human labels of the column names the pages show (st.column_config keeps the data's names).
LABELS = {
    "metric_name": "metric",
    "metric_label": "metric",
    "metric_date": "day",
    "region": "region",
    "category": "category",
    "value": "value",
    "expected_value": "expected",
    "relative_change": "change",
    "direction": "direction",
    "severity": "severity",
    "p_value": "p-value",
    "q_value": "q-value",
    "syndicate_id": "syndicate",
    "size": "members",
    "n_confirmed_bad": "confirmed bad",
    "share_confirmed_bad": "share confirmed bad",
    "shared_signal_summary": "shared identity signals",
    "first_activity_at": "first activity",
    "last_activity_at": "last activity",
    "risk_score": "risk score",
    "risk_band": "risk band",
    "n_unenforced_members": "not enforced",
    "unenforced_member_ids": "members not enforced",
    "seller_id": "seller",
    "seller_link": "seller",
    "membership_strength": "tie strength",
    "tie_signal_types": "tied by",
    "n_links": "links",
    "link_weight": "link weight",
    "is_enforced": "enforced",
    "is_confirmed_bad": "confirmed bad",
    "table_name": "table",
    "schema_name": "schema",
    "row_count": "rows",
    "raw_row_count": "raw rows",
    "staged_row_count": "staged",
    "quarantined_row_count": "quarantined",
    "superseded_row_count": "superseded",
    "is_reconciled": "reconciled",
    "arrived_night": "night",
    "disposition": "disposition",
    "rule_name": "rule",
    "rule_column": "column",
    "arrived_row_count": "rows arrived",
    "share_of_arrived": "share of arrived",
    "resource_type": "kind",
    "name": "name",
    "status": "status",
    "failures": "failures",
    "seconds": "seconds",
    "message": "message",
    "relation": "table",
    "columns": "column(s)",
    "run_at": "ran at",
    "is_carried_over": "from an earlier full build",
    "table": "table",
    "records": "records",
    "earliest_day": "earliest day",
    "night": "night",
    "event_at": "when",
    "event_type": "event",
    "event_id": "id",
    "target_type": "about",
    "target_id": "target",
    "strategy_id": "strategy",
    "policy_code": "policy",
    "event_detail": "what",
    "outcome": "outcome",
    "related_id": "related",
    "n_records": "counted records",
    "n_cohort": "cohort records",
    "n_hits": "hits",
    "last_hit_at": "last hit",
    "strategy_name": "strategy",
    "share": "share",
}


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=512)
def _cached(function: str, path: str, version: int, args: tuple) -> Any:
    return getattr(data, function)(data.Warehouse(Path(path), version), *args)


def load(wh: data.Warehouse, function: str, *args: Any) -> Any:
    """Call ``data.<function>(wh, *args)``, cached per published version of the warehouse."""
    return _cached(function, str(wh.path), wh.version, tuple(args))


def warehouse() -> data.Warehouse:
    """The published warehouse, or stop the page with a message saying how to get one."""
    try:
        return data.open_published()
    except data.WarehouseNotFound as exc:
        st.error(str(exc), icon=":material/database_off:")
        st.stop()
        raise  # unreachable: st.stop() ends the script run


def guarded(wh: data.Warehouse, function: str, *args: Any) -> Any:
    """`load`, but a warehouse that cannot be opened stops the page with the reason."""
    try:
        return load(wh, function, *args)
    except data.WarehouseUnavailable as exc:
        st.error(str(exc), icon=":material/lock:")
        st.stop()
        raise


def not_built(relation: str, produced_by: str) -> None:
    """Say that a table is absent from this warehouse and what produces it."""
    st.info(
        f"**Not built yet:** `{relation}` is not in this warehouse. It is produced by "
        f"{produced_by}; it appears here after the next `governance build` that includes it.",
        icon=":material/construction:",
    )


def header(title: str, caption: str) -> None:
    st.title(title)
    st.caption(caption)


def percent(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}%}"


def count(metric_name: str, value: float) -> str:
    """A metric's numerator or denominator as a reader reads it: a number of records ("1,234"),
    or an amount in its unit for a ratio of sums ("$12,345"), from the metric registry."""
    try:
        metric = metric_registry.load().metric(metric_name)
    except KeyError:
        metric = None
    if metric is not None and metric.is_amount:
        return metric.format_count(value)
    return f"{value:,.0f}"


def day(value: Any) -> str:
    """A date or timestamp as YYYY-MM-DD (other values as text)."""
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    except (TypeError, ValueError):
        return str(value)


# --- filters kept in the URL -----------------------------------------------------------------
def from_url(
    key: str,
    param: str,
    default: Any,
    parse: Callable[[str], Any] = str,
    allowed: Any = None,
) -> Any:
    """Seed the widget state `key` from the page URL (``?param=...``) on the page's first run,
    so a shared link opens the same view; values that do not parse or are not `allowed` give
    the default. Returns the widget's current value."""
    if key not in st.session_state:
        value = default
        raw = st.query_params.get(param)
        if raw is not None and raw != "":
            try:
                value = parse(raw)
            except (TypeError, ValueError):
                value = default
            if allowed is not None and value not in allowed:
                value = default
        st.session_state[key] = value
    return st.session_state[key]


def date_range_from_url(key: str, bounds: tuple[date, date]) -> tuple[date, date]:
    """`from_url` for a date range (``?from=YYYY-MM-DD&to=YYYY-MM-DD``) inside `bounds`."""
    low, high = bounds

    def parse(name: str, default: date) -> date:
        try:
            chosen = date.fromisoformat(str(st.query_params.get(name, "")))
        except ValueError:
            return default
        return min(max(chosen, low), high)

    if key not in st.session_state:
        start, end = parse("from", low), parse("to", high)
        st.session_state[key] = (start, end) if start <= end else (low, high)
    else:  # keep a stored range inside the bounds of the data now shown
        chosen = tuple(st.session_state[key])
        if len(chosen) == 2 and not (low <= chosen[0] <= chosen[1] <= high):
            st.session_state[key] = (max(low, min(chosen[0], high)), min(high, max(chosen[1], low)))
    return st.session_state[key]


def keep_in_url(params: Mapping[str, Any]) -> None:
    """Write the page's filters into its URL (None or "" removes a parameter)."""
    for name, value in params.items():
        text = "" if value is None else str(value)
        if text == "":
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != text:
            st.query_params[name] = text


# --- links between pages ---------------------------------------------------------------------
def page_url(url_path: str, **params: Any) -> str:
    """A relative link to another page with query parameters (for link columns)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{url_path}?{query}" if query else url_path


def page_link(url_path: str, label: str, icon: str | None = None, **params: Any) -> None:
    """A link to another page of the app, with query parameters."""
    query = {k: str(v) for k, v in params.items() if v is not None}
    page = PAGES.get(url_path)
    if page is not None:
        st.page_link(page, label=label, icon=icon, query_params=query or None)
    else:  # a page rendered on its own (tests): a plain relative link
        st.markdown(f"[{label}]({page_url(url_path, **query)})")


def seller_links(frame: pd.DataFrame, column: str = "seller_id") -> pd.DataFrame:
    """`frame` with a ``seller_link`` column of links to each seller's case page."""
    return frame.assign(
        seller_link=[
            page_url("seller", seller_id=s) if isinstance(s, str) else None for s in frame[column]
        ]
    )


SELLER_LINK = st.column_config.LinkColumn("seller", display_text=r"seller_id=(.*)$")

#: How the pages show the columns of metric_anomalies (rates as percentages, q-values in
#: scientific notation); every anomaly table uses these.
ANOMALY_COLUMN_CONFIG = {
    "metric_date": st.column_config.DateColumn("day"),
    "value": st.column_config.NumberColumn("value", format="percent"),
    "expected_value": st.column_config.NumberColumn("expected", format="percent"),
    "relative_change": st.column_config.NumberColumn("change", format="percent"),
    "p_value": st.column_config.NumberColumn("p-value", format="%.1e"),
    "q_value": st.column_config.NumberColumn("q-value", format="%.1e"),
}


# --- tables with human labels ----------------------------------------------------------------
def table(
    frame: pd.DataFrame,
    columns: list[str] | None = None,
    config: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """st.dataframe showing `columns` (default: all) under human labels: `config` entries win,
    the others get their LABELS entry (a column without one keeps its name)."""
    shown = list(columns) if columns is not None else list(frame.columns)
    column_config: dict[str, Any] = {c: LABELS[c] for c in shown if c in LABELS}
    column_config |= {c: shown_as for c, shown_as in (config or {}).items() if c in shown}
    st.dataframe(
        frame,
        hide_index=True,
        column_order=shown,
        column_config=column_config,
        placeholder="–",
        **kwargs,
    )


STATUS_BADGE = {
    "on_target": ("On target", "green", ":material/check_circle:"),
    "near_target": ("Near target: within noise", "orange", ":material/error:"),
    "off_target": ("Off target", "red", ":material/warning:"),
}


def status_badge(status: str | None) -> None:
    """The status of a rate against its target as a coloured badge."""
    if status is None or (isinstance(status, float) and pd.isna(status)):
        st.badge("No target status", color="gray")
        return
    label, colour, icon = STATUS_BADGE[status]
    st.badge(label, color=colour, icon=icon)
