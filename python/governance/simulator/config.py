"""Scale tiers and reference codes of the marketplace simulator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_END_DATE = "2026-06-30"

REGIONS = ("SG", "MY", "TH", "VN", "PH", "ID")
REGION_WEIGHTS = np.array([0.09, 0.12, 0.16, 0.18, 0.15, 0.30])

CATEGORIES = (
    "fashion",
    "beauty",
    "electronics",
    "home",
    "food",
    "health",
    "toys",
    "sports",
    "automotive",
    "collectibles",
)
# Primary-category mix of good and bad sellers.
GOOD_CATEGORY_WEIGHTS = np.array([0.20, 0.12, 0.12, 0.14, 0.08, 0.06, 0.07, 0.08, 0.06, 0.07])
BAD_CATEGORY_WEIGHTS = np.array([0.30, 0.17, 0.19, 0.04, 0.03, 0.10, 0.05, 0.03, 0.02, 0.07])
# Share of listings any seller posts outside its primary category.
OFF_CATEGORY_SHARE = 0.25
# How prone each category is to real violations (multiplies every seller's base rate).
CATEGORY_VIOLATION_MULT = np.array([1.8, 1.3, 1.2, 0.6, 0.7, 1.3, 0.8, 0.7, 0.7, 1.0])
CATEGORY_LOW_QUALITY_MULT = np.array([1.0, 0.9, 1.1, 1.2, 1.3, 0.9, 1.0, 1.0, 1.2, 0.8])
CATEGORY_MEDIAN_PRICE = np.array([25.0, 18.0, 120.0, 40.0, 12.0, 22.0, 20.0, 35.0, 60.0, 80.0])

# policy_code: (severity, is_low_quality, target_type)
POLICIES = {
    "counterfeit": ("critical", False, "listing"),
    "prohibited_item": ("critical", False, "listing"),
    "ip_infringement": ("high", False, "listing"),
    "misleading_claims": ("high", False, "listing"),
    "price_gouging": ("medium", False, "listing"),
    "poor_images": ("low", True, "listing"),
    "incomplete_description": ("low", True, "listing"),
    "keyword_stuffing": ("low", True, "listing"),
    "duplicate_listing": ("low", True, "listing"),
    "identity_fraud": ("critical", False, "seller"),
    "incentive_abuse": ("high", False, "seller"),
    "brushing": ("high", False, "seller"),
    "repeat_offender": ("high", False, "seller"),
}
POLICY_CODES = tuple(POLICIES)
SEVERE_LISTING_POLICIES = (
    "counterfeit",
    "prohibited_item",
    "ip_infringement",
    "misleading_claims",
    "price_gouging",
)
LOW_QUALITY_POLICIES = (
    "poor_images",
    "incomplete_description",
    "keyword_stuffing",
    "duplicate_listing",
)
LOW_QUALITY_WEIGHTS = np.array([0.35, 0.30, 0.20, 0.15])
SELLER_POLICIES = ("identity_fraud", "incentive_abuse", "brushing", "repeat_offender")

ACTION_TYPES = (
    "listing_takedown",
    "listing_limit",
    "seller_warning",
    "seller_suspension",
    "seller_ban",
)
SIGNAL_TYPES = ("device_id", "ip_address", "bank_account", "address", "phone")
ORDER_STATUSES = ("completed", "cancelled", "refunded")
COMPLAINT_REASONS = ("counterfeit", "not_as_described", "not_received", "prohibited_item", "other")

# Bad-seller archetypes: (share among non-ring bad sellers, listing violation probability,
# weights over SEVERE_LISTING_POLICIES, seller-level policy when caught).
BAD_TYPES = (
    "counterfeiter",
    "prohibited_seller",
    "ip_infringer",
    "scammer",
    "incentive_abuser",
    "brusher",
    "fraud_ring",
)
BAD_TYPE_SHARE = np.array([0.30, 0.12, 0.22, 0.15, 0.13, 0.08, 0.0])
BAD_TYPE_VIOLATION_P = np.array([0.55, 0.50, 0.50, 0.45, 0.10, 0.06, 0.50])
BAD_TYPE_POLICY_WEIGHTS = np.array(
    [
        [0.80, 0.02, 0.15, 0.02, 0.01],
        [0.03, 0.85, 0.02, 0.08, 0.02],
        [0.15, 0.02, 0.80, 0.02, 0.01],
        [0.05, 0.05, 0.05, 0.55, 0.30],
        [0.30, 0.10, 0.10, 0.40, 0.10],
        [0.30, 0.10, 0.10, 0.40, 0.10],
        [0.50, 0.05, 0.15, 0.25, 0.05],
    ]
)
BAD_TYPE_SELLER_POLICY = (
    "repeat_offender",
    "repeat_offender",
    "repeat_offender",
    "repeat_offender",
    "incentive_abuse",
    "brushing",
    "identity_fraud",
)
# Good sellers' occasional real violations.
GOOD_POLICY_WEIGHTS = np.array([0.25, 0.15, 0.20, 0.25, 0.15])
# Category affinity of each severe policy (rows: categories, cols: SEVERE_LISTING_POLICIES).
CATEGORY_POLICY_AFFINITY = np.array(
    [
        [1.6, 0.3, 1.0, 0.8, 0.6],  # fashion
        [1.3, 0.8, 0.8, 1.5, 0.8],  # beauty
        [1.3, 0.6, 1.2, 1.0, 1.4],  # electronics
        [0.8, 0.5, 0.8, 1.0, 1.0],  # home
        [0.4, 2.0, 0.3, 1.5, 1.2],  # food
        [0.6, 2.5, 0.4, 2.0, 1.5],  # health
        [1.0, 0.8, 1.8, 0.8, 0.8],  # toys
        [1.2, 0.4, 1.0, 0.8, 0.8],  # sports
        [1.0, 0.6, 0.8, 1.0, 1.0],  # automotive
        [1.0, 0.5, 2.2, 1.0, 1.5],  # collectibles
    ]
)

# Day-of-week multipliers, Monday first: weekend peak.
DOW_WEIGHTS = np.array([0.90, 0.88, 0.90, 0.93, 1.02, 1.20, 1.17])
# Hour-of-day profile (UTC-naive local time): evening peak.
HOUR_WEIGHTS = np.array(
    [
        0.9,
        0.5,
        0.3,
        0.2,
        0.2,
        0.3,
        0.6,
        1.0,
        1.4,
        1.6,
        1.7,
        1.8,
        1.9,
        1.8,
        1.7,
        1.7,
        1.8,
        1.9,
        2.1,
        2.4,
        2.6,
        2.5,
        2.0,
        1.4,
    ]
)


@dataclass(frozen=True)
class ScaleConfig:
    """Size of one simulated marketplace."""

    name: str
    n_sellers: int
    days: int
    listings: int  # approximate listings created over `days` (scaled for other lengths)
    orders_per_listing: float  # mean order intensity of a listing over its lifetime
    n_rings: int
    n_public_ips: int
    public_ip_size: tuple[int, int]
    n_coworking: int
    coworking_size: tuple[int, int]
    n_attackers: int
    buyers_per_seller: int = 15
    seller_chunk: int = 250_000  # sellers per identity-signal file
    random_qa_rate: float = 0.02
    flagged_qa_rate: float = 0.04


SCALES: dict[str, ScaleConfig] = {
    "tiny": ScaleConfig(
        name="tiny",
        n_sellers=600,
        days=60,
        listings=6_000,
        orders_per_listing=4.0,
        n_rings=4,
        n_public_ips=1,
        public_ip_size=(40, 80),
        n_coworking=2,
        coworking_size=(6, 12),
        n_attackers=8,
    ),
    "small": ScaleConfig(
        name="small",
        n_sellers=20_000,
        days=180,
        listings=200_000,
        orders_per_listing=4.8,
        n_rings=40,
        n_public_ips=4,
        public_ip_size=(150, 400),
        n_coworking=10,
        coworking_size=(10, 40),
        n_attackers=30,
    ),
    "medium": ScaleConfig(
        name="medium",
        n_sellers=200_000,
        days=365,
        listings=2_000_000,
        orders_per_listing=6.0,
        n_rings=300,
        n_public_ips=30,
        public_ip_size=(150, 500),
        n_coworking=80,
        coworking_size=(10, 40),
        n_attackers=60,
    ),
    "large": ScaleConfig(
        name="large",
        n_sellers=2_000_000,
        days=365,
        listings=20_000_000,
        orders_per_listing=6.0,
        n_rings=2_500,
        n_public_ips=250,
        public_ip_size=(150, 600),
        n_coworking=600,
        coworking_size=(10, 40),
        n_attackers=250,
    ),
}

BAD_SELLER_SHARE = 0.045  # non-ring bad sellers; rings add roughly 2 % more
