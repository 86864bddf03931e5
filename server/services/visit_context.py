"""What storing a batch of readings needs to know about each visit: its patient, start, drill
mark and drill, and the patient's care plan (bands, monitoring) as a parsed domain value.

Kept in this process per visit, so that a batch of readings asks the database nothing about
its visits (py-spy: the query per batch was a tenth of the server's CPU at 1,000 readings a
second, and a round trip in every lone reading's time). A change that alters a visit's
context says so in its transaction (``changed``: a saved care plan, a rescheduled visit, a
drill booked on it); when that transaction commits, the contexts it names are dropped, so
the very next reading loads the new ones. A load that ran while such a change committed is
used for its batch but not kept (the generation counter), so a stale context never outlives
the change. A change made by another process (another app node, the command line) cannot
reach this cache: each context is loaded afresh after ``MAX_AGE_S`` at the latest. The care
plan is parsed from its JSON once per version, not once per reading.
"""

from __future__ import annotations

import datetime as dt
import time
import weakref
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, event, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from encounters.careplan import CarePlan, default_care_plan
from encounters.careplan_json import validate_care_plan
from server.store.between_visits import CarePlanVersion
from server.store.drills import Drill
from server.store.models import Encounter

# Parsed plans (and visit contexts) kept at once; the least recently loaded goes first. A
# plan is a few KiB.
MAX_PLANS = 10_000
# A cached context is loaded again after this long: the bound on how late a change made by
# another process (another app node) reaches this one. Changes made here count at once.
MAX_AGE_S = 5.0
_CHANGED = "hearth.visit_contexts_changed"
_ALL: weakref.WeakSet[VisitContexts] = weakref.WeakSet()


@dataclass(frozen=True)
class VisitContext:
    encounter_id: int
    patient_id: int
    starts_at: dt.datetime
    is_drill: bool
    drill_id: int | None  # the drill this visit plays, None for a real visit
    plan: CarePlan

    @property
    def raises_alerts(self) -> bool:
        """A drill's readings raise that drill's alerts only; a visit marked as a drill
        without a drill of its own (booked from a drill alert) raises none."""
        return not self.is_drill or self.drill_id is not None


class VisitContexts:
    """Per process: visit contexts by encounter, and parsed care plans by patient with the
    version each was parsed from."""

    def __init__(self, max_plans: int = MAX_PLANS, max_age_s: float = MAX_AGE_S) -> None:
        self._plans: dict[int, tuple[int, CarePlan]] = {}
        self._max_plans = max_plans
        self._max_age_s = max_age_s
        self._contexts: dict[int, tuple[float, VisitContext]] = {}
        self._generation = 0  # counts forget() calls: a load that spans one is not kept
        self.parsed = 0  # plans parsed from JSON, for tests and benches
        self.loads = 0  # queries for contexts not cached, for tests and benches
        _ALL.add(self)

    def forget(self, *, patients: Collection[int] = (), encounters: Collection[int] = ()) -> None:
        """Drop the contexts of these visits and of every visit of these patients."""
        self._generation += 1
        patient_set = set(patients)
        for encounter_id, (_at, context) in list(self._contexts.items()):
            if encounter_id in encounters or context.patient_id in patient_set:
                del self._contexts[encounter_id]

    async def load(
        self, s: AsyncSession, encounter_ids: Collection[int]
    ) -> dict[int, VisitContext]:
        """The visits that exist among ``encounter_ids``, by id."""
        now = time.monotonic()
        found: dict[int, VisitContext] = {}
        missing = []
        for encounter_id in encounter_ids:
            cached = self._contexts.get(encounter_id)
            if cached is not None and now - cached[0] < self._max_age_s:
                found[encounter_id] = cached[1]
            else:
                missing.append(encounter_id)
        if not missing:
            return found
        generation = self._generation
        loaded = await self._query(s, missing)
        if generation == self._generation:
            while len(self._contexts) + len(loaded) > self._max_plans and self._contexts:
                self._contexts.pop(next(iter(self._contexts)))
            for encounter_id, context in loaded.items():
                self._contexts[encounter_id] = (now, context)
        return found | loaded

    async def _query(
        self, s: AsyncSession, encounter_ids: Collection[int]
    ) -> dict[int, VisitContext]:
        self.loads += 1
        latest = (
            select(func.max(CarePlanVersion.version))
            .where(CarePlanVersion.patient_id == Encounter.patient_id)
            .scalar_subquery()
        )
        drill = select(Drill.id).where(Drill.encounter_id == Encounter.id).scalar_subquery()
        rows = (
            await s.execute(
                select(
                    Encounter.id,
                    Encounter.patient_id,
                    Encounter.starts_at,
                    Encounter.is_drill,
                    drill,
                    latest,
                ).where(Encounter.id.in_(encounter_ids))
            )
        ).all()
        versions = {int(row[1]): int(row[5] or 0) for row in rows}
        plans = await self._plans_for(s, versions)
        return {
            int(eid): VisitContext(
                encounter_id=int(eid),
                patient_id=int(pid),
                starts_at=starts_at,
                is_drill=bool(is_drill),
                drill_id=int(drill_id) if drill_id is not None and is_drill else None,
                plan=plans[int(pid)],
            )
            for eid, pid, starts_at, is_drill, drill_id, _version in rows
        }

    async def _plans_for(self, s: AsyncSession, versions: dict[int, int]) -> dict[int, CarePlan]:
        stale = {
            patient_id: version
            for patient_id, version in versions.items()
            if self._plans.get(patient_id, (None,))[0] != version
        }
        stored = [(p, v) for p, v in stale.items() if v]
        found: dict[int, Any] = {}
        if stored:
            rows = await s.execute(
                select(CarePlanVersion.patient_id, CarePlanVersion.plan).where(
                    or_(
                        *(
                            and_(CarePlanVersion.patient_id == p, CarePlanVersion.version == v)
                            for p, v in stored
                        )
                    )
                )
            )
            found = {int(p): plan for p, plan in rows}
        for patient_id, version in stale.items():
            # No version yet: the defaults, the care team has not written a plan.
            plan = validate_care_plan(found[patient_id]) if version else default_care_plan()
            self.parsed += 1
            self._plans.pop(patient_id, None)
            if len(self._plans) >= self._max_plans:
                self._plans.pop(next(iter(self._plans)))
            self._plans[patient_id] = (version, plan)
        return {patient_id: self._plans[patient_id][1] for patient_id in versions}


def loads_in_process() -> int:
    """Queries for visit contexts made by this process so far (tests and benches)."""
    return sum(contexts.loads for contexts in list(_ALL))


def changed(
    s: AsyncSession, *, patient_id: int | None = None, encounter_id: int | None = None
) -> None:
    """This transaction changes what a visit's readings are checked against (the patient's
    care plan, the visit's start, its drill): when it commits, the cached contexts of the
    patient's visits (or of the visit) are dropped in this process."""
    patients, encounters = s.sync_session.info.setdefault(_CHANGED, (set(), set()))
    if patient_id is not None:
        patients.add(patient_id)
    if encounter_id is not None:
        encounters.add(encounter_id)


@event.listens_for(Session, "after_commit")
def _forget_changed(session: Session) -> None:
    found = session.info.pop(_CHANGED, None)
    if found is not None:
        for contexts in list(_ALL):
            contexts.forget(patients=found[0], encounters=found[1])


@event.listens_for(Session, "after_rollback")
def _drop_changed(session: Session) -> None:
    session.info.pop(_CHANGED, None)
