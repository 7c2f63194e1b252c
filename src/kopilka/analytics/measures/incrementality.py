"""What an offer changed (SPEC §8.4): the members exposed to it against those held out (a control group), and A/B
variants each against a control. Pure: counts and sums in, figures out; two-sided tests at `confidence` (95 % by
default), normal quantiles z = Φ⁻¹(1 − α/2) and z_β = Φ⁻¹(power).

- Conversion uplift (`proportion_uplift`): p_e = x_e / n_e, p_c = x_c / n_c, d = p_e − p_c, with the Wald interval
  d ± z · √(p_e(1 − p_e)/n_e + p_c(1 − p_c)/n_c); relative uplift d / p_c (None when p_c = 0); the z-test of
  d = 0 with the pooled p = (x_e + x_c)/(n_e + n_c): z = d / √(p(1 − p)(1/n_e + 1/n_c)), p-value 2(1 − Φ(|z|)).
- A difference of means per member (`mean_difference`, revenue or points per member), Welch's: d = m_e − m_c,
  SE = √(s_e²/n_e + s_c²/n_c), ν = SE⁴ / ((s_e²/n_e)²/(n_e − 1) + (s_c²/n_c)²/(n_c − 1)), interval
  d ± t(1 − α/2, ν) · SE (none with fewer than two members in a group, or no variance at all).
- Members needed per group (`sample_size`) to detect an absolute difference δ from a baseline conversion p₁
  (p₂ = p₁ + δ, p̄ = (p₁ + p₂)/2), equal groups:
  n = ⌈(z · √(2p̄(1 − p̄)) + z_β · √(p₁(1 − p₁) + p₂(1 − p₂)))² / δ²⌉.
- The smallest difference two given groups detect (`detectable_effect`, the MDE), from the baseline's variance:
  δ = (z + z_β) · √(p₁(1 − p₁)(1/n_e + 1/n_c)).
- A/B variants (`variants`): each variant against the control by `proportion_uplift`, at α / k for k variants
  (Bonferroni), so the chance of any false alarm stays within α; `sample_size(..., comparisons=k)` likewise.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy import stats

CONFIDENCE = 0.95
POWER = 0.80


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


@dataclass(frozen=True)
class ProportionUplift:
    exposed_rate: float
    control_rate: float
    difference: float  # exposed − control, as a share (0.02 = 2 percentage points)
    low: float
    high: float
    relative: float | None  # difference / control rate
    z: float
    p_value: float


def proportion_uplift(converted_exposed: int, exposed: int, converted_control: int, control: int,
                      confidence: float = CONFIDENCE) -> ProportionUplift | None:
    """The uplift of conversion, or None when a group is empty."""
    if exposed <= 0 or control <= 0:
        return None
    pe, pc = converted_exposed / exposed, converted_control / control
    difference = pe - pc
    half = _z(confidence) * math.sqrt(pe * (1 - pe) / exposed + pc * (1 - pc) / control)
    pooled = (converted_exposed + converted_control) / (exposed + control)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / exposed + 1 / control))
    z = difference / pooled_se if pooled_se else 0.0
    return ProportionUplift(pe, pc, difference, difference - half, difference + half,
                            difference / pc if pc else None, z, float(2 * stats.norm.sf(abs(z))))


@dataclass(frozen=True)
class Sample:
    """A group's values per member: how many, their mean and their sample variance (n − 1)."""

    n: int
    mean: float
    variance: float

    @classmethod
    def of_sums(cls, n: int, total: float, squares: float) -> "Sample":
        """From the count, the sum and the sum of squares (what one SQL statement gives)."""
        if n <= 0:
            return cls(0, 0.0, 0.0)
        mean = total / n
        variance = max(squares - total * total / n, 0.0) / (n - 1) if n > 1 else 0.0
        return cls(n, mean, variance)

    @classmethod
    def of(cls, values: Sequence[float]) -> "Sample":
        return cls.of_sums(len(values), float(sum(values)), float(sum(v * v for v in values)))


@dataclass(frozen=True)
class MeanDifference:
    difference: float  # exposed − control
    low: float | None
    high: float | None
    degrees_of_freedom: float | None


def mean_difference(exposed: Sample, control: Sample, confidence: float = CONFIDENCE) -> MeanDifference | None:
    """Welch's difference of means, or None when a group is empty."""
    if exposed.n == 0 or control.n == 0:
        return None
    difference = exposed.mean - control.mean
    ve, vc = exposed.variance / exposed.n, control.variance / control.n
    if exposed.n < 2 or control.n < 2 or ve + vc == 0:
        return MeanDifference(difference, None, None, None)
    df = (ve + vc) ** 2 / (ve ** 2 / (exposed.n - 1) + vc ** 2 / (control.n - 1))
    half = float(stats.t.ppf(1 - (1 - confidence) / 2, df)) * math.sqrt(ve + vc)
    return MeanDifference(difference, difference - half, difference + half, df)


def sample_size(baseline: float, effect: float, *, confidence: float = CONFIDENCE, power: float = POWER,
                comparisons: int = 1) -> int:
    """Members needed in each group to detect an absolute difference `effect` from the `baseline` conversion
    (two-sided), for `comparisons` variants against one control."""
    p1, p2 = baseline, baseline + effect
    if not 0 < p1 < 1 or not 0 < p2 < 1 or effect == 0:
        raise ValueError("the baseline and the baseline plus the effect lie strictly between 0 and 1")
    z = _z(1 - (1 - confidence) / comparisons)
    z_power = float(stats.norm.ppf(power))
    mean = (p1 + p2) / 2
    root = z * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root ** 2 / effect ** 2)


def detectable_effect(baseline: float, exposed: int, control: int, *, confidence: float = CONFIDENCE,
                      power: float = POWER) -> float | None:
    """The smallest absolute difference of conversion these groups detect; None when a group is empty or the
    baseline is 0 or 1 (no variance to judge by)."""
    if exposed <= 0 or control <= 0 or not 0 < baseline < 1:
        return None
    z_power = float(stats.norm.ppf(power))
    return (_z(confidence) + z_power) * math.sqrt(baseline * (1 - baseline) * (1 / exposed + 1 / control))


def variants(control: tuple[int, int], tested: Mapping[str, tuple[int, int]],
             confidence: float = CONFIDENCE) -> dict[str, ProportionUplift | None]:
    """Each variant's (converted, members) against the control's, at the Bonferroni-corrected confidence."""
    corrected = 1 - (1 - confidence) / max(len(tested), 1)
    return {name: proportion_uplift(x, n, *control, confidence=corrected) for name, (x, n) in tested.items()}
