"""The documentation site: build it with dbt, check it holds no raw PII, render it in Chromium.

``dbt docs generate --static`` writes one self-contained page, ``static_index.html``, with the
manifest and the catalog inlined, so the site can be opened from disk or published as a single
file. Before it is handed out, every file of the site is scanned for the raw values of the PII
columns of the raw export (sellers' legal names, emails and phones, identity-signal values).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq

from governance import settings
from governance.warehouse import run_dbt

# The published page (dbt's page template with the manifest and the catalog inlined) and the two
# artefacts `dbt docs serve` would serve beside it.
SITE_FILES = ("static_index.html", "manifest.json", "catalog.json")

# Raw tables and their PII columns, as declared (meta pii: true) in the raw-data contract.
PII_COLUMNS = {
    "sellers": ("legal_name", "email", "phone"),
    "seller_identity_signals": ("signal_value",),
}

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
)

_NGRAM = 6


class DocsError(RuntimeError):
    """The docs site could not be built, or it holds raw PII."""


def build_site(
    raw_dir: Path | None = None,
    duckdb_path: Path | None = None,
    target_path: Path | None = None,
    quiet: bool = True,
) -> Path:
    """Run ``dbt docs generate --static`` and return the path of ``static_index.html``.

    Without a built warehouse the site is still built, with an empty catalog (no column types),
    against a throw-away database instead of creating an empty warehouse file.
    """
    from governance.publish import whole_build

    target = Path(target_path or settings.project_dir() / "target")
    # The catalog (column types) of every model: the build's state beside the published file.
    db = whole_build(Path(duckdb_path or settings.duckdb_path()))
    args = ["docs", "generate", "--static"]
    # `docs generate` rewrites run_results.json with its compile results; keep the last
    # build's, which `governance summary` reports from.
    run_results = target / "run_results.json"
    last_build = run_results.read_bytes() if run_results.exists() else None
    with tempfile.TemporaryDirectory(prefix="governance-docs-") as scratch:
        if not db.exists():
            db = Path(scratch) / "empty.duckdb"
            args.append("--empty-catalog")
        try:
            process = run_dbt(
                args, raw_dir=raw_dir, duckdb_path=db, target_path=target, quiet=quiet
            )
        finally:
            if last_build is not None:
                run_results.write_bytes(last_build)
    site = target / "static_index.html"
    if process.returncode != 0 or not site.exists():
        detail = (process.stdout or "")[-4000:] if quiet else ""
        raise DocsError(f"dbt docs generate failed (exit {process.returncode}).\n{detail}")
    return site


def raw_pii_values(raw_dir: Path) -> dict[str, set[str]]:
    """Distinct raw values of every PII column, keyed `table.column`; tables absent are skipped."""
    values: dict[str, set[str]] = {}
    for table, columns in PII_COLUMNS.items():
        folder = Path(raw_dir) / table
        if not folder.is_dir() or not any(folder.glob("*.parquet")):
            continue
        data = pq.read_table(folder, columns=list(columns))
        for column in columns:
            values[f"{table}.{column}"] = {
                str(v) for v in data.column(column).to_pylist() if v is not None and str(v)
            }
    return values


class TextIndex:
    """Substring search of many values in one long text.

    A value can only occur if every one of its 6-character pieces does, so the text is indexed
    once by its 6-grams and only the few values that pass are searched for in full.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._grams = {text[i : i + _NGRAM] for i in range(len(text) - _NGRAM + 1)}

    def __contains__(self, value: str) -> bool:
        pieces = (value[j : j + _NGRAM] for j in range(0, len(value) - _NGRAM + 1, _NGRAM))
        if len(value) >= _NGRAM and not all(p in self._grams for p in pieces):
            return False
        return value in self.text

    def find(self, values: Iterable[str]) -> list[str]:
        """The values that occur in the text."""
        return [v for v in values if v in self]


def pii_leaks(site_dir: Path, raw_dir: Path) -> dict[str, Counter]:
    """Raw PII values found in the site's files: {file name: Counter(`table.column`: n values)}.

    Only counts are returned, never the values, so the result can be printed or logged.
    """
    values = raw_pii_values(raw_dir)
    leaks: dict[str, Counter] = {}
    for name in SITE_FILES:
        path = Path(site_dir) / name
        if not path.exists():
            continue
        index = TextIndex(path.read_text(encoding="utf-8", errors="replace"))
        counts = Counter({column: len(index.find(vals)) for column, vals in values.items()})
        counts = +counts  # drop zeros
        if counts:
            leaks[name] = counts
    return leaks


def describe_leaks(leaks: dict[str, Counter]) -> str:
    return "\n".join(
        f"  - {name}: {n} raw value(s) of {column}"
        for name, counts in leaks.items()
        for column, n in sorted(counts.items())
    )


def chromium_executable() -> str | None:
    """Path of a Chromium binary, or None when none is installed."""
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate) if os.sep not in candidate else candidate
        if found and Path(found).exists():
            return found
    return None


def _run_chromium(url: str, extra: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Load `url` in headless Chromium with a throw-away profile and no network chatter."""
    executable = chromium_executable()
    if executable is None:
        raise DocsError("Chromium is not installed (apt-get install chromium).")
    with tempfile.TemporaryDirectory(prefix="governance-chromium-") as profile:
        command = [
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            *extra,
            url,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def page_url(site: Path, route: str = "overview") -> str:
    """URL of a page of the static single-page site, e.g. route `metric/metric.<project>.<name>`."""
    return f"{Path(site).resolve().as_uri()}#!/{route}"


def render(url: str, screenshot: Path | None = None, size: str = "1400,1000") -> str:
    """The page's DOM after its scripts ran, as HTML; also saves a PNG screenshot if asked."""
    extra = ["--dump-dom"]
    if screenshot is not None:
        screenshot = Path(screenshot).resolve()
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.unlink(missing_ok=True)
        extra += [f"--screenshot={screenshot}", f"--window-size={size}"]
    process = _run_chromium(url, extra, timeout=120)
    if process.returncode != 0 or not process.stdout:
        raise DocsError(f"Chromium could not render {url}: {process.stderr[-2000:]}")
    if screenshot is not None and not screenshot.exists():
        raise DocsError(f"Chromium rendered {url} but wrote no screenshot to {screenshot}")
    return process.stdout


def visible_text(dom: str) -> str:
    """Text of the page's main panel (right of the navigation tree), whitespace collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    main = page.split('class="app-details', 1)[-1].split(">", 1)[-1]
    main = re.sub(r"<[^>]+>", " ", main)
    return re.sub(r"\s+", " ", html.unescape(main)).strip()


def links(dom: str) -> set[str]:
    """Every href of the page."""
    return {html.unescape(h) for h in re.findall(r'href="([^"]*)"', dom)}
