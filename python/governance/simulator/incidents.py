"""Placement of planted metric incidents on the simulated calendar.

Two families of incidents are planted:

* the *scenario* incidents, each with its own mechanism in the simulator: a strategy launch (a
  lasting level shift of the listing violation rate), an attack spike, a threshold change that
  raises false positives (and, two weeks later, overturned appeals), a category mix shift and an
  ingestion outage;
* the *shaped* incidents (:class:`ShapedIncident`): a multiplier on the probability that a
  listing is low quality (``low_quality_listing_rate``) or that an order draws a complaint
  (``complaint_rate``) in one segment, in one of four shapes: a slow drift, a lasting level
  shift, a weekly-pattern break (weekends only) and a short spike in one region x category
  segment. Their strength is a target effect in multiples of the segment's daily binomial
  noise (:data:`STRENGTHS`), converted to a multiplier once the simulator knows the segment's
  daily volume and base rate (:meth:`ShapedIncident.calibrate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MIN_HISTORY_DAYS = 28
MIN_GAP_DAYS = 10
END_MARGIN_DAYS = 4
# A shaped incident starts after eight weeks of history: the anomaly detector's seasonal window
# (its weekly profile and noise estimate), so a weekly-pattern break or a drift meets a
# forecast with its full history. A short period (the tiny tier) plants none.
SHAPED_MIN_HISTORY_DAYS = 56

# Target effects of shaped incidents, in multiples of the segment's daily binomial noise.
STRENGTHS = (3.0, 5.0, 8.0)
DRIFT_RAMP_DAYS = 21
WEEKLY_PATTERN_DAYS = 28
SEGMENT_SPIKE_DAYS = 4
WEEKEND = (5, 6)  # Monday = 0
# Metric -> maturity (days after the cohort day until its outcome is known): a shaped incident
# must end before the last mature day of its metric.
SHAPED_METRICS = {"low_quality_listing_rate": 7, "complaint_rate": 14}
# (shape, metric, scope, desired start as a share of the period): scope says which segment the
# incident hits, "region", "category" or "leaf" (one region x category).
SHAPED_PLAN = (
    ("weekly_pattern", "complaint_rate", "region", 0.30),
    ("drift", "complaint_rate", "region", 0.46),
    ("segment_spike", "complaint_rate", "leaf", 0.54),
    ("segment_spike", "complaint_rate", "leaf", 0.64),
    ("level_shift", "complaint_rate", "category", 0.72),
    ("level_shift", "low_quality_listing_rate", "region", 0.33),
    ("drift", "low_quality_listing_rate", "category", 0.42),
    ("segment_spike", "low_quality_listing_rate", "leaf", 0.50),
    ("weekly_pattern", "low_quality_listing_rate", "region", 0.58),
    ("segment_spike", "low_quality_listing_rate", "leaf", 0.70),
)


@dataclass
class ShapedIncident:
    """A multiplier on one metric's event probability in one segment over time.

    ``region`` / ``category`` are indexes into the simulator's codes, -1 for every region or
    category. Days are simulation days; ``end`` is the last affected day (lasting incidents end
    with the period). ``multiplier`` is the full-strength factor, set by :meth:`calibrate`.
    """

    shape: str
    metric: str
    region: int
    category: int
    start: int
    end: int
    strength: float
    ramp_days: int = 0
    weekdays: tuple[int, ...] | None = None
    multiplier: float = 1.0

    def calibrate(self, events_per_day: float, base_rate: float) -> None:
        """Set the multiplier so the move is ``strength`` binomial standard deviations of a
        day of this segment: ``1 + strength * sqrt((1 - r) / (r * n))`` for a base rate ``r``
        and ``n`` trials a day."""
        r = float(np.clip(base_rate, 1e-4, 0.5))
        n = max(float(events_per_day), 1.0)
        self.multiplier = 1.0 + self.strength * float(np.sqrt((1.0 - r) / (r * n)))

    def factor(self, t: np.ndarray, weekday: np.ndarray, region: np.ndarray, category: np.ndarray):
        """Multiplier of each event at simulation time ``t`` (float days) in its segment."""
        day = np.floor(np.asarray(t, dtype=np.float64))
        on = (day >= self.start) & (day <= self.end)
        if self.region >= 0:
            on &= np.asarray(region) == self.region
        if self.category >= 0:
            on &= np.asarray(category) == self.category
        if self.weekdays is not None:
            on &= np.isin(weekday, self.weekdays)
        ramp = 1.0
        if self.ramp_days > 0:
            ramp = np.clip((day - self.start + 1.0) / self.ramp_days, 0.0, 1.0)
        return np.where(on, 1.0 + (self.multiplier - 1.0) * ramp, 1.0)

    @property
    def detect_end(self) -> int:
        """Last day of the incident's own move: the end of a drift's ramp, the end otherwise."""
        if self.shape == "drift":
            return min(self.start + self.ramp_days - 1, self.end)
        return self.end


@dataclass
class IncidentPlan:
    days: int
    launch_day: int | None = None  # mid-period launch of a live listing strategy
    attack: tuple[int, int] | None = None  # (first day, last day) of the attack spike
    threshold: tuple[int, int] | None = None  # (threshold change day, rollback day)
    mix: tuple[int, int] | None = None  # (first day, last day) of the category mix shift
    drop: tuple[int, int] | None = None  # (first day, last day) of the ingestion outage
    shaped: list[ShapedIncident] = field(default_factory=list)
    planted: list[str] = field(default_factory=list)

    def shaped_factor(self, metric: str, t, weekday, region, category) -> np.ndarray:
        """Product of the multipliers of the shaped incidents of ``metric`` for each event."""
        out = np.ones(len(t), dtype=np.float64)
        for incident in self.shaped:
            if incident.metric == metric:
                out *= incident.factor(t, weekday, region, category)
        return out


def plan_incidents(
    days: int, seed: int = 0, n_regions: int = 6, n_categories: int = 10
) -> IncidentPlan:
    """Spread the scenario incidents over the second half of the period, ≥ 10 days apart, and
    the shaped incidents over each of their metrics' own calendars.

    Each incident needs ≥ 28 days of history before it; an incident that does not fit before
    the end of the period is not planted (the manifest lists the planted ones).
    """
    plan = IncidentPlan(days=days)
    last = days - 1 - END_MARGIN_DAYS
    half = days // 2

    launch = max(MIN_HISTORY_DAYS, round(0.30 * days))
    if launch <= last:
        plan.launch_day = launch
        plan.planted.append("strategy_launch")
        prev_end = launch
    else:
        prev_end = -MIN_GAP_DAYS

    def place(desired_frac: float, length: int) -> tuple[int, int] | None:
        nonlocal prev_end
        start = max(round(desired_frac * days), half, MIN_HISTORY_DAYS, prev_end + MIN_GAP_DAYS)
        end = start + length - 1
        if end > last:
            return None
        prev_end = end
        return start, end

    attack = place(0.55, 3)
    if attack:
        plan.attack = attack
        plan.planted.append("attack_spike")
    fp_len = max(7, min(14, round(0.07 * days)))
    thr = place(0.64, fp_len)
    if thr:
        # rollback happens on the day after the last affected day
        plan.threshold = (thr[0], thr[1] + 1)
        plan.planted.append("strategy_false_positives")
    mix = place(0.78, 7)
    if mix:
        plan.mix = mix
        plan.planted.append("category_mix_shift")
    drop = place(0.90, 2)
    if drop:
        plan.drop = drop
        plan.planted.append("data_drop")
    plan.shaped = _plan_shaped(days, seed, n_regions, n_categories)
    for incident in plan.shaped:
        if incident.shape not in plan.planted:
            plan.planted.append(incident.shape)
    return plan


def _plan_shaped(days: int, seed: int, n_regions: int, n_categories: int) -> list:
    """The shaped incidents of :data:`SHAPED_PLAN` that fit the period, each on its own segment
    (no two incidents of one metric share a region or a category) with a strength drawn from
    :data:`STRENGTHS`."""
    rng = np.random.default_rng([int(seed), 1_009])
    regions = list(rng.permutation(n_regions))
    categories = list(rng.permutation(n_categories))
    out: list[ShapedIncident] = []
    used: dict[str, tuple[set, set]] = {}
    for shape, metric, scope, frac in SHAPED_PLAN:
        length = {
            "drift": days,
            "level_shift": days,
            "weekly_pattern": WEEKLY_PATTERN_DAYS,
            "segment_spike": SEGMENT_SPIKE_DAYS,
        }[shape]
        start = max(round(frac * days), SHAPED_MIN_HISTORY_DAYS)
        last_mature = days - 1 - SHAPED_METRICS[metric] - END_MARGIN_DAYS
        end = min(start + length - 1, days - 1)
        own_end = start + (DRIFT_RAMP_DAYS if shape == "drift" else min(length, 7)) - 1
        if own_end > last_mature:
            continue
        taken_r, taken_c = used.setdefault(metric, (set(), set()))
        region = next(r for r in regions if r not in taken_r) if scope != "category" else -1
        category = next(c for c in categories if c not in taken_c) if scope != "region" else -1
        if region >= 0:
            taken_r.add(region)
        if category >= 0:
            taken_c.add(category)
        out.append(
            ShapedIncident(
                shape=shape,
                metric=metric,
                region=int(region),
                category=int(category),
                start=int(start),
                end=int(end),
                strength=float(rng.choice(STRENGTHS)),
                ramp_days=DRIFT_RAMP_DAYS if shape == "drift" else 0,
                weekdays=WEEKEND if shape == "weekly_pattern" else None,
            )
        )
    return out
