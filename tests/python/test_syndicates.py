"""Syndicate detection on hand-made seller-identifier graphs with first-use times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from governance.detection import SyndicateParams, detect_syndicates, summarize_syndicates
from governance.detection.syndicates import (
    SELLER_SYNDICATE_COLUMNS,
    SYNDICATE_COLUMNS,
    cluster_group,
    cluster_groups,
    log10_range_p,
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
    """One ring of each shape, and innocent sharing: a public IP the dense ring also uses, a
    co-working address with its office IP, a logistics agent's phone, families."""
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
    for j, s in enumerate(chain):
        g.share([s], "device_id", f"chain-dev-{j}")
        if j:
            g.share([s], "device_id", f"chain-dev-{j - 1}")
        if j % 2:
            g.share([chain[j - 1], s], "phone", f"chain-phone-{j}")
    weak = rings["weak_ties"] = g.ring("W", 5, 300)
    g.share(weak, "phone", "weak-phone")
    g.share(weak, "address", "weak-address")
    # innocent sharing
    g.share(g.good[:250] + dense, "ip_address", "public-cafe", at_signup=False)
    g.share(g.good[250:280], "address", "coworking", at_signup=False)
    g.share(g.good[250:280], "ip_address", "coworking-wifi", at_signup=False)
    g.share(g.good[100:160], "phone", "agent", at_signup=True)
    for f in range(20):
        family = g.good[300 + 3 * f : 303 + 3 * f]
        g.share(family, "device_id", f"family-{f}")
        g.share(family[: 2 + f % 2], "ip_address", f"family-home-{f}")
    return g, rings


@pytest.fixture(scope="module")
def detected():
    g, rings = shaped_marketplace()
    links, sellers = g.links(), g.sellers()
    return g, rings, links, sellers, detect_syndicates(links, sellers)


SHAPES = ["dense", "star", "partial_overlap", "rotation_chain", "weak_ties"]


@pytest.mark.parametrize("shape", SHAPES)
def test_each_ring_shape_is_recovered_whole_and_alone(detected, shape):
    _, rings, _, _, (seller_syn, _) = detected
    ring = rings[shape]
    assert members(seller_syn)[f"SYN-{ring[0]}"] == ring


def test_innocent_sharing_links_nobody(detected):
    g, rings, _, _, (seller_syn, syn) = detected
    assert len(syn) == len(rings)
    good = seller_syn[seller_syn["seller_id"].isin(g.good)]
    assert good["syndicate_id"].isna().all()


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
    }
    dense = by_id.loc["SYN-D00"]
    assert dense["binding_identifiers"] == "bank_account:h:bank-D (8); device_id:h:dev-D1 (4)"
    assert dense["shared_signal_summary"] == "bank_account:1, device_id:1"
    assert dense["n_binding_values"] == 2
    assert dense["adoption_span_days"] == pytest.approx(3.0)
    assert dense["adoption_p_value"] < 1e-9
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


def test_hubs_are_recognised_from_the_marketplaces_own_share_counts(detected):
    _, _, links, sellers, _ = detected
    values = score_values(links, sellers).values.set_index("signal_value_hash")
    assert values.loc["h:public-cafe", "is_hub"]
    assert not values.loc["h:public-cafe", "is_binding"]
    assert not values.loc["h:bank-D", "is_hub"]
    assert values.loc["h:bank-D", "is_binding"]
    # Without first-use times the share counts alone decide: the café (258 sellers among IP
    # values shared by a few) is a hub, the ring's bank account is not.
    untimed = links.drop(columns=["first_observed_at", "last_observed_at"])
    values = score_values(untimed, None).values.set_index("signal_value_hash")
    assert values.loc["h:public-cafe", "is_hub"]
    assert values.loc["h:bank-D", "is_binding"]
    seller_syn, _ = detect_syndicates(untimed, None)
    assert sorted(members(seller_syn)["SYN-D00"])[:8] == [f"D{i:02d}" for i in range(8)]
    assert seller_syn.loc[seller_syn["seller_id"] == "G000", "syndicate_id"].isna().all()


def test_a_place_that_opened_late_and_kept_drawing_users_is_not_a_ring():
    g = Graph()
    for s in g.good[:150]:  # everyone first uses it between days 250 and 365
        day = max(g.registered[s], g.rng.uniform(250, HISTORY_DAYS))
        g.rows.append((s, "ip_address", "h:new-cafe", T0 + pd.Timedelta(days=day)))
    seller_syn, syn = detect_syndicates(g.links(), g.sellers())
    assert syn.empty


def test_a_family_registered_apart_is_not_a_ring_but_three_accounts_opened_together_are():
    g = Graph()
    family = [g.seller("F1", 10.0), g.seller("F2", 150.0), g.seller("F3", 300.0)]
    g.share(family, "device_id", "family-device")
    g.share(family, "address", "family-home")
    trio = [g.seller("T1", 100.0), g.seller("T2", 100.5), g.seller("T3", 101.0)]
    g.share(trio, "device_id", "farm-device")
    assert members(detect_syndicates(g.links(), g.sellers())[0]) == {"SYN-T1": trio}


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


def _group_rows(detected) -> pd.DataFrame:
    """The binding links of every candidate group of the fixture, as stage 3 receives them."""
    from governance.detection.syndicates import candidate_groups

    _, _, links, sellers, _ = detected
    ev = score_values(links, sellers)
    group = candidate_groups(ev, 3)
    sel = ev.binding[ev.link_value] & (group[ev.link_seller] >= 0)
    return pd.DataFrame(
        {
            "group": group[ev.link_seller[sel]],
            "seller_id": ev.seller_ids[ev.link_seller[sel]],
            "value": ev.values["signal_value_hash"].to_numpy()[ev.link_value[sel]],
            "evidence": ev.evidence[ev.link_value[sel]],
            "u": ev.link_u[sel],
            "arrival_u": ev.link_arrival_u[sel],
        }
    )


def test_the_per_group_step_gives_the_same_result_however_groups_are_batched(detected):
    rows = _group_rows(detected)
    assert rows["group"].nunique() == 5
    together = cluster_groups(rows).sort_values("seller_id").reset_index(drop=True)
    one_by_one = pd.concat(
        [cluster_group(g.drop(columns="group")) for _, g in rows.groupby("group")]
    )
    shuffled = rows.sample(frac=1.0, random_state=3)
    halves = [shuffled.iloc[: len(shuffled) // 2], shuffled.iloc[len(shuffled) // 2 :]]
    groups = [set(h["group"]) for h in halves]
    batches = pd.concat([cluster_groups(rows[rows["group"].isin(ids)]) for ids in groups if ids])
    for other in (one_by_one, batches):
        other = other.drop_duplicates("seller_id").sort_values("seller_id")
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


def test_min_size_and_missing_columns():
    links = pd.DataFrame(
        {"seller_id": ["P1", "P2"], "signal_type": "bank_account", "signal_value_hash": "h:x"}
    )
    seller_syn, syn = detect_syndicates(links, None)
    assert seller_syn["syndicate_id"].isna().all()
    assert syn.empty
    seller_syn, syn = detect_syndicates(links, None, SyndicateParams(min_size=2))
    assert seller_syn["syndicate_id"].tolist() == ["SYN-P1", "SYN-P1"]
    assert syn.loc[0, "unenforced_member_ids"] == "P1,P2"
    with pytest.raises(ValueError, match=r"links is missing required columns: \['signal_type'\]"):
        detect_syndicates(links.drop(columns="signal_type"))


def test_params_from_dbt_vars():
    params = SyndicateParams.from_mapping(
        {"value_alpha": "0.01", "min_size": "4", "hub_z": 3, "unknown": 1}
    )
    assert params.value_alpha == 0.01
    assert params.min_size == 4
    assert params.hub_z == 3.0
    assert params.group_alpha == SyndicateParams().group_alpha
