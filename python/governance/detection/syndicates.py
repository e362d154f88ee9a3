"""Syndicate (seller ring) detection from group evidence on the seller–identifier graph.

Bad sellers operating as a ring re-use identifiers: devices, bank accounts, phone lines,
warehouse addresses, IP addresses. Innocent sharing exists too: a public IP or a co-working
address used by hundreds of unrelated sellers, a family sharing one device, a logistics agent's
phone on many accounts. No single rule separates them, so the detector weighs evidence in
log10 odds (ring against innocent sharing), estimated from the marketplace itself, from three
sources:

* **the value's type and how widely it is shared**, compared with how values of that type and
  share count are shared in this marketplace (a bank account shared by two sellers where
  shared bank accounts are nearly always ring accounts; an IP shared by 300 where IPs that
  widely shared are public places);
* **when its holders arrived**: independent sellers open their accounts at the marketplace's
  own pace, a ring's members often (not always) within days or weeks;
* **the group's structure**: members tied to the others through several separate values (a
  star's centre, the links of a rotation chain), which independent sellers rarely are.

Four stages; the first two are table operations and the third a pure function of one
candidate group (the same result however groups are batched), so all can run distributed:

1. **Value evidence** (:func:`score_values`). Time is read on the marketplace's arrival clock,
   the empirical distribution of sellers' ``registered_at`` (``onboarded_at`` where missing;
   the links' first observations when sellers are not given): a position ``u`` in [0, 1] is
   the share of the marketplace's sellers arrived by then. The ``k`` holders of a value span
   ``r`` on it. Under independent arrival the range test gives
   ``p = k r^(k-1) - (k-1) r^k``; under a ring whose members arrive within a window of unknown
   length (log-uniform from one arrival, ``1/N``, to the whole clock) the likelihood ratio of
   the two is ``LR = (1 - p) r^(1-k) / (k (k-1) ln(N) (1 - r))`` (:func:`log10_window_lr`):
   large for close arrivals, near 0 for holders spread over the whole clock. The values of one
   signal type and share class (2-3, 4-7, 8-15, ... holders; a *cell*) are a mixture of ring
   and innocent values; each cell's innocent share ``pi0`` is fitted by EM on its values'
   likelihood ratios, shrunk towards the share class over all types and that towards 1 by
   ``prior_values`` pseudo-values. A value's **evidence** is its cell's prior log-odds,
   ``log10((1 - pi0) / pi0)`` (the *type log-odds*, which carries weight whatever the value's
   own timing), plus ``log10 LR``, capped at ``±evidence_cap``. A value **binds** (may tie a
   group) when its evidence exceeds ``value_log_odds``; a value shared far more widely than
   its type usually is (robust z-score of ``log k`` within its type above ``hub_z``) binds only
   with evidence of ``group_log_odds`` or more. A value that does not bind is a **hub** when it
   is that widely shared or its cell's type log-odds are ``value_log_odds`` or less (public IPs,
   agents' phones). The **tie rate** is the share of the marketplace's sellers holding a
   binding value, summed over types: the chance that a seller holds one by coincidence. With
   no time at all every value's evidence is 0: hubs never bind, every other value does.
2. **Candidate groups** (:func:`candidate_groups`): connected components of the graph of
   sellers and binding values (hubs and values that do not bind are removed first, so no value
   produces pairs it cannot justify); components smaller than ``min_size`` are dropped. From the
   same components, :func:`household_types`: the signal types households share here, those a
   value of which ties at least ``household_type_share`` of the *single-tie groups* of at most
   ``household_size`` sellers (components in which one value is held by every member).
3. **Communities and the group decision** (:func:`cluster_group`, :func:`cluster_groups`).
   Groups of ``leiden_min_size`` sellers or more are split with Leiden (igraph's
   implementation, modularity at ``resolution``, fixed seed) on pair weights (the summed
   ``evidence - value_log_odds`` of the values two sellers share); two parts are merged back
   when the weight between them is at least ``merge_share`` of the weight per member inside
   the weaker part (a chain, which modularity cuts into segments, stays whole; rings touching
   through one tie stay apart). Smaller groups are one community each, handled in bulk with
   array operations. A community's **evidence** is

       sum of max(evidence, 0) over the values two or more members share
       + structure: log10 Bayes factor (floored at 0) of X separate extra ties (a member tied
         through d > 1 values whose holder sets are not nested counts d - 1), a ring's X taken
         as any of 0..size alike, independent sellers' as Poisson(size * tie rate)

   (values whose evidence favours innocence add nothing: they tie the group, their evidence is
   why they do not bind alone). A community is a syndicate when it has ``min_size`` members or
   more, its evidence is ``group_log_odds`` or more, and it is not a **household**: at most
   ``household_size`` members, a shared value held by all of them, and every shared value of a
   household type (a family sharing a device, a home address and IP, however close together
   its accounts were opened; a ring of that size tied only by such values cannot be told from
   it and is not reported either).
4. **Summaries** (:func:`summarize_syndicates`): one row per seller and one per syndicate, with
   the hashed identifiers that bind it, its shape (``dense``: one value held by every member;
   ``star``: one member tied to all others, the others barely to each other; ``chain``: no
   member tied to more than two others; ``partial_overlap``: members hold different subsets of
   the ring's values), its adoption span and p-value (range test of the members' arrivals),
   its evidence, and the members not yet enforced.

``syndicate_id = id_prefix + smallest member seller_id``, stable under any reordering of the
input. The syndicate risk score:

    risk_score = 0.55 * bad_signal + 0.30 * link_signal + 0.15 * size_signal

* ``bad_signal = min(1, 2 * share_confirmed_bad)`` (half the members confirmed bad saturates);
* ``link_signal = 0.5 * link_density + 0.5 * min(1, mean_link_weight / evidence_cap)``;
* ``size_signal = min(1, log(size / 2) / log(20))`` (40 members saturate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from scipy.sparse import csgraph

from governance.detection._params import params_from_mapping

# The columns of identity links the detection uses (first_observed_at optional).
LINK_COLUMNS = ["seller_id", "signal_type", "signal_value_hash", "first_observed_at"]
# The seller columns the detection uses (all optional except seller_id).
SELLER_ATTRIBUTE_COLUMNS = [
    "seller_id",
    "registered_at",
    "onboarded_at",
    "is_confirmed_bad",
    "is_enforced",
    "first_activity_at",
    "last_activity_at",
]
SELLER_SYNDICATE_COLUMNS = [
    "seller_id",
    "syndicate_id",
    "membership_strength",
    "n_links",
    "link_weight",
    "tie_signal_types",
    "n_binding_values",
]
SYNDICATE_COLUMNS = [
    "syndicate_id",
    "size",
    "n_confirmed_bad",
    "share_confirmed_bad",
    "n_enforced",
    "n_unenforced_members",
    "unenforced_member_ids",
    "shared_signal_summary",
    "n_links",
    "link_density",
    "mean_link_weight",
    "first_activity_at",
    "last_activity_at",
    "risk_score",
    "shape",
    "n_binding_values",
    "binding_identifiers",
    "adoption_span_days",
    "adoption_p_value",
    "evidence",
]
# Columns of the value-evidence table (stage 1), one row per shared value.
VALUE_COLUMNS = [
    "signal_type",
    "signal_value_hash",
    "n_sellers",
    "adoption_span_days",
    "log10_adoption_p",
    "type_log_odds",
    "evidence",
    "share_z",
    "type_surprise",
    "is_hub",
    "is_binding",
]
# Columns of the stage 3 input (one row per binding link of a candidate group).
GROUP_COLUMNS = [
    "seller_id",
    "value",
    "evidence",
    "household_type",
    "tie_rate",
    "position",
]
_DAY_NS = 86_400e9
_LN10 = np.log(10.0)


@dataclass(frozen=True)
class SyndicateParams:
    """Settings of :func:`detect_syndicates`: evidence thresholds in log10 odds, estimation
    settings and robust cut-offs, the same for every marketplace (not weights fitted to one).

    Attributes:
        value_log_odds: a value binds (may tie a group) when its evidence exceeds this (-1.5:
            unless innocent sharing is about 30 times likelier).
        group_log_odds: a community is a syndicate when its evidence reaches this (1: ten to
            one); a widely shared value needs this much on its own to bind.
        household_size: largest household (family) size.
        household_type_share: a signal type is one households share when a value of it ties
            at least this share of the marketplace's single-tie groups of household size.
        prior_values: pseudo-values with which a cell's innocent share is shrunk towards its
            share class's, and that towards 1.
        hub_z: robust z-score of ``log(sellers sharing)`` within the value's signal type above
            which a value is widely shared.
        evidence_cap: cap of the absolute log10 odds of a value.
        leiden_min_size: groups of at least this many sellers are split with Leiden.
        merge_share: Leiden parts are merged back when the weight between them is at least
            this share of the weight per member inside the weaker part.
        resolution: Leiden modularity resolution.
        seed: Leiden seed (fixed: the same group always gives the same communities).
        min_size: smallest community reported as a syndicate.
        max_listed_values: binding identifiers listed per syndicate (the most shared first).
        id_prefix: prefix of syndicate ids.
    """

    value_log_odds: float = -1.5
    group_log_odds: float = 1.0
    household_size: int = 4
    household_type_share: float = 0.1
    prior_values: float = 4.0
    hub_z: float = 3.5
    evidence_cap: float = 12.0
    leiden_min_size: int = 6
    merge_share: float = 0.25
    resolution: float = 1.0
    seed: int = 0
    min_size: int = 3
    max_listed_values: int = 10
    id_prefix: str = "SYN-"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> SyndicateParams:
        """Build from a mapping such as dbt vars (values may be strings); unknown keys and
        ``None`` values are ignored."""
        return params_from_mapping(cls, values)


# --------------------------------------------------------------------------------------------
# Encoding helpers
# --------------------------------------------------------------------------------------------


def _is_text(col: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(col) and not pd.api.types.is_object_dtype(col)


def _arrow_text(col: pd.Series) -> pa.Array:
    arr = pa.array(col)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


@dataclass
class SellerIndex:
    """Sellers coded once: sorted unique seller ids, and the code of each row of the links and
    of the seller table (-1 for a null id, or a seller left out of ``ids``)."""

    ids: np.ndarray
    link_code: np.ndarray
    seller_code: np.ndarray | None  # None without a seller table
    n_sellers: int  # sellers in the marketplace (links and seller table), coded or not

    @classmethod
    def of(
        cls, links: pd.DataFrame, sellers: pd.DataFrame | None, linked_only: bool = False
    ) -> SellerIndex:
        """Code the sellers of ``links`` and ``sellers``; with ``linked_only``, only those
        of ``links`` get a code (the summaries of given syndicates need no others)."""
        cols = [links["seller_id"].reset_index(drop=True)]
        if sellers is not None and "seller_id" in sellers.columns:
            cols.append(sellers["seller_id"].reset_index(drop=True))
        if not all(_is_text(c) for c in cols):
            joined = pd.concat(cols, ignore_index=True)
            codes, uniques = pd.factorize(joined, sort=True)
            n_links = len(cols[0])
            seller_code = codes[n_links:] if len(cols) > 1 else None
            ids = np.asarray(uniques, dtype=object)
            return cls(ids, codes[:n_links], seller_code, len(ids))
        # Arrow keeps millions of ids compact: one hash pass, one sort of the distinct ids.
        texts = [_arrow_text(c) for c in cols]
        n_sellers = None
        rows = [np.arange(len(t)) for t in texts]
        if linked_only and len(texts) > 1:
            linked = pc.unique(texts[0]).drop_null()
            keep = pc.fill_null(pc.is_in(texts[1], value_set=linked), False)
            others = pc.unique(texts[1].filter(pc.invert(keep))).drop_null()
            n_sellers = len(linked) + len(others)
            rows[1] = np.flatnonzero(keep.to_numpy(zero_copy_only=False))
            texts[1] = texts[1].filter(keep)
        encoded = pa.chunked_array(texts).combine_chunks().dictionary_encode()
        order = pc.array_sort_indices(encoded.dictionary).to_numpy()
        ids = encoded.dictionary.take(order).to_numpy(zero_copy_only=False)
        indices = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes = np.where(indices >= 0, rank[indices.clip(0)] if len(rank) else -1, -1)
        n_links = len(texts[0])
        seller_code = None
        if len(cols) > 1:
            seller_code = np.full(len(cols[1]), -1, dtype=np.int64)
            seller_code[rows[1]] = codes[n_links:]
        return cls(ids, codes[:n_links], seller_code, n_sellers or len(ids))

    def column(self, sellers: pd.DataFrame | None, name: str) -> pd.Series | None:
        """Seller table column ``name`` aligned to ``ids`` (the first row of each seller;
        missing sellers null); None without that column."""
        if sellers is None or self.seller_code is None or name not in sellers.columns:
            return None
        rows = np.full(len(self.ids), -1, dtype=np.int64)
        code = self.seller_code
        ok = np.flatnonzero(code >= 0)
        rows[code[ok][::-1]] = ok[::-1]  # the first row wins
        values = sellers[name].reset_index(drop=True)
        present = rows >= 0
        out = values.iloc[np.where(present, rows, 0)].reset_index(drop=True)
        return out.where(pd.Series(present), None) if not present.all() else out


def _to_ns(series: pd.Series | None, n: int) -> np.ndarray:
    """Timestamps as float nanoseconds since the epoch (UTC for zoned values), NaN for nulls."""
    if series is None:
        return np.full(n, np.nan)
    t = pd.to_datetime(pd.Series(series).reset_index(drop=True), errors="coerce", utc=True)
    raw = t.dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    out = raw.astype(float)
    out[raw == np.iinfo(np.int64).min] = np.nan
    return out


def _seller_attributes(
    sellers: pd.DataFrame | None, index: SellerIndex
) -> dict[str, pd.Series | None]:
    """The seller columns the summaries use, aligned to the seller codes."""
    return {c: index.column(sellers, c) for c in SELLER_ATTRIBUTE_COLUMNS[1:]}


def log10_range_p(k: np.ndarray, span: np.ndarray) -> np.ndarray:
    """``log10 P(range of k independent U(0, 1) draws <= span)``, i.e. of
    ``k span^(k-1) - (k-1) span^k``, computed in logs (spans floored at 1e-300)."""
    k = np.asarray(k, dtype=float)
    r = np.clip(np.asarray(span, dtype=float), 1e-300, 1.0)
    return ((k - 1.0) * np.log(r) + np.log(k - (k - 1.0) * r)) / _LN10


def _share_z(n_sellers: np.ndarray, type_code: np.ndarray) -> np.ndarray:
    """Robust z-score of log(n_sellers) within each signal type (:func:`share_scales` of the
    values' share counts)."""
    counts = pd.DataFrame({"t": type_code, "k": n_sellers}).value_counts().reset_index()
    n_types = int(type_code.max(initial=-1)) + 1
    median, scale = share_scales(
        counts["t"].to_numpy(), counts["k"].to_numpy(), counts["count"].to_numpy(), n_types
    )
    return share_z(n_sellers, type_code, median, scale)


def _weighted_median(x: np.ndarray, count: np.ndarray) -> float:
    """Median of the values ``x`` repeated ``count`` times (the mean of the two middle ones
    for an even total)."""
    order = np.argsort(x, kind="stable")
    x, cum = x[order], np.cumsum(count[order])
    total = int(cum[-1])
    lo = x[np.searchsorted(cum, (total - 1) // 2 + 1)]
    hi = x[np.searchsorted(cum, total // 2 + 1)]
    return float((lo + hi) / 2.0)


def share_scales(
    type_code: np.ndarray, n_sellers: np.ndarray, count: np.ndarray, n_types: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per signal type, from how many of its values are shared by how many sellers (``count``
    values of type ``type_code`` held by ``n_sellers``; a small table on any marketplace): the
    median of log(n_sellers) and its robust scale, the scaled MAD floored at the scaled
    smallest non-zero deviation (share counts are integers: when most values of a type are
    shared by exactly two sellers the MAD is 0, and the next possible count sets the scale)."""
    median, scale = np.zeros(n_types), np.zeros(n_types)
    x = np.log(np.asarray(n_sellers, dtype=float))
    count = np.asarray(count, dtype=np.int64)
    for t in range(n_types):
        rows = np.flatnonzero(type_code == t)
        if rows.size == 0:
            continue
        median[t] = _weighted_median(x[rows], count[rows])
        deviation = np.abs(x[rows] - median[t])
        mad = _weighted_median(deviation, count[rows])
        positive = deviation[deviation > 0]
        smallest = positive.min() if positive.size else 0.0
        scale[t] = 1.4826 * max(mad, smallest)
    return median, scale


def share_z(
    n_sellers: np.ndarray, type_code: np.ndarray, median: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """Robust z-score of log(n_sellers) within each signal type: distance from the type's
    median in units of its scale (:func:`share_scales`); 0 when all are shared alike."""
    x = np.log(np.asarray(n_sellers, dtype=float))
    s = scale[type_code]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, (x - median[type_code]) / s, 0.0)


def share_class(n_sellers: np.ndarray) -> np.ndarray:
    """Share-count class of a value: 0 for 2-3 sellers, 1 for 4-7, 2 for 8-15, ..."""
    return np.floor(np.log2(np.maximum(n_sellers, 2))).astype(np.int64) - 1


def log10_window_lr(k: np.ndarray, span: np.ndarray, resolution: float) -> np.ndarray:
    """log10 likelihood ratio of ``k`` arrival positions spanning ``span`` on the arrival clock:
    a ring whose members arrive uniformly within a window of unknown length ``s`` (log-uniform
    between ``resolution`` and the whole clock) against independent arrival (uniform).

    With ``p`` the range test's p-value (:func:`log10_range_p`) and ``L = ln(1/resolution)``,
    the ratio is ``(1 - p) span^(1-k) / (k (k-1) L (1 - span))``: about ``1 / ((k-1) L p)`` for
    close arrivals, and towards 0 as the span nears the whole clock (independent sellers, a
    public place). Spans below ``resolution`` count as ``resolution``; NaN spans stay NaN.
    """
    k = np.asarray(k, dtype=float)
    span = np.asarray(span, dtype=float)
    eps = np.clip(1.0 - np.maximum(span, resolution), 1e-12, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # 1 - p = 1 - r^(k-1) (1 + (k-1) eps), in logs to keep its digits as r nears 1.
        log_r_k = (k - 1.0) * np.log1p(-eps) + np.log1p((k - 1.0) * eps)
        log_one_minus_p = np.log(-np.expm1(np.minimum(log_r_k, -1e-300)))
        log_lr = (
            log_one_minus_p
            + (1.0 - k) * np.log1p(-eps)
            - np.log(k * (k - 1.0))
            - np.log(np.log(1.0 / resolution))
            - np.log(eps)
        )
    return np.where(np.isnan(span), np.nan, log_lr / _LN10)


@dataclass
class LogOdds:
    """Stage 1 log10 odds (ring against innocent) per value."""

    type_only: np.ndarray  # the prior of the value's type and share class in this marketplace
    value: np.ndarray  # with the value's own arrivals


def value_log_odds(
    type_code: np.ndarray, share: np.ndarray, log10_lr: np.ndarray, p: SyndicateParams
) -> LogOdds:
    """Empirical-Bayes log10 odds that each value is a ring's rather than innocently shared.

    The values of one signal type and share class (a *cell*) are a mixture of innocent values
    (independent arrivals) and ring values (the window model of :func:`log10_window_lr`); the
    cell's innocent share ``pi0`` is fitted by EM on the values' likelihood ratios, shrunk
    towards the share class's over all types, and that towards 1 (all innocent), by
    ``prior_values`` pseudo-values each, so a class with few values says little. A value's
    odds are the cell's prior odds ``(1 - pi0) / pi0`` times its own likelihood ratio (values
    without a time: the prior odds). Without any time all odds are 1 (log 0).
    """
    n = len(type_code)
    timed = ~np.isnan(log10_lr)
    if not timed.any():
        return LogOdds(np.zeros(n), np.zeros(n))
    n_classes = int(share.max()) + 1
    n_types = int(type_code.max()) + 1
    cell = type_code * n_classes + share
    n_cells = n_types * n_classes
    ln_lr = np.clip(log10_lr[timed], -300, 300) * _LN10

    def innocent_sums(prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        innocent = innocent_weight(prior[cell[timed]] + ln_lr)
        by_class = np.bincount(share[timed], weights=innocent, minlength=n_classes)
        return np.bincount(cell[timed], weights=innocent, minlength=n_cells), by_class

    type_only = cell_log_odds(
        np.bincount(cell[timed], minlength=n_cells).astype(float),
        np.bincount(share[timed], minlength=n_classes).astype(float),
        innocent_sums,
        p,
    )[cell]
    return LogOdds(type_only, value_evidence(type_only, log10_lr, p))


def innocent_weight(log_odds: np.ndarray) -> np.ndarray:
    """The posterior innocent share of a value at natural-log odds ``log_odds`` (ring
    against innocent), the E step of :func:`cell_log_odds`."""
    return 1.0 / (1.0 + np.exp(np.clip(log_odds, -700, 700)))


def cell_log_odds(m_cell: np.ndarray, m_class: np.ndarray, innocent_sums, p) -> np.ndarray:
    """The EM fit of :func:`value_log_odds`: per cell (``type_code * n_classes + share
    class``), the log10 prior odds ``(1 - pi0) / pi0``, capped at ``evidence_cap``.

    Args:
        m_cell, m_class: timed values per cell and per share class.
        innocent_sums: ``prior -> (by_cell, by_class)``, the summed :func:`innocent_weight`
            of the timed values at the natural-log prior odds ``prior`` of their cell plus their
            own log likelihood ratio, per cell and per share class (numpy on one machine, an
            aggregation on Spark: the per-cell sums are all the fit needs).
        p: settings (``prior_values``, ``evidence_cap``).
    """
    n_classes = len(m_class)
    class_of_cell = np.tile(np.arange(n_classes), len(m_cell) // n_classes)
    c = p.prior_values
    pi0_cell = np.full(len(m_cell), 0.5)
    for _ in range(50):
        by_cell, by_class = innocent_sums(np.log((1.0 - pi0_cell) / pi0_cell))
        pi0_class = (by_class + c) / (m_class + c)
        updated = (by_cell + c * pi0_class[class_of_cell]) / (m_cell + c)
        updated = np.clip(updated, 1e-12, 1.0 - 1e-12)
        if np.max(np.abs(updated - pi0_cell)) < 1e-6:
            pi0_cell = updated
            break
        pi0_cell = updated
    cap = p.evidence_cap
    return np.clip(np.log10((1.0 - pi0_cell) / pi0_cell), -cap, cap)


def value_evidence(type_only: np.ndarray, log10_lr: np.ndarray, p) -> np.ndarray:
    """A value's evidence: its cell's prior log10 odds plus its own log10 likelihood ratio
    (none without a time), capped at ``evidence_cap``."""
    cap = p.evidence_cap
    return np.clip(type_only + np.nan_to_num(log10_lr, nan=0.0), -cap, cap)


def value_decisions(
    evidence: np.ndarray, type_only: np.ndarray, z: np.ndarray, p
) -> tuple[np.ndarray, np.ndarray]:
    """``(is_binding, is_hub)`` of values with the given evidence, type log-odds and share
    z-score (see the module docstring)."""
    widely_shared = z > p.hub_z
    binding = (evidence > p.value_log_odds) & (~widely_shared | (evidence >= p.group_log_odds))
    hub = ~binding & (widely_shared | (type_only <= p.value_log_odds))
    return binding, hub


# --------------------------------------------------------------------------------------------
# Stage 1: value evidence
# --------------------------------------------------------------------------------------------


@dataclass
class ValueEvidence:
    """Stage 1 output. Links are one row per (seller, value), values one row per shared value
    (codes follow sorted ``(signal_type, signal_value_hash)``)."""

    seller_ids: np.ndarray  # sorted seller ids; link seller codes index into it
    link_seller: np.ndarray
    link_value: np.ndarray
    link_position: np.ndarray  # the seller's arrival position (first use where unknown)
    link_first_ns: np.ndarray  # first observation (float ns, NaN when unknown)
    values: pd.DataFrame  # VALUE_COLUMNS
    weight: np.ndarray  # per value: evidence above value_log_odds (pair weight), 0 if unbound
    tie_rate: float  # chance that a seller holds a binding value of some type (summed over types)
    household: np.ndarray | None = None  # per value: household type (stage 2, when computed)

    @property
    def binding(self) -> np.ndarray:
        return self.values["is_binding"].to_numpy(dtype=bool)

    @property
    def evidence(self) -> np.ndarray:
        return self.values["evidence"].to_numpy(dtype=float)


@dataclass
class _Links:
    """Deduplicated links (one per seller and shared value) and the shared values."""

    seller: np.ndarray  # seller code
    value: np.ndarray  # value code, in sorted (signal_type, signal_value_hash) order
    first_ns: np.ndarray  # earliest first observation (float ns, NaN when unknown)
    signal_type: np.ndarray  # per value
    signal_value_hash: np.ndarray  # per value
    n_sellers: np.ndarray  # per value


def _shared_links(links: pd.DataFrame, index: SellerIndex) -> _Links:
    """One link per seller and value, with its earliest first observation, for values held by
    two or more sellers (rows with a null key are dropped)."""
    required = {"seller_id", "signal_type", "signal_value_hash"}
    missing = sorted(required - set(links.columns))
    if missing:
        raise ValueError(f"links is missing required columns: {missing}")
    type_code, types = pd.factorize(links["signal_type"], sort=True)
    hash_code, hashes = pd.factorize(links["signal_value_hash"], sort=True)
    ok = (index.link_code >= 0) & (type_code >= 0) & (hash_code >= 0)
    n_hashes = max(len(hashes), 1)
    key = type_code[ok].astype(np.int64) * n_hashes + hash_code[ok]
    first = _to_ns(links.get("first_observed_at"), len(links))[ok]
    n_keys = max(len(types), 1) * n_hashes
    pair, link = np.unique(index.link_code[ok] * n_keys + key, return_inverse=True)
    first_ns = np.full(len(pair), np.nan)
    np.fmin.at(first_ns, link, first)
    seller, key = pair // n_keys, pair % n_keys
    held_keys, value, n_sellers = np.unique(key, return_inverse=True, return_counts=True)
    shared = n_sellers[value] >= 2
    kept = np.flatnonzero(n_sellers >= 2)
    renumber = np.full(len(held_keys), -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    value = renumber[value[shared]]
    order = np.lexsort((seller[shared], value))
    held_keys = held_keys[kept]
    return _Links(
        seller=seller[shared][order],
        value=value[order],
        first_ns=first_ns[shared][order],
        signal_type=np.asarray(types, dtype=object)[held_keys // n_hashes],
        signal_value_hash=np.asarray(hashes, dtype=object)[held_keys % n_hashes],
        n_sellers=n_sellers[kept],
    )


def _registration_positions(
    sellers: pd.DataFrame | None, index: SellerIndex
) -> tuple[np.ndarray, np.ndarray]:
    """The marketplace's arrival clock (sorted registration times, onboarding where
    registration is missing) and each seller's position on it (NaN when unknown)."""
    n = len(index.ids)
    if sellers is None or index.seller_code is None:
        return np.empty(0), np.full(n, np.nan)
    reg = _to_ns(sellers.get("registered_at"), len(sellers))
    onb = _to_ns(sellers.get("onboarded_at"), len(sellers))
    arrival = np.where(np.isnan(reg), onb, reg)
    clock = np.sort(arrival[~np.isnan(arrival)])
    code = index.seller_code
    position = np.full(n, np.nan)
    ok = np.flatnonzero(code >= 0)[::-1]  # the first row of a seller wins
    position[code[ok]] = _positions(clock, arrival[ok])
    return clock, position


def _positions(clock: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Mid-rank empirical CDF of times ``t`` on ``clock`` (NaN stays NaN)."""
    if clock.size == 0:
        return np.full(len(t), np.nan)
    lo = np.searchsorted(clock, t, side="left")
    hi = np.searchsorted(clock, t, side="right")
    return np.where(np.isnan(t), np.nan, (lo + hi) / (2.0 * clock.size))


def range_of(key: np.ndarray, position: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Per ``key`` (0..n_keys-1): how many positions are known (NaN ignored) and their span
    (1 where fewer than two are known)."""
    ok = ~np.isnan(position)
    lo, hi = np.full(n_keys, np.inf), np.full(n_keys, -np.inf)
    np.minimum.at(lo, key[ok], position[ok])
    np.maximum.at(hi, key[ok], position[ok])
    known = np.bincount(key[ok], minlength=n_keys)
    return known, np.where(known >= 2, hi - lo, 1.0)


def range_log_p(key: np.ndarray, position: np.ndarray, n_keys: int) -> np.ndarray:
    """Per ``key``: log10 range-test p-value of its positions; NaN where fewer than two are
    known."""
    known, span = range_of(key, position, n_keys)
    return np.where(known >= 2, log10_range_p(np.maximum(known, 2), span), np.nan)


def score_values(
    links: pd.DataFrame,
    sellers: pd.DataFrame | None = None,
    params: SyndicateParams | None = None,
) -> ValueEvidence:
    """Stage 1: the evidence of every value shared by two or more sellers.

    Args:
        links: one row per ``seller_id, signal_type, signal_value_hash`` (optionally
            ``first_observed_at``); duplicates are merged, values held by one seller dropped.
        sellers: optional seller table; ``registered_at`` (else ``onboarded_at``) gives the
            marketplace's arrival clock and each seller's arrival, and its sellers count in
            the marketplace's size (for the tie rate).
        params: settings.
    """
    return _score_values(links, sellers, SellerIndex.of(links, sellers), params)


def _score_values(
    links: pd.DataFrame,
    sellers: pd.DataFrame | None,
    index: SellerIndex,
    params: SyndicateParams | None = None,
) -> ValueEvidence:
    p = params or SyndicateParams()
    seller_ids = index.ids
    lk = _shared_links(links, index)
    value, link_seller, first_ns = lk.value, lk.seller, lk.first_ns
    clock, arrival_u = _registration_positions(sellers, index)
    if clock.size < 2:
        clock = np.sort(first_ns[~np.isnan(first_ns)])
    u = _positions(clock, first_ns)
    position = np.where(np.isnan(arrival_u[link_seller]), u, arrival_u[link_seller])
    n_values = len(lk.n_sellers)
    k = lk.n_sellers

    first_lo, first_hi = np.full(n_values, np.inf), np.full(n_values, -np.inf)
    timed_first = ~np.isnan(first_ns)
    np.minimum.at(first_lo, value[timed_first], first_ns[timed_first])
    np.maximum.at(first_hi, value[timed_first], first_ns[timed_first])
    span_days = np.where(first_hi >= first_lo, (first_hi - first_lo) / _DAY_NS, np.nan)
    known, span = range_of(value, position, n_values)
    log_p = np.where(known >= 2, log10_range_p(np.maximum(known, 2), span), np.nan)
    resolution = 1.0 / max(clock.size, 2)
    log_lr = np.where(known >= 2, log10_window_lr(np.maximum(known, 2), span, resolution), np.nan)
    type_code = pd.factorize(lk.signal_type, sort=True)[0]
    log_odds = value_log_odds(type_code, share_class(k), log_lr, p)
    evidence = log_odds.value
    z = _share_z(k, type_code)
    binding, hub = value_decisions(evidence, log_odds.type_only, z, p)
    rates = _type_rates(type_code, value, link_seller, binding, index.n_sellers)
    with np.errstate(divide="ignore"):
        surprise = -np.log10(rates[type_code])
    values = pd.DataFrame(
        {
            "signal_type": lk.signal_type,
            "signal_value_hash": lk.signal_value_hash,
            "n_sellers": k,
            "adoption_span_days": span_days,
            "log10_adoption_p": log_p,
            "type_log_odds": log_odds.type_only,
            "evidence": evidence,
            "share_z": z,
            "type_surprise": surprise,
            "is_hub": hub,
            "is_binding": binding,
        }
    )
    return ValueEvidence(
        seller_ids=seller_ids,
        link_seller=link_seller,
        link_value=value,
        link_position=position,
        link_first_ns=first_ns,
        values=values,
        weight=_pair_weight(evidence, binding, p),
        tie_rate=float(rates.sum()),
    )


def _pair_weight(evidence: np.ndarray, binding: np.ndarray, p: SyndicateParams) -> np.ndarray:
    """Pair weight of a value in the community step: its evidence above ``value_log_odds``
    (at least 0.001 for binding values), 0 for values that do not bind."""
    return np.where(binding, np.maximum(evidence - p.value_log_odds, 1e-3), 0.0)


def _type_rates(
    type_code: np.ndarray,
    link_value: np.ndarray,
    link_seller: np.ndarray,
    binding: np.ndarray,
    n_sellers: int,
) -> np.ndarray:
    """Per signal type: the share of the marketplace's sellers holding a binding value of it."""
    n_types = int(type_code.max(initial=-1)) + 1
    n = max(n_sellers, 1)
    sel = binding[link_value]
    pair = np.unique(type_code[link_value[sel]] * n + link_seller[sel])
    return np.bincount(pair // n, minlength=n_types) / n


# --------------------------------------------------------------------------------------------
# Stage 2: candidate groups
# --------------------------------------------------------------------------------------------


def _components(ev: ValueEvidence, values: np.ndarray | None = None) -> np.ndarray:
    """Connected component of each seller in the graph of sellers and the selected values
    (default: the binding ones), labelled by its smallest seller code; -1 for sellers without
    a selected value."""
    n = len(ev.seller_ids)
    sel = (ev.binding if values is None else values)[ev.link_value]
    s, v = ev.link_seller[sel], ev.link_value[sel]
    n_values = len(ev.values)
    graph = sparse.coo_matrix(
        (np.ones(len(s)), (s, n + v)), shape=(n + n_values, n + n_values)
    ).tocsr()
    _, comp = csgraph.connected_components(graph, directed=False)
    comp = comp[:n]
    first = np.full(comp.max(initial=0) + 1, n, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(n))
    linked = np.zeros(n, dtype=bool)
    linked[s] = True
    return np.where(linked, first[comp], -1)


def candidate_groups(ev: ValueEvidence, min_size: int) -> np.ndarray:
    """Stage 2: group of each seller (the smallest seller code of its connected component in
    the graph of sellers and binding values; -1 outside groups of ``min_size`` or more)."""
    comp = _components(ev)
    size = np.bincount(comp[comp >= 0], minlength=len(comp))
    return np.where((comp >= 0) & (size[comp.clip(0)] >= min_size), comp, -1)


def household_types(ev: ValueEvidence, p: SyndicateParams) -> np.ndarray:
    """Stage 2: per value, whether its signal type is one households share in this
    marketplace: a value of the type ties at least ``household_type_share`` of its
    *single-tie groups*, the groups of at most ``household_size`` sellers tied by values of at
    most that many holders (whatever their evidence) in which one value is held by all."""
    k = ev.values["n_sellers"].to_numpy()
    small = k <= p.household_size
    comp = _components(ev, small)
    sel = small[ev.link_value]
    s, v = ev.link_seller[sel], ev.link_value[sel]
    c = comp[s]
    n = len(ev.seller_ids)
    size = np.bincount(comp[comp >= 0], minlength=n)
    widest = np.zeros(n, dtype=np.int64)
    np.maximum.at(widest, c, k[v])
    single = (size[c] <= p.household_size) & (widest[c] >= size[c])
    type_code, type_names = pd.factorize(ev.values["signal_type"], sort=True)
    n_types = max(len(type_names), 1)
    n_groups = len(np.unique(c[single]))
    with_type = np.unique(c[single] * n_types + type_code[v[single]]) % n_types
    share = np.bincount(with_type, minlength=n_types) / max(n_groups, 1)
    return (share >= p.household_type_share)[type_code]


# --------------------------------------------------------------------------------------------
# Stage 3: communities and the group decision
# --------------------------------------------------------------------------------------------


def _run_starts(sorted_key: np.ndarray) -> np.ndarray:
    if sorted_key.size == 0:
        return np.empty(0, np.int64)
    return np.r_[0, np.flatnonzero(np.diff(sorted_key)) + 1]


def _pairs_in_groups(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs (i, j), i < j, inside consecutive runs of the given sizes."""
    sizes = sizes.astype(np.int64)
    total = int(sizes.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    pos = np.arange(total, dtype=np.int64)
    local = pos - np.repeat(offsets, sizes)
    partners = np.repeat(sizes, sizes) - local - 1
    left = np.repeat(pos, partners)
    step = np.arange(left.size, dtype=np.int64) - np.repeat(
        np.cumsum(partners) - partners, partners
    )
    return left, left + step + 1


def pair_rows(seller: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of holders of each value: ``(a, b, row)`` with seller codes ``a < b`` and the
    row of the pair's value in the inputs (``seller`` / ``value`` are per link).

    Quadratic in the holders of each value only: callers pass binding values (hubs never bind).
    """
    order = np.lexsort((seller, value))
    s, v = seller[order], value[order]
    left, right = _pairs_in_groups(np.diff(np.r_[_run_starts(v), v.size]))
    a, b = s[left], s[right]
    return np.minimum(a, b), np.maximum(a, b), order[left]


def reduce_pairs(
    a: np.ndarray, b: np.ndarray, n_sellers: int, **columns: tuple[np.ndarray, str]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Distinct pairs ``(a, b)`` with each ``column=(values, how)`` reduced per pair
    (``how``: ``sum`` or ``or``)."""
    key = a * n_sellers + b
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = _run_starts(key)
    out = {}
    for name, (values, how) in columns.items():
        ufunc = np.add if how == "sum" else np.bitwise_or
        out[name] = ufunc.reduceat(values[order], first) if first.size else values[:0]
    return key[first] // n_sellers, key[first] % n_sellers, out


def _leiden(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, p: SyndicateParams):
    """Leiden communities (modularity at ``p.resolution``, iterated until stable) of one
    group's seller graph, with igraph's own Leiden and a generator seeded for this call only,
    so the same group always gives the same communities."""
    import random

    import igraph as ig

    graph = ig.Graph(n=n, edges=np.column_stack([a, b]).tolist(), directed=False)
    ig.set_random_number_generator(random.Random(p.seed))
    try:
        parts = graph.community_leiden(
            objective_function="modularity",
            weights=w.tolist(),
            resolution=p.resolution,
            n_iterations=-1,
        )
    finally:
        ig.set_random_number_generator(random)
    return np.asarray(parts.membership, dtype=np.int64)


def _merge_back(
    part: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray, share: float
) -> np.ndarray:
    """Merge Leiden parts tied to each other (summed pair weights between them) at least
    ``share`` times as strongly as the weaker part's members are tied inside it (its inside
    pair weights per member), with union-find, strongest ties first. A chain's segments are
    tied by one link like those inside them and merge; rings touching through one tie, whose
    members each hold several ties inside, do not."""
    n_parts = int(part.max()) + 1
    if n_parts == 1:
        return part
    size = np.bincount(part, minlength=n_parts)
    inside = part[a] == part[b]
    per_member = np.bincount(part[a[inside]], weights=w[inside], minlength=n_parts) / size
    pa_, pb_ = np.minimum(part[a], part[b])[~inside], np.maximum(part[a], part[b])[~inside]
    keys, where = np.unique(pa_ * n_parts + pb_, return_inverse=True)
    between = np.bincount(where, weights=w[~inside], minlength=len(keys))
    parent = list(range(n_parts))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for rank in np.lexsort((keys, -between)):
        i, j, weight = int(keys[rank] // n_parts), int(keys[rank] % n_parts), between[rank]
        if weight >= share * min(per_member[i], per_member[j]):
            ri, rj = root(i), root(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    return np.array([root(x) for x in range(n_parts)], dtype=np.int64)[part]


def _split_group(
    seller: np.ndarray, value: np.ndarray, weight: np.ndarray, p: SyndicateParams
) -> np.ndarray:
    """Community label (smallest member code) of each seller code ``0..n-1`` of one group,
    from its links (local seller codes, value codes, the values' pair weights)."""
    n = int(seller.max()) + 1
    a, b, row = pair_rows(seller, value)
    a, b, red = reduce_pairs(a, b, n, w=(weight[row], "sum"))
    part = _merge_back(_leiden(n, a, b, red["w"], p), a, b, red["w"], p.merge_share)
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, part, np.arange(n))
    return first[part]


def _communities(
    group: np.ndarray, seller: np.ndarray, value: np.ndarray, weight: np.ndarray, n: int, p
) -> np.ndarray:
    """Community label (smallest member's seller code) of every seller code ``0..n-1`` (-1
    outside groups): a group smaller than ``leiden_min_size`` is one community, larger ones are
    split (per link: ``group`` label, seller and value codes, value weight)."""
    label = np.full(n, -1, dtype=np.int64)
    label[seller] = group
    size = np.bincount(label[label >= 0], minlength=n)
    big = size[group] >= p.leiden_min_size
    if not big.any():
        return label
    order = np.flatnonzero(big)[np.argsort(group[big], kind="stable")]
    bounds = np.r_[_run_starts(group[order]), len(order)]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[lo:hi]
        codes, local = np.unique(seller[rows], return_inverse=True)
        local_label = _split_group(local, value[rows], weight[rows], p)
        label[codes] = codes[local_label]
    return label


@dataclass
class CommunityEvidence:
    """Per community label (a seller code; arrays of the number of seller codes)."""

    size: np.ndarray
    values: np.ndarray  # summed positive evidence of the values two or more members share
    structure: np.ndarray
    extra_ties: np.ndarray
    log10_p: np.ndarray  # range test of the members' arrival positions (NaN: unknown)
    household: np.ndarray
    widest: np.ndarray  # most members holding one shared value

    @property
    def evidence(self) -> np.ndarray:
        return self.values + self.structure

    def is_syndicate(self, p: SyndicateParams) -> np.ndarray:
        return (self.size >= p.min_size) & (self.evidence >= p.group_log_odds) & ~self.household


def community_evidence(
    label: np.ndarray,
    seller: np.ndarray,
    value: np.ndarray,
    evidence: np.ndarray,
    household_type: np.ndarray,
    tie_rate: float,
    position: np.ndarray,
    p: SyndicateParams,
) -> CommunityEvidence:
    """The evidence of every community at once (see the module docstring); each community's
    figures depend on its own links only.

    Args:
        label: community label per seller code (-1 outside communities).
        seller, value, evidence, household_type: per binding link (value codes, the value's
            evidence, and whether its type is one households share: :func:`household_types`).
        tie_rate: the chance that a seller holds a binding value of some type.
        position: arrival position per seller code (NaN when unknown).
    """
    n = len(label)
    comm = label[seller]
    inside = comm >= 0
    seller, value, comm = seller[inside], value[inside], comm[inside]
    n_values = max(int(value.max(initial=-1)) + 1, 1)
    key, link_key, holders = np.unique(
        comm * n_values + value, return_inverse=True, return_counts=True
    )
    key_comm = key // n_values
    key_e, key_home = np.zeros(len(key)), np.zeros(len(key), dtype=bool)
    key_e[link_key], key_home[link_key] = evidence[inside], household_type[inside]
    shared = holders >= 2
    members = np.flatnonzero(label >= 0)
    size = np.bincount(label[members], minlength=n)
    values = np.bincount(key_comm[shared], weights=np.maximum(key_e[shared], 0.0), minlength=n)
    widest = np.zeros(n, dtype=np.int64)
    np.maximum.at(widest, key_comm[shared], holders[shared])
    other = np.bincount(key_comm[shared & ~key_home], minlength=n)  # values of other types
    extra = _extra_ties(seller, link_key, holders, shared, n)
    extra_ties = np.bincount(label[members], weights=extra[members], minlength=n)
    structure = _structure_log_lr(extra_ties, size, tie_rate)
    log_p = range_log_p(label[members], position[members], n)
    household = (size <= p.household_size) & (widest >= size) & (other == 0)
    return CommunityEvidence(size, values, structure, extra_ties, log_p, household, widest)


def _extra_ties(
    seller: np.ndarray, link_key: np.ndarray, holders: np.ndarray, shared: np.ndarray, n: int
) -> np.ndarray:
    """Per seller code: the number of separate ties beyond the first, a tie being a shared
    value whose holders (in the community) are not contained in another shared value's."""
    on_shared = shared[link_key]
    s_seller, s_key = seller[on_shared], link_key[on_shared]
    a, b, _ = pair_rows(s_key, s_seller)
    a, b, red = reduce_pairs(a, b, len(holders), both=(np.ones(len(a), dtype=np.int64), "sum"))
    both = red["both"]
    contained = np.zeros(len(holders), dtype=bool)
    contained[b[(both == holders[b]) & (holders[a] >= holders[b])]] = True
    contained[a[(both == holders[a]) & (holders[b] > holders[a])]] = True
    ties = np.bincount(s_seller[~contained[s_key]], minlength=n)
    return np.maximum(ties - 1, 0)


def _structure_log_lr(extra_ties: np.ndarray, size: np.ndarray, tie_rate: float) -> np.ndarray:
    """log10 Bayes factor, floored at 0, of ``extra_ties`` separate extra ties in a community
    of ``size`` members: a ring's count is taken as anything from 0 to ``size`` alike (its
    members may share one value or each hold several ties: a star's centre, a chain's links),
    independent sellers' as Poisson with mean ``size * tie_rate`` (each member holding a
    further binding value by coincidence). 0 unless there are more extra ties than that mean:
    fewer is no evidence of a ring."""
    from scipy.stats import poisson

    out = np.zeros(len(size))
    expected = size * tie_rate
    some = np.flatnonzero(extra_ties > expected)
    x, m = np.minimum(extra_ties[some], size[some]), size[some]
    log10_null = poisson.logpmf(x, np.maximum(expected[some], 1e-12)) / _LN10
    out[some] = np.maximum(-np.log10(m + 1.0) - log10_null, 0.0)
    return out


def _seller_positions(n: int, seller: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Per seller code: its earliest link position (NaN when none is known)."""
    out = np.full(n, np.nan)
    np.fmin.at(out, seller, position)
    return out


def cluster_group(group: pd.DataFrame, params: SyndicateParams | None = None) -> pd.DataFrame:
    """Stage 3: the syndicates inside one candidate group. A pure function of the group.

    Args:
        group: the group's binding links, :data:`GROUP_COLUMNS`: ``seller_id, value`` (any
            sortable value key), the value's ``evidence`` and ``household_type``, the
            marketplace's ``tie_rate`` (stage 1; the same on every row) and the seller's
            arrival ``position`` (NaN: unknown).
        params: settings.

    Returns:
        One row per seller of the group, sorted by ``seller_id``: ``seller_id``,
        ``community`` (the smallest seller id of the seller's community), ``is_syndicate``,
        ``evidence`` (the community's, log10 odds) and ``log10_adoption_p`` (the range test
        of its members' arrivals; NaN when fewer than two are known).
    """
    return cluster_groups(group.assign(group=0), params)


def cluster_groups(rows: pd.DataFrame, params: SyndicateParams | None = None) -> pd.DataFrame:
    """Stage 3 over many groups: :func:`cluster_group` applied to each ``group`` of ``rows``
    (columns ``group`` plus :data:`GROUP_COLUMNS`), concatenated and sorted by seller id; the
    same result however the groups are batched."""
    p = params or SyndicateParams()
    ids, seller = np.unique(rows["seller_id"].to_numpy(), return_inverse=True)
    _, value = np.unique(rows["value"].to_numpy(), return_inverse=True)
    _, group = np.unique(rows["group"].to_numpy(), return_inverse=True)
    n = len(ids)
    evidence = rows["evidence"].to_numpy(float)
    first = np.full(int(group.max(initial=-1)) + 1, n, dtype=np.int64)
    np.minimum.at(first, group, seller)
    weight = _pair_weight(evidence, np.ones(len(evidence), dtype=bool), p)
    label = _communities(first[group], seller, value, weight, n, p)
    tie_rate = rows["tie_rate"].to_numpy(float)
    ce = community_evidence(
        label,
        seller,
        value,
        evidence,
        rows["household_type"].to_numpy(bool),
        float(tie_rate[0]) if len(tie_rate) else 0.0,
        _seller_positions(n, seller, rows["position"].to_numpy(float)),
        p,
    )
    return pd.DataFrame(
        {
            "seller_id": ids,
            "community": ids[label],
            "is_syndicate": ce.is_syndicate(p)[label],
            "evidence": ce.evidence[label],
            "log10_adoption_p": ce.log10_p[label],
        }
    )


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def detect_syndicates(
    links: pd.DataFrame,
    sellers: pd.DataFrame | None = None,
    params: SyndicateParams | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cluster sellers into syndicates from shared identity signals (stages 1-4).

    Args:
        links: one row per ``seller_id, signal_type, signal_value_hash`` (optionally
            ``first_observed_at``). Duplicate rows are merged.
        sellers: seller features; used columns (all optional except ``seller_id``):
            ``registered_at, onboarded_at, is_confirmed_bad, is_enforced, first_activity_at,
            last_activity_at``.
        params: settings; defaults to :class:`SyndicateParams()`.

    Returns:
        ``(seller_syndicates, syndicates)``.

        ``seller_syndicates``: one row per seller in ``links`` or ``sellers``, sorted by
        ``seller_id``: ``seller_id, syndicate_id`` (null when in none),
        ``membership_strength`` (0-1: the seller's summed tie weight to fellow members divided
        by the largest such sum among the members; null outside syndicates), ``n_links``
        (fellow members it shares a binding value with), ``link_weight`` (the summed weight,
        evidence above ``value_log_odds``, of the values it shares with them),
        ``tie_signal_types`` (sorted, comma-separated signal types of those ties),
        ``n_binding_values`` (binding values it shares with fellow members).

        ``syndicates``: one row per syndicate, sorted by ``risk_score`` descending then id
        (see :data:`SYNDICATE_COLUMNS` and :func:`summarize_syndicates`).
    """
    p = params or SyndicateParams()
    index = SellerIndex.of(links, sellers)
    ev = _score_values(links, sellers, index, p)
    syn_of = _syndicate_labels(ev, p)
    return _tables(ev, _seller_attributes(sellers, index), syn_of, p)


def group_rows(ev: ValueEvidence, p: SyndicateParams | None = None) -> pd.DataFrame:
    """The stage 3 input: one row per binding link of a candidate group, columns ``group``
    (the group's smallest seller id) and :data:`GROUP_COLUMNS` (``value`` is the value code)."""
    p = p or SyndicateParams()
    group = candidate_groups(ev, p.min_size)
    sel = ev.binding[ev.link_value] & (group[ev.link_seller] >= 0)
    s, v = ev.link_seller[sel], ev.link_value[sel]
    position = _seller_positions(len(ev.seller_ids), ev.link_seller, ev.link_position)
    return pd.DataFrame(
        {
            "group": ev.seller_ids[group[s]],
            "seller_id": ev.seller_ids[s],
            "value": v,
            "evidence": ev.evidence[v],
            "household_type": _household(ev, p)[v],
            "tie_rate": ev.tie_rate,
            "position": position[s],
        }
    )


def _syndicate_labels(ev: ValueEvidence, p: SyndicateParams) -> np.ndarray:
    """Stages 2 and 3 on the codes of ``ev``: each seller's syndicate label (its smallest
    member's seller code; -1 outside syndicates). The same as :func:`cluster_groups` on
    :func:`group_rows`."""
    n = len(ev.seller_ids)
    group = candidate_groups(ev, p.min_size)
    sel = ev.binding[ev.link_value] & (group[ev.link_seller] >= 0)
    s, v = ev.link_seller[sel], ev.link_value[sel]
    label = _communities(group[s], s, v, ev.weight[v], n, p)
    syndicate = _evidence_of(ev, label, p).is_syndicate(p)
    return np.where((label >= 0) & syndicate[label.clip(0)], label, -1)


def _evidence_of(ev: ValueEvidence, label: np.ndarray, p: SyndicateParams) -> CommunityEvidence:
    """:func:`community_evidence` of the communities ``label`` (per seller code) of ``ev``."""
    n = len(ev.seller_ids)
    sel = ev.binding[ev.link_value] & (label[ev.link_seller] >= 0)
    s, v = ev.link_seller[sel], ev.link_value[sel]
    position = _seller_positions(n, ev.link_seller, ev.link_position)
    home = _household(ev, p)
    return community_evidence(label, s, v, ev.evidence[v], home[v], ev.tie_rate, position, p)


def _household(ev: ValueEvidence, p: SyndicateParams) -> np.ndarray:
    """:func:`household_types` of ``ev``, computed once."""
    if ev.household is None:
        ev.household = household_types(ev, p)
    return ev.household


def summarize_syndicates(
    links: pd.DataFrame,
    sellers: pd.DataFrame | None,
    seller_syndicates: pd.DataFrame,
    params: SyndicateParams | None = None,
) -> pd.DataFrame:
    """The ``syndicates`` table of :func:`detect_syndicates`, from its ``seller_syndicates``
    output and the same ``links``, ``sellers`` and ``params``, without clustering again (the
    value evidence, a linear pass, is recomputed).

    Args:
        links, sellers, params: as given to :func:`detect_syndicates`.
        seller_syndicates: its seller-level output; used columns ``seller_id, syndicate_id``
            (sellers outside syndicates may be left out).
    """
    p = params or SyndicateParams()
    required = {"seller_id", "syndicate_id"}
    missing = sorted(required - set(seller_syndicates.columns))
    if missing:
        raise ValueError(f"seller_syndicates is missing required columns: {missing}")
    members = seller_syndicates.loc[seller_syndicates["syndicate_id"].notna(), list(required)]
    if members.empty:
        return _empty(SYNDICATE_COLUMNS)
    index = SellerIndex.of(links, sellers, linked_only=True)
    member_ids = members["seller_id"].to_numpy(dtype=object)
    code = np.searchsorted(index.ids, member_ids).clip(0, max(len(index.ids) - 1, 0))
    found = (len(index.ids) > 0) & (index.ids[code] == member_ids) if len(code) else code >= 0
    if not np.all(found):
        unknown = member_ids[~found][:3].tolist()
        raise ValueError(f"seller_syndicates has members absent from links and sellers: {unknown}")
    ev = _score_values(links, sellers, index, p)
    first = pd.Series(code).groupby(members["syndicate_id"].to_numpy()).transform("min")
    syn_of = np.full(len(index.ids), -1, dtype=np.int64)
    syn_of[code] = first.to_numpy()
    return _tables(ev, _seller_attributes(sellers, index), syn_of, p)[1]


# --------------------------------------------------------------------------------------------
# Stage 4: summaries
# --------------------------------------------------------------------------------------------


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass
class _Inside:
    """Binding links and seller pairs inside syndicates (codes are seller codes)."""

    seller: np.ndarray
    value: np.ndarray
    syn: np.ndarray  # syndicate code (smallest member) per link
    a: np.ndarray
    b: np.ndarray
    w: np.ndarray  # summed pair weight (evidence above value_log_odds) of the values shared
    type_bits: np.ndarray  # bit set of the signal types each pair shares


def _inside(ev: ValueEvidence, syn_of: np.ndarray) -> _Inside:
    n = len(ev.seller_ids)
    syn = syn_of[ev.link_seller]
    sel = (syn >= 0) & ev.binding[ev.link_value]
    s, v, g = ev.link_seller[sel], ev.link_value[sel], syn[sel]
    # Values held by two or more members of the same syndicate; a value split across
    # syndicates pairs members of the same syndicate only.
    n_values = max(len(ev.values), 1)
    g_value = g * n_values + v
    shared = pd.Series(g_value).groupby(g_value).transform("size").to_numpy() >= 2
    s, v, g, g_value = s[shared], v[shared], g[shared], g_value[shared]
    a, b, row = pair_rows(s, g_value)
    type_code = pd.factorize(ev.values["signal_type"], sort=True)[0]
    bits = np.left_shift(np.int64(1), type_code[v[row]].astype(np.int64))
    a, b, red = reduce_pairs(a, b, n, w=(ev.weight[v[row]], "sum"), bits=(bits, "or"))
    return _Inside(s, v, g, a, b, red["w"], red["bits"])


def _bit_labels(bits: np.ndarray, type_names: list[str]) -> np.ndarray:
    uniq, inv = np.unique(bits, return_inverse=True)
    labels = []
    for u in uniq:
        labels.append(",".join(t for i, t in enumerate(type_names) if (int(u) >> i) & 1) or None)
    return np.array(labels, dtype=object)[inv]


def _tables(ev: ValueEvidence, attrs: dict, syn_of: np.ndarray, p: SyndicateParams):
    n = len(ev.seller_ids)
    ins = _inside(ev, syn_of)
    in_syn = syn_of >= 0
    link_weight = np.bincount(ins.a, weights=ins.w, minlength=n) + np.bincount(
        ins.b, weights=ins.w, minlength=n
    )
    n_links = np.bincount(ins.a, minlength=n) + np.bincount(ins.b, minlength=n)
    seller_bits = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(seller_bits, ins.a, ins.type_bits)
    np.bitwise_or.at(seller_bits, ins.b, ins.type_bits)
    max_in_syn = np.zeros(n)
    np.maximum.at(max_in_syn, np.where(in_syn, syn_of, 0), np.where(in_syn, link_weight, 0.0))
    denominator = np.where(in_syn, max_in_syn[syn_of.clip(0)], 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = np.where(
            in_syn, np.where(denominator > 0, link_weight / denominator, 1.0), np.nan
        )
    type_names = sorted(ev.values["signal_type"].unique().tolist())
    syn_ids = np.full(n, None, dtype=object)
    codes = np.unique(syn_of[in_syn])
    syn_ids[codes] = [f"{p.id_prefix}{x}" for x in ev.seller_ids[codes]]
    seller_syndicates = pd.DataFrame(
        {
            "seller_id": ev.seller_ids,
            "syndicate_id": np.where(in_syn, syn_ids[syn_of.clip(0)], None),
            "membership_strength": strength,
            "n_links": np.where(in_syn, n_links, 0).astype(np.int64),
            "link_weight": np.where(in_syn, link_weight, 0.0),
            "tie_signal_types": np.where(in_syn, _bit_labels(seller_bits, type_names), None),
            "n_binding_values": np.bincount(ins.seller, minlength=n).astype(np.int64),
        }
    )
    syndicates = _syndicate_table(ev, attrs, syn_of, strength, ins, syn_ids, p)
    return seller_syndicates, syndicates


def _shapes(ins: _Inside, syn_codes: np.ndarray, size: np.ndarray, n: int) -> np.ndarray:
    """Shape of each syndicate from its graph (see the module docstring)."""
    k = len(syn_codes)
    loc_of = np.full(n, -1, dtype=np.int64)
    loc_of[syn_codes] = np.arange(k)
    # dense: one value held by every member.
    holders = pd.DataFrame({"g": loc_of[ins.syn], "v": ins.value}).groupby(["g", "v"]).size()
    widest = holders.groupby(level="g").max().reindex(range(k), fill_value=0).to_numpy()
    # degrees of members within their syndicate
    degree = np.bincount(ins.a, minlength=n) + np.bincount(ins.b, minlength=n)
    member_syn = np.full(n, -1, dtype=np.int64)
    member_syn[ins.seller] = loc_of[ins.syn]
    g_edge = member_syn[ins.a] if len(ins.a) else np.empty(0, np.int64)
    n_edges = np.bincount(g_edge, minlength=k)
    members = np.flatnonzero(member_syn >= 0)
    max_deg = np.zeros(k, dtype=np.int64)
    np.maximum.at(max_deg, member_syn[members], degree[members])
    # star: a centre tied to all others, the others tied to less than half their pairs
    rest_edges = n_edges - max_deg
    rest_pairs = np.maximum((size - 1) * (size - 2) / 2.0, 1.0)
    shape = np.full(k, "partial_overlap", dtype=object)
    shape[max_deg <= 2] = "chain"
    star = (max_deg == size - 1) & (rest_edges < 0.5 * rest_pairs)
    shape[star] = "star"
    shape[widest >= size] = "dense"
    return shape


@dataclass(frozen=True)
class _Members:
    """The syndicates' members: ``codes`` (seller codes of members), ``syndicate`` (the local
    syndicate index 0..k-1 of each member), ``local_of`` (seller code of a syndicate's first
    member -> local index), and per syndicate its label code and size."""

    codes: np.ndarray
    syndicate: np.ndarray
    local_of: np.ndarray
    labels: np.ndarray
    size: np.ndarray

    @property
    def k(self) -> int:
        return len(self.labels)


def _syndicate_table(ev, attrs, syn_of, strength, ins: _Inside, syn_ids, p: SyndicateParams):
    members = np.flatnonzero(syn_of >= 0)
    if members.size == 0:
        return _empty(SYNDICATE_COLUMNS)
    n = len(ev.seller_ids)
    labels, syndicate = np.unique(syn_of[members], return_inverse=True)
    local_of = np.full(n, -1, dtype=np.int64)
    local_of[labels] = np.arange(len(labels))
    groups = _Members(members, syndicate, local_of, labels, np.bincount(syndicate))
    bad, enforced = (
        _seller_flag(attrs, "is_confirmed_bad", n),
        _seller_flag(attrs, "is_enforced", n),
    )
    n_bad = np.bincount(syndicate, weights=bad[members], minlength=groups.k).astype(np.int64)
    n_enforced = np.bincount(syndicate, weights=enforced[members], minlength=groups.k).astype(
        np.int64
    )
    n_links, density, mean_weight = _link_statistics(groups, syn_of, ins)
    values = _binding_values(ev, groups, ins, p)
    member_first_use = _first_use_of_shared_values(ev, ins, n)
    first_use = pd.Series(member_first_use[members]).groupby(syndicate)
    span_days = ((first_use.max() - first_use.min()) / _DAY_NS).reindex(range(groups.k)).to_numpy()
    community = _evidence_of(ev, syn_of, p)
    first_activity, last_activity = _activity_window(attrs, groups, member_first_use)
    share_bad = n_bad / groups.size
    out = pd.DataFrame(
        {
            "syndicate_id": syn_ids[labels],
            "size": groups.size.astype(np.int64),
            "n_confirmed_bad": n_bad,
            "share_confirmed_bad": share_bad,
            "n_enforced": n_enforced,
            "n_unenforced_members": (groups.size - n_enforced).astype(np.int64),
            "unenforced_member_ids": _unenforced_ids(ev, groups, syn_of, strength, enforced),
            "shared_signal_summary": values["summary"],
            "n_links": n_links.astype(np.int64),
            "link_density": density,
            "mean_link_weight": mean_weight,
            "first_activity_at": pd.to_datetime(first_activity, unit="ns"),
            "last_activity_at": pd.to_datetime(last_activity, unit="ns"),
            "risk_score": _risk_score(share_bad, density, mean_weight, groups.size, p),
            "shape": _shapes(ins, labels, groups.size, n),
            "n_binding_values": values["count"].astype(np.int64),
            "binding_identifiers": values["identifiers"],
            "adoption_span_days": span_days,
            "adoption_p_value": 10.0 ** community.log10_p[labels],
            "evidence": community.evidence[labels],
        }
    )
    out = out.sort_values(["risk_score", "syndicate_id"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def _seller_flag(attrs: dict, column: str, n: int) -> np.ndarray:
    """A boolean seller column (False where missing or unknown)."""
    if attrs.get(column) is None:
        return np.zeros(n, dtype=bool)
    return attrs[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _link_statistics(groups: _Members, syn_of, ins: _Inside):
    """Per syndicate: ties between members, their density and mean weight."""
    tie_syndicate = groups.local_of[syn_of[ins.a]] if len(ins.a) else np.empty(0, np.int64)
    n_links = np.bincount(tie_syndicate, minlength=groups.k)
    weight = np.bincount(tie_syndicate, weights=ins.w, minlength=groups.k)
    density = n_links / (groups.size * (groups.size - 1) / 2.0)
    mean_weight = np.where(n_links > 0, weight / np.maximum(n_links, 1), 0.0)
    return n_links, density, mean_weight


def _binding_values(ev, groups: _Members, ins: _Inside, p: SyndicateParams) -> dict:
    """Binding values shared by two or more members, per syndicate: their count, counts per
    type (``summary``) and the most widely held ones listed (``identifiers``)."""
    values = (
        pd.DataFrame({"g": groups.local_of[ins.syn], "v": ins.value}).groupby(["g", "v"]).size()
    )
    values = values.rename("holders").reset_index()
    values["type"] = ev.values["signal_type"].to_numpy(dtype=object)[values["v"]]
    values["hash"] = ev.values["signal_value_hash"].to_numpy(dtype=object)[values["v"]]
    per_type = values.groupby(["g", "type"], sort=True).size().rename("n").reset_index()
    per_type = per_type.sort_values(["g", "n", "type"], ascending=[True, False, True])
    summary = (
        (per_type["type"] + ":" + per_type["n"].astype(str)).groupby(per_type["g"]).agg(", ".join)
    )
    values = values.sort_values(
        ["g", "holders", "type", "hash"], ascending=[True, False, True, True]
    )
    values["rank"] = values.groupby("g").cumcount()
    listed = values[values["rank"] < p.max_listed_values]
    text = (
        listed["type"]
        + ":"
        + listed["hash"].astype(str)
        + " ("
        + listed["holders"].astype(str)
        + ")"
    )
    identifiers = text.groupby(listed["g"]).agg("; ".join).reindex(range(groups.k))
    count = values.groupby("g").size().reindex(range(groups.k), fill_value=0).to_numpy()
    more = count - np.minimum(count, p.max_listed_values)
    identifiers = np.where(
        more > 0, identifiers.fillna("") + "; +" + more.astype(str) + " more", identifiers
    )
    return {
        "count": count,
        "summary": summary.reindex(range(groups.k)).to_numpy(dtype=object),
        "identifiers": np.asarray(identifiers, dtype=object),
    }


def _first_use_of_shared_values(ev, ins: _Inside, n: int) -> np.ndarray:
    """Each seller's earliest first use of a binding value it shares with fellow members (ns;
    NaN for the others)."""
    first_use = pd.Series(ev.link_first_ns[_link_rows(ev, ins)]).groupby(ins.seller).min()
    member_first = np.full(n, np.nan)
    member_first[first_use.index.to_numpy()] = first_use.to_numpy()
    return member_first


def _activity_window(attrs: dict, groups: _Members, member_first_use: np.ndarray):
    """First and last activity per syndicate (ns): the seller columns first, registration,
    onboarding and first use of a shared value as fallbacks."""
    n = len(groups.local_of)
    first = _to_ns(attrs.get("first_activity_at"), n)
    for fallback in ("registered_at", "onboarded_at"):
        first = np.where(np.isnan(first), _to_ns(attrs.get(fallback), n), first)
    first = np.where(np.isnan(first), member_first_use, first)
    last = _to_ns(attrs.get("last_activity_at"), n)
    last = np.where(np.isnan(last), member_first_use, last)
    syndicate_first = (
        pd.Series(first[groups.codes]).groupby(groups.syndicate).min().reindex(range(groups.k))
    )
    syndicate_last = (
        pd.Series(last[groups.codes]).groupby(groups.syndicate).max().reindex(range(groups.k))
    )
    return syndicate_first.to_numpy(), syndicate_last.to_numpy()


def _unenforced_ids(ev, groups: _Members, syn_of, strength, enforced) -> np.ndarray:
    """The actionable list: unenforced members' ids, strongest first."""
    unenforced = groups.codes[~enforced[groups.codes]]
    frame = pd.DataFrame(
        {
            "syn": groups.local_of[syn_of[unenforced]],
            "strength": strength[unenforced],
            "code": unenforced,
        }
    )
    frame = frame.sort_values(["syn", "strength", "code"], ascending=[True, False, True])
    frame["sid"] = ev.seller_ids[frame["code"].to_numpy()].astype(str)
    ids = frame.groupby("syn", sort=True)["sid"].agg(",".join).reindex(range(groups.k))
    return ids.to_numpy(dtype=object)


def _risk_score(share_bad, density, mean_weight, size, p: SyndicateParams) -> np.ndarray:
    """0-1: confirmed bad members (55 %), how tightly they are tied (30 %), size (15 %)."""
    bad_signal = np.minimum(1.0, 2.0 * share_bad)
    link_signal = 0.5 * density + 0.5 * np.minimum(1.0, mean_weight / p.evidence_cap)
    size_signal = np.clip(np.log(size / 2.0) / np.log(20.0), 0.0, 1.0)
    return np.clip(0.55 * bad_signal + 0.30 * link_signal + 0.15 * size_signal, 0.0, 1.0)


def _link_rows(ev: ValueEvidence, ins: _Inside) -> np.ndarray:
    """Row of each inside link (seller, value) in the evidence's link arrays."""
    n_values = max(len(ev.values), 1)
    key = ev.link_seller * n_values + ev.link_value
    order = np.argsort(key, kind="stable")
    pos = np.searchsorted(key[order], ins.seller * n_values + ins.value)
    return order[pos]


# Columns of the input of :func:`summarize_syndicate` (one row per binding link of a member).
MEMBER_LINK_COLUMNS = [
    "seller_id",
    "signal_type",
    "signal_value_hash",
    "first_observed_ns",
    "evidence",
    "household_type",
    "tie_rate",
    "position",
]


def summarize_syndicate(
    rows: pd.DataFrame, params: SyndicateParams | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage 4 of one syndicate, a pure function of its members' binding links: its members'
    rows of ``seller_syndicates`` and its row of ``syndicates``, as :func:`detect_syndicates`
    gives them on the whole marketplace (how the summaries are distributed).

    Args:
        rows: one row per member and binding value it holds, :data:`MEMBER_LINK_COLUMNS`
            (``first_observed_ns``: the link's earliest observation in float nanoseconds;
            ``evidence`` and ``household_type``: the value's, stages 1 and 2; ``tie_rate``:
            the marketplace's; ``position``: the seller's arrival position, its earliest over
            all its shared links) plus any seller columns of :data:`SELLER_ATTRIBUTE_COLUMNS`
            (one value per seller).
        params: settings.
    """
    p = params or SyndicateParams()
    ids, seller = np.unique(rows["seller_id"].to_numpy(dtype=object), return_inverse=True)
    keys = pd.MultiIndex.from_arrays([rows["signal_type"], rows["signal_value_hash"]])
    value, uniques = pd.factorize(keys, sort=True)
    first_row = pd.Series(np.arange(len(rows))).groupby(value).first().to_numpy()
    evidence = rows["evidence"].to_numpy(float)[first_row]
    binding = np.ones(len(uniques), dtype=bool)
    values = pd.DataFrame(
        {
            "signal_type": uniques.get_level_values(0).to_numpy(dtype=object),
            "signal_value_hash": uniques.get_level_values(1).to_numpy(dtype=object),
            "evidence": evidence,
            "is_binding": binding,
        }
    )
    ev = ValueEvidence(
        seller_ids=ids,
        link_seller=seller.astype(np.int64),
        link_value=value.astype(np.int64),
        link_position=rows["position"].to_numpy(float),
        link_first_ns=rows["first_observed_ns"].to_numpy(float),
        values=values,
        weight=_pair_weight(evidence, binding, p),
        tie_rate=float(rows["tie_rate"].iloc[0]),
        household=rows["household_type"].to_numpy(bool)[first_row],
    )
    seller_row = pd.Series(np.arange(len(rows))).groupby(seller).first().to_numpy()
    attrs = {
        c: rows[c].iloc[seller_row].reset_index(drop=True) if c in rows.columns else None
        for c in SELLER_ATTRIBUTE_COLUMNS[1:]
    }
    return _tables(ev, attrs, np.zeros(len(ids), dtype=np.int64), p)
