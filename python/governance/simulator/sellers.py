"""Sellers, fraud rings of several shapes, innocent shared-signal hubs and seller-level
enforcement plans."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import config as C
from .incidents import IncidentPlan
from .strategies import Strategy
from .util import rng_for, sample_from_weights

RING_SHARED_TYPE_P = np.array([0.9, 0.5, 0.7, 0.5, 0.4])  # device, ip, bank, address, phone
DEVICE, IP, BANK, ADDRESS, PHONE = range(5)  # signal type codes (config.SIGNAL_TYPES)

# How rings share identifiers (truth `rings.shape`):
# dense           one value of a type held by every member (plus values held by subsets);
# star            a controller account shares a different device / phone / bank account with
#                 each other member, who share nothing among themselves;
# partial_overlap each member holds two of the ring's device, bank account and warehouse
#                 address, so no value is common to all;
# rotation_chain  each new account reuses the previous account's device, and about half of the
#                 neighbouring accounts also share a phone line;
# weak_ties       the members share only one phone line and one warehouse address.
RING_SHAPES = ("dense", "star", "partial_overlap", "rotation_chain", "weak_ties")
RING_SHAPE_WEIGHTS = np.array([0.2, 0.2, 0.2, 0.2, 0.2])
RING_TOUCHES_HUB_P = 0.3  # rings whose members also use a public IP hub
RING_VALUE_SLOTS = 64  # value codes per ring (a star or chain of 40 needs 40)
# Strengths, drawn per ring (truth `rings`): how far apart a ring's accounts were opened, and
# how many of the ring's values its members leave out.
# - adoption spread: log-uniform from one day to six months (at most half the simulated
#   history); the members register at uniform times within it;
# - rotation chains open their accounts one after another, each 1-8 weeks after the previous
#   (gaps compressed when a long chain would not fit the history);
# - missing values: each member-value assignment of the ring is left out with a per-ring
#   probability, as long as the ring stays connected through the values it keeps.
# The spread ends at the ring's going live: its accounts' onboarding and listing activity are
# drawn as before, so the rest of the marketplace is the same whatever the strengths.
RING_SPREAD_DAYS = (1.0, 180.0)
CHAIN_GAP_DAYS = (7.0, 56.0)
RING_MISSING_P = (0.0, 0.3)
# Innocent sharing beyond public IPs, co-working addresses and family devices, at several
# strengths: families that also share a home address (and a home IP), co-working spaces whose
# members also share the office IP, logistics agents whose phone (and pickup address) is on
# every account they run.
FAMILY_ADDRESS_P, FAMILY_IP_P = 0.4, 0.25
# Families: 2-3 good sellers of one region sharing a device, a third of them with a further
# member (2-4 in all); most opened their accounts independently of each other, some together
# (the sellers registered next in their region).
FAMILY_GROW_P = 1.0 / 3.0
FAMILY_TOGETHER_P = 0.25
COWORKING_IP_P = 0.5
AGENT_SELLERS_PER_AGENT = 2_500  # one agent per this many sellers (at least two)
AGENT_SIZE = (8, 120)
AGENT_ADDRESS_P = 0.5
# Innocent value codes (per signal type, added to the hub offset of signals.py).
FAMILY_CODE, COWORKING_IP_CODE, AGENT_CODE = 100_000, 300_000, 400_000


@dataclass
class SellerData:
    n: int
    region: np.ndarray
    category: np.ndarray
    business: np.ndarray
    is_bad: np.ndarray
    bad_type: np.ndarray  # index into BAD_TYPES, -1 for good sellers
    ring: np.ndarray  # ring index, -1 if none
    is_attacker: np.ndarray
    t_reg: np.ndarray
    t_onb: np.ndarray  # nan: never onboarded
    caught_at_onboarding: np.ndarray
    weight: np.ndarray  # listing activity weight
    removed_at: np.ndarray  # stops listing (true-positive suspension/ban); inf if never
    ring_region: np.ndarray
    ring_size: np.ndarray
    ring_types: list[tuple[int, ...]]
    ring_values: list[list[int]]  # per ring, number of shared values for each shared type
    ring_is_attack: np.ndarray
    # (kind, signal_type, value_code, member seller indices)
    hubs: list[tuple[str, int, int, np.ndarray]] = field(default_factory=list)
    family_groups: list[np.ndarray] = field(default_factory=list)
    family_together: list[bool] = field(default_factory=list)  # opened their accounts together
    # The groups the enforcement plan draws its false positives from (families before the
    # strengths above were added: the plan's random stream is consumed as before).
    family_draws: list[np.ndarray] = field(default_factory=list)
    ring_shape: np.ndarray | None = None  # index into RING_SHAPES per ring
    ring_spread: np.ndarray | None = None  # planted adoption spread in days (chains: span)
    ring_missing_p: np.ndarray | None = None  # planted chance a member leaves a value out
    ring_missing_share: np.ndarray | None = None  # share of ring values left out (signals.py)
    ring_hub: np.ndarray | None = None  # public-IP hub a ring's members also use, -1 if none
    # Further innocent sharing: (kind, signal_type, hub value code, members, adopted_at_signup)
    # where adopted_at_signup says whether members first use the value when they register
    # (families, agents) or at some point of their activity (office IPs).
    innocent: list[tuple[str, int, int, np.ndarray, bool]] = field(default_factory=list)
    events: dict | None = None  # seller-level hits/actions
    qa: dict | None = None  # random seller QA checks


def _registration_days(rng, n, lo, hi, growth=1.5):
    """Registration times over [lo, hi) days with linear growth in intensity."""
    days = np.arange(lo, hi)
    w = 1.0 + growth * (days - lo) / max(hi - lo, 1)
    d = days[sample_from_weights(rng, w, n)]
    return d + rng.random(n)


def build_sellers(
    cfg: C.ScaleConfig,
    days: int,
    plan: IncidentPlan,
    seed: int,
    attack_region: int,
    attack_category: int,
) -> SellerData:
    rng = rng_for(seed, "sellers")
    history = days  # sellers registered before the period make up the starting base
    # --- rings ----------------------------------------------------------------------------
    n_rings = cfg.n_rings
    sizes = np.clip(np.round(np.exp(rng.normal(np.log(8.0), 0.7, n_rings))), 3, 40).astype(int)
    attack = plan.attack is not None and cfg.n_attackers > 0
    ring_sizes = list(sizes) + ([cfg.n_attackers] if attack else [])
    n_ring_total = int(np.sum(ring_sizes))
    n_plain = cfg.n_sellers - n_ring_total
    n_all = cfg.n_sellers
    n_r = len(ring_sizes)
    ring_region = sample_from_weights(rng, C.REGION_WEIGHTS, n_r)
    ring_cat = sample_from_weights(rng, C.BAD_CATEGORY_WEIGHTS, n_r)
    ring_cat2 = sample_from_weights(rng, C.BAD_CATEGORY_WEIGHTS, n_r)
    ring_centre = _registration_days(rng, n_r, -history, max(days - 10, 1))
    ring_is_attack = np.zeros(n_r, dtype=bool)
    if attack:
        ring_region[-1], ring_cat[-1], ring_cat2[-1] = (
            attack_region,
            attack_category,
            attack_category,
        )
        ring_centre[-1] = plan.attack[0] - 7.0
        ring_is_attack[-1] = True

    # --- per-seller attributes --------------------------------------------------------------
    ring = np.full(n_all, -1, dtype=np.int32)
    ring[n_plain:] = np.repeat(np.arange(n_r), ring_sizes)
    in_ring = ring >= 0
    is_attacker = in_ring & ring_is_attack[ring.clip(0)]
    is_bad = np.zeros(n_all, dtype=bool)
    is_bad[:n_plain] = rng.random(n_plain) < C.BAD_SELLER_SHARE
    is_bad[in_ring] = True
    bad_type = np.full(n_all, -1, dtype=np.int8)
    plain_bad = np.flatnonzero(is_bad & ~in_ring)
    bad_type[plain_bad] = sample_from_weights(rng, C.BAD_TYPE_SHARE, len(plain_bad))
    bad_type[in_ring] = C.BAD_TYPES.index("fraud_ring")

    region = np.empty(n_all, dtype=np.int8)
    region[:n_plain] = sample_from_weights(rng, C.REGION_WEIGHTS, n_plain)
    rr = ring_region[ring[in_ring]]
    stray = rng.random(in_ring.sum()) < 0.1
    rr = np.where(
        stray & ~is_attacker[in_ring], sample_from_weights(rng, C.REGION_WEIGHTS, in_ring.sum()), rr
    )
    region[in_ring] = rr
    category = np.empty(n_all, dtype=np.int8)
    good_plain = np.flatnonzero(~is_bad[:n_plain])
    category[good_plain] = sample_from_weights(rng, C.GOOD_CATEGORY_WEIGHTS, len(good_plain))
    category[plain_bad] = sample_from_weights(rng, C.BAD_CATEGORY_WEIGHTS, len(plain_bad))
    ring_idx = ring[in_ring]
    category[in_ring] = np.where(
        rng.random(in_ring.sum()) < 0.7, ring_cat[ring_idx], ring_cat2[ring_idx]
    )
    business = rng.random(n_all) < np.where(is_bad, 0.2, 0.35)

    t_reg = np.empty(n_all)
    t_reg[:n_plain] = _registration_days(rng, n_plain, -history, days)
    t_reg[in_ring] = ring_centre[ring_idx] + rng.random(in_ring.sum()) * 4.0
    t_reg[is_attacker] = ring_centre[ring[is_attacker]] + rng.random(is_attacker.sum()) * 2.0
    onb_lag = np.exp(rng.normal(np.log(1.2), 0.8, n_all)).clip(0.02, 20.0)
    onb_lag[is_attacker] = 0.4 + rng.random(is_attacker.sum()) * 2.0
    t_onb = t_reg + onb_lag
    reject_p = np.where(is_bad, np.where(in_ring, 0.30, 0.15), 0.04)
    reject_p[is_attacker] = 0.0
    rejected = rng.random(n_all) < reject_p
    caught_at_onboarding = rejected & is_bad
    t_onb[rejected | (t_onb >= days)] = np.nan

    weight = np.exp(rng.normal(0.0, 1.0, n_all))
    weight *= np.where(is_bad, np.where(in_ring, 2.0, 1.6), 1.0)
    weight[is_attacker] = 0.0  # attackers only list during the attack spike
    weight[np.isnan(t_onb)] = 0.0

    # --- sort by registration time: seller ids follow registration order -----------------
    order = np.argsort(t_reg, kind="stable")
    region, category, business = region[order], category[order], business[order]
    is_bad, bad_type, ring, is_attacker = (
        is_bad[order],
        bad_type[order],
        ring[order],
        is_attacker[order],
    )
    t_reg, t_onb, weight = t_reg[order], t_onb[order], weight[order]
    caught_at_onboarding = caught_at_onboarding[order]
    # ring ids follow the first registration of their members
    first_pos = np.full(n_r, n_all)
    np.minimum.at(first_pos, ring[ring >= 0], np.flatnonzero(ring >= 0))
    ring_order = np.argsort(first_pos, kind="stable")
    ring_rank = np.empty(n_r, dtype=np.int32)
    ring_rank[ring_order] = np.arange(n_r)
    ring = np.where(ring >= 0, ring_rank[ring.clip(0)], -1).astype(np.int32)
    ring_region = ring_region[ring_order]
    ring_is_attack = ring_is_attack[ring_order]
    ring_size = np.bincount(ring[ring >= 0], minlength=n_r)

    # shared signal types of each ring
    ring_types, ring_values = [], []
    for _ in range(n_r):
        chosen = np.flatnonzero(rng.random(5) < RING_SHARED_TYPE_P)
        if len(chosen) < 2:
            chosen = np.array([0, 2])
        ring_types.append(tuple(int(x) for x in chosen))
        ring_values.append([int(v) for v in rng.integers(1, 3, len(chosen))])
    for r in np.flatnonzero(ring_is_attack):
        ring_types[r] = (0, 1, 2)
        ring_values[r] = [2, 1, 1]

    sd = SellerData(
        n=n_all,
        region=region,
        category=category,
        business=business,
        is_bad=is_bad,
        bad_type=bad_type,
        ring=ring,
        is_attacker=is_attacker,
        t_reg=t_reg,
        t_onb=t_onb,
        caught_at_onboarding=caught_at_onboarding,
        weight=weight,
        removed_at=np.full(n_all, np.inf),
        ring_region=ring_region,
        ring_size=ring_size,
        ring_types=ring_types,
        ring_values=ring_values,
        ring_is_attack=ring_is_attack,
        ring_missing_p=rng_for(seed, "ring_timing", 1).uniform(*RING_MISSING_P, n_r),
    )
    _build_hubs(sd, cfg, rng, rng_for(seed, "families"))
    _build_ring_shapes(sd, seed)
    sd.ring_spread = _ring_registrations(rng_for(seed, "ring_timing"), sd, (-history, days))
    _build_innocent_sharing(sd, cfg, seed)
    return sd


def _ring_registrations(rng, sd: SellerData, window: tuple[float, float]) -> np.ndarray:
    """Each planted ring's registration times (written into ``sd.t_reg``) and adoption spread
    in days. The spread ends where the ring's accounts were registered before (its going
    live), so onboarding and activity are unchanged; the attack ring keeps its own."""
    lo, hi = window
    spread_hi = min(RING_SPREAD_DAYS[1], (hi - lo) / 2.0)
    chain = RING_SHAPES.index("rotation_chain")
    n_r = len(sd.ring_size)
    spreads = np.zeros(n_r)
    order = np.argsort(sd.ring, kind="stable")
    bounds = np.searchsorted(sd.ring[order], np.arange(n_r + 1))
    for r in range(n_r):
        members = order[bounds[r] : bounds[r + 1]]  # in seller order
        if sd.ring_is_attack[r]:
            spreads[r] = np.ptp(sd.t_reg[members])
            continue
        if sd.ring_shape[r] == chain:
            gaps = rng.uniform(*CHAIN_GAP_DAYS, len(members) - 1)
            gaps *= min(1.0, (hi - lo - 20.0) / max(gaps.sum(), 1e-9))
            offsets = np.r_[0.0, np.cumsum(gaps)]
        else:
            spread = np.exp(rng.uniform(np.log(RING_SPREAD_DAYS[0]), np.log(spread_hi)))
            offsets = rng.random(len(members)) * spread
        live = sd.t_reg[members].min()
        sd.t_reg[members] = live - offsets.max() + offsets
        spreads[r] = np.ptp(offsets)
    return spreads


def _build_ring_shapes(sd: SellerData, seed: int) -> None:
    """Each ring's shape and whether its members also use a public IP hub (own random stream,
    so the rest of the marketplace is drawn as before)."""
    rng = rng_for(seed, "ring_shapes")
    n_r = len(sd.ring_size)
    sd.ring_shape = sample_from_weights(rng, RING_SHAPE_WEIGHTS, n_r).astype(np.int8)
    sd.ring_shape[sd.ring_is_attack] = RING_SHAPES.index("dense")
    public = [i for i, h in enumerate(sd.hubs) if h[0] == "public_ip"]
    touches = (rng.random(n_r) < RING_TOUCHES_HUB_P) & bool(public)
    pick = rng.integers(0, max(len(public), 1), n_r)
    sd.ring_hub = np.where(touches, np.asarray(public or [0])[pick], -1).astype(np.int32)
    for r in np.flatnonzero(sd.ring_shape == RING_SHAPES.index("dense")):
        sd.ring_values[r][0] = 1  # the first shared type has one value, held by every member


def family_kind(value: str, together: bool) -> str:
    """Truth kind of a family's shared value: ``family_<value>``, with ``_together`` for
    families that opened their accounts together."""
    return f"family_{value}" + ("_together" if together else "")


def _build_innocent_sharing(sd: SellerData, cfg: C.ScaleConfig, seed: int) -> None:
    rng = rng_for(seed, "innocent_sharing")
    for g, grp in enumerate(sd.family_groups):
        if rng.random() < FAMILY_ADDRESS_P:
            kind = family_kind("address", sd.family_together[g])
            sd.innocent.append((kind, ADDRESS, FAMILY_CODE + g, grp, True))
            if rng.random() < FAMILY_IP_P / FAMILY_ADDRESS_P:
                kind = family_kind("ip", sd.family_together[g])
                sd.innocent.append((kind, IP, FAMILY_CODE + g, grp, True))
    coworking = [h for h in sd.hubs if h[0] == "coworking_address"]
    for h, (_, _, _, members) in enumerate(coworking):
        if rng.random() < COWORKING_IP_P:
            sd.innocent.append(("coworking_ip", IP, COWORKING_IP_CODE + h, members, False))
    good = ~sd.is_bad
    for a in range(max(2, sd.n // AGENT_SELLERS_PER_AGENT)):
        r = sample_from_weights(rng, C.REGION_WEIGHTS, 1)[0]
        pool = np.flatnonzero(good & (sd.region == r))
        k = min(int(rng.integers(AGENT_SIZE[0], AGENT_SIZE[1] + 1)), len(pool))
        members = np.sort(rng.choice(pool, size=k, replace=False))
        sd.innocent.append(("agent_phone", PHONE, AGENT_CODE + a, members, True))
        if rng.random() < AGENT_ADDRESS_P:
            sd.innocent.append(("agent_address", ADDRESS, AGENT_CODE + a, members, True))


def _build_hubs(sd: SellerData, cfg: C.ScaleConfig, rng, rng_families) -> None:
    """Innocent sharing: public IPs, co-working addresses and family devices."""
    good = ~sd.is_bad
    code = 0
    for _ in range(cfg.n_public_ips):
        r = sample_from_weights(rng, C.REGION_WEIGHTS, 1)[0]
        pool = np.flatnonzero(good & (sd.region == r))
        k = min(int(rng.integers(cfg.public_ip_size[0], cfg.public_ip_size[1] + 1)), len(pool))
        members = np.sort(rng.choice(pool, size=k, replace=False))
        sd.hubs.append(("public_ip", 1, code, members))
        code += 1
    for _ in range(cfg.n_coworking):
        r = sample_from_weights(rng, C.REGION_WEIGHTS, 1)[0]
        pool = np.flatnonzero(good & (sd.region == r) & sd.business)
        k = min(int(rng.integers(cfg.coworking_size[0], cfg.coworking_size[1] + 1)), len(pool))
        members = np.sort(rng.choice(pool, size=k, replace=False))
        sd.hubs.append(("coworking_address", 3, code, members))
        code += 1
    _build_families(sd, rng, rng_families)


def _build_families(sd: SellerData, rng, rng_families) -> None:
    """Families: 2-3 good sellers of one region sharing one device, in groups drawn as before
    (kept in ``family_draws`` for the enforcement plan), whose members are taken in random
    order within their region (they opened their accounts independently of each other); a
    third gain a further member, a quarter opened their accounts together (the first member
    and the next good sellers registered in its region). The changes draw from
    ``rng_families`` only."""
    good = ~sd.is_bad
    n_fam = max(1, int(0.012 * sd.n))
    cand = np.flatnonzero(good)
    chosen = np.sort(rng.choice(cand, size=min(n_fam, len(cand)), replace=False))
    mixed = rng_families.permutation(chosen)
    chosen = chosen[np.argsort(sd.region[chosen], kind="stable")]
    mixed = mixed[np.argsort(sd.region[mixed], kind="stable")]  # same regions by position
    taken = np.zeros(sd.n, dtype=bool)
    taken[chosen] = True
    i = 0
    while i + 1 < len(chosen):
        k = 3 if rng.random() < 0.3 else 2
        grp, members = chosen[i : i + k], mixed[i : i + k]
        i += k
        if len(grp) < 2 or sd.region[grp[0]] != sd.region[grp[-1]]:
            continue
        sd.family_draws.append(np.sort(grp))
        region = sd.region[members[0]]
        free = np.flatnonzero(good & ~taken & (sd.region == region))
        together = rng_families.random() < FAMILY_TOGETHER_P
        size = len(members) + int(rng_families.random() < FAMILY_GROW_P)
        if together:
            later = free[free > members[0]][: size - 1]
            together = len(later) == size - 1
            if together:
                members = np.r_[members[0], later]
        if len(members) < size and len(free):
            members = np.r_[members, rng_families.choice(free, size=1)]
        taken[members] = True
        sd.family_groups.append(np.sort(members))
        sd.family_together.append(bool(together))


def plan_seller_enforcement(
    sd: SellerData, strategies: list[Strategy], days: int, seed: int, plan: IncidentPlan
) -> None:
    """Seller-level detections decided up front (they stop bad sellers from listing)."""
    rng = rng_for(seed, "seller_plan")
    by_name = {s.name: s for s in strategies}
    ring_model = by_name["identity_ring_model"]
    incentive = by_name["incentive_abuse_rule"]
    brushing = by_name["brushing_model"]
    onb = ~np.isnan(sd.t_onb)
    rows = {
        k: []
        for k in ("seller", "strategy", "t_hit", "t_act", "action", "policy", "score", "is_fp")
    }

    def emit(seller, strategy, t_hit, t_act, action, policy, score, is_fp):
        m = len(seller)
        rows["seller"].append(np.asarray(seller, dtype=np.int64))
        rows["strategy"].append(np.full(m, strategy, dtype=np.int32))
        rows["t_hit"].append(np.asarray(t_hit, dtype=np.float64))
        rows["t_act"].append(np.asarray(t_act, dtype=np.float64))
        if isinstance(action, str):
            action = C.ACTION_TYPES.index(action)
        rows["action"].append(np.broadcast_to(np.asarray(action, np.int8), (m,)).copy())
        rows["policy"].append(np.full(m, C.POLICY_CODES.index(policy), np.int8))
        rows["score"].append(np.asarray(score, dtype=np.float64))
        rows["is_fp"].append(np.full(m, is_fp, dtype=bool))

    caught_time = np.full(sd.n, np.inf)
    # identity ring model: ring detected as a whole, most onboarded members banned
    n_r = len(sd.ring_size)
    ring_onb = np.full(n_r, np.nan)
    members_onb = np.flatnonzero((sd.ring >= 0) & onb)
    if len(members_onb):
        order = np.argsort(sd.ring[members_onb], kind="stable")
        mo = members_onb[order]
        keys = sd.ring[mo]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        med = np.array([np.median(sd.t_onb[g]) for g in np.split(mo, starts[1:])])
        ring_onb[keys[starts]] = med
    detected = rng.random(n_r) < 0.75
    t_ring = ring_onb + 3.0 + rng.exponential(18.0, n_r)
    if plan.attack is not None:
        att = sd.ring_is_attack
        detected[att] = True
        t_ring[att] = plan.attack[1] + 1.0 + rng.random(att.sum()) * 2.0
    t_ring = np.maximum(t_ring, ring_model.launched + 0.5)
    m = members_onb[detected[sd.ring[members_onb]] & (rng.random(len(members_onb)) < 0.85)]
    t_hit = np.maximum(t_ring[sd.ring[m]] + rng.random(len(m)) * 2.0, sd.t_onb[m] + 0.5)
    t_act = t_hit + 0.05 + rng.random(len(m)) * 0.5
    score = 0.85 + 0.15 * rng.beta(5, 2, len(m))
    emit(m, ring_model.idx, t_hit, t_act, "seller_ban", "identity_fraud", score, False)
    caught_time[m] = np.minimum(caught_time[m], t_act)
    # false positives among innocent hub members
    fp_members = []
    for kind, _, _, members in sd.hubs:
        p = 0.03 if kind == "public_ip" else 0.06
        fp_members.append(members[rng.random(len(members)) < p])
    for grp in sd.family_draws:
        fp_members.append(grp[rng.random(len(grp)) < 0.04])
    fpm = np.unique(np.concatenate(fp_members)) if fp_members else np.zeros(0, np.int64)
    fpm = fpm[onb[fpm]]
    t_hit = np.maximum(
        sd.t_onb[fpm] + 5.0 + rng.exponential(40.0, len(fpm)), ring_model.launched + 0.5
    )
    t_act = t_hit + 0.05 + rng.random(len(fpm)) * 0.5
    emit(
        fpm,
        ring_model.idx,
        t_hit,
        t_act,
        "seller_ban",
        "identity_fraud",
        0.85 + 0.15 * rng.beta(2, 4, len(fpm)),
        True,
    )

    # incentive-abuse rule and the brushing model (shadow)
    for st, btype, action in (
        (incentive, "incentive_abuser", "seller_suspension"),
        (brushing, "brusher", None),
    ):
        tp = np.flatnonzero(onb & (sd.bad_type == C.BAD_TYPES.index(btype)))
        tp = tp[rng.random(len(tp)) < st.recall]
        t_hit = np.maximum(sd.t_onb[tp] + 2.0 + rng.exponential(15.0, len(tp)), st.launched)
        fp = np.flatnonzero(onb & ~sd.is_bad)
        fp = fp[rng.random(len(fp)) < st.fp]
        t_hit_fp = np.maximum(sd.t_onb[fp] + rng.exponential(60.0, len(fp)), st.launched)
        score_tp = (
            np.full(len(tp), np.nan)
            if st.stype == "rule"
            else st.threshold + (1 - st.threshold) * rng.beta(5, 2, len(tp))
        )
        score_fp = (
            np.full(len(fp), np.nan)
            if st.stype == "rule"
            else st.threshold + (1 - st.threshold) * rng.beta(2, 4, len(fp))
        )
        if action is None or st.shadow:
            emit(tp, st.idx, t_hit, np.full(len(tp), np.nan), 0, st.policy, score_tp, False)
            emit(fp, st.idx, t_hit_fp, np.full(len(fp), np.nan), 0, st.policy, score_fp, True)
        else:
            t_act = t_hit + 0.01 + rng.random(len(tp)) * 0.1
            emit(tp, st.idx, t_hit, t_act, action, st.policy, score_tp, False)
            caught_time[tp] = np.minimum(caught_time[tp], t_act)
            emit(
                fp,
                st.idx,
                t_hit_fp,
                t_hit_fp + 0.01 + rng.random(len(fp)) * 0.1,
                action,
                st.policy,
                score_fp,
                True,
            )

    # random seller QA: a few onboarded sellers reviewed 5-15 days after onboarding
    qa_sel = np.flatnonzero(onb & (rng.random(sd.n) < 0.02))
    qa_t = sd.t_onb[qa_sel] + 5.0 + rng.random(len(qa_sel)) * 10.0
    qa_viol = np.where(
        sd.is_bad[qa_sel], rng.random(len(qa_sel)) < 0.85, rng.random(len(qa_sel)) < 0.01
    )
    sd.qa = {"seller": qa_sel, "t": qa_t, "is_violation": qa_viol}
    seller_policy = np.array([C.POLICY_CODES.index(p) for p in C.BAD_TYPE_SELLER_POLICY])

    # manual enforcement: QA findings and investigations of uncaught bad sellers
    hit_qa = qa_viol & sd.is_bad[qa_sel] & (qa_t + 1.0 < caught_time[qa_sel])
    q = qa_sel[hit_qa]
    t_act_q = qa_t[hit_qa] + 0.5 + rng.random(len(q)) * 1.5
    caught_time[q] = np.minimum(caught_time[q], t_act_q)
    bad_open = np.flatnonzero(onb & sd.is_bad & ~np.isfinite(caught_time))
    bad_open = bad_open[rng.random(len(bad_open)) < 0.35]
    t_act_m = sd.t_onb[bad_open] + 7.0 + rng.exponential(45.0, len(bad_open))
    caught_time[bad_open] = np.minimum(caught_time[bad_open], t_act_m)
    man = np.concatenate([q, bad_open])
    t_man = np.concatenate([t_act_q, t_act_m])
    pol = seller_policy[sd.bad_type[man]]
    act = np.where(
        pol == C.POLICY_CODES.index("identity_fraud"),
        C.ACTION_TYPES.index("seller_ban"),
        np.where(
            rng.random(len(man)) < 0.3,
            C.ACTION_TYPES.index("seller_ban"),
            C.ACTION_TYPES.index("seller_suspension"),
        ),
    )
    for p in np.unique(pol):
        sel = pol == p
        emit(
            man[sel],
            -1,
            np.full(sel.sum(), np.nan),
            t_man[sel],
            act[sel],
            C.POLICY_CODES[p],
            np.full(sel.sum(), np.nan),
            False,
        )
    # wrongful manual actions after false QA findings on good sellers
    wq = qa_viol & ~sd.is_bad[qa_sel]
    emit(
        qa_sel[wq],
        -1,
        np.full(wq.sum(), np.nan),
        qa_t[wq] + 1.0,
        "seller_suspension",
        "incentive_abuse",
        np.full(wq.sum(), np.nan),
        True,
    )

    # true-positive suspensions/bans stop the bad seller from listing
    sd.removed_at = np.where(sd.is_bad, caught_time, np.inf)
    ev = {k: np.concatenate(v) for k, v in rows.items()}
    sd.events = ev
