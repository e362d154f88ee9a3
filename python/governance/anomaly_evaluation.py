"""Metric anomaly flags scored against planted incidents, by incident shape and effect size.

Pure pandas on three frames (flags, planted incident rows, the metric series), so the figures
are reproducible from the published tables and the simulator's truth alone. The rules:

**Windows.** Each planted incident row (incident x metric x segment) is judged on a window of
days, then widened by ``tolerance_days`` on both sides for matching flags:

* a lasting ``level_shift``: its first ``level_shift_days`` days (a forecaster rightly adopts a
  new level after a while);
* a ``drift``: its ramp (``start_date`` to ``end_date``) and ``level_shift_days`` more days,
  when the move has reached its full size;
* every other shape (spikes, segment spikes, weekly-pattern breaks): its whole date range.
  Rows without a shape (older truth) longer than twice ``level_shift_days`` are taken for
  level shifts.

**Recall.** A row is detected when a flag of the same metric, segment and direction falls in
its widened window.

**Event precision.** The flags of one series on consecutive days (gaps up to
``alarm_gap_days`` days) form one alarm event. An event is true when it overlaps the widened
window of a planted row -- the incident itself or one of its downstream consequences -- of the
same metric in a related segment: for region and category alike, equal, or one of the two is
``ALL``, taking each incident's most specific rows (an attack in VN x electronics relates to
VN x electronics and its roll-ups, not to every segment under ALL x ALL). A lasting move (level
shift, drift) also explains the flags of the ``adaptation_days`` after its step (after a
drift's ramp): a forecaster from a trailing window needs that long to take the new level in.

**Effect size.** Each row's effect is measured on the published metric, in multiples of the
series' daily noise:

* the *expected rate* is the pooled rate (summed numerators over summed denominators) of the
  last ``baseline_days`` days before the window that lie outside the move of every other
  planted incident of the same metric whose segment contains or lies inside this one (a move
  is the judged window without a drift's plateau), looking back at most twice
  ``baseline_days`` and never before the end of the last lasting move (level shift, drift)
  of such an incident: the series' level just before the incident;
* the *noise* is the standard deviation of the daily values over those baseline days, at least
  the binomial standard deviation of the expected rate at the median daily denominator;
* the *effect* is the mean of the three largest deviations from the expected rate, in the
  incident's direction, over the window's days outside the moves of those other incidents
  (all of them when fewer than three remain);
  ``effect_multiple = effect / noise``. "An effect of 4x lasting 3 days" thus reads: on three
  days of its window the series stood, on average, four daily standard deviations away from
  its level before the incident.

A row is *lasting* when its planted range spans at least ``lasting_days`` days. Rows without
``baseline_days / 4`` baseline days with a denominator have no effect size (bucket ``n/a``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

KEY = ["metric_name", "region", "category"]
EFFECT_BUCKETS = ((0.0, 2.0, "<2x"), (2.0, 4.0, "2-4x"), (4.0, 8.0, "4-8x"), (8.0, np.inf, ">=8x"))
NO_EFFECT = "n/a"
CONSEQUENCE = "consequence"
# Shapes after which the series stays at a new level.
LASTING_SHAPES = ("level_shift", "drift")
BASELINE_METHOD = "trailing14_mean_3sd"


@dataclass(frozen=True)
class MatchRules:
    tolerance_days: int = 1
    level_shift_days: int = 7
    alarm_gap_days: int = 1
    baseline_days: int = 28
    lasting_days: int = 3
    target_effect: float = 4.0
    adaptation_days: int = 28
    background_types: tuple[str, ...] = ("ring_onboarding",)


# --------------------------------------------------------------------------------------------
# Windows, alarm events, matching
# --------------------------------------------------------------------------------------------


def incident_windows(incidents: pd.DataFrame, rules: MatchRules = MatchRules()) -> pd.DataFrame:
    """The planted rows with ``shape``, ``is_consequence``, ``days`` (the planted span),
    ``judge_start`` / ``judge_end`` (the days judged, see the module docstring) and
    ``window_start`` / ``window_end`` (those widened by the tolerance)."""
    inc = incidents.copy()
    inc["start_date"] = pd.to_datetime(inc["start_date"])
    inc["end_date"] = pd.to_datetime(inc["end_date"])
    inc["days"] = (inc["end_date"] - inc["start_date"]).dt.days + 1
    if "shape" not in inc.columns:
        inc["shape"] = np.where(inc["days"] > 2 * rules.level_shift_days, "level_shift", "spike")
    inc["shape"] = inc["shape"].fillna("spike").astype(str)
    if "is_consequence" not in inc.columns:
        inc["is_consequence"] = False
    inc["is_consequence"] = inc["is_consequence"].fillna(False).astype(bool)
    shift = pd.Timedelta(days=rules.level_shift_days)
    end = inc["end_date"]
    end = end.where(inc["shape"] != "level_shift", np.minimum(end, inc["start_date"] + shift))
    inc["move_end"] = end
    end = end.where(inc["shape"] != "drift", inc["end_date"] + shift)
    inc["judge_start"] = inc["start_date"]
    inc["judge_end"] = end
    tol = pd.Timedelta(days=rules.tolerance_days)
    inc["window_start"] = inc["judge_start"] - tol
    inc["window_end"] = inc["judge_end"] + tol
    # A lasting move keeps a trailing-window forecaster off the new level until its history
    # has moved on: flags up to `adaptation_days` after the step (after a drift's ramp) are
    # still explained by it.
    adaptation = pd.Timedelta(days=rules.adaptation_days)
    settled = inc["start_date"].where(inc["shape"] != "drift", inc["end_date"]) + adaptation
    lasting = inc["shape"].isin(LASTING_SHAPES)
    inc["explains_end"] = inc["window_end"].where(~lasting, np.maximum(inc["window_end"], settled))
    return inc.reset_index(drop=True)


def alarm_events(flags: pd.DataFrame, gap_days: int = 1) -> pd.DataFrame:
    """Runs of flagged days per series (gaps up to ``gap_days`` quiet days): ``metric_name,
    region, category, first, last, n_days``."""
    columns = [*KEY, "first", "last", "n_days"]
    if flags.empty:
        return pd.DataFrame(columns=columns)
    f = flags.sort_values([*KEY, "metric_date"]).copy()
    f["metric_date"] = pd.to_datetime(f["metric_date"])
    new_series = (f[KEY] != f[KEY].shift()).any(axis=1)
    gap = f["metric_date"].diff().dt.days.fillna(999) > gap_days + 1
    f["alarm"] = (new_series | gap).cumsum()
    return f.groupby("alarm").agg(
        metric_name=("metric_name", "first"),
        region=("region", "first"),
        category=("category", "first"),
        first=("metric_date", "min"),
        last=("metric_date", "max"),
        n_days=("metric_date", "size"),
    )[columns]


def _related(a: str, b: str) -> bool:
    return a == b or a == "ALL" or b == "ALL"


def _most_specific(windows: pd.DataFrame) -> pd.Series:
    """Rows of an incident x metric that are not a roll-up of another of its rows."""
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
    return pd.Series(keep, index=windows.index, dtype=bool)


def _detected(windows: pd.DataFrame, flags: pd.DataFrame) -> list[bool]:
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
    return detected


def _true_alarms(alarms: pd.DataFrame, windows: pd.DataFrame) -> list[bool]:
    specific = windows[_most_specific(windows)]
    out = []
    for alarm in alarms.itertuples():
        candidates = specific[specific["metric_name"] == alarm.metric_name]
        out.append(
            any(
                _related(alarm.region, inc.region)
                and _related(alarm.category, inc.category)
                and alarm.first <= inc.explains_end
                and alarm.last >= inc.window_start
                for inc in candidates.itertuples()
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# Effect sizes
# --------------------------------------------------------------------------------------------


def effect_sizes(
    windows: pd.DataFrame, metrics: pd.DataFrame, rules: MatchRules = MatchRules()
) -> pd.DataFrame:
    """``effect``, ``noise``, ``effect_multiple`` and ``effect_bucket`` of every planted row
    (see the module docstring), from ``metrics`` (rows of metrics_daily that are judged:
    ``metric_name, region, category, metric_date, numerator, denominator``)."""
    m = metrics[[*KEY, "metric_date", "numerator", "denominator"]].copy()
    m["metric_date"] = pd.to_datetime(m["metric_date"])
    m = m[m["denominator"] > 0]
    m["value"] = m["numerator"] / m["denominator"]
    m = m.sort_values([*KEY, "metric_date"])
    series = {key: frame.set_index("metric_date") for key, frame in m.groupby(KEY)}
    windows = windows.assign(is_specific=_most_specific(windows).to_numpy())
    rows = []
    for row in windows.itertuples():
        s = series.get((row.metric_name, row.region, row.category))
        rows.append(_effect_of_row(row, s, windows, rules))
    out = windows.copy()
    out[["effect", "noise", "effect_multiple"]] = pd.DataFrame(rows, index=out.index)
    out["effect_bucket"] = [effect_bucket(x) for x in out["effect_multiple"]]
    return out


def _moves_of_other_incidents(row, windows: pd.DataFrame) -> pd.DataFrame:
    """The most specific rows of other incidents of the same metric whose segment contains or
    lies inside the row's: the moves that also show in the row's series."""
    specific = windows[
        windows["is_specific"]
        & (windows["metric_name"] == row.metric_name)
        & (windows["incident_id"] != row.incident_id)
    ]
    related = [
        _related(r, row.region) and _related(c, row.category)
        for r, c in zip(specific["region"], specific["category"], strict=True)
    ]
    return specific[np.asarray(related, dtype=bool)]


def _outside(days: pd.DatetimeIndex, moves: pd.DataFrame) -> np.ndarray:
    keep = np.ones(len(days), dtype=bool)
    for move in moves.itertuples():
        keep &= ~((days >= move.judge_start) & (days <= move.move_end))
    return keep


def _effect_of_row(row, s: pd.DataFrame | None, windows: pd.DataFrame, rules: MatchRules):
    nothing = (np.nan, np.nan, np.nan)
    if s is None or s.empty:
        return nothing
    moves = _moves_of_other_incidents(row, windows)
    # The series' level before the incident: after the last lasting move that preceded it.
    base_start = row.judge_start - pd.Timedelta(days=2 * rules.baseline_days)
    settled = moves[moves["shape"].isin(LASTING_SHAPES) & (moves["move_end"] < row.judge_start)]
    if len(settled):
        base_start = max(base_start, settled["move_end"].max() + pd.Timedelta(days=1))
    base = s[(s.index >= base_start) & (s.index < row.judge_start)]
    base = base[_outside(base.index, moves)].iloc[-rules.baseline_days :]
    if len(base) < max(rules.baseline_days // 4, 2):
        return nothing
    rate = base["numerator"].sum() / base["denominator"].sum()
    binomial = np.sqrt(rate * (1.0 - rate) / base["denominator"].median())
    noise = max(float(base["value"].std(ddof=1)), float(binomial))
    during = s[(s.index >= row.judge_start) & (s.index <= row.judge_end)]
    during = during[_outside(during.index, moves)]
    if during.empty or noise <= 0:
        return nothing
    sign = -1.0 if row.direction == "down" else 1.0
    deviations = np.sort(sign * (during["value"].to_numpy() - rate))[::-1]
    effect = float(deviations[:3].mean())
    return effect, noise, effect / noise


def effect_bucket(multiple: float) -> str:
    if multiple is None or not np.isfinite(multiple):
        return NO_EFFECT
    for low, high, label in EFFECT_BUCKETS:
        if low <= max(multiple, 0.0) < high:
            return label
    return NO_EFFECT


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


def _counts(frame: pd.DataFrame) -> dict:
    n = len(frame)
    k = int(frame["detected"].sum()) if n else 0
    return {"rows": n, "detected": k, "recall": k / n if n else None}


def score_flags(
    flags: pd.DataFrame,
    incidents: pd.DataFrame,
    rules: MatchRules = MatchRules(),
    metrics: pd.DataFrame | None = None,
) -> dict:
    """Recall of planted rows and event precision of ``flags`` (``metric_name, region,
    category, metric_date`` and optionally ``direction``). With ``metrics``, also recall by
    shape and effect size (counts, so several seeds add up) and every row's figures."""
    windows = incident_windows(incidents, rules)
    flags = flags.copy()
    flags["metric_date"] = pd.to_datetime(flags["metric_date"])
    windows["detected"] = _detected(windows, flags)
    alarms = alarm_events(flags, rules.alarm_gap_days)
    true_alarm = _true_alarms(alarms, windows)
    n_alarms = len(alarms)
    n_true = int(np.sum(true_alarm))
    precision = n_true / n_alarms if n_alarms else 0.0
    recall = float(windows["detected"].mean()) if len(windows) else 0.0
    out = {
        "precision": precision,
        "recall": recall,
        "f1": 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall),
        "alarms": n_alarms,
        "true_alarms": n_true,
        "incident_rows": len(windows),
        "incident_rows_detected": int(windows["detected"].sum()),
        "missed": windows.loc[~windows["detected"], ["incident_id", *KEY]].to_dict("records"),
        "false_alarms": alarms.loc[~np.asarray(true_alarm, dtype=bool)]
        .assign(first=lambda a: a["first"].dt.date.astype(str))
        .assign(last=lambda a: a["last"].dt.date.astype(str))
        .to_dict("records")
        if n_alarms
        else [],
    }
    if metrics is not None:
        out.update(_recall_tables(effect_sizes(windows, metrics, rules), rules))
    return out


def _recall_tables(rows: pd.DataFrame, rules: MatchRules) -> dict:
    background = rows["incident_type"].isin(rules.background_types).to_numpy()
    group = np.where(
        background,
        rows["incident_type"],
        np.where(rows["is_consequence"], CONSEQUENCE, rows["shape"]),
    )
    rows = rows.assign(group=group, is_background=background)
    lasting = rows["days"] >= rules.lasting_days
    strong = lasting & (rows["effect_multiple"] >= rules.target_effect)
    target = rows[strong & ~background]
    by_shape = {g: _counts(f) for g, f in rows.groupby("group")}
    by_effect = {b: _counts(f) for b, f in rows[lasting].groupby("effect_bucket")}
    table = {
        g: {b: _counts(fb) for b, fb in f.groupby("effect_bucket")}
        for g, f in rows[lasting].groupby("group")
    }
    listed = rows[
        [
            "incident_id",
            "incident_type",
            "group",
            "shape",
            "is_consequence",
            *KEY,
            "direction",
            "start_date",
            "end_date",
            "days",
            "effect",
            "noise",
            "effect_multiple",
            "effect_bucket",
            "detected",
        ]
    ].assign(
        start_date=lambda r: r["start_date"].dt.date.astype(str),
        end_date=lambda r: r["end_date"].dt.date.astype(str),
    )
    return {
        "target": {
            "rule": f"rows lasting >= {rules.lasting_days} days with an effect >= "
            f"{rules.target_effect:g}x the daily noise",
            **_counts(target),
        },
        "target_with_background": _counts(rows[strong]),
        "recall_by_shape": by_shape,
        "recall_by_effect": by_effect,
        "recall_by_shape_and_effect": table,
        "rows": listed.replace({np.nan: None}).to_dict("records"),
    }


def _add_counts(total: dict, part: dict) -> dict:
    rows = total.get("rows", 0) + part["rows"]
    detected = total.get("detected", 0) + part["detected"]
    return {"rows": rows, "detected": detected, "recall": detected / rows if rows else None}


def pool_scores(scores: list[dict]) -> dict:
    """The counts of several seeds' :func:`score_flags` results (with ``metrics``) added up:
    target, recall by shape, by effect and by shape x effect, and the alarm events."""
    pooled: dict = {"target": {}, "recall_by_shape": {}, "recall_by_effect": {}}
    table: dict = {}
    alarms = true_alarms = 0
    for score in scores:
        pooled["target"] = _add_counts(pooled["target"], score["target"])
        for key in ("recall_by_shape", "recall_by_effect"):
            for group, counts in score[key].items():
                pooled[key][group] = _add_counts(pooled[key].get(group, {}), counts)
        for group, cells in score["recall_by_shape_and_effect"].items():
            for bucket, counts in cells.items():
                row = table.setdefault(group, {})
                row[bucket] = _add_counts(row.get(bucket, {}), counts)
        alarms += score["alarms"]
        true_alarms += score["true_alarms"]
    pooled["target"]["rule"] = scores[0]["target"]["rule"] if scores else ""
    pooled["recall_by_shape_and_effect"] = table
    pooled["alarms"] = alarms
    pooled["true_alarms"] = true_alarms
    pooled["precision"] = true_alarms / alarms if alarms else 0.0
    return pooled


def format_recall_table(score: dict, indent: str = "  ") -> list[str]:
    """Recall by shape x effect bucket (rows lasting >= 3 days, ``detected/rows``), the target
    line and the event precision of one :func:`score_flags` result or :func:`pool_scores`."""
    table = score.get("recall_by_shape_and_effect")
    if not table:
        return []
    buckets = [label for _, _, label in EFFECT_BUCKETS]
    lines = [indent + f"{'shape':<18}" + "".join(f"{b:>9}" for b in buckets) + f"{'all':>9}"]
    for group, cells in sorted(table.items()):
        text = "".join(
            f"{cells[b]['detected']}/{cells[b]['rows']}".rjust(9) if b in cells else f"{'-':>9}"
            for b in buckets
        )
        detected = sum(c["detected"] for c in cells.values())
        rows = sum(c["rows"] for c in cells.values())
        lines.append(indent + f"{group:<18}{text}{f'{detected}/{rows}':>9}")
    target = score["target"]
    recall = "n/a" if target["recall"] is None else f"{target['recall']:.3f}"
    lines.append(
        f"{indent}target ({target['rule']}): recall {recall} ({target['detected']} of "
        f"{target['rows']}); event precision {score['precision']:.3f} "
        f"({score['true_alarms']} of {score['alarms']} alarm events)"
    )
    return lines


# --------------------------------------------------------------------------------------------
# The usual dbt anomaly test, for comparison
# --------------------------------------------------------------------------------------------


def baseline_mean_3sd(
    metrics: pd.DataFrame, window: int = 14, k_sd: float = 3.0, min_points: int = 2
) -> pd.DataFrame:
    """The usual dbt anomaly test, for comparison with the detector.

    For every judged row (``is_mature`` and ``is_complete`` when those columns exist): mean
    and sample standard deviation of ``value`` over the trailing ``window`` rows of its series
    **including the row itself**; flagged when ``|value - mean| > k_sd * sd`` and the window
    holds at least ``min_points`` values.

    Returns ``metric_name, region, category, metric_date, value, baseline_mean, baseline_sd,
    n_points, is_anomaly, method``, sorted by series and day.
    """
    df = metrics
    for column in ("is_mature", "is_complete"):
        if column in df.columns:
            df = df[df[column].fillna(False).astype(bool).to_numpy()]
    df = df[[*KEY, "metric_date", "value"]].copy()
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(float)
    df["_date"] = pd.to_datetime(df["metric_date"])
    df = df.sort_values([*KEY, "_date"], kind="stable").reset_index(drop=True)
    rolling = df.groupby(KEY, sort=False)["value"].rolling(window, min_periods=1)
    mean = rolling.mean().reset_index(level=list(range(len(KEY))), drop=True)
    sd = rolling.std(ddof=1).reset_index(level=list(range(len(KEY))), drop=True)
    count = rolling.count().reset_index(level=list(range(len(KEY))), drop=True)
    mean, sd, count = mean.sort_index(), sd.sort_index(), count.sort_index()
    sd = sd.where(count >= 2)
    value = df["value"]
    flag = value.notna() & (count >= min_points) & ((value - mean).abs() > k_sd * sd + 1e-12)
    return pd.DataFrame(
        {
            "metric_name": df["metric_name"].to_numpy(),
            "region": df["region"].to_numpy(),
            "category": df["category"].to_numpy(),
            "metric_date": df["metric_date"].to_numpy(),
            "value": value.to_numpy(),
            "baseline_mean": mean.where(count > 0).to_numpy(),
            "baseline_sd": sd.to_numpy(),
            "n_points": count.astype(np.int64).to_numpy(),
            "is_anomaly": flag.to_numpy(dtype=bool),
            "method": BASELINE_METHOD,
        }
    )
