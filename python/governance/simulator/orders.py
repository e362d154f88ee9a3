"""Orders and complaints, generated per listing cohort (month) so large tiers stream to disk."""

from __future__ import annotations

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
    days = clock.days
    if plan is not None:
        _calibrate_complaint_incidents(plan, cfg, ld, sd)
    n_buyers = cfg.buyers_per_seller * sd.n
    dow_accept = C.DOW_WEIGHTS / C.DOW_WEIGHTS.max()
    base = cfg.orders_per_listing / dow_accept.mean()
    months = (clock.start + np.floor(ld.t).astype("timedelta64[D]")).astype("datetime64[M]")
    bounds = np.flatnonzero(np.r_[True, months[1:] != months[:-1], True])
    order_offset, complaint_offset = 0, 0
    manual = {k: [] for k in ("target", "t", "action", "policy", "is_fp")}
    late = []
    stats = {"orders": 0, "complaints": 0}
    for ci in range(len(bounds) - 1):
        rng = rng_for(seed, "orders", ci)
        lo, hi = int(bounds[ci]), int(bounds[ci + 1])
        li = np.arange(lo, hi)
        seller = ld.seller[li]
        bad = sd.is_bad[seller]
        pol = ld.policy[li]
        viol = ld.is_violating[li]
        lq = ld.is_low_quality[li]
        price = ld.price[li]
        cat = ld.category[li]
        # demand of each listing
        pop = np.exp(rng.normal(-0.6, 1.1, len(li)))
        pop *= CATEGORY_DEMAND[cat] * np.where(viol, 1.2, 1.0) * np.where(lq, 0.7, 1.0)
        pop *= (price / C.CATEGORY_MEDIAN_PRICE[cat]) ** -0.25
        n_cand = rng.poisson(base * pop)
        rows = np.repeat(np.arange(len(li)), n_cand)
        lag = rng.exponential(ORDER_LIFETIME_DAYS, len(rows))
        day = np.floor(ld.t[li][rows] + lag)
        t = day + (sample_from_weights(rng, C.HOUR_WEIGHTS, len(rows)) + rng.random(len(rows))) / 24
        early = t < ld.t[li][rows]
        t[early] = ld.t[li][rows][early] + 0.25 * rng.random(early.sum()) / 24
        keep = (
            (t < days)
            & (t < cut_at[li][rows])
            & (rng.random(len(rows)) < dow_accept[clock.dow(day)])
        )
        rows, t = rows[keep], t[keep]
        m = len(rows)
        # buyers: heavy-tailed repeat buying; brushers use a handful of fake accounts
        buyer = (n_buyers * rng.random(m) ** 1.8).astype(np.int64)
        brush = (sd.bad_type[seller[rows]] == BRUSHER) & (rng.random(m) < 0.5)
        buyer[brush] = (
            n_buyers + seller[rows][brush].astype(np.int64) * 5 + rng.integers(0, 5, brush.sum())
        )
        qty = 1 + rng.geometric(0.7, m) - 1
        gmv = np.round(price[rows] * qty * (0.9 + 0.1 * rng.random(m)), 2)
        p_cancel = 0.05
        p_refund = np.where(viol[rows], 0.15, np.where(lq[rows], 0.05, 0.02))
        p_refund = p_refund + np.where(bad[rows], 0.05, 0.0)
        u = rng.random(m)
        status = np.where(u < p_cancel, 1, np.where(u < p_cancel + p_refund, 2, 0)).astype(np.int8)

        # complaints on delivered orders
        p_c = np.where(viol[rows], 0.18, np.where(lq[rows], 0.03, 0.008))
        p_c = np.where(bad[rows] & ~viol[rows], 0.04, p_c)
        p_c = np.where(status == 2, np.minimum(p_c * 2.5, 0.6), p_c)
        p_c = np.where(status == 1, 0.002, p_c)
        if plan is not None:
            factor = plan.shaped_factor(
                "complaint_rate", t, clock.dow(np.floor(t)), sd.region[seller[rows]], cat[rows]
            )
            p_c = np.minimum(p_c * factor, 0.95)
        comp = np.flatnonzero(rng.random(m) < p_c)
        c_t = t[comp] + rng.gamma(2.0, 3.5, len(comp))
        ok = c_t < days
        comp, c_t = comp[ok], c_t[ok]
        c_row = rows[comp]
        c_order = comp  # index into this chunk's orders
        # listing reports without an order
        lam = np.where(viol, 0.35, np.where(lq, 0.03, 0.006))
        n_rep = rng.poisson(lam)
        r_row = np.repeat(np.arange(len(li)), n_rep)
        r_t = ld.t[li][r_row] + rng.exponential(6.0, len(r_row))
        ok = (r_t < days) & (r_t < cut_at[li][r_row])
        r_row, r_t = r_row[ok], r_t[ok]
        all_row = np.concatenate([c_row, r_row])
        all_t = np.concatenate([c_t, r_t])
        all_order = np.concatenate([c_order, np.full(len(r_row), -1)])
        reason = _sample_reason(rng, pol[all_row], bad[all_row])

        # complaint-driven manual review of the listing
        o = np.lexsort((all_t, all_row))
        srow, st_, sreason = all_row[o], all_t[o], reason[o]
        first = np.r_[True, srow[1:] != srow[:-1]] if len(srow) else np.zeros(0, bool)
        grp_start = np.maximum.accumulate(np.where(first, np.arange(len(srow)), 0))
        rank = np.arange(len(srow)) - grp_start
        severe = (sreason == REASON["counterfeit"]) | (sreason == REASON["prohibited_item"])
        trig = (severe & (rank == 0)) | (rank == 1)
        trig_idx = np.flatnonzero(trig)
        trig_row = srow[trig_idx]
        _, f1 = np.unique(trig_row, return_index=True)
        trig_idx = trig_idx[f1]
        trow = srow[trig_idx]
        t_rev = st_[trig_idx] + 0.5 + rng.random(len(trow)) * 2.5
        reviewed = (rng.random(len(trow)) < 0.6) & (t_rev < days) & (t_rev < cut_at[li][trow])
        trow, t_rev, trs = trow[reviewed], t_rev[reviewed], sreason[trig_idx][reviewed]
        tv, tl = viol[trow], lq[trow]
        wrongful = ~tv & ~tl & (rng.random(len(trow)) < 0.05)
        lim_ok = tl & (rng.random(len(trow)) < 0.5)
        acted = tv | wrongful | lim_ok
        wrong_pol = np.where(
            trs == REASON["counterfeit"],
            P["counterfeit"],
            np.where(
                trs == REASON["prohibited_item"], P["prohibited_item"], P["misleading_claims"]
            ),
        )
        apol = np.where(tv | tl, pol[trow], wrong_pol)[acted].astype(np.int8)
        arow, at = trow[acted], t_rev[acted]
        atype = np.where(lim_ok[acted] & ~tv[acted], A_LIMIT, listing_action_type(rng, apol))
        manual["target"].append(li[arow])
        manual["t"].append(at)
        manual["action"].append(atype.astype(np.int8))
        manual["policy"].append(apol)
        manual["is_fp"].append(listing_fp(ld, li[arow], apol))
        # a takedown ends the listing's orders and reports
        cut_local = cut_at[li].copy()
        td = atype == A_TAKEDOWN
        np.minimum.at(cut_local, arow[td], at[td])
        okeep = t < cut_local[rows]
        new_index = np.cumsum(okeep) - 1
        ckeep = np.where(
            all_order >= 0, okeep[np.maximum(all_order, 0)], all_t < cut_local[all_row]
        )
        # --- orders table ------------------------------------------------------------------
        rows_k, t_k = rows[okeep], t[okeep]
        oo = np.lexsort((rows_k, t_k))
        rank_o = np.empty(len(oo), np.int64)
        rank_o[oo] = np.arange(len(oo))
        order_num = order_offset + 1 + rank_o  # by time within the cohort
        oid = ids("O", order_num[oo], 10)
        writer.write(
            "orders",
            {
                "order_id": oid,
                "listing_id": ids("L", li[rows_k[oo]] + 1, 9),
                "seller_id": ids("S", seller[rows_k[oo]] + 1, 7),
                "buyer_id": ids("B", buyer[okeep][oo] + 1, 9),
                "ordered_at": clock.ts_array(t_k[oo]),
                "gmv_usd": pa.array(gmv[okeep][oo], pa.float64()),
                "order_status": take_str(C.ORDER_STATUSES, status[okeep][oo]),
            },
            part=f"part-{ci:03d}",
        )
        late_o = rng.random(len(oo)) < late_rate_orders
        late.append(
            (
                "orders",
                oid.filter(pa.array(late_o)),
                t_k[oo][late_o],
                t_k[oo][late_o] + 1.0 + 2.0 * rng.random(late_o.sum()),
            )
        )
        # --- complaints table --------------------------------------------------------------
        ck = np.flatnonzero(ckeep)
        c_ord = np.where(all_order[ck] >= 0, order_num[new_index[np.maximum(all_order[ck], 0)]], -1)
        co = np.lexsort((all_row[ck], all_t[ck]))
        ck, c_ord = ck[co], c_ord[co]
        cid = ids("C", complaint_offset + 1 + np.arange(len(ck)), 9)
        order_ids = ids("O", np.maximum(c_ord, 0), 10)
        order_ids = pc.if_else(pa.array(c_ord >= 0), order_ids, pa.nulls(len(ck), pa.string()))
        writer.write(
            "complaints",
            {
                "complaint_id": cid,
                "order_id": order_ids,
                "listing_id": ids("L", li[all_row[ck]] + 1, 9),
                "seller_id": ids("S", seller[all_row[ck]] + 1, 7),
                "created_at": clock.ts_array(all_t[ck]),
                "reason": take_str(C.COMPLAINT_REASONS, reason[ck]),
            },
            part=f"part-{ci:03d}",
        )
        late_c = rng.random(len(ck)) < late_rate_complaints
        late.append(
            (
                "complaints",
                cid.filter(pa.array(late_c)),
                all_t[ck][late_c],
                all_t[ck][late_c] + 1.0 + 2.0 * rng.random(late_c.sum()),
            )
        )
        order_offset += len(oo)
        complaint_offset += len(ck)
        stats["orders"] += len(oo)
        stats["complaints"] += len(ck)
    man = {k: np.concatenate(v) if v else np.zeros(0) for k, v in manual.items()}
    return man, late, stats


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
