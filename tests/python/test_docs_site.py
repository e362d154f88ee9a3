"""The documentation site: built from the session warehouse with `governance docs`, opened in
headless Chromium, and scanned for raw PII. Screenshots land in target/ (or
$GOVERNANCE_DOCS_SCREENSHOT_DIR) for humans to look at."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from governance import metric_registry, settings
from governance.cli import main
from governance.docs_site import (
    TextIndex,
    chromium_executable,
    describe_leaks,
    links,
    page_url,
    pii_leaks,
    raw_pii_values,
    render,
    visible_text,
)

PROJECT = "marketplace_governance"
NORTH_STAR_METRICS = metric_registry.load().names
SENSITIVITY_LEVELS = {
    "restricted-pii",
    "pseudonymised-pii",
    "internal-record-level",
    "internal-seller-level",
    "internal-aggregate",
    "internal-reference",
}

needs_chromium = pytest.mark.skipif(
    chromium_executable() is None,
    reason="Chromium is not installed: apt-get update && apt-get install -y chromium",
)


@pytest.fixture(scope="module")
def site(built):
    """The static docs site of the session warehouse, built by `governance docs`."""
    target = built["root"] / "docs_target"
    target.mkdir(exist_ok=True)
    # Start from the build's parse state so dbt only re-parses what changed (nothing), and
    # from its run results, which the docs build must leave as they are.
    shutil.copy(built["results"].parent / "partial_parse.msgpack", target)
    shutil.copy(built["results"], target / "run_results.json")
    code = main(
        [
            "docs",
            "--raw-dir",
            str(built["raw"]),
            "--duckdb-path",
            str(built["db"]),
            "--target-path",
            str(target),
        ]
    )
    assert code == 0
    assert (target / "run_results.json").read_bytes() == built["results"].read_bytes()
    return target / "static_index.html"


@pytest.fixture(scope="module")
def manifest(site):
    return json.loads((site.parent / "manifest.json").read_text())


@pytest.fixture(scope="module")
def screenshot_dir():
    folder = os.environ.get("GOVERNANCE_DOCS_SCREENSHOT_DIR")
    return Path(folder) if folder else settings.project_dir() / "target"


@needs_chromium
def test_overview_page_explains_the_warehouse_and_links_every_metric(site, screenshot_dir):
    dom = render(page_url(site, "overview"), screenshot=screenshot_dir / "docs_overview.png")
    text = visible_text(dom)
    assert "Marketplace Governance Warehouse" in text
    assert "What the warehouse answers" in text
    assert "How many bad actors get through seller onboarding?" in text
    assert "Where to start" in text
    assert "Compare mature days only" in text
    assert "internal-seller-level" in text  # the sensitivity levels are explained
    hrefs = links(dom)
    for metric in NORTH_STAR_METRICS:
        assert f"#!/metric/metric.{PROJECT}.{metric}" in hrefs, metric
    assert f"#!/exposure/exposure.{PROJECT}.governance_dashboard" in hrefs
    assert f"#!/semantic_model/semantic_model.{PROJECT}.listing_outcomes" in hrefs
    assert "gx_data_docs/index.html" in hrefs
    assert f"#!/model/model.{PROJECT}.data_quality_daily" in hrefs
    # What BI tools should read.
    assert "For BI tools" in text
    assert f"#!/exposure/exposure.{PROJECT}.bi_catalogue" in hrefs
    assert f"#!/model/model.{PROJECT}.metric_rates" in hrefs
    assert (screenshot_dir / "docs_overview.png").stat().st_size > 10_000


@needs_chromium
def test_metric_page_shows_its_glossary_entry(site, screenshot_dir):
    route = f"metric/metric.{PROJECT}.listing_violation_rate"
    dom = render(page_url(site, route), screenshot=screenshot_dir / "docs_metric.png")
    text = visible_text(dom)
    assert "Listing violation rate ( listing_violation_rate )" in text
    assert "Formula. numerator / denominator" in text
    assert "listing_takedown" in text
    assert "mature 7 days later" in text
    assert "Owner. listing-integrity" in text
    assert "Caveats. Moves with detection as well as with abuse" in text
    # The ratio's parts link to their own pages.
    assert f"#!/metric/metric.{PROJECT}.violating_listings" in links(dom)


@needs_chromium
def test_metrics_daily_page_shows_its_description_and_columns(site):
    dom = render(page_url(site, f"model/model.{PROJECT}.metrics_daily"))
    text = visible_text(dom)
    assert "The north-star metric table." in text
    assert "Wilson score 95% interval" in text
    assert re.search(r"is_mature BOOLEAN True when the metric's window has closed", text)
    assert "internal-aggregate" in text


def test_built_site_holds_no_raw_pii(site, built):
    values = raw_pii_values(built["raw"])
    assert set(values) == {
        "sellers.legal_name",
        "sellers.email",
        "sellers.phone",
        "seller_identity_signals.signal_value",
    }
    assert sum(len(v) for v in values.values()) > 3000
    assert pii_leaks(site.parent, built["raw"]) == {}
    # The site is the one page plus its two artefacts; none of them holds a catalog entry for
    # the raw (external Parquet) sources, so no column statistics of raw data can be shown.
    catalog = json.loads((site.parent / "catalog.json").read_text())
    assert catalog["sources"] == {}


def test_pii_scan_finds_a_planted_value_and_reports_counts_only(built, tmp_path):
    values = raw_pii_values(built["raw"])
    email = sorted(values["sellers.email"])[0]
    # A signal value that is not also a seller's phone number (phones are signals too).
    signal = min(values["seller_identity_signals.signal_value"] - values["sellers.phone"])
    (tmp_path / "static_index.html").write_text(f'<p>{{"sample": "{email}"}}</p> {signal}!')
    (tmp_path / "catalog.json").write_text('{"nodes": {}}')
    leaks = pii_leaks(tmp_path, built["raw"])
    assert leaks == {
        "static_index.html": {"sellers.email": 1, "seller_identity_signals.signal_value": 1}
    }
    report = describe_leaks(leaks)
    assert "static_index.html: 1 raw value(s) of sellers.email" in report
    assert email not in report and signal not in report


def test_text_index_matches_plain_substring_search():
    text = "order 1304 Jalan Bukit Bintang, #36-127 and dv-20b5b58dff35071d; +65 9785 1025"
    values = [
        "1304 Jalan Bukit Bintang, #36-127",
        "dv-20b5b58dff35071d",
        "+65 9785 1025",
        "+65 9785 1026",
        "Jalan Bukit Bintang, #36-128",
        "dv-2",
        "zz",
    ]
    index = TextIndex(text)
    assert index.find(values) == [v for v in values if v in text]


def test_metric_glossary_is_the_metrics_description(manifest):
    docs = manifest["docs"]
    assert len(NORTH_STAR_METRICS) == 7
    for metric in NORTH_STAR_METRICS:
        node = manifest["metrics"][f"metric.{PROJECT}.{metric}"]
        block = docs[f"doc.{PROJECT}.metric_{metric}"]["block_contents"]
        assert node["description"] == block, metric
        assert node["type"] == "ratio"
        for part in (
            "**Meaning.**",
            "**Formula.**",
            "**Interval.**",
            "**Cohort and maturity.**",
            "**Owner.**",
        ):
            assert part in node["description"], (metric, part)
        assert node["meta"]["owner"] in node["description"]


def test_every_model_and_seed_has_an_owner_and_a_known_sensitivity(manifest):
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")]
    assert len(nodes) > 30
    missing = [n["name"] for n in nodes if not n["meta"].get("owner")]
    assert missing == []
    unknown = {
        n["name"]: n["meta"].get("sensitivity")
        for n in nodes
        if n["meta"].get("sensitivity") not in SENSITIVITY_LEVELS
    }
    assert unknown == {}
    by_name = {n["name"]: n["meta"]["sensitivity"] for n in nodes}
    assert by_name["stg_marketplace__sellers"] == "pseudonymised-pii"
    assert by_name["metrics_daily"] == "internal-aggregate"
    assert by_name["fct_listing_outcomes"] == "internal-record-level"
    for source in manifest["sources"].values():
        assert source["meta"]["sensitivity"] == "restricted-pii", source["name"]


def test_exposures_name_their_owner_and_the_tables_they_read(manifest):
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    dashboard, feed = exposures["governance_dashboard"], exposures["alert_feed"]
    assert dashboard["type"] == "dashboard"
    assert set(dashboard["depends_on"]["nodes"]) >= {
        f"model.{PROJECT}.metrics_daily",
        f"model.{PROJECT}.metric_anomalies",
    }
    assert f"model.{PROJECT}.metric_anomalies" in feed["depends_on"]["nodes"]
    for exposure in (dashboard, feed):
        assert exposure["owner"]["email"] == "trust-safety-analytics@example.com"
        assert exposure["owner"]["name"]
