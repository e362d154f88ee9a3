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
    """Every listing (by time): the base process, a category promotion's extra listings and
    the attack's, each with its true policy and features."""
    rng = rng_for(seed, "listings")
    pool = _Pool(sd)
    # the tier's listing volume is for its default period length; other lengths scale it
    target = cfg.listings * clock.days / cfg.days
    counts = daily_counts(rng, pool, clock, int(target * 1.04))
    day = np.repeat(np.arange(clock.days, dtype=np.float64), counts)
    seller, t = pool.draw(rng, day, sd)
    category = _categories(rng, sd, seller)
    parts = [(seller, t, category, np.zeros(len(seller), np.int8))]  # kind 0 base, 1 attack, 2 mix
    mix_category = -1
    if plan.mix is not None:
        mix_category = _promoted_category(sd, seller, t, category, plan.mix[0])
        parts.append(
            _promotion_listings(rng_for(seed, "mix"), pool, sd, counts, plan.mix, mix_category)
        )
    if plan.attack is not None and sd.is_attacker.any():
        base = parts[0]
        parts.append(
            _attack_listings(rng_for(seed, "attack"), sd, clock, base, plan.attack, attack_segment)
        )
    seller, t, category, kind = (np.concatenate(column) for column in zip(*parts, strict=True))
    order = np.lexsort((seller, t))
    seller, t, category, kind = seller[order], t[order], category[order], kind[order]
    rng_truth = rng_for(seed, "listings", 1)
    is_violating, is_low_quality, policy = _listing_truth(
        rng_truth, sd, plan, clock, seller, t, category, kind
    )
    return ListingData(
        n=len(seller),
        seller=seller,
        t=t,
        category=category,
        policy=policy,
        is_violating=is_violating,
        is_low_quality=is_low_quality,
        is_attack=kind == 1,
        is_mix=kind == 2,
        **_listing_features(rng_truth, sd, seller, category, policy),
        mix_category=mix_category,
    )


def _promoted_category(sd, seller, t, category, first_day) -> int:
    """The category whose violation propensity over the four weeks before ``first_day``
    differs most from the marketplace mix (among categories with at least 5 % of listings)."""
    n_categories = len(C.CATEGORIES)
    recent = (t >= first_day - 28) & (t < first_day)
    share = np.bincount(category[recent], minlength=n_categories) / max(recent.sum(), 1)
    bad = sd.is_bad[seller[recent]]
    violation_rate = np.bincount(
        category[recent],
        weights=bad * C.CATEGORY_VIOLATION_MULT[category[recent]],
        minlength=n_categories,
    ) / np.maximum(np.bincount(category[recent], minlength=n_categories), 1)
    overall = float((share * violation_rate).sum())
    score = np.where(share >= 0.05, np.abs(violation_rate - overall), -1.0)
    return int(np.argmax(score))


def _promotion_listings(rng, pool, sd, counts, window, promoted: int) -> tuple:
    """Extra listings drawn from the normal process over the promotion week, those of the
    promoted category kept: its volume is multiplied by about six."""
    extra_days = np.arange(window[0], window[1] + 1)
    n_candidates = rng.poisson(5.0 * counts[extra_days])
    day = np.repeat(extra_days.astype(np.float64), n_candidates)
    seller, t = pool.draw(rng, day, sd)
    category = _categories(rng, sd, seller)
    keep = category == promoted
    return seller[keep], t[keep], category[keep], np.full(keep.sum(), 2, np.int8)


def _attack_listings(rng, sd, clock, base, window, attack_segment) -> tuple:
    """The attackers' listings in the attack segment: about 2.2 times the segment's daily
    volume of the four weeks before, at least 10 a day, until each attacker is removed."""
    seller, t, category, _ = base
    first_day, last_day = window
    region, attack_category = attack_segment
    segment = (
        (sd.region[seller] == region)
        & (category == attack_category)
        & (t >= first_day - 28)
        & (t < first_day)
    )
    per_day = max(int(round(2.2 * segment.sum() / 28.0)), 10)
    attackers = np.flatnonzero(sd.is_attacker & ~np.isnan(sd.t_onb))
    n_per_day = rng.poisson(per_day, last_day - first_day + 1)
    day = np.repeat(np.arange(first_day, last_day + 1, dtype=np.float64), n_per_day)
    attacker = attackers[rng.integers(0, len(attackers), len(day))]
    t_listed = np.maximum(day + rng.random(len(day)), sd.t_onb[attacker] + 0.01)
    ok = (t_listed < sd.removed_at[attacker]) & (t_listed < clock.days)
    n = int(ok.sum())
    return attacker[ok], t_listed[ok], np.full(n, attack_category, np.int8), np.ones(n, np.int8)


def _listing_truth(rng, sd, plan, clock, seller, t, category, kind) -> tuple:
    """Which listings violate a policy (by the seller's bad type and the category; attack
    listings nearly all, mostly counterfeit) and which have only a quality problem (shaped
    low-quality incidents multiply it); returns (is_violating, is_low_quality, policy)."""
    n = len(seller)
    bad_type = sd.bad_type[seller].astype(np.int64)
    p_violating = np.where(bad_type >= 0, C.BAD_TYPE_VIOLATION_P[bad_type.clip(0)], 0.004)
    p_violating = np.minimum(p_violating * C.CATEGORY_VIOLATION_MULT[category], 0.95)
    p_violating[kind == 1] = 0.92
    is_violating = rng.random(n) < p_violating
    violating = np.flatnonzero(is_violating)
    policy_weights = np.vstack([C.GOOD_POLICY_WEIGHTS, C.BAD_TYPE_POLICY_WEIGHTS])
    probs = (
        policy_weights[bad_type[violating] + 1] * C.CATEGORY_POLICY_AFFINITY[category[violating]]
    )
    probs[kind[violating] == 1] = np.array([0.85, 0.0, 0.15, 0.0, 0.0])
    severe_policy = sample_rows(rng, probs)
    severe_codes = np.array([C.POLICY_CODES.index(p) for p in C.SEVERE_LISTING_POLICIES])
    low_quality_codes = np.array([C.POLICY_CODES.index(p) for p in C.LOW_QUALITY_POLICIES])
    policy = np.full(n, -1, dtype=np.int8)
    policy[violating] = severe_codes[severe_policy]
    p_low_quality = np.where(bad_type >= 0, 0.14, 0.055) * C.CATEGORY_LOW_QUALITY_MULT[category]
    p_low_quality = p_low_quality * _low_quality_incidents(
        plan, clock, t, sd.region[seller], category, p_low_quality, kind == 0
    )
    is_low_quality = ~is_violating & (rng.random(n) < np.minimum(p_low_quality, 0.95))
    low_quality = np.flatnonzero(is_low_quality)
    policy[low_quality] = low_quality_codes[
        sample_from_weights(rng, C.LOW_QUALITY_WEIGHTS, len(low_quality))
    ]
    return is_violating, is_low_quality, policy


def _listing_features(rng, sd, seller, category, policy) -> dict:
    """Price, image count, description length and title seed, shaped by the policy a listing
    breaks (cheap counterfeits, gouged prices, few images, short descriptions)."""
    n = len(seller)
    bad_type = sd.bad_type[seller].astype(np.int64)
    price = C.CATEGORY_MEDIAN_PRICE[category] * np.exp(rng.normal(0.0, 0.8, n))
    price[policy == C.POLICY_CODES.index("counterfeit")] *= 0.35
    price[policy == C.POLICY_CODES.index("price_gouging")] *= 3.5
    price = np.round(np.maximum(price, 0.5), 2)
    images = (1 + rng.poisson(np.where(bad_type >= 0, 2.5, 4.0))).clip(1, 12)
    poor = policy == C.POLICY_CODES.index("poor_images")
    images[poor] = rng.integers(0, 2, poor.sum())
    description_length = np.exp(rng.normal(np.log(450.0), 0.6, n)).astype(np.int64).clip(60, 8000)
    incomplete = policy == C.POLICY_CODES.index("incomplete_description")
    description_length[incomplete] = rng.integers(5, 60, incomplete.sum())
    return {
        "price": price,
        "images": images.astype(np.int32),
        "desc_len": description_length.astype(np.int32),
        "title_seed": rng.integers(0, 1 << 30, n),
    }


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
