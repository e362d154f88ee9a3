"""Placement of planted metric incidents on the simulated calendar."""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_HISTORY_DAYS = 28
MIN_GAP_DAYS = 10
END_MARGIN_DAYS = 4


@dataclass
class IncidentPlan:
    days: int
    launch_day: int | None = None  # mid-period launch of a live listing strategy
    attack: tuple[int, int] | None = None  # (first day, last day) of the attack spike
    threshold: tuple[int, int] | None = None  # (threshold change day, rollback day)
    mix: tuple[int, int] | None = None  # (first day, last day) of the category mix shift
    drop: tuple[int, int] | None = None  # (first day, last day) of the ingestion outage
    planted: list[str] = field(default_factory=list)


def plan_incidents(days: int) -> IncidentPlan:
    """Spread the incidents over the second half of the period, ≥ 10 days apart.

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
    return plan
