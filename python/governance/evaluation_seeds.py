"""Detection quality over several simulator seeds with one set of settings.

For each seed, :func:`evaluate_seeds` generates a marketplace of the given scale tier in its own
work folder (``<work_dir>/seed-<N>/raw``, ``truth``), builds a warehouse from it there (never
the demo warehouse) and runs :func:`governance.evaluation.evaluate` on it. The per-seed reports
are kept whole; :func:`aggregate` adds, for every number of the reports (anomalies,
syndicates, risk, whatever sections they hold), its mean, minimum and maximum over the seeds,
and pools the syndicate pair counts over the seeds (pairwise precision / recall / F1 of all
seeds' pairs together, overall, per ring shape and per strength bucket, and the innocent pairs
joined).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from governance.syndicate_evaluation import prf_from_pairs


def _flatten(report: dict, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int | float) and value is not None:
            out[name] = float(value)
    return out


def _pooled_pairs(reports: list[dict]) -> dict:
    """Syndicate pair counts summed over seeds, as pairwise precision / recall / F1."""
    syndicates = [r["syndicates"] for r in reports if "syndicates" in r]
    if not syndicates:
        return {}
    pooled: dict = {}

    def pool(rows: list[dict]) -> dict:
        pooled = prf_from_pairs(
            sum(r["tp_pairs"] for r in rows),
            sum(r["pred_pairs"] for r in rows),
            sum(r["true_pairs"] for r in rows),
        )
        if all("rings" in r for r in rows):
            pooled["rings"] = sum(r["rings"] for r in rows)
        return pooled

    def pool_labels(tables: list[dict]) -> dict:
        labels: list[str] = []  # each seed's order kept: a new label goes before the next
        for table in tables:  # label of its seed already placed
            order = list(table)
            for i, label in enumerate(order):
                if label in labels:
                    continue
                later = [labels.index(x) for x in order[i + 1 :] if x in labels]
                labels.insert(min(later) if later else len(labels), label)
        return {label: pool([t[label] for t in tables if label in t]) for label in labels}

    pooled["detector"] = pool([s["detector"] for s in syndicates])
    pooled["by_shape"] = pool_labels([s.get("by_shape", {}) for s in syndicates])
    dimensions = sorted({d for s in syndicates for d in s.get("by_strength", {})})
    pooled["by_strength"] = {
        d: pool_labels([s.get("by_strength", {}).get(d, {}) for s in syndicates])
        for d in dimensions
    }
    kinds = sorted({k for s in syndicates for k in s.get("innocent_pairs", {})})
    innocent = {}
    for kind in kinds:
        rows = [s["innocent_pairs"][kind] for s in syndicates if kind in s["innocent_pairs"]]
        pairs, joined = sum(r["pairs"] for r in rows), sum(r["joined"] for r in rows)
        innocent[kind] = {"pairs": pairs, "joined": joined, "share": joined / pairs if pairs else 0}
    pooled["innocent_pairs"] = innocent
    return pooled


def aggregate(reports: dict[int, dict]) -> dict:
    """Mean / min / max over seeds of every number in the per-seed reports, and the
    syndicate pairs pooled over seeds."""
    flat = {seed: _flatten(r) for seed, r in reports.items()}
    keys = sorted({k for f in flat.values() for k in f})
    stats = {}
    for key in keys:
        values = [f[key] for f in flat.values() if key in f]
        stats[key] = {
            "mean": sum(values) / len(values),
            "min": min(values),
            "max": max(values),
            "seeds": len(values),
        }
    return {"over_seeds": stats, "syndicates_pooled": _pooled_pairs(list(reports.values()))}


def evaluate_seeds(
    seeds: Iterable[int],
    scale: str,
    work_dir: Path,
    log: Callable[[str], None] = print,
) -> dict:
    """Generate, build and evaluate one warehouse per seed; the per-seed reports and their
    aggregate."""
    from governance import warehouse
    from governance.evaluation import evaluate
    from governance.simulator import generate

    reports = {}
    for seed in seeds:
        folder = Path(work_dir) / f"seed-{seed}"
        raw, truth, db = folder / "raw", folder / "truth", folder / "governance.duckdb"
        log(f"seed {seed}: generating the {scale} tier in {folder}")
        generate(raw, truth, scale=scale, seed=seed)
        db.unlink(missing_ok=True)
        log(f"seed {seed}: building the warehouse")
        warehouse.build(raw, db, target_path=folder / "target", quiet=True)
        reports[seed] = evaluate(db, truth)
    return {"scale": scale, "seeds": reports, "aggregate": aggregate(reports)}


def format_seeds_report(result: dict) -> str:
    """Per-seed tables, then the syndicate figures pooled over seeds."""
    from governance.evaluation import format_report

    lines = []
    for seed, report in result["seeds"].items():
        lines += [f"=== seed {seed} ({result['scale']} tier) ===", format_report(report), ""]
    pooled = result["aggregate"]["syndicates_pooled"]
    if pooled:
        seeds = ", ".join(map(str, result["seeds"]))
        lines.append(f"=== syndicates, pairs pooled over seeds {seeds} ===")
        lines.append(
            f"  {'ring shape / strength':<30}{'precision':>10}{'recall':>10}{'F1':>8}{'pairs':>10}"
            f"{'rings':>8}"
        )
        rows = [("all rings", pooled["detector"]), *pooled["by_shape"].items()]
        for name, buckets in pooled.get("by_strength", {}).items():
            rows.append((f"by {name.replace('_', ' ')}:", None))
            rows += [(f"  {bucket}", m) for bucket, m in buckets.items()]
        for name, m in rows:
            if m is None:
                lines.append(f"  {name}")
                continue
            lines.append(
                f"  {name:<30}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>8.3f}"
                f"{m['true_pairs']:>10}{m.get('rings', ''):>8}"
            )
        lines.append("  innocent sharing pairs joined into a syndicate:")
        innocent = pooled["innocent_pairs"]
        for kind, m in sorted(innocent.items(), key=lambda item: item[0] == "all"):
            lines.append(f"    {kind:<28}{m['joined']:>8} of {m['pairs']:<8} {m['share']:.4f}")
    stats = result["aggregate"]["over_seeds"]
    lines.append("")
    lines.append("=== over seeds (mean, min, max) ===")
    for key, s in stats.items():
        if "by_strength" in key:  # pooled above
            continue
        if key.endswith((".f1", ".precision", ".recall", ".adjusted_rand", ".roc_auc", ".share")):
            lines.append(f"  {key:<60}{s['mean']:>8.3f}{s['min']:>8.3f}{s['max']:>8.3f}")
    return "\n".join(lines)
