"""The dashboard as a person sees it: every page served by Streamlit and rendered in headless
Chromium, checked for its content and for error boxes, deep links and filters kept in the URL;
screenshots of each page are kept when DASHBOARD_SCREENSHOTS names a folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest

from governance.dashboard import screenshot


@pytest.fixture(scope="module")
def browser_session(built):
    chromium = screenshot.find_chromium()
    if chromium is None or not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium missing: apt-get install -y chromium")
    with screenshot.serve(built["published"]) as url, screenshot.Browser(chromium) as browser:
        yield url, browser


def _seller(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select seller_id from detection.seller_syndicates where syndicate_id is not null "
            "order by membership_strength desc, seller_id limit 1"
        ).fetchone()[0]


def _clean(state: dict, page: str) -> None:
    assert state["error_text"] is None, page
    assert state["exceptions"] == [], (page, state["exceptions"])
    assert state["errors"] == [], (page, state["errors"])
    assert "Page not found" not in state["text"] and state["dialogs"] == [], page


def test_every_page_renders_its_content_without_error_boxes(browser_session, built, tmp_path):
    url, browser = browser_session
    seller = _seller(built["published"])
    expected = {
        "overview": ["North-star metrics", "Off target", "strategy change", "Weekly"],
        "alerts": ["Alerts and root causes", "Root-cause breakdown", "Sellers behind the incident"],
        "strategies": ["Strategy performance", "Scorecard", "Sellers a strategy hit most"],
        "syndicates": ["Syndicates", "Review queue", "Members of a syndicate"],
        f"seller?seller_id={seller}": [
            "Seller case",
            seller,
            "Top reasons for the score",
            "Fellow members",
            "Timeline",
        ],
        "data-quality": ["Data quality", "Tests of the build that published this warehouse"],
    }
    keep = os.environ.get("DASHBOARD_SCREENSHOTS")
    for path, texts in expected.items():
        state = browser.open(f"{url}/{path}")
        _clean(state, path)
        for text in texts:
            assert text in state["text"], (path, text)
        # A deep link stays on its page (the page's URL path is kept).
        assert urlparse(state["url"]).path == "/" + path.split("?")[0], path
        if keep:
            name = path.split("?")[0]
            browser.screenshot(Path(keep) / f"{name}.png", full_page=True)
    assert "Off target" in browser.open(f"{url}/")["text"]  # the app root is the overview


def test_a_shared_link_opens_the_same_view(browser_session, built):
    url, browser = browser_session
    state = browser.open(f"{url}/overview?grain=month&region=SG&from=2026-05-01")
    _clean(state, "overview")
    kept = parse_qs(urlparse(state["url"]).query)
    assert kept == {"grain": ["month"], "region": ["SG"], "from": ["2026-05-01"]}
    assert "Change on the month before" in state["text"]
    # The tiles show Singapore's latest complete, mature months.
    with duckdb.connect(str(built["published"]), read_only=True) as con:
        values = con.execute(
            """
            select value from metrics.metric_rates
            where period_grain = 'month' and region = 'SG' and category = 'ALL'
              and is_complete and is_mature and value is not null
            qualify row_number() over (partition by metric_name order by period_start desc) = 1
            """
        ).fetchall()
    for (value,) in values:
        assert f"\n{value:.2%}\n" in state["text"]


def test_screenshot_of_the_overview_shows_the_charts(browser_session, tmp_path):
    from PIL import Image

    url, browser = browser_session
    browser.open(f"{url}/overview")
    out = browser.screenshot(tmp_path / "dashboard.png", full_page=True)
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
