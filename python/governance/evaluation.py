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

The rules of the anomaly figures -- windows by incident shape, event precision, effect sizes
in multiples of each series' daily noise -- are documented in
:mod:`governance.anomaly_evaluation`. Only incidents inside the judged period (days with a
p-value) are counted, and only flags on or after the simulation's first day (``start_date`` of
the truth manifest): the simulator also writes the sellers and listings that existed before it,
but enforces nothing before its first day. A metric that counts through another metric's
records (the metric registry's ``via: metric``) takes that metric's incidents as consequences.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from governance import metric_registry
from governance.anomaly_evaluation import (
    MatchRules,
    baseline_mean_3sd,
    format_recall_table,
    score_flags,
)
from governance.detection.risk import precision_at_k
from governance.syndicate_evaluation import (
    adjusted_rand,
    innocent_join_share,
    naive_connected_components,
    pairwise_prf,
    ring_strengths,
    score_by_shape,
)


def _read(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def with_linked_metrics(incidents: pd.DataFrame) -> pd.DataFrame:
    """The planted incident rows, plus a consequence row on every metric whose numerator counts
    through another metric's records (`numerator_actions: via metric` in the metric registry:
    violating_gmv_share reads the violating listings of listing_violation_rate) for each row of
    that metric: the simulator plants incidents on the records, and both metrics count them."""
    linked = [
        incidents[incidents["metric_name"] == metric.numerator_actions["metric"]].assign(
            metric_name=metric.name, is_consequence=True
        )
        for metric in metric_registry.load().metrics
        if metric.feeds_via == "metric"
    ]
    return pd.concat([incidents, *linked], ignore_index=True)


def evaluate_anomalies(
    con: duckdb.DuckDBPyConnection, truth_dir: Path, rules: MatchRules | None = None
) -> dict:
    """Recall and event precision of `metric_anomalies` (and of the mean ± 3 sd test) against
    the planted incident rows, with recall by incident shape and effect size as counts."""
    rules = rules or MatchRules()
    incidents = with_linked_metrics(pd.read_parquet(Path(truth_dir) / "incidents.parquet"))
    judged = _read(
        con,
        "select metric_name, min(metric_date) as first_judged, max(metric_date) as last_judged "
        "from detection.metric_anomalies where p_value is not null group by metric_name",
    )
    incidents = incidents.merge(judged, on="metric_name", how="inner")
    start = pd.to_datetime(incidents["start_date"])
    inside = (start >= pd.to_datetime(incidents["first_judged"])) & (
        start <= pd.to_datetime(incidents["last_judged"])
    )
    incidents = incidents[inside].drop(columns=["first_judged", "last_judged"])

    detector = _read(
        con,
        "select metric_name, region, category, metric_date, direction "
        "from detection.metric_anomalies where is_anomaly",
    )
    manifest = Path(truth_dir) / "manifest.json"
    start = json.loads(manifest.read_text()).get("start_date") if manifest.exists() else None
    if start is not None:
        detector = detector[pd.to_datetime(detector["metric_date"]) >= pd.Timestamp(start)]
    metrics = _read(con, "select * from metrics.metrics_daily where is_mature")
    if "is_complete" in metrics.columns:
        metrics = metrics[metrics["is_complete"].fillna(False).astype(bool)]
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
        "detector": score_flags(detector, incidents, rules, metrics=metrics),
        "baseline_mean_3sd": score_flags(baseline, incidents, rules),
        "planted_incidents": sorted(incidents["incident_id"].unique().tolist()),
    }


def evaluate_syndicates(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> dict:
    truth_dir = Path(truth_dir)
    truth = pd.read_parquet(truth_dir / "sellers.parquet", columns=["seller_id", "ring_id"])
    truth = truth.set_index("seller_id")["ring_id"]
    predicted = _read(con, "select seller_id, syndicate_id from detection.seller_syndicates")
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
        "select seller_id, risk_score, model_version from detection.seller_risk_scores "
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
    """Scores the detection marts of a warehouse (the build state beside a published file, for
    the identity links the naive baseline reads) against the planted truth."""
    from governance.publish import whole_build

    with duckdb.connect(str(whole_build(duckdb_path)), read_only=True) as con:
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
    lines += _anomaly_tables(a["detector"])
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


def _anomaly_tables(detector: dict) -> list[str]:
    """Recall by incident shape x effect size (rows lasting >= 3 days) and the target line."""
    lines = format_recall_table(detector)
    if not lines:
        return []
    title = "Anomaly recall by shape and effect (multiples of the daily noise; detected/rows)"
    return ["", f"  {title}", *lines]


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2, default=str)
