"""Orders and complaints, generated per listing cohort (month) so large tiers stream to disk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import config as C
from .enforcement import A_LIMIT, A_TAKEDOWN, listing_action_type, listing_fp
from .incidents import IncidentPlan
from .listings import ListingData
from .sellers import SellerData
from .util import Clock, ids, rng_for, sample_from_weights, take_str

ORDER_LIFETIME_DAYS = 30.0
REASON = {r: i for i, r in enumerate(C.COMPLAINT_REASONS)}
P = {p: i for i, p in enumerate(C.POLICY_CODES)}
BRUSHER = C.BAD_TYPES.index("brusher")
CATEGORY_DEMAND = np.array([1.2, 1.1, 1.0, 0.9, 1.3, 0.9, 0.9, 0.8, 0.7, 0.6])


def _reason_probs(policy: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Complaint reason distribution by the listing's true policy (rows) -> COMPLAINT_REASONS."""
    n = len(policy)
    pr = np.tile(np.array([0.03, 0.27, 0.45, 0.01, 0.24]), (n, 1))
    pr[bad] = np.array([0.05, 0.30, 0.50, 0.02, 0.13])
    for pol, row in (
        ("counterfeit", [0.70, 0.20, 0.04, 0.01, 0.05]),
        ("ip_infringement", [0.45, 0.35, 0.05, 0.05, 0.10]),
        ("prohibited_item", [0.05, 0.20, 0.05, 0.60, 0.10]),
        ("misleading_claims", [0.05, 0.75, 0.05, 0.05, 0.10]),
        ("price_gouging", [0.02, 0.40, 0.08, 0.00, 0.50]),
    ):
        pr[policy == P[pol]] = row
    lq = (policy >= 0) & np.isin(policy, [P[p] for p in C.LOW_QUALITY_POLICIES])
    pr[lq] = np.array([0.02, 0.60, 0.13, 0.00, 0.25])
    return pr


@dataclass(frozen=True)
class _Cohort:
    """The listings created in one month (rows 0..n-1 here) and what their orders depend on."""

    listing: np.ndarray  # index into ListingData
    seller: np.ndarray
    is_bad_seller: np.ndarray
    policy: np.ndarray
    is_violating: np.ndarray
    is_low_quality: np.ndarray
    price: np.ndarray
    category: np.ndarray
    created: np.ndarray  # listing creation time
    cut_at: np.ndarray  # time the listing stops selling (first action or seller removal)


@dataclass(frozen=True)
class _Orders:
    row: np.ndarray  # cohort row of the listing ordered
    t: np.ndarray
    buyer: np.ndarray
    gmv: np.ndarray
    status: np.ndarray  # index into C.ORDER_STATUSES


@dataclass(frozen=True)
class _Complaints:
    """Complaints on orders, then listing reports without an order."""

    row: np.ndarray  # cohort row of the listing
    t: np.ndarray
    order: np.ndarray  # index into the cohort's orders, -1 for a report
    reason: np.ndarray  # index into C.COMPLAINT_REASONS


@dataclass(frozen=True)
class _Reviews:
    """Manual reviews complaints triggered that ended in an action on the listing."""

    row: np.ndarray  # cohort row of the listing
    t: np.ndarray
    action: np.ndarray
    policy: np.ndarray


def generate_orders(
    cfg: C.ScaleConfig,
    ld: ListingData,
    sd: SellerData,
    clock: Clock,
    cut_at: np.ndarray,
    seed: int,
    writer,
    late_rate_orders: float,
    late_rate_complaints: float,
    plan: IncidentPlan | None = None,
):
    """Write the orders and complaints of every monthly listing cohort (one random stream per
    cohort). Returns the manual reviews complaints triggered (listing actions: target, t,
    action, policy, is_fp), the late arrivals (table, ids, event time, arrival time) and the
    row counts."""
    if plan is not None:
        _calibrate_complaint_incidents(plan, cfg, ld, sd)
    dow_accept = C.DOW_WEIGHTS / C.DOW_WEIGHTS.max()
    demand = _Demand(
        orders_per_listing=cfg.orders_per_listing / dow_accept.mean(),
        weekday_acceptance=dow_accept,
        n_buyers=cfg.buyers_per_seller * sd.n,
    )
    months = (clock.start + np.floor(ld.t).astype("timedelta64[D]")).astype("datetime64[M]")
    bounds = np.flatnonzero(np.r_[True, months[1:] != months[:-1], True])
    n_orders, n_complaints = 0, 0
    reviews = {k: [] for k in ("target", "t", "action", "policy", "is_fp")}
    late = []
    for cohort_number in range(len(bounds) - 1):
        rng = rng_for(seed, "orders", cohort_number)
        listing = np.arange(int(bounds[cohort_number]), int(bounds[cohort_number + 1]))
        cohort = _cohort(ld, sd, cut_at, listing)
        orders = _draw_orders(rng, cohort, sd, clock, demand)
        complaints = _draw_complaints(rng, cohort, orders, sd, clock, plan)
        review = _complaint_reviews(rng, cohort, complaints, clock.days)
        reviews["target"].append(listing[review.row])
        reviews["t"].append(review.t)
        reviews["action"].append(review.action.astype(np.int8))
        reviews["policy"].append(review.policy)
        reviews["is_fp"].append(listing_fp(ld, listing[review.row], review.policy))
        # a takedown ends the listing's orders and reports
        cut_local = cohort.cut_at.copy()
        takedown = review.action == A_TAKEDOWN
        np.minimum.at(cut_local, review.row[takedown], review.t[takedown])
        order_kept = orders.t < cut_local[orders.row]
        complaint_kept = np.where(
            complaints.order >= 0,
            order_kept[np.maximum(complaints.order, 0)],
            complaints.t < cut_local[complaints.row],
        )
        part = f"part-{cohort_number:03d}"
        order_number, late_orders = _write_orders(
            writer, rng, clock, cohort, orders, order_kept, n_orders, part, late_rate_orders
        )
        late.append(late_orders)
        late_complaints = _write_complaints(
            writer,
            rng,
            clock,
            cohort,
            complaints,
            complaint_kept,
            order_number,
            order_kept,
            n_complaints,
            part,
            late_rate_complaints,
        )
        late.append(late_complaints)
        n_orders += int(order_kept.sum())
        n_complaints += int(complaint_kept.sum())
    review_actions = {k: np.concatenate(v) if v else np.zeros(0) for k, v in reviews.items()}
    return review_actions, late, {"orders": n_orders, "complaints": n_complaints}


@dataclass(frozen=True)
class _Demand:
    orders_per_listing: float  # candidate orders per listing before the weekday thinning
    weekday_acceptance: np.ndarray  # share of candidate orders kept, by weekday
    n_buyers: int


def _cohort(ld: ListingData, sd: SellerData, cut_at: np.ndarray, listing: np.ndarray) -> _Cohort:
    seller = ld.seller[listing]
    return _Cohort(
        listing=listing,
        seller=seller,
        is_bad_seller=sd.is_bad[seller],
        policy=ld.policy[listing],
        is_violating=ld.is_violating[listing],
        is_low_quality=ld.is_low_quality[listing],
        price=ld.price[listing],
        category=ld.category[listing],
        created=ld.t[listing],
        cut_at=cut_at[listing],
    )


def _draw_orders(rng, cohort: _Cohort, sd: SellerData, clock: Clock, demand: _Demand) -> _Orders:
    """Orders of the cohort's listings: a heavy-tailed demand per listing, orders spread over
    about a month after creation at the hours and weekdays people buy, none after the
    listing stops selling; heavy-tailed repeat buyers, brushers' handful of fake accounts."""
    n_listings = len(cohort.listing)
    category = cohort.category
    popularity = np.exp(rng.normal(-0.6, 1.1, n_listings))
    popularity *= (
        CATEGORY_DEMAND[category]
        * np.where(cohort.is_violating, 1.2, 1.0)
        * np.where(cohort.is_low_quality, 0.7, 1.0)
    )
    popularity *= (cohort.price / C.CATEGORY_MEDIAN_PRICE[category]) ** -0.25
    n_candidates = rng.poisson(demand.orders_per_listing * popularity)
    row = np.repeat(np.arange(n_listings), n_candidates)
    lag = rng.exponential(ORDER_LIFETIME_DAYS, len(row))
    created = cohort.created[row]
    day = np.floor(created + lag)
    t = day + (sample_from_weights(rng, C.HOUR_WEIGHTS, len(row)) + rng.random(len(row))) / 24
    early = t < created
    t[early] = created[early] + 0.25 * rng.random(early.sum()) / 24
    keep = (
        (t < clock.days)
        & (t < cohort.cut_at[row])
        & (rng.random(len(row)) < demand.weekday_acceptance[clock.dow(day)])
    )
    row, t = row[keep], t[keep]
    n = len(row)
    seller = cohort.seller[row]
    buyer = (demand.n_buyers * rng.random(n) ** 1.8).astype(np.int64)
    brush = (sd.bad_type[seller] == BRUSHER) & (rng.random(n) < 0.5)
    buyer[brush] = (
        demand.n_buyers + seller[brush].astype(np.int64) * 5 + rng.integers(0, 5, brush.sum())
    )
    quantity = 1 + rng.geometric(0.7, n) - 1
    gmv = np.round(cohort.price[row] * quantity * (0.9 + 0.1 * rng.random(n)), 2)
    p_cancel = 0.05
    violating, low_quality = cohort.is_violating[row], cohort.is_low_quality[row]
    p_refund = np.where(violating, 0.15, np.where(low_quality, 0.05, 0.02))
    p_refund = p_refund + np.where(cohort.is_bad_seller[row], 0.05, 0.0)
    u = rng.random(n)
    status = np.where(u < p_cancel, 1, np.where(u < p_cancel + p_refund, 2, 0)).astype(np.int8)
    return _Orders(row=row, t=t, buyer=buyer, gmv=gmv, status=status)


def _draw_complaints(rng, cohort: _Cohort, orders: _Orders, sd, clock, plan) -> _Complaints:
    """Complaints on orders (likelier on violating listings and refunds; shaped complaint
    incidents multiply them), then reports on listings without an order, each with a reason."""
    row = orders.row
    violating, low_quality = cohort.is_violating[row], cohort.is_low_quality[row]
    p_complaint = np.where(violating, 0.18, np.where(low_quality, 0.03, 0.008))
    p_complaint = np.where(cohort.is_bad_seller[row] & ~violating, 0.04, p_complaint)
    p_complaint = np.where(orders.status == 2, np.minimum(p_complaint * 2.5, 0.6), p_complaint)
    p_complaint = np.where(orders.status == 1, 0.002, p_complaint)
    if plan is not None:
        factor = plan.shaped_factor(
            "complaint_rate",
            orders.t,
            clock.dow(np.floor(orders.t)),
            sd.region[cohort.seller[row]],
            cohort.category[row],
        )
        p_complaint = np.minimum(p_complaint * factor, 0.95)
    on_order = np.flatnonzero(rng.random(len(row)) < p_complaint)
    complaint_t = orders.t[on_order] + rng.gamma(2.0, 3.5, len(on_order))
    in_period = complaint_t < clock.days
    on_order, complaint_t = on_order[in_period], complaint_t[in_period]
    reports_per_listing = np.where(
        cohort.is_violating, 0.35, np.where(cohort.is_low_quality, 0.03, 0.006)
    )
    report_row = np.repeat(np.arange(len(cohort.listing)), rng.poisson(reports_per_listing))
    report_t = cohort.created[report_row] + rng.exponential(6.0, len(report_row))
    reported = (report_t < clock.days) & (report_t < cohort.cut_at[report_row])
    report_row, report_t = report_row[reported], report_t[reported]
    all_row = np.concatenate([row[on_order], report_row])
    reason = _sample_reason(rng, cohort.policy[all_row], cohort.is_bad_seller[all_row])
    return _Complaints(
        row=all_row,
        t=np.concatenate([complaint_t, report_t]),
        order=np.concatenate([on_order, np.full(len(report_row), -1)]),
        reason=reason,
    )


def _complaint_reviews(rng, cohort: _Cohort, complaints: _Complaints, days: int) -> _Reviews:
    """A listing's first severe complaint (counterfeit, prohibited item) or its second
    complaint triggers a manual review half a day to three days later; six in ten reviews
    happen, and act on violating listings, half the low-quality ones and a few clean ones."""
    order = np.lexsort((complaints.t, complaints.row))
    row, t, reason = complaints.row[order], complaints.t[order], complaints.reason[order]
    first = np.r_[True, row[1:] != row[:-1]] if len(row) else np.zeros(0, bool)
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(row)), 0))
    rank = np.arange(len(row)) - group_start
    severe = (reason == REASON["counterfeit"]) | (reason == REASON["prohibited_item"])
    trigger = np.flatnonzero((severe & (rank == 0)) | (rank == 1))
    _, first_trigger = np.unique(row[trigger], return_index=True)
    trigger = trigger[first_trigger]
    review_row = row[trigger]
    review_t = t[trigger] + 0.5 + rng.random(len(review_row)) * 2.5
    reviewed = (
        (rng.random(len(review_row)) < 0.6)
        & (review_t < days)
        & (review_t < cohort.cut_at[review_row])
    )
    review_row, review_t = review_row[reviewed], review_t[reviewed]
    review_reason = reason[trigger][reviewed]
    violating = cohort.is_violating[review_row]
    low_quality = cohort.is_low_quality[review_row]
    wrongful = ~violating & ~low_quality & (rng.random(len(review_row)) < 0.05)
    limited = low_quality & (rng.random(len(review_row)) < 0.5)
    acted = violating | wrongful | limited
    wrongful_policy = np.where(
        review_reason == REASON["counterfeit"],
        P["counterfeit"],
        np.where(
            review_reason == REASON["prohibited_item"], P["prohibited_item"], P["misleading_claims"]
        ),
    )
    policy = np.where(violating | low_quality, cohort.policy[review_row], wrongful_policy)
    policy = policy[acted].astype(np.int8)
    action = np.where(limited[acted] & ~violating[acted], A_LIMIT, listing_action_type(rng, policy))
    return _Reviews(row=review_row[acted], t=review_t[acted], action=action, policy=policy)


def _late(rng, table: str, table_ids: pa.Array, t: np.ndarray, rate: float) -> tuple:
    """The records that arrive one to three days after the event: (table, ids, t, arrival)."""
    is_late = rng.random(len(t)) < rate
    arrives = t[is_late] + 1.0 + 2.0 * rng.random(is_late.sum())
    return (table, table_ids.filter(pa.array(is_late)), t[is_late], arrives)


def _write_orders(writer, rng, clock, cohort, orders: _Orders, kept, first_number, part, late_rate):
    """The cohort's orders (numbered by time after ``first_number``); returns each kept
    order's number (in the order of ``orders``) and the late arrivals."""
    row, t = orders.row[kept], orders.t[kept]
    by_time = np.lexsort((row, t))
    rank = np.empty(len(by_time), np.int64)
    rank[by_time] = np.arange(len(by_time))
    order_number = first_number + 1 + rank
    order_ids = ids("O", order_number[by_time], 10)
    writer.write(
        "orders",
        {
            "order_id": order_ids,
            "listing_id": ids("L", cohort.listing[row[by_time]] + 1, 9),
            "seller_id": ids("S", cohort.seller[row[by_time]] + 1, 7),
            "buyer_id": ids("B", orders.buyer[kept][by_time] + 1, 9),
            "ordered_at": clock.ts_array(t[by_time]),
            "gmv_usd": pa.array(orders.gmv[kept][by_time], pa.float64()),
            "order_status": take_str(C.ORDER_STATUSES, orders.status[kept][by_time]),
        },
        part=part,
    )
    return order_number, _late(rng, "orders", order_ids, t[by_time], late_rate)


def _write_complaints(
    writer, rng, clock, cohort, complaints: _Complaints, kept, order_number, order_kept,
    first_number, part, late_rate,
):  # fmt: skip
    """The cohort's kept complaints by time (numbered after ``first_number``), each with the
    number of its order (``order_number`` of each kept order, ``order_kept`` per order before
    the takedown cut); returns the late arrivals."""
    kept_rows = np.flatnonzero(kept)
    on_order = complaints.order[kept_rows]
    kept_index = np.cumsum(order_kept) - 1
    complaint_order = np.where(on_order >= 0, order_number[kept_index[np.maximum(on_order, 0)]], -1)
    by_time = np.lexsort((complaints.row[kept_rows], complaints.t[kept_rows]))
    kept_rows, complaint_order = kept_rows[by_time], complaint_order[by_time]
    complaint_ids = ids("C", first_number + 1 + np.arange(len(kept_rows)), 9)
    order_ids = ids("O", np.maximum(complaint_order, 0), 10)
    order_ids = pc.if_else(
        pa.array(complaint_order >= 0), order_ids, pa.nulls(len(kept_rows), pa.string())
    )
    listing_row = complaints.row[kept_rows]
    t = complaints.t[kept_rows]
    writer.write(
        "complaints",
        {
            "complaint_id": complaint_ids,
            "order_id": order_ids,
            "listing_id": ids("L", cohort.listing[listing_row] + 1, 9),
            "seller_id": ids("S", cohort.seller[listing_row] + 1, 7),
            "created_at": clock.ts_array(t),
            "reason": take_str(C.COMPLAINT_REASONS, complaints.reason[kept_rows]),
        },
        part=part,
    )
    return _late(rng, "complaints", complaint_ids, t, late_rate)


def _expected_complaint_p(ld: ListingData, sd: SellerData) -> np.ndarray:
    """Each listing's complaint probability per completed order, violating listings weighted
    down for their early takedown (they sell for days, not weeks)."""
    bad = sd.is_bad[ld.seller]
    p = np.where(ld.is_violating, 0.18 * 0.25, np.where(ld.is_low_quality, 0.03, 0.008))
    return np.where(bad & ~ld.is_violating, 0.04, p)


def _calibrate_complaint_incidents(plan: IncidentPlan, cfg, ld: ListingData, sd: SellerData):
    """Strength of each shaped complaint_rate incident from its segment's completed orders a
    day (about ``orders_per_listing`` per listing, four in five completed and before any
    takedown) and expected complaint rate, over the four weeks before it."""
    region = sd.region[ld.seller]
    p_c = None
    for incident in plan.shaped:
        if incident.metric != "complaint_rate":
            continue
        if p_c is None:
            p_c = _expected_complaint_p(ld, sd)
        seg = (ld.t >= incident.start - 28) & (ld.t < incident.start)
        if incident.region >= 0:
            seg &= region == incident.region
        if incident.category >= 0:
            seg &= ld.category == incident.category
        demand = CATEGORY_DEMAND[ld.category[seg]].mean() if seg.any() else 1.0
        orders_per_day = seg.sum() / 28.0 * cfg.orders_per_listing * demand * 0.8
        incident.calibrate(orders_per_day, float(p_c[seg].mean()) if seg.any() else 0.01)


def _sample_reason(rng, policy, bad):
    pr = _reason_probs(policy, bad)
    cw = np.cumsum(pr, axis=1)
    u = rng.random(len(policy)) * cw[:, -1]
    return (cw < u[:, None]).sum(axis=1).clip(0, pr.shape[1] - 1).astype(np.int8)
