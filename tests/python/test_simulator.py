"""Behaviour of the marketplace simulator: contract, determinism, integrity and planted truth."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from governance.simulator import RAW_SCHEMAS, RAW_TABLES, SCALES, TRUTH_SCHEMAS, generate
from governance.simulator import config as C
from governance.simulator.incidents import SHAPED_PLAN, STRENGTHS

PLANTED_TYPES = {
    "strategy_launch",
    "attack_spike",
    "strategy_false_positives",
    "category_mix_shift",
    "data_drop",
    *(shape for shape, *_ in SHAPED_PLAN),
}

SEED = 7


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.mktemp("sim_tiny")
    manifest = generate(base / "raw", base / "truth", scale="tiny", seed=SEED)
    return base / "raw", base / "truth", manifest


@pytest.fixture(scope="module")
def tiny_long(tmp_path_factory):
    """Tiny marketplace over 120 days: long enough for every planted incident."""
    base = tmp_path_factory.mktemp("sim_tiny_long")
    manifest = generate(base / "raw", base / "truth", scale="tiny", seed=SEED, days=120)
    return base / "raw", base / "truth", manifest


def _con(raw: Path, truth: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for t in RAW_TABLES:
        con.execute(f"create view {t} as select * from read_parquet('{raw}/{t}/*.parquet')")
    for t in TRUTH_SCHEMAS:
        con.execute(f"create view truth_{t} as select * from read_parquet('{truth}/{t}.parquet')")
    return con


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _one(con, sql):
    return con.execute(sql).fetchone()[0]


# --- determinism ----------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tiny, tmp_path):
    raw, truth, manifest = tiny
    again = generate(tmp_path / "raw", tmp_path / "truth", scale="tiny", seed=SEED)
    assert again == manifest
    assert _digest(tmp_path / "raw") == _digest(raw)
    assert _digest(tmp_path / "truth") == _digest(truth)


def test_different_seed_gives_different_data(tiny, tmp_path):
    raw, _, _ = tiny
    generate(tmp_path / "raw", tmp_path / "truth", scale="tiny", seed=SEED + 1)
    a, b = _digest(raw), _digest(tmp_path / "raw")
    assert a.keys() & b.keys()
    assert all(a[k] != b[k] for k in ("listings/2026-06.parquet", "sellers/part-000.parquet"))


def test_regeneration_replaces_stale_files(tmp_path):
    raw, truth = tmp_path / "raw", tmp_path / "truth"
    (raw / "listings").mkdir(parents=True)
    stale = raw / "listings" / "1999-01.parquet"
    pq.write_table(pa.table({"x": [1]}), stale)
    manifest = generate(raw, truth, scale="tiny", seed=SEED, days=30)
    assert not stale.exists()
    rows = sum(pq.read_metadata(p).num_rows for p in (raw / "listings").glob("*.parquet"))
    assert rows == manifest["row_counts"]["listings"]


# --- contract -------------------------------------------------------------------------------


def test_schemas_match_the_contract(tiny):
    raw, _, _ = tiny
    for table, schema in RAW_SCHEMAS.items():
        files = sorted((raw / table).glob("*.parquet"))
        assert files, table
        assert len(files) <= 30
        for f in files:
            got = pq.read_schema(f)
            assert got.names == schema.names, (table, f.name)
            assert [fld.type for fld in got] == [fld.type for fld in schema], (table, f.name)
    expected = {
        "sellers": {
            "seller_id": "VARCHAR",
            "registered_at": "TIMESTAMP",
            "onboarded_at": "TIMESTAMP",
            "region": "VARCHAR",
        },
        "listings": {
            "price_usd": "DOUBLE",
            "image_count": "INTEGER",
            "description_length": "INTEGER",
            "created_at": "TIMESTAMP",
        },
        "strategy_hits": {"risk_score": "DOUBLE", "hit_at": "TIMESTAMP"},
        "qa_case_checks": {"is_violation": "BOOLEAN"},
        "orders": {"gmv_usd": "DOUBLE", "ordered_at": "TIMESTAMP"},
    }
    con = _con(*tiny[:2])
    for table, cols in expected.items():
        types = dict(
            con.execute(f"select column_name, column_type from (describe {table})").fetchall()
        )
        for col, typ in cols.items():
            assert types[col] == typ, (table, col)


def test_manifest_matches_files(tiny):
    raw, truth, manifest = tiny
    assert json.loads((truth / "manifest.json").read_text()) == manifest
    for table in RAW_TABLES:
        rows = sum(pq.read_metadata(p).num_rows for p in (raw / table).glob("*.parquet"))
        assert rows == manifest["row_counts"][table], table
    assert manifest["days"] == 60 and manifest["end_date"] == "2026-06-30"
    assert manifest["start_date"] == "2026-05-02"
    for name in (
        "sellers",
        "listings",
        "rings",
        "hubs",
        "incidents",
        "strategy_truth",
        "late_arrivals",
    ):
        assert (truth / f"{name}.parquet").exists()


def test_primary_keys_and_referential_integrity(tiny):
    con = _con(*tiny[:2])
    for table, pk in (
        ("sellers", "seller_id"),
        ("listings", "listing_id"),
        ("strategies", "strategy_id"),
        ("strategy_changes", "change_id"),
        ("strategy_hits", "hit_id"),
        ("enforcement_actions", "action_id"),
        ("appeals", "appeal_id"),
        ("qa_case_checks", "check_id"),
        ("orders", "order_id"),
        ("complaints", "complaint_id"),
    ):
        n, d, nulls = con.execute(
            f"select count(*), count(distinct {pk}), count(*) - count({pk}) from {table}"
        ).fetchone()
        assert n > 0 and n == d and nulls == 0, table
    orphans = {
        "listings.seller": "select count(*) from listings where seller_id not in "
        "(select seller_id from sellers)",
        "signals.seller": "select count(*) from seller_identity_signals where seller_id not in "
        "(select seller_id from sellers)",
        "orders.listing": "select count(*) from orders o left join listings l using (listing_id) "
        "where l.listing_id is null or l.seller_id <> o.seller_id",
        "complaints.order": "select count(*) from complaints c left join orders o using "
        "(order_id) where c.order_id is not null and (o.order_id is null "
        "or o.listing_id <> c.listing_id)",
        "complaints.listing": "select count(*) from complaints c left join listings l using "
        "(listing_id) where l.listing_id is null "
        "or l.seller_id <> c.seller_id",
        "appeals.action": "select count(*) from appeals where action_id not in "
        "(select action_id from enforcement_actions)",
        "changes.strategy": "select count(*) from strategy_changes where strategy_id not in "
        "(select strategy_id from strategies)",
        "hits.strategy": "select count(*) from strategy_hits where strategy_id not in "
        "(select strategy_id from strategies)",
        "actions.strategy": "select count(*) from enforcement_actions where strategy_id is not "
        "null and strategy_id not in (select strategy_id from strategies)",
        "qa.strategy": "select count(*) from qa_case_checks where (sample_type = 'flagged') <> "
        "(strategy_id is not null) or (strategy_id is not null and strategy_id "
        "not in (select strategy_id from strategies))",
    }
    for t in ("strategy_hits", "enforcement_actions", "qa_case_checks"):
        orphans[f"{t}.target"] = (
            f"select count(*) from {t} x left join listings l on x.target_type = 'listing' and "
            "x.target_id = l.listing_id left join sellers s on x.target_type = 'seller' and "
            "x.target_id = s.seller_id where l.listing_id is null and s.seller_id is null"
        )
    for name, sql in orphans.items():
        assert _one(con, sql) == 0, name


def test_codes_and_value_rules(tiny):
    con = _con(*tiny[:2])
    con.execute(
        "create table pol as select * from (values "
        + ", ".join(
            f"('{p}', '{s}', {str(lq).lower()}, '{t}')" for p, (s, lq, t) in C.POLICIES.items()
        )
        + ") v(policy_code, severity, is_low_quality, target_type)"
    )

    def in_list(values):
        return "(" + ", ".join(f"'{v}'" for v in values) + ")"

    checks = {
        "region": f"select count(*) from sellers where region not in {in_list(C.REGIONS)}",
        "category": f"select count(*) from listings where category not in {in_list(C.CATEGORIES)}",
        "primary_category": f"select count(*) from sellers where primary_category not in "
        f"{in_list(C.CATEGORIES)}",
        "seller_type": "select count(*) from sellers where seller_type not in "
        "('individual', 'business')",
        "signal_type": f"select count(*) from seller_identity_signals where signal_type not in "
        f"{in_list(C.SIGNAL_TYPES)}",
        "status": f"select count(*) from orders where order_status not in "
        f"{in_list(C.ORDER_STATUSES)}",
        "reason": f"select count(*) from complaints where reason not in "
        f"{in_list(C.COMPLAINT_REASONS)}",
        "prices": "select count(*) from listings where price_usd < 0 or image_count < 0 "
        "or description_length < 0",
        "gmv": "select count(*) from orders where gmv_usd < 0",
        "action policy target": "select count(*) from enforcement_actions a join pol using "
        "(policy_code) where pol.target_type <> a.target_type",
        "action type target": "select count(*) from enforcement_actions where "
        "(target_type = 'listing') <> (action_type like 'listing_%')",
        "severe seller actions": "select count(*) from enforcement_actions a join pol using "
        "(policy_code) where action_type in ('seller_suspension', "
        "'seller_ban') and severity not in ('high', 'critical')",
        "unknown policy": "select count(*) from enforcement_actions where policy_code not in "
        "(select policy_code from pol)",
        "qa policy": "select count(*) from qa_case_checks where is_violation <> "
        "(policy_code is not null)",
        "rule scores": "select count(*) from strategy_hits h join strategies s using "
        "(strategy_id) where (s.strategy_type = 'rule') <> (risk_score is null)",
        "onboarded after registered": "select count(*) from sellers where onboarded_at < "
        "registered_at",
        "change types": "select count(*) from strategy_changes where change_type not in "
        "('launch', 'threshold_change', 'rollback', 'retire')",
    }
    for name, sql in checks.items():
        assert _one(con, sql) == 0, name
    assert _one(con, "select count(*) from sellers where onboarded_at is null") > 0
    assert 12 <= _one(con, "select count(*) from strategies") <= 20


def test_timestamps_within_period(tiny):
    _, _, manifest = tiny
    con = _con(*tiny[:2])
    start, end = manifest["start_date"], manifest["end_date"]
    cutoff = f"timestamp '{end}' + interval 1 day"
    events = {
        "listings": ["created_at"],
        "strategy_hits": ["hit_at"],
        "enforcement_actions": ["acted_at"],
        "appeals": ["filed_at", "resolved_at"],
        "qa_case_checks": ["checked_at"],
        "orders": ["ordered_at"],
        "complaints": ["created_at"],
    }
    for table, cols in events.items():
        for col in cols:
            lo, hi = con.execute(f"select min({col}), max({col}) from {table}").fetchone()
            assert str(lo.date()) >= start, (table, col)
            assert _one(con, f"select count(*) from {table} where {col} >= {cutoff}") == 0
            assert str(hi.date()) <= end
    for table, col in (
        ("sellers", "registered_at"),
        ("sellers", "onboarded_at"),
        ("strategies", "launched_at"),
        ("strategies", "retired_at"),
        ("strategy_changes", "changed_at"),
        ("seller_identity_signals", "observed_at"),
    ):
        assert _one(con, f"select count(*) from {table} where {col} >= {cutoff}") == 0
    # causality
    assert (
        _one(
            con,
            "select count(*) from appeals a join enforcement_actions e using "
            "(action_id) where a.filed_at < e.acted_at",
        )
        == 0
    )
    assert (
        _one(
            con,
            "select count(*) from listings l join sellers s using (seller_id) where "
            "s.onboarded_at is null or l.created_at < s.onboarded_at",
        )
        == 0
    )
    assert (
        _one(
            con,
            "select count(*) from orders o join listings l using (listing_id) "
            "where o.ordered_at < l.created_at",
        )
        == 0
    )
    assert (
        _one(
            con,
            "select count(*) from seller_identity_signals g join sellers s using "
            "(seller_id) where g.observed_at < s.registered_at",
        )
        == 0
    )


def test_appeals_resolve_after_filing(tiny):
    con = _con(*tiny[:2])
    assert _one(con, "select count(*) from appeals where resolved_at < filed_at") == 0
    assert (
        _one(con, "select count(*) from appeals where (resolved_at is null) <> (outcome is null)")
        == 0
    )
    assert (
        _one(con, "select count(*) from appeals where outcome not in ('upheld', 'overturned')") == 0
    )
    assert _one(con, "select count(*) from appeals where outcome = 'overturned'") > 0


def test_shadow_strategies_never_enforce(tiny):
    con = _con(*tiny[:2])
    shadow = con.execute("select strategy_id from truth_strategy_truth where is_shadow")
    shadow = [r[0] for r in shadow.fetchall()]
    assert 2 <= len(shadow) <= 3
    ids = ", ".join(f"'{s}'" for s in shadow)
    assert _one(con, f"select count(*) from enforcement_actions where strategy_id in ({ids})") == 0
    assert _one(con, f"select count(*) from strategy_hits where strategy_id in ({ids})") > 0
    assert _one(con, "select count(*) from enforcement_actions where strategy_id is null") > 0


# --- planted truth ---------------------------------------------------------------------------


def test_ring_members_share_signals(tiny):
    con = _con(*tiny[:2])
    rings = con.execute("""
        with members as (
            select t.ring_id, g.signal_type, g.signal_value, count(distinct g.seller_id) n
            from truth_sellers t join seller_identity_signals g using (seller_id)
            where t.ring_id is not null
            group by all
        )
        select r.ring_id, r.size, max(m.n) as linked
        from truth_rings r join members m using (ring_id)
        group by all
    """).fetchall()
    assert len(rings) >= 3
    for ring_id, size, linked in rings:
        assert linked >= 2, ring_id
        assert linked <= size
    assert (
        _one(con, "select count(*) from truth_sellers where ring_id is not null and not is_bad")
        == 0
    )


def test_ring_strengths_are_drawn_per_ring():
    """Adoption spreads from a day to months, rotation chains opened one account after another
    1-8 weeks apart, and missing values that never cut a ring in two."""
    from types import SimpleNamespace

    import numpy as np

    from governance.simulator.sellers import (
        CHAIN_GAP_DAYS,
        RING_SHAPES,
        RING_SPREAD_DAYS,
        _ring_registrations,
    )
    from governance.simulator.signals import _connected

    sizes = np.array([5] * 40 + [6] * 10)
    ring = np.repeat(np.arange(len(sizes)), sizes)
    live = np.repeat(np.arange(len(sizes)) * 10.0, sizes)  # each ring's accounts go live
    sd = SimpleNamespace(
        ring=ring,
        ring_size=sizes,
        ring_is_attack=np.zeros(len(sizes), dtype=bool),
        ring_shape=np.r_[np.zeros(40, int), np.full(10, RING_SHAPES.index("rotation_chain"))],
        t_reg=live.copy(),
    )
    spread = _ring_registrations(np.random.default_rng(0), sd, (-365, 365))
    assert spread[:40].min() < 7 < 90 < spread[:40].max() <= RING_SPREAD_DAYS[1]
    # registrations end where the accounts go live: onboarding and activity are unchanged
    assert (sd.t_reg <= live).all()
    assert np.allclose(
        [sd.t_reg[ring == r].max() for r in range(50)], live[np.r_[0, np.cumsum(sizes)[:-1]]]
    )
    for r in range(40, 50):
        gaps = np.diff(sd.t_reg[ring == r])
        assert (gaps >= CHAIN_GAP_DAYS[0]).all() and (gaps <= CHAIN_GAP_DAYS[1]).all()
    # a chain of three accounts tied two by two: dropping either tie cuts it
    member, value = np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1])
    assert _connected(member, value, np.array([True, True, True, True]))
    assert not _connected(member, value, np.array([True, True, False, True]))


def test_hubs_link_many_unrelated_sellers(tiny):
    con = _con(*tiny[:2])
    # Bad holders of an innocent value are only members of rings that also use a public IP.
    rows = con.execute("""
        select h.hub_kind, h.n_sellers, count(distinct g.seller_id),
               count(distinct case when t.is_bad and not coalesce(r.touches_hub, false)
                   then g.seller_id end)
        from truth_hubs h
        join seller_identity_signals g using (signal_type, signal_value)
        join truth_sellers t using (seller_id)
        left join truth_rings r using (ring_id)
        group by all
    """).fetchall()
    kinds = {r[0] for r in rows}
    assert {"public_ip", "family_device"} <= kinds
    for kind, n, observed, bad in rows:
        assert observed <= n and bad == 0
        if kind == "public_ip":
            assert observed >= 30


def test_personal_signals_repeat_over_time(tiny):
    con = _con(*tiny[:2])
    repeats = _one(
        con,
        "select avg(n) from (select count(*) n from seller_identity_signals "
        "group by seller_id, signal_type, signal_value)",
    )
    assert repeats > 1.5


def test_incidents_are_inside_the_period(tiny, tiny_long):
    for raw, truth, manifest in (tiny, tiny_long):
        con = _con(raw, truth)
        start, end = manifest["start_date"], manifest["end_date"]
        rows = con.execute("select * from truth_incidents").df()
        assert len(rows)
        assert (rows.start_date.astype(str) >= start).all()
        assert (rows.end_date.astype(str) <= end).all()
        assert (rows.start_date <= rows.end_date).all()
        assert set(rows.direction) <= {"up", "down"}
        assert set(rows.region) <= set(C.REGIONS) | {"ALL"}
        assert set(rows.category) <= set(C.CATEGORIES) | {"ALL"}
        planted = {i["incident_type"] for i in manifest["planted_incidents"]}
        assert planted == set(rows.incident_type)
    types = {i["incident_type"] for i in tiny_long[2]["planted_incidents"]}
    assert types >= {
        "strategy_launch",
        "attack_spike",
        "strategy_false_positives",
        "category_mix_shift",
        "data_drop",
        "drift",
        "level_shift",
        "weekly_pattern",
        "segment_spike",
    }
    assert types <= {*PLANTED_TYPES, "ring_onboarding"}
    rows = _con(*tiny_long[:2]).execute("select * from truth_incidents").df()
    assert set(rows["shape"]) == {
        "spike",
        "level_shift",
        "drift",
        "weekly_pattern",
        "segment_spike",
    }
    shaped = rows[rows["target_strength"].notna()]
    assert set(shaped["target_strength"]) <= set(STRENGTHS)
    assert set(shaped["metric_name"]) == {"complaint_rate", "low_quality_listing_rate"}


def test_consequences_are_listed_under_their_incident(tiny_long):
    rows = _con(*tiny_long[:2]).execute("select * from truth_incidents").df()
    consequences = rows[rows["is_consequence"]]
    by_type = consequences.groupby("incident_type")["metric_name"].agg(set).to_dict()
    # false positives are appealed and overturned a week or two later; the attackers' removal
    # shows in the onboarding rate of their segment
    assert by_type["strategy_false_positives"] == {"appeal_overturn_rate"}
    assert by_type["attack_spike"] == {"bad_seller_onboarding_rate"}
    fp = rows[rows["incident_type"] == "strategy_false_positives"].set_index("metric_name")
    lag = (
        fp.loc["appeal_overturn_rate", "start_date"]
        - fp.loc["listing_violation_rate", "start_date"]
    )
    assert 3 <= lag.days <= 21
    # every consequence shares its incident id with a row that is not one
    causes = set(rows.loc[~rows["is_consequence"], "incident_id"])
    assert set(consequences["incident_id"]) <= causes


def _segment_sql(region: str, category: str, region_col: str, category_col: str) -> str:
    parts = ["true"]
    if region != "ALL":
        parts.append(f"{region_col} = '{region}'")
    if category != "ALL":
        parts.append(f"{category_col} = '{category}'")
    return " and ".join(parts)


def test_lasting_and_weekly_incidents_move_their_metric_in_their_segment(tiny_long):
    con = _con(*tiny_long[:2])
    shaped = con.execute(
        "select * from truth_incidents where target_strength is not null "
        "and shape in ('level_shift', 'weekly_pattern')"
    ).df()
    own = shaped.groupby("incident_id").head(1)  # the most specific row comes first
    assert len(own) == 4
    for row in own.itertuples():
        weekend = "and dayofweek(ts) in (0, 6)" if row.shape == "weekly_pattern" else ""
        if row.metric_name == "low_quality_listing_rate":
            events = """
                select l.created_at as ts, t.is_low_quality::int as hit, s.region, l.category
                from listings l join truth_listings t using (listing_id)
                join sellers s using (seller_id)"""
        else:
            events = """
                select o.ordered_at as ts, (c.order_id is not null)::int as hit, s.region,
                    l.category
                from orders o join listings l using (listing_id) join sellers s
                    on l.seller_id = s.seller_id
                left join (select distinct order_id from complaints) c using (order_id)
                where o.order_status = 'completed'"""
        seg = _segment_sql(row.region, row.category, "region", "category")
        d0, d1 = row.start_date, row.end_date
        in_window = f"cast(ts as date) between '{d0}' and '{d1}' {weekend}"
        in_before = (
            f"cast(ts as date) between cast('{d0}' as date) - 28 "
            f"and cast('{d0}' as date) - 1 {weekend}"
        )
        during, before = con.execute(f"""
            with e as ({events})
            select
                avg(case when ({seg}) and {in_window} then hit end),
                avg(case when ({seg}) and {in_before} then hit end)
            from e
        """).fetchone()
        assert during > 1.5 * before, (row.incident_id, row.description, during, before)


def test_attack_spike_is_visible_in_its_segment(tiny_long):
    raw, truth, manifest = tiny_long
    con = _con(raw, truth)
    inc = con.execute(
        "select region, category, start_date, end_date from truth_incidents "
        "where incident_type = 'attack_spike' and metric_name = "
        "'listing_violation_rate' and region <> 'ALL'"
    ).fetchone()
    region, category, d0, d1 = inc
    share = con.execute(f"""
        select avg(case when cast(l.created_at as date) between '{d0}' and '{d1}'
                        then t.is_violating::int end),
               avg(case when cast(l.created_at as date) < '{d0}'
                        then t.is_violating::int end)
        from listings l join sellers s using (seller_id) join truth_listings t using (listing_id)
        where s.region = '{region}' and l.category = '{category}'
    """).fetchone()
    during, before = share
    assert during > 0.4 and during > 4 * before


def test_strategy_false_positive_incident_has_change_and_rollback(tiny_long):
    con = _con(*tiny_long[:2])
    sid, cid = con.execute(
        "select distinct strategy_id, change_id from truth_incidents "
        "where incident_type = 'strategy_false_positives'"
    ).fetchone()
    kinds = [
        r[0]
        for r in con.execute(
            f"select change_type from strategy_changes where strategy_id = '{sid}' "
            "order by changed_at"
        ).fetchall()
    ]
    assert kinds == ["launch", "threshold_change", "rollback"]
    assert _one(con, f"select change_type from strategy_changes where change_id = '{cid}'") == (
        "threshold_change"
    )


def test_data_drop_removes_actions_from_raw(tiny_long):
    con = _con(*tiny_long[:2])
    missing = _one(con, "select count(*) from truth_missing_actions")
    assert missing > 0
    assert (
        _one(
            con,
            "select count(*) from truth_missing_actions where action_id in "
            "(select action_id from enforcement_actions)",
        )
        == 0
    )


def test_truth_labels_are_consistent(tiny):
    con = _con(*tiny[:2])
    assert (
        _one(con, "select count(*) from truth_listings where is_violating and is_low_quality") == 0
    )
    assert (
        _one(
            con,
            "select count(*) from truth_listings where (true_policy_code is null) <> "
            "(not is_violating and not is_low_quality)",
        )
        == 0
    )
    bad_share = _one(con, "select avg(is_bad::int) from truth_sellers")
    assert 0.04 <= bad_share <= 0.12
    assert (
        _one(
            con,
            "select count(*) from truth_sellers t join sellers s using (seller_id) "
            "where t.caught_at_onboarding and s.onboarded_at is not null",
        )
        == 0
    )
    assert _one(con, "select count(*) from truth_sellers where caught_at_onboarding") > 0
    # bad sellers violate far more often than good ones
    rates = dict(
        con.execute("""
        select t.is_bad, avg(l.is_violating::int)
        from listings x join truth_listings l using (listing_id)
        join truth_sellers t using (seller_id) group by 1
    """).fetchall()
    )
    assert rates[True] > 10 * rates[False]


def test_late_arrivals_refer_to_raw_events(tiny):
    con = _con(*tiny[:2])
    tables = {
        r[0] for r in con.execute("select distinct table_name from truth_late_arrivals").fetchall()
    }
    assert {"strategy_hits", "enforcement_actions", "orders"} <= tables
    assert _one(con, "select count(*) from truth_late_arrivals where arrives_at <= event_at") == 0
    keys = {
        "strategy_hits": ("hit_id", "hit_at"),
        "enforcement_actions": ("action_id", "acted_at"),
        "orders": ("order_id", "ordered_at"),
        "complaints": ("complaint_id", "created_at"),
    }
    for table, (pk, ts) in keys.items():
        bad = _one(
            con,
            f"select count(*) from truth_late_arrivals a left join {table} x on "
            f"a.id = x.{pk} where a.table_name = '{table}' and "
            f"(x.{pk} is null or x.{ts} <> a.event_at)",
        )
        assert bad == 0, table


def test_scale_tiers_are_ordered():
    order = ["tiny", "small", "medium", "large"]
    assert list(SCALES) == order
    for a, b in zip(order, order[1:], strict=False):
        for field in ("n_sellers", "listings", "n_rings"):
            assert getattr(SCALES[a], field) < getattr(SCALES[b], field), (a, b, field)
        assert SCALES[a].days <= SCALES[b].days


def test_tiny_row_counts_fit_the_tier(tiny):
    _, _, manifest = tiny
    rows = manifest["row_counts"]
    cfg = SCALES["tiny"]
    assert rows["sellers"] == cfg.n_sellers
    assert 0.7 * cfg.listings <= rows["listings"] <= 1.4 * cfg.listings
    assert rows["orders"] > rows["listings"]
    assert rows["seller_identity_signals"] > 5 * rows["sellers"]


def test_unknown_scale_is_rejected(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path / "raw", tmp_path / "truth", scale="huge")
