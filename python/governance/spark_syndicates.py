"""Syndicate detection distributed over a Spark session, with the package's own algorithm
(governance.detection.syndicates): the same memberships and summaries as on one machine.

No step collects sellers or identity links on the driver; what it holds are statistics of a
few numbers per signal type and share class, and one count per partition.

1. **Value evidence**: identity links are merged to one per seller and shared value in Spark
   SQL. The arrival clock (registration times) is ranked with a distributed sort and per-
   partition prefix counts (:func:`_clock_positions`); per value, its holders' arrival span
   (an aggregation) gives its likelihood ratio (``log10_window_lr``, in ``mapInPandas``). The
   empirical-Bayes fit of each type and share class (``cell_log_odds``) needs only per-cell
   sums, one small aggregation per EM step; the hub cut needs the per-type histogram of share
   counts (``share_scales``). Binding, hubs and the tie rate follow per value.
2. **Candidate groups and household types**: connected components of the seller-value graph
   by label propagation (:func:`connected_components`: every seller takes the smallest label
   of the values it holds and every value the smallest of its holders, with pointer jumping,
   until nothing changes); the label is the smallest seller id, as on one machine.
3. **Communities**: each candidate group's binding links go to one task
   (``groupBy(group).applyInPandas(cluster_groups)``).
4. **Summaries**: each syndicate's members' links go to one task (``summarize_syndicate``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from governance.detection.syndicates import (
    MEMBER_LINK_COLUMNS,
    SELLER_SYNDICATE_COLUMNS,
    SYNDICATE_COLUMNS,
    SyndicateParams,
    cell_log_odds,
    cluster_groups,
    log10_range_p,
    log10_window_lr,
    share_class,
    share_scales,
    share_z,
    summarize_syndicate,
    value_decisions,
    value_evidence,
)

SELLER_SYNDICATE_SCHEMA = (
    "seller_id string, syndicate_id string, membership_strength double, n_links bigint, "
    "link_weight double, tie_signal_types string, n_binding_values bigint"
)
SYNDICATE_SCHEMA = (
    "syndicate_id string, size bigint, n_confirmed_bad bigint, share_confirmed_bad double, "
    "n_enforced bigint, n_unenforced_members bigint, unenforced_member_ids string, "
    "shared_signal_summary string, n_links bigint, link_density double, "
    "mean_link_weight double, first_activity_at timestamp, last_activity_at timestamp, "
    "risk_score double, shape string, n_binding_values bigint, binding_identifiers string, "
    "adoption_span_days double, adoption_p_value double, evidence double"
)
_COMMUNITY_SCHEMA = (
    "seller_id string, community string, is_syndicate boolean, evidence double, "
    "log10_adoption_p double"
)
_DAY_NS = 86_400e9


def _ns(column):
    """A timestamp column as float nanoseconds since the epoch."""
    from pyspark.sql import functions as F

    return (F.unix_micros(F.col(column).cast("timestamp")) * 1000).cast("double")


def _cached(frame):
    """``frame`` kept once computed (it is read more than once)."""
    return frame.cache()


def _checkpoint(frame):
    """``frame`` computed once and cut from its lineage (iterations stay flat)."""
    return frame.localCheckpoint(eager=True)


# ------------------------------------------------------------------------------------------
# Connected components
# ------------------------------------------------------------------------------------------


def connected_components(edges):
    """Connected component of every seller of ``edges`` (columns ``seller_id, value``: the
    bipartite seller-value graph), labelled by its smallest seller id: columns ``seller_id,
    component``.

    Label propagation: each value takes the smallest label of its holders, each seller the
    smallest of its values', then each seller the label of its label (pointer jumping, which
    shortens long chains); repeated until no label changes."""
    from pyspark.sql import functions as F

    edges = _checkpoint(edges.select("seller_id", "value").distinct())
    labels = edges.select("seller_id").distinct().withColumn("component", F.col("seller_id"))
    while True:
        by_value = (
            edges.join(labels, "seller_id").groupBy("value").agg(F.min("component").alias("v"))
        )
        spread = edges.join(by_value, "value").groupBy("seller_id").agg(F.min("v").alias("c"))
        jumped = spread.alias("s").join(
            spread.select(F.col("seller_id").alias("via"), F.col("c").alias("c2")),
            F.col("s.c") == F.col("via"),
            "left",
        )
        component = F.least(F.col("s.c"), F.coalesce(F.col("c2"), F.col("s.c")))
        # Checkpointed by the one job that counts the changes (the lineage stays flat).
        updated = jumped.join(
            labels.alias("o"), F.col("s.seller_id") == F.col("o.seller_id")
        ).select(
            F.col("s.seller_id").alias("seller_id"),
            component.alias("component"),
            (component != F.col("o.component")).cast("int").alias("changed"),
        )
        updated = updated.localCheckpoint(eager=False)
        changed = updated.agg(F.max("changed")).first()[0]
        labels = updated.drop("changed")
        if not changed:
            return labels


# ------------------------------------------------------------------------------------------
# Stage 1: value evidence
# ------------------------------------------------------------------------------------------


def _clock_positions(times, clock_size: int):
    """Mid-rank position on the arrival clock of every time of ``times`` (columns ``t`` and
    ``n_clock``: how many clock entries are at ``t``, 0 for a time only looked up; one row per
    distinct ``t``): columns ``t, position``. A distributed range partitioning, running counts
    within each partition, and the counts of the partitions before it (one number per
    partition)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    parts = max(times.sparkSession.sparkContext.defaultParallelism, 1)
    ranged = _cached(
        times.repartitionByRange(parts, "t").withColumn("part", F.spark_partition_id())
    )
    totals = ranged.groupBy("part").agg(F.sum("n_clock").alias("total"))
    before = F.sum("total").over(Window.orderBy("part").rowsBetween(Window.unboundedPreceding, -1))
    offsets = totals.select("part", F.coalesce(before, F.lit(0)).alias("offset"))
    running = Window.partitionBy("part").orderBy("t").rowsBetween(Window.unboundedPreceding, 0)
    through = F.col("offset") + F.sum("n_clock").over(running)
    return (
        ranged.join(F.broadcast(offsets), "part")
        .withColumn("through", through)
        .select(
            "t", ((2 * F.col("through") - F.col("n_clock")) / (2.0 * clock_size)).alias("position")
        )
    )


def _shared_links(links):
    """One link per seller and value held by two or more sellers, with its earliest first
    observation (``first_observed_ns``) and the value key ``value`` (sorted like
    ``(signal_type, signal_value_hash)``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = ["seller_id", "signal_type", "signal_value_hash"]
    first = _ns("first_observed_at") if "first_observed_at" in links.columns else F.lit(None)
    merged = (
        links.dropna(subset=keys)
        .withColumn("_first", first.cast("double"))
        .groupBy(*keys)
        .agg(F.min("_first").alias("first_observed_ns"))
    )
    per_value = Window.partitionBy("signal_type", "signal_value_hash")
    return (
        merged.withColumn("n_sellers", F.count("*").over(per_value))
        .filter("n_sellers >= 2")
        .withColumn("value", F.concat_ws("\u0000", "signal_type", "signal_value_hash"))
    )


def _link_positions(links, sellers):
    """The shared links with each link's arrival ``position`` (the seller's registration, else
    onboarding, on the marketplace's clock; the link's first observation on that clock where
    the seller's is unknown), and the clock's size."""
    from pyspark.sql import functions as F

    arrival = F.lit(None).cast("double")
    for column in ("onboarded_at", "registered_at"):
        if sellers is not None and column in sellers.columns:
            arrival = F.coalesce(_ns(column), arrival)
    seller_times = (
        sellers.select("seller_id", arrival.alias("arrival")).dropDuplicates(["seller_id"])
        if sellers is not None
        else links.sparkSession.createDataFrame([], "seller_id string, arrival double")
    )
    clock = seller_times.select(F.col("arrival").alias("t")).dropna()
    clock_size = clock.count()
    if clock_size < 2:
        clock = links.select(F.col("first_observed_ns").alias("t")).dropna()
        clock_size = clock.count()
    links = links.join(seller_times, "seller_id", "left")
    lookups = links.select(F.coalesce("arrival", "first_observed_ns").alias("t")).dropna()
    times = (
        clock.withColumn("n_clock", F.lit(1))
        .unionByName(lookups.withColumn("n_clock", F.lit(0)))
        .groupBy("t")
        .agg(F.sum("n_clock").alias("n_clock"))
    )
    if clock_size == 0:
        positions = links.sparkSession.createDataFrame([], "t double, position double")
    else:
        positions = _clock_positions(times, clock_size)
    by_arrival = positions.select(F.col("t").alias("arrival"), F.col("position").alias("p_a"))
    by_first = positions.select(
        F.col("t").alias("first_observed_ns"), F.col("position").alias("p_f")
    )
    links = links.join(by_arrival, "arrival", "left").join(by_first, "first_observed_ns", "left")
    links = links.withColumn("position", F.coalesce("p_a", "p_f")).drop("p_a", "p_f", "arrival")
    return links, clock_size


def _value_statistics(links, clock_size: int):
    """One row per shared value: its holders, the span of their arrival positions and first
    observations, and its log10 likelihood ratio and range-test p-value
    (``log10_window_lr``, ``log10_range_p``)."""
    from pyspark.sql import functions as F

    stats = links.groupBy("value", "signal_type", "signal_value_hash").agg(
        F.count("*").alias("n_sellers"),
        F.count("position").alias("known"),
        (F.max("position") - F.min("position")).alias("span"),
        F.min("first_observed_ns").alias("first_lo"),
        F.max("first_observed_ns").alias("first_hi"),
    )
    resolution = 1.0 / max(clock_size, 2)

    def likelihoods(batches):
        for batch in batches:
            known = batch["known"].to_numpy()
            span = np.where(known >= 2, batch["span"].to_numpy(float), 1.0)
            k = np.maximum(known, 2)
            batch["adoption_span_days"] = (batch["first_hi"] - batch["first_lo"]) / _DAY_NS
            batch["log10_adoption_p"] = np.where(known >= 2, log10_range_p(k, span), np.nan)
            batch["log10_lr"] = np.where(known >= 2, log10_window_lr(k, span, resolution), np.nan)
            batch["share"] = share_class(batch["n_sellers"].to_numpy())
            yield batch.drop(columns=["known", "span", "first_lo", "first_hi"])

    schema = (
        "value string, signal_type string, signal_value_hash string, n_sellers bigint, "
        "adoption_span_days double, log10_adoption_p double, log10_lr double, share bigint"
    )
    return _cached(stats.mapInPandas(likelihoods, schema=schema))


def _fit_cells(values, type_code: dict, n_classes: int, p: SyndicateParams) -> np.ndarray:
    """``cell_log_odds`` of the values, each EM step's per-cell sums aggregated in Spark."""
    from pyspark.sql import functions as F

    n_cells = len(type_code) * n_classes
    timed = values.filter("log10_lr is not null").select(
        "cell",
        "share",
        (F.least(F.greatest("log10_lr", F.lit(-300.0)), F.lit(300.0)) * np.log(10.0)).alias(
            "ln_lr"
        ),
    )
    timed = _checkpoint(timed)
    counts = timed.groupBy("cell").count().collect()
    if not counts:
        return np.zeros(n_cells)
    m_cell = np.zeros(n_cells)
    for row in counts:
        m_cell[row["cell"]] = row["count"]
    m_class = m_cell.reshape(-1, n_classes).sum(axis=0)

    def innocent_sums(prior: np.ndarray):
        prior_of = F.element_at(
            F.array(*[F.lit(float(x)) for x in prior]), (F.col("cell") + 1).cast("int")
        )
        odds = F.least(F.greatest(prior_of + F.col("ln_lr"), F.lit(-700.0)), F.lit(700.0))
        sums = timed.groupBy("cell").agg(F.sum(1.0 / (1.0 + F.exp(odds))).alias("s")).collect()
        by_cell = np.zeros(n_cells)
        for row in sums:
            by_cell[row["cell"]] = row["s"]
        return by_cell, by_cell.reshape(-1, n_classes).sum(axis=0)

    return cell_log_odds(m_cell, m_class, innocent_sums, p)


def value_evidence_table(links, sellers, params: SyndicateParams):
    """Stage 1 on Spark: the shared links (one per seller and value, with ``position`` and
    ``first_observed_ns``) and the values (``value, signal_type, signal_value_hash,
    n_sellers, adoption_span_days, log10_adoption_p, type_log_odds, evidence, share_z,
    is_hub, is_binding``), and the tie rate."""
    from pyspark.sql import functions as F

    p = params
    shared = _shared_links(links)
    shared, clock_size = _link_positions(shared, sellers)
    shared = _cached(shared)
    values = _value_statistics(shared, clock_size)
    histogram = values.groupBy("signal_type", "n_sellers").count().collect()
    types = sorted({r["signal_type"] for r in histogram})
    type_code = {t: i for i, t in enumerate(types)}
    n_sellers = np.array([r["n_sellers"] for r in histogram], dtype=np.int64)
    n_classes = int(share_class(n_sellers).max(initial=0)) + 1
    median, scale = share_scales(
        np.array([type_code[r["signal_type"]] for r in histogram], dtype=np.int64),
        n_sellers,
        np.array([r["count"] for r in histogram], dtype=np.int64),
        len(types),
    )
    pairs = [F.lit(x) for t, i in type_code.items() for x in (t, i)]
    code_of = F.element_at(F.create_map(*pairs), F.col("signal_type")) if types else F.lit(0)
    values = values.withColumn("type_code", code_of.cast("bigint"))
    values = values.withColumn("cell", F.col("type_code") * n_classes + F.col("share"))
    cell_odds = _fit_cells(values, type_code, n_classes, p) if types else np.zeros(1)

    def decide(batches):
        for batch in batches:
            type_only = cell_odds[batch["cell"].to_numpy()]
            evidence = value_evidence(type_only, batch["log10_lr"].to_numpy(float), p)
            z = share_z(batch["n_sellers"].to_numpy(), batch["type_code"].to_numpy(), median, scale)
            binding, hub = value_decisions(evidence, type_only, z, p)
            batch["type_log_odds"], batch["evidence"], batch["share_z"] = type_only, evidence, z
            batch["is_hub"], batch["is_binding"] = hub, binding
            yield batch.drop(columns=["log10_lr", "share", "cell", "type_code"])

    schema = (
        "value string, signal_type string, signal_value_hash string, n_sellers bigint, "
        "adoption_span_days double, log10_adoption_p double, type_log_odds double, "
        "evidence double, share_z double, is_hub boolean, is_binding boolean"
    )
    values = _cached(values.mapInPandas(decide, schema=schema))
    n_sellers = _marketplace_size(links, sellers)
    binding = shared.join(values.filter("is_binding").select("value"), "value", "left_semi")
    holders = binding.select("signal_type", "seller_id").distinct().groupBy("signal_type").count()
    holding = {r["signal_type"]: r["count"] for r in holders.collect()}
    rates = np.array([holding.get(t, 0) for t in types], dtype=float) / max(n_sellers, 1)
    return shared, values, float(rates.sum())


def _marketplace_size(links, sellers) -> int:
    """Distinct sellers of the links and the seller table."""
    ids = links.select("seller_id")
    if sellers is not None:
        ids = ids.unionByName(sellers.select("seller_id"))
    return ids.dropna().distinct().count()


# ------------------------------------------------------------------------------------------
# Stages 2 to 4
# ------------------------------------------------------------------------------------------


def household_type_names(shared, values, p: SyndicateParams) -> list[str]:
    """``household_types`` on Spark: the signal types a value of which ties at least
    ``household_type_share`` of the single-tie groups of at most ``household_size`` sellers."""
    from pyspark.sql import functions as F

    small = values.filter(F.col("n_sellers") <= p.household_size).select("value", "n_sellers")
    links = shared.select("seller_id", "value", "signal_type").join(small, "value")
    component = connected_components(links)
    links = links.join(component, "seller_id")
    groups = links.groupBy("component").agg(
        F.countDistinct("seller_id").alias("size"), F.max("n_sellers").alias("widest")
    )
    single = groups.filter((F.col("size") <= p.household_size) & (F.col("widest") >= F.col("size")))
    n_groups = single.count()
    tied = links.join(single.select("component"), "component", "left_semi")
    per_type = tied.select("component", "signal_type").distinct().groupBy("signal_type").count()
    return sorted(
        r["signal_type"]
        for r in per_type.collect()
        if r["count"] / max(n_groups, 1) >= p.household_type_share
    )


def _binding_links(shared, values, tie_rate: float, household: list[str]):
    """The binding links with their value's evidence and household type, the tie rate and
    the seller's arrival position (its earliest over all its shared links)."""
    from pyspark.sql import functions as F

    position = shared.groupBy("seller_id").agg(F.min("position").alias("position"))
    binding = values.filter("is_binding").select("value", "evidence")
    return (
        shared.drop("position")
        .join(binding, "value")
        .join(position, "seller_id")
        .withColumn(
            "household_type",
            F.col("signal_type").isin(household) if household else F.lit(False),
        )
        .withColumn("tie_rate", F.lit(float(tie_rate)))
    )


def _communities(binding_links, p: SyndicateParams):
    """Stages 2 and 3: the candidate groups (components of sellers and binding values with
    ``min_size`` sellers or more), each clustered in its own task (``cluster_groups``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    component = connected_components(binding_links)
    size = F.count("*").over(Window.partitionBy("component"))
    grouped = component.withColumn("size", size).filter(F.col("size") >= p.min_size)
    rows = binding_links.join(
        grouped.select("seller_id", F.col("component").alias("group")), "seller_id"
    )
    rows = rows.select(
        "group", "seller_id", "value", "evidence", "household_type", "tie_rate", "position"
    )

    def cluster(frame: pd.DataFrame) -> pd.DataFrame:
        return cluster_groups(frame, p)

    return rows.groupBy("group").applyInPandas(cluster, schema=_COMMUNITY_SCHEMA)


def _summaries(binding_links, members, sellers, p: SyndicateParams, part: int, schema: str):
    """Stage 4: each syndicate (``members``: ``seller_id, syndicate``) summarised in its own
    task (``summarize_syndicate``); ``part`` 0 gives the members' seller rows, 1 the
    syndicate rows."""
    rows = binding_links.join(members, "seller_id")
    if sellers is not None:
        rows = rows.join(sellers, "seller_id", "left")
    columns = [c for c in rows.columns if c == "syndicate" or c in MEMBER_LINK_COLUMNS]
    columns += [c for c in (sellers.columns if sellers is not None else []) if c != "seller_id"]
    rows = rows.select(*columns)

    def summarize(frame: pd.DataFrame) -> pd.DataFrame:
        return summarize_syndicate(frame.drop(columns=["syndicate"]), p)[part]

    return rows.groupBy("syndicate").applyInPandas(summarize, schema=schema)


def seller_syndicates(links, sellers, params: SyndicateParams):
    """``seller_syndicates`` of ``detect_syndicates`` on Spark DataFrames (``links``:
    int_seller_identity_links rows of shared values; ``sellers``: seller_features' columns of
    ``SELLER_ATTRIBUTE_COLUMNS``): one row per seller."""
    from pyspark.sql import functions as F

    p = params
    shared, values, tie_rate = value_evidence_table(links, sellers, p)
    binding_links = _cached(
        _binding_links(shared, values, tie_rate, household_type_names(shared, values, p))
    )
    communities = _cached(_communities(binding_links, p))
    members = communities.filter("is_syndicate").select(
        "seller_id", F.col("community").alias("syndicate")
    )
    in_syndicates = _summaries(binding_links, members, sellers, p, 0, SELLER_SYNDICATE_SCHEMA)
    everyone = links.select("seller_id")
    if sellers is not None:
        everyone = everyone.unionByName(sellers.select("seller_id"))
    others = (
        everyone.dropna()
        .distinct()
        .join(members, "seller_id", "left_anti")
        .select(
            "seller_id",
            F.lit(None).cast("string").alias("syndicate_id"),
            F.lit(None).cast("double").alias("membership_strength"),
            F.lit(0).cast("bigint").alias("n_links"),
            F.lit(0.0).alias("link_weight"),
            F.lit(None).cast("string").alias("tie_signal_types"),
            F.lit(0).cast("bigint").alias("n_binding_values"),
        )
    )
    return in_syndicates.unionByName(others).select(*SELLER_SYNDICATE_COLUMNS)


def syndicates(links, sellers, memberships, params: SyndicateParams):
    """``summarize_syndicates`` on Spark DataFrames: one row per syndicate of
    ``memberships`` (seller_syndicates), from the same links, sellers and settings (the
    value evidence is recomputed; the clustering is not)."""
    from pyspark.sql import functions as F

    p = params
    shared, values, tie_rate = value_evidence_table(links, sellers, p)
    # Household types decide which communities are syndicates, not how one is summarised.
    binding_links = _binding_links(shared, values, tie_rate, household=[])
    members = memberships.filter("syndicate_id is not null").select(
        "seller_id", F.col("syndicate_id").alias("syndicate")
    )
    return _summaries(binding_links, members, sellers, p, 1, SYNDICATE_SCHEMA).select(
        *SYNDICATE_COLUMNS
    )
