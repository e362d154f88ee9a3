"""Detection strategies (rules and models), their life cycle and parameter schedule."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import config as C
from .incidents import IncidentPlan


@dataclass
class Strategy:
    idx: int
    strategy_id: str
    name: str
    stype: str  # rule | model
    policy: str
    target: str  # listing | seller
    recall: float
    fp: float
    threshold: float | None
    launched: float  # days since period start (negative: launched before the period)
    retired: float = math.inf
    shadow: bool = False
    act_prob: float = 0.93
    # piecewise parameters: (from_day, recall, fp, threshold, change_type, description)
    changes: list[tuple] = field(default_factory=list)

    def schedule(self):
        times = [self.launched] + [c[0] for c in self.changes if c[4] != "retire"]
        recalls = [self.recall] + [c[1] for c in self.changes if c[4] != "retire"]
        fps = [self.fp] + [c[2] for c in self.changes if c[4] != "retire"]
        thr = [self.threshold] + [c[3] for c in self.changes if c[4] != "retire"]
        return np.array(times), np.array(recalls), np.array(fps), thr

    def params_at(self, t: np.ndarray):
        times, recalls, fps, thr = self.schedule()
        k = np.searchsorted(times, t, side="right") - 1
        k = k.clip(0, len(times) - 1)
        thr_arr = np.array([np.nan if x is None else x for x in thr])
        return recalls[k], fps[k], thr_arr[k]

    def max_rates(self):
        _, recalls, fps, _ = self.schedule()
        return float(recalls.max()), float(fps.max())


# name: (type, policy, recall, false-positive rate, threshold, launch day, probability that a
# hit is acted on), in id order (ST001, ...). The target (listing or seller) is the policy's. A
# launch day counts days since the period start (negative: before it); None: _schedule sets it
# from the incident plan.
CATALOGUE = {
    "counterfeit_brand_keywords": ("rule", "counterfeit", 0.40, 0.0012, None, -412.3, 0.96),
    "counterfeit_image_model": ("model", "counterfeit", 0.62, 0.0015, 0.80, -251.6, 0.93),
    "prohibited_keywords": ("rule", "prohibited_item", 0.55, 0.0005, None, -530.2, 0.96),
    "ip_infringement_model": ("model", "ip_infringement", 0.70, 0.0025, 0.75, None, 0.93),
    "misleading_claims_model": ("model", "misleading_claims", 0.50, 0.0008, 0.80, -198.7, 0.93),
    "price_gouging_rule": ("rule", "price_gouging", 0.60, 0.0005, None, -301.1, 0.96),
    "poor_images_rule": ("rule", "poor_images", 0.80, 0.0025, None, -622.5, 0.96),
    "incomplete_description_rule": (
        "rule",
        "incomplete_description",
        0.70,
        0.0015,
        None,
        -588.9,
        0.96,
    ),
    "keyword_stuffing_model": ("model", "keyword_stuffing", 0.50, 0.0012, 0.70, -140.2, 0.93),
    "duplicate_listing_rule": ("rule", "duplicate_listing", 0.60, 0.0005, None, -470.8, 0.96),
    "identity_ring_model": ("model", "identity_fraud", 0.64, 0.03, 0.85, -365.4, 0.93),
    "incentive_abuse_rule": ("rule", "incentive_abuse", 0.60, 0.001, None, -280.3, 0.93),
    "brushing_model": ("model", "brushing", 0.60, 0.0012, 0.70, -90.6, 0.93),
    "repeat_offender_rule": ("rule", "repeat_offender", 1.0, 0.0, None, -700.1, 0.93),
    "counterfeit_image_model_v3": ("model", "counterfeit", 0.75, 0.0020, 0.85, None, 0.93),
    "misleading_claims_text_model": ("model", "misleading_claims", 0.60, 0.0030, 0.60, -61.2, 0.93),
    "prohibited_image_model": ("model", "prohibited_item", 0.60, 0.0006, 0.80, -120.4, 0.93),
}
# Strategies that score but never act (shadow mode).
SHADOW = frozenset({"brushing_model", "counterfeit_image_model_v3", "misleading_claims_text_model"})


def build_strategies(days: int, plan: IncidentPlan) -> list[Strategy]:
    """The strategies of :data:`CATALOGUE` with the launches and parameter changes of the
    simulated period."""
    strategies = [
        Strategy(
            idx=idx,
            strategy_id=f"ST{idx + 1:03d}",
            name=name,
            stype=stype,
            policy=policy,
            target=C.POLICIES[policy][2],
            recall=recall,
            fp=fp,
            threshold=threshold,
            launched=launched,
            act_prob=act_prob,
            shadow=name in SHADOW,
        )
        for idx, (name, (stype, policy, recall, fp, threshold, launched, act_prob)) in enumerate(
            CATALOGUE.items()
        )
    ]
    _schedule({s.name: s for s in strategies}, days, plan)
    return strategies


def _schedule(by_name: dict[str, Strategy], days: int, plan: IncidentPlan) -> None:
    """Launches, threshold changes and the retirement within the period: the planned launch of
    the ip model, the planned threshold change and rollback of the misleading-claims model, a
    routine recalibration, a shadow model launched and another one retired."""
    launch_day = plan.launch_day if plan.launch_day is not None else -30.0
    by_name["ip_infringement_model"].launched = launch_day + 0.42
    by_name["counterfeit_image_model_v3"].launched = round(0.2 * days) + 0.55
    by_name["counterfeit_image_model"].changes.append(
        (
            round(0.15 * days) + 0.4,
            0.66,
            0.0018,
            0.78,
            "threshold_change",
            "Threshold lowered from 0.80 to 0.78 after quarterly calibration",
        )
    )
    if plan.threshold is not None:
        lowered_on, rolled_back_on = plan.threshold
        by_name["misleading_claims_model"].changes += [
            (
                lowered_on + 0.45,
                0.74,
                0.05,
                0.55,
                "threshold_change",
                "Threshold lowered from 0.80 to 0.55 to raise recall",
            ),
            (
                rolled_back_on + 0.40,
                0.50,
                0.0008,
                0.80,
                "rollback",
                "Threshold restored to 0.80 after a surge of overturned appeals",
            ),
        ]
    text_model = by_name["misleading_claims_text_model"]
    text_model.retired = round(0.45 * days) + 0.6
    text_model.changes.append(
        (text_model.retired, 0.0, 0.0, None, "retire", "Shadow evaluation ended")
    )


def strategy_changes(strategies: list[Strategy]):
    """Rows of the strategy_changes table: (strategy_idx, changed_at, change_type, description)."""
    rows = []
    for st in strategies:
        mode = "shadow mode" if st.shadow else "enforcing"
        desc = f"Launched {st.name} ({st.stype}, {mode})"
        if st.threshold is not None:
            desc += f" at threshold {st.threshold:.2f}"
        rows.append((st.idx, st.launched, "launch", desc))
        for c in st.changes:
            rows.append((st.idx, c[0], c[4], c[5]))
    rows.sort(key=lambda r: (r[1], r[0]))
    return rows
