"""Metric alerts as incidents: grouping anomalous days, plain-language summaries, open incidents.

An *incident* gathers the anomalous days of one metric that belong to the same event:

- consecutive anomalous days of one series (metric × region × category) form a run, allowing
  ``max_gap_days`` quiet days inside it;
- a child series' run joins its parent's run when both fire at the same time (within the same
  gap): region × category under region × ALL and under ALL × category, and those under ALL × ALL.

The incident is named after its highest-level series (the *anchor*), so an attack in one segment
that also moves the marketplace-wide rate is one incident anchored on ALL × ALL, listing the
segment series under it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from datetime import date as _date
from pathlib import Path
from typing import Any

import pandas as pd

from governance import metric_registry
from governance.publish import REPORTING_DATE_SQL
from governance.severity import SEVERITY_LEVELS, SEVERITY_RANK

ALL = "ALL"
DEFAULT_OPEN_DAYS = 3
# Named segments carrying at least this share of the move make it "concentrated".
CONCENTRATED_SHARE = 0.5

INCIDENT_DAY_COLUMNS = {
    "incident_id": "string",
    "metric_name": "string",
    "region": "string",
    "category": "string",
    "metric_date": "datetime64[us]",
    "series_level": "int64",
    "is_anchor_series": "bool",
    "anchor_region": "string",
    "anchor_category": "string",
    "severity": "string",
    "severity_rank": "int64",
    "direction": "string",
    "value": "float64",
    "expected_value": "float64",
    "anomaly_score": "float64",
}

CHANGE_TYPE_WORDS = {
    "launch": "was launched",
    "threshold_change": "had its threshold changed",
    "rollback": "was rolled back",
    "retire": "was retired",
}


@dataclass(frozen=True)
class AlertParams:
    """Settings of incident grouping, from the dbt vars of the same names."""

    max_gap_days: int = 1

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> AlertParams:
        values = dict(values or {})
        raw = values.get("alert_max_gap_days", cls.max_gap_days)
        return cls(max_gap_days=_bounded_int("alert_max_gap_days", raw, 0, 30))


def _bounded_int(name: str, raw: Any, low: int, high: int) -> int:
    text = str(raw).strip()
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number != int(number) or not low <= number <= high:
        raise ValueError(
            f"dbt var '{name}' must be a whole number between {low} and {high}, got '{text}'"
        )
    return int(number)


def series_level(region: str, category: str) -> int:
    """0 for ALL × ALL, 1 for one `ALL` roll-up, 2 for a region × category segment."""
    return int(region != ALL) + int(category != ALL)


def _parents(region: str, category: str) -> list[tuple[str, str]]:
    if region != ALL and category != ALL:
        return [(region, ALL), (ALL, category)]
    if region != ALL or category != ALL:
        return [(ALL, ALL)]
    return []


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def empty_incident_days() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in INCIDENT_DAY_COLUMNS.items()})


def assign_incidents(anomalies: pd.DataFrame, max_gap_days: int = 1) -> pd.DataFrame:
    """One row per anomalous series-day with the incident it belongs to.

    ``anomalies`` holds metric_anomalies rows (only those with ``is_anomaly`` true are used when
    the column is present). Returns the columns of :data:`INCIDENT_DAY_COLUMNS`; the incident id
    is ``metric|anchor region|anchor category|first day``, stable across rebuilds of the same data.
    """
    required = {"metric_name", "region", "category", "metric_date", "severity", "direction"}
    missing = sorted(required - set(anomalies.columns))
    if missing:
        raise ValueError(f"metric_anomalies is missing required columns: {missing}")
    if max_gap_days < 0:
        raise ValueError(f"max_gap_days must be 0 or more, got {max_gap_days}")
    df = _anomalous_days(anomalies)
    if df.empty:
        return empty_incident_days()
    df, runs = _series_runs(df, max_gap_days)
    runs["component"] = _joined_runs(runs, max_gap_days)
    incident = _incidents(runs)
    df = df.merge(runs[["run", "component", "level"]], on="run", how="left")
    df = df.merge(
        incident[["incident_id", "anchor_region", "anchor_category"]],
        left_on="component",
        right_index=True,
        how="left",
    )
    df["series_level"] = df["level"]
    df["is_anchor_series"] = (df["region"] == df["anchor_region"]) & (
        df["category"] == df["anchor_category"]
    )
    df["severity_rank"] = df["severity"].map(SEVERITY_RANK)
    out = df[list(INCIDENT_DAY_COLUMNS)].sort_values(
        ["incident_id", "series_level", "region", "category", "metric_date"]
    )
    return out.astype(INCIDENT_DAY_COLUMNS).reset_index(drop=True)


def _anomalous_days(anomalies: pd.DataFrame) -> pd.DataFrame:
    """The flagged rows (all rows without ``is_anomaly``) with day-grain dates and the optional
    columns present; empty when none. Raises ValueError on a severity outside the scale."""
    df = anomalies
    if "is_anomaly" in df.columns:
        df = df[df["is_anomaly"].fillna(False).astype(bool)]
    if df.empty:
        return df
    df = df.copy()
    for column in ("value", "expected_value", "anomaly_score"):
        if column not in df.columns:
            df[column] = math.nan
    df["metric_date"] = pd.to_datetime(df["metric_date"]).dt.normalize()
    unknown = sorted(set(df["severity"].dropna()) - set(SEVERITY_LEVELS))
    if unknown:
        raise ValueError(
            f"metric_anomalies.severity holds unknown levels {unknown}; expected {SEVERITY_LEVELS}"
        )
    return df


def _series_runs(df: pd.DataFrame, max_gap_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs of one series: a new run starts after more than ``max_gap_days`` quiet days.
    Returns the days (sorted, with their ``run``) and one row per run (first and last day,
    days, peak |score|, segment level)."""
    df = df.sort_values(["metric_name", "region", "category", "metric_date"]).reset_index(drop=True)
    step = df.groupby(["metric_name", "region", "category"])["metric_date"].diff().dt.days
    df["run"] = (step.isna() | (step > max_gap_days + 1)).cumsum() - 1
    runs = (
        df.groupby("run")
        .agg(
            metric_name=("metric_name", "first"),
            region=("region", "first"),
            category=("category", "first"),
            first=("metric_date", "min"),
            last=("metric_date", "max"),
            n_days=("metric_date", "size"),
            peak=("anomaly_score", lambda s: s.abs().max()),
        )
        .reset_index()
    )
    runs["level"] = [
        series_level(r, c) for r, c in zip(runs["region"], runs["category"], strict=True)
    ]
    return df, runs


def _joined_runs(runs: pd.DataFrame, max_gap_days: int) -> list[int]:
    """The component of each run: a child run joins every parent run of the same metric it
    overlaps (a gap of ``max_gap_days`` allowed)."""
    reach = pd.Timedelta(days=max_gap_days + 1)
    components = _UnionFind(len(runs))
    by_series: dict[tuple[str, str, str], list[int]] = {}
    for i, row in runs.iterrows():
        by_series.setdefault((row.metric_name, row.region, row.category), []).append(i)
    for i, row in runs.iterrows():
        for parent in _parents(row.region, row.category):
            for j in by_series.get((row.metric_name, *parent), []):
                other = runs.loc[j]
                if other["first"] <= row["last"] + reach and row["first"] <= other["last"] + reach:
                    components.union(i, j)
    return [components.find(i) for i in range(len(runs))]


def _incidents(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per component: its anchor (the highest-level run, then the longest, the
    strongest), first day, metric and id ``metric|anchor region|anchor category|first day``."""
    ordered = runs.assign(neg_days=-runs["n_days"], neg_peak=-runs["peak"].fillna(0.0))
    ordered = ordered.sort_values(
        ["component", "level", "neg_days", "neg_peak", "region", "category"]
    )
    anchors = ordered.groupby("component").first()[["region", "category"]]
    incident = pd.DataFrame(
        {
            "anchor_region": anchors["region"],
            "anchor_category": anchors["category"],
            "first": runs.groupby("component")["first"].min(),
        }
    )
    incident["metric_name"] = runs.groupby("component")["metric_name"].first()
    incident["incident_id"] = [
        f"{m}|{r}|{c}|{f:%Y-%m-%d}"
        for m, r, c, f in zip(
            incident["metric_name"],
            incident["anchor_region"],
            incident["anchor_category"],
            incident["first"],
            strict=True,
        )
    ]
    return incident


# --------------------------------------------------------------------------- summaries


def _day(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "an unknown day"
    stamp = pd.Timestamp(value)
    return f"{stamp.day} {stamp:%b %Y}"


def _pct(value: Any) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return f"{100 * float(value):.1f}%"


def _points(value: float) -> str:
    return f"{100 * value:+.1f} points"


def _scope(region_name: str, category_name: str) -> str:
    if region_name == ALL and category_name == ALL:
        return "the whole marketplace"
    if category_name == ALL:
        return f"{region_name} (all categories)"
    if region_name == ALL:
        return f"{category_name} (all regions)"
    return f"{region_name} × {category_name}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _volume(before: Any, after: Any) -> str:
    if before is None or after is None or pd.isna(before) or pd.isna(after):
        return ""
    return f"{float(before):.0f} to {float(after):.0f} a day"


def _change_sentence(ch: Mapping[str, Any]) -> str:
    """'<strategy> (<id>) <did what> on <day> ("<description>"); its flags went from x to y'."""
    name = f"{ch.get('strategy_name') or ch['strategy_id']} ({ch['strategy_id']})"
    what = CHANGE_TYPE_WORDS.get(str(ch.get("change_type")), "was changed")
    sentence = f"{name} {what} on {_day(ch.get('change_date'))}"
    description = ch.get("change_description")
    if description and not pd.isna(description):
        sentence += f" (“{description}”)"
    hits = _volume(ch.get("hits_per_day_before"), ch.get("hits_per_day_after"))
    enforced = _volume(
        ch.get("enforced_hits_per_day_before"), ch.get("enforced_hits_per_day_after")
    )
    if hits:
        sentence += f"; its flags went from {hits}"
        if enforced and enforced != hits:
            sentence += f" and its enforced flags from {enforced}"
    return sentence


def _share_text(ch: Mapping[str, Any]) -> str:
    if not ch.get("feeds_metric", True):
        return "its strategy's actions do not count in this metric"
    share = ch.get("excess_share")
    if share is None or pd.isna(share):
        return "its part of the move cannot be measured (too little history before it)"
    return (
        f"its own actions after the change account for {max(float(share), 0.0):.0%} of the excess"
    )


def _numerator_words(metric_name: str) -> tuple[str, str, Callable[[float], str]]:
    """What the metric's numerator counts, the actions behind it (the metric registry's
    `alert_words`) and how an amount of it reads ("12" listings, "$1,234" of GMV)."""
    try:
        metric = metric_registry.load().metric(metric_name)
    except KeyError:
        return "numerator events", "actions", lambda value: f"{value:.0f}"
    words = metric.alert_words or {}
    noun = words.get("members", "numerator events")
    return noun, words.get("actions", "actions"), metric.format_count


def _cause_text(incident: Mapping[str, Any], changes: list, rose: bool) -> str:
    """The root-cause sentences: the change that explains the excess with its share, or that
    no change of ours precedes it (see governance.root_cause)."""
    likely = [ch for ch in changes if ch.get("is_likely_cause")]
    if likely:
        noun, actions, amount = _numerator_words(str(incident.get("metric_name")))
        parts = []
        for ch in likely:
            share = float(ch["excess_share"])
            excess = float(ch["excess_events"])
            where = "over" if rose else "below"
            extra = float(ch["strategy_excess_events"])
            portion = "all" if share >= 1.0 else f"{share:.0%}"
            gap = "excess" if rose else "shortfall"
            parts.append(
                f"{_change_sentence(ch)}; its own extra {actions} after the change account for "
                f"{portion} of the {gap} ({amount(extra)} {'extra' if rose else 'fewer'} {noun}; "
                f"the {gap} is {amount(excess)} {where} the expected "
                f"{amount(float(ch['expected_events']))})"
            )
        text = "A change to our own detection precedes it and explains it: " + "; ".join(parts)
        rest = [ch for ch in changes if not ch.get("is_likely_cause")]
        if rest:
            text += ". Other changes in the period explain little: " + "; ".join(
                f"{_change_sentence(ch)}, {_share_text(ch)}" for ch in rest
            )
        return text + ". Review that change first."
    if changes:
        return (
            "No change of ours precedes it and explains it: "
            + "; ".join(f"{_change_sentence(ch)}, {_share_text(ch)}" for ch in changes)
            + ". A change on the marketplace itself (for example a coordinated attack, a "
            "promotion or a data problem) is the more likely cause; start with the segments "
            "named above."
        )
    return (
        "No change to our detection strategies precedes it, so a change on the marketplace "
        "itself (for example a coordinated attack, a promotion or a data problem) is the more "
        "likely cause; start with the segments named above."
    )


def summarize_incident(
    incident: Mapping[str, Any],
    segments: Iterable[Mapping[str, Any]] = (),
    changes: Iterable[Mapping[str, Any]] = (),
) -> str:
    """A paragraph a policy manager can read: what moved, where, and whether a change of our
    own detection explains it (``changes``: rows of int_alert_incident_changes, with the share
    of the excess each change's strategy accounts for; see governance.root_cause)."""
    label = str(incident.get("metric_label") or incident["metric_name"])
    scope = _scope(
        str(incident.get("anchor_region_name") or incident["anchor_region"]),
        str(incident.get("anchor_category_name") or incident["anchor_category"]),
    )
    rose = incident.get("direction") != "down"
    verb = "rose" if rose else "fell"
    n_days = int(incident.get("n_anomalous_days") or 1)
    first, last = incident.get("first_day"), incident.get("last_day")
    span = (
        f"on {_day(first)}"
        if pd.Timestamp(first) == pd.Timestamp(last)
        else f"from {_day(first)} to {_day(last)}"
    )
    days = "one day" if n_days == 1 else f"{n_days} days"
    text = [
        f"{label} for {scope} {verb} well outside its usual range {span} ({days} flagged). "
        f"At its peak on {_day(incident.get('peak_date'))} it stood at "
        f"{_pct(incident.get('peak_value'))} against about "
        f"{_pct(incident.get('peak_expected_value'))} expected; severity "
        f"{incident.get('severity', 'unknown')}."
    ]

    segments = list(segments)
    parts = []
    for seg in segments:
        where = _scope(
            str(seg.get("region_name") or seg["region"]),
            str(seg.get("category_name") or seg["category"]),
        )
        how = (
            "its own rate changed"
            if abs(seg.get("rate_effect") or 0.0) >= abs(seg.get("mix_effect") or 0.0)
            else "its share of the volume changed"
        )
        parts.append(f"{where} ({_points(float(seg['contribution']))}, mainly because {how})")
    if parts:
        total = incident.get("attributed_change")
        named = sum(float(seg["contribution"]) for seg in segments)
        if total is None or pd.isna(total) or float(total) == 0:
            text.append(
                f"Compared with a week earlier, the largest contributions came from {_join(parts)}."
            )
        elif named / float(total) >= CONCENTRATED_SHARE:
            text.append(
                f"Compared with a week earlier the rate moved {_points(float(total))}, and the "
                f"move is concentrated: {_join(parts)}."
            )
        else:
            text.append(
                f"Compared with a week earlier the rate moved {_points(float(total))}, spread "
                f"across many segments rather than concentrated in a few; the largest "
                f"contributions were {_join(parts)}."
            )

    text.append(_cause_text(incident, list(changes), rose))
    others = incident.get("related_series")
    if others and not pd.isna(others):
        text.append(f"Also flagged within this incident: {others}.")
    return " ".join(text)


def summarize_incidents(
    incidents: pd.DataFrame, segments: pd.DataFrame, changes: pd.DataFrame
) -> pd.DataFrame:
    """Summary paragraph per incident: ``incident_id``, ``summary``."""
    if not segments.empty:
        segments = segments.sort_values(["incident_id", "segment_rank"])
    seg_by = {k: g.to_dict("records") for k, g in segments.groupby("incident_id")}
    if not changes.empty:
        changes = changes.sort_values(["incident_id", "change_rank"])
    ch_by = {k: g.to_dict("records") for k, g in changes.groupby("incident_id")}
    rows = []
    for rec in incidents.to_dict("records"):
        segs = seg_by.get(rec["incident_id"], [])
        if segs and "mean_total_change" in segs[0]:
            rec["attributed_change"] = segs[0]["mean_total_change"]
        summary = summarize_incident(rec, segs, ch_by.get(rec["incident_id"], []))
        rows.append({"incident_id": rec["incident_id"], "summary": summary})
    return pd.DataFrame(
        rows or None, columns=["incident_id", "summary"], dtype="string"
    ).reset_index(drop=True)


# --------------------------------------------------------------------------- reading alerts

OPEN_INCIDENTS_SQL = f"""
with report as (
    select coalesce(cast(? as date), ({REPORTING_DATE_SQL})) as report_date
),
judged as (
    select a.metric_name, max(a.metric_date) as latest_judged_date
    from detection.metric_anomalies as a
    cross join report as r
    where a.metric_date <= r.report_date
    group by a.metric_name
)
select r.report_date, j.latest_judged_date, al.* exclude (latest_judged_date, is_open)
from monitoring.alerts as al
inner join judged as j on al.metric_name = j.metric_name
cross join report as r
where al.first_day <= r.report_date
    and al.last_day >= j.latest_judged_date - cast(? as integer)
order by al.severity_rank desc, al.last_day desc, al.incident_id
"""


def open_incidents(
    duckdb_path: str | Path | None = None,
    date: str | date | datetime | None = None,
    open_days: int = DEFAULT_OPEN_DAYS,
) -> list[dict]:
    """Incidents open on ``date`` (default: the latest metric date), most severe first.

    An incident is open when it started on or before the day and its last anomalous day is at
    most ``open_days`` days before the latest day its metric has been judged on (cohort metrics
    are judged only once mature, so a listing metric's latest judged day trails by a week).
    Each incident is a dict of the `alerts` columns, with ``report_date`` and
    ``latest_judged_date`` as of ``date`` in place of the build's ``latest_judged_date`` and
    ``is_open``.
    """
    import duckdb

    from governance import settings

    if open_days < 0:
        raise ValueError(f"open_days must be 0 or more, got {open_days}")
    day = None
    if isinstance(date, datetime):
        day = date.date()
    elif isinstance(date, _date):
        day = date
    elif date is not None:
        try:
            day = _date.fromisoformat(str(date).strip())
        except ValueError as exc:
            raise ValueError(f"date must be written YYYY-MM-DD, got '{date}'") from exc
    path = Path(duckdb_path or settings.duckdb_path())
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `governance build` first")
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.execute(OPEN_INCIDENTS_SQL, [day, open_days]).df()
    records = []
    for rec in frame.to_dict("records"):
        records.append({k: _plain(v) for k, v in rec.items()})
    return records


def latest_metric_date(duckdb_path: str | Path | None = None) -> date | None:
    """The latest day of metrics_daily: the default day of :func:`open_incidents`."""
    import duckdb

    from governance import settings

    path = Path(duckdb_path or settings.duckdb_path())
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute(REPORTING_DATE_SQL).fetchone()
    return _plain(row[0]) if row else None


def _plain(value: Any) -> Any:
    """pandas/numpy scalars to plain Python values (dates as datetime.date)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, datetime):
        return value.date()
    return value


def format_incidents(incidents: list[dict], report_date: Any = None, width: int = 100) -> str:
    """Terminal rendering of open incidents, most severe first."""
    import textwrap

    day = report_date or (incidents[0]["report_date"] if incidents else None)
    header = f"Open incidents on {_day(day) if day else 'the latest metric date'}"
    if not incidents:
        return f"{header}: none."
    lines = [f"{header}: {len(incidents)}", ""]
    for inc in incidents:
        span = f"{inc['first_day']} to {inc['last_day']}"
        lines.append(
            f"[{str(inc['severity']).upper()}] {inc['metric_name']} · "
            f"{inc['anchor_region']} × {inc['anchor_category']} · {span}"
        )
        if inc.get("top_segments"):
            lines.append(f"  segments: {inc['top_segments']}")
        if inc.get("strategy_changes"):
            lines.append(f"  strategy changes: {inc['strategy_changes']}")
        wrapped = textwrap.fill(
            str(inc.get("summary") or ""),
            width=width,
            initial_indent="  ",
            subsequent_indent="  ",
        )
        lines += [wrapped, ""]
    return "\n".join(lines).rstrip()
