"""Storing care plans: every save is a new version, with who changed what and when."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.careplan import CarePlan, default_care_plan
from encounters.careplan_json import care_plan_to_dict, diff_care_plans, validate_care_plan
from server.services import visit_context
from server.services.errors import ApiError
from server.store.between_visits import CarePlanVersion


async def latest_version(s: AsyncSession, patient_id: int) -> CarePlanVersion | None:
    return await s.scalar(
        select(CarePlanVersion)
        .where(CarePlanVersion.patient_id == patient_id)
        .order_by(CarePlanVersion.version.desc())
        .limit(1)
    )


async def current_plan(s: AsyncSession, patient_id: int) -> CarePlan:
    """The patient's plan, or the defaults when the care team has not written one yet."""
    row = await latest_version(s, patient_id)
    return validate_care_plan(row.plan) if row else default_care_plan()


async def current_plans(s: AsyncSession, patient_ids: Collection[int]) -> dict[int, CarePlan]:
    """``current_plan`` of each patient, the latest versions of all of them in one query."""
    if not patient_ids:
        return {}
    latest = (
        select(CarePlanVersion.patient_id, func.max(CarePlanVersion.version).label("version"))
        .where(CarePlanVersion.patient_id.in_(patient_ids))
        .group_by(CarePlanVersion.patient_id)
        .subquery()
    )
    rows = await s.scalars(
        select(CarePlanVersion).join(
            latest,
            and_(
                CarePlanVersion.patient_id == latest.c.patient_id,
                CarePlanVersion.version == latest.c.version,
            ),
        )
    )
    found = {row.patient_id: validate_care_plan(row.plan) for row in rows}
    return {p: found[p] if p in found else default_care_plan() for p in patient_ids}


async def save_plan(
    s: AsyncSession,
    patient_id: int,
    plan: CarePlan,
    *,
    by: int | None,
    now: dt.datetime,
    base_version: int | None = None,
) -> CarePlanVersion:
    """A new version. ``base_version`` (the version the editor started from) refuses a save
    over someone else's newer edit instead of silently undoing it."""
    previous = await latest_version(s, patient_id)
    current = previous.version if previous else 0
    if base_version is not None and base_version != current:
        raise ApiError(
            409,
            "version_conflict",
            f"The care plan was changed meanwhile (now version {current}, you edited "
            f"version {base_version}). Reload it and make your change again.",
            field="base_version",
        )
    old = validate_care_plan(previous.plan) if previous else default_care_plan()
    changes = [{"path": c.path, "old": c.old, "new": c.new} for c in diff_care_plans(old, plan)]
    row = CarePlanVersion(
        patient_id=patient_id,
        version=current + 1,
        plan=care_plan_to_dict(plan),
        changes=changes,
        created_at=now,
        created_by=by,
    )
    s.add(row)
    await s.flush()
    # Readings are checked against the new bands from the next one on.
    visit_context.changed(s, patient_id=patient_id)
    return row


def version_to_dict(row: CarePlanVersion | None, patient_id: int) -> dict[str, Any]:
    if row is None:
        return {
            "patient_id": patient_id,
            "version": 0,
            "plan": care_plan_to_dict(default_care_plan()),
            "changes": [],
            "created_at": None,
            "created_by": None,
        }
    return {
        "patient_id": row.patient_id,
        "version": row.version,
        "plan": row.plan,
        "changes": row.changes,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
    }


async def versions_of(s: AsyncSession, patient_id: int) -> list[CarePlanVersion]:
    return list(
        (
            await s.scalars(
                select(CarePlanVersion)
                .where(CarePlanVersion.patient_id == patient_id)
                .order_by(CarePlanVersion.version.desc())
            )
        ).all()
    )


async def version_count(s: AsyncSession, patient_id: int) -> int:
    return int(
        await s.scalar(select(func.count()).where(CarePlanVersion.patient_id == patient_id)) or 0
    )
