"""How well detection works, measured against the simulator's planted ground truth.

Reads the built warehouse (published tables only) and a ground-truth folder and reports:

* anomalies — precision, recall and F1 of `metric_anomalies` on the planted incidents, and of
  the usual mean ± 3 sd test on the same series;
* syndicates — pairwise precision, recall, F1 and adjusted Rand index of `seller_syndicates`
  against the planted rings, overall, per ring shape and per strength bucket (adoption
  spread, size, missing values, public hub), the share of innocent sharing pairs
  joined into a syndicate, and naive connected components over every shared signal
  (conventions in `governance.syndicate_evaluation`);
* risk — ROC AUC, average precision and precision at the top 1% / 5% of `seller_risk_scores`
  on the out-of-time sellers, against the planted bad sellers.

Matching rules for anomalies (documented so the figures can be reproduced):

* A planted incident row (incident × metric × segment) is *detected* when a flag of the same
  metric and segment, in the incident's direction, falls within its window. The window is the
  incident's date range widened by ``tolerance_days``; for lasting level shifts (ranges longer
  than ``level_shift_days``) only the first ``level_shift_days`` count, since a forecaster
  rightly adapts to a new level.
* Flags of one series on consecutive days (gaps up to one day) form one *alarm*. An alarm is a
  true positive when it overlaps the window of a planted incident of the same metric in a
  related segment: for region and category alike, equal, or one of the two is ``ALL``, taking
  the incident's most specific segment (an attack in VN × electronics relates to VN ×
  electronics and its roll-ups VN × ALL, ALL × electronics, ALL × ALL; a marketplace-wide
  incident relates to every segment).
* Only incidents inside the judged period (days with a p-value) are counted, and only flags on
  or after the simulation's first day (``start_date`` of the truth manifest): the simulator
  also writes the sellers and listings that existed before it, but enforces nothing before its
  first day, so the metric cohorts of the weeks before it are only partly enforced — a warm-up
  with no ground truth to score against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from governance.detection.anomaly import baseline_mean_3sd
from governance.detection.risk import precision_at_k
from governance.syndicate_evaluation import (
    adjusted_rand,
    innocent_join_share,
    naive_connected_components,
    pairwise_prf,
    ring_strengths,
    score_by_shape,
)


@dataclass(frozen=True)
class MatchRules:
    tolerance_days: int = 1
    level_shift_days: int = 7
    alarm_gap_days: int = 1


def _read(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _windows(incidents: pd.DataFrame, rules: MatchRules) -> pd.DataFrame:
    inc = incidents.copy()
    inc["start_date"] = pd.to_datetime(inc["start_date"])
    inc["end_date"] = pd.to_datetime(inc["end_date"])
    span = (inc["end_date"] - inc["start_date"]).dt.days + 1
    shift = span > rules.level_shift_days * 2
    end = inc["end_date"].where(
        ~shift, inc["start_date"] + pd.Timedelta(days=rules.level_shift_days)
    )
    tol = pd.Timedelta(days=rules.tolerance_days)
    inc["window_start"] = inc["start_date"] - tol
    inc["window_end"] = end + tol
    return inc


def _alarms(flags: pd.DataFrame, gap_days: int) -> pd.DataFrame:
    """Group flagged rows into runs per series."""
    if flags.empty:
        return pd.DataFrame(columns=["metric_name", "region", "category", "first", "last"])
    f = flags.sort_values(["metric_name", "region", "category", "metric_date"]).copy()
    f["metric_date"] = pd.to_datetime(f["metric_date"])
    key = ["metric_name", "region", "category"]
    new_series = (f[key] != f[key].shift()).any(axis=1)
    gap = f["metric_date"].diff().dt.days.fillna(999) > gap_days + 1
    f["alarm"] = (new_series | gap).cumsum()
    return f.groupby("alarm").agg(
        metric_name=("metric_name", "first"),
        region=("region", "first"),
        category=("category", "first"),
        first=("metric_date", "min"),
        last=("metric_date", "max"),
    )


def _related(a: str, b: str) -> bool:
    return a == b or a == "ALL" or b == "ALL"


def _most_specific(windows: pd.DataFrame) -> pd.Series:
    """Rows of an incident × metric that are not a roll-up of another of its rows: an attack
    planted in VN × electronics relates alarms to VN × electronics and its roll-ups, not to
    every segment under ALL × ALL."""
    keep = []
    for row in windows.itertuples():
        siblings = windows[
            (windows["incident_id"] == row.incident_id)
            & (windows["metric_name"] == row.metric_name)
        ]
        keep.append(
            not any(
                (other.region, other.category) != (row.region, row.category)
                and row.region in ("ALL", other.region)
                and row.category in ("ALL", other.category)
                for other in siblings.itertuples()
            )
        )
    return pd.Series(keep, index=windows.index)


def score_flags(
    flags: pd.DataFrame, incidents: pd.DataFrame, rules: MatchRules = MatchRules()
) -> dict:
    """Precision / recall / F1 of flagged rows (metric_name, region, category, metric_date,
    direction) against planted incident rows."""
    windows = _windows(incidents, rules)
    flags = flags.copy()
    flags["metric_date"] = pd.to_datetime(flags["metric_date"])

    detected = []
    for inc in windows.itertuples():
        hit = flags[
            (flags["metric_name"] == inc.metric_name)
            & (flags["region"] == inc.region)
            & (flags["category"] == inc.category)
            & (flags["metric_date"] >= inc.window_start)
            & (flags["metric_date"] <= inc.window_end)
        ]
        if "direction" in hit.columns and hit["direction"].notna().any():
            hit = hit[hit["direction"] == inc.direction]
        detected.append(len(hit) > 0)
    windows["detected"] = detected

    alarms = _alarms(flags, rules.alarm_gap_days)
    specific = windows[_most_specific(windows)]
    true_alarm = []
    for alarm in alarms.itertuples():
        candidates = specific[specific["metric_name"] == alarm.metric_name]
        true_alarm.append(
            any(
                _related(alarm.region, inc.region)
                and _related(alarm.category, inc.category)
                and alarm.first <= inc.window_end
                and alarm.last >= inc.window_start
                for inc in candidates.itertuples()
            )
        )
    n_alarms = len(alarms)
    precision = float(np.mean(true_alarm)) if n_alarms else 0.0
    recall = float(np.mean(detected)) if len(detected) else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "alarms": n_alarms,
        "true_alarms": int(np.sum(true_alarm)),
        "incident_rows": len(windows),
        "incident_rows_detected": int(np.sum(detected)),
        "missed": windows.loc[~windows["detected"], ["incident_id", "metric_name", "region",
                                                    "category"]].to_dict("records"),
    }  # fmt: skip


def evaluate_anomalies(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> dict:
    incidents = pd.read_parquet(Path(truth_dir) / "incidents.parquet")
    judged = _read(
        con,
        "select metric_name, min(metric_date) as first_judged, max(metric_date) as last_judged "
        "from main.metric_anomalies where p_value is not null group by metric_name",
    )
    incidents = incidents.merge(judged, on="metric_name", how="inner")
    start = pd.to_datetime(incidents["start_date"])
    inside = (start >= pd.to_datetime(incidents["first_judged"])) & (
        start <= pd.to_datetime(incidents["last_judged"])
    )
    incidents = incidents[inside]

    detector = _read(
        con,
        "select metric_name, region, category, metric_date, direction "
        "from main.metric_anomalies where is_anomaly",
    )
    manifest = Path(truth_dir) / "manifest.json"
    start = json.loads(manifest.read_text()).get("start_date") if manifest.exists() else None
    if start is not None:
        detector = detector[pd.to_datetime(detector["metric_date"]) >= pd.Timestamp(start)]
    metrics = _read(con, "select * from main.metrics_daily where is_mature")
    baseline = baseline_mean_3sd(metrics)
    baseline = baseline[baseline["is_anomaly"]].copy()
    baseline["direction"] = np.where(baseline["value"] >= baseline["baseline_mean"], "up", "down")
    first_judged = judged.set_index("metric_name")["first_judged"]
    baseline = baseline[
        pd.to_datetime(baseline["metric_date"])
        >= pd.to_datetime(baseline["metric_name"].map(first_judged))
    ]
    if start is not None:
        baseline = baseline[pd.to_datetime(baseline["metric_date"]) >= pd.Timestamp(start)]
    return {
        "detector": score_flags(detector, incidents),
        "baseline_mean_3sd": score_flags(baseline, incidents),
        "planted_incidents": sorted(incidents["incident_id"].unique().tolist()),
    }


def evaluate_syndicates(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> dict:
    truth_dir = Path(truth_dir)
    truth = pd.read_parquet(truth_dir / "sellers.parquet", columns=["seller_id", "ring_id"])
    truth = truth.set_index("seller_id")["ring_id"]
    predicted = _read(con, "select seller_id, syndicate_id from main.seller_syndicates")
    predicted = predicted.set_index("seller_id")["syndicate_id"].reindex(truth.index)
    links = _read(
        con,
        "select seller_id, signal_type, signal_value_hash "
        "from intermediate.int_seller_identity_links where n_sellers_sharing > 1",
    )
    naive = naive_connected_components(links).set_index("seller_id")["cluster_id"]
    naive = naive.reindex(truth.index)
    out = {}
    for name, labels in (("detector", predicted), ("naive_connected_components", naive)):
        prf = pairwise_prf(labels, truth)
        out[name] = {**prf, "adjusted_rand": adjusted_rand(labels, truth)}
    rings = pd.read_parquet(truth_dir / "rings.parquet")
    if "shape" in rings.columns:
        out["by_shape"] = score_by_shape(predicted, truth, rings.set_index("ring_id")["shape"])
    strengths = ring_strengths(rings)
    if strengths:
        out["by_strength"] = {
            name: score_by_shape(predicted, truth, labels) for name, labels in strengths.items()
        }
    sharing = truth_dir / "innocent_sharing.parquet"
    if sharing.exists():
        out["innocent_pairs"] = innocent_join_share(predicted, truth, pd.read_parquet(sharing))
    out["planted_rings"] = int(truth.nunique())
    out["detected_syndicates"] = int(predicted.nunique())
    return out


def evaluate_risk(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> dict:
    truth = pd.read_parquet(Path(truth_dir) / "sellers.parquet", columns=["seller_id", "is_bad"])
    scores = _read(
        con,
        "select seller_id, risk_score, model_version from main.seller_risk_scores "
        "where is_out_of_time",
    )
    merged = scores.merge(truth, on="seller_id", how="inner")
    y = merged["is_bad"].astype(int).to_numpy()
    s = merged["risk_score"].to_numpy()
    both = len(np.unique(y)) == 2
    return {
        "model_version": scores["model_version"].iloc[0] if len(scores) else None,
        "out_of_time_sellers": len(merged),
        "out_of_time_bad_sellers": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, s)) if both else None,
        "average_precision": float(average_precision_score(y, s)) if both else None,
        "precision_at_1pct": float(precision_at_k(y, s, 0.01)) if len(y) else None,
        "precision_at_5pct": float(precision_at_k(y, s, 0.05)) if len(y) else None,
    }


def evaluate(duckdb_path: Path, truth_dir: Path) -> dict:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return {
            "anomalies": evaluate_anomalies(con, truth_dir),
            "syndicates": evaluate_syndicates(con, truth_dir),
            "risk": evaluate_risk(con, truth_dir),
        }


def format_report(report: dict) -> str:
    lines = ["Detection against planted truth", ""]
    a = report["anomalies"]
    lines.append(f"Anomalies ({len(a['planted_incidents'])} planted incidents)")
    lines.append(f"  {'method':<30}{'precision':>10}{'recall':>10}{'F1':>8}{'alarms':>8}")
    for name in ("detector", "baseline_mean_3sd"):
        m = a[name]
        lines.append(
            f"  {name:<30}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>8.3f}"
            f"{m['alarms']:>8}"
        )
    lines += _syndicate_lines(report["syndicates"])
    r = report["risk"]
    lines += ["", f"Risk scores ({r['model_version']}, {r['out_of_time_sellers']} out-of-time "
              f"sellers, {r['out_of_time_bad_sellers']} bad)"]  # fmt: skip
    for key in ("roc_auc", "average_precision", "precision_at_1pct", "precision_at_5pct"):
        value = r[key]
        lines.append(f"  {key:<30}{'n/a' if value is None else f'{value:.3f}':>10}")
    return "\n".join(lines)


def _syndicate_lines(s: dict) -> list[str]:
    lines = ["", f"Syndicates ({s['planted_rings']} planted rings, "
             f"{s['detected_syndicates']} detected)"]  # fmt: skip
    lines.append(f"  {'method / ring shape':<30}{'precision':>10}{'recall':>10}{'F1':>8}{'ARI':>8}")
    rows = [(name, s[name]) for name in ("detector", "naive_connected_components")]
    rows += [(f"  {shape} ({m['rings']} rings)", m) for shape, m in s.get("by_shape", {}).items()]
    for name, m in rows:
        lines.append(
            f"  {name:<30}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>8.3f}"
            f"{m['adjusted_rand']:>8.3f}"
        )
    for name, buckets in s.get("by_strength", {}).items():
        if name == "shape_by_spread":
            continue
        lines.append(f"  by {name.replace('_', ' ')}:")
        for bucket, m in buckets.items():
            lines.append(
                f"    {bucket} ({m['rings']} rings)".ljust(32)
                + f"{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>8.3f}"
                f"{m['adjusted_rand']:>8.3f}"
            )
    innocent = s.get("innocent_pairs")
    if innocent:
        lines.append("  innocent sharing pairs joined into a syndicate:")
        for kind, m in innocent.items():
            lines.append(f"    {kind:<28}{m['joined']:>8} of {m['pairs']:<8} {m['share']:.4f}")
    return lines


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2, default=str)
