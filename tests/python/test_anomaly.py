"""Behaviour of the metric anomaly detector against the mean +/- 3 sd baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from governance.anomaly_evaluation import baseline_mean_3sd
from governance.detection import AnomalyParams, detect_metric_anomalies
from governance.detection._stats import (
    benjamini_hochberg,
    benjamini_hochberg_single,
    binomial_two_sided_p,
)

START = "2025-01-06"  # a Monday


def make_series(
    days: int,
    n: float | np.ndarray,
    p: float | np.ndarray,
    *,
    seed: int,
    metric: str = "listing_violation_rate",
    region: str = "SG",
    category: str = "fashion",
    rates: dict[int, float] | None = None,
) -> pd.DataFrame:
    """Binomial daily series; ``rates`` overrides the true rate on given day indexes."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=days, freq="D")
    n_arr = np.broadcast_to(np.asarray(n, dtype=float), (days,)).copy()
    p_arr = np.broadcast_to(np.asarray(p, dtype=float), (days,)).copy()
    for i, r in (rates or {}).items():
        p_arr[i] = r
    k = rng.binomial(n_arr.astype(int), p_arr).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(n_arr > 0, k / n_arr, np.nan)
    return pd.DataFrame(
        {
            "metric_date": dates.date,
            "metric_name": metric,
            "region": region,
            "category": category,
            "numerator": k,
            "denominator": n_arr,
            "value": value,
            "ci_lower": np.nan,
            "ci_upper": np.nan,
            "is_mature": True,
        }
    )


def flagged_days(result: pd.DataFrame) -> list[int]:
    return [int(i) for i in np.flatnonzero(result["is_anomaly"].to_numpy())]


# --------------------------------------------------------------------------------------------
# Output contract
# --------------------------------------------------------------------------------------------


def test_output_has_one_row_per_mature_row_and_documented_columns():
    df = pd.concat(
        [
            make_series(40, 800, 0.05, seed=1, region="SG"),
            make_series(40, 800, 0.05, seed=2, region="MY"),
        ],
        ignore_index=True,
    )
    df.loc[df.index[-5:], "is_mature"] = False
    shuffled = df.sample(frac=1.0, random_state=3)
    out = detect_metric_anomalies(shuffled)
    assert len(out) == 75
    assert list(out.columns[:19]) == [
        "metric_name",
        "region",
        "category",
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
    ]
    assert set(out["method"]) == {"seasonal_robust_betabinomial_v1"}
    assert out["is_anomaly"].dtype == bool
    # Sorted by series then date; the input order does not matter.
    assert out[["region", "metric_date"]].equals(
        out.sort_values(["region", "metric_date"])[["region", "metric_date"]]
    )
    pd.testing.assert_frame_equal(out, detect_metric_anomalies(df))
    assert set(out["severity"]) <= {"none", "low", "medium", "high", "critical"}
    judged = out["p_value"].notna()
    assert (out.loc[judged, "q_value"] >= out.loc[judged, "p_value"] - 1e-15).all()
    has_history = out["history_days"] > 0
    assert out.loc[~has_history, "expected_value"].isna().all()
    assert (out.loc[has_history, "lower_bound"] <= out.loc[has_history, "expected_value"]).all()
    assert (out.loc[has_history, "upper_bound"] >= out.loc[has_history, "expected_value"]).all()


def test_duplicate_rows_raise_a_clear_error():
    df = make_series(20, 100, 0.1, seed=0)
    with pytest.raises(ValueError, match="more than one row"):
        detect_metric_anomalies(pd.concat([df, df.iloc[[3]]]))


def test_cohorts_before_the_data_begins_are_neither_judged_nor_history():
    """Sellers onboard from day 0 but enforcement records start on day 60: the onboarding
    cohorts before it count no removal (0%). Marked incomplete, they raise no anomaly at the
    coverage edge; taken at face value, the edge is a jump from 0% that the detector flags."""
    rates = {day: 0.0 for day in range(60)}
    df = make_series(120, 400, 0.03, seed=5, metric="bad_seller_onboarding_rate", rates=rates)
    df["is_complete"] = np.arange(120) >= 60
    out = detect_metric_anomalies(df)
    assert len(out) == 60
    assert not out["is_anomaly"].any()
    assert pd.to_datetime(out["metric_date"]).min() == pd.Timestamp(START) + pd.Timedelta(days=60)
    naive = detect_metric_anomalies(df.drop(columns="is_complete"))
    edge = naive.iloc[60:75]
    assert edge["is_anomaly"].any() and (edge.loc[edge["is_anomaly"], "direction"] == "up").all()


# --------------------------------------------------------------------------------------------
# Minimum history and early spikes
# --------------------------------------------------------------------------------------------


def test_spike_on_first_judged_day_is_flagged():
    df = make_series(60, 1000, 0.05, seed=21, rates={14: 0.15})
    out = detect_metric_anomalies(df)
    assert flagged_days(out) == [14]
    row = out.iloc[14]
    assert row["history_days"] == 14
    assert row["direction"] == "up"
    assert row["expected_value"] == pytest.approx(0.05, abs=0.01)
    assert row["p_value"] < 1e-6


def test_rows_before_min_history_are_not_judged():
    df = make_series(30, 1000, 0.05, seed=4, rates={5: 0.5})
    out = detect_metric_anomalies(df)
    early = out.iloc[:14]
    assert early["p_value"].isna().all()
    assert early["q_value"].isna().all()
    assert not early["is_anomaly"].any()
    assert (early["severity"] == "none").all()
    assert early["history_days"].tolist() == list(range(14))
    assert out.iloc[14:]["p_value"].notna().all()
    # The spike on day 5 is not judged, but it is screened out of later histories.
    assert out.iloc[14]["history_excluded"] == 1


def test_early_spike_caught_with_short_min_history_while_baseline_cannot():
    """The baseline's window includes the point, so its z-score is capped at (k-1)/sqrt(k):
    a single spike among k <= 10 points can never exceed 3 sd."""
    df = make_series(40, 1000, 0.05, seed=2, rates={8: 0.2})
    ours = detect_metric_anomalies(df, AnomalyParams(min_history=7))
    base = baseline_mean_3sd(df)
    assert 8 in flagged_days(ours)
    assert not base.iloc[8]["is_anomaly"]
    assert flagged_days(base) == []


# --------------------------------------------------------------------------------------------
# Masking, flat series, seasonality
# --------------------------------------------------------------------------------------------


def test_second_incident_is_not_masked_by_the_first():
    df = make_series(70, 1000, 0.05, seed=21, rates={40: 0.12, 45: 0.12})
    ours = detect_metric_anomalies(df)
    base = baseline_mean_3sd(df)
    assert flagged_days(ours) == [40, 45]
    assert ours.iloc[45]["history_excluded"] >= 1  # day 40 left out of day 45's history
    assert ours.iloc[45]["expected_value"] == pytest.approx(0.05, abs=0.006)
    # The first incident inflates the baseline's spread and hides the second.
    assert base.iloc[40]["is_anomaly"]
    assert not base.iloc[45]["is_anomaly"]


def test_days_of_a_long_incident_are_left_out_of_later_histories():
    p = np.full(90, 0.05)
    p[40:50] = 0.09  # a ten-day incident
    p[60] = 0.09  # a one-day incident ten days later
    df = make_series(90, 2000, p, seed=31)
    ours = detect_metric_anomalies(df)
    assert flagged_days(ours) == [*range(40, 50), 60]
    assert ours.iloc[52]["history_excluded"] >= 10
    assert ours.iloc[60]["expected_value"] == pytest.approx(0.05, abs=0.004)
    # Without leaving flagged days out (and with the plain moment estimate of the noise), the
    # incident leaks into the forecast and the noise estimate, and the second incident is missed.
    leaky = detect_metric_anomalies(
        df,
        AnomalyParams(
            exclude_flagged=False, dispersion_clip_z=None, dispersion_from_differences=False
        ),
    )
    assert 60 not in flagged_days(leaky)
    assert leaky.iloc[60]["expected_value"] > ours.iloc[60]["expected_value"]
    assert leaky.iloc[60]["overdispersion"] > 5 * ours.iloc[60]["overdispersion"]


def test_robust_noise_estimate_ignores_an_unflagged_incident_in_the_history():
    p = np.full(90, 0.05)
    p[40:50] = 0.09
    p[60] = 0.09
    df = make_series(90, 2000, p, seed=31)
    # Even when the ten incident days stay in the history, the noise is measured from
    # consecutive-day differences with clipped squares, so they do not pass for noise.
    kept = detect_metric_anomalies(df, AnomalyParams(exclude_flagged=False))
    moment = detect_metric_anomalies(
        df,
        AnomalyParams(
            exclude_flagged=False, dispersion_clip_z=None, dispersion_from_differences=False
        ),
    )
    assert 60 in flagged_days(kept)
    assert 60 not in flagged_days(moment)
    assert kept.iloc[60]["overdispersion"] < 0.2 * moment.iloc[60]["overdispersion"]


def test_a_lasting_level_shift_is_flagged_for_a_while_then_adopted():
    p = np.full(160, 0.05)
    p[60:] = 0.10
    df = make_series(160, 2000, p, seed=33)
    out = detect_metric_anomalies(df)
    flagged = flagged_days(out)
    assert flagged[0] == 60
    assert 14 <= len(flagged) <= 24
    assert max(flagged) < 85
    assert out.iloc[120:]["expected_value"].between(0.095, 0.105).all()
    assert out.iloc[120:]["overdispersion"].max() < 0.0005  # the shift is not taken for noise


def test_flat_series_gives_no_false_alarm():
    df = make_series(90, 1000, 0.05, seed=0)
    df["numerator"] = 50.0
    df.loc[60, "numerator"] = 52.0
    df.loc[75, "numerator"] = 47.0
    df["value"] = df["numerator"] / df["denominator"]
    ours = detect_metric_anomalies(df)
    base = baseline_mean_3sd(df)
    assert flagged_days(ours) == []
    assert ours.iloc[60]["p_value"] > 0.1
    # A zero-spread window makes any wiggle "infinitely" anomalous for the baseline.
    assert base.iloc[60]["is_anomaly"]
    assert base.iloc[75]["is_anomaly"]


def test_weekend_peak_is_expected_but_weekend_level_on_a_weekday_is_flagged():
    dates = pd.date_range(START, periods=84, freq="D")
    weekend = dates.day_of_week >= 5
    p = np.where(weekend, 0.08, 0.05)
    p[79] = 0.08  # a Wednesday at the weekend level
    df = make_series(84, 3000, p, seed=7)
    out = detect_metric_anomalies(df)
    assert dates[79].day_of_week == 2
    assert flagged_days(out) == [79]
    last_weekends = np.flatnonzero(weekend[56:]) + 56
    assert not out.iloc[last_weekends]["is_anomaly"].any()
    assert (out.iloc[last_weekends]["seasonal_factor"] > 1.3).all()
    assert (out.iloc[last_weekends]["expected_value"] - 0.08).abs().max() < 0.01
    weekdays_late = np.flatnonzero(~weekend[56:]) + 56
    assert (out.iloc[weekdays_late]["seasonal_factor"] < 1.0).all()


def test_non_seasonal_series_keeps_seasonal_factor_near_one():
    df = make_series(120, 2000, 0.05, seed=11)
    out = detect_metric_anomalies(df)
    factors = out.iloc[60:]["seasonal_factor"]
    assert (factors - 1.0).abs().max() < 0.1
    assert (factors - 1.0).abs().mean() < 0.03
    assert (factors == 1.0).mean() > 0.3  # many weekday effects shrunk away entirely
    assert len(flagged_days(out)) <= 1


# --------------------------------------------------------------------------------------------
# Denominator-aware noise and false discovery control
# --------------------------------------------------------------------------------------------


def test_small_denominator_segments_do_not_alarm_on_binomial_noise():
    """Twelve small segments (5-30 events a day, rate 5 %) over 180 days."""
    rng = np.random.default_rng(20)
    frames = [
        make_series(180, rng.integers(5, 31, 180), 0.05, seed=100 + i, category=f"c{i}")
        for i in range(12)
    ]
    df = pd.concat(frames, ignore_index=True)
    ours = detect_metric_anomalies(df)
    base = baseline_mean_3sd(df)
    assert ours["is_anomaly"].sum() <= 1
    assert base["is_anomaly"].sum() >= 4


def test_single_small_segment_alone_stays_quiet():
    df = make_series(180, 30, 0.05, seed=3)
    ours = detect_metric_anomalies(df)
    assert ours["is_anomaly"].sum() <= 1


def test_many_null_series_give_almost_no_false_discoveries():
    rng = np.random.default_rng(5)
    frames = []
    for i in range(150):
        n = float(rng.choice([20, 200, 2000, 20000]))
        frames.append(
            make_series(90, n, float(rng.uniform(0.01, 0.3)), seed=500 + i, region=f"R{i:03d}")
        )
    df = pd.concat(frames, ignore_index=True)
    ours = detect_metric_anomalies(df)
    judged = ours["p_value"].notna()
    assert judged.sum() == 150 * (90 - 14)
    assert ours["is_anomaly"].sum() <= 1
    # p-values are valid (not anti-conservative) under the null.
    assert (ours.loc[judged, "p_value"] < 0.01).mean() < 0.015


def test_tiny_real_drift_on_a_huge_denominator_is_not_material():
    p = np.full(60, 0.05)
    p[40:] = 0.053  # +6 % relative, +0.003 absolute: significant, not material
    df = make_series(60, 1_000_000, p, seed=8)
    out = detect_metric_anomalies(df)
    assert out.iloc[40]["p_value"] < 1e-6
    assert flagged_days(out) == []
    # Turning the materiality thresholds off exposes the statistically significant drift.
    loose = detect_metric_anomalies(
        df, AnomalyParams(min_relative_change=0.0, min_absolute_change=0.0)
    )
    assert 40 in flagged_days(loose)


def test_direction_and_severity():
    down = make_series(60, 5000, 0.05, seed=9, rates={45: 0.01}, region="SG")
    mild_up = make_series(60, 20000, 0.05, seed=10, rates={45: 0.066}, region="MY")
    out = detect_metric_anomalies(pd.concat([down, mild_up], ignore_index=True))
    flagged = out[out["is_anomaly"]].set_index("region")
    assert sorted(flagged.index) == ["MY", "SG"]
    assert flagged.loc["SG", "direction"] == "down"
    assert flagged.loc["SG", "anomaly_score"] < -10
    assert flagged.loc["SG", "severity"] == "critical"  # ratio ~5, |score| > 10
    assert flagged.loc["SG", "relative_change"] == pytest.approx(-0.8, abs=0.05)
    assert flagged.loc["MY", "direction"] == "up"
    assert flagged.loc["MY", "anomaly_score"] > 7
    assert flagged.loc["MY", "severity"] == "low"  # strong evidence, but ratio ~1.3 < 1.5
    quiet = out[~out["is_anomaly"]]
    assert quiet["direction"].isna().all()
    assert (quiet["severity"] == "none").all()


def test_non_proportion_metric_uses_the_gaussian_model():
    rng = np.random.default_rng(12)
    days = 60
    value = 24.0 + rng.normal(0, 1.0, days)
    value[50] = 40.0
    df = make_series(days, 100, 0.5, seed=0)
    df["numerator"] = value * 100
    df["value"] = value
    out = detect_metric_anomalies(df)
    assert set(out["method"]) == {"seasonal_robust_gaussian_v1"}
    assert flagged_days(out) == [50]
    flat = df.assign(numerator=2400.0, value=24.0)
    assert flagged_days(detect_metric_anomalies(flat)) == []


def test_params_from_dbt_vars():
    params = AnomalyParams.from_mapping(
        {"window_days": "21", "fdr_alpha": 0.05, "severity_ratio_cuts": [1.2, 2, 4], "x": 1}
    )
    assert params.window_days == 21
    assert params.fdr_alpha == 0.05
    assert params.severity_ratio_cuts == (1.2, 2.0, 4.0)
    with pytest.raises(ValueError, match="min_history"):
        AnomalyParams(window_days=10, min_history=14)


# --------------------------------------------------------------------------------------------
# Statistical helpers
# --------------------------------------------------------------------------------------------


def test_benjamini_hochberg_per_group():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, np.nan])
    groups = np.array([1, 1, 1, 1, 2, 2])
    q = benjamini_hochberg(p, groups)
    np.testing.assert_allclose(q[:5], [0.02, 0.04, 0.04, 0.02, 0.2])
    assert np.isnan(q[5])


def test_benjamini_hochberg_never_below_the_p_value():
    # 0.37 * 3 / 3 rounds to 0.36999999999999994 in floating point; the metric_anomalies
    # contract (q_value >= p_value) failed on that at the large scale tier.
    p = np.array([0.001, 0.001, 0.37])
    assert benjamini_hochberg_single(p)[2] == 0.37
    assert benjamini_hochberg(p, np.zeros(3))[2] == 0.37


def test_binomial_two_sided_p_matches_exact_tails():
    # Doubled upper tail P(X >= 6 | n=30, p=0.05).
    assert binomial_two_sided_p(6, 30, 0.05) == pytest.approx(2 * stats.binom.sf(5, 30, 0.05))
    assert binomial_two_sided_p(60, 1000, 0.05) == pytest.approx(2 * stats.binom.sf(59, 1000, 0.05))
    assert binomial_two_sided_p(0, 30, 0.05) == pytest.approx(2 * 0.95**30, rel=1e-9)
    assert binomial_two_sided_p(2, 30, 0.05) == pytest.approx(2 * stats.binom.sf(1, 30, 0.05))
    assert binomial_two_sided_p(1, 20, 0.05) == 1.0  # mode: both tails exceed one half


def test_baseline_matches_a_direct_rolling_computation():
    df = make_series(30, 200, 0.1, seed=13, rates={20: 0.4})
    base = baseline_mean_3sd(df)
    roll = df["value"].rolling(14, min_periods=2)
    assert base["n_points"].tolist() == [min(i + 1, 14) for i in range(30)]
    np.testing.assert_allclose(base["baseline_mean"][1:], roll.mean()[1:])
    np.testing.assert_allclose(base["baseline_sd"], roll.std(), equal_nan=True)
    expected = (df["value"] - roll.mean()).abs() > 3 * roll.std()
    assert base["is_anomaly"].tolist() == expected.tolist()


def test_winsorized_normal_second_moment_matches_numeric_integration():
    from scipy import integrate

    from governance.detection._stats import winsorized_normal_second_moment

    for c in (1.0, 2.5, 4.0):
        value, _ = integrate.quad(lambda z, c=c: min(z * z, c * c) * stats.norm.pdf(z), -12, 12)
        assert winsorized_normal_second_moment(c) == pytest.approx(value, rel=1e-6)
    assert winsorized_normal_second_moment(float("inf")) == 1.0


# --------------------------------------------------------------------------------------------
# Segment hierarchy: per-level false discovery control, pooled noise, multi-day runs
# --------------------------------------------------------------------------------------------


REGIONS = ["SG", "MY", "TH", "VN", "PH", "ID"]


def _leaves(days: int, count: int, p: float, seed: int, n=None, poisson_n=None) -> pd.DataFrame:
    """``count`` leaf series (region x category), ``n`` trials a day or Poisson(``poisson_n``)."""
    frames = []
    for i in range(count):
        trials = n if poisson_n is None else np.random.default_rng(seed + 1000 + i).poisson(
            poisson_n, days
        ).astype(float)  # fmt: skip
        frames.append(
            make_series(
                days, trials, p, seed=seed + i, region=REGIONS[i % 6], category=f"c{i // 6}"
            )
        )
    return pd.concat(frames, ignore_index=True)


def _day(result: pd.DataFrame, region: str, category: str, day: int) -> pd.Series:
    date = pd.Timestamp(START).date() + pd.Timedelta(days=day)
    rows = result[
        (result["region"] == region)
        & (result["category"] == category)
        & (result["metric_date"] == date)
    ]
    assert len(rows) == 1
    return rows.iloc[0]


def test_marketplace_series_is_judged_in_its_own_family_not_against_every_leaf():
    # A marketplace-wide move on day 40 (138 of 2,000 against 5%): among 300 leaf series in one
    # Benjamini-Hochberg family per day it is not significant; in the family of its own
    # hierarchy level it is. No leaf is flagged either way. (138 rather than 136 since the
    # drift CUSUM is a third look in the Bonferroni combination of each day's p-value.)
    market = make_series(45, 2000, 0.05, seed=11, region="ALL", category="ALL")
    market.loc[40, "numerator"] = 138.0
    market["value"] = market["numerator"] / market["denominator"]
    df = pd.concat([market, _leaves(45, 300, 0.05, seed=100, n=60)], ignore_index=True)
    by_level = detect_metric_anomalies(df, AnomalyParams(min_history=14))
    one_family = detect_metric_anomalies(df, AnomalyParams(min_history=14, fdr_by_level=False))
    assert _day(by_level, "ALL", "ALL", 40)["p_value"] < 0.01
    assert bool(_day(by_level, "ALL", "ALL", 40)["is_anomaly"])
    assert _day(one_family, "ALL", "ALL", 40)["q_value"] > 0.5
    assert not bool(_day(one_family, "ALL", "ALL", 40)["is_anomaly"])
    assert by_level.loc[by_level["region"] != "ALL", "is_anomaly"].sum() == 0


def test_small_segment_borrows_the_noise_level_of_its_siblings():
    # Thirty segments with about two new sellers a day, 5% of them bad: none can measure its
    # own day-to-day variation. On day 40 an attack brings 8 sellers to one segment, all bad.
    # With the noise pooled over the siblings (binomial here) the day is flagged, and it is
    # the only flag; each segment on its own guesses a large overdispersion and misses it.
    df = _leaves(45, 30, 0.05, seed=200, poisson_n=2.0)
    attacked = (df["region"] == "VN") & (df["category"] == "c0")
    day40 = df["metric_date"] == pd.Timestamp(START).date() + pd.Timedelta(days=40)
    df.loc[attacked & day40, ["numerator", "denominator", "value"]] = [8.0, 8.0, 1.0]
    pooled = detect_metric_anomalies(df, AnomalyParams(min_history=14))
    alone = detect_metric_anomalies(df, AnomalyParams(min_history=14, min_dispersion_events=0))
    hit, hit_alone = _day(pooled, "VN", "c0", 40), _day(alone, "VN", "c0", 40)
    assert bool(hit["is_anomaly"]) and hit["direction"] == "up"
    assert hit["overdispersion"] < 0.05
    assert pooled["is_anomaly"].sum() == 1
    assert not bool(hit_alone["is_anomaly"])
    assert hit_alone["overdispersion"] > 0.1


def test_a_lasting_shift_of_a_small_rate_is_found_from_the_run_of_days():
    # 30 appeals a day overturned at 25%; from day 40 at 50% for five days. No single day is
    # significant at this denominator, three days together are.
    df = make_series(
        50, 30, 0.25, seed=5, region="ALL", category="ALL", rates={i: 0.5 for i in range(40, 45)}
    )
    df.loc[40:44, "numerator"] = [14.0, 15.0, 16.0, 14.0, 15.0]
    df["value"] = df["numerator"] / df["denominator"]
    with_runs = detect_metric_anomalies(df, AnomalyParams(min_history=14))
    days_only = AnomalyParams(min_history=14, run_days=1, change_k=0)
    single_day = detect_metric_anomalies(df, days_only)
    assert single_day.loc[40:44, "is_anomaly"].sum() == 0
    assert flagged_days(with_runs) and min(flagged_days(with_runs)) in (41, 42)
    assert set(flagged_days(with_runs)) <= set(range(40, 45))
    assert set(with_runs.loc[with_runs["is_anomaly"], "direction"]) == {"up"}


def test_a_slow_drift_no_day_or_run_reveals_is_found_by_the_cusum():
    # 3% of 1,000 a day, drifting from day 50 to 4% over five weeks: each day's error stays
    # within the noise as the forecast catches up, but it stays positive. The CUSUM of the
    # standardised errors adds it up and flags day 79; without it nothing is flagged. A flag
    # restarts the CUSUM.
    rates = {i: 0.03 * (1 + 0.35 * min((i - 49) / 35, 1)) for i in range(50, 100)}
    df = make_series(100, 1000, 0.03, seed=2, region="ALL", category="ALL", rates=rates)
    with_cusum = detect_metric_anomalies(df)
    without = detect_metric_anomalies(df, AnomalyParams(change_k=0))
    assert flagged_days(with_cusum) == [79]
    assert flagged_days(without) == []
    assert with_cusum.loc[78, "cusum_up"] > 5 and with_cusum.loc[78, "p_value"] > 0.01
    assert with_cusum.loc[79, "cusum_up"] == 0 == with_cusum.loc[79, "cusum_down"]
    assert with_cusum.loc[:49, "cusum_up"].max() < 3  # no drift, no build-up


# --------------------------------------------------------------------------------------------
# Resuming from an earlier output (nightly builds judge the days that changed)
# --------------------------------------------------------------------------------------------


def _segments(days: int) -> pd.DataFrame:
    """Leaves of two regions, their marketplace total, a Gaussian metric, incidents (the one
    on day 100 lasts long enough to be left out of later histories) and a late day of data."""
    leaves = [
        make_series(days, 900, 0.04, seed=71, region="SG", rates={100: 0.12, 101: 0.12}),
        make_series(days, 700, 0.04, seed=72, region="MY", rates={104: 0.01, 118: 0.10}),
        make_series(days, 60, 0.05, seed=73, region="TH"),
    ]
    total = (
        pd.concat(leaves).groupby("metric_date", as_index=False)[["numerator", "denominator"]].sum()
    )
    total = total.assign(
        metric_name="listing_violation_rate",
        region="ALL",
        category="ALL",
        value=total["numerator"] / total["denominator"],
        is_mature=True,
    )
    gaussian = make_series(days, 500, 0.02, seed=74, metric="mean_case_hours", region="ALL")
    gaussian = gaussian.assign(value=gaussian["value"] * 300 + 10)
    gaussian.loc[gaussian.index[110], "value"] = 40.0
    return pd.concat([*leaves, total, gaussian], ignore_index=True)


def test_a_resumed_scan_gives_exactly_the_full_scan():
    data = _segments(130)
    dates = pd.to_datetime(data["metric_date"])
    full = detect_metric_anomalies(data)
    assert full["is_anomaly"].sum() >= 3
    # Night N judged the days up to day 111; night N+1 adds day 112-129 and restates day 105.
    night = detect_metric_anomalies(data[dates <= pd.Timestamp(START) + pd.Timedelta(days=111)])
    resumed = detect_metric_anomalies(data, previous=night)
    pd.testing.assert_frame_equal(resumed, full)
    restated = data.copy()
    day_105 = (restated["region"] == "SG") & (dates == pd.Timestamp(START) + pd.Timedelta(105))
    restated.loc[day_105, "numerator"] += 40
    restated.loc[day_105, "value"] = restated.loc[day_105, "numerator"] / 900
    pd.testing.assert_frame_equal(
        detect_metric_anomalies(restated, previous=full), detect_metric_anomalies(restated)
    )


def test_a_resumed_scan_carries_the_cusum_of_a_series_with_no_row_on_the_last_kept_day():
    data = _segments(130)
    dates = pd.to_datetime(data["metric_date"])
    # SG's downward CUSUM is high on days 123-126 (2.1 after day 123): SG has no row on day 124.
    last_kept_day = pd.Timestamp(START) + pd.Timedelta(days=124)
    gap = (data["region"] == "SG") & (dates == last_kept_day)
    data = data[~gap].reset_index(drop=True)
    dates = pd.to_datetime(data["metric_date"])
    full = detect_metric_anomalies(data)
    sg_before_gap = full[
        (full["region"] == "SG") & (pd.to_datetime(full["metric_date"]) < last_kept_day)
    ]
    assert sg_before_gap["cusum_up"].iloc[-1] + sg_before_gap["cusum_down"].iloc[-1] > 0
    night = detect_metric_anomalies(data[dates <= last_kept_day])
    pd.testing.assert_frame_equal(detect_metric_anomalies(data, previous=night), full)


def test_rows_before_the_first_changed_day_are_kept_and_their_flags_shape_later_histories():
    data = _segments(130)
    dates = pd.to_datetime(data["metric_date"])
    last_night = pd.Timestamp(START) + pd.Timedelta(days=119)
    night = detect_metric_anomalies(data[dates <= last_night])
    # Mark a quiet day of SG as flagged in the stored output: the resumed walk keeps the row as
    # stored and leaves the day out of SG's later histories, as it would a real incident.
    doctored = night.copy()
    quiet = (doctored["region"] == "SG") & (
        doctored["metric_date"] == _day(night, "SG", "fashion", 115)["metric_date"]
    )
    assert not doctored.loc[quiet, "is_anomaly"].any()
    doctored.loc[quiet, ["is_anomaly", "expected_value"]] = [True, 0.5]
    resumed = detect_metric_anomalies(data, previous=doctored)
    full = detect_metric_anomalies(data)
    assert _day(resumed, "SG", "fashion", 115)["expected_value"] == 0.5
    assert (
        _day(resumed, "SG", "fashion", 120)["history_excluded"]
        == _day(full, "SG", "fashion", 120)["history_excluded"] + 1
    )
    # Another region's rows are judged as in the full scan.
    assert _day(resumed, "MY", "fashion", 121)["expected_value"] == pytest.approx(
        _day(full, "MY", "fashion", 121)["expected_value"], rel=1e-12
    )


def test_an_earlier_output_of_other_settings_is_not_reused():
    data = _segments(130)
    night = detect_metric_anomalies(data)
    stale = night.assign(expected_value=0.5)
    assert (detect_metric_anomalies(data, previous=stale)["expected_value"] == 0.5).all()
    other = AnomalyParams(fdr_alpha=0.05)
    rescored = detect_metric_anomalies(data, other, previous=stale)
    pd.testing.assert_frame_equal(rescored, detect_metric_anomalies(data, other))
    assert rescored["detector_fingerprint"].iloc[0] != night["detector_fingerprint"].iloc[0]
    # Nor is an output written before the fingerprint existed, or one with a repeated row.
    pd.testing.assert_frame_equal(
        detect_metric_anomalies(data, previous=stale.drop(columns="detector_fingerprint")), night
    )
    repeated = pd.concat([stale, stale.iloc[[0]]], ignore_index=True)
    pd.testing.assert_frame_equal(detect_metric_anomalies(data, previous=repeated), night)
