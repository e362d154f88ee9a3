"""Helpers shared by the dashboard pages: cached data loading, warehouse checks, messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from governance.dashboard import data

CACHE_SECONDS = 600


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


def day(value: Any) -> str:
    """A date or timestamp as YYYY-MM-DD (other values as text)."""
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    except (TypeError, ValueError):
        return str(value)
