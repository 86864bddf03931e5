"""Detection rules: which diary entries and readings should raise an alert.

The server calls :func:`detect` when it stores a new diary entry or new readings, passing the
patient's entries of at least the last 7 days, the new readings, the care plan, the time and
the dedup keys of the alerts still open. The symptom rules read the newest entry against the
ones before it; the vital rule reads the readings passed in; the check-in rule reads ``now``.
A periodic sweep that only looks for silence calls :func:`detect_missed_checkin`.

Severity, in the order the coordinator's queue sorts by:

============  =====================================================================
critical      a new severe symptom: severe now, and not severe in any baseline entry
high          a symptom at or over its severe threshold; a vital sign out of its band
moderate      a symptom at or over its moderate threshold; a rise of 2+ over baseline
low           a missed daily check-in
============  =====================================================================

Per symptom only the most severe finding is raised (on a tie: new severe, then threshold,
then rise), so one entry never puts three alerts about the same pain in the queue. Symptom
keys carry the severity (``symptom:pain:high``): an open alert for an item holds back findings
for that item of the same or a lower severity, but a worse one is raised.

One entry raises one alert: when it crosses rules for several symptoms, :func:`one_alert`
folds the findings into a single alert that carries every reason, at the severity of the
worst, and covers each finding's key.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from encounters.careplan import CarePlan, band_for, threshold_for
from encounters.diary import DIARY_ITEM_LABELS, DIARY_ITEMS, DiaryEntry
from encounters.errors import ValidationError
from encounters.reading_types import Reading
from encounters.vital_signs import (
    PARAMETERS,
    VITAL_SIGNS,
    Band,
    Direction,
    convert,
    out_of_band,
    shown,
)

# A week of daily check-ins: long enough to smooth one bad night, short enough to follow
# a decline that palliative patients go through over days.
BASELINE_ENTRIES_MAX = 7
BASELINE_WINDOW_DAYS = 7
# With fewer than three earlier answers a "median" is one or two days' values, not a baseline;
# the rise and new-severe rules then stay silent and only the thresholds apply.
BASELINE_ENTRIES_MIN = 3
RISE_MIN_POINTS = 2
CHECKIN_INTERVAL_H = 24
# Families check in at roughly the same time of day, not to the minute.
CHECKIN_GRACE_MIN = 120


class Severity(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_RANK: dict[str, int] = {s.value: rank for rank, s in enumerate(Severity)}


class Rule(StrEnum):
    SYMPTOM_NEW_SEVERE = "symptom_new_severe"
    SYMPTOM_THRESHOLD = "symptom_threshold"
    SYMPTOM_RISE = "symptom_rise"
    VITAL_OUT_OF_BAND = "vital_out_of_band"
    MISSED_CHECKIN = "missed_checkin"
    # A family's message with red-flag words or sent outside the team's hours
    # (encounters/family_messages.py).
    FAMILY_MESSAGE = "family_message"


# Which finding leads an alert that folds several of equal severity: the order rules are listed.
_RULE_ORDER = tuple(Rule)
# Tie-break among findings of equal severity for one item: the more specific rule wins.
_RULE_PREFERENCE = (Rule.SYMPTOM_RISE, Rule.SYMPTOM_THRESHOLD, Rule.SYMPTOM_NEW_SEVERE)
_ITEM_ORDER = {item.item_id: i for i, item in enumerate(DIARY_ITEMS)}


@dataclass(frozen=True)
class VitalSample:
    """One number of one reading, named by its parameter in the vital-sign catalogue."""

    reading_id: str
    parameter: str
    value: float
    taken_at: datetime
    unit: str | None = None  # the reading's unit; None: the parameter's own


def samples_of(reading: Reading) -> list[VitalSample]:
    """The numbers a reading carries, each under its parameter (a blood pressure has two;
    a component the device could not measure has none)."""
    values = (
        (reading.value, reading.value2) if reading.kind == "blood_pressure" else (reading.value,)
    )
    parameters = VITAL_SIGNS[reading.kind].parameters
    return [
        VitalSample(reading.client_id, parameter, value, reading.taken_at, reading.unit)
        for parameter, value in zip(parameters, values, strict=True)
        if value is not None
    ]


@dataclass(frozen=True)
class VitalCrossing:
    """One sample outside the patient's band for its parameter."""

    sample: VitalSample
    direction: Direction
    band: Band

    @property
    def in_band_unit(self) -> float:
        return convert(self.sample.value, self.unit, self.band.unit)

    @property
    def unit(self) -> str:
        return self.sample.unit or PARAMETERS[self.sample.parameter].unit

    @property
    def reason(self) -> str:
        """A sentence for the clinician; it holds the value, so it is never logged."""
        return f"{self.label} {self.shown_value} — {self.limit}"

    @property
    def label(self) -> str:
        return PARAMETERS[self.sample.parameter].label

    @property
    def shown_value(self) -> str:
        text = shown(self.sample.value, self.unit)
        if self.unit != self.band.unit:
            text += f" ({shown(self.in_band_unit, self.band.unit)})"
        return text

    @property
    def limit(self) -> str:
        band = self.band
        if self.direction == "low":
            return f"below the lower limit ({shown(band.low, band.unit)})"
        edge = "at or above" if band.high_inclusive else "above"
        return f"{edge} the upper limit ({shown(band.high, band.unit)})"


def vital_crossings(samples: Sequence[VitalSample], care_plan: CarePlan) -> list[VitalCrossing]:
    """Every sample outside its band: the patient's own where the plan sets one, else the
    home default. With monitoring off (where it is not within the goals of care) none is.

    The one check of a reading against a band: the in-call alert, the queue's alerts and the
    drill report all ask this."""
    if not care_plan.monitoring_enabled:
        return []
    found = []
    for sample in samples:
        band = band_for(care_plan, sample.parameter)
        if band is None or not math.isfinite(sample.value):
            continue
        direction = out_of_band(sample.value, band, sample.unit or band.unit)
        if direction is not None:
            found.append(VitalCrossing(sample, direction, band))
    return found


@dataclass(frozen=True)
class AlertCandidate:
    rule_id: Rule
    severity: Severity
    summary: str
    evidence: tuple[str, ...]
    dedup_key: str
    # The keys of every finding this alert stands for (itself included) when it folds several.
    covers: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return self.covers or (self.dedup_key,)


SUMMARY_MAX_CHARS = 300


def one_alert(findings: Sequence[AlertCandidate]) -> AlertCandidate | None:
    """The findings of one diary entry as one alert: the worst finding leads (its rule,
    severity and key), every finding's reason is in the summary, worst first, and the alert
    covers every finding's key. None when there is nothing to raise."""
    if not findings:
        return None
    ordered = sorted(
        findings, key=lambda c: (-SEVERITY_RANK[c.severity], _RULE_ORDER.index(c.rule_id))
    )
    lead = ordered[0]
    if len(ordered) == 1:
        return lead
    summary = "; ".join(c.summary for c in ordered)
    if len(summary) > SUMMARY_MAX_CHARS:
        summary = summary[: SUMMARY_MAX_CHARS - 1] + "…"
    evidence = tuple(dict.fromkeys(e for c in ordered for e in c.evidence))
    return AlertCandidate(
        lead.rule_id,
        lead.severity,
        summary,
        evidence,
        lead.dedup_key,
        covers=tuple(dict.fromkeys(k for c in ordered for k in c.keys)),
    )


def detect(
    entries: Sequence[DiaryEntry],
    readings: Sequence[VitalSample],
    care_plan: CarePlan,
    *,
    now: datetime,
    open_alert_keys: Collection[str],
) -> list[AlertCandidate]:
    """Every alert the data calls for and no open alert already covers, most severe first."""
    found = [
        *detect_symptoms(entries, care_plan),
        *detect_vitals(readings, care_plan),
        *detect_missed_checkin(entries, now=now),
    ]
    fresh = [c for c in found if not is_covered(c, open_alert_keys)]
    return sorted(fresh, key=lambda c: (-SEVERITY_RANK[c.severity], c.dedup_key))


def is_covered(candidate: AlertCandidate, open_alert_keys: Collection[str]) -> bool:
    if candidate.dedup_key in open_alert_keys:
        return True
    if candidate.rule_id not in _RULE_PREFERENCE:
        return False
    subject, _, _ = candidate.dedup_key.rpartition(":")
    rank = SEVERITY_RANK[candidate.severity]
    for key in open_alert_keys:
        open_subject, _, open_severity = key.rpartition(":")
        if open_subject == subject and SEVERITY_RANK.get(open_severity, -1) >= rank:
            return True
    return False


def detect_symptoms(entries: Sequence[DiaryEntry], care_plan: CarePlan) -> list[AlertCandidate]:
    """Threshold, rise and new-severe rules over the newest entry.

    Baseline for an item: the median of its values in the up to ``BASELINE_ENTRIES_MAX``
    entries before the newest that answered it, recorded within ``BASELINE_WINDOW_DAYS`` before
    the newest entry; at least ``BASELINE_ENTRIES_MIN`` are needed.
    """
    if not entries:
        return []
    latest = max(entries, key=lambda e: (e.recorded_at, e.client_id))
    window_start = latest.recorded_at - timedelta(days=BASELINE_WINDOW_DAYS)
    earlier = sorted(
        (e for e in entries if window_start <= e.recorded_at < latest.recorded_at),
        key=lambda e: e.recorded_at,
        reverse=True,
    )
    found: list[AlertCandidate] = []
    for item in sorted(latest.scores, key=lambda i: _ITEM_ORDER.get(i, len(_ITEM_ORDER))):
        baseline = [e for e in earlier if item in e.scores][:BASELINE_ENTRIES_MAX]
        findings = _item_findings(item, latest, baseline, care_plan)
        if findings:
            found.append(
                max(
                    findings,
                    key=lambda c: (SEVERITY_RANK[c.severity], _RULE_PREFERENCE.index(c.rule_id)),
                )
            )
    return found


def _item_findings(
    item: str, latest: DiaryEntry, baseline: list[DiaryEntry], care_plan: CarePlan
) -> list[AlertCandidate]:
    value = latest.scores[item]
    limits = threshold_for(care_plan, item)
    shown = f"{DIARY_ITEM_LABELS.get(item, item)} {value}/10"
    findings: list[AlertCandidate] = []
    if value >= limits.severe:
        findings.append(
            _symptom(
                Rule.SYMPTOM_THRESHOLD,
                Severity.HIGH,
                f"{shown} — at or over the severe threshold ({limits.severe})",
                item,
                (latest,),
            )
        )
    elif value >= limits.moderate:
        findings.append(
            _symptom(
                Rule.SYMPTOM_THRESHOLD,
                Severity.MODERATE,
                f"{shown} — at or over the moderate threshold ({limits.moderate})",
                item,
                (latest,),
            )
        )
    if len(baseline) < BASELINE_ENTRIES_MIN:
        return findings
    earlier_values = [e.scores[item] for e in baseline]
    median = statistics.median(earlier_values)
    if value - median >= RISE_MIN_POINTS:
        findings.append(
            _symptom(
                Rule.SYMPTOM_RISE,
                Severity.MODERATE,
                f"{shown} — up {value - median:g} from the recent baseline ({median:g})",
                item,
                (latest, *baseline),
            )
        )
    if value >= limits.severe and all(v < limits.severe for v in earlier_values):
        findings.append(
            _symptom(
                Rule.SYMPTOM_NEW_SEVERE,
                Severity.CRITICAL,
                f"{shown} — newly severe (below {limits.severe} in the last "
                f"{len(baseline)} check-ins)",
                item,
                (latest, *baseline),
            )
        )
    return findings


def _symptom(
    rule: Rule, severity: Severity, summary: str, item: str, evidence: Iterable[DiaryEntry]
) -> AlertCandidate:
    ids = tuple(e.client_id for e in evidence)
    return AlertCandidate(rule, severity, summary, ids, f"symptom:{item}:{severity}")


def detect_vitals(readings: Sequence[VitalSample], care_plan: CarePlan) -> list[AlertCandidate]:
    """One alert per parameter and direction, quoting the most extreme reading.

    Bands are the patient's own where set, else the default home bands. With monitoring off
    (where it is not within the goals of care) vitals raise nothing.
    """
    groups: dict[tuple[str, str], list[VitalCrossing]] = {}
    ordered = sorted(readings, key=lambda r: (r.taken_at, r.reading_id))
    for crossing in vital_crossings(ordered, care_plan):
        groups.setdefault((crossing.sample.parameter, crossing.direction), []).append(crossing)
    found: list[AlertCandidate] = []
    for (parameter, side), group in groups.items():
        extreme = min if side == "low" else max
        worst = extreme(group, key=lambda c: c.in_band_unit)
        found.append(
            AlertCandidate(
                Rule.VITAL_OUT_OF_BAND,
                Severity.HIGH,
                worst.reason,
                tuple(c.sample.reading_id for c in group),
                f"vital:{parameter}:{side}",
            )
        )
    return found


def detect_missed_checkin(entries: Sequence[DiaryEntry], *, now: datetime) -> list[AlertCandidate]:
    """Missed when more than ``CHECKIN_INTERVAL_H`` h + ``CHECKIN_GRACE_MIN`` min have passed
    since the newest entry (exactly at that edge is not yet missed). No entries, no alert: the
    diary has not started. The key names the last entry, so one silence raises one alert."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError("now must be a time with a UTC offset.", field="now")
    if not entries:
        return []
    latest = max(entries, key=lambda e: (e.recorded_at, e.client_id))
    silence = now - latest.recorded_at
    if silence <= timedelta(hours=CHECKIN_INTERVAL_H, minutes=CHECKIN_GRACE_MIN):
        return []
    hours = int(silence.total_seconds() // 3600)
    return [
        AlertCandidate(
            Rule.MISSED_CHECKIN,
            Severity.LOW,
            f"No diary check-in for {hours} h — one is expected every {CHECKIN_INTERVAL_H} h",
            (latest.client_id,),
            f"missed_checkin:{latest.client_id}",
        )
    ]
