"""Entry file of the governance dashboard: `streamlit run` this file (or `governance dashboard`).

It reads the published warehouse named by GOVERNANCE_DUCKDB_PATH, read-only.
"""

from __future__ import annotations

import streamlit as st

from governance.dashboard import data, ui
from governance.dashboard.views import (
    alerts,
    data_quality,
    overview,
    seller,
    strategies,
    syndicates,
)


def _pages() -> dict[str, list]:
    """The pages by navigation section. Every page has its own URL (``/overview``,
    ``/seller?seller_id=...``): the app root shows the overview too, from a hidden default page,
    because Streamlit serves its default page at the root only."""
    overview_page = st.Page(
        overview.render,
        title="North-star overview",
        icon=":material/monitoring:",
        url_path="overview",
    )
    root = st.Page(
        overview.render,
        title="North-star overview",
        url_path="home",
        default=True,
        visibility="hidden",
    )
    pages = {
        "Metrics": [root, overview_page],
        "Monitoring": [
            st.Page(
                alerts.render,
                title="Alerts & root causes",
                icon=":material/notifications:",
                url_path="alerts",
            ),
            st.Page(
                strategies.render,
                title="Strategy performance",
                icon=":material/target:",
                url_path="strategies",
            ),
            st.Page(
                syndicates.render, title="Syndicates", icon=":material/hub:", url_path="syndicates"
            ),
        ],
        "Investigations": [
            st.Page(
                seller.render,
                title="Seller case",
                icon=":material/person_search:",
                url_path="seller",
            ),
        ],
        "Operations": [
            st.Page(
                data_quality.render,
                title="Data quality",
                icon=":material/fact_check:",
                url_path="data-quality",
            ),
        ],
    }
    ui.PAGES.clear()
    ui.PAGES.update({page.url_path: page for section in pages.values() for page in section})
    ui.PAGES["overview"] = overview_page
    return pages


RENDERED_MARKER = "governance-page-rendered"

STYLE = """
<style>
  [data-testid="stMainBlockContainer"] { padding-top: 2.2rem; max-width: 1500px; }
  [data-testid="stMetricValue"] { font-size: 1.9rem; }
  h1 { font-size: 2.1rem !important; }
  h3 { font-size: 1.35rem !important; }
</style>
"""


def _sidebar() -> None:
    with st.sidebar:
        try:
            wh = data.open_published()
        except data.WarehouseNotFound:
            st.caption("No published warehouse.")
            return
        try:
            info = ui.load(wh, "warehouse_info")
        except data.WarehouseUnavailable:
            st.caption("Warehouse unavailable.")
            return
        st.caption(
            f"**Warehouse** `{wh.path.name}` · {info['size_mb']:,.0f} MB  \n"
            f"Published {info['published_at']:%Y-%m-%d %H:%M} UTC  \n"
            f"Reporting date **{info['as_of_date'] or 'unknown'}**"
        )
        if st.button("Reload data", icon=":material/refresh:", width="stretch"):
            st.cache_data.clear()
            st.rerun()


def main() -> None:
    st.set_page_config(
        page_title="Marketplace governance",
        page_icon=":material/shield:",
        layout="wide",
        initial_sidebar_state="expanded",
    )
    st.html(STYLE)
    page = st.navigation(_pages())
    _sidebar()
    page.run()
    # End-of-run marker: lets headless screenshots wait for the whole page.
    st.markdown(f'<span id="{RENDERED_MARKER}"></span>', unsafe_allow_html=True)


main()
