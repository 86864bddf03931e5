"""The admin's pages: staff logins (``/admin/users``) and the audit log (``/admin/audit``).
Handlers decide who may open them and gather the names the pages choose from; the pages'
scripts call the users and audit APIs, which check access again."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.core.i18n import pick_language, translations
from server.edge.auth import PRINCIPAL
from server.edge.rendering import render, render_error
from server.pages.availability import COMMON_ZONES
from server.services.access import may
from server.services.context import services
from server.services.sessions import Principal
from server.store.models import Patient, User


def _admin(request: web.Request, permission: str) -> Principal | None:
    who: Principal | None = request.get(PRINCIPAL)
    if who is None or not who.is_staff:
        raise web.HTTPFound("/login")
    return who if may(who, permission) else None


async def _refused(request: web.Request) -> web.StreamResponse:
    _ = translations(pick_language(request.headers.get("Accept-Language"))).gettext
    return await render_error(request, 403, _("This page is for administrators."))


async def users_page(request: web.Request) -> web.StreamResponse:
    who = _admin(request, "user.update")
    if who is None:
        return await _refused(request)
    async with services(request).db.begin() as s:
        patients = (await s.execute(select(Patient.id, Patient.name).order_by(Patient.name))).all()
    return await render(
        request,
        "users.html",
        {"user_name": who.name, "zones": COMMON_ZONES, "patients": patients},
        page_data={
            "page": "users",
            "user_id": who.user_id,
            "patients": [{"id": pid, "name": name} for pid, name in patients],
        },
    )


async def audit_page(request: web.Request) -> web.StreamResponse:
    who = _admin(request, "audit.read")
    if who is None:
        return await _refused(request)
    async with services(request).db.begin() as s:
        me = await s.get(User, who.user_id)
        patients = (await s.execute(select(Patient.id, Patient.name).order_by(Patient.name))).all()
        staff = (await s.execute(select(User.id, User.name).order_by(User.name))).all()
    return await render(
        request,
        "audit.html",
        {"user_name": who.name, "patients": patients, "staff": staff},
        page_data={"page": "audit", "time_zone": me.time_zone if me else "UTC"},
    )


def add_admin_page_routes(app: web.Application) -> None:
    app.router.add_get("/admin/users", users_page, name="admin_users")
    app.router.add_get("/admin/audit", audit_page, name="admin_audit")
