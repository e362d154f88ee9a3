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
   not for tiny real drift. A ratio of sums (GMV share) is not a count of trials: its rows
   carry effective counts (``effective_numerator`` of ``effective_denominator``, the Kish
   effective sample size, from the metric registry's interval type), which the law is applied
   to instead. A segment with fewer than ``min_dispersion_events`` expected events
   in its noise window cannot measure its own rho: it takes rho pooled over its siblings (same
   metric, same hierarchy level) from their summed Pearson statistics. Series whose values are
   not proportions get a Gaussian model on the value with a ``gaussian_min_relative_scale``
   spread floor, so flat series do not alarm.
5. **Only mature, complete cohorts.** Rows with ``is_mature`` or ``is_complete`` false are
   neither judged nor history: before the coverage start of the source a metric counts, its
   numerator misses events that were never exported, and the edge where the data begins would
   look like a jump.
6. **Minimum history.** A row is judged only when its level window holds at least
   ``min_history`` days with a positive denominator (and at least half of them survive the
   exclusions); otherwise ``p_value`` is null and ``is_anomaly`` is false.
7. **Runs of days.** For proportions the day is also tested together with the ``run_days - 1``
   days before it (observed against forecast events, forecast errors taken as fully
   correlated), so a lasting shift of a small rate is found although no single day is
   significant.
8. **Slow drifts.** A drift moves a little every day and the forecast, built from the last
   weeks, keeps catching up: no day and no three-day run stands out. Each series therefore
   keeps two one-sided CUSUMs of its standardised forecast errors
   (``z = sign(value - expected) * Phi^-1(1 - p_day / 2)``, the day's own noise model, clipped
   at ``change_score_cap``): ``up = max(0, up + z - k)`` and ``down = max(0, down - z - k)``
   with ``k = change_k``. Errors that stay above ``k`` standard deviations for days add up. A
   CUSUM of independent standard normal errors exceeds ``s`` with probability at most
   ``exp(-2 k s)`` (its stationary tail), so the side in the day's direction gives the p-value
   ``2 exp(-2 k s)``, a third look in the Bonferroni combination (``3 * min(p_day, p_run,
   p_change)``). A flagged day restarts both CUSUMs of its series. ``cusum_up`` and
   ``cusum_down`` are reported.
9. **False discovery control and materiality.** p-values are adjusted with Benjamini-Hochberg
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
from governance.severity import SEVERITY_LEVELS

KEY_COLUMNS = ["metric_name", "region", "category"]
# Optional input columns: the counts the noise model treats as binomial when they are not the
# numerator and denominator themselves (a ratio of sums: int_metric_sums_daily).
EFFECTIVE_COLUMNS = ("effective_numerator", "effective_denominator")
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
    "cusum_up",
    "cusum_down",
    "method",
    "detector_fingerprint",
]
METHOD_RATE = "seasonal_robust_betabinomial_v1"
METHOD_GAUSSIAN = "seasonal_robust_gaussian_v1"

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
        change_k: reference value, in standard deviations of the day's own noise, of the
            two CUSUMs of each series' standardised forecast errors that find slow drifts the
            forecast keeps catching up with (default 0.5: persistent errors above half a
            standard deviation accumulate; 0 turns the test off).
        change_score_cap: a day's standardised error enters the CUSUMs clipped at this many
            standard deviations, so one outlier cannot make a drift (default 4).
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
    change_k: float = 0.5
    change_score_cap: float = 4.0

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
    for flag in ("is_mature", "is_complete"):
        if flag in df.columns:
            df = df.loc[df[flag].fillna(False).astype(bool).to_numpy()]
    cols = [*KEY_COLUMNS, "metric_date", "numerator", "denominator"]
    cols += [c for c in ("value", *EFFECTIVE_COLUMNS) if c in df.columns]
    df = df[cols].copy()
    num = pd.to_numeric(df["numerator"], errors="coerce").astype(float)
    den = pd.to_numeric(df["denominator"], errors="coerce").astype(float)
    df["numerator"] = num
    df["denominator"] = den
    # The binomial counts of the noise model: the effective counts of a ratio of sums when
    # given (metric_registry.yml `interval`: the Kish effective sample size), else the counts.
    for column, counts in zip(EFFECTIVE_COLUMNS, (num, den), strict=True):
        given = df[column] if column in df.columns else pd.Series(np.nan, index=df.index)
        df[column] = pd.to_numeric(given, errors="coerce").astype(float).fillna(counts)
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
#
# Every function below works on trailing windows shaped (S, T, D): S series, T evaluated days,
# D = the seasonal window in days, oldest first, the evaluated day not included. A window day
# carries the series' value, its events (numerator) and its trials (denominator). Proportion
# series ("rates") get a beta-binomial model, the others a Gaussian one.
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


@dataclass
class _History:
    """The trailing windows of a block of (series, day) cells after exclusions and screening,
    with the sums every estimate below reuses. Array shapes: (S, T, D) per window day,
    (S, T, 7) per weekday (index 0 = the evaluated day's weekday), (S, T, B, L) per block of L
    days, (S, T) per cell."""

    values: np.ndarray  # window values, NaN where unusable or left out
    kept: np.ndarray  # usable window days that survived exclusions and screening
    events: np.ndarray  # kept numerators, 0 elsewhere
    trials: np.ndarray  # kept denominators, 0 elsewhere
    prior_events: float
    prior_trials: float
    weekday_of_pos: np.ndarray  # (D,) weekday of each window position
    in_level: np.ndarray  # (D,) the level window (the last `window_days` days)
    history_days: np.ndarray  # usable level-window days before exclusions
    # level window
    level_days: np.ndarray
    level_events: np.ndarray
    level_trials: np.ndarray
    level_events_by_pos: np.ndarray
    level_trials_by_pos: np.ndarray
    # weekday sums over the seasonal window
    weekday_events: np.ndarray
    weekday_trials: np.ndarray
    weekday_days: np.ndarray
    # noise (dispersion) window, in blocks of one local level each
    noise_kept: np.ndarray
    noise_days: np.ndarray
    block_of_pos: np.ndarray  # (D,)
    noise_block_events: np.ndarray  # (S, T, B, L)
    noise_block_trials: np.ndarray  # (S, T, B, L)
    block_events: np.ndarray  # (S, T, B): every kept day of the block
    block_trials: np.ndarray
    blocks_used: np.ndarray
    season_share: np.ndarray  # noise-window days / seasonal-window days kept

    def by_weekday(self, x: np.ndarray) -> np.ndarray:
        """(S, T, D) -> (S, T, weeks, 7)."""
        s, t, d = x.shape
        return x.reshape(s, t, d // 7, 7)

    def by_block(self, x: np.ndarray) -> np.ndarray:
        """(S, T, D) -> (S, T, blocks, block days)."""
        return x.reshape(self.noise_block_events.shape)

    def at_pos(self, per_weekday: np.ndarray) -> np.ndarray:
        """A per-weekday (S, T, 7) quantity at every window position, (S, T, D)."""
        return per_weekday[..., self.weekday_of_pos]

    def residual_dof(self, weekday_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Degrees of freedom left in the noise window and the small-sample correction of a
        mean squared residual: one degree of freedom per local level, plus the weekday
        factors as far as they are used (6 free factors; a factor shrunk away costs
        nothing)."""
        used = self.blocks_used + weekday_weight.sum(-1) * (6.0 / 7.0) * self.season_share
        dof = np.maximum(self.noise_days - used, 1.0)
        return dof, np.where(self.noise_days > 0, self.noise_days / dof, 1.0)


def _screen_outliers(
    values: np.ndarray,
    events: np.ndarray,
    trials: np.ndarray,
    is_rate: bool,
    p: AnomalyParams,
    prior_events: float,
    prior_trials: float,
) -> np.ndarray:
    """Window days further than ``screen_z`` robust standard deviations from both their
    same-weekday median and the window median (binomial noise included for rates)."""
    s_count, t_count, d = values.shape
    weeks = d // 7
    by_weekday = values.reshape(s_count, t_count, weeks, 7)
    weekday_median, _ = nanmedian_last(by_weekday.transpose(0, 1, 3, 2))
    window_median, n_usable = nanmedian_last(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        if is_rate:
            rate = (events.sum(-1) + prior_events) / (trials.sum(-1) + prior_trials)
            rate = np.clip(rate, _EPS, 1 - _EPS)
            sd = np.sqrt(rate[..., None] * (1 - rate[..., None]) / trials)
        else:
            sd = np.ones_like(values)
        z_weekday = (by_weekday - weekday_median[:, :, None, :]).reshape(values.shape) / sd
        z_window = (values - window_median[..., None]) / sd
    weekday_group = np.maximum(n_usable / 7.0, 2.0)
    spread_weekday = (
        MAD_TO_SD * nanmedian_last(np.abs(z_weekday))[0] / np.sqrt(1.0 - 1.0 / weekday_group)
    )
    spread_window = MAD_TO_SD * nanmedian_last(np.abs(z_window))[0]
    if is_rate:
        floor = np.ones_like(spread_weekday)
    else:
        floor = np.maximum(
            p.gaussian_min_relative_scale * np.abs(window_median), p.gaussian_min_absolute_scale
        )
    spread_weekday = np.fmax(spread_weekday, floor)
    spread_window = np.fmax(spread_window, floor)
    return (np.abs(z_weekday) > p.screen_z * spread_weekday[..., None]) & (
        np.abs(z_window) > p.screen_z * spread_window[..., None]
    )


def _history(
    values: np.ndarray,
    events: np.ndarray,
    trials: np.ndarray,
    excluded: np.ndarray,
    is_rate: bool,
    p: AnomalyParams,
) -> _History:
    """Drop the excluded days (earlier flags) and the screened outliers from the windows and
    precompute the sums of the level, weekday and noise estimates."""
    s_count, t_count, d = values.shape
    prior_events = p.prior_events if is_rate else 0.0
    prior_trials = p.prior_trials if is_rate else 0.0
    weekday_of_pos = np.arange(d) % 7  # 0 == weekday of the evaluated day
    in_level = np.arange(d) >= d - p.window_days
    history_days = np.count_nonzero(~np.isnan(values) & in_level, axis=-1)
    values = np.where(excluded, np.nan, values)
    events = np.where(excluded, 0.0, events)
    trials = np.where(excluded, 0.0, trials)
    outlier = _screen_outliers(values, events, trials, is_rate, p, prior_events, prior_trials)
    kept = ~np.isnan(values) & ~outlier
    events = np.where(kept, events, 0.0)
    trials = np.where(kept, trials, 0.0)

    weekly = (s_count, t_count, d // 7, 7)
    weekday_days = kept.reshape(weekly).sum(2)
    in_noise = np.arange(d) >= d - min(p.dispersion_days or d, d)
    noise_kept = kept & in_noise
    noise_days = noise_kept.sum(-1)
    # Noise is measured around a piecewise-constant local level (one per block of
    # `level_block_days`), so a level shift or slow drift inside the window is not taken for
    # day-to-day noise.
    block = _block_days(p, d)
    blocks = (s_count, t_count, d // block, block)
    return _History(
        values=values,
        kept=kept,
        events=events,
        trials=trials,
        prior_events=prior_events,
        prior_trials=prior_trials,
        weekday_of_pos=weekday_of_pos,
        in_level=in_level,
        history_days=history_days,
        level_days=(kept & in_level).sum(-1),
        level_events=np.where(in_level, events, 0.0).sum(-1),
        level_trials=np.where(in_level, trials, 0.0).sum(-1),
        level_events_by_pos=np.where(in_level, events, 0.0),
        level_trials_by_pos=np.where(in_level, trials, 0.0),
        weekday_events=events.reshape(weekly).sum(2),
        weekday_trials=trials.reshape(weekly).sum(2),
        weekday_days=weekday_days,
        noise_kept=noise_kept,
        noise_days=noise_days,
        block_of_pos=np.arange(d) // block,
        noise_block_events=np.where(noise_kept, events, 0.0).reshape(blocks),
        noise_block_trials=np.where(noise_kept, trials, 0.0).reshape(blocks),
        block_events=events.reshape(blocks).sum(-1),
        block_trials=trials.reshape(blocks).sum(-1),
        blocks_used=np.count_nonzero(noise_kept.reshape(blocks).any(-1), axis=-1),
        season_share=noise_days / np.maximum(weekday_days.sum(-1), 1),
    )


def _shrink(raw: np.ndarray, neutral: float, variance: np.ndarray):
    """Positive-part James-Stein shrinkage of weekday effects towards ``neutral``: an effect
    is kept only as far as it exceeds its own sampling variance. Returns ``(weight, shrunk)``."""
    deviation2 = (raw - neutral) ** 2
    weight = np.where(
        deviation2 > 0, np.clip(1.0 - variance / np.where(deviation2 > 0, deviation2, 1.0), 0, 1), 0
    )
    return weight, neutral + weight * (raw - neutral)


# ---- proportions: beta-binomial ------------------------------------------------------------


def _rate_rho_moment(
    h: _History, factor: np.ndarray, weekday_weight: np.ndarray, p: AnomalyParams
) -> tuple[np.ndarray, np.ndarray]:
    """Moment estimate of the intra-class correlation rho around one local level per block
    and the weekday profile ``factor``; returns ``(rho, degrees of freedom)``.

    Huber-type: residuals in binomial standard units are clipped at ``dispersion_clip_z``
    robust standard deviations (MAD, never below the binomial 1), so a few incident-like days
    that slipped through the screen cannot inflate rho; the sum is rescaled to stay unbiased
    under normality. Days with few expected events have skewed, far from normal residuals:
    clipping them would bias rho down, so they are left as they are.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_trials = np.where(h.noise_kept, 1.0 / np.where(h.noise_kept, h.trials, 1.0), 0.0)
        binomial_part = (h.noise_kept * 1.0 - inv_trials).sum(-1)
        sum_inv_trials = inv_trials.sum(-1)
        trials_safe = np.where(h.noise_kept, h.trials, 1.0)
        factor_pos = h.at_pos(factor)
        block_level = (h.noise_block_events.sum(-1) + h.prior_events) / (
            (h.noise_block_trials * h.by_block(factor_pos)).sum(-1) + h.prior_trials
        )
        mu = np.clip(block_level[..., h.block_of_pos] * factor_pos, _EPS, 1 - _EPS)
        sq = np.where(h.noise_kept, (h.values - mu) ** 2 / (mu * (1 - mu)), 0.0)
        clip_z = p.dispersion_clip_z
        if clip_z is not None:
            r2 = sq * trials_safe
            robust = MAD_TO_SD * nanmedian_last(np.where(h.noise_kept, np.sqrt(r2), np.nan))[0]
            cap = (clip_z * np.fmax(robust, 1.0)) ** 2
            clipped = (
                np.minimum(r2, cap[..., None])
                / trials_safe
                / winsorized_normal_second_moment(clip_z)
            )
            sq = np.where(_clippable(mu, trials_safe), clipped, sq)
        dof, correction = h.residual_dof(weekday_weight)
        rho = np.where(
            binomial_part > 0, (correction * sq.sum(-1) - sum_inv_trials) / binomial_part, 0.0
        )
        se = np.sqrt(2.0 / dof) * (sum_inv_trials + np.maximum(rho, 0.0) * binomial_part)
        se = np.where(binomial_part > 0, se / binomial_part, 0.0)
    return rho, dof, se


def _rho_from_differences(
    h: _History, factor: np.ndarray, p: AnomalyParams
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
    keep = h.noise_kept
    factor_pos = h.at_pos(factor)
    # One pooled level for the noise model (the differences remove the level itself).
    total_trials = (h.noise_block_trials.reshape(h.trials.shape) * factor_pos).sum(-1)
    level = np.clip(
        h.noise_block_events.sum(-1).sum(-1) / np.maximum(total_trials, _EPS), _EPS, 1 - _EPS
    )
    mu = np.clip(level[..., None] * factor_pos, _EPS, 1 - _EPS)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_unit = np.where(keep, mu * (1 - mu) / factor_pos**2, 0.0)
        trials_safe = np.where(keep, h.trials, 1.0)
        var_binomial = var_unit / trials_safe
        x = np.where(keep, h.values / factor_pos, 0.0)
        pair = keep[..., 1:] & keep[..., :-1]
        pair_var = var_binomial[..., 1:] + var_binomial[..., :-1]
        r2 = np.where(pair, (x[..., 1:] - x[..., :-1]) ** 2 / pair_var, np.nan)
        excess = var_unit[..., 1:] - var_binomial[..., 1:] + var_unit[..., :-1]
        excess = np.where(pair, (excess - var_binomial[..., :-1]) / pair_var, 0.0)
        n_pairs = pair.sum(-1)
        clip_z = p.dispersion_clip_z
        if clip_z is not None:
            robust = MAD_TO_SD * nanmedian_last(np.sqrt(r2))[0]
            cap = (clip_z * np.fmax(robust, 1.0)) ** 2
            clipped = np.minimum(r2, cap[..., None]) / winsorized_normal_second_moment(clip_z)
            both = _clippable(mu[..., 1:], trials_safe[..., 1:]) & _clippable(
                mu[..., :-1], trials_safe[..., :-1]
            )
            r2 = np.where(both, clipped, r2)
        sum_excess = excess.sum(-1)
        rho = (np.nansum(r2, -1) - n_pairs) / sum_excess
        rho = np.where((n_pairs >= 7) & (sum_excess > 0), rho, np.nan)
        # Consecutive differences share a day (lag-one correlation -1/2): about two thirds of
        # the pairs' degrees of freedom.
        dof = np.maximum(2.0 * n_pairs / 3.0, 1.0)
        rho_pos = np.maximum(np.nan_to_num(rho), 0.0)
        se = (n_pairs + rho_pos * sum_excess) / np.where(sum_excess > 0, sum_excess, 1)
        se = np.sqrt(2.0 / dof) * se
    return rho, se


def _family_overdispersion(h: _History, group: np.ndarray):
    """Overdispersion of sibling series (same metric, same hierarchy level) pooled.

    ``group`` (S,) labels siblings. Each series' Pearson statistic against its own noise-window
    rate has expectation ``sum(1 + (n_j - 1) rho)`` under a beta-binomial law; summed over the
    siblings it gives one moment estimate of rho per group that small segments can share: a
    segment with a handful of events a day cannot measure its own day-to-day variation, its
    siblings together can. Returns, per series, ``(rho, se, events)``: the group's rho and
    standard error, and the series' own expected events (the smaller of events and non-events)
    in the window, which says whether its own estimate can be trusted.
    """
    events = np.where(h.noise_kept, h.events, 0.0)
    trials = np.where(h.noise_kept, h.trials, 0.0)
    used = h.noise_kept & (trials > 0)
    rate = (events.sum(-1) + h.prior_events) / (trials.sum(-1) + h.prior_trials)
    rate = np.clip(rate, _EPS, 1 - _EPS)
    expected = trials * rate[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = np.where(used, (events - expected) ** 2 / (expected * (1 - rate[..., None])), 0)
    chi2 = pearson.sum(-1)
    dof = np.maximum(used.sum(-1) - 1, 0)
    excess = np.where(used, np.maximum(trials - 1.0, 0.0), 0.0).sum(-1)
    expected_events = np.minimum(rate, 1 - rate) * trials.sum(-1)
    rho = np.zeros_like(chi2)
    se = np.zeros_like(chi2)
    for g in np.unique(group):
        members = group == g
        total_dof = dof[members].sum(0)
        total_excess = excess[members].sum(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (chi2[members].sum(0) - total_dof) / total_excess
            e = np.sqrt(2.0 * np.maximum(total_dof, 1)) / total_excess
        rho[members] = np.where(total_excess > 0, np.maximum(r, 0.0), 0.0)
        se[members] = np.where(total_excess > 0, e, 0.0)
    return rho, se, expected_events


def _rate_weekday_profile(h: _History, p: AnomalyParams):
    """Day-of-week factors of a rate: each weekday's kept events over the events its trials
    would give at their block's local level (so a level shift inside the window does not
    masquerade as a weekday effect), shrunk towards 1 against their sampling variance
    (binomial plus a preliminary rho). Returns ``(factor, weight, factor_variance)``."""
    block_rate = (h.block_events + h.prior_events) / (h.block_trials + h.prior_trials)
    expected = h.by_weekday(h.trials * block_rate[..., h.block_of_pos]).sum(2)
    raw = (h.weekday_events + h.prior_events / 7) / (expected + h.prior_events / 7)
    raw = np.where((h.weekday_days > 0) & np.isfinite(raw), raw, 1.0)
    rho0, _, _ = _rate_rho_moment(h, raw, np.ones_like(raw), p)
    rho0 = np.maximum(rho0, 0.0)
    pooled = (h.weekday_events.sum(-1) + h.prior_events) / (
        h.weekday_trials.sum(-1) + h.prior_trials
    )
    pooled = np.clip(pooled, _EPS, 1 - _EPS)[..., None]
    variance = (
        pooled
        * (1 - pooled)
        * (
            1.0 / (h.weekday_trials + h.prior_trials / 7)
            + rho0[..., None] / np.maximum(h.weekday_days, 1)
        )
    ) / pooled**2
    weight, factor = _shrink(raw, 1.0, variance)
    return factor, weight, variance


def _rate_noise(
    h: _History,
    factor: np.ndarray,
    weight: np.ndarray,
    p: AnomalyParams,
    group: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The overdispersion rho used by the test, with its degrees of freedom.

    The smaller of the block and the consecutive-difference moment estimates, raised by
    ``overdispersion_margin`` standard errors (an upper-confidence value: a short history that
    happens to look binomial must not understate the day-to-day variation of a large
    segment); a segment with fewer than ``min_dispersion_events`` expected events takes its
    siblings' pooled value instead.
    """
    rho, dof, se = _rate_rho_moment(h, factor, weight, p)
    if p.dispersion_from_differences:
        rho_diff, se_diff = _rho_from_differences(h, factor, p)
        use_diff = np.isfinite(rho_diff) & (rho_diff < rho)
        rho = np.where(use_diff, rho_diff, rho)
        se = np.where(use_diff, se_diff, se)
    rho = np.maximum(rho, 0.0) + p.overdispersion_margin * se
    if group is not None and p.min_dispersion_events:
        rho_siblings, se_siblings, own_events = _family_overdispersion(h, group)
        few = own_events < p.min_dispersion_events
        rho = np.where(few, rho_siblings + p.overdispersion_margin * se_siblings, rho)
    return np.clip(rho, 0.0, p.max_overdispersion), dof


@dataclass
class _Forecast:
    expected: np.ndarray  # expected value of the evaluated day
    forecast_var: np.ndarray  # variance of that expectation
    seasonal: np.ndarray  # weekday factor of the evaluated day (rates; NaN otherwise)
    scale: np.ndarray  # rho for rates, the residual standard deviation otherwise
    dof: np.ndarray  # degrees of freedom of the noise estimate


def _fit_rate(h: _History, p: AnomalyParams, group: np.ndarray | None) -> _Forecast:
    """Level (deseasonalised pooled rate of the level window), weekday factor and rho."""
    with np.errstate(divide="ignore", invalid="ignore"):
        factor, weight, factor_var = _rate_weekday_profile(h, p)
        rho, dof = _rate_noise(h, factor, weight, p, group)
        level = (h.level_events + h.prior_events) / (
            (h.level_trials_by_pos * h.at_pos(factor)).sum(-1) + h.prior_trials
        )
        level = np.clip(level, _EPS, 1 - _EPS)
        expected = np.clip(level * factor[..., 0], _EPS, 1 - _EPS)
        level_var = (
            (1 - level)
            / level
            * (1.0 / (h.level_trials + h.prior_trials) + rho / np.maximum(h.level_days, 1))
        )
        forecast_var = expected**2 * (level_var + weight[..., 0] ** 2 * factor_var[..., 0])
    return _Forecast(expected, forecast_var, factor[..., 0], rho, dof)


def _gaussian_residual_var(h: _History, effect: np.ndarray, weekday_weight: np.ndarray):
    """Mean squared residual around one local level per block plus the weekday effects."""
    effect_pos = h.at_pos(effect)
    block_level = (h.noise_block_events - h.noise_block_trials * h.by_block(effect_pos)).sum(-1)
    block_level = block_level / h.noise_block_trials.sum(-1)
    block_level = np.where(np.isfinite(block_level), block_level, 0.0)
    residual = h.values - block_level[..., h.block_of_pos] - effect_pos
    squares = np.where(h.noise_kept, residual**2, 0.0).sum(-1)
    dof, correction = h.residual_dof(weekday_weight)
    return correction * squares / np.maximum(h.noise_days, 1), dof


def _fit_gaussian(h: _History, p: AnomalyParams) -> _Forecast:
    """Level, additive weekday effects (shrunk towards 0) and residual spread of a series that
    is not a proportion, with a spread floor so flat series do not alarm."""
    with np.errstate(divide="ignore", invalid="ignore"):
        block_mean = np.where(
            h.block_trials > 0, h.block_events / np.where(h.block_trials > 0, h.block_trials, 1), 0
        )
        expected = h.by_weekday(h.trials * block_mean[..., h.block_of_pos]).sum(2)
        raw = (h.weekday_events - expected) / h.weekday_trials
        raw = np.where((h.weekday_days > 0) & np.isfinite(raw), raw, 0.0)
        raw_level = (h.level_events_by_pos - h.level_trials_by_pos * h.at_pos(raw)).sum(
            -1
        ) / h.level_trials
        floor = np.maximum(
            p.gaussian_min_relative_scale * np.abs(raw_level), p.gaussian_min_absolute_scale
        )
        sigma2_raw, _ = _gaussian_residual_var(h, raw, np.ones_like(raw))
        effect_var = np.fmax(sigma2_raw, floor**2)[..., None] / np.maximum(h.weekday_days, 1)
        weight, effect = _shrink(raw, 0.0, effect_var)
        sigma2, dof = _gaussian_residual_var(h, effect, weight)
        sigma2 = np.fmax(sigma2, floor**2)
        level = (h.level_events_by_pos - h.level_trials_by_pos * h.at_pos(effect)).sum(
            -1
        ) / h.level_trials
        expected_value = level + effect[..., 0]
        forecast_var = (
            sigma2 / np.maximum(h.level_days, 1) + weight[..., 0] ** 2 * effect_var[..., 0]
        )
    seasonal = np.full(expected_value.shape, np.nan)
    return _Forecast(expected_value, forecast_var, seasonal, np.sqrt(sigma2), dof)


# ---- tests of the evaluated day --------------------------------------------------------------


def _test_rate_day(
    fc: _Forecast, h: _History, value: np.ndarray, trials: np.ndarray, p: AnomalyParams
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-value of the day's rate against the beta-binomial forecast: the larger of
    an exact binomial tail on the Kish effective sample size and a Pearson type III tail with
    the beta-binomial's mean, variance and skewness, the spread widened for the uncertainty of
    rho (Student-t at Satterthwaite degrees of freedom). Returns ``(p, predictive variance)``."""
    mu, rho = fc.expected, fc.scale
    with np.errstate(divide="ignore", invalid="ignore"):
        n = trials
        binom = mu * (1 - mu)
        var_total = binom * (1.0 + (n - 1.0) * rho) / n + fc.forecast_var
        n_eff = np.clip(binom / var_total, 1e-6, n)
        k_eff = np.clip(value * n_eff, 0.0, n_eff)
        p_binomial = binomial_two_sided_p(k_eff, n_eff, mu)
        var_rho = binom * rho * ((n - 1.0) / n + 1.0 / np.maximum(h.level_days, 1))
        df_eff = np.where(var_rho > 0, fc.dof * (var_total / var_rho) ** 2, _MAX_DF)
        df_eff = np.clip(df_eff, 1.0, _MAX_DF)
        sd_total = np.sqrt(var_total)
        if p.student_t_guard:
            # Rho comes from a short history: widen the spread by the ratio of the normal
            # to the Student-t quantile at the observed deviation (Satterthwaite df).
            z_c = np.maximum(np.abs(value - mu) - 0.5 / n, 0.0) / sd_total
            z_n = stats.norm.isf(stats.t.sf(z_c, df_eff))
            widen = np.where(z_c > 0, np.clip(z_c / z_n, 1.0, None), 1.0)
            sd_total = sd_total * np.where(np.isfinite(widen), widen, 1.0)
        # Skewness of the beta-binomial, with the forecast's own uncertainty folded into rho.
        rho_total = rho + fc.forecast_var * n / (binom * np.maximum(n - 1.0, 1.0))
        skew = betabinomial_rate_skewness(mu, n, rho_total)
        p_pearson3 = pearson3_two_sided_p(value, mu, sd_total, skew, 0.5 / n)
    return np.fmax(p_binomial, p_pearson3), var_total


def _test_gaussian_day(fc: _Forecast, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Student-t p-value of the day's value; returns ``(p, predictive variance)``."""
    var_total = fc.scale**2 + fc.forecast_var
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(value - fc.expected) / np.sqrt(var_total)
    return 2.0 * stats.t.sf(z, fc.dof), var_total


def _score_windows(
    window_values: np.ndarray,
    window_events: np.ndarray,
    window_trials: np.ndarray,
    excluded: np.ndarray,
    value: np.ndarray,
    events: np.ndarray,
    trials: np.ndarray,
    is_rate: bool,
    p: AnomalyParams,
    group: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Forecast and test (series, day) cells from their trailing windows.

    ``window_values``, ``window_events``, ``window_trials`` are (S, T, D) trailing windows
    (D = seasonal window, oldest first, the evaluated day not included) of value, numerator
    and denominator, NaN / 0 where a day has no usable observation; ``excluded`` marks window
    days left out of the history (earlier flags). ``value``, ``events``, ``trials`` are the
    evaluated days, (S, T). ``group`` (S,) labels sibling series (same metric and hierarchy
    level) whose overdispersion estimates are pooled. Returns (S, T) arrays.
    """
    h = _history(window_values, window_events, window_trials, excluded, is_rate, p)
    judgeable = np.isfinite(value) & np.isfinite(events) & (trials > 0)
    value = np.where(judgeable, value, np.nan)
    if is_rate:
        fc = _fit_rate(h, p, group)
        p_value, var_total = _test_rate_day(fc, h, value, np.where(judgeable, trials, np.nan), p)
    else:
        fc = _fit_gaussian(h, p)
        p_value, var_total = _test_gaussian_day(fc, value)
    judged = (
        judgeable
        & (h.history_days >= p.min_history)
        & (h.level_days >= math.ceil(p.min_history / 2))
        & np.isfinite(fc.expected)
    )
    has_history = h.history_days > 0
    return {
        "expected_value": np.where(has_history, fc.expected, np.nan),
        "predictive_sd": np.where(has_history, np.sqrt(var_total), np.nan),
        "forecast_var": np.where(has_history, fc.forecast_var, np.nan),
        "p_value": np.where(judged, np.minimum(p_value, 1.0), np.nan),
        "history_days": h.history_days,
        "history_excluded": h.history_days - h.level_days,
        "seasonal_factor": np.where(has_history, fc.seasonal, np.nan),
        "overdispersion": np.where(has_history, fc.scale, np.nan),
    }


def _is_material(delta: np.ndarray, mu: np.ndarray, p: AnomalyParams) -> np.ndarray:
    return (
        (np.abs(delta) >= p.min_absolute_change)
        & (np.abs(delta) >= p.min_relative_change * np.abs(mu))
        & (delta != 0)
    )


def _run_p_value(
    out: dict[str, np.ndarray], k: np.ndarray, n: np.ndarray, n_rate: int, t: int, run_days: int
) -> np.ndarray:
    """Two-sided p-value of the last ``run_days`` days of every proportion series together
    (day ``t`` included); 1 where a day of the run was not judged or the run moves against
    day ``t``.

    A lasting shift of a few days that no single day makes significant (a rate with a few
    dozen trials a day) is plain in their sum: the observed events of the run are tested
    against the events the forecasts of those days expected, with each day's binomial and
    extra-binomial noise and the forecasts' shared error (fully correlated across the run,
    the conservative choice).
    """
    sl = slice(t - run_days + 1, t + 1)
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
    return np.where(judged & same_side & (total_n > 0) & np.isfinite(p_run), p_run, 1.0)


def _change_p_value(
    cusum: np.ndarray, p_day: np.ndarray, direction: np.ndarray, p: AnomalyParams
) -> np.ndarray:
    """Advance the two CUSUMs of every series (``cusum``: (2, S), up and down, updated in
    place) by the day's standardised forecast error and return the p-value of the side in the
    day's direction, ``2 exp(-2 k s)``; 1 where the day is not judged."""
    with np.errstate(invalid="ignore"):
        z = direction * stats.norm.isf(p_day / 2.0)
    z = np.clip(z, -p.change_score_cap, p.change_score_cap)
    judged = np.isfinite(z)
    k = p.change_k
    cusum[0] = np.where(judged, np.maximum(0.0, cusum[0] + z - k), cusum[0])
    cusum[1] = np.where(judged, np.maximum(0.0, cusum[1] - z - k), cusum[1])
    side = np.where(direction > 0, cusum[0], cusum[1])
    return np.where(judged & (direction != 0), np.minimum(1.0, 2.0 * np.exp(-2.0 * k * side)), 1.0)


def _combine_looks(p_day: np.ndarray, looks: list[np.ndarray]) -> np.ndarray:
    """Bonferroni over the day's own test and the other looks at it: ``(1 + looks) *
    min(p_day, looks...)``, capped at 1; unjudged days keep their null."""
    if not looks:
        return p_day
    smallest = np.minimum.reduce([p_day, *looks])
    return np.where(np.isfinite(p_day), np.minimum(1.0, (1 + len(looks)) * smallest), p_day)


_DAY_RESULTS = (
    "expected_value",
    "predictive_sd",
    "forecast_var",
    "p_value",
    "history_days",
    "history_excluded",
    "seasonal_factor",
    "overdispersion",
)


@dataclass(frozen=True)
class _Grid:
    """The input as dense (series x day) arrays, and the same padded with ``season_days``
    empty days in front so that day t's trailing window is the slice ``[t, t + season_days)``
    (days without a usable observation are NaN values and 0 events and trials there)."""

    value: np.ndarray
    events: np.ndarray
    trials: np.ndarray
    padded_value: np.ndarray
    padded_events: np.ndarray
    padded_trials: np.ndarray
    season_days: int


def _grid(local, day, y_model, num, den, n_series, t_count, season_days) -> _Grid:
    shape = (n_series, t_count)
    value = np.full(shape, np.nan)
    events = np.full(shape, np.nan)
    trials = np.zeros(shape)
    value[local, day] = y_model
    events[local, day] = num
    trials[local, day] = np.nan_to_num(den)
    usable = np.isfinite(value) & np.isfinite(events) & (trials > 0)
    pad = ((0, 0), (season_days, 0))
    return _Grid(
        value=value,
        events=events,
        trials=trials,
        padded_value=np.pad(np.where(usable, value, np.nan), pad, constant_values=np.nan),
        padded_events=np.pad(np.where(usable, events, 0.0), pad),
        padded_trials=np.pad(np.where(usable, trials, 0.0), pad),
        season_days=season_days,
    )


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
    prior_cusum: np.ndarray | None = None,
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
    forecasts enter the run test), not flagged; their results are not meaningful. The CUSUMs
    start from ``prior_cusum`` ((2, series): their values at the end of day ``resume_at - 1``).
    """
    season_days = p.season_days
    grid = _grid(local, day, y_model, num, den, n_series, t_count, season_days)
    flagged = np.zeros((n_series, t_count + season_days), dtype=bool)
    if resume_at > 0 and prior_flags is not None:
        flagged[:, season_days : season_days + resume_at] = prior_flags[:, :resume_at]
    first_day = max(resume_at - (p.run_days - 1), 0) if resume_at > 0 else 0
    shape = (n_series, t_count)
    out = {name: np.full(shape, np.nan) for name in _DAY_RESULTS}
    out["q_value"] = np.full(shape, np.nan)
    out["_value"] = grid.value
    out["is_anomaly"] = np.zeros(shape, dtype=bool)
    out["cusum_up"] = np.full(shape, np.nan)
    out["cusum_down"] = np.full(shape, np.nan)
    cusum = np.zeros((2, n_series)) if prior_cusum is None else prior_cusum.astype(float).copy()
    for t in np.unique(day):
        if t < first_day:
            continue
        excluded = _excluded_history(grid, flagged, t, p)
        _forecast_day(out, grid, excluded, t, n_rate, p, pool_group)
        judges_change = t >= resume_at
        flag = _flag_day(out, grid, cusum, t, n_rate, p, family, judges_change)
        if judges_change:
            flagged[:, t + season_days] = flag
            cusum[:, flag] = 0.0  # a flagged day restarts its series' CUSUMs
            out["cusum_up"][:, t], out["cusum_down"][:, t] = cusum
    return out


def _excluded_history(grid: _Grid, flagged: np.ndarray, t: int, p: AnomalyParams) -> np.ndarray:
    """Which days of day t's trailing window its history leaves out: the flagged ones, unless
    they exceed ``max_excluded_share`` of the series' level window (then none)."""
    window = slice(t, t + grid.season_days)
    excluded = flagged[:, window]
    if not p.exclude_flagged:
        return np.zeros_like(excluded)
    if excluded.any():
        in_level = np.arange(grid.season_days) >= grid.season_days - p.window_days
        observed = ~np.isnan(grid.padded_value[:, window]) & in_level
        n_flagged = np.count_nonzero(excluded & observed, axis=1)
        allowed = n_flagged <= p.max_excluded_share * np.count_nonzero(observed, axis=1)
        excluded = excluded & allowed[:, None]
    return excluded


def _forecast_day(out, grid: _Grid, excluded, t: int, n_rate: int, p, pool_group) -> None:
    """Forecast and test day t of every series from its trailing window, proportion series
    (the first ``n_rate``) and Gaussian ones apart; writes the day's column of ``out``."""
    window = slice(t, t + grid.season_days)
    n_series = grid.value.shape[0]
    for lo, hi, is_rate in ((0, n_rate, True), (n_rate, n_series, False)):
        if hi <= lo:
            continue
        res = _score_windows(
            grid.padded_value[lo:hi, None, window],
            grid.padded_events[lo:hi, None, window],
            grid.padded_trials[lo:hi, None, window],
            excluded[lo:hi, None, :],
            grid.value[lo:hi, t : t + 1],
            grid.events[lo:hi, t : t + 1],
            grid.trials[lo:hi, t : t + 1],
            is_rate,
            p,
            None if pool_group is None else pool_group[lo:hi],
        )
        for name in _DAY_RESULTS:
            out[name][lo:hi, t] = res[name][:, 0]


def _flag_day(out, grid: _Grid, cusum, t, n_rate, p, family, judges_change) -> np.ndarray:
    """Combine day t's own test with the run test and (when ``judges_change``) the CUSUM
    change test, adjust across series (per family when given) and flag the material moves;
    writes p_value, q_value and is_anomaly of day t and returns the flags."""
    p_day = out["p_value"][:, t].copy()
    expected = out["expected_value"][:, t]
    direction = np.sign(grid.value[:, t] - expected)
    rate_looks, gaussian_looks = [], []
    if p.run_days > 1 and n_rate and t >= p.run_days - 1:
        rate_looks.append(_run_p_value(out, grid.events, grid.trials, n_rate, t, p.run_days))
    if p.change_k > 0 and judges_change:
        p_change = _change_p_value(cusum, p_day, direction, p)
        rate_looks.append(p_change[:n_rate])
        gaussian_looks.append(p_change[n_rate:])
    out["p_value"][:n_rate, t] = _combine_looks(p_day[:n_rate], rate_looks)
    out["p_value"][n_rate:, t] = _combine_looks(p_day[n_rate:], gaussian_looks)
    if family is None:
        q = benjamini_hochberg_single(out["p_value"][:, t])
    else:
        q = np.full(len(p_day), np.nan)
        for members in family:
            q[members] = benjamini_hochberg_single(out["p_value"][members, t])
    delta = grid.value[:, t] - expected
    flag = (q <= p.fdr_alpha) & _is_material(delta, expected, p)
    out["q_value"][:, t] = q
    out["is_anomaly"][:, t] = flag
    return flag


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def independent_series_groups(params: AnomalyParams | None = None) -> list[str]:
    """SQL conditions over ``metrics_daily`` whose values split its series into groups that
    :func:`detect_metric_anomalies` judges independently: the result of a group alone equals
    its rows in the result of all series. Series are coupled only within a Benjamini-Hochberg
    family (one level of the segment hierarchy across all metrics, with ``fdr_by_level``) and
    within a pooling group (one metric and level): so the groups are the hierarchy levels, or
    all series at once without ``fdr_by_level``. Distributed engines run one group per task."""
    p = params or AnomalyParams()
    return ["region = 'ALL'", "category = 'ALL'"] if p.fdr_by_level else []


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
            numerator, denominator`` and optionally ``value``, ``is_mature``,
            ``is_complete`` and ``effective_numerator``, ``effective_denominator`` (the counts
            the noise model treats as binomial for a ratio of sums; the numerator and
            denominator otherwise, which the output keeps either way). Rows with
            ``is_mature`` or ``is_complete`` false (a cohort still filling in, or one before
            the coverage of the source its metric counts) are neither judged nor used as
            history.
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
        overdispersion, cusum_up, cusum_down, method, detector_fingerprint``.
        ``overdispersion`` is rho for proportions and the residual standard deviation for
        Gaussian series; ``cusum_up`` / ``cusum_down`` are the drift CUSUMs after the day.
    """
    p = params or AnomalyParams()
    fingerprint = detector_fingerprint(p)
    df = _prepare(metrics)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTPUT_COLUMNS})
    previous = _reusable(previous, fingerprint)
    changed_from = None if previous is None else _first_changed_date(df, previous)
    if previous is not None and changed_from is None:
        return _as_built(previous, OUTPUT_COLUMNS)
    # Resume the walk on the first changed day when earlier days are kept (else judge all).
    kept_rows = (
        np.zeros(len(df), dtype=bool)
        if previous is None
        else (df["_date"] < changed_from).to_numpy()
    )
    layout = _layout(df)
    resume_at, prior_flags, prior_cusum = 0, None, None
    if kept_rows.any():
        resume_at = int((changed_from - df["_date"].min()).days)
        prior_flags, prior_cusum = _prior_state(df, previous, kept_rows, layout, resume_at)
    grid = _scan_days(
        layout.local,
        layout.day,
        layout.y_model,
        layout.events,
        layout.trials,
        layout.n_series,
        layout.n_rate,
        layout.t_count,
        p,
        [np.flatnonzero(layout.level == lv) for lv in np.unique(layout.level)]
        if p.fdr_by_level
        else None,
        layout.metric_code * 4 + layout.level,  # siblings pool their overdispersion
        resume_at=resume_at,
        prior_flags=prior_flags,
        prior_cusum=prior_cusum,
    )
    results = {name: arr[layout.local, layout.day] for name, arr in grid.items()}
    out = _output_frame(df, results, layout.series_is_rate[layout.codes], p, fingerprint)
    order = np.lexsort((layout.day, layout.codes))
    out = out.iloc[order].reset_index(drop=True)
    if not kept_rows.any():
        return out
    judged = out[~kept_rows[order]]
    kept = previous.loc[previous["_date"] < changed_from, OUTPUT_COLUMNS]
    both = pd.concat([kept.astype(judged.dtypes.to_dict()), judged], ignore_index=True)
    return _as_built(both, OUTPUT_COLUMNS)


@dataclass(frozen=True)
class _Layout:
    """Where each input row sits in the dense (series x day) walk, proportion series first."""

    codes: np.ndarray  # series of each row, in key order
    day: np.ndarray  # day index of each row
    t_count: int
    n_series: int
    n_rate: int  # proportion series (the first n_rate rows of the walk)
    local: np.ndarray  # walk row of each input row
    series_is_rate: np.ndarray  # by series code
    y_model: np.ndarray  # what is modelled: events / trials or the value
    events: np.ndarray  # by row: the counts the noise model treats as binomial
    trials: np.ndarray
    level: np.ndarray  # by walk row: 0 marketplace, 1 category, 2 region, 3 both
    metric_code: np.ndarray  # by walk row


def _layout(df: pd.DataFrame) -> _Layout:
    """A series is a proportion when every row's numerator and value fit one (0 ≤ numerator ≤
    denominator, 0 ≤ value ≤ 1), else Gaussian on its value. Raises ValueError on a second row
    for the same series and day."""
    codes = df.groupby(KEY_COLUMNS, sort=True, dropna=False).ngroup().to_numpy()
    day, t_count = _day_index(df["_date"])
    n_series = int(codes.max()) + 1
    num, den = _binomial_counts(df)
    val = df["value"].to_numpy(float)
    usable = (den > 0) & np.isfinite(num) & np.isfinite(val)
    not_prop = usable & ((num < -1e-9) | (num > den * (1 + 1e-9) + 1e-9) | (val < 0) | (val > 1))
    series_is_rate = np.bincount(codes, weights=not_prop, minlength=n_series) == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        y_model = np.where(series_is_rate[codes], np.where(den > 0, num / den, np.nan), val)
    series_order = np.r_[np.flatnonzero(series_is_rate), np.flatnonzero(~series_is_rate)]
    series_rank = np.empty(n_series, dtype=np.int64)
    series_rank[series_order] = np.arange(n_series)
    local = series_rank[codes]
    cell = local * t_count + day
    occupancy = np.bincount(cell, minlength=n_series * t_count)
    if occupancy.max(initial=0) > 1:
        dup = df.iloc[int(np.flatnonzero(occupancy[cell] > 1)[0])]
        raise ValueError(
            "metrics has more than one row per (metric_name, region, category, metric_date); "
            f"first duplicate: {dup[[*KEY_COLUMNS, 'metric_date']].to_dict()}"
        )
    level = np.zeros(n_series, dtype=np.int64)
    level[local] = (df["region"].to_numpy() != "ALL") * 2 + (df["category"].to_numpy() != "ALL")
    metric_code = np.zeros(n_series, dtype=np.int64)
    metric_code[local] = pd.factorize(df["metric_name"])[0]
    return _Layout(
        codes=codes,
        day=day,
        t_count=t_count,
        n_series=n_series,
        n_rate=int(series_is_rate.sum()),
        local=local,
        series_is_rate=series_is_rate,
        y_model=y_model,
        events=num,
        trials=den,
        level=level,
        metric_code=metric_code,
    )


def _binomial_counts(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The counts the noise model treats as binomial: the effective counts (the numerator and
    denominator themselves for a count, the Kish effective counts for a ratio of sums)."""
    return df["effective_numerator"].to_numpy(float), df["effective_denominator"].to_numpy(float)


def _prior_state(df, previous, kept_rows, layout: _Layout, resume_at: int):
    """The flags of the kept days (series x day) and the CUSUMs as the last kept day of each
    series left them ((2, series), up and down)."""
    prior = df.loc[kept_rows, [*KEY_COLUMNS, "_date"]].merge(
        previous[[*KEY_COLUMNS, "_date", "is_anomaly", "cusum_up", "cusum_down"]],
        on=[*KEY_COLUMNS, "_date"],
        how="left",
    )
    local, day = layout.local[kept_rows], layout.day[kept_rows]
    prior_flags = np.zeros((layout.n_series, layout.t_count), dtype=bool)
    prior_flags[local, day] = prior["is_anomaly"].to_numpy(bool)
    # A series' CUSUMs change only on its own days, so its last kept row holds them as they
    # stood at the end of day resume_at - 1, whether or not the series has a row that day.
    with_cusum = pd.DataFrame({"local": local, "day": day}).loc[
        prior["cusum_up"].notna().to_numpy()
    ]
    last_rows = with_cusum.sort_values("day").drop_duplicates("local", keep="last").index.to_numpy()
    prior_cusum = np.zeros((2, layout.n_series))
    prior_cusum[0, local[last_rows]] = prior["cusum_up"].to_numpy(float)[last_rows]
    prior_cusum[1, local[last_rows]] = prior["cusum_down"].to_numpy(float)[last_rows]
    return prior_flags, prior_cusum


def _severity(is_anomaly, score, ratio, p: AnomalyParams) -> np.ndarray:
    """The lower of the evidence tier (|score| cuts) and the magnitude tier (ratio to the
    expected value cuts), one level above ``none`` per tier; ``none`` when not flagged."""
    evidence_tier = np.searchsorted(np.asarray(p.severity_score_cuts), np.abs(score), side="right")
    magnitude_tier = np.searchsorted(np.asarray(p.severity_ratio_cuts), ratio, side="right")
    rank = np.where(is_anomaly, 1 + np.minimum(evidence_tier, magnitude_tier), 0)
    return np.asarray(SEVERITY_LEVELS, dtype=object)[rank]


def _output_frame(df, results: dict, is_rate_row, p: AnomalyParams, fingerprint: str):
    """One output row per input row (input order): the forecast, its band, the score, the
    flag with its direction and severity, and the walk's diagnostics."""
    val = df["value"].to_numpy(float)
    mu = results["expected_value"]
    pval = results["p_value"]
    is_anomaly = results["is_anomaly"].astype(bool)
    delta = val - mu
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(np.abs(mu) > 0, delta / np.abs(mu), np.where(delta == 0, 0.0, np.inf))
        rel = np.where(np.isfinite(mu) & np.isfinite(val), rel, np.nan)
        score = np.sign(delta) * stats.norm.isf(pval / 2.0)
    score = np.clip(score, -_SCORE_CAP, _SCORE_CAP)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            is_rate_row,
            np.where(delta > 0, val / mu, mu / val),
            1.0 + np.abs(delta) / np.abs(mu),
        )
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    half = np.fmax(
        p.band_z * results["predictive_sd"],
        np.maximum(p.min_absolute_change, p.min_relative_change * np.abs(mu)),
    )
    lower = np.where(is_rate_row, np.clip(mu - half, 0.0, 1.0), mu - half)
    upper = np.where(is_rate_row, np.clip(mu + half, 0.0, 1.0), mu + half)
    return pd.DataFrame(
        {
            "metric_name": df["metric_name"].to_numpy(),
            "region": df["region"].to_numpy(),
            "category": df["category"].to_numpy(),
            "metric_date": df["metric_date"].to_numpy(),
            "value": val,
            "numerator": df["numerator"].to_numpy(float),
            "denominator": df["denominator"].to_numpy(float),
            "expected_value": mu,
            "lower_bound": lower,
            "upper_bound": upper,
            "anomaly_score": score,
            "p_value": pval,
            "q_value": results["q_value"],
            "is_anomaly": is_anomaly,
            "direction": np.where(is_anomaly, np.where(delta > 0, "up", "down"), None).astype(
                object
            ),
            "severity": _severity(is_anomaly, score, ratio, p),
            "relative_change": rel,
            # (null only on the days a resumed walk did not judge, replaced below)
            "history_days": np.nan_to_num(results["history_days"]).astype(np.int64),
            "history_excluded": np.nan_to_num(results["history_excluded"]).astype(np.int64),
            "seasonal_factor": results["seasonal_factor"],
            "overdispersion": results["overdispersion"],
            "cusum_up": results["cusum_up"],
            "cusum_down": results["cusum_down"],
            "method": np.where(is_rate_row, METHOD_RATE, METHOD_GAUSSIAN).astype(object),
            "detector_fingerprint": fingerprint,
        }
    )


def _as_built(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` in the row order and column types :func:`detect_metric_anomalies` builds."""
    frame = frame.sort_values([*KEY_COLUMNS, "metric_date"], kind="stable")
    return pd.DataFrame({c: frame[c].to_numpy() for c in columns})
