"""Every HTML page's route, declared in one place."""

from __future__ import annotations

from aiohttp import web

from server.pages import (
    admin,
    availability,
    between_visits,
    calendar_feed,
    call_page,
    diary_offline,
    drills,
    education,
    outcomes,
    quality,
    visit_note,
    visits,
)


def setup_page_routes(app: web.Application) -> None:
    app.router.add_get("/", visits.home, name="home")
    app.router.add_get("/login", visits.login_page, name="login")
    app.router.add_get("/today", visits.today_page, name="today")
    app.router.add_get("/schedule", visits.schedule_page, name="schedule")
    app.router.add_get("/join/{token}", visits.join_page, name="join")
    app.router.add_get("/family", visits.family_page, name="family")
    app.router.add_get("/call", call_page.call_page, name="call")
    app.router.add_get("/visit/{encounter_id}", visits.visit_page, name="visit")
    visit_note.add_note_page_routes(app)
    diary_offline.add_diary_offline_routes(app)
    between_visits.add_between_visits_pages(app)
    drills.add_drill_page_routes(app)
    availability.add_availability_page_routes(app)
    education.add_education_page_routes(app)
    admin.add_admin_page_routes(app)
    calendar_feed.add_calendar_feed_page_routes(app)
    quality.add_quality_page_routes(app)
    outcomes.add_outcome_page_routes(app)
