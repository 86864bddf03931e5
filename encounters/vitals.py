"""The NEWS2 score.

Bands, units, labels and the check against a band are the vital-sign catalogue's
(:mod:`encounters.vital_signs`, :func:`encounters.detection.vital_crossings`). NEWS2 follows
the RCP 2017 chart exactly; it was validated in hospital, not at home, so callers show it
with its sub-scores and never let it override the patient's ceiling of care. NEWS2 © Royal
College of Physicians, used unaltered.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Literal

from encounters.errors import ValidationError

# NEWS2 ---------------------------------------------------------------------------------


class Consciousness(Enum):
    """ACVPU. Only *new* confusion counts; chronic confusion is recorded as ALERT."""

    ALERT = "alert"
    NEW_CONFUSION = "new_confusion"
    VOICE = "voice"
    PAIN = "pain"
    UNRESPONSIVE = "unresponsive"


class News2Risk(Enum):
    LOW = "low"
    LOW_MEDIUM = "low_medium"  # any single parameter scores 3
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class News2Observations:
    """One set of observations; NEWS2 needs all seven parameters."""

    respiratory_rate_per_min: float
    spo2_pct: float
    on_oxygen: bool
    systolic_bp_mmhg: float
    pulse_per_min: float
    consciousness: Consciousness
    temperature_cel: float
    # Scale 2 only for confirmed hypercapnic respiratory failure with a prescribed
    # 88-92 % target, decided and recorded by a clinician; everyone else is on Scale 1.
    spo2_scale: Literal[1, 2] = 1


@dataclass(frozen=True)
class News2Score:
    respiratory_rate: int
    spo2: int
    air_or_oxygen: int
    systolic_bp: int
    pulse: int
    consciousness: int
    temperature: int

    @property
    def sub_scores(self) -> Mapping[str, int]:
        return {
            "respiratory_rate": self.respiratory_rate,
            "spo2": self.spo2,
            "air_or_oxygen": self.air_or_oxygen,
            "systolic_bp": self.systolic_bp,
            "pulse": self.pulse,
            "consciousness": self.consciousness,
            "temperature": self.temperature,
        }

    @property
    def total(self) -> int:
        return sum(self.sub_scores.values())

    @property
    def risk(self) -> News2Risk:
        # RCP 2017: >= 7 high; 5-6 medium; otherwise a single 3 is low-medium.
        if self.total >= 7:
            return News2Risk.HIGH
        if self.total >= 5:
            return News2Risk.MEDIUM
        if 3 in self.sub_scores.values():
            return News2Risk.LOW_MEDIUM
        return News2Risk.LOW


def _charted(value: float, name: str, places: int = 0) -> Decimal:
    """``value`` as it is written on the chart: whole numbers, temperature to 0.1.

    The chart's bands are whole numbers (temperature one decimal), so a value between
    two rows (95.5 %, 38.05 °C) is first written as the chart would, half up.
    """
    if not math.isfinite(value) or value < 0:
        raise ValidationError(
            f"NEWS2 field '{name}' must be a finite number, 0 or more.",
            code="out_of_range",
            field=name,
        )
    # str() gives the shortest decimal form, so 38.05 is 38.05 and not 38.0499999.
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def score_respiratory_rate(rate_per_min: float) -> int:
    rate = _charted(rate_per_min, "respiratory_rate_per_min")
    # Easy to get wrong: 9-11 scores 1 and 21-24 scores 2; no 2 below and no 1 above.
    if rate <= 8:
        return 3
    if rate <= 11:
        return 1
    if rate <= 20:
        return 0
    if rate <= 24:
        return 2
    return 3


def score_spo2(spo2_pct: float, *, on_oxygen: bool, scale: Literal[1, 2] = 1) -> int:
    if scale not in (1, 2):
        raise ValidationError(
            "NEWS2 SpO2 scale must be 1 or 2.", code="out_of_range", field="scale"
        )
    spo2 = _charted(spo2_pct, "spo2_pct")
    if scale == 1:
        if spo2 <= 91:
            return 3
        if spo2 <= 93:
            return 2
        return 1 if spo2 <= 95 else 0
    if spo2 <= 83:
        return 3
    if spo2 <= 85:
        return 2
    if spo2 <= 87:
        return 1
    if spo2 <= 92 or not on_oxygen:
        return 0  # on air, 93 % and above scores 0 on Scale 2
    if spo2 <= 94:
        return 1
    return 2 if spo2 <= 96 else 3  # over-oxygenation on oxygen


def score_air_or_oxygen(on_oxygen: bool) -> int:
    return 2 if on_oxygen else 0


def score_systolic_bp(systolic_mmhg: float) -> int:
    systolic = _charted(systolic_mmhg, "systolic_bp_mmhg")
    if systolic <= 90:
        return 3
    if systolic <= 100:
        return 2
    if systolic <= 110:
        return 1
    return 0 if systolic <= 219 else 3


def score_pulse(pulse_per_min: float) -> int:
    pulse = _charted(pulse_per_min, "pulse_per_min")
    if pulse <= 40:
        return 3
    if pulse <= 50:
        return 1
    if pulse <= 90:
        return 0
    if pulse <= 110:
        return 1
    return 2 if pulse <= 130 else 3


def score_consciousness(level: Consciousness) -> int:
    return 0 if level is Consciousness.ALERT else 3  # new confusion is 3, not 1


def score_temperature(temperature_cel: float) -> int:
    temperature = _charted(temperature_cel, "temperature_cel", places=1)
    if temperature <= Decimal("35.0"):
        return 3
    if temperature <= Decimal("36.0"):
        return 1
    if temperature <= Decimal("38.0"):
        return 0
    return 1 if temperature <= Decimal("39.0") else 2  # high never scores 3


def score_news2(observations: News2Observations) -> News2Score:
    """NEWS2 sub-scores, total (0-20) and risk band, per the RCP 2017 chart."""
    return News2Score(
        respiratory_rate=score_respiratory_rate(observations.respiratory_rate_per_min),
        spo2=score_spo2(
            observations.spo2_pct, on_oxygen=observations.on_oxygen, scale=observations.spo2_scale
        ),
        air_or_oxygen=score_air_or_oxygen(observations.on_oxygen),
        systolic_bp=score_systolic_bp(observations.systolic_bp_mmhg),
        pulse=score_pulse(observations.pulse_per_min),
        consciousness=score_consciousness(observations.consciousness),
        temperature=score_temperature(observations.temperature_cel),
    )
