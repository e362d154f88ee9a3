"""Anomaly flags for the daily governance metrics (``metrics_daily``).

Every metric in ``metrics_daily`` is a ratio ``numerator / denominator`` observed per day and
segment (metric x region x category). :func:`detect_metric_anomalies` judges each mature row
against a forecast built only from that series' own past, walking the calendar one day at a
time with every series of every metric side by side:

1. **History excludes the evaluated day.** The forecast for day *t* uses the trailing
   ``window_days`` (level, default 28) and ``7 * season_weeks`` (weekly profile and noise,
   default 56) calendar days strictly before *t*.
2. **Past incidents are left out of the history.** Days already flagged as anomalies are
   excluded from every later window (until flagged days exceed ``max_excluded_share`` of the
   level window: then the series has moved to a new level and the history follows it). On top
   of that, a robust screen drops window days that sit more than ``screen_z`` robust standard
   deviations (binomial noise included) from both their same-weekday median and the window
   median. An incident therefore neither drags the expected value nor inflates the spread, so
   a later incident is not masked. ``history_excluded`` counts the days left out.
3. **Weekly seasonality.** Day-of-week factors are pooled rates per weekday divided by the
   pooled rate of the seasonal window, shrunk towards 1 with a positive-part James-Stein rule
   (a factor is kept only as far as it exceeds its own sampling noise), so non-seasonal series
   are not fitted with noise. The level is the deseasonalised pooled rate of the level window
   and ``expected_value = level * factor(weekday of t)``. Pooled rates carry a small
   Jeffreys-like prior (``prior_events / prior_trials``) so a segment without events in its
   history does not expect exactly zero.
4. **A noise model that knows the denominator.** For proportions the day's numerator is tested
   against a beta-binomial law: binomial noise for *today's* denominator, plus extra-binomial
   day-to-day variation (the intra-class correlation rho, reported as ``overdispersion``),
   plus the uncertainty of the forecast itself. Rho is estimated robustly from the screened
   history, so past level shifts and unflagged incident-like days are not mistaken for noise
   (a huge marketplace-wide denominator makes binomial noise tiny, and an inflated rho would
   hide real moves): the smaller of (a) a moment estimate around a piecewise-constant local
   level (blocks of ``level_block_days``) and (b) a moment estimate from consecutive-day
   differences of the deseasonalised rate (a level shift spoils one difference, not a whole
   block), both with their squared standardised residuals clipped at ``dispersion_clip_z``
   robust (MAD) standard deviations and rescaled for the clipping. The estimate is then
   raised by ``overdispersion_margin`` standard errors (short histories understate noise more
   often than they overstate it). The p-value is the larger (more conservative) of an exact
   binomial tail on the Kish effective sample size ``n / (1 + (n - 1) rho)`` and a Pearson
   type III tail matching the beta-binomial's mean, variance and skewness; with
   ``student_t_guard`` the
   spread is widened by the Student-t / normal quantile ratio at Satterthwaite degrees of
   freedom, for the uncertainty of rho itself. Small segments are thus not flagged for
   binomial noise, rare-event rates not for their skewed day-to-day swings, and huge segments
   not for tiny real drift. A segment with fewer than ``min_dispersion_events`` expected events
   in its noise window cannot measure its own rho: it takes rho pooled over its siblings (same
   metric, same hierarchy level) from their summed Pearson statistics. Series whose values are
   not proportions get a Gaussian model on the value with a ``gaussian_min_relative_scale``
   spread floor, so flat series do not alarm.
5. **Minimum history.** A row is judged only when its level window holds at least
   ``min_history`` days with a positive denominator (and at least half of them survive the
   exclusions); otherwise ``p_value`` is null and ``is_anomaly`` is false.
6. **Runs of days.** For proportions the day is also tested together with the ``run_days - 1``
   days before it (observed against forecast events, forecast errors taken as fully
   correlated); the day's p-value is ``2 * min(p_day, p_run)`` (Bonferroni over the two looks),
   so a lasting shift of a small rate is found although no single day is significant.
7. **False discovery control and materiality.** p-values are adjusted with Benjamini-Hochberg
   per ``metric_date`` and level of the segment hierarchy (marketplace, region, category,
   region x category: ``fdr_by_level``), across all metrics. A row is an anomaly when
   ``q_value <= fdr_alpha`` **and** the move is material: ``|value - expected_value|`` is at
   least ``min_absolute_change`` **and** at least ``min_relative_change * expected_value``.

Severity (``'none'`` when not an anomaly) is the lower of an evidence tier and a magnitude
tier, so a flag needs both strong evidence and a large move to rank high:

* evidence tier from ``|anomaly_score|`` against ``severity_score_cuts`` (default 5, 7, 10);
* magnitude tier from the ratio ``max(value / expected, expected / value)`` against
  ``severity_ratio_cuts`` (default 1.5, 2, 3);
* ``low`` = both tiers >= 0, ``medium`` >= 1, ``high`` >= 2, ``critical`` >= 3.

``anomaly_score`` is the signed normal quantile of the two-sided p-value
(``sign(value - expected) * Phi^-1(1 - p / 2)``, capped at +/-40), so it reads like a z-score
whatever the noise model. ``lower_bound`` / ``upper_bound`` form the band inside which a value
is never flagged: the wider of ``expected +/- band_z`` predictive standard deviations and the
materiality thresholds (clipped to [0, 1] for proportions). The band is for display; flags come
from the exact p-values and the FDR step.

:func:`baseline_mean_3sd` implements the common dbt test (mean +/- 3 sd over a trailing 14-row
window that includes the evaluated point) for comparison.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy
from scipy import stats

from governance.detection._params import params_from_mapping
from governance.detection._stats import (
    MAD_TO_SD,
    benjamini_hochberg_single,
    betabinomial_rate_skewness,
    binomial_two_sided_p,
    nanmedian_last,
    pearson3_two_sided_p,
    winsorized_normal_second_moment,
)

KEY_COLUMNS = ["metric_name", "region", "category"]
# Columns of detect_metric_anomalies, in order.
OUTPUT_COLUMNS = [
    *KEY_COLUMNS,
    "metric_date",
    "value",
    "numerator",
    "denominator",
    "expected_value",
    "lower_bound",
    "upper_bound",
    "anomaly_score",
    "p_value",
    "q_value",
    "is_anomaly",
    "direction",
    "severity",
    "relative_change",
    "history_days",
    "history_excluded",
    "seasonal_factor",
    "overdispersion",
    "method",
    "detector_fingerprint",
]
SEVERITY_LABELS = ("none", "low", "medium", "high", "critical")
METHOD_RATE = "seasonal_robust_betabinomial_v1"
METHOD_GAUSSIAN = "seasonal_robust_gaussian_v1"
BASELINE_METHOD = "trailing14_mean_3sd"

_EPS = 1e-9
_SCORE_CAP = 40.0
_MAX_DF = 1e6
_MIN_CLIP_EVENTS = 5.0


@dataclass(frozen=True)
class AnomalyParams:
    """Tuning of :func:`detect_metric_anomalies` (all settable from dbt vars).

    Attributes:
        window_days: trailing calendar days (excluding the evaluated day) for the level and the
            overdispersion estimate.
        season_weeks: trailing weeks (excluding the evaluated day) for the day-of-week profile;
            the seasonal window is ``7 * max(season_weeks, ceil(window_days / 7))`` days.
        min_history: minimum days with a positive denominator in the level window before a row
            is judged.
        fdr_alpha: Benjamini-Hochberg false discovery rate, applied per ``metric_date`` across
            every series of every metric.
        min_relative_change: materiality, ``|value - expected| >= min_relative_change * expected``.
        min_absolute_change: materiality, ``|value - expected| >= min_absolute_change``
            (both materiality conditions must hold).
        screen_z: history points further than this many robust standard deviations from both
            their same-weekday median and the window median are left out of the history.
        prior_events, prior_trials: pseudo-counts added to pooled rates (a Jeffreys-like prior),
            so a segment with no events in its history does not expect exactly zero.
        max_overdispersion: upper clip of the estimated intra-class correlation rho.
        overdispersion_margin: standard errors added to the moment estimate of rho (an upper
            confidence value), which keeps short histories from understating the noise.
        dispersion_days: trailing days used for the noise estimate (default: the whole
            seasonal window).
        level_block_days: the noise is measured around one local level per block of this many
            days (rounded to whole weeks dividing the seasonal window).
        student_t_guard: widen the spread for the estimation error of rho (Student-t with
            Satterthwaite degrees of freedom).
        gaussian_min_relative_scale, gaussian_min_absolute_scale: spread floor of the Gaussian
            model (non-proportion series), relative to the level and absolute.
        band_z: half-width, in predictive standard deviations, of the displayed band.
        severity_score_cuts: ``|anomaly_score|`` cut points of the evidence tiers.
        severity_ratio_cuts: ``max(value/expected, expected/value)`` cut points of the
            magnitude tiers.
        exclude_flagged: leave days flagged as anomalies out of the history of later days,
            so an incident lasting several days neither becomes the expected value nor inflates
            the noise estimate.
        max_excluded_share: flagged days are left out only while they make up at most this
            share of the level window; beyond it the series is taken to have moved to a new
            level and the history follows it.
        dispersion_clip_z: squared residuals entering the overdispersion estimate are clipped
            at this many robust (MAD) standard deviations, never fewer than binomial ones, and
            rescaled to stay unbiased for normal noise (default 2.5; ``None`` turns clipping
            off).
        dispersion_from_differences: also estimate rho from consecutive-day differences of
            the deseasonalised rate and keep the smaller of that and the block estimate, so a
            level shift or a run of unflagged incident days in the history does not inflate
            the noise (default true).
        fdr_by_level: run Benjamini-Hochberg separately per day for each level of the segment
            hierarchy (marketplace ``ALL`` x ``ALL``, region x ``ALL``, ``ALL`` x category,
            region x category), so the few marketplace-wide series are not judged against the
            multiplicity of the hundreds of leaf segments (default true; false: one family of
            every series of the day).
        min_dispersion_events: a proportion series with fewer expected events (or
            non-events) than this in its noise window cannot measure its own day-to-day
            variation; it takes the overdispersion pooled over its siblings (same metric,
            same hierarchy level) instead (default 30; 0 turns pooling off).
        run_days: proportion series are also tested on the sum of their last ``run_days``
            days (the evaluated day included), so a lasting shift of a small rate is found
            although no single day is significant; the day's p-value is ``2 * min(p_day,
            p_run)`` (default 3; 1 turns it off).
    """

    window_days: int = 28
    season_weeks: int = 8
    min_history: int = 14
    fdr_alpha: float = 0.01
    min_relative_change: float = 0.25
    min_absolute_change: float = 0.005
    screen_z: float = 4.0
    prior_events: float = 0.5
    prior_trials: float = 1.0
    max_overdispersion: float = 0.5
    overdispersion_margin: float = 0.5
    dispersion_days: int | None = None
    level_block_days: int = 14
    student_t_guard: bool = True
    gaussian_min_relative_scale: float = 0.02
    gaussian_min_absolute_scale: float = 1e-9
    band_z: float = 3.29
    severity_score_cuts: tuple[float, float, float] = (5.0, 7.0, 10.0)
    severity_ratio_cuts: tuple[float, float, float] = (1.5, 2.0, 3.0)
    exclude_flagged: bool = True
    max_excluded_share: float = 0.5
    dispersion_clip_z: float | None = 2.5
    dispersion_from_differences: bool = True
    fdr_by_level: bool = True
    min_dispersion_events: float = 30.0
    run_days: int = 3

    def __post_init__(self) -> None:
        if self.window_days < 1:
            raise ValueError("window_days must be >= 1")
        if self.season_weeks < 1:
            raise ValueError("season_weeks must be >= 1")
        if self.min_history < 1:
            raise ValueError("min_history must be >= 1")
        if self.min_history > self.window_days:
            raise ValueError(
                f"min_history ({self.min_history}) cannot exceed window_days ({self.window_days})"
            )
        if not 0.0 < self.fdr_alpha < 1.0:
            raise ValueError("fdr_alpha must be in (0, 1)")

    @property
    def season_days(self) -> int:
        return 7 * max(self.season_weeks, math.ceil(self.window_days / 7))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> AnomalyParams:
        """Build from a mapping such as dbt vars (values may be strings); unknown keys and
        ``None`` values are ignored."""
        return params_from_mapping(cls, values)


# --------------------------------------------------------------------------------------------
# Input preparation
# --------------------------------------------------------------------------------------------


def _prepare(metrics: pd.DataFrame) -> pd.DataFrame:
    required = {"metric_name", "metric_date", "region", "category", "numerator", "denominator"}
    missing = sorted(required - set(metrics.columns))
    if missing:
        raise ValueError(f"metrics is missing required columns: {missing}")
    df = metrics
    if "is_mature" in df.columns:
        mature = df["is_mature"].fillna(False).astype(bool).to_numpy()
        df = df.loc[mature]
    cols = [*KEY_COLUMNS, "metric_date", "numerator", "denominator"]
    if "value" in df.columns:
        cols.append("value")
    df = df[cols].copy()
    num = pd.to_numeric(df["numerator"], errors="coerce").astype(float)
    den = pd.to_numeric(df["denominator"], errors="coerce").astype(float)
    df["numerator"] = num
    df["denominator"] = den
    if "value" in df.columns:
        df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(float)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            df["value"] = np.where(den > 0, num / den, np.nan)
    df["_date"] = pd.to_datetime(df["metric_date"]).dt.normalize()
    return df


def _day_index(dates: pd.Series) -> tuple[np.ndarray, int]:
    days = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
    if days.size == 0:
        return days, 0
    day0 = int(days.min())
    return days - day0, int(days.max()) - day0 + 1


# --------------------------------------------------------------------------------------------
# Core model on a dense (series x day) block
# --------------------------------------------------------------------------------------------


def _block_days(p: AnomalyParams, d: int) -> int:
    """Largest divisor of the seasonal window that is a multiple of 7 and at most
    ``level_block_days`` (at least one week)."""
    best = 7
    for b in range(7, d + 1, 7):
        if b <= max(p.level_block_days, 7) and d % b == 0:
            best = b
    return best


def _clippable(mu: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Days whose binomial noise is near normal (at least ``_MIN_CLIP_EVENTS`` expected events
    and non-events), whose squared residuals may be clipped without bias."""
    return (mu * n >= _MIN_CLIP_EVENTS) & ((1.0 - mu) * n >= _MIN_CLIP_EVENTS)


def _rho_from_differences(
    yw: np.ndarray,
    nk: np.ndarray,
    keep: np.ndarray,
    factor: np.ndarray,
    k_sum: np.ndarray,
    n_blocks: np.ndarray,
    p: AnomalyParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Extra-binomial variation from consecutive days, robust to level shifts and outliers.

    The deseasonalised rates ``x_j = y_j / f(weekday)`` of consecutive kept days are
    differenced, so a level shift spoils one difference instead of every day on one side of it.
    Each difference is standardised by its binomial standard deviation; under a beta-binomial
    law its expected square is ``1 + rho * h_j`` (``h_j`` grows with the denominators), so
    ``rho`` is a moment estimate from the squares, each clipped at ``dispersion_clip_z``
    robust (MAD) standard deviations and rescaled for the clipping. Returns ``(rho, se)``;
    ``rho`` is NaN where fewer than seven differences exist.
    """
    d = yw.shape[-1]
    weekday_of_pos = np.arange(d) % 7
    f_pos = factor[..., weekday_of_pos]
    # One pooled level for the noise model (the differences remove the level itself).
    level = np.clip(
        k_sum / np.maximum((n_blocks.reshape(nk.shape) * f_pos).sum(-1), _EPS), _EPS, 1 - _EPS
    )
    mu_j = np.clip(level[..., None] * f_pos, _EPS, 1 - _EPS)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(keep, mu_j * (1 - mu_j) / f_pos**2, 0.0)
        n_safe = np.where(keep, nk, 1.0)
        b = a / n_safe
        x = np.where(keep, yw / f_pos, 0.0)
        pair = keep[..., 1:] & keep[..., :-1]
        bb = b[..., 1:] + b[..., :-1]
        r2 = np.where(pair, (x[..., 1:] - x[..., :-1]) ** 2 / bb, np.nan)
        h = np.where(pair, (a[..., 1:] - b[..., 1:] + a[..., :-1] - b[..., :-1]) / bb, 0.0)
        m = pair.sum(-1)
        clip_z = p.dispersion_clip_z
        if clip_z is not None:
            s_rob = MAD_TO_SD * nanmedian_last(np.sqrt(r2))[0]
            cap = (clip_z * np.fmax(s_rob, 1.0)) ** 2
            clipped = np.minimum(r2, cap[..., None]) / winsorized_normal_second_moment(clip_z)
            both = _clippable(mu_j[..., 1:], n_safe[..., 1:]) & _clippable(
                mu_j[..., :-1], n_safe[..., :-1]
            )
            r2 = np.where(both, clipped, r2)
        sum_h = h.sum(-1)
        rho = (np.nansum(r2, -1) - m) / sum_h
        rho = np.where((m >= 7) & (sum_h > 0), rho, np.nan)
        # Consecutive differences share a day (lag-one correlation -1/2): about two thirds of
        # the pairs' degrees of freedom.
        nu = np.maximum(2.0 * m / 3.0, 1.0)
        rho_pos = np.maximum(np.nan_to_num(rho), 0.0)
        se = np.sqrt(2.0 / nu) * (m + rho_pos * sum_h) / np.where(sum_h > 0, sum_h, 1)
    return rho, se


def _family_overdispersion(
    kk: np.ndarray,
    nk: np.ndarray,
    keep: np.ndarray,
    group: np.ndarray,
    a0: float,
    b0: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overdispersion of sibling series (same metric, same hierarchy level) pooled.

    ``kk``, ``nk`` are (S, T, D) kept numerators and denominators of the noise window, ``keep``
    marks kept days, ``group`` (S,) labels siblings. Each series' Pearson statistic against its
    own window rate has expectation ``sum(1 + (n_j - 1) rho)`` under a beta-binomial law; summed
    over the siblings it gives one moment estimate of rho per group that small segments can
    share: a segment with a handful of events a day cannot measure its own day-to-day
    variation, its siblings together can. Returns, per series, ``(rho, se, events)``: the
    group's rho and standard error, and the series' own expected events (the smaller of events
    and non-events) in the window, which says whether its own estimate can be trusted.
    """
    used = keep & (nk > 0)
    c = np.clip((kk.sum(-1) + a0) / (nk.sum(-1) + b0), _EPS, 1 - _EPS)
    expected = nk * c[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = np.where(used, (kk - expected) ** 2 / (expected * (1 - c[..., None])), 0.0)
    chi2 = pearson.sum(-1)
    dof = np.maximum(used.sum(-1) - 1, 0)
    excess = np.where(used, np.maximum(nk - 1.0, 0.0), 0.0).sum(-1)
    events = np.minimum(c, 1 - c) * nk.sum(-1)
    rho = np.zeros_like(chi2)
    se = np.zeros_like(chi2)
    for g in np.unique(group):
        members = group == g
        total_dof = dof[members].sum(0)
        total_excess = excess[members].sum(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (chi2[members].sum(0) - total_dof) / total_excess
            e = np.sqrt(2.0 * np.maximum(total_dof, 1)) / total_excess
        r = np.where(total_excess > 0, np.maximum(r, 0.0), 0.0)
        e = np.where(total_excess > 0, e, 0.0)
        rho[members] = r
        se[members] = e
    return rho, se, events


def _score_windows(
    yw: np.ndarray,
    kw: np.ndarray,
    nw: np.ndarray,
    excluded: np.ndarray,
    y: np.ndarray,
    k: np.ndarray,
    n: np.ndarray,
    is_rate: bool,
    p: AnomalyParams,
    group: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Forecast and test (series, day) cells from their trailing windows.

    ``yw``, ``kw``, ``nw`` are (S, T, D) trailing windows (D = seasonal window, oldest first,
    the evaluated day not included) of value, numerator and denominator, NaN / 0 where a day
    has no usable observation; ``excluded`` marks window days left out of the history (earlier
    flags). ``y``, ``k``, ``n`` are the evaluated days, (S, T). ``group`` (S,) labels sibling
    series (same metric and hierarchy level) whose overdispersion estimates are pooled.
    Returns (S, T) arrays.
    """
    s_count, t_count, d = yw.shape
    wk = d // 7
    wl = p.window_days
    a0 = p.prior_events if is_rate else 0.0
    b0 = p.prior_trials if is_rate else 0.0

    valid = np.isfinite(y) & np.isfinite(k) & (n > 0)
    yv = np.where(valid, y, np.nan)
    weekday_of_pos = np.arange(d) % 7  # 0 == weekday of the evaluated day
    in_level = np.arange(d) >= d - wl
    history_days = np.count_nonzero(~np.isnan(yw) & in_level, axis=-1)
    yw = np.where(excluded, np.nan, yw)
    kw = np.where(excluded, 0.0, kw)
    nw = np.where(excluded, 0.0, nw)
    vw = ~np.isnan(yw)

    # ---- robust screening of each window --------------------------------------------------
    med_same, _ = nanmedian_last(yw.reshape(s_count, t_count, wk, 7).transpose(0, 1, 3, 2))
    med_all, n_all = nanmedian_last(yw)
    with np.errstate(divide="ignore", invalid="ignore"):
        if is_rate:
            c = (kw.sum(-1) + a0) / (nw.sum(-1) + b0)
            c = np.clip(c, _EPS, 1 - _EPS)
            sd = np.sqrt(c[..., None] * (1 - c[..., None]) / nw)
        else:
            sd = np.ones_like(yw)
        z_same = (yw.reshape(s_count, t_count, wk, 7) - med_same[:, :, None, :]).reshape(
            s_count, t_count, d
        ) / sd
        z_all = (yw - med_all[..., None]) / sd
    del sd
    group_size = np.maximum(n_all / 7.0, 2.0)
    s_same = MAD_TO_SD * nanmedian_last(np.abs(z_same))[0] / np.sqrt(1.0 - 1.0 / group_size)
    s_all = MAD_TO_SD * nanmedian_last(np.abs(z_all))[0]
    if is_rate:
        floor = np.ones_like(s_same)
    else:
        floor = np.maximum(
            p.gaussian_min_relative_scale * np.abs(med_all), p.gaussian_min_absolute_scale
        )
    s_same = np.fmax(s_same, floor)
    s_all = np.fmax(s_all, floor)
    outlier = (np.abs(z_same) > p.screen_z * s_same[..., None]) & (
        np.abs(z_all) > p.screen_z * s_all[..., None]
    )
    del z_same, z_all, med_same
    keep = vw & ~outlier
    del outlier
    kk = np.where(keep, kw, 0.0)
    nk = np.where(keep, nw, 0.0)
    del kw, nw

    # ---- weekly profile from the seasonal window -------------------------------------------
    sk_d = kk.reshape(s_count, t_count, wk, 7).sum(2)
    sn_d = nk.reshape(s_count, t_count, wk, 7).sum(2)
    m_d = keep.reshape(s_count, t_count, wk, 7).sum(2)
    m_season = m_d.sum(-1)
    keep_l = keep & in_level
    m_level = keep_l.sum(-1)
    kl = np.where(in_level, kk, 0.0)
    nl = np.where(in_level, nk, 0.0)
    sk_l = kl.sum(-1)
    sn_l = nl.sum(-1)
    in_disp = np.arange(d) >= d - min(p.dispersion_days or d, d)
    keep_disp = keep & in_disp
    m_disp = keep_disp.sum(-1)
    # Noise is measured around a piecewise-constant local level (one per block of
    # `level_block_days`), so a level shift or slow drift inside the window is not taken for
    # day-to-day noise.
    block = _block_days(p, d)
    n_blocks = d // block
    block_of_pos = np.arange(d) // block
    kd = np.where(keep_disp, kk, 0.0).reshape(s_count, t_count, n_blocks, block)
    nd = np.where(keep_disp, nk, 0.0).reshape(s_count, t_count, n_blocks, block)
    blocks_used = np.count_nonzero(
        keep_disp.reshape(s_count, t_count, n_blocks, block).any(-1), axis=-1
    )
    season_share = m_disp / np.maximum(m_season, 1)
    kb = kk.reshape(s_count, t_count, n_blocks, block).sum(-1)
    nb = nk.reshape(s_count, t_count, n_blocks, block).sum(-1)
    kd_sum = kd.sum(-1)
    nd_sum = nd.sum(-1)

    def _dof(weekday_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # One degree of freedom per local level, plus the weekday factors as far as they are
        # used (6 free factors; a factor shrunk to 1 costs nothing).
        dof = blocks_used + weekday_weight.sum(-1) * (6.0 / 7.0) * season_share
        nu = np.maximum(m_disp - dof, 1.0)
        return nu, np.where(m_disp > 0, m_disp / nu, 1.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        if is_rate:
            inv_n = np.where(keep_disp, 1.0 / np.where(keep_disp, nk, 1.0), 0.0)
            sum_w = (keep_disp * 1.0 - inv_n).sum(-1)
            sum_inv_n = inv_n.sum(-1)
            del inv_n
            nk_safe = np.where(keep_disp, nk, 1.0)
            clip_z = p.dispersion_clip_z
            clip_k = winsorized_normal_second_moment(clip_z) if clip_z is not None else 1.0

            def _rho(factor: np.ndarray, weight: np.ndarray):
                f_pos = factor[..., weekday_of_pos]
                block_level = (kd_sum + a0) / ((nd * f_pos.reshape(nd.shape)).sum(-1) + b0)
                mu_j = np.clip(block_level[..., block_of_pos] * f_pos, _EPS, 1 - _EPS)
                sq = np.where(keep_disp, (yw - mu_j) ** 2 / (mu_j * (1 - mu_j)), 0.0)
                if clip_z is not None:
                    # Huber-type: residuals in binomial standard units are clipped at
                    # `dispersion_clip_z` robust standard deviations (MAD, never below the
                    # binomial 1), so a few incident-like days that slipped through the screen
                    # cannot inflate rho; the sum is rescaled to stay unbiased under normality.
                    r2 = sq * nk_safe
                    s_rob = MAD_TO_SD * nanmedian_last(np.where(keep_disp, np.sqrt(r2), np.nan))[0]
                    cap = (clip_z * np.fmax(s_rob, 1.0)) ** 2
                    clipped = np.minimum(r2, cap[..., None]) / nk_safe / clip_k
                    # Days with few expected events have skewed, far from normal residuals:
                    # clipping them would bias rho down, so they are left as they are.
                    sq = np.where(_clippable(mu_j, nk_safe), clipped, sq)
                e2 = sq.sum(-1)
                nu, c_dof = _dof(weight)
                rho = np.where(sum_w > 0, (c_dof * e2 - sum_inv_n) / sum_w, 0.0)
                return rho, nu

            p_all = (sk_d.sum(-1) + a0) / (sn_d.sum(-1) + b0)
            # Weekday factor: observed events over the events expected from the local block
            # level, so a level shift inside the window does not masquerade as a weekday effect.
            block_rate = (kb + a0) / (nb + b0)
            expected_d = (nk * block_rate[..., block_of_pos]).reshape(s_count, t_count, wk, 7)
            expected_d = expected_d.sum(2)
            raw_f = (sk_d + a0 / 7) / (expected_d + a0 / 7)
            raw_f = np.where((m_d > 0) & np.isfinite(raw_f), raw_f, 1.0)
            # Preliminary noise level against the raw weekday profile, for the shrinkage.
            rho0, _ = _rho(raw_f, np.ones_like(raw_f))
            rho0 = np.maximum(rho0, 0.0)
            pa = np.clip(p_all, _EPS, 1 - _EPS)[..., None]
            var_f = (
                pa * (1 - pa) * (1.0 / (sn_d + b0 / 7) + rho0[..., None] / np.maximum(m_d, 1))
            ) / pa**2
            dev2 = (raw_f - 1.0) ** 2
            w = np.where(dev2 > 0, np.clip(1.0 - var_f / dev2, 0.0, 1.0), 0.0)
            f = 1.0 + w * (raw_f - 1.0)
            rho, nu = _rho(f, w)
            # Upper-confidence overdispersion: the moment estimate plus `overdispersion_margin`
            # standard errors, so a short history that happens to look binomial does not
            # understate the day-to-day variation of a large segment.
            rho_se = np.sqrt(2.0 / nu) * (sum_inv_n + np.maximum(rho, 0.0) * sum_w) / sum_w
            rho_se = np.where(sum_w > 0, rho_se, 0.0)
            if p.dispersion_from_differences:
                rho_d, se_d = _rho_from_differences(yw, nk, keep_disp, f, kd_sum.sum(-1), nd, p)
                use_d = np.isfinite(rho_d) & (rho_d < rho)
                rho = np.where(use_d, rho_d, rho)
                rho_se = np.where(use_d, se_d, rho_se)
            rho = np.maximum(rho, 0.0) + p.overdispersion_margin * rho_se
            if group is not None and p.min_dispersion_events:
                # Too few events of its own: take the noise level of the sibling segments.
                rho_f, se_f, events = _family_overdispersion(
                    np.where(keep_disp, kk, 0.0), np.where(keep_disp, nk, 0.0), keep_disp,
                    group, a0, b0,
                )  # fmt: skip
                few = events < p.min_dispersion_events
                rho = np.where(few, rho_f + p.overdispersion_margin * se_f, rho)
            rho = np.clip(rho, 0.0, p.max_overdispersion)
            level = (sk_l + a0) / ((nl * f[..., weekday_of_pos]).sum(-1) + b0)
            level = np.clip(level, _EPS, 1 - _EPS)
            mu = np.clip(level * f[..., 0], _EPS, 1 - _EPS)
            v_level = (1 - level) / level * (1.0 / (sn_l + b0) + rho / np.maximum(m_level, 1))
            var_mu = mu**2 * (v_level + w[..., 0] ** 2 * var_f[..., 0])
            seasonal = f[..., 0]
            scale = rho
        else:

            def _sigma2(effect: np.ndarray, weight: np.ndarray):
                a_pos = effect[..., weekday_of_pos]
                block_level = (kd - nd * a_pos.reshape(nd.shape)).sum(-1) / nd_sum
                block_level = np.where(np.isfinite(block_level), block_level, 0.0)
                resid = yw - block_level[..., block_of_pos] - a_pos
                e2 = np.where(keep_disp, resid**2, 0.0).sum(-1)
                nu, c_dof = _dof(weight)
                return c_dof * e2 / np.maximum(m_disp, 1), nu

            block_mean = np.where(nb > 0, kb / np.where(nb > 0, nb, 1.0), 0.0)
            expected_d = (nk * block_mean[..., block_of_pos]).reshape(s_count, t_count, wk, 7)
            raw_a = (sk_d - expected_d.sum(2)) / sn_d
            raw_a = np.where((m_d > 0) & np.isfinite(raw_a), raw_a, 0.0)
            level_raw = (kl - nl * raw_a[..., weekday_of_pos]).sum(-1) / sn_l
            sig_floor = np.maximum(
                p.gaussian_min_relative_scale * np.abs(level_raw), p.gaussian_min_absolute_scale
            )
            sigma0, _ = _sigma2(raw_a, np.ones_like(raw_a))
            var_a = np.fmax(sigma0, sig_floor**2)[..., None] / np.maximum(m_d, 1)
            dev2 = raw_a**2
            w = np.where(dev2 > 0, np.clip(1.0 - var_a / dev2, 0.0, 1.0), 0.0)
            a_eff = w * raw_a
            sigma2, nu = _sigma2(a_eff, w)
            sigma2 = np.fmax(sigma2, sig_floor**2)
            level = (kl - nl * a_eff[..., weekday_of_pos]).sum(-1) / sn_l
            mu = level + a_eff[..., 0]
            var_mu = sigma2 / np.maximum(m_level, 1) + w[..., 0] ** 2 * var_a[..., 0]
            seasonal = np.full(mu.shape, np.nan)
            scale = np.sqrt(sigma2)

    # ---- test today's observation ----------------------------------------------------------
    with np.errstate(divide="ignore", invalid="ignore"):
        if is_rate:
            n_t = np.where(valid, n, np.nan)
            binom = mu * (1 - mu)
            var_obs = binom * (1.0 + (n_t - 1.0) * rho) / n_t
            var_tot = var_obs + var_mu
            n_eff = np.clip(binom / var_tot, 1e-6, n_t)
            k_eff = np.clip(yv * n_eff, 0.0, n_eff)
            p_bin = binomial_two_sided_p(k_eff, n_eff, mu)
            var_rho = binom * rho * ((n_t - 1.0) / n_t + 1.0 / np.maximum(m_level, 1))
            df_eff = np.where(var_rho > 0, nu * (var_tot / var_rho) ** 2, _MAX_DF)
            df_eff = np.clip(df_eff, 1.0, _MAX_DF)
            sd_tot = np.sqrt(var_tot)
            if p.student_t_guard:
                # Rho comes from a short history: widen the spread by the ratio of the normal
                # to the Student-t quantile at the observed deviation (Satterthwaite df).
                z_c = np.maximum(np.abs(yv - mu) - 0.5 / n_t, 0.0) / sd_tot
                z_n = stats.norm.isf(stats.t.sf(z_c, df_eff))
                widen = np.where(z_c > 0, np.clip(z_c / z_n, 1.0, None), 1.0)
                sd_tot = sd_tot * np.where(np.isfinite(widen), widen, 1.0)
            # Skewness of the beta-binomial, with the forecast's own uncertainty folded into rho.
            rho_tot = rho + var_mu * n_t / (binom * np.maximum(n_t - 1.0, 1.0))
            skew = betabinomial_rate_skewness(mu, n_t, rho_tot)
            p_p3 = pearson3_two_sided_p(yv, mu, sd_tot, skew, 0.5 / n_t)
            pval = np.fmax(p_bin, p_p3)
        else:
            var_tot = scale**2 + var_mu
            z = np.abs(yv - mu) / np.sqrt(var_tot)
            df_eff = nu
            pval = 2.0 * stats.t.sf(z, df_eff)
    judged = (
        valid
        & (history_days >= p.min_history)
        & (m_level >= math.ceil(p.min_history / 2))
        & np.isfinite(mu)
    )
    pval = np.where(judged, np.minimum(pval, 1.0), np.nan)
    mu = np.where(history_days > 0, mu, np.nan)
    return {
        "expected_value": mu,
        "predictive_sd": np.where(history_days > 0, np.sqrt(var_tot), np.nan),
        "forecast_var": np.where(history_days > 0, var_mu, np.nan),
        "p_value": pval,
        "history_days": history_days,
        "history_excluded": history_days - m_level,
        "seasonal_factor": np.where(history_days > 0, seasonal, np.nan),
        "overdispersion": np.where(history_days > 0, scale, np.nan),
    }


def _is_material(delta: np.ndarray, mu: np.ndarray, p: AnomalyParams) -> np.ndarray:
    return (
        (np.abs(delta) >= p.min_absolute_change)
        & (np.abs(delta) >= p.min_relative_change * np.abs(mu))
        & (delta != 0)
    )


def _combine_run_test(
    out: dict[str, np.ndarray], k: np.ndarray, n: np.ndarray, n_rate: int, t: int, run_days: int
) -> np.ndarray:
    """Day ``t``'s p-value for proportion series, combined with a test of the last
    ``run_days`` days together (day ``t`` included).

    A lasting shift of a few days that no single day makes significant (a rate with a few
    dozen trials a day) is plain in their sum: the observed events of the run are tested
    against the events the forecasts of those days expected, with each day's binomial and
    extra-binomial noise and the forecasts' shared error (fully correlated across the run,
    the conservative choice). The two looks are combined by Bonferroni, ``2 * min(p_day,
    p_run)``; the run counts only when it moves in the same direction as day ``t`` and every
    day of it was judged.
    """
    sl = slice(t - run_days + 1, t + 1)
    p_day = out["p_value"][:n_rate, t]
    nn = n[:n_rate, sl]
    kk = np.nan_to_num(k[:n_rate, sl])
    mu = out["expected_value"][:n_rate, sl]
    v_tot = out["predictive_sd"][:n_rate, sl] ** 2
    v_mu = out["forecast_var"][:n_rate, sl]
    judged = np.isfinite(out["p_value"][:n_rate, sl]).all(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        total_n = nn.sum(1)
        expected = (nn * mu).sum(1)
        var = (nn**2 * np.maximum(v_tot - v_mu, 0.0)).sum(1) + (nn * np.sqrt(v_mu)).sum(1) ** 2
        rate = kk.sum(1) / total_n
        mu_run = np.clip(expected / total_n, _EPS, 1 - _EPS)
        n_eff = np.clip(mu_run * (1 - mu_run) / (var / total_n**2), 1e-6, total_n)
        p_run = binomial_two_sided_p(np.clip(rate * n_eff, 0.0, n_eff), n_eff, mu_run)
        same_side = np.sign(rate - mu_run) == np.sign(out["_value"][:n_rate, t] - mu[:, -1])
    p_run = np.where(judged & same_side & (total_n > 0) & np.isfinite(p_run), p_run, 1.0)
    return np.where(np.isfinite(p_day), np.minimum(1.0, 2.0 * np.minimum(p_day, p_run)), p_day)


def _scan_days(
    local: np.ndarray,
    day: np.ndarray,
    y_model: np.ndarray,
    num: np.ndarray,
    den: np.ndarray,
    n_series: int,
    n_rate: int,
    t_count: int,
    p: AnomalyParams,
    family: list[np.ndarray] | None = None,
    pool_group: np.ndarray | None = None,
    resume_at: int = 0,
    prior_flags: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Walk the calendar day by day, every series at once.

    Each day is forecast and tested for all series together, adjusted with Benjamini-Hochberg
    across them, and the day's anomalies are marked so that later days leave them out of their
    history (unless flagged days would exceed ``max_excluded_share`` of the level window: the
    series has moved to a new level and the history follows it). Returns (series, day) arrays.

    With ``resume_at`` > 0 the walk judges the days from ``resume_at`` on, taking the flags of
    the days before it from ``prior_flags`` (series x day) instead of judging them again: a day
    depends only on earlier days, so the result from ``resume_at`` on is the same as a walk from
    the first day. The ``run_days - 1`` days before ``resume_at`` are forecast again (their
    forecasts enter the run test), not flagged; their results are not meaningful.
    """
    d = p.season_days
    shape = (n_series, t_count)
    y = np.full(shape, np.nan)
    k = np.full(shape, np.nan)
    n = np.zeros(shape)
    y[local, day] = y_model
    k[local, day] = num
    n[local, day] = np.nan_to_num(den)
    ok = np.isfinite(y) & np.isfinite(k) & (n > 0)
    pad = ((0, 0), (d, 0))
    yp = np.pad(np.where(ok, y, np.nan), pad, constant_values=np.nan)
    kp = np.pad(np.where(ok, k, 0.0), pad)
    np_ = np.pad(np.where(ok, n, 0.0), pad)
    flagged = np.zeros((n_series, t_count + d), dtype=bool)
    if resume_at > 0 and prior_flags is not None:
        flagged[:, d : d + resume_at] = prior_flags[:, :resume_at]
    first_day = max(resume_at - (p.run_days - 1), 0) if resume_at > 0 else 0
    in_level = np.arange(d) >= d - p.window_days
    names = (
        "expected_value",
        "predictive_sd",
        "forecast_var",
        "p_value",
        "history_days",
        "history_excluded",
        "seasonal_factor",
        "overdispersion",
    )
    out = {name: np.full(shape, np.nan) for name in names}
    out["q_value"] = np.full(shape, np.nan)
    out["_value"] = y
    out["is_anomaly"] = np.zeros(shape, dtype=bool)
    segments = [(0, n_rate, True), (n_rate, n_series, False)]
    for t in np.unique(day):
        if t < first_day:
            continue
        window = slice(t, t + d)
        excluded = flagged[:, window]
        if p.exclude_flagged and excluded.any():
            has = ~np.isnan(yp[:, window]) & in_level
            n_flag = np.count_nonzero(excluded & has, axis=1)
            allow = n_flag <= p.max_excluded_share * np.count_nonzero(has, axis=1)
            excluded = excluded & allow[:, None]
        elif not p.exclude_flagged:
            excluded = np.zeros_like(excluded)
        for lo, hi, is_rate in segments:
            if hi <= lo:
                continue
            res = _score_windows(
                yp[lo:hi, None, window],
                kp[lo:hi, None, window],
                np_[lo:hi, None, window],
                excluded[lo:hi, None, :],
                y[lo:hi, t : t + 1],
                k[lo:hi, t : t + 1],
                n[lo:hi, t : t + 1],
                is_rate,
                p,
                None if pool_group is None else pool_group[lo:hi],
            )
            for name in names:
                out[name][lo:hi, t] = res[name][:, 0]
        if p.run_days > 1 and n_rate and t >= p.run_days - 1:
            out["p_value"][:n_rate, t] = _combine_run_test(out, k, n, n_rate, t, p.run_days)
        if family is None:
            q = benjamini_hochberg_single(out["p_value"][:, t])
        else:
            q = np.full(n_series, np.nan)
            for members in family:
                q[members] = benjamini_hochberg_single(out["p_value"][members, t])
        delta = y[:, t] - out["expected_value"][:, t]
        flag = (q <= p.fdr_alpha) & _is_material(delta, out["expected_value"][:, t], p)
        out["q_value"][:, t] = q
        out["is_anomaly"][:, t] = flag
        if t >= resume_at:
            flagged[:, t + d] = flag
    return out


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def detector_fingerprint(params: AnomalyParams | None = None) -> str:
    """A digest of what decides the flags besides the data: the detector's code, the settings
    and the numeric libraries' versions. Rows scored under another fingerprint are never reused
    (see ``previous`` in :func:`detect_metric_anomalies`)."""
    digest = hashlib.sha256()
    for module in (Path(__file__), Path(__file__).with_name("_stats.py")):
        digest.update(module.read_bytes())
    settings = asdict(params or AnomalyParams())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    digest.update(f"numpy {np.__version__} scipy {scipy.__version__}".encode())
    return digest.hexdigest()[:16]


def _reusable(previous: pd.DataFrame | None, fingerprint: str) -> pd.DataFrame | None:
    """``previous`` (an earlier output) with its day as ``_date`` when it can be reused: every
    output column, the current fingerprint, one row per series and day. None otherwise."""
    if previous is None or previous.empty or not set(OUTPUT_COLUMNS) <= set(previous.columns):
        return None
    if not (previous["detector_fingerprint"] == fingerprint).all():
        return None
    if previous.duplicated([*KEY_COLUMNS, "metric_date"]).any():
        return None
    return previous.assign(_date=pd.to_datetime(previous["metric_date"]).dt.normalize())


def _first_changed_date(df: pd.DataFrame, previous: pd.DataFrame) -> pd.Timestamp | None:
    """The earliest day whose mature input rows differ from those ``previous`` judged (a row
    added, removed or with another value, numerator or denominator); None when none differs."""
    compared = ["value", "numerator", "denominator"]
    both = df[[*KEY_COLUMNS, "_date", *compared]].merge(
        previous[[*KEY_COLUMNS, "_date", *compared]],
        on=[*KEY_COLUMNS, "_date"],
        how="outer",
        indicator=True,
    )
    differs = both["_merge"].to_numpy() != "both"
    for column in compared:
        a = both[f"{column}_x"].to_numpy(float)
        b = both[f"{column}_y"].to_numpy(float)
        differs |= ~((a == b) | (np.isnan(a) & np.isnan(b)))
    return both.loc[differs, "_date"].min() if differs.any() else None


def detect_metric_anomalies(
    metrics: pd.DataFrame,
    params: AnomalyParams | None = None,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Flag anomalous days in ``metrics_daily`` (see the module docstring for the method).

    Args:
        metrics: rows of ``metrics_daily``: ``metric_name, metric_date, region, category,
            numerator, denominator`` and optionally ``value`` and ``is_mature``. Rows with
            ``is_mature`` false are neither judged nor used as history.
        params: tuning; defaults to :class:`AnomalyParams()`.
        previous: optionally, the output of an earlier call (the table built last time). A
            day is judged from earlier days only, so when ``previous`` carries the current
            :func:`detector_fingerprint`, its rows before the first day whose input changed
            are kept as they are and the walk resumes on that day: the result is the same as
            without ``previous``, for the cost of the changed days (a night adds a few).

    Returns:
        One row per mature input row, sorted by ``metric_name, region, category, metric_date``:
        ``metric_name, region, category, metric_date, value, numerator, denominator,
        expected_value, lower_bound, upper_bound, anomaly_score, p_value, q_value, is_anomaly,
        direction ('up' | 'down' | None), severity ('none' | 'low' | 'medium' | 'high' |
        'critical'), relative_change, history_days, history_excluded, seasonal_factor,
        overdispersion, method, detector_fingerprint``. ``overdispersion`` is rho for
        proportions and the residual standard deviation for Gaussian series.
    """
    p = params or AnomalyParams()
    fingerprint = detector_fingerprint(p)
    df = _prepare(metrics)
    out_cols = OUTPUT_COLUMNS
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in out_cols})
    previous = _reusable(previous, fingerprint)
    changed_from = None if previous is None else _first_changed_date(df, previous)
    if previous is not None and changed_from is None:
        return _as_built(previous, out_cols)
    # Resume the walk on the first changed day when earlier days are kept (else judge all).
    kept_rows = (
        np.zeros(len(df), dtype=bool)
        if previous is None
        else (df["_date"] < changed_from).to_numpy()
    )

    codes = df.groupby(KEY_COLUMNS, sort=True, dropna=False).ngroup().to_numpy()
    day, t_count = _day_index(df["_date"])
    n_series = int(codes.max()) + 1
    num = df["numerator"].to_numpy(float)
    den = df["denominator"].to_numpy(float)
    val = df["value"].to_numpy(float)
    usable = (den > 0) & np.isfinite(num) & np.isfinite(val)
    not_prop = usable & ((num < -1e-9) | (num > den * (1 + 1e-9) + 1e-9) | (val < 0) | (val > 1))
    series_is_rate = np.bincount(codes, weights=not_prop, minlength=n_series) == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        y_model = np.where(series_is_rate[codes], np.where(den > 0, num / den, np.nan), val)

    # Dense (series x day) layout, proportion series first.
    series_order = np.r_[np.flatnonzero(series_is_rate), np.flatnonzero(~series_is_rate)]
    series_rank = np.empty(n_series, dtype=np.int64)
    series_rank[series_order] = np.arange(n_series)
    local = series_rank[codes]
    n_rate = int(series_is_rate.sum())
    cell = local * t_count + day
    occupancy = np.bincount(cell, minlength=n_series * t_count)
    if occupancy.max(initial=0) > 1:
        dup = df.iloc[int(np.flatnonzero(occupancy[cell] > 1)[0])]
        raise ValueError(
            "metrics has more than one row per (metric_name, region, category, metric_date); "
            f"first duplicate: {dup[[*KEY_COLUMNS, 'metric_date']].to_dict()}"
        )
    # Segment hierarchy level of each series: 0 marketplace, 1 category, 2 region, 3 both.
    level = np.zeros(n_series, dtype=np.int64)
    level[local] = (df["region"].to_numpy() != "ALL") * 2 + (df["category"].to_numpy() != "ALL")
    metric_code = np.zeros(n_series, dtype=np.int64)
    metric_code[local] = pd.factorize(df["metric_name"])[0]
    family = [np.flatnonzero(level == lv) for lv in np.unique(level)] if p.fdr_by_level else None
    pool_group = metric_code * 4 + level
    resume_at, prior_flags = 0, None
    if kept_rows.any():
        resume_at = int((changed_from - df["_date"].min()).days)
        prior = df.loc[kept_rows, [*KEY_COLUMNS, "_date"]].merge(
            previous[[*KEY_COLUMNS, "_date", "is_anomaly"]], on=[*KEY_COLUMNS, "_date"], how="left"
        )
        prior_flags = np.zeros((n_series, t_count), dtype=bool)
        prior_flags[local[kept_rows], day[kept_rows]] = prior["is_anomaly"].to_numpy(bool)
    grid = _scan_days(
        local,
        day,
        y_model,
        num,
        den,
        n_series,
        n_rate,
        t_count,
        p,
        family,
        pool_group,
        resume_at=resume_at,
        prior_flags=prior_flags,
    )
    results = {name: arr[local, day] for name, arr in grid.items()}

    mu = results["expected_value"]
    pval = results["p_value"]
    q = results["q_value"]
    is_anomaly = results["is_anomaly"].astype(bool)
    delta = val - mu
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(np.abs(mu) > 0, delta / np.abs(mu), np.where(delta == 0, 0.0, np.inf))
        rel = np.where(np.isfinite(mu) & np.isfinite(val), rel, np.nan)
        score = np.sign(delta) * stats.norm.isf(pval / 2.0)
    score = np.clip(score, -_SCORE_CAP, _SCORE_CAP)

    is_rate_row = series_is_rate[codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            is_rate_row,
            np.where(delta > 0, val / mu, mu / val),
            1.0 + np.abs(delta) / np.abs(mu),
        )
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    ev_tier = np.searchsorted(np.asarray(p.severity_score_cuts), np.abs(score), side="right")
    mag_tier = np.searchsorted(np.asarray(p.severity_ratio_cuts), ratio, side="right")
    sev_idx = np.where(is_anomaly, 1 + np.minimum(ev_tier, mag_tier), 0)
    severity = np.asarray(SEVERITY_LABELS, dtype=object)[sev_idx]
    direction = np.where(is_anomaly, np.where(delta > 0, "up", "down"), None).astype(object)

    half = np.fmax(
        p.band_z * results["predictive_sd"],
        np.maximum(p.min_absolute_change, p.min_relative_change * np.abs(mu)),
    )
    lower = mu - half
    upper = mu + half
    lower = np.where(is_rate_row, np.clip(lower, 0.0, 1.0), lower)
    upper = np.where(is_rate_row, np.clip(upper, 0.0, 1.0), upper)

    out = pd.DataFrame(
        {
            "metric_name": df["metric_name"].to_numpy(),
            "region": df["region"].to_numpy(),
            "category": df["category"].to_numpy(),
            "metric_date": df["metric_date"].to_numpy(),
            "value": val,
            "numerator": num,
            "denominator": den,
            "expected_value": mu,
            "lower_bound": lower,
            "upper_bound": upper,
            "anomaly_score": score,
            "p_value": pval,
            "q_value": q,
            "is_anomaly": is_anomaly.astype(bool),
            "direction": direction,
            "severity": severity,
            "relative_change": rel,
            # (null only on the days a resumed walk did not judge, replaced below)
            "history_days": np.nan_to_num(results["history_days"]).astype(np.int64),
            "history_excluded": np.nan_to_num(results["history_excluded"]).astype(np.int64),
            "seasonal_factor": results["seasonal_factor"],
            "overdispersion": results["overdispersion"],
            "method": np.where(is_rate_row, METHOD_RATE, METHOD_GAUSSIAN).astype(object),
            "detector_fingerprint": fingerprint,
        }
    )
    order = np.lexsort((day, codes))
    out = out.iloc[order].reset_index(drop=True)
    if not kept_rows.any():
        return out
    judged = out[~kept_rows[order]]
    kept = previous.loc[previous["_date"] < changed_from, out_cols]
    both = pd.concat([kept.astype(judged.dtypes.to_dict()), judged], ignore_index=True)
    return _as_built(both, out_cols)


def _as_built(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` in the row order and column types :func:`detect_metric_anomalies` builds."""
    frame = frame.sort_values([*KEY_COLUMNS, "metric_date"], kind="stable")
    return pd.DataFrame({c: frame[c].to_numpy() for c in columns})


def baseline_mean_3sd(
    metrics: pd.DataFrame, window: int = 14, k_sd: float = 3.0, min_points: int = 2
) -> pd.DataFrame:
    """The usual dbt anomaly test, for comparison.

    For every mature row: mean and sample standard deviation of ``value`` over the trailing
    ``window`` rows of its series **including the row itself**; flagged when
    ``|value - mean| > k_sd * sd`` and the window holds at least ``min_points`` values.

    Returns ``metric_name, region, category, metric_date, value, baseline_mean, baseline_sd,
    n_points, is_anomaly, method``, sorted like :func:`detect_metric_anomalies`.
    """
    df = _prepare(metrics)
    if df.empty:
        cols = [*KEY_COLUMNS, "metric_date", "value", "baseline_mean", "baseline_sd"]
        cols += ["n_points", "is_anomaly", "method"]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    codes = df.groupby(KEY_COLUMNS, sort=True, dropna=False).ngroup().to_numpy()
    day, _ = _day_index(df["_date"])
    order = np.lexsort((day, codes))
    df = df.iloc[order].reset_index(drop=True)
    codes = codes[order]
    val = df["value"].to_numpy(float)
    ok = np.isfinite(val)
    # Shift by each series' first value for numerically stable running sums.
    starts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
    sizes = np.diff(np.r_[starts, codes.size])
    first_ok = pd.Series(np.where(ok, val, np.nan)).groupby(codes).transform("first").to_numpy()
    x = np.where(ok, val - np.nan_to_num(first_ok), 0.0)
    c1 = np.r_[0.0, np.cumsum(ok.astype(float))]
    s1 = np.r_[0.0, np.cumsum(x)]
    s2 = np.r_[0.0, np.cumsum(x * x)]
    idx = np.arange(codes.size)
    lo = np.maximum(idx - window + 1, np.repeat(starts, sizes))
    cnt = c1[idx + 1] - c1[lo]
    sm = s1[idx + 1] - s1[lo]
    sq = s2[idx + 1] - s2[lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sm / cnt
        var = np.maximum(sq - cnt * mean**2, 0.0) / (cnt - 1)
    sd = np.where(cnt >= 2, np.sqrt(var), np.nan)
    mean_abs = mean + np.nan_to_num(first_ok)
    flag = ok & (cnt >= min_points) & (np.abs(val - mean_abs) > k_sd * sd + 1e-12)
    return pd.DataFrame(
        {
            "metric_name": df["metric_name"].to_numpy(),
            "region": df["region"].to_numpy(),
            "category": df["category"].to_numpy(),
            "metric_date": df["metric_date"].to_numpy(),
            "value": val,
            "baseline_mean": np.where(cnt > 0, mean_abs, np.nan),
            "baseline_sd": sd,
            "n_points": cnt.astype(np.int64),
            "is_anomaly": flag.astype(bool),
            "method": BASELINE_METHOD,
        }
    )
