"""Listings: volume with growth and weekly seasonality, truth labels and features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import config as C
from .incidents import IncidentPlan
from .sellers import SellerData
from .util import Clock, ids, join, rng_for, sample_from_weights, sample_rows, take_str

NOUNS = {
    "fashion": ["Sneakers", "Handbag", "Denim Jacket", "Sunglasses", "Silk Scarf", "Dress"],
    "beauty": ["Serum", "Lipstick Set", "Face Cream", "Perfume", "Sunscreen", "Eye Palette"],
    "electronics": [
        "Earbuds",
        "Power Bank",
        "Smartwatch",
        "Phone Case",
        "USB-C Charger",
        "Bluetooth Speaker",
    ],
    "home": ["Cookware Set", "Bedsheet", "Desk Lamp", "Storage Box", "Rice Cooker", "Curtain"],
    "food": [
        "Coffee Beans",
        "Durian Snacks",
        "Instant Noodles",
        "Honey",
        "Green Tea",
        "Chili Sauce",
    ],
    "health": [
        "Vitamin C",
        "Slimming Tea",
        "Face Masks",
        "Herbal Capsules",
        "Protein Powder",
        "Thermometer",
    ],
    "toys": ["Building Blocks", "Plush Toy", "RC Car", "Puzzle", "Action Figure", "Board Game"],
    "sports": [
        "Yoga Mat",
        "Running Shoes",
        "Badminton Racket",
        "Dumbbells",
        "Cycling Gloves",
        "Jersey",
    ],
    "automotive": [
        "Dash Cam",
        "Car Charger",
        "Seat Cover",
        "Wiper Blades",
        "Tyre Inflator",
        "Phone Mount",
    ],
    "collectibles": [
        "Trading Cards",
        "Figurine",
        "Vintage Coin",
        "Anime Poster",
        "Stamp Set",
        "Model Kit",
    ],
}
BRANDS = [
    "Lumora",
    "Vexa",
    "Nordwin",
    "Kairo",
    "Solenne",
    "Tamarind",
    "Orbix",
    "Halcyon",
    "Mirako",
    "Zentro",
    "Pavo",
    "Quilla",
]
ADJECTIVES = [
    "Classic",
    "Premium",
    "Original",
    "Compact",
    "Deluxe",
    "Everyday",
    "Pro",
    "Mini",
    "Limited",
    "New",
]
CF_PREFIX = ["Replica ", "AAA Grade ", "1:1 Mirror ", "Inspired "]
# About this share of low-quality listings draws a counted quality action within 7 days (the
# quality rules' recall): converts a low-quality probability into the metric's rate when a
# shaped incident is calibrated.
LOW_QUALITY_DETECTION_SHARE = 0.7
STUFFING = " best cheap hot sale free shipping original best cheap"


@dataclass
class ListingData:
    n: int
    seller: np.ndarray
    t: np.ndarray
    category: np.ndarray
    policy: np.ndarray  # index into POLICY_CODES, -1 clean
    is_violating: np.ndarray
    is_low_quality: np.ndarray
    is_attack: np.ndarray
    is_mix: np.ndarray
    price: np.ndarray
    images: np.ndarray
    desc_len: np.ndarray
    title_seed: np.ndarray
    mix_category: int = -1


class _Pool:
    """Eligible sellers by onboarding time with cumulative activity weights."""

    def __init__(self, sd: SellerData):
        t_onb = np.where(np.isnan(sd.t_onb), np.inf, sd.t_onb)
        self.order = np.argsort(t_onb, kind="stable")
        self.t_sorted = t_onb[self.order]
        self.cw = np.cumsum(sd.weight[self.order])

    def weight_before(self, t_end: np.ndarray) -> np.ndarray:
        k = np.searchsorted(self.t_sorted, t_end, side="left")
        return np.where(k > 0, self.cw[np.maximum(k - 1, 0)], 0.0)

    def draw(self, rng, day: np.ndarray, sd: SellerData):
        top = self.weight_before(day + 1.0)
        pos = np.searchsorted(self.cw, rng.random(len(day)) * top, side="right")
        pos = np.minimum(pos, len(self.cw) - 1)
        seller = self.order[pos]
        t = day + _hour_fraction(rng, len(day))
        late = t < sd.t_onb[seller]
        t[late] = sd.t_onb[seller[late]] + rng.random(late.sum()) * (
            day[late] + 1 - sd.t_onb[seller[late]]
        )
        keep = t < sd.removed_at[seller]
        return seller[keep], t[keep]


def _hour_fraction(rng, n: int) -> np.ndarray:
    h = sample_from_weights(rng, C.HOUR_WEIGHTS, n)
    return (h + rng.random(n)) / 24.0


def _categories(rng, sd: SellerData, seller: np.ndarray) -> np.ndarray:
    n = len(seller)
    own = rng.random(n) >= C.OFF_CATEGORY_SHARE
    other = sample_from_weights(rng, C.GOOD_CATEGORY_WEIGHTS, n).astype(np.int8)
    return np.where(own, sd.category[seller], other).astype(np.int8)


def daily_counts(rng, pool: _Pool, clock: Clock, target: int) -> np.ndarray:
    days = np.arange(clock.days)
    w = pool.weight_before(days + 1.0) * C.DOW_WEIGHTS[clock.dow(days)]
    lam = target / max(w.sum(), 1e-9)
    noise = np.exp(rng.normal(0.0, 0.04, clock.days))
    return rng.poisson(lam * w * noise)


def build_listings(
    cfg: C.ScaleConfig,
    sd: SellerData,
    clock: Clock,
    plan: IncidentPlan,
    seed: int,
    attack_segment: tuple[int, int],
) -> ListingData:
    rng = rng_for(seed, "listings")
    pool = _Pool(sd)
    # the tier's listing volume is for its default period length; other lengths scale it
    target = cfg.listings * clock.days / cfg.days
    counts = daily_counts(rng, pool, clock, int(target * 1.04))
    day = np.repeat(np.arange(clock.days, dtype=np.float64), counts)
    seller, t = pool.draw(rng, day, sd)
    cat = _categories(rng, sd, seller)
    n_base = len(seller)
    parts_seller, parts_t, parts_cat = [seller], [t], [cat]
    kinds = [np.zeros(n_base, np.int8)]  # 0 base, 1 attack, 2 mix extra

    mix_category = -1
    if plan.mix is not None:
        rng_m = rng_for(seed, "mix")
        m0, m1 = plan.mix
        # the category whose violation propensity differs most from the marketplace mix
        recent = (t >= m0 - 28) & (t < m0)
        share = np.bincount(cat[recent], minlength=len(C.CATEGORIES)) / max(recent.sum(), 1)
        bad = sd.is_bad[seller[recent]]
        viol_rate = np.bincount(
            cat[recent],
            weights=bad * C.CATEGORY_VIOLATION_MULT[cat[recent]],
            minlength=len(C.CATEGORIES),
        ) / np.maximum(np.bincount(cat[recent], minlength=len(C.CATEGORIES)), 1)
        overall = float((share * viol_rate).sum())
        score = np.where(share >= 0.05, np.abs(viol_rate - overall), -1.0)
        mix_category = int(np.argmax(score))
        extra_days = np.arange(m0, m1 + 1)
        # draw extra listings from the normal process, keep those of the promoted category:
        # the category's volume is multiplied by ~6 for the week
        cand_n = rng_m.poisson(5.0 * counts[extra_days])
        dd = np.repeat(extra_days.astype(np.float64), cand_n)
        s2, t2 = pool.draw(rng_m, dd, sd)
        c2 = _categories(rng_m, sd, s2)
        keep = c2 == mix_category
        parts_seller.append(s2[keep])
        parts_t.append(t2[keep])
        parts_cat.append(c2[keep])
        kinds.append(np.full(keep.sum(), 2, np.int8))

    if plan.attack is not None and sd.is_attacker.any():
        rng_a = rng_for(seed, "attack")
        a0, a1 = plan.attack
        r, c = attack_segment
        seg = (sd.region[seller] == r) & (cat == c) & (t >= a0 - 28) & (t < a0)
        per_day = max(int(round(2.2 * seg.sum() / 28.0)), 10)
        attackers = np.flatnonzero(sd.is_attacker & ~np.isnan(sd.t_onb))
        n_att = rng_a.poisson(per_day, a1 - a0 + 1)
        dd = np.repeat(np.arange(a0, a1 + 1, dtype=np.float64), n_att)
        s3 = attackers[rng_a.integers(0, len(attackers), len(dd))]
        t3 = np.maximum(dd + rng_a.random(len(dd)), sd.t_onb[s3] + 0.01)
        ok = (t3 < sd.removed_at[s3]) & (t3 < clock.days)
        parts_seller.append(s3[ok])
        parts_t.append(t3[ok])
        parts_cat.append(np.full(ok.sum(), c, np.int8))
        kinds.append(np.ones(ok.sum(), np.int8))

    seller = np.concatenate(parts_seller)
    t = np.concatenate(parts_t)
    cat = np.concatenate(parts_cat)
    kind = np.concatenate(kinds)
    order = np.lexsort((seller, t))
    seller, t, cat, kind = seller[order], t[order], cat[order], kind[order]
    n = len(seller)

    # --- truth -------------------------------------------------------------------------------
    rng_t = rng_for(seed, "listings", 1)
    bt = sd.bad_type[seller].astype(np.int64)
    p_v = np.where(bt >= 0, C.BAD_TYPE_VIOLATION_P[bt.clip(0)], 0.004)
    p_v = np.minimum(p_v * C.CATEGORY_VIOLATION_MULT[cat], 0.95)
    p_v[kind == 1] = 0.92
    is_v = rng_t.random(n) < p_v
    vi = np.flatnonzero(is_v)
    base_w = np.vstack([C.GOOD_POLICY_WEIGHTS, C.BAD_TYPE_POLICY_WEIGHTS])
    probs = base_w[bt[vi] + 1] * C.CATEGORY_POLICY_AFFINITY[cat[vi]]
    attack_v = kind[vi] == 1
    probs[attack_v] = np.array([0.85, 0.0, 0.15, 0.0, 0.0])
    sev = sample_rows(rng_t, probs)
    severe_idx = np.array([C.POLICY_CODES.index(p) for p in C.SEVERE_LISTING_POLICIES])
    lq_idx = np.array([C.POLICY_CODES.index(p) for p in C.LOW_QUALITY_POLICIES])
    policy = np.full(n, -1, dtype=np.int8)
    policy[vi] = severe_idx[sev]
    p_lq = np.where(bt >= 0, 0.14, 0.055) * C.CATEGORY_LOW_QUALITY_MULT[cat]
    region = sd.region[seller]
    p_lq = p_lq * _low_quality_incidents(plan, clock, t, region, cat, p_lq, kind == 0)
    is_lq = ~is_v & (rng_t.random(n) < np.minimum(p_lq, 0.95))
    li = np.flatnonzero(is_lq)
    policy[li] = lq_idx[sample_from_weights(rng_t, C.LOW_QUALITY_WEIGHTS, len(li))]

    # --- features ----------------------------------------------------------------------------
    price = C.CATEGORY_MEDIAN_PRICE[cat] * np.exp(rng_t.normal(0.0, 0.8, n))
    price[policy == C.POLICY_CODES.index("counterfeit")] *= 0.35
    price[policy == C.POLICY_CODES.index("price_gouging")] *= 3.5
    price = np.round(np.maximum(price, 0.5), 2)
    images = (1 + rng_t.poisson(np.where(bt >= 0, 2.5, 4.0))).clip(1, 12)
    poor = policy == C.POLICY_CODES.index("poor_images")
    images[poor] = rng_t.integers(0, 2, poor.sum())
    desc = np.exp(rng_t.normal(np.log(450.0), 0.6, n)).astype(np.int64).clip(60, 8000)
    inc = policy == C.POLICY_CODES.index("incomplete_description")
    desc[inc] = rng_t.integers(5, 60, inc.sum())
    return ListingData(
        n=n,
        seller=seller,
        t=t,
        category=cat,
        policy=policy,
        is_violating=is_v,
        is_low_quality=is_lq,
        is_attack=kind == 1,
        is_mix=kind == 2,
        price=price,
        images=images.astype(np.int32),
        desc_len=desc.astype(np.int32),
        title_seed=rng_t.integers(0, 1 << 30, n),
        mix_category=mix_category,
    )


def _low_quality_incidents(plan, clock, t, region, category, p_lq, base) -> np.ndarray:
    """Multiplier of each listing's low-quality probability from the shaped incidents of
    low_quality_listing_rate, each calibrated on its segment's base listings of the four weeks
    before it (volume, and the base rate times the share of low-quality listings that draw a
    counted quality action)."""
    metric = "low_quality_listing_rate"
    for incident in plan.shaped:
        if incident.metric != metric:
            continue
        seg = base & (t >= incident.start - 28) & (t < incident.start)
        if incident.region >= 0:
            seg &= region == incident.region
        if incident.category >= 0:
            seg &= category == incident.category
        rate = float(p_lq[seg].mean()) * LOW_QUALITY_DETECTION_SHARE if seg.any() else 0.05
        incident.calibrate(seg.sum() / 28.0, rate)
    return plan.shaped_factor(metric, t, clock.dow(np.floor(t)), region, category)


def titles(ld: ListingData, sl: slice) -> pa.Array:
    cat = ld.category[sl].astype(np.int64)
    ts = ld.title_seed[sl]
    pol = ld.policy[sl]
    nouns = [w for c in C.CATEGORIES for w in NOUNS[c]]
    noun = take_str(nouns, cat * 6 + ts % 6)
    brand = take_str(BRANDS, (ts // 6) % len(BRANDS))
    adj = take_str(ADJECTIVES, (ts // 72) % len(ADJECTIVES))
    cf = pol == C.POLICY_CODES.index("counterfeit")
    use_prefix = cf & ((ts // 720) % 2 == 0)
    prefix = take_str([""] + CF_PREFIX, np.where(use_prefix, 1 + (ts // 1440) % 4, 0))
    stuffed = pol == C.POLICY_CODES.index("keyword_stuffing")
    suffix = take_str(["", STUFFING], stuffed.astype(np.int64))
    return join(prefix, join(brand, adj, noun, sep=" "), suffix)


def write_listings(ld: ListingData, clock: Clock, writer) -> None:
    months = (clock.start + np.floor(ld.t).astype("timedelta64[D]")).astype("datetime64[M]")
    bounds = np.flatnonzero(np.r_[True, months[1:] != months[:-1], True])
    for i in range(len(bounds) - 1):
        sl = slice(bounds[i], bounds[i + 1])
        writer.write(
            "listings",
            {
                "listing_id": ids("L", np.arange(sl.start, sl.stop) + 1, 9),
                "seller_id": ids("S", ld.seller[sl] + 1, 7),
                "created_at": clock.ts_array(ld.t[sl]),
                "category": take_str(C.CATEGORIES, ld.category[sl]),
                "title": titles(ld, sl),
                "price_usd": pa.array(ld.price[sl], pa.float64()),
                "image_count": pa.array(ld.images[sl], pa.int32()),
                "description_length": pa.array(ld.desc_len[sl], pa.int32()),
            },
            part=str(months[sl.start]),
        )
