"""Syndicate detection on hand-made seller-identifier graphs with first-use times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from governance.detection import SyndicateParams, detect_syndicates, summarize_syndicates
from governance.detection.syndicates import (
    GROUP_COLUMNS,
    SELLER_SYNDICATE_COLUMNS,
    SYNDICATE_COLUMNS,
    cluster_group,
    cluster_groups,
    group_rows,
    log10_range_p,
    log10_window_lr,
    score_values,
)

T0 = pd.Timestamp("2025-01-01")
HISTORY_DAYS = 365


class Graph:
    """Links (seller, type, hashed value, first use) and sellers (registration)."""

    def __init__(self, n_good: int = 400, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.rows: list[tuple] = []
        self.registered: dict[str, float] = {}
        self.good = [f"G{i:03d}" for i in range(n_good)]
        for s in self.good:
            self.seller(s, self.rng.uniform(0, HISTORY_DAYS))

    def seller(self, seller_id: str, day: float) -> str:
        self.registered[seller_id] = day
        return seller_id

    def share(self, sellers, signal_type: str, value: str, at_signup: bool = True) -> None:
        for s in sellers:
            day = self.registered[s]
            if not at_signup:  # some time while active
                day += self.rng.uniform(0, HISTORY_DAYS - day)
            self.rows.append((s, signal_type, f"h:{value}", T0 + pd.Timedelta(days=day)))

    def ring(self, prefix: str, size: int, start: float, span: float = 3.0) -> list[str]:
        days = start + np.linspace(0, span, size)
        return [self.seller(f"{prefix}{i:02d}", d) for i, d in enumerate(days)]

    def links(self) -> pd.DataFrame:
        cols = ["seller_id", "signal_type", "signal_value_hash", "first_observed_at"]
        links = pd.DataFrame(self.rows, columns=cols)
        links["last_observed_at"] = T0 + pd.Timedelta(days=HISTORY_DAYS)
        return links

    def sellers(self) -> pd.DataFrame:
        ids = list(self.registered)
        return pd.DataFrame(
            {
                "seller_id": ids,
                "registered_at": [T0 + pd.Timedelta(days=self.registered[s]) for s in ids],
                "is_confirmed_bad": [not s.startswith("G") and s.endswith("0") for s in ids],
                "is_enforced": [not s.startswith("G") and s.endswith("01") for s in ids],
            }
        )


def members(seller_syndicates: pd.DataFrame) -> dict[str, list[str]]:
    in_syn = seller_syndicates.dropna(subset=["syndicate_id"])
    return {k: sorted(v) for k, v in in_syn.groupby("syndicate_id")["seller_id"]}


def shaped_marketplace(seed: int = 0) -> tuple[Graph, dict[str, list[str]]]:
    """Rings of every shape and of weak strengths, and innocent sharing: a public IP the dense
    ring also uses, a co-working address with its office IP, a logistics agent's phone,
    families (one of which opened its accounts together)."""
    g = Graph(seed=seed)
    rings = {}
    dense = rings["dense"] = g.ring("D", 8, 40)
    g.share(dense, "bank_account", "bank-D")
    g.share(dense[:4], "device_id", "dev-D1")
    star = rings["star"] = g.ring("S", 7, 90)
    for i, spoke in enumerate(star[1:]):
        g.share([star[0], spoke], ("device_id", "phone", "bank_account")[i % 3], f"star-{i}")
    partial = rings["partial_overlap"] = g.ring("P", 9, 140)
    subsets = (("device_id", "bank_account"), ("device_id", "address"), ("bank_account", "address"))
    for j, s in enumerate(partial):
        for t in subsets[j % 3]:
            g.share([s], t, f"partial-{t}")
    chain = rings["rotation_chain"] = g.ring("C", 20, 200, span=40.0)
    _rotation_chain(g, chain, "chain", phones_every=2)
    weak = rings["weak_ties"] = g.ring("W", 5, 300)
    g.share(weak, "phone", "weak-phone")
    g.share(weak, "address", "weak-address")
    # weak strengths: a chain opened over seven months, a weak-tie ring over three months, and
    # a ring whose first and last accounts, seven months apart, share a bank account
    slow_chain = rings["slow_chain"] = _sequential(g, "K", [10, 45, 70, 110, 150, 190, 230])
    _rotation_chain(g, slow_chain, "slow-chain", phones_every=3)
    slow_weak = rings["slow_weak_ties"] = g.ring("V", 6, 150, span=90.0)
    g.share(slow_weak, "phone", "slow-weak-phone")
    g.share(slow_weak, "address", "slow-weak-address")
    far = rings["far_bank"] = _sequential(g, "B", [60, 95, 130, 170, 270])
    for j in range(1, len(far)):
        g.share(far[j - 1 : j + 1], "phone", f"far-phone-{j}")
    g.share([far[0], far[-1]], "bank_account", "far-bank")
    # innocent sharing
    g.share(g.good[:250] + dense, "ip_address", "public-cafe", at_signup=False)
    g.share(g.good[250:280], "address", "coworking", at_signup=False)
    g.share(g.good[250:280], "ip_address", "coworking-wifi", at_signup=False)
    g.share(g.good[100:160], "phone", "agent", at_signup=True)
    for f in range(20):
        family = g.good[300 + 3 * f : 303 + 3 * f]
        g.share(family, "device_id", f"family-{f}")
        g.share(family[: 2 + f % 2], "ip_address", f"family-home-{f}")
        if f % 3 == 0:
            g.share(family, "address", f"family-address-{f}")
    together = [g.seller(f"G9{i:02d}", 222.0 + 0.1 * i) for i in range(3)]
    g.good += together
    for t, value in (("device_id", "device"), ("address", "home"), ("ip_address", "home-ip")):
        g.share(together, t, f"together-{value}")
    return g, rings


def _sequential(g: Graph, prefix: str, days: list[float]) -> list[str]:
    return [g.seller(f"{prefix}{i:02d}", d) for i, d in enumerate(days)]


def _rotation_chain(g: Graph, chain: list[str], name: str, phones_every: int) -> None:
    """Each account reuses the previous one's device; some neighbours share a phone line."""
    for j, s in enumerate(chain):
        g.share([s], "device_id", f"{name}-dev-{j}")
        if j:
            g.share([s], "device_id", f"{name}-dev-{j - 1}")
        if j % phones_every == 1:
            g.share([chain[j - 1], s], "phone", f"{name}-phone-{j}")


@pytest.fixture(scope="module")
def detected():
    g, rings = shaped_marketplace()
    links, sellers = g.links(), g.sellers()
    return g, rings, links, sellers, detect_syndicates(links, sellers)


RINGS = [
    "dense",
    "star",
    "partial_overlap",
    "rotation_chain",
    "weak_ties",
    "slow_chain",
    "slow_weak_ties",
    "far_bank",
]


@pytest.mark.parametrize("ring", RINGS)
def test_each_ring_shape_and_strength_is_recovered_whole_and_alone(detected, ring):
    _, rings, _, _, (seller_syn, _) = detected
    members_ = rings[ring]
    assert members(seller_syn)[f"SYN-{members_[0]}"] == members_


def test_innocent_sharing_links_nobody(detected):
    g, rings, _, _, (seller_syn, syn) = detected
    assert len(syn) == len(rings)
    good = seller_syn[seller_syn["seller_id"].isin(g.good)]
    assert good["syndicate_id"].isna().all()
    # The family that opened its accounts together shares a device, a home address and its
    # IP, all close together: strong evidence, but a household (types households share here).
    assert (
        seller_syn.set_index("seller_id").loc[["G900", "G901", "G902"], "syndicate_id"].isna().all()
    )


def test_shapes_explanations_and_actionable_members(detected):
    _, rings, links, _, (seller_syn, syn) = detected
    by_id = syn.set_index("syndicate_id")
    shapes = {shape: by_id.loc[f"SYN-{ring[0]}", "shape"] for shape, ring in rings.items()}
    assert shapes == {
        "dense": "dense",
        "star": "star",
        "partial_overlap": "partial_overlap",
        "rotation_chain": "chain",
        "weak_ties": "dense",
        "slow_chain": "chain",
        "slow_weak_ties": "dense",
        "far_bank": "chain",
    }
    dense = by_id.loc["SYN-D00"]
    assert dense["binding_identifiers"] == "bank_account:h:bank-D (8); device_id:h:dev-D1 (4)"
    assert dense["shared_signal_summary"] == "bank_account:1, device_id:1"
    assert dense["n_binding_values"] == 2
    assert dense["adoption_span_days"] == pytest.approx(3.0)
    assert dense["adoption_p_value"] < 1e-9
    assert dense["evidence"] >= SyndicateParams().group_log_odds
    assert dense["n_enforced"] == 1
    assert "D01" not in dense["unenforced_member_ids"].split(",")
    assert len(dense["unenforced_member_ids"].split(",")) == 7
    chain = by_id.loc["SYN-C00"]
    assert chain["binding_identifiers"].endswith("; +19 more")
    assert chain["n_binding_values"] == 29
    # The explanations name hashed values only: every listed identifier is an input hash.
    hashes = set(links["signal_value_hash"])
    for text in syn["binding_identifiers"]:
        for item in text.split("; "):
            if not item.startswith("+"):
                assert item.split(":", 1)[1].rsplit(" (", 1)[0] in hashes
    star_rows = seller_syn.set_index("seller_id").loc[rings["star"]]
    assert star_rows.loc["S00", "n_links"] == 6
    assert (star_rows["n_links"].iloc[1:] == 1).all()
    assert star_rows.loc["S00", "membership_strength"] == 1.0
    assert list(seller_syn.columns) == SELLER_SYNDICATE_COLUMNS
    assert list(syn.columns) == SYNDICATE_COLUMNS


def test_hubs_are_recognised_from_the_marketplaces_own_statistics(detected):
    _, _, links, sellers, _ = detected
    values = score_values(links, sellers).values.set_index("signal_value_hash")
    # Values of the type and share count of the café, the co-working space and the agent are
    # all innocent here: hubs, whatever their own timing.
    for hub in ("h:public-cafe", "h:coworking", "h:coworking-wifi", "h:agent"):
        assert values.loc[hub, "is_hub"] and not values.loc[hub, "is_binding"], hub
        assert values.loc[hub, "type_log_odds"] < SyndicateParams().value_log_odds, hub
    assert not values.loc["h:bank-D", "is_hub"]
    assert values.loc["h:bank-D", "is_binding"]
    # Without any time the share counts alone decide: the café (258 sellers among IP values
    # shared by a few) is a hub, the ring's bank account binds, no value has evidence.
    untimed = links.drop(columns=["first_observed_at", "last_observed_at"])
    values = score_values(untimed, None).values.set_index("signal_value_hash")
    assert values.loc["h:public-cafe", "is_hub"]
    assert values.loc["h:bank-D", "is_binding"]
    assert (values["evidence"] == 0).all()
    seller_syn, _ = detect_syndicates(untimed, None)
    assert seller_syn.loc[seller_syn["seller_id"] == "G000", "syndicate_id"].isna().all()


def test_type_statistics_carry_weight_without_close_arrivals():
    """Where shared bank accounts are ring accounts and shared devices mostly family devices,
    a bank account shared by two sellers registered seven months apart is stronger evidence
    than a device shared by two sellers registered as far apart."""
    g = Graph()
    for f in range(40):  # families: devices shared at independent times
        g.share(g.good[2 * f : 2 * f + 2], "device_id", f"family-{f}")
    for r in range(12):  # rings: bank accounts shared by accounts opened together
        pair = [g.seller(f"R{r:02d}{i}", 20.0 + 25 * r + 0.2 * i) for i in range(2)]
        g.share(pair, "bank_account", f"ring-bank-{r}")
    far_bank = [g.seller("X1", 40.0), g.seller("X2", 250.0)]
    g.share(far_bank, "bank_account", "far-bank")
    far_device = [g.seller("Y1", 41.0), g.seller("Y2", 251.0)]
    g.share(far_device, "device_id", "far-device")
    values = score_values(g.links(), g.sellers()).values.set_index("signal_value_hash")
    bank, device = values.loc["h:far-bank"], values.loc["h:far-device"]
    assert bank["log10_adoption_p"] == pytest.approx(device["log10_adoption_p"], abs=0.05)
    assert bank["type_log_odds"] > 0 > device["type_log_odds"]
    assert bank["evidence"] > device["evidence"] + 1.0
    assert bank["is_binding"]


def test_a_family_opened_together_is_a_household_a_trio_sharing_a_bank_account_is_not():
    g = Graph()
    for f in range(30):  # families: a device, some also a home address
        family = g.good[3 * f : 3 * f + 3]
        g.share(family, "device_id", f"family-{f}")
        if f % 2:
            g.share(family, "address", f"family-home-{f}")
    family = [g.seller(f"F{i}", 100.0 + 0.1 * i) for i in range(3)]
    g.share(family, "device_id", "together-device")
    g.share(family, "address", "together-home")
    trio = [g.seller(f"T{i}", 200.0 + 0.1 * i) for i in range(3)]
    g.share(trio, "bank_account", "trio-bank")
    assert members(detect_syndicates(g.links(), g.sellers())[0]) == {"SYN-T0": trio}


def test_a_place_that_opened_late_and_kept_drawing_users_is_not_a_ring():
    g = Graph()
    for s in g.good[:150]:  # everyone first uses it between days 250 and 365
        day = max(g.registered[s], g.rng.uniform(250, HISTORY_DAYS))
        g.rows.append((s, "ip_address", "h:new-cafe", T0 + pd.Timedelta(days=day)))
    seller_syn, syn = detect_syndicates(g.links(), g.sellers())
    assert syn.empty


def test_two_rings_touching_through_a_weak_tie_stay_apart_and_a_long_chain_stays_whole():
    g = Graph()
    a, b = g.ring("A", 8, 100), g.ring("B", 8, 102)
    g.share(a, "bank_account", "bank-A")
    g.share(a, "device_id", "dev-A")
    g.share(b, "bank_account", "bank-B")
    g.share(b, "phone", "phone-B")
    g.share([a[3], b[5]], "address", "shared-flat")  # one tie between the rings
    chain = g.ring("C", 30, 200, span=60.0)
    for j in range(1, len(chain)):
        g.share(chain[j - 1 : j + 1], "device_id", f"chain-{j}")
    found = members(detect_syndicates(g.links(), g.sellers())[0])
    assert found == {"SYN-A00": a, "SYN-B00": b, "SYN-C00": chain}


def test_the_per_group_step_gives_the_same_result_however_groups_are_batched(detected):
    _, rings, links, sellers, (seller_syn, _) = detected
    rows = group_rows(score_values(links, sellers))
    assert set(GROUP_COLUMNS) < set(rows.columns)
    together = cluster_groups(rows)
    # the same syndicates as the detection
    found = together[together["is_syndicate"]].groupby("community")["seller_id"].agg(sorted)
    found.index = "SYN-" + found.index
    assert found.to_dict() == members(seller_syn)
    one_by_one = pd.concat(
        [cluster_group(g.drop(columns="group")) for _, g in rows.groupby("group")]
    ).sort_values("seller_id")
    shuffled = rows.sample(frac=1.0, random_state=3)
    groups = shuffled["group"].drop_duplicates().to_numpy()
    batches = pd.concat(
        [cluster_groups(rows[rows["group"].isin(groups[k::3])]) for k in range(3)]
    ).sort_values("seller_id")
    for other in (one_by_one, batches):
        pd.testing.assert_frame_equal(together, other.reset_index(drop=True))


def test_output_is_identical_for_any_input_row_order(detected):
    _, _, links, sellers, (seller_syn, syn) = detected
    again = detect_syndicates(
        links.sample(frac=1.0, random_state=1), sellers.sample(frac=1.0, random_state=2)
    )
    pd.testing.assert_frame_equal(seller_syn, again[0])
    pd.testing.assert_frame_equal(syn, again[1])


def test_summarising_the_memberships_gives_the_detections_syndicate_table(detected):
    _, _, links, sellers, (seller_syn, syn) = detected
    members_only = seller_syn[seller_syn["syndicate_id"].notna()]
    pd.testing.assert_frame_equal(summarize_syndicates(links, sellers, members_only), syn)
    nobody = seller_syn.assign(syndicate_id=None)
    assert summarize_syndicates(links, sellers, nobody).columns.tolist() == SYNDICATE_COLUMNS
    stray = seller_syn.head(1).assign(seller_id="NOT-A-SELLER", syndicate_id="SYN-X")
    with pytest.raises(ValueError, match=r"members absent from links and sellers"):
        summarize_syndicates(links, sellers, pd.concat([seller_syn, stray]))


def test_range_test_p_values():
    # k uniform draws all within r: k r^(k-1) - (k-1) r^k.
    assert 10 ** log10_range_p(np.array([2]), np.array([0.1]))[0] == pytest.approx(0.19)
    assert 10 ** log10_range_p(np.array([3]), np.array([0.5]))[0] == pytest.approx(0.5)
    assert 10 ** log10_range_p(np.array([5]), np.array([1.0]))[0] == pytest.approx(1.0)


def _lr(k: int, r: float, resolution: float = 1e-4) -> float:
    return 10 ** log10_window_lr(np.array([k]), np.array([r]), resolution)[0]


def test_window_likelihood_ratio():
    lr = _lr
    # k = 2: (1 - r) / (2 r ln(1 / resolution)); two accounts 0.44 of the clock apart are
    # about 14 times likelier independent than a ring's.
    assert lr(2, 0.44) == pytest.approx(0.56 / (2 * 0.44 * np.log(1e4)))
    assert lr(2, 0.44) < 0.1
    # Close arrivals: about 1 / ((k - 1) L p); holders spread over the whole clock: near 0.
    p = 10 ** log10_range_p(np.array([8]), np.array([1e-3]))[0]
    assert lr(8, 1e-3) == pytest.approx(1 / (7 * np.log(1e4) * p), rel=1e-3)
    assert lr(300, 0.99) < 1e-2
    assert lr(14, 0.9) < 0.1 < lr(14, 0.7) < lr(14, 0.5) < lr(14, 0.1)


def test_min_size_and_missing_columns():
    g = Graph()
    for f in range(30):
        g.share(g.good[3 * f : 3 * f + 3], "device_id", f"family-{f}")
    pair = [g.seller("P1", 100.0), g.seller("P2", 100.1)]
    g.share(pair, "bank_account", "pair-bank")
    g.share(pair, "phone", "pair-phone")
    seller_syn, syn = detect_syndicates(g.links(), g.sellers())
    assert seller_syn["syndicate_id"].isna().all()
    assert syn.empty
    seller_syn, syn = detect_syndicates(g.links(), g.sellers(), SyndicateParams(min_size=2))
    assert members(seller_syn) == {"SYN-P1": pair}
    assert syn.loc[0, "unenforced_member_ids"] == "P1,P2"
    links = g.links()
    with pytest.raises(ValueError, match=r"links is missing required columns: \['signal_type'\]"):
        detect_syndicates(links.drop(columns="signal_type"))


def test_params_from_dbt_vars():
    params = SyndicateParams.from_mapping(
        {"group_log_odds": "2", "min_size": "4", "hub_z": 3, "unknown": 1}
    )
    assert params.group_log_odds == 2.0
    assert params.min_size == 4
    assert params.hub_z == 3.0
    assert params.value_log_odds == SyndicateParams().value_log_odds
