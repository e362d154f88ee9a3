"""Ground truth of planted incidents: which metric moves, where, when and in which direction.

Affected date ranges are measured on the generated events (the footprint of the cause on the
metric's cohort dates), so they are exact for the data written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import config as C
from . import enforcement as E

FOOTPRINT_FRACTION = 0.25  # a date is affected if it carries >= 25 % of the peak daily effect
IS_LQ = E.IS_LQ_POLICY


def _footprint(
    day: np.ndarray, days: int, denom: np.ndarray | None = None, weights: np.ndarray | None = None
):
    day = np.asarray(day, dtype=np.int64)
    ok = (day >= 0) & (day < days)
    cnt = np.bincount(day[ok], weights=None if weights is None else weights[ok], minlength=days)
    val = cnt / np.maximum(denom, 1) if denom is not None else cnt.astype(float)
    if len(val) == 0 or val.max() <= 0:
        return None
    on = np.flatnonzero(val >= FOOTPRINT_FRACTION * val.max())
    return int(on[0]), int(on[-1])


INCIDENT_COLUMNS = (
    "incident_id",
    "incident_type",
    "metric_name",
    "region",
    "category",
    "start_date",
    "end_date",
    "direction",
    "strategy_id",
    "change_id",
    "description",
    "shape",
    "is_consequence",
    "target_strength",
)


class _IncidentTable:
    """The incidents truth table as it fills: ``start()`` opens the next incident (INC01, ...),
    ``add`` appends one metric row of the open incident."""

    def __init__(self, clock):
        self.clock = clock
        self.rows = {column: [] for column in INCIDENT_COLUMNS}
        self.number = 0

    def start(self) -> None:
        self.number += 1

    def add(
        self,
        incident_type,
        metric,
        region,
        category,
        span,
        direction,
        strategy,
        change,
        description,
        shape="spike",
        consequence=False,
        strength=None,
    ) -> None:
        start = self.clock.start
        last_day = self.clock.days - 1
        row = {
            "incident_id": f"INC{self.number:02d}",
            "incident_type": incident_type,
            "metric_name": metric,
            "region": region,
            "category": category,
            "start_date": start + np.timedelta64(int(span[0]), "D"),
            "end_date": start + np.timedelta64(int(min(span[1], last_day)), "D"),
            "direction": direction,
            "strategy_id": strategy,
            "change_id": change,
            "description": description,
            "shape": shape,
            "is_consequence": consequence,
            "target_strength": strength,
        }
        for column, value in row.items():
            self.rows[column].append(value)

    def columns(self) -> dict:
        out = dict(self.rows)
        for column in ("start_date", "end_date"):
            out[column] = pa.array(np.array(self.rows[column], "datetime64[D]"), pa.date32())
        return out


@dataclass(frozen=True)
class _Enforced:
    """The actions and appeals the incidents are measured on."""

    actions: dict
    kept: np.ndarray  # bool per action: in the raw data
    dropped: np.ndarray  # bool per action: lost to the ingestion outage
    appeals: dict
    kept_rows: np.ndarray  # index of each kept action (appeals["action"] points into it)
    listing_day: np.ndarray  # creation day of each listing
    listings_per_day: np.ndarray
    violation: np.ndarray  # bool per action: counts for the listing violation rate
    low_quality: np.ndarray  # bool per action: counts for the low-quality listing rate
    cohort: np.ndarray  # the listing's creation day (-1 for seller actions)

    def overturned_days(self, action_mask: np.ndarray) -> np.ndarray:
        return _overturned_resolutions(self.actions, self.appeals, self.kept_rows, action_mask)


def _enforced(listings, actions, kept, dropped, appeals, kept_rows, days) -> _Enforced:
    listing_day = np.floor(listings.t).astype(np.int64)
    on_listing = actions["target_type"] == 0
    lag = np.full(len(actions["t"]), np.inf)
    lag[on_listing] = actions["t"][on_listing] - listings.t[actions["target"][on_listing]]
    within_7_days = on_listing & (lag <= 7.0)
    low_quality_policy = IS_LQ[actions["policy"]]
    return _Enforced(
        actions=actions,
        kept=kept,
        dropped=dropped,
        appeals=appeals,
        kept_rows=kept_rows,
        listing_day=listing_day,
        listings_per_day=np.bincount(listing_day, minlength=days),
        violation=within_7_days & ~low_quality_policy,
        low_quality=within_7_days & low_quality_policy,
        cohort=np.where(on_listing, listing_day[np.where(on_listing, actions["target"], 0)], -1),
    )


def incident_rows(
    plan,
    clock,
    strategies,
    change_ids,
    changes,
    ld,
    sd,
    acts,
    kept,
    dropped,
    ap,
    kept_idx,
    attack_segment,
) -> dict:
    """The incidents truth table: one row per metric series each planted incident moves."""
    table = _IncidentTable(clock)
    enforced = _enforced(ld, acts, kept, dropped, ap, kept_idx, clock.days)
    by_name = {s.name: s for s in strategies}
    change_log = list(zip(change_ids, changes, strict=True))
    if plan.launch_day is not None:
        _strategy_launch(table, enforced, by_name["ip_infringement_model"], change_log)
    if plan.attack is not None and sd.is_attacker.any():
        _attack_spike(table, enforced, plan.attack, attack_segment, ld, sd)
    if plan.threshold is not None:
        _threshold_change(
            table, enforced, plan.threshold, by_name["misleading_claims_model"], change_log
        )
    if plan.mix is not None and ld.mix_category >= 0:
        _category_mix_shift(table, enforced, plan.mix, ld)
    if plan.drop is not None:
        _data_drop(table, enforced, plan.drop)
    _ring_onboarding(table, enforced, sd)
    for incident in plan.shaped:
        _shaped(table, incident)
    return table.columns()


def _change_id(change_log, strategy_idx: int, change_type: str) -> str | None:
    """The id of the strategy's first change of this type in the simulated period."""
    for change_id, change in change_log:
        if change[0] == strategy_idx and change[2] == change_type and change[1] >= 0:
            return change_id
    return None


def _strategy_launch(table, enforced: _Enforced, strategy, change_log) -> None:
    """A new live listing strategy lifts the violation rate from its launch on; its false
    positives, appealed and overturned, lift the overturn rate from about a week later."""
    days = table.clock.days
    actions = enforced.actions
    by_strategy = actions["strategy"] == strategy.idx
    counted = by_strategy & enforced.violation & enforced.kept
    span = _footprint(enforced.cohort[counted], days, enforced.listings_per_day)
    if span is None:
        return
    table.start()
    change = _change_id(change_log, strategy.idx, "launch")
    table.add(
        "strategy_launch",
        "listing_violation_rate",
        "ALL",
        "ALL",
        (span[0], days - 1),
        "up",
        strategy.strategy_id,
        change,
        f"{strategy.name} launched on {table.clock.date_str(strategy.launched)} and enforces "
        "ip_infringement: a lasting level shift of the listing violation rate",
        shape="level_shift",
    )
    overturn_span = _footprint(enforced.overturned_days(by_strategy), days)
    if overturn_span is not None:
        table.add(
            "strategy_launch",
            "appeal_overturn_rate",
            "ALL",
            "ALL",
            (overturn_span[0], days - 1),
            "up",
            strategy.strategy_id,
            change,
            f"{strategy.name}'s false positives, appealed and overturned, lift the appeal "
            "overturn rate from a week after its launch",
            shape="level_shift",
            consequence=True,
        )


def _attack_spike(table, enforced: _Enforced, attack_days, attack_segment, listings, sellers):
    """New bad sellers in one segment post mostly counterfeit listings (the violation rate of
    the segment and the marketplace); their removal within 30 days lifts the segment's
    bad-seller onboarding rate."""
    table.start()
    region, category = C.REGIONS[attack_segment[0]], C.CATEGORIES[attack_segment[1]]
    attack_listing_days = enforced.listing_day[listings.is_attack]
    if len(attack_listing_days):
        span = (int(attack_listing_days.min()), int(attack_listing_days.max()))
    else:
        span = attack_days
    description = (
        f"Attack spike: {int(sellers.is_attacker.sum())} new bad sellers in {region}/{category} "
        f"posted {int(listings.is_attack.sum())} mostly counterfeit listings"
    )
    for row_region, row_category in ((region, category), ("ALL", "ALL")):
        table.add(
            "attack_spike",
            "listing_violation_rate",
            row_region,
            row_category,
            span,
            "up",
            None,
            None,
            description,
        )
    actions = enforced.actions
    removal = (
        (actions["target_type"] == 1)
        & enforced.kept
        & np.isin(actions["action"], [E.A_SUSPENSION, E.A_BAN])
    )
    removed = actions["target"][removal]
    attacker_within_30 = sellers.is_attacker[removed] & (
        actions["t"][removal] - sellers.t_onb[removed] <= 30.0
    )
    onboarding_days = np.floor(sellers.t_onb[np.unique(removed[attacker_within_30])]).astype(
        np.int64
    )
    if len(onboarding_days):
        table.add(
            "attack_spike",
            "bad_seller_onboarding_rate",
            region,
            category,
            (int(onboarding_days.min()), int(onboarding_days.max())),
            "up",
            None,
            None,
            description,
            consequence=True,
        )


def _threshold_change(table, enforced: _Enforced, window, strategy, change_log) -> None:
    """A lowered threshold raises the strategy's false positives until the rollback (the
    violation rate), and their overturned appeals (the overturn rate)."""
    table.start()
    clock, days = table.clock, table.clock.days
    lowered_on, rolled_back_on = window
    change = _change_id(change_log, strategy.idx, "threshold_change")
    description = (
        f"{strategy.name} threshold lowered on {clock.date_str(lowered_on)} (false positives "
        f"up) until the rollback on {clock.date_str(rolled_back_on)}"
    )
    actions = enforced.actions
    false_positives = (
        (actions["strategy"] == strategy.idx)
        & actions["is_fp"]
        & enforced.violation
        & enforced.kept
    )
    false_positives &= (actions["t"] >= lowered_on) & (actions["t"] < rolled_back_on + 1.5)
    for metric, span, consequence in (
        (
            "listing_violation_rate",
            _footprint(enforced.cohort[false_positives], days, enforced.listings_per_day),
            False,
        ),
        ("appeal_overturn_rate", _footprint(enforced.overturned_days(false_positives), days), True),
    ):
        if span is not None:
            table.add(
                "strategy_false_positives",
                metric,
                "ALL",
                "ALL",
                span,
                "up",
                strategy.strategy_id,
                change,
                description,
                consequence=consequence,
            )


def _category_mix_shift(table, enforced: _Enforced, window, listings) -> None:
    """A promotion multiplies one category's new listings for a week: segment rates stay, the
    marketplace-wide rates move by the extra share times the category's difference from the
    marketplace (listed for the low-quality rate only when that move is above the noise)."""
    table.start()
    first_day, last_day = window
    category = listings.mix_category
    name = C.CATEGORIES[category]
    description = (
        f"Category mix shift: a {name} promotion multiplied new {name} listings for a week; "
        "segment rates unchanged, marketplace-wide rates move"
    )
    listing_day = enforced.listing_day
    baseline = (listing_day >= first_day - 28) & (listing_day < first_day) & ~listings.is_mix
    n_baseline = max(int(baseline.sum()), 1)
    extra_share = listings.is_mix[(listing_day >= first_day) & (listing_day <= last_day)].mean()
    in_category = listings.category == category
    for metric, counted in (
        ("listing_violation_rate", enforced.violation),
        ("low_quality_listing_rate", enforced.low_quality),
    ):
        acted_on = np.zeros(listings.n, bool)
        acted_on[enforced.actions["target"][counted & enforced.kept]] = True
        category_rate = (
            acted_on[baseline & in_category].mean() if (baseline & in_category).any() else 0.0
        )
        overall_rate = acted_on[baseline].mean()
        shift = extra_share * (category_rate - overall_rate)
        daily_sd = np.sqrt(max(overall_rate * (1 - overall_rate), 1e-9) / (n_baseline / 28.0))
        if abs(shift) >= 1.5 * daily_sd or metric == "listing_violation_rate":
            table.add(
                "category_mix_shift",
                metric,
                "ALL",
                "ALL",
                window,
                "up" if shift > 0 else "down",
                None,
                None,
                description,
            )


def _data_drop(table, enforced: _Enforced, window) -> None:
    """An ingestion outage loses actions: the listing rates of their cohorts drop."""
    table.start()
    clock = table.clock
    description = (
        f"Ingestion outage: {int(enforced.dropped.sum())} enforcement actions acted on "
        f"{clock.date_str(window[0])}..{clock.date_str(window[1])} are missing from the raw data"
    )
    for metric, counted in (
        ("listing_violation_rate", enforced.violation),
        ("low_quality_listing_rate", enforced.low_quality),
    ):
        span = _footprint(
            enforced.cohort[counted & enforced.dropped], clock.days, enforced.listings_per_day
        )
        if span is not None:
            table.add("data_drop", metric, "ALL", "ALL", span, "down", None, None, description)


def _ring_onboarding(table, enforced: _Enforced, sellers) -> None:
    """Rings whose coordinated onboarding moves the bad-seller onboarding rate of their region
    (region-wide rows: the members' primary categories vary)."""
    waves = _ring_onboarding_waves(sellers, enforced.actions, enforced.kept, table.clock.days)
    for ring, span, region, n_bad in waves:
        table.start()
        description = (
            f"Ring {ring}: {n_bad} members onboarded in {C.REGIONS[region]} within days of "
            "each other and removed within 30 days"
        )
        for row_region, row_category in _segment_and_rollups(region, -1):
            table.add(
                "ring_onboarding",
                "bad_seller_onboarding_rate",
                row_region,
                row_category,
                span,
                "up",
                None,
                None,
                description,
            )


def _shaped(table, incident) -> None:
    """A shaped incident (drift, level shift, weekly pattern, segment spike) on its segment
    and the roll-ups above it."""
    table.start()
    for region, category in _segment_and_rollups(incident.region, incident.category):
        table.add(
            incident.shape,
            incident.metric,
            region,
            category,
            (incident.start, incident.detect_end),
            "up" if incident.multiplier >= 1.0 else "down",
            None,
            None,
            _shaped_description(incident, table.clock),
            shape=incident.shape,
            strength=incident.strength,
        )


def _overturned_resolutions(acts, ap, kept_idx, action_mask: np.ndarray) -> np.ndarray:
    """Resolution days of the overturned appeals of the actions in ``action_mask``."""
    appealed = kept_idx[ap["action"]]
    overturned = (ap["outcome"] == 1) & action_mask[appealed]
    return np.floor(ap["resolved"][overturned])


def _segment_and_rollups(region: int, category: int) -> list[tuple[str, str]]:
    """The incident's own segment and the roll-ups above it, most specific first."""
    r = C.REGIONS[region] if region >= 0 else "ALL"
    c = C.CATEGORIES[category] if category >= 0 else "ALL"
    out = [(r, c)]
    if r != "ALL" and c != "ALL":
        out += [(r, "ALL"), ("ALL", c)]
    if (r, c) != ("ALL", "ALL"):
        out.append(("ALL", "ALL"))
    return out


SHAPE_WORDS = {
    "drift": "drifts up over {ramp} days to x{m:.2f} and stays there",
    "level_shift": "steps up to x{m:.2f} for good",
    "weekly_pattern": "rises to x{m:.2f} on weekends only, for {length} days",
    "segment_spike": "spikes to x{m:.2f} for {length} days",
}
SHAPE_CAUSES = {
    "low_quality_listing_rate": "the probability that a new listing is low quality",
    "complaint_rate": "the probability that an order draws a complaint",
}


def _shaped_description(incident, clock) -> str:
    where = "/".join(
        [
            C.REGIONS[incident.region] if incident.region >= 0 else "all regions",
            C.CATEGORIES[incident.category] if incident.category >= 0 else "all categories",
        ]
    )
    how = SHAPE_WORDS[incident.shape].format(
        ramp=incident.ramp_days, m=incident.multiplier, length=incident.end - incident.start + 1
    )
    return (
        f"{incident.shape.replace('_', ' ').capitalize()} from {clock.date_str(incident.start)}: "
        f"in {where}, {SHAPE_CAUSES[incident.metric]} {how} (target {incident.strength:g} x "
        "the segment's daily binomial noise)"
    )


MIN_RING_WAVE = 3  # counted members that make a ring's onboarding a listed wave


def _ring_onboarding_waves(sd, acts, kept, days):
    """Planted rings whose members the bad-seller onboarding rate counts (a kept suspension or
    ban for a high or critical policy within 30 days of onboarding): (ring id, onboarding-day
    footprint, modal region, counted members) for every non-attack ring with
    at least MIN_RING_WAVE such members. Their coordinated onboarding moves the rate of their
    segment the way an attack does."""
    removal = (
        (acts["target_type"] == 1)
        & kept
        & np.isin(acts["action"], [E.A_SUSPENSION, E.A_BAN])
        & (E.SEVERITY[acts["policy"]] >= 2)
    )
    seller = acts["target"][removal]
    lag = acts["t"][removal] - sd.t_onb[seller]
    counted = np.unique(seller[(lag >= 0) & (lag <= 30.0)])
    counted = counted[sd.ring[counted] >= 0]
    counted = counted[~sd.ring_is_attack[sd.ring[counted]]]
    out = []
    for ring in np.unique(sd.ring[counted]):
        members = counted[sd.ring[counted] == ring]
        if len(members) < MIN_RING_WAVE:
            continue
        span = _footprint(np.floor(sd.t_onb[members]), days)
        if span is None:
            continue
        region = int(np.bincount(sd.region[members]).argmax())
        out.append((f"R{int(ring) + 1:04d}", span, region, len(members)))
    return out
