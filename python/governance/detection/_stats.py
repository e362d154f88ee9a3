"""Small vectorised statistics helpers shared by the detection modules."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

# 1 / Phi^-1(3/4): scales a median absolute deviation to a normal standard deviation.
MAD_TO_SD = 1.482602218505602


def nanmedian_last(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median over the last axis ignoring NaN, and the count of non-NaN values.

    Sort-based, so it stays vectorised for many short rows (``np.nanmedian`` falls back to
    slow paths for that shape). Rows without any value get NaN.
    """
    s = np.sort(a, axis=-1)  # NaN sorts last
    n = np.count_nonzero(~np.isnan(a), axis=-1)
    lo = np.maximum((n - 1) // 2, 0)[..., None]
    hi = np.maximum(n // 2, 0)[..., None]
    hi = np.minimum(hi, a.shape[-1] - 1)
    med = 0.5 * (
        np.take_along_axis(s, lo, axis=-1)[..., 0] + np.take_along_axis(s, hi, axis=-1)[..., 0]
    )
    med = np.where(n > 0, med, np.nan)
    return med, n


def binomial_two_sided_p(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Two-sided tail probability of ``k`` successes out of ``n`` at success probability ``p``.

    Doubles the smaller one-sided tail (``P(X >= k)`` or ``P(X <= k)``), capped at 1. Uses the
    regularised incomplete beta function, so ``k`` and ``n`` may be non-integer (effective
    sample sizes): ``P(X >= k) = I_p(k, n - k + 1)`` and ``P(X <= k) = I_{1-p}(n - k, k + 1)``.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    p = np.asarray(p, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        upper = np.where(k > 0, special.betainc(np.maximum(k, 1e-12), n - k + 1.0, p), 1.0)
        lower = np.where(k < n, special.betainc(np.maximum(n - k, 1e-12), k + 1.0, 1.0 - p), 1.0)
    out = np.minimum(1.0, 2.0 * np.minimum(upper, lower))
    return np.where(np.isfinite(k) & np.isfinite(n) & np.isfinite(p), out, np.nan)


def benjamini_hochberg_single(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values of one family; NaN p-values are not tests."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size == 0:
        return q
    order = np.argsort(p[ok], kind="stable")
    ranked = p[ok][order] * ok.size / np.arange(1, ok.size + 1)
    adjusted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    # p * m / m can round below p: a q-value is never smaller than its p-value.
    q[ok[order]] = np.maximum(adjusted, p[ok][order])
    return q


def benjamini_hochberg(p: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), computed separately within each group.

    NaN p-values are not tests: they keep a NaN q-value and do not count in the group size.
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    codes = pd.factorize(np.asarray(groups))[0]
    for code in np.unique(codes):
        members = np.flatnonzero(codes == code)
        q[members] = benjamini_hochberg_single(p[members])
    return q


def betabinomial_rate_skewness(mu: np.ndarray, n: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Skewness of ``K / n`` for ``K ~ BetaBinomial(n, mean mu, intra-class correlation rho)``.

    Tends to the binomial skewness as ``rho -> 0`` and to the Beta skewness as ``n -> inf``.
    """
    mu = np.asarray(mu, dtype=float)
    n = np.asarray(n, dtype=float)
    rho = np.clip(np.asarray(rho, dtype=float), 1e-12, 1 - 1e-9)
    s = 1.0 / rho - 1.0
    a = mu * s
    b = (1.0 - mu) * s
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # Written with the ratios n / s and s / n kept bounded for very small or large rho.
        num = (1.0 + 2.0 * n / s) * (1.0 - 2.0 * mu) * np.sqrt(1.0 + 1.0 / s)
        den = (1.0 + 2.0 / s) * np.sqrt(n * mu * (1.0 - mu) * (n / s + 1.0))
        out = num / den
    del a, b
    return out


def pearson3_two_sided_p(
    y: np.ndarray, mu: np.ndarray, sd: np.ndarray, skew: np.ndarray, half_step: np.ndarray
) -> np.ndarray:
    """Two-sided tail probability of ``y`` under a Pearson type III law (shifted Gamma).

    Matches mean ``mu``, standard deviation ``sd`` and skewness ``skew``; nearly symmetric
    cases fall back to the normal law. ``half_step`` is a continuity correction.
    """
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    sd = np.asarray(sd, dtype=float)
    g = np.asarray(skew, dtype=float)
    sign = np.where(g < 0, -1.0, 1.0)
    g_abs = np.maximum(np.abs(g), 1e-3)
    # Reflect left-skewed cases so the Gamma always has its long tail to the right.
    x_hi = sign * (y - mu) - half_step  # toward the long tail
    x_lo = sign * (y - mu) + half_step  # toward the short tail
    kappa = 4.0 / g_abs**2
    theta = sd * g_abs / 2.0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        u_hi = np.maximum(kappa + x_hi / theta, 0.0)
        u_lo = np.maximum(kappa + x_lo / theta, 0.0)
        long_tail = np.where(x_hi > 0, special.gammaincc(kappa, u_hi), 1.0)
        short_tail = np.where(x_lo < 0, special.gammainc(kappa, u_lo), 1.0)
        normal = 2.0 * special.ndtr(-np.maximum(np.abs(y - mu) - half_step, 0.0) / sd)
    out = np.minimum(1.0, 2.0 * np.minimum(long_tail, short_tail))
    out = np.where(np.abs(g) < 1e-3, np.minimum(normal, 1.0), out)
    return np.where(np.isfinite(y) & np.isfinite(mu) & (sd > 0), out, np.nan)


def winsorized_normal_second_moment(c: float) -> float:
    """``E[min(Z^2, c^2)]`` for a standard normal ``Z``: the consistency factor of a sum of
    squares whose terms are clipped at ``c`` standard deviations."""
    if not np.isfinite(c):
        return 1.0
    tail = special.ndtr(-c)
    dens = np.exp(-0.5 * c * c) / np.sqrt(2.0 * np.pi)
    return float((1.0 - 2.0 * tail) - 2.0 * c * dens + 2.0 * c * c * tail)
