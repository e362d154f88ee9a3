"""Data Docs of the expectation suites that work offline: plain HTML pages, no script, no font,
no image and no stylesheet from anywhere but the page itself.

Great Expectations' own Data Docs load their index table, icons and styles from CDNs, so with no
network the index shows no run at all. `governance validate` therefore keeps each run's results
as JSON (``runs/<run id>.json``) in the Data Docs folder and renders from them:

- ``index.html``: every kept run, newest first, with its verdict, counts and a link per suite;
- ``runs/<run id>.html``: one page per run, a section per suite with every expectation, its
  severity, its rule in words and what was observed.

The newest `keep` runs are kept; older ones are removed with their pages.
"""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

RUNS_DIR = "runs"
INDEX = "index.html"
#: Folders Great Expectations' own site builder wrote into the same folder in earlier versions.
GX_SITE_LEFTOVERS = ("expectations", "validations", "static")

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2a44;
       margin: 2rem auto; max-width: 1200px; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
p.sub { color: #64748b; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1.2rem; font-size: .92rem; }
th, td { text-align: left; padding: .35rem .55rem; border-bottom: 1px solid #e2e8f0;
         vertical-align: top; }
th { background: #f4f6fb; font-weight: 600; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: .7rem; font-weight: 600;
         font-size: .85rem; white-space: nowrap; }
.pass { background: #dcfce7; color: #166534; } .fail { background: #fee2e2; color: #991b1b; }
.warn { background: #fef3c7; color: #92400e; }
code { background: #f4f6fb; padding: 0 .25rem; border-radius: .2rem; }
a { color: #2563eb; }
"""

STATUS_BADGES = {
    "passed": ('<span class="badge pass" title="passed">&#10003; passed</span>'),
    "failed": ('<span class="badge fail" title="failed">&#10007; failed</span>'),
    "warning": ('<span class="badge warn" title="warning">! warning</span>'),
}


@dataclass(frozen=True)
class RunSummary:
    """What the index shows of one run."""

    run_id: str
    validated_at: str
    warehouse: str
    build_id: str | None
    success: bool
    n_expectations: int
    n_critical: int
    n_warnings: int
    suites: tuple[str, ...]


def expectation_status(expectation: dict) -> str:
    """`passed`, `failed` (a critical expectation failed) or `warning`."""
    if expectation["passed"]:
        return "passed"
    return "failed" if expectation["severity"] == "critical" else "warning"


def summarise(run: dict) -> RunSummary:
    expectations = [e for suite in run["suites"] for e in suite["expectations"]]
    statuses = [expectation_status(e) for e in expectations]
    return RunSummary(
        run_id=run["run_id"],
        validated_at=run["validated_at"],
        warehouse=run.get("warehouse") or "",
        build_id=run.get("build_id"),
        success=bool(run["success"]),
        n_expectations=len(expectations),
        n_critical=statuses.count("failed"),
        n_warnings=statuses.count("warning"),
        suites=tuple(suite["name"] for suite in run["suites"]),
    )


def write_run(docs_dir: Path, run: dict, keep: int) -> Path:
    """Store one run's results, prune to the newest `keep` runs, render every page; returns the
    index path."""
    runs = Path(docs_dir) / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    (runs / f"{run['run_id']}.json").write_text(json.dumps(run, indent=1, default=str) + "\n")
    for leftover in GX_SITE_LEFTOVERS:
        shutil.rmtree(Path(docs_dir) / leftover, ignore_errors=True)
    stored = sorted(runs.glob("*.json"), key=lambda p: p.stem, reverse=True)
    for old in stored[keep:]:
        old.unlink(missing_ok=True)
        old.with_suffix(".html").unlink(missing_ok=True)
    kept = [json.loads(path.read_text()) for path in stored[:keep]]
    for each in kept:
        (runs / f"{each['run_id']}.html").write_text(render_run(each))
    index = Path(docs_dir) / INDEX
    index.write_text(render_index([summarise(each) for each in kept]))
    return index


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def _verdict(success: bool) -> str:
    return STATUS_BADGES["passed" if success else "failed"]


def _rows(rows: Iterable[Iterable[str]]) -> str:
    return "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)


def render_index(runs: list[RunSummary]) -> str:
    """The list of validation runs, newest first."""
    header = (
        "<tr><th>Validated (UTC)</th><th>Result</th><th>Expectations</th>"
        "<th>Critical failures</th><th>Warnings</th><th>Suites</th><th>Warehouse</th></tr>"
    )
    body = [
        "<h1>Data Docs: expectation suites over the published warehouse</h1>",
        '<p class="sub">Great Expectations checkpoints of <code>governance validate</code> and the '
        "nightly job. A critical failure stops a night from publishing; warnings are reported. "
        f"{len(runs)} run(s), newest first.</p>",
    ]
    if not runs:
        body.append("<p>No validation run yet: run <code>governance validate</code>.</p>")
        return _page("Data Docs", "\n".join(body))
    rows = []
    for run in runs:
        page = f"{RUNS_DIR}/{html.escape(run.run_id)}.html"
        suites = ", ".join(
            f'<a href="{page}#{html.escape(s)}">{html.escape(s)}</a>' for s in run.suites
        )
        rows.append(
            [
                f'<a href="{page}">{html.escape(run.validated_at)}</a>',
                _verdict(run.success),
                str(run.n_expectations),
                str(run.n_critical),
                str(run.n_warnings),
                suites,
                html.escape(run.warehouse),
            ]
        )
    body.append(f'<table id="runs">{header}\n{_rows(rows)}</table>')
    return _page("Data Docs", "\n".join(body))


def render_run(run: dict) -> str:
    """One run: a section per suite with each expectation's status, rule and observation."""
    summary = summarise(run)
    build = ""
    if summary.build_id:
        build = f" &middot; build <code>{html.escape(summary.build_id)}</code>"
    body = [
        '<p><a href="../index.html">&larr; All validation runs</a></p>',
        f"<h1>Validation run {html.escape(run['validated_at'])}</h1>",
        f'<p class="sub">{_verdict(summary.success)} &middot; {summary.n_expectations} '
        f"expectations &middot; {summary.n_critical} critical failure(s) &middot; "
        f"{summary.n_warnings} warning(s) &middot; warehouse "
        f"<code>{html.escape(summary.warehouse)}</code>" + f"{build}</p>",
    ]
    header = (
        "<tr><th>Status</th><th>Expectation</th><th>Column(s)</th><th>Rule</th>"
        "<th>Severity</th><th>Observed</th></tr>"
    )
    for suite in run["suites"]:
        name = html.escape(suite["name"])
        rows_note = f'<span class="sub">({suite["rows"]:,} rows)</span>'
        body.append(f'<h2 id="{name}">{name} {rows_note}</h2>')
        ordered = sorted(
            suite["expectations"],
            key=lambda e: ("failed", "warning", "passed").index(expectation_status(e)),
        )
        rows = [
            [
                STATUS_BADGES[expectation_status(e)],
                f"<code>{html.escape(e['expectation'])}</code>",
                html.escape(", ".join(e["columns"])),
                html.escape(e["rule"]),
                html.escape(e["severity"]),
                html.escape(e["detail"]),
            ]
            for e in ordered
        ]
        body.append(f'<table class="suite">{header}\n{_rows(rows)}</table>')
    return _page(f"Validation run {run['validated_at']}", "\n".join(body))
