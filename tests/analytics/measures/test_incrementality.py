"""The statistics of control groups against hand-computed cases and published values."""

import math

import pytest
from scipy import stats

from kopilka.analytics.measures import incrementality as inc

Z = 1.959963984540054  # Φ⁻¹(0.975), the textbook 1.96
Z_POWER = 0.8416212335729143  # Φ⁻¹(0.80), the textbook 0.84


def test_conversion_uplift_with_its_interval_relative_uplift_and_z_test():
    """120 of 1000 exposed converted, 100 of 1000 held out."""
    found = inc.proportion_uplift(120, 1000, 100, 1000)

    se = math.sqrt(0.12 * 0.88 / 1000 + 0.10 * 0.90 / 1000)  # √0.0001956
    pooled_se = math.sqrt(0.11 * 0.89 * (1 / 1000 + 1 / 1000))  # p = 220 / 2000
    assert (found.exposed_rate, found.control_rate) == (0.12, 0.10)
    assert found.difference == pytest.approx(0.02, abs=1e-12)
    assert found.low == pytest.approx(0.02 - Z * se, abs=1e-9)
    assert found.high == pytest.approx(0.02 + Z * se, abs=1e-9)
    assert found.relative == pytest.approx(0.2, abs=1e-9)
    assert found.z == pytest.approx(0.02 / pooled_se, abs=1e-9)
    assert found.p_value == pytest.approx(2 * (1 - stats.norm.cdf(0.02 / pooled_se)), abs=1e-9)
    assert found.low == pytest.approx(-0.00741, abs=1e-5)  # the interval takes in 0: not significant


def test_uplift_over_a_control_that_never_converted_has_no_relative_figure_and_an_empty_group_none():
    found = inc.proportion_uplift(3, 10, 0, 10)

    assert found.relative is None
    assert found.difference == pytest.approx(0.3, abs=1e-12)
    assert found.high - found.low == pytest.approx(2 * Z * math.sqrt(0.3 * 0.7 / 10), abs=1e-9)
    assert inc.proportion_uplift(0, 0, 1, 10) is None


WELCH_A1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
WELCH_A2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]


def test_welch_on_the_textbook_example():
    """The first example of Welch's test as textbooks print it: t = −2.46 at ν ≈ 25."""
    a, b = inc.Sample.of(WELCH_A1), inc.Sample.of(WELCH_A2)
    found = inc.mean_difference(a, b)

    mean1, mean2 = sum(WELCH_A1) / 15, sum(WELCH_A2) / 15
    var1 = sum((x - mean1) ** 2 for x in WELCH_A1) / 14
    var2 = sum((x - mean2) ** 2 for x in WELCH_A2) / 14
    se = math.sqrt(var1 / 15 + var2 / 15)
    df = (var1 / 15 + var2 / 15) ** 2 / ((var1 / 15) ** 2 / 14 + (var2 / 15) ** 2 / 14)
    assert (a.mean, a.variance) == (pytest.approx(mean1, abs=1e-9), pytest.approx(var1, abs=1e-9))
    assert found.difference == pytest.approx(mean1 - mean2, abs=1e-9)
    assert found.degrees_of_freedom == pytest.approx(df, abs=1e-9)
    assert round(found.difference / se, 2) == -2.46 and round(found.degrees_of_freedom, 2) == 24.99
    half = stats.t.ppf(0.975, df) * se
    assert (found.low, found.high) == (pytest.approx(mean1 - mean2 - half, abs=1e-9),
                                       pytest.approx(mean1 - mean2 + half, abs=1e-9))
    reference = stats.ttest_ind(WELCH_A1, WELCH_A2, equal_var=False).confidence_interval(0.95)
    assert (found.low, found.high) == (pytest.approx(reference.low, abs=1e-9),
                                       pytest.approx(reference.high, abs=1e-9))


def test_a_sample_from_its_sums_and_groups_too_small_for_an_interval():
    """Revenue per member 0, 100, 200 (sum 300, squares 50 000): mean 100, variance (50 000 − 300²/3) / 2."""
    sample = inc.Sample.of_sums(3, 300.0, 50_000.0)

    assert (sample.n, sample.mean, sample.variance) == (3, 100.0, 10_000.0)
    assert inc.Sample.of_sums(0, 0.0, 0.0) == inc.Sample(0, 0.0, 0.0)
    one = inc.mean_difference(inc.Sample.of([5.0]), sample)
    assert (one.difference, one.low, one.high) == (-95.0, None, None)
    assert inc.mean_difference(inc.Sample.of([]), sample) is None


def test_members_needed_per_group_for_a_minimum_detectable_effect():
    """From 5 % to 10 %: p̄ = 0.075; (1.96 · √(2 · 0.075 · 0.925) + 0.84 · √(0.05 · 0.95 + 0.1 · 0.9))² / 0.05²."""
    root = Z * math.sqrt(2 * 0.075 * 0.925) + Z_POWER * math.sqrt(0.05 * 0.95 + 0.10 * 0.90)
    assert inc.sample_size(0.05, 0.05) == math.ceil(root ** 2 / 0.05 ** 2) == 435

    root = Z * math.sqrt(2 * 0.11 * 0.89) + Z_POWER * math.sqrt(0.10 * 0.90 + 0.12 * 0.88)
    assert inc.sample_size(0.10, 0.02) == math.ceil(root ** 2 / 0.02 ** 2) == 3841
    with pytest.raises(ValueError):
        inc.sample_size(0.95, 0.05)


def test_the_effect_two_groups_can_detect():
    """9 000 exposed and 1 000 held out at a baseline of 10 %."""
    found = inc.detectable_effect(0.10, 9000, 1000)

    assert found == pytest.approx((Z + Z_POWER) * math.sqrt(0.1 * 0.9 * (1 / 9000 + 1 / 1000)), abs=1e-12)
    assert found == pytest.approx(0.02802, abs=1e-5)
    assert inc.detectable_effect(0.0, 10, 10) is None and inc.detectable_effect(0.1, 0, 10) is None


def test_ab_variants_each_against_the_control_at_a_bonferroni_corrected_level():
    """Two variants: each interval at 97.5 %, z = Φ⁻¹(1 − 0.025 / 2) = 2.241402727604947."""
    found = inc.variants((100, 1000), {"A": (120, 1000), "B": (90, 1000)})

    z = 2.241402727604947
    se_a = math.sqrt(0.12 * 0.88 / 1000 + 0.1 * 0.9 / 1000)
    se_b = math.sqrt(0.09 * 0.91 / 1000 + 0.1 * 0.9 / 1000)
    assert (found["A"].low, found["A"].high) == (pytest.approx(0.02 - z * se_a, abs=1e-9),
                                                 pytest.approx(0.02 + z * se_a, abs=1e-9))
    assert found["B"].difference == pytest.approx(-0.01, abs=1e-12)
    assert found["B"].low == pytest.approx(-0.01 - z * se_b, abs=1e-9)
    root = z * math.sqrt(2 * 0.11 * 0.89) + Z_POWER * math.sqrt(0.10 * 0.90 + 0.12 * 0.88)
    assert inc.sample_size(0.10, 0.02, comparisons=2) == math.ceil(root ** 2 / 0.02 ** 2)
