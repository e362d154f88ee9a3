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


@dataclass(frozen=True)
class _RingPlan:
    """The planted rings before seller ids exist (the attack ring last, when planted)."""

    sizes: list[int]
    region: np.ndarray
    category: np.ndarray  # most members list here
    second_category: np.ndarray
    centre: np.ndarray  # registration day the members cluster around
    is_attack: np.ndarray


def build_sellers(
    cfg: C.ScaleConfig,
    days: int,
    plan: IncidentPlan,
    seed: int,
    attack_region: int,
    attack_category: int,
) -> SellerData:
    """The sellers (ids in registration order), their rings and the innocent sharing."""
    rng = rng_for(seed, "sellers")
    history = days  # sellers registered before the period make up the starting base
    rings = _plan_rings(rng, cfg, days, history, plan, (attack_region, attack_category))
    columns = _seller_columns(rng, cfg.n_sellers, rings, days, history)
    columns, ring_order = _in_registration_order(columns, len(rings.sizes))
    ring_is_attack = rings.is_attack[ring_order]
    ring_types, ring_values = _ring_signal_types(rng, ring_is_attack)
    n_rings = len(rings.sizes)
    sd = SellerData(
        n=cfg.n_sellers,
        **columns,
        removed_at=np.full(cfg.n_sellers, np.inf),
        ring_region=rings.region[ring_order],
        ring_size=np.bincount(columns["ring"][columns["ring"] >= 0], minlength=n_rings),
        ring_types=ring_types,
        ring_values=ring_values,
        ring_is_attack=ring_is_attack,
        ring_missing_p=rng_for(seed, "ring_timing", 1).uniform(*RING_MISSING_P, n_rings),
    )
    _build_hubs(sd, cfg, rng, rng_for(seed, "families"))
    _build_ring_shapes(sd, seed)
    sd.ring_spread = _ring_registrations(rng_for(seed, "ring_timing"), sd, (-history, days))
    _build_innocent_sharing(sd, cfg, seed)
    return sd


def _plan_rings(rng, cfg, days, history, plan, attack_segment) -> _RingPlan:
    """Log-normal ring sizes (3 to 40), each ring's region, categories and registration
    centre; the attack ring (when planted) in the attack segment a week before the attack."""
    sizes = np.clip(np.round(np.exp(rng.normal(np.log(8.0), 0.7, cfg.n_rings))), 3, 40)
    attack = plan.attack is not None and cfg.n_attackers > 0
    ring_sizes = list(sizes.astype(int)) + ([cfg.n_attackers] if attack else [])
    n_rings = len(ring_sizes)
    region = sample_from_weights(rng, C.REGION_WEIGHTS, n_rings)
    category = sample_from_weights(rng, C.BAD_CATEGORY_WEIGHTS, n_rings)
    second_category = sample_from_weights(rng, C.BAD_CATEGORY_WEIGHTS, n_rings)
    centre = _registration_days(rng, n_rings, -history, max(days - 10, 1))
    is_attack = np.zeros(n_rings, dtype=bool)
    if attack:
        region[-1] = attack_segment[0]
        category[-1] = second_category[-1] = attack_segment[1]
        centre[-1] = plan.attack[0] - 7.0
        is_attack[-1] = True
    return _RingPlan(ring_sizes, region, category, second_category, centre, is_attack)


def _seller_columns(rng, n_sellers: int, rings: _RingPlan, days: int, history: int) -> dict:
    """Per-seller arrays (plain sellers first, then the ring members ring by ring): who is
    bad and how, where they sell, when they register and onboard, how active they are."""
    n_plain = n_sellers - int(np.sum(rings.sizes))
    ring = np.full(n_sellers, -1, dtype=np.int32)
    ring[n_plain:] = np.repeat(np.arange(len(rings.sizes)), rings.sizes)
    in_ring = ring >= 0
    is_attacker = in_ring & rings.is_attack[ring.clip(0)]
    is_bad = np.zeros(n_sellers, dtype=bool)
    is_bad[:n_plain] = rng.random(n_plain) < C.BAD_SELLER_SHARE
    is_bad[in_ring] = True
    bad_type = np.full(n_sellers, -1, dtype=np.int8)
    plain_bad = np.flatnonzero(is_bad & ~in_ring)
    bad_type[plain_bad] = sample_from_weights(rng, C.BAD_TYPE_SHARE, len(plain_bad))
    bad_type[in_ring] = C.BAD_TYPES.index("fraud_ring")
    columns = {
        "ring": ring,
        "is_attacker": is_attacker,
        "is_bad": is_bad,
        "bad_type": bad_type,
        **_seller_places(rng, ring, is_bad, is_attacker, rings, n_plain),
    }
    return columns | _seller_times(rng, columns, rings, days, history, n_plain)


def _seller_places(rng, ring, is_bad, is_attacker, rings: _RingPlan, n_plain: int) -> dict:
    """Region (ring members their ring's, one in ten elsewhere, attackers never), primary
    category (bad sellers in risky categories, ring members mostly their ring's first) and
    business accounts."""
    n_sellers = len(ring)
    in_ring = ring >= 0
    n_members = int(in_ring.sum())
    region = np.empty(n_sellers, dtype=np.int8)
    region[:n_plain] = sample_from_weights(rng, C.REGION_WEIGHTS, n_plain)
    member_region = rings.region[ring[in_ring]]
    stray = rng.random(n_members) < 0.1
    member_region = np.where(
        stray & ~is_attacker[in_ring],
        sample_from_weights(rng, C.REGION_WEIGHTS, n_members),
        member_region,
    )
    region[in_ring] = member_region
    category = np.empty(n_sellers, dtype=np.int8)
    good_plain = np.flatnonzero(~is_bad[:n_plain])
    plain_bad = np.flatnonzero(is_bad & ~in_ring)
    category[good_plain] = sample_from_weights(rng, C.GOOD_CATEGORY_WEIGHTS, len(good_plain))
    category[plain_bad] = sample_from_weights(rng, C.BAD_CATEGORY_WEIGHTS, len(plain_bad))
    member_ring = ring[in_ring]
    category[in_ring] = np.where(
        rng.random(n_members) < 0.7,
        rings.category[member_ring],
        rings.second_category[member_ring],
    )
    business = rng.random(n_sellers) < np.where(is_bad, 0.2, 0.35)
    return {"region": region, "category": category, "business": business}


def _seller_times(rng, columns: dict, rings: _RingPlan, days, history, n_plain) -> dict:
    """Registration (growing over time; ring members within days of their ring's centre),
    onboarding a log-normal lag later unless rejected (bad sellers more often, attackers
    never), and the listing-activity weight (none for attackers outside their attack and for
    sellers never onboarded)."""
    ring, is_bad, is_attacker = columns["ring"], columns["is_bad"], columns["is_attacker"]
    n_sellers = len(ring)
    in_ring = ring >= 0
    t_reg = np.empty(n_sellers)
    t_reg[:n_plain] = _registration_days(rng, n_plain, -history, days)
    t_reg[in_ring] = rings.centre[ring[in_ring]] + rng.random(in_ring.sum()) * 4.0
    t_reg[is_attacker] = rings.centre[ring[is_attacker]] + rng.random(is_attacker.sum()) * 2.0
    onboarding_lag = np.exp(rng.normal(np.log(1.2), 0.8, n_sellers)).clip(0.02, 20.0)
    onboarding_lag[is_attacker] = 0.4 + rng.random(is_attacker.sum()) * 2.0
    t_onb = t_reg + onboarding_lag
    reject_p = np.where(is_bad, np.where(in_ring, 0.30, 0.15), 0.04)
    reject_p[is_attacker] = 0.0
    rejected = rng.random(n_sellers) < reject_p
    t_onb[rejected | (t_onb >= days)] = np.nan
    weight = np.exp(rng.normal(0.0, 1.0, n_sellers))
    weight *= np.where(is_bad, np.where(in_ring, 2.0, 1.6), 1.0)
    weight[is_attacker] = 0.0  # attackers only list during the attack spike
    weight[np.isnan(t_onb)] = 0.0
    return {
        "t_reg": t_reg,
        "t_onb": t_onb,
        "caught_at_onboarding": rejected & is_bad,
        "weight": weight,
    }


def _in_registration_order(columns: dict, n_rings: int) -> tuple[dict, np.ndarray]:
    """Sellers sorted by registration (seller ids follow it) and rings renumbered by their
    first member's registration; returns the columns and the old ring index of each ring."""
    order = np.argsort(columns["t_reg"], kind="stable")
    columns = {name: values[order] for name, values in columns.items()}
    ring = columns["ring"]
    first_position = np.full(n_rings, len(ring))
    np.minimum.at(first_position, ring[ring >= 0], np.flatnonzero(ring >= 0))
    ring_order = np.argsort(first_position, kind="stable")
    ring_rank = np.empty(n_rings, dtype=np.int32)
    ring_rank[ring_order] = np.arange(n_rings)
    columns["ring"] = np.where(ring >= 0, ring_rank[ring.clip(0)], -1).astype(np.int32)
    return columns, ring_order


def _ring_signal_types(rng, ring_is_attack: np.ndarray) -> tuple[list, list]:
    """The signal types each ring's members share (at least two) and how many values of each;
    the attack ring shares devices, IPs and bank accounts."""
    ring_types, ring_values = [], []
    for _ in range(len(ring_is_attack)):
        chosen = np.flatnonzero(rng.random(5) < RING_SHARED_TYPE_P)
        if len(chosen) < 2:
            chosen = np.array([0, 2])
        ring_types.append(tuple(int(x) for x in chosen))
        ring_values.append([int(v) for v in rng.integers(1, 3, len(chosen))])
    for r in np.flatnonzero(ring_is_attack):
        ring_types[r] = (0, 1, 2)
        ring_values[r] = [2, 1, 1]
    return ring_types, ring_values


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


class _SellerEvents:
    """Seller-level hits and actions as they are decided (``emit``), and the time each seller
    was first acted on (``caught_at``)."""

    KEYS = ("seller", "strategy", "t_hit", "t_act", "action", "policy", "score", "is_fp")

    def __init__(self, n_sellers: int):
        self.rows = {k: [] for k in self.KEYS}
        self.caught_at = np.full(n_sellers, np.inf)

    def emit(self, seller, strategy, t_hit, t_act, action, policy, score, is_fp) -> None:
        n = len(seller)
        rows = self.rows
        rows["seller"].append(np.asarray(seller, dtype=np.int64))
        rows["strategy"].append(np.full(n, strategy, dtype=np.int32))
        rows["t_hit"].append(np.asarray(t_hit, dtype=np.float64))
        rows["t_act"].append(np.asarray(t_act, dtype=np.float64))
        if isinstance(action, str):
            action = C.ACTION_TYPES.index(action)
        rows["action"].append(np.broadcast_to(np.asarray(action, np.int8), (n,)).copy())
        rows["policy"].append(np.full(n, C.POLICY_CODES.index(policy), np.int8))
        rows["score"].append(np.asarray(score, dtype=np.float64))
        rows["is_fp"].append(np.full(n, is_fp, dtype=bool))

    def caught(self, seller: np.ndarray, t_act: np.ndarray) -> None:
        self.caught_at[seller] = np.minimum(self.caught_at[seller], t_act)

    def columns(self) -> dict:
        return {k: np.concatenate(v) for k, v in self.rows.items()}


def plan_seller_enforcement(
    sd: SellerData, strategies: list[Strategy], days: int, seed: int, plan: IncidentPlan
) -> None:
    """Seller-level detections decided up front (they stop bad sellers from listing): sets
    ``sd.events``, ``sd.qa`` and ``sd.removed_at``."""
    rng = rng_for(seed, "seller_plan")
    by_name = {s.name: s for s in strategies}
    onboarded = ~np.isnan(sd.t_onb)
    events = _SellerEvents(sd.n)
    _ring_model_hits(rng, sd, by_name["identity_ring_model"], plan, onboarded, events)
    _ring_model_false_positives(rng, sd, by_name["identity_ring_model"], onboarded, events)
    for strategy, bad_type, action in (
        (by_name["incentive_abuse_rule"], "incentive_abuser", "seller_suspension"),
        (by_name["brushing_model"], "brusher", None),
    ):
        _bad_type_hits(rng, sd, strategy, bad_type, action, onboarded, events)
    sd.qa = _random_seller_qa(rng, sd, onboarded)
    _manual_enforcement(rng, sd, sd.qa, onboarded, events)
    # wrongful manual actions after false QA findings on good sellers
    wrongful = sd.qa["is_violation"] & ~sd.is_bad[sd.qa["seller"]]
    events.emit(
        sd.qa["seller"][wrongful],
        -1,
        np.full(wrongful.sum(), np.nan),
        sd.qa["t"][wrongful] + 1.0,
        "seller_suspension",
        "incentive_abuse",
        np.full(wrongful.sum(), np.nan),
        True,
    )
    # true-positive suspensions/bans stop the bad seller from listing
    sd.removed_at = np.where(sd.is_bad, events.caught_at, np.inf)
    sd.events = events.columns()


def _ring_model_hits(rng, sd: SellerData, ring_model, plan, onboarded, events) -> None:
    """The identity ring model detects three rings in four as a whole, some weeks after the
    median onboarding of their members (the attack ring right after the attack), and bans
    most onboarded members."""
    n_rings = len(sd.ring_size)
    ring_onboarded = np.full(n_rings, np.nan)
    members = np.flatnonzero((sd.ring >= 0) & onboarded)
    if len(members):
        by_ring = members[np.argsort(sd.ring[members], kind="stable")]
        ring = sd.ring[by_ring]
        starts = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
        median = np.array([np.median(sd.t_onb[g]) for g in np.split(by_ring, starts[1:])])
        ring_onboarded[ring[starts]] = median
    detected = rng.random(n_rings) < 0.75
    t_ring = ring_onboarded + 3.0 + rng.exponential(18.0, n_rings)
    if plan.attack is not None:
        attack = sd.ring_is_attack
        detected[attack] = True
        t_ring[attack] = plan.attack[1] + 1.0 + rng.random(attack.sum()) * 2.0
    t_ring = np.maximum(t_ring, ring_model.launched + 0.5)
    banned = members[detected[sd.ring[members]] & (rng.random(len(members)) < 0.85)]
    t_hit = np.maximum(
        t_ring[sd.ring[banned]] + rng.random(len(banned)) * 2.0, sd.t_onb[banned] + 0.5
    )
    t_act = t_hit + 0.05 + rng.random(len(banned)) * 0.5
    score = 0.85 + 0.15 * rng.beta(5, 2, len(banned))
    events.emit(banned, ring_model.idx, t_hit, t_act, "seller_ban", "identity_fraud", score, False)
    events.caught(banned, t_act)


def _ring_model_false_positives(rng, sd: SellerData, ring_model, onboarded, events) -> None:
    """Innocent sellers who share a hub or family value, banned by the ring model (never
    counted as caught: they are not bad)."""
    suspects = []
    for kind, _, _, members in sd.hubs:
        p = 0.03 if kind == "public_ip" else 0.06
        suspects.append(members[rng.random(len(members)) < p])
    for group in sd.family_draws:
        suspects.append(group[rng.random(len(group)) < 0.04])
    banned = np.unique(np.concatenate(suspects)) if suspects else np.zeros(0, np.int64)
    banned = banned[onboarded[banned]]
    t_hit = np.maximum(
        sd.t_onb[banned] + 5.0 + rng.exponential(40.0, len(banned)), ring_model.launched + 0.5
    )
    t_act = t_hit + 0.05 + rng.random(len(banned)) * 0.5
    score = 0.85 + 0.15 * rng.beta(2, 4, len(banned))
    events.emit(banned, ring_model.idx, t_hit, t_act, "seller_ban", "identity_fraud", score, True)


def _bad_type_hits(rng, sd, strategy, bad_type, action, onboarded, events) -> None:
    """A seller strategy's hits on the bad sellers of its type (at its recall) and on good
    sellers (at its false-positive rate); acted on unless it runs in shadow mode."""
    true_hit = np.flatnonzero(onboarded & (sd.bad_type == C.BAD_TYPES.index(bad_type)))
    true_hit = true_hit[rng.random(len(true_hit)) < strategy.recall]
    t_hit = np.maximum(
        sd.t_onb[true_hit] + 2.0 + rng.exponential(15.0, len(true_hit)), strategy.launched
    )
    false_hit = np.flatnonzero(onboarded & ~sd.is_bad)
    false_hit = false_hit[rng.random(len(false_hit)) < strategy.fp]
    t_hit_fp = np.maximum(
        sd.t_onb[false_hit] + rng.exponential(60.0, len(false_hit)), strategy.launched
    )
    score_tp = _hit_scores(rng, strategy, len(true_hit), 5, 2)
    score_fp = _hit_scores(rng, strategy, len(false_hit), 2, 4)
    idx, policy = strategy.idx, strategy.policy
    if action is None or strategy.shadow:
        no_action = np.full(len(true_hit), np.nan)
        events.emit(true_hit, idx, t_hit, no_action, 0, policy, score_tp, False)
        no_action = np.full(len(false_hit), np.nan)
        events.emit(false_hit, idx, t_hit_fp, no_action, 0, policy, score_fp, True)
        return
    t_act = t_hit + 0.01 + rng.random(len(true_hit)) * 0.1
    events.emit(true_hit, idx, t_hit, t_act, action, policy, score_tp, False)
    events.caught(true_hit, t_act)
    t_act_fp = t_hit_fp + 0.01 + rng.random(len(false_hit)) * 0.1
    events.emit(false_hit, idx, t_hit_fp, t_act_fp, action, policy, score_fp, True)


def _hit_scores(rng, strategy, n: int, beta_a: float, beta_b: float) -> np.ndarray:
    """A model's scores of ``n`` hits, Beta-distributed above its threshold; rules score none."""
    if strategy.stype == "rule":
        return np.full(n, np.nan)
    return strategy.threshold + (1 - strategy.threshold) * rng.beta(beta_a, beta_b, n)


def _random_seller_qa(rng, sd: SellerData, onboarded) -> dict:
    """A few onboarded sellers reviewed 5-15 days after onboarding: most bad ones found
    violating, one good one in a hundred wrongly."""
    seller = np.flatnonzero(onboarded & (rng.random(sd.n) < 0.02))
    t = sd.t_onb[seller] + 5.0 + rng.random(len(seller)) * 10.0
    is_violation = np.where(
        sd.is_bad[seller], rng.random(len(seller)) < 0.85, rng.random(len(seller)) < 0.01
    )
    return {"seller": seller, "t": t, "is_violation": is_violation}


def _manual_enforcement(rng, sd: SellerData, qa: dict, onboarded, events) -> None:
    """Manual suspensions and bans: QA findings on bad sellers not yet caught, and
    investigations of a third of the bad sellers no strategy caught."""
    found = (
        qa["is_violation"]
        & sd.is_bad[qa["seller"]]
        & (qa["t"] + 1.0 < events.caught_at[qa["seller"]])
    )
    qa_seller = qa["seller"][found]
    t_act_qa = qa["t"][found] + 0.5 + rng.random(len(qa_seller)) * 1.5
    events.caught(qa_seller, t_act_qa)
    investigated = np.flatnonzero(onboarded & sd.is_bad & ~np.isfinite(events.caught_at))
    investigated = investigated[rng.random(len(investigated)) < 0.35]
    t_act_investigated = sd.t_onb[investigated] + 7.0 + rng.exponential(45.0, len(investigated))
    events.caught(investigated, t_act_investigated)
    seller = np.concatenate([qa_seller, investigated])
    t_act = np.concatenate([t_act_qa, t_act_investigated])
    seller_policy = np.array([C.POLICY_CODES.index(p) for p in C.BAD_TYPE_SELLER_POLICY])
    policy = seller_policy[sd.bad_type[seller]]
    ban, suspension = C.ACTION_TYPES.index("seller_ban"), C.ACTION_TYPES.index("seller_suspension")
    action = np.where(
        policy == C.POLICY_CODES.index("identity_fraud"),
        ban,
        np.where(rng.random(len(seller)) < 0.3, ban, suspension),
    )
    for code in np.unique(policy):
        rows = policy == code
        no_hit = np.full(rows.sum(), np.nan)
        events.emit(
            seller[rows], -1, no_hit, t_act[rows], action[rows], C.POLICY_CODES[code], no_hit, False
        )
