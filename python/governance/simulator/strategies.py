"""Detection strategies (rules and models), their life cycle and parameter schedule."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

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


def build_strategies(days: int, plan: IncidentPlan) -> list[Strategy]:
    d = days
    launch_day = plan.launch_day if plan.launch_day is not None else -30.0
    s: list[Strategy] = []

    def add(**kw):
        st = Strategy(idx=len(s), strategy_id=f"ST{len(s) + 1:03d}", **kw)
        s.append(st)
        return st

    add(
        name="counterfeit_brand_keywords",
        stype="rule",
        policy="counterfeit",
        target="listing",
        recall=0.40,
        fp=0.0012,
        threshold=None,
        launched=-412.3,
        act_prob=0.96,
    )
    cf = add(
        name="counterfeit_image_model",
        stype="model",
        policy="counterfeit",
        target="listing",
        recall=0.62,
        fp=0.0015,
        threshold=0.80,
        launched=-251.6,
    )
    cf.changes.append(
        (
            round(0.15 * d) + 0.4,
            0.66,
            0.0018,
            0.78,
            "threshold_change",
            "Threshold lowered from 0.80 to 0.78 after quarterly calibration",
        )
    )
    add(
        name="prohibited_keywords",
        stype="rule",
        policy="prohibited_item",
        target="listing",
        recall=0.55,
        fp=0.0005,
        threshold=None,
        launched=-530.2,
        act_prob=0.96,
    )
    ip = add(
        name="ip_infringement_model",
        stype="model",
        policy="ip_infringement",
        target="listing",
        recall=0.70,
        fp=0.0025,
        threshold=0.75,
        launched=launch_day + 0.42,
    )
    mc = add(
        name="misleading_claims_model",
        stype="model",
        policy="misleading_claims",
        target="listing",
        recall=0.50,
        fp=0.0008,
        threshold=0.80,
        launched=-198.7,
    )
    if plan.threshold is not None:
        t0, t1 = plan.threshold
        mc.changes.append(
            (
                t0 + 0.45,
                0.74,
                0.05,
                0.55,
                "threshold_change",
                "Threshold lowered from 0.80 to 0.55 to raise recall",
            )
        )
        mc.changes.append(
            (
                t1 + 0.40,
                0.50,
                0.0008,
                0.80,
                "rollback",
                "Threshold restored to 0.80 after a surge of overturned appeals",
            )
        )
    add(
        name="price_gouging_rule",
        stype="rule",
        policy="price_gouging",
        target="listing",
        recall=0.60,
        fp=0.0005,
        threshold=None,
        launched=-301.1,
        act_prob=0.96,
    )
    add(
        name="poor_images_rule",
        stype="rule",
        policy="poor_images",
        target="listing",
        recall=0.80,
        fp=0.0025,
        threshold=None,
        launched=-622.5,
        act_prob=0.96,
    )
    add(
        name="incomplete_description_rule",
        stype="rule",
        policy="incomplete_description",
        target="listing",
        recall=0.70,
        fp=0.0015,
        threshold=None,
        launched=-588.9,
        act_prob=0.96,
    )
    add(
        name="keyword_stuffing_model",
        stype="model",
        policy="keyword_stuffing",
        target="listing",
        recall=0.50,
        fp=0.0012,
        threshold=0.70,
        launched=-140.2,
    )
    add(
        name="duplicate_listing_rule",
        stype="rule",
        policy="duplicate_listing",
        target="listing",
        recall=0.60,
        fp=0.0005,
        threshold=None,
        launched=-470.8,
        act_prob=0.96,
    )
    add(
        name="identity_ring_model",
        stype="model",
        policy="identity_fraud",
        target="seller",
        recall=0.64,
        fp=0.03,
        threshold=0.85,
        launched=-365.4,
    )
    add(
        name="incentive_abuse_rule",
        stype="rule",
        policy="incentive_abuse",
        target="seller",
        recall=0.60,
        fp=0.001,
        threshold=None,
        launched=-280.3,
    )
    add(
        name="brushing_model",
        stype="model",
        policy="brushing",
        target="seller",
        recall=0.60,
        fp=0.0012,
        threshold=0.70,
        launched=-90.6,
        shadow=True,
    )
    add(
        name="repeat_offender_rule",
        stype="rule",
        policy="repeat_offender",
        target="seller",
        recall=1.0,
        fp=0.0,
        threshold=None,
        launched=-700.1,
    )
    add(
        name="counterfeit_image_model_v3",
        stype="model",
        policy="counterfeit",
        target="listing",
        recall=0.75,
        fp=0.0020,
        threshold=0.85,
        launched=round(0.2 * d) + 0.55,
        shadow=True,
    )
    llm = add(
        name="misleading_claims_text_model",
        stype="model",
        policy="misleading_claims",
        target="listing",
        recall=0.60,
        fp=0.0030,
        threshold=0.60,
        launched=-61.2,
        shadow=True,
    )
    llm.retired = round(0.45 * d) + 0.6
    llm.changes.append((llm.retired, 0.0, 0.0, None, "retire", "Shadow evaluation ended"))
    add(
        name="prohibited_image_model",
        stype="model",
        policy="prohibited_item",
        target="listing",
        recall=0.60,
        fp=0.0006,
        threshold=0.80,
        launched=-120.4,
    )
    assert ip.policy == "ip_infringement"
    return s


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
