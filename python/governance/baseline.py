"""The notebook way: three north-star metrics computed with pandas straight from the raw files.

This is what an analyst without the warehouse would write. It serves two purposes: an
independent second implementation that the test suite compares the dbt models against, and the
pandas baseline of the benchmark. It reads whole tables into memory, which is exactly its limit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from governance.settings import project_dir

WINDOW_LISTINGS = pd.Timedelta(days=7)
WINDOW_SELLERS = pd.Timedelta(days=30)
WINDOW_COMPLAINTS = pd.Timedelta(days=14)


def _read(raw_dir: Path, table: str, columns: list[str]) -> pd.DataFrame:
    return pd.read_parquet(Path(raw_dir) / table, columns=columns)


def north_star_baseline(raw_dir: Path) -> pd.DataFrame:
    """Daily `ALL`/`ALL` numerator and denominator of listing_violation_rate,
    bad_seller_onboarding_rate and complaint_rate, as of the latest listing day."""
    listings = _read(raw_dir, "listings", ["listing_id", "created_at"])
    actions = _read(
        raw_dir,
        "enforcement_actions",
        ["action_id", "target_type", "target_id", "action_type", "policy_code", "acted_at"],
    )
    appeals = _read(raw_dir, "appeals", ["action_id", "outcome", "resolved_at"])
    policies = pd.read_csv(
        project_dir() / "seeds" / "policies.csv",
        usecols=["policy_code", "severity", "is_low_quality"],
    )
    as_of = listings["created_at"].max().normalize()
    cutoff = as_of + pd.Timedelta(days=1)

    overturned = set(
        appeals.loc[
            (appeals["outcome"] == "overturned") & (appeals["resolved_at"] < cutoff), "action_id"
        ]
    )
    actions = actions[(actions["acted_at"] < cutoff) & ~actions["action_id"].isin(overturned)]
    actions = actions.merge(policies, on="policy_code", how="left")
    frames = []

    # listing_violation_rate
    listings = listings[listings["created_at"] < cutoff]
    listing_actions = actions[
        (actions["target_type"] == "listing")
        & actions["action_type"].isin(["listing_takedown", "listing_limit"])
        & ~actions["is_low_quality"].astype(bool)
    ]
    joined = listings.merge(
        listing_actions[["target_id", "acted_at"]],
        left_on="listing_id",
        right_on="target_id",
        how="inner",
    )
    in_window = joined[
        (joined["acted_at"] >= joined["created_at"])
        & (joined["acted_at"] <= joined["created_at"] + WINDOW_LISTINGS)
    ]
    listings = listings.assign(
        hit=listings["listing_id"].isin(in_window["listing_id"]),
        metric_date=listings["created_at"].dt.date,
    )
    frames.append(_daily(listings, "listing_violation_rate"))

    # bad_seller_onboarding_rate
    sellers = _read(raw_dir, "sellers", ["seller_id", "onboarded_at"])
    sellers = sellers[sellers["onboarded_at"].notna() & (sellers["onboarded_at"] < cutoff)]
    removals = actions[
        (actions["target_type"] == "seller")
        & actions["action_type"].isin(["seller_suspension", "seller_ban"])
        & actions["severity"].isin(["high", "critical"])
    ]
    joined = sellers.merge(
        removals[["target_id", "acted_at"]], left_on="seller_id", right_on="target_id"
    )
    in_window = joined[
        (joined["acted_at"] >= joined["onboarded_at"])
        & (joined["acted_at"] <= joined["onboarded_at"] + WINDOW_SELLERS)
    ]
    sellers = sellers.assign(
        hit=sellers["seller_id"].isin(in_window["seller_id"]),
        metric_date=sellers["onboarded_at"].dt.date,
    )
    frames.append(_daily(sellers, "bad_seller_onboarding_rate"))

    # complaint_rate
    orders = _read(raw_dir, "orders", ["order_id", "ordered_at", "order_status"])
    orders = orders[(orders["order_status"] == "completed") & (orders["ordered_at"] < cutoff)]
    complaints = _read(raw_dir, "complaints", ["order_id", "created_at"])
    complaints = complaints[complaints["order_id"].notna() & (complaints["created_at"] < cutoff)]
    joined = orders.merge(complaints, on="order_id")
    in_window = joined[
        (joined["created_at"] >= joined["ordered_at"])
        & (joined["created_at"] <= joined["ordered_at"] + WINDOW_COMPLAINTS)
    ]
    orders = orders.assign(
        hit=orders["order_id"].isin(in_window["order_id"]),
        metric_date=orders["ordered_at"].dt.date,
    )
    frames.append(_daily(orders, "complaint_rate"))
    return pd.concat(frames, ignore_index=True)


def _daily(frame: pd.DataFrame, metric_name: str) -> pd.DataFrame:
    out = (
        frame.groupby("metric_date")["hit"]
        .agg(numerator="sum", denominator="count")
        .reset_index()
        .astype({"numerator": "float64", "denominator": "float64"})
    )
    out.insert(0, "metric_name", metric_name)
    return out
