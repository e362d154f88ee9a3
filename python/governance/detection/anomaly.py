"""Anomaly flags for the daily governance metrics (``metrics_daily``).

Every metric in ``metrics_daily`` is a ratio ``numerator / denominator`` observed per day and
segment (metric x region x category). :func:`detect_metric_anomalies` judges each mature row
against a forecast built only from that series' own past:

1. **History excludes the evaluated day.** The forecast for day *t* uses the trailing
   ``window_days`` (level) and ``7 * season_weeks`` (weekly profile) calendar days strictly
   before *t*.
2. **Robust screening of the history.** Inside every window, points that are outliers against
   both their same-weekday median and the window median (by more than ``screen_z`` robust
   standard deviations, binomial noise included) are left out of the history. A past incident
   therefore neither drags the expected value nor inflates the spread, so a later incident is
   not masked. The number of points left out is reported as ``history_excluded``.
3. **Weekly seasonality.** Day-of-week factors are pooled rates per weekday divided by the
   pooled rate of the whole seasonal window, shrunk towards 1 with a positive-part
   James-Stein rule (a factor is kept only as far as it exceeds its own sampling noise), so
   non-seasonal series are not fitted with noise. The level is the deseasonalised pooled rate
   of the level window; ``expected_value = level * factor(weekday of t)``.
4. **Noise model that knows the denominator.** For proportions the day's numerator is tested
   against a beta-binomial distribution: binomial noise for today's denominator plus
   extra-binomial day-to-day variation ``overdispersion`` (the intra-class correlation rho)
   estimated by moments from the screened history, plus the uncertainty of the forecast itself.
   The tail probability is computed exactly on the Kish effective sample size
   ``n / (1 + (n - 1) rho)`` (regularised incomplete beta), so small segments are not flagged
   for binomial noise and huge segments are not flagged for tiny real drift. A Student-t tail
   with Satterthwaite degrees of freedom guards against an under-estimated rho on short
   histories; the larger (more conservative) of the two p-values is used. Series whose values
   are not proportions use a Gaussian model on the value with a robust scale and a
   ``gaussian_min_relative_scale`` floor, so flat series do not alarm.
5. **Minimum history.** A row is judged only when its level window holds at least
   ``min_history`` days with a positive denominator; otherwise ``p_value`` is null and
   ``is_anomaly`` is false.
6. **False discovery control and materiality.** p-values are adjusted with Benjamini-Hochberg
   per ``metric_date`` across all series of all metrics. A row is an anomaly when
   ``q_value <= fdr_alpha`` **and** the move is material: ``|value - expected_value|`` is at
   least ``min_absolute_change`` **and** at least ``min_relative_change * expected_value``.

Severity (``'none'`` when not an anomaly) is the lower of an evidence tier and a magnitude
tier, so a flag needs both strong evidence and a large move to rank high:

* evidence tier from ``|anomaly_score|`` against ``severity_score_cuts`` (default 5, 7, 10);
* magnitude tier from the ratio ``max(value / expected, expected / value)`` against
  ``severity_ratio_cuts`` (default 1.5, 2, 3);
* ``low`` = both tiers >= 0, ``medium`` >= 1, ``high`` >= 2, ``critical`` >= 3.

``anomaly_score`` is the signed normal quantile of the two-sided p-value
(``sign(value - expected) * Phi^-1(1 - p / 2)``), so it reads like a z-score whatever the
noise model. ``lower_bound`` / ``upper_bound`` form the band inside which a value can never be
flagged: the wider of ``expected +/- band_z`` predictive standard deviations and the
materiality thresholds (clipped to [0, 1] for proportions). The band is for display; flags come
from the exact p-values and the FDR step.

:func:`baseline_mean_3sd` implements the common dbt test (mean +/- 3 sd over a trailing 14-row
window that includes the evaluated point) for comparison.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy import stats

from governance.detection._stats import (
    MAD_TO_SD,
    benjamini_hochberg,
    betabinomial_rate_skewness,
    binomial_two_sided_p,
    nanmedian_last,
    pearson3_two_sided_p,
)

KEY_COLUMNS = ["metric_name", "region", "category"]
SEVERITY_LABELS = ("none", "low", "medium", "high", "critical")
METHOD_RATE = "seasonal_robust_betabinomial_v1"
METHOD_GAUSSIAN = "seasonal_robust_gaussian_v1"
BASELINE_METHOD = "trailing14_mean_3sd"

_EPS = 1e-9
_SCORE_CAP = 40.0
_MAX_DF = 1e6


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
        gaussian_min_relative_scale, gaussian_min_absolute_scale: spread floor of the Gaussian
            model (non-proportion series), relative to the level and absolute.
        band_z: half-width, in predictive standard deviations, of the displayed band.
        severity_score_cuts: ``|anomaly_score|`` cut points of the evidence tiers.
        severity_ratio_cuts: ``max(value/expected, expected/value)`` cut points of the
            magnitude tiers.
        chunk_cells: memory bound: series are processed in chunks of about
            ``chunk_cells / (days * seasonal window)`` series.
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
    student_t_guard: bool = True
    gaussian_min_relative_scale: float = 0.02
    gaussian_min_absolute_scale: float = 1e-9
    band_z: float = 3.29
    severity_score_cuts: tuple[float, float, float] = (5.0, 7.0, 10.0)
    severity_ratio_cuts: tuple[float, float, float] = (1.5, 2.0, 3.0)
    chunk_cells: int = 2_000_000

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
        """Build from a mapping such as dbt vars; unknown keys and ``None`` values are ignored."""
        if not values:
            return cls()
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in values and values[f.name] is not None:
                default = getattr(cls, f.name)
                raw = values[f.name]
                if isinstance(default, tuple):
                    kwargs[f.name] = tuple(float(v) for v in raw)
                else:
                    kwargs[f.name] = type(default)(raw)
        return cls(**kwargs)


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


def _windows(a: np.ndarray, width: int, fill: float) -> np.ndarray:
    """(S, T) -> (S, T, width) trailing windows strictly before each day (a copy)."""
    s, t = a.shape
    padded = np.concatenate([np.full((s, width), fill), a], axis=1)
    return np.array(sliding_window_view(padded, width, axis=1)[:, :t])


def _score_block(
    y: np.ndarray, k: np.ndarray, n: np.ndarray, is_rate: bool, p: AnomalyParams
) -> dict[str, np.ndarray]:
    """Forecast and test every (series, day) cell of a dense block.

    ``y``, ``k``, ``n`` are (S, T) arrays of value, numerator and denominator; NaN marks days
    without a usable observation. Returns (S, T) arrays.
    """
    s_count, t_count = y.shape
    d = p.season_days
    wk = d // 7
    wl = p.window_days
    a0 = p.prior_events if is_rate else 0.0
    b0 = p.prior_trials if is_rate else 0.0

    valid = np.isfinite(y) & np.isfinite(k) & (n > 0)
    yv = np.where(valid, y, np.nan)
    kv = np.where(valid, k, 0.0)
    nv = np.where(valid, n, 0.0)

    yw = _windows(yv, d, np.nan)  # (S, T, D)
    kw = _windows(kv, d, 0.0)
    nw = _windows(nv, d, 0.0)
    vw = ~np.isnan(yw)
    weekday_of_pos = np.arange(d) % 7  # 0 == weekday of the evaluated day
    in_level = np.arange(d) >= d - wl

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
    history_days = np.count_nonzero(vw & in_level, axis=-1)
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
    dof = 1.0 + 7.0 * m_disp / np.maximum(m_season, 1)
    nu = np.maximum(m_disp - dof, 1.0)
    c_dof = np.where(m_disp > 0, m_disp / nu, 1.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        if is_rate:
            p_all = (sk_d.sum(-1) + a0) / (sn_d.sum(-1) + b0)
            p_d = (sk_d + a0 / 7) / (sn_d + b0 / 7)
            raw_f = np.where(m_d > 0, p_d / p_all[..., None], 1.0)
            raw_f = np.where(np.isfinite(raw_f), raw_f, 1.0)
            f_pos = raw_f[..., weekday_of_pos]
            level_raw = (sk_l + a0) / ((nl * f_pos).sum(-1) + b0)
            mu_j = np.clip(level_raw[..., None] * f_pos, _EPS, 1 - _EPS)
            e2 = np.where(keep_disp, (yw - mu_j) ** 2 / (mu_j * (1 - mu_j)), 0.0)
            inv_n = np.where(keep_disp, 1.0 / np.where(keep_disp, nk, 1.0), 0.0)
            sum_w = (keep_disp * 1.0 - inv_n).sum(-1)
            rho = (c_dof * e2.sum(-1) - inv_n.sum(-1)) / sum_w
            rho = np.where(sum_w > 0, np.maximum(rho, 0.0), 0.0)
            # Upper-confidence overdispersion: the moment estimate plus `overdispersion_margin`
            # standard errors, so a short history that happens to look binomial does not
            # understate the day-to-day variation of a large segment.
            rho_se = np.sqrt(2.0 / nu) * (inv_n.sum(-1) + rho * sum_w) / sum_w
            rho = rho + p.overdispersion_margin * np.where(sum_w > 0, rho_se, 0.0)
            rho = np.clip(rho, 0.0, p.max_overdispersion)
            del e2, inv_n, mu_j, f_pos
            pa = np.clip(p_all, _EPS, 1 - _EPS)[..., None]
            var_f = (
                pa * (1 - pa) * (1.0 / (sn_d + b0 / 7) + rho[..., None] / np.maximum(m_d, 1))
            ) / pa**2
            dev2 = (raw_f - 1.0) ** 2
            w = np.where(dev2 > 0, np.clip(1.0 - var_f / dev2, 0.0, 1.0), 0.0)
            f = 1.0 + w * (raw_f - 1.0)
            level = (sk_l + a0) / ((nl * f[..., weekday_of_pos]).sum(-1) + b0)
            level = np.clip(level, _EPS, 1 - _EPS)
            mu = np.clip(level * f[..., 0], _EPS, 1 - _EPS)
            v_level = (1 - level) / level * (1.0 / (sn_l + b0) + rho / np.maximum(m_level, 1))
            var_mu = mu**2 * (v_level + w[..., 0] ** 2 * var_f[..., 0])
            seasonal = f[..., 0]
            scale = rho
        else:
            p_all = np.where(sn_d.sum(-1) > 0, sk_d.sum(-1) / sn_d.sum(-1), np.nan)
            p_d = sk_d / sn_d
            raw_a = np.where(m_d > 0, p_d - p_all[..., None], 0.0)
            raw_a = np.where(np.isfinite(raw_a), raw_a, 0.0)
            a_pos = raw_a[..., weekday_of_pos]
            level_raw = (kl - nl * a_pos).sum(-1) / sn_l
            e2 = np.where(keep_disp, (yw - level_raw[..., None] - a_pos) ** 2, 0.0)
            sigma2 = c_dof * e2.sum(-1) / np.maximum(m_disp, 1)
            sig_floor = np.maximum(
                p.gaussian_min_relative_scale * np.abs(level_raw), p.gaussian_min_absolute_scale
            )
            sigma2 = np.fmax(sigma2, sig_floor**2)
            del e2, a_pos
            var_a = sigma2[..., None] / np.maximum(m_d, 1)
            dev2 = raw_a**2
            w = np.where(dev2 > 0, np.clip(1.0 - var_a / dev2, 0.0, 1.0), 0.0)
            a_eff = w * raw_a
            level = (kl - nl * a_eff[..., weekday_of_pos]).sum(-1) / sn_l
            mu = level + a_eff[..., 0]
            var_mu = sigma2 / np.maximum(m_level, 1) + w[..., 0] ** 2 * var_a[..., 0]
            seasonal = np.full(mu.shape, np.nan)
            scale = np.sqrt(sigma2)
    del yw, kk, nk, kl, nl, keep, keep_l, keep_disp, vw

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
        "p_value": pval,
        "history_days": history_days,
        "history_excluded": history_days - m_level,
        "seasonal_factor": np.where(history_days > 0, seasonal, np.nan),
        "overdispersion": np.where(history_days > 0, scale, np.nan),
    }


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def detect_metric_anomalies(
    metrics: pd.DataFrame, params: AnomalyParams | None = None
) -> pd.DataFrame:
    """Flag anomalous days in ``metrics_daily`` (see the module docstring for the method).

    Args:
        metrics: rows of ``metrics_daily``: ``metric_name, metric_date, region, category,
            numerator, denominator`` and optionally ``value`` and ``is_mature``. Rows with
            ``is_mature`` false are neither judged nor used as history.
        params: tuning; defaults to :class:`AnomalyParams()`.

    Returns:
        One row per mature input row, sorted by ``metric_name, region, category, metric_date``:
        ``metric_name, region, category, metric_date, value, numerator, denominator,
        expected_value, lower_bound, upper_bound, anomaly_score, p_value, q_value, is_anomaly,
        direction ('up' | 'down' | None), severity ('none' | 'low' | 'medium' | 'high' |
        'critical'), relative_change, history_days, history_excluded, seasonal_factor,
        overdispersion, method``. ``overdispersion`` is rho for proportions and the residual
        standard deviation for Gaussian series.
    """
    p = params or AnomalyParams()
    df = _prepare(metrics)
    out_cols = [
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
    ]
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in out_cols})

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

    # Order series so each chunk holds a single noise model, then process in bounded chunks.
    series_order = np.r_[np.flatnonzero(series_is_rate), np.flatnonzero(~series_is_rate)]
    series_rank = np.empty(n_series, dtype=np.int64)
    series_rank[series_order] = np.arange(n_series)
    row_rank = series_rank[codes]
    row_order = np.argsort(row_rank, kind="stable")
    sorted_rank = row_rank[row_order]
    n_rate = int(series_is_rate.sum())
    per_chunk = max(1, int(p.chunk_cells // max(t_count * p.season_days, 1)))

    results = {
        name: np.full(len(df), np.nan)
        for name in (
            "expected_value",
            "predictive_sd",
            "p_value",
            "history_days",
            "history_excluded",
            "seasonal_factor",
            "overdispersion",
        )
    }
    bounds = []
    for lo_all, hi_all in ((0, n_rate), (n_rate, n_series)):
        bounds.extend((lo, min(lo + per_chunk, hi_all)) for lo in range(lo_all, hi_all, per_chunk))
    for lo, hi in bounds:
        r0, r1 = np.searchsorted(sorted_rank, [lo, hi])
        rows = row_order[r0:r1]
        local = row_rank[rows] - lo
        shape = (hi - lo, t_count)
        occupancy = np.bincount(local * t_count + day[rows], minlength=shape[0] * t_count)
        if occupancy.max(initial=0) > 1:
            cell = int(np.argmax(occupancy))
            dup = df.iloc[rows[(local * t_count + day[rows]) == cell][0]]
            raise ValueError(
                "metrics has more than one row per (metric_name, region, category, "
                f"metric_date); first duplicate: {dup[[*KEY_COLUMNS, 'metric_date']].to_dict()}"
            )
        y = np.full(shape, np.nan)
        k = np.full(shape, np.nan)
        n = np.zeros(shape)
        y[local, day[rows]] = y_model[rows]
        k[local, day[rows]] = num[rows]
        n[local, day[rows]] = np.nan_to_num(den[rows])
        block = _score_block(y, k, n, bool(lo < n_rate), p)
        for name, arr in block.items():
            results[name][rows] = arr[local, day[rows]]

    mu = results["expected_value"]
    pval = results["p_value"]
    q = benjamini_hochberg(pval, day)
    delta = val - mu
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(np.abs(mu) > 0, delta / np.abs(mu), np.where(delta == 0, 0.0, np.inf))
        rel = np.where(np.isfinite(mu) & np.isfinite(val), rel, np.nan)
        score = np.sign(delta) * stats.norm.isf(pval / 2.0)
    score = np.clip(score, -_SCORE_CAP, _SCORE_CAP)
    material = (np.abs(delta) >= p.min_absolute_change) & (
        np.abs(delta) >= p.min_relative_change * np.abs(mu)
    )
    is_anomaly = np.isfinite(q) & (q <= p.fdr_alpha) & material & (delta != 0)

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
            "history_days": results["history_days"].astype(np.int64),
            "history_excluded": results["history_excluded"].astype(np.int64),
            "seasonal_factor": results["seasonal_factor"],
            "overdispersion": results["overdispersion"],
            "method": np.where(is_rate_row, METHOD_RATE, METHOD_GAUSSIAN).astype(object),
        }
    )
    order = np.lexsort((day, codes))
    return out.iloc[order].reset_index(drop=True)


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
