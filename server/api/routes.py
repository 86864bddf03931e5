"""Every route Hearth answers outside the pages, declared in one place.

Each API handler carries its declaration (method, path, body and response shapes, who may
call it) from the ``@api`` decorator beside it; this module lists the handlers, so the
router and the OpenAPI document are built from the same declarations, in this order.
"""

from __future__ import annotations

from aiohttp import web

from server.api import (
    alerts,
    audit_log,
    between_visits,
    calendars,
    drill_actions,
    drill_reports,
    drills,
    education,
    encounters,
    exports,
    family_messages,
    health,
    ice,
    join,
    notes,
    patients,
    quality,
    readings,
    recordings,
    scenarios,
    scheduling,
    session,
    snapshot,
    users,
    visit_changes,
    workflow,
)
from server.api.registry import API_ROUTES, ApiRoute, Handler, declaration

API_HANDLERS: tuple[Handler, ...] = (
    # audit_log
    audit_log.list_audit,  # GET /api/audit
    audit_log.verify_audit,  # GET /api/audit/verify
    audit_log.export_audit,  # GET /api/audit/export
    # alerts
    alerts.list_alerts,  # GET /api/alerts
    alerts.acknowledge_alert,  # POST /api/alerts/{alert_id}/acknowledge
    alerts.resolve_alert,  # POST /api/alerts/{alert_id}/resolve
    alerts.reassign_alert,  # POST /api/alerts/{alert_id}/reassign
    alerts.same_day_visit,  # POST /api/alerts/{alert_id}/visit
    alerts.alert_figures,  # GET /api/alerts/figures
    # recordings (issue 20)
    recordings.start_recording,  # POST /api/encounters/{encounter_id}/recording/start
    recordings.stop_recording,  # POST /api/encounters/{encounter_id}/recording/stop
    recordings.withdraw_consent,  # POST /api/encounters/{encounter_id}/recording/withdraw
    recordings.recording_status,  # GET /api/encounters/{encounter_id}/recording
    recordings.list_recordings,  # GET /api/encounters/{encounter_id}/recordings
    recordings.play_part,  # GET /api/recordings/{recording_id}/parts/{part}
    # join
    join.join,  # POST /api/join
    # education
    education.list_topics,  # GET /api/education/topics
    education.get_education,  # GET /api/patients/{patient_id}/education
    education.post_assignment,  # POST /api/patients/{patient_id}/education
    education.post_teach_back,  # POST /api/patients/{patient_id}/education/teach-back
    education.post_opened,  # POST /api/education/assignments/{assignment_id}/opened
    education.post_question,  # POST /api/education/assignments/{assignment_id}/question
    # family_messages (issue 18)
    family_messages.post_family_message,  # POST /api/messages
    family_messages.read_family_thread,  # POST /api/messages/thread
    family_messages.list_unread,  # GET /api/messages/unread
    family_messages.read_team_thread,  # GET /api/patients/{patient_id}/messages
    family_messages.post_team_message,  # POST /api/patients/{patient_id}/messages
    family_messages.mark_team_read,  # POST /api/patients/{patient_id}/messages/read
    # between_visits
    between_visits.get_care_plan,  # GET /api/patients/{patient_id}/care-plan
    between_visits.put_care_plan,  # PUT /api/patients/{patient_id}/care-plan
    between_visits.list_care_plan_versions,  # GET /api/patients/{patient_id}/care-plan/versions
    between_visits.create_diary_link,  # POST /api/patients/{patient_id}/diary-links
    between_visits.list_diary_links,  # GET /api/patients/{patient_id}/diary-links
    between_visits.revoke_diary_link,  # DELETE /api/patients/{patient_id}/diary-links/{link_id}
    between_visits.post_diary_entry,  # POST /api/diary
    # scheduling
    scheduling.get_availability,  # GET /api/clinicians/{user_id}/availability
    scheduling.put_availability,  # PUT /api/clinicians/{user_id}/availability
    scheduling.list_slots,  # GET /api/slots
    # calendars
    calendars.create_feed,  # POST /api/clinicians/{user_id}/calendar-feed
    calendars.delete_feed,  # DELETE /api/clinicians/{user_id}/calendar-feed
    calendars.encounter_ics,  # GET /api/encounters/{encounter_id}/ics
    # drills
    drills.create_drill,  # POST /api/drills
    drills.list_drills,  # GET /api/drills
    drills.get_drill,  # GET /api/drills/{drill_id}
    # drill_actions
    drill_actions.start_drill,  # POST /api/drills/{drill_id}/start
    drill_actions.finish_drill,  # POST /api/drills/{drill_id}/finish
    drill_actions.cancel_drill,  # POST /api/drills/{drill_id}/cancel
    drill_actions.record_action,  # POST /api/drills/{drill_id}/actions
    drill_actions.family_view,  # GET /api/drills/{drill_id}/family
    # drill_reports
    drill_reports.drill_report,  # GET /api/drills/{drill_id}/report
    drill_reports.drill_trends,  # GET /api/drill-trends
    # encounters
    encounters.create_encounter,  # POST /api/encounters
    encounters.get_encounter,  # GET /api/encounters/{encounter_id}
    encounters.list_encounters,  # GET /api/encounters
    encounters.create_link,  # POST /api/encounters/{encounter_id}/links
    encounters.list_links,  # GET /api/encounters/{encounter_id}/links
    encounters.revoke_link,  # DELETE /api/encounters/{encounter_id}/links/{link_id}
    # exports
    exports.fhir_bundle,  # GET /api/encounters/{encounter_id}/fhir
    exports.visit_note,  # GET /api/encounters/{encounter_id}/note
    notes.put_narrative,  # PUT /api/encounters/{encounter_id}/note/narrative
    notes.post_sign_off,  # POST /api/encounters/{encounter_id}/note/sign-off
    notes.post_addendum,  # POST /api/encounters/{encounter_id}/note/addenda
    # patients
    patients.create_patient,  # POST /api/patients
    patients.list_patients,  # GET /api/patients
    patients.get_patient,  # GET /api/patients/{patient_id}
    patients.add_family,  # POST /api/patients/{patient_id}/family
    # quality improvement
    quality.quality_figures,  # GET /api/quality
    quality.quality_csv,  # GET /api/quality.csv
    quality.get_outcomes,  # GET /api/patients/{patient_id}/outcomes
    quality.post_outcome,  # POST /api/patients/{patient_id}/outcomes
    quality.put_outcome,  # PUT /api/outcomes/{outcome_id}
    quality.put_review,  # PUT /api/alerts/{alert_id}/review
    quality.get_survey,  # GET /api/survey
    quality.post_survey,  # POST /api/survey
    quality.skip_survey,  # POST /api/survey/skip
    # readings
    readings.list_readings,  # GET /api/patients/{patient_id}/readings
    readings.add_reading,  # POST /api/encounters/{encounter_id}/readings
    # scenarios
    scenarios.list_scenarios,  # GET /api/scenarios
    # session
    session.login,  # POST /api/session
    session.current,  # GET /api/session
    session.logout,  # DELETE /api/session
    # snapshot
    snapshot.take_snapshot,  # POST /api/encounters/{encounter_id}/snapshot
    # users
    users.list_users,  # GET /api/users
    users.add_user,  # POST /api/users
    users.update_user_route,  # PATCH /api/users/{user_id}
    users.reset_user_password,  # POST /api/users/{user_id}/password-reset
    # visit_changes
    visit_changes.reschedule,  # POST /api/encounters/{encounter_id}/reschedule
    visit_changes.cancel,  # POST /api/encounters/{encounter_id}/cancel
    # workflow
    workflow.apply_event,  # POST /api/encounters/{encounter_id}/events
    workflow.get_template,  # GET /api/templates/{template_id}
    # health
    health.network_check,  # GET /api/network-check
    # ICE servers, with this session's TURN credential
    ice.get_ice_servers,  # GET /api/ice-servers
)


def api_routes() -> tuple[ApiRoute, ...]:
    return tuple(declaration(handler) for handler in API_HANDLERS)


def setup_routes(app: web.Application) -> None:
    """The health checks, the OpenAPI document and every API route."""
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/livez", health.livez)
    app.router.add_get("/api/openapi.json", health.openapi)
    # A clinician's calendar feed: no session, the token in the path is the key.
    app.router.add_get("/calendar/{token}.ics", calendars.calendar_feed, name="calendar_feed")
    routes = api_routes()
    app[API_ROUTES] = routes
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler)
