"""Patients, their care team and their family: ``/api/patients``."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.registry import api, int_param, parse_body, query_int, respond
from server.api.schemas import (
    FamilyCreate,
    FamilyOut,
    PatientCreate,
    PatientList,
    PatientOut,
    PatientSummary,
    TeamMemberOut,
)
from server.edge.auth import staff
from server.services import audit
from server.services.access import PERMISSIONS, TEAM_SCOPED, patient_for
from server.services.context import services
from server.services.errors import ApiError
from server.store.models import CareTeam, CareTeamMember, FamilyMember, Patient, User

PAGE_SIZE = 100


async def patient_out(s: AsyncSession, patient: Patient) -> PatientOut:
    members = (
        await s.scalars(
            select(User)
            .join(CareTeamMember, CareTeamMember.user_id == User.id)
            .join(CareTeam, CareTeam.id == CareTeamMember.care_team_id)
            .where(CareTeam.patient_id == patient.id)
            .order_by(User.name)
        )
    ).all()
    family = (
        await s.scalars(
            select(FamilyMember)
            .where(FamilyMember.patient_id == patient.id)
            .order_by(FamilyMember.id)
        )
    ).all()
    return PatientOut(
        id=patient.id,
        name=patient.name,
        birth_date=patient.birth_date,
        time_zone=patient.time_zone,
        language=patient.language,
        care_team=[TeamMemberOut(id=u.id, name=u.name, role=u.role) for u in members],
        family=[family_out(f) for f in family],
    )


def family_out(f: FamilyMember) -> FamilyOut:
    return FamilyOut(
        id=f.id,
        name=f.name,
        relationship=f.relationship_,
        email=f.email,
        phone=f.phone,
        language=f.language,
    )


@api(
    "POST",
    "/api/patients",
    summary="Register a patient with their care team",
    tag="patients",
    body=PatientCreate,
    response=PatientOut,
    status=201,
    auth="staff",
    errors=(400, 401, 403, 422),
)
async def create_patient(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["patient.create"])
    body = await parse_body(request, PatientCreate)
    svc = services(request)
    now = svc.clock.now()
    if body.birth_date > now.date():
        raise ApiError(
            422, "invalid_field", "The field 'birth_date' is in the future.", field="birth_date"
        )
    team_ids = sorted(set(body.care_team))
    async with svc.db.begin() as s:
        found = (
            await s.scalars(
                select(User).where(
                    User.id.in_(team_ids), User.active.is_(True), User.role.in_(tuple(TEAM_SCOPED))
                )
            )
        ).all()
        missing = sorted(set(team_ids) - {u.id for u in found})
        if missing:
            raise ApiError(
                422,
                "unknown_team_member",
                f"The field 'care_team' names user(s) {missing} who are not active "
                "clinicians or coordinators.",
                field="care_team",
            )
        patient = Patient(
            name=body.name,
            birth_date=body.birth_date,
            time_zone=body.time_zone,
            language=body.language,
            created_at=now,
            created_by=who.user_id,
        )
        s.add(patient)
        await s.flush()
        team = CareTeam(patient_id=patient.id, name="Care team")
        s.add(team)
        await s.flush()
        s.add_all(CareTeamMember(care_team_id=team.id, user_id=uid) for uid in team_ids)
        await s.flush()
        await audit.record(s, request, who, "create", "patient", patient.id, patient_id=patient.id)
        out = await patient_out(s, patient)
    return respond(out, 201)


@api(
    "GET",
    "/api/patients",
    summary="Patients the caller may see",
    tag="patients",
    response=PatientList,
    auth="staff",
    query=(("q", "string", "part of the name"), ("after", "integer", "last id of previous page")),
    errors=(401, 403),
)
async def list_patients(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["patient.list"])
    after = query_int(request, "after") or 0
    q = (request.query.get("q") or "").strip()[:100]
    query = select(Patient).where(Patient.id > after).order_by(Patient.id).limit(PAGE_SIZE)
    if who.role in TEAM_SCOPED:
        query = (
            query.join(CareTeam, CareTeam.patient_id == Patient.id)
            .join(CareTeamMember, CareTeamMember.care_team_id == CareTeam.id)
            .where(CareTeamMember.user_id == who.user_id)
        )
    if q:
        query = query.where(Patient.name.ilike(f"%{q}%"))
    async with services(request).db.begin() as s:
        patients = (await s.scalars(query)).all()
        # Each patient listed is a read of their record: one row each, in one INSERT.
        await audit.record_many(
            s, request, who, "list", "patient", [audit.Target(p.id, p.id) for p in patients]
        )
    return respond(
        PatientList(
            items=[
                PatientSummary(id=p.id, name=p.name, time_zone=p.time_zone, language=p.language)
                for p in patients
            ]
        )
    )


@api(
    "GET",
    "/api/patients/{patient_id}",
    summary="A patient, with care team and family",
    tag="patients",
    response=PatientOut,
    auth="staff",
    errors=(401, 403, 404),
)
async def get_patient(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    async with services(request).db.begin() as s:
        patient = await patient_for(s, who, patient_id, "patient.read")
        await audit.record(s, request, who, "read", "patient", patient.id, patient_id=patient.id)
        out = await patient_out(s, patient)
    return respond(out)


@api(
    "POST",
    "/api/patients/{patient_id}/family",
    summary="Add a family member (related person)",
    tag="patients",
    body=FamilyCreate,
    response=FamilyOut,
    status=201,
    auth="staff",
    errors=(400, 401, 403, 404, 422),
)
async def add_family(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    body = await parse_body(request, FamilyCreate)
    svc = services(request)
    async with svc.db.begin() as s:
        patient = await patient_for(s, who, patient_id, "family.add")
        member = FamilyMember(
            patient_id=patient.id,
            name=body.name,
            relationship_=body.relationship,
            email=body.email,
            phone=body.phone,
            language=body.language,
            created_at=svc.clock.now(),
        )
        s.add(member)
        await s.flush()
        await audit.record(
            s, request, who, "create", "related_person", member.id, patient_id=patient.id
        )
    return respond(family_out(member), 201)
