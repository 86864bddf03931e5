"""Languages: the family's pages in Spanish, French and Arabic (Arabic right to left), the
chooser remembered on the device, the link, the family member and the staff account,
reminders in the family's language, and a template's questions in the reader's language."""

from __future__ import annotations

import datetime as dt
import json
import re
from email.header import decode_header, make_header
from typing import Any

import pytest
from sqlalchemy import select, update
from yarl import URL

from server.jobs.reminders import JOBS
from server.store.between_visits import DiaryLink
from server.store.models import FamilyMember, JoinLink, Patient, User
from tests.builders import Agent, World
from tests.integration.test_between_visits import diary_token
from tests.integration.test_reminders_and_calendars import (  # noqa: F401 - fixtures
    DAY_BEFORE,
    HOUR_BEFORE,
    _book,
    _parts,
    mailbox,
    settings,
)

# A string each page shows, as each catalogue writes it.
JOIN_STEP = {
    "en": "Step 1: check your camera and sound",
    "es": "Paso 1: compruebe la cámara y el sonido",
    "fr": "Étape 1 : vérifiez votre caméra et le son",
    "ar": "الخطوة 1: افحص الكاميرا والصوت",
}
LOBBY = {
    "es": "Está en la sala de espera de su consulta con",
    "fr": "Vous êtes dans la salle d&#39;attente pour votre visite avec",
    "ar": "أنت في غرفة الانتظار لزيارتك مع",
}
DIARY = {
    "es": "¿Cuánto dolor tiene ahora?",
    "fr": "Quelle douleur avez-vous en ce moment ?",
    "ar": "كم ألمك الآن؟",
}
DIRECTION = {"en": "ltr", "es": "ltr", "fr": "ltr", "ar": "rtl"}
CHECK_IN = {"es": "Registro diario", "fr": "Relevé quotidien", "ar": "التسجيل اليومي"}


async def _page(agent: Agent, path: str, **headers: str) -> tuple[int, str, str | None]:
    """Status, body and (for a redirect) where it points, without following it."""
    async with agent.http.get(agent.url(path), headers=headers, allow_redirects=False) as r:
        return r.status, await r.text(), r.headers.get("Location")


def _html_tag(page: str) -> str:
    found = re.search(r"<html[^>]*>", page)
    assert found, page[:200]
    return found.group(0)


async def _choose(agent: Agent, path: str, lang: str) -> str:
    """Picks a language with the chooser on a page; returns the page it comes back to."""
    status, _, location = await _page(agent, f"{path}?lang={lang}")
    assert status == 303 and location == path
    cookie = agent.http.cookie_jar.filter_cookies(URL(agent.url(path))).get("hearth_lang")
    assert cookie is not None and cookie.value == lang
    status, page, _ = await _page(agent, path)
    assert status == 200
    return page


@pytest.mark.parametrize("lang", ["es", "fr", "ar"])
async def test_the_family_pages_speak_the_chosen_language(client, world: World, lang: str) -> None:
    family = await world.agent()
    join = f"/join/{world.tokens['a']}"
    page = await _choose(family, join, lang)
    assert _html_tag(page) == f'<html lang="{lang}" dir="{DIRECTION[lang]}">'
    assert JOIN_STEP[lang] in page and JOIN_STEP["en"] not in page
    # The chooser shows the choice, each language named in itself.
    assert f'<option value="{lang}" lang="{lang}"' in page and " selected>" in page
    assert 'lang="ar" dir="rtl"' in page and "العربية" in page and "Español" in page

    await family.join(world.tokens["a"])
    status, page, _ = await _page(family, "/family")
    assert status == 200 and _html_tag(page) == f'<html lang="{lang}" dir="{DIRECTION[lang]}">'
    assert LOBBY[lang] in page
    # The expected wait comes in every plural form of the language, for the page to pick.
    data = re.search(r'id="strings">(.*?)</script>', page, re.S)
    assert data is not None and ("zero" in data.group(1)) == (lang == "ar")

    diary = await world.agent()
    path = f"/diary/{await diary_token(world)}"
    page = await _choose(diary, path, lang)
    assert _html_tag(page) == f'<html lang="{lang}" dir="{DIRECTION[lang]}">'
    assert DIARY[lang] in page and "How much pain do you have now?" not in page
    # Added to the home screen, the diary is named in the family's language and opens the link.
    token = path.rsplit("/", 1)[1]
    assert f'<link rel="manifest" href="/diary/{token}/manifest.webmanifest">' in page
    async with diary.http.get(diary.url(f"{path}/manifest.webmanifest")) as response:
        assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
        assert response.content_type == "application/manifest+json"
        manifest = json.loads(await response.text())
    assert manifest["name"] == CHECK_IN[lang] and manifest["start_url"] == path
    assert (manifest["lang"], manifest["dir"]) == (lang, DIRECTION[lang])


async def test_a_manifest_for_something_that_is_not_a_link_is_refused_plainly(client) -> None:
    for path in ("/diary/x/manifest.webmanifest", "/diary/" + "a" * 200 + "/manifest.webmanifest"):
        response = await client.get(path)
        assert response.status == 404  # told as every page address tells it
        assert "There is nothing at this address." in await response.text()


async def test_a_choice_on_a_link_is_remembered_for_the_next_device(
    client, world: World, db
) -> None:
    join = f"/join/{world.tokens['a']}"
    first = await world.agent()
    await _choose(first, join, "ar")
    async with db.begin() as s:
        assert (await s.get(JoinLink, world.link_ids["a"])).language == "ar"  # type: ignore[union-attr]
    # Another phone, no cookie, an English browser: the link remembers Arabic.
    second = await world.agent()
    _, page, _ = await _page(second, join, **{"Accept-Language": "en-GB,en;q=0.9"})
    assert _html_tag(page) == '<html lang="ar" dir="rtl">' and JOIN_STEP["ar"] in page
    # A device that chose for itself keeps its own choice.
    third = await world.agent()
    await _choose(third, "/login", "fr")
    _, page, _ = await _page(third, join)
    assert 'lang="fr"' in _html_tag(page)
    # The family session opened from the link is in the link's language too.
    await second.join(world.tokens["a"])
    _, page, _ = await _page(second, "/family")
    assert 'lang="ar"' in _html_tag(page)

    # The diary link remembers its own choice the same way.
    path = f"/diary/{await diary_token(world)}"
    await _choose(await world.agent(), path, "es")
    async with db.begin() as s:
        assert (await s.scalar(select(DiaryLink.language))) == "es"
    _, page, _ = await _page(await world.agent(), path)
    assert 'lang="es"' in _html_tag(page)


async def test_without_a_choice_the_patients_language_then_the_browsers(
    client, world: World, db
) -> None:
    path = f"/diary/{await diary_token(world)}"
    async with db.begin() as s:
        await s.execute(
            update(Patient).where(Patient.id == world.patients["a"].id).values(language="fr")
        )
    _, page, _ = await _page(await world.agent(), path, **{"Accept-Language": "es"})
    assert 'lang="fr"' in _html_tag(page)
    # A patient language Hearth has no catalogue for falls through to the browser's.
    async with db.begin() as s:
        await s.execute(
            update(Patient).where(Patient.id == world.patients["a"].id).values(language="tr")
        )
    _, page, _ = await _page(await world.agent(), path, **{"Accept-Language": "ar, en;q=0.5"})
    assert _html_tag(page) == '<html lang="ar" dir="rtl">'
    _, page, _ = await _page(await world.agent(), path, **{"Accept-Language": "de"})
    assert _html_tag(page) == '<html lang="en" dir="ltr">'


async def test_staff_choose_their_own_language_and_see_it_is_unreviewed(
    client, world: World, db
) -> None:
    coordinator = await world.agent("coord_a")
    page = await _choose(coordinator, "/today", "es")
    assert 'lang="es"' in _html_tag(page)
    assert "Esta traducción aún no la ha revisado una persona." in page
    async with db.begin() as s:
        assert (await s.get(User, world.users["coord_a"].id)).language == "es"  # type: ignore[union-attr]
    # Their next sign-in, on another computer with a French browser: still Spanish.
    elsewhere = await world.agent("coord_a")
    _, page, _ = await _page(elsewhere, "/alerts", **{"Accept-Language": "fr"})
    assert 'lang="es"' in _html_tag(page) and "Cola de alertas" in page
    # English needs no review notice; families never see it.
    page = await _choose(elsewhere, "/alerts", "en")
    assert "not yet been reviewed" not in page
    family = await world.agent()
    page = await _choose(family, f"/join/{world.tokens['a']}", "es")
    assert "Esta traducción aún no la ha revisado" not in page


async def test_a_language_hearth_does_not_have_is_refused_plainly(client, world: World) -> None:
    agent = await world.agent()
    status, page, _ = await _page(agent, f"/join/{world.tokens['a']}?lang=xx")
    assert status == 400 and "That language is not available." in page
    assert agent.http.cookie_jar.filter_cookies(URL(agent.url("/"))).get("hearth_lang") is None
    status, page, _ = await _page(agent, "/login?lang=%3Cscript%3E")
    assert status == 400 and "<script>" not in page


async def test_a_templates_questions_come_in_the_readers_language(client, world: World) -> None:
    family = await world.agent()
    await _choose(family, f"/join/{world.tokens['a']}", "ar")
    await family.join(world.tokens["a"])
    status, template = await family.call("GET", "/api/templates/home_palliative_visit")
    assert status == 200
    assessment = next(s for s in template["steps"] if s["id"] == "assessment")
    esas = next(
        use["instrument"]
        for use in assessment["instruments"]
        if use["instrument"]["id"] == "esas_r"
    )
    pain = next(item for item in esas["items"] if item["id"] == "pain")
    assert pain["text"] == "الألم" and pain["anchors"][1]["label"] == "أسوأ ألم ممكن"
    assert assessment["title"] == "تقييم الأعراض"
    assert esas["name"] == "نظام إدمونتون لتقييم الأعراض – المعدّل (ESAS-r)"
    # Ids and codes are not translated.
    assert pain["id"] == "pain" and esas["id"] == "esas_r"
    english = await world.agent("clin_a")
    status, template = await english.call("GET", "/api/templates/home_palliative_visit")
    assessment = next(s for s in template["steps"] if s["id"] == "assessment")
    assert assessment["title"] == "Symptom assessment"


def _subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


async def _set_member_language(db: Any, world: World, language: str | None) -> None:
    async with db.begin() as s:
        await s.execute(
            update(FamilyMember)
            .where(FamilyMember.patient_id == world.patients["a"].id)
            .values(language=language)
        )


async def test_reminders_are_written_in_the_family_members_language(
    client,
    world: World,
    db,
    mailbox,  # noqa: F811 - the fixture imported above
) -> None:
    await _book(world)
    await _set_member_language(db, world, "es")
    runner = client.app[JOBS]
    assert await runner.run_due(DAY_BEFORE) == 1
    message = mailbox.messages[0]
    assert _subject(message).startswith("Recordatorio: videoconsulta mañana, miércoles")
    assert message["Content-Language"] == "es"
    text, _ = _parts(message)
    assert "Hola, Family a:" in text and "Su videoconsulta con Staff clin_a es el" in text
    assert "4 de marzo de 2026" in text and "Reminder" not in text
    # The reminder's link opens in Spanish. Choosing Arabic on it makes Arabic theirs, so
    # the next reminder comes in Arabic.
    link = next(w for w in text.split() if "/join/" in w and "#" not in w)
    path = "/join/" + link.rsplit("/", 1)[1]
    reader = await world.agent()
    _, page, _ = await _page(reader, path)
    assert 'lang="es"' in _html_tag(page)
    await _choose(reader, path, "ar")
    async with db.begin() as s:
        member = await s.scalar(
            select(FamilyMember).where(FamilyMember.patient_id == world.patients["a"].id)
        )
        assert member is not None and member.language == "ar"
    assert await runner.run_due(HOUR_BEFORE) == 1
    message = mailbox.messages[1]
    assert _subject(message).startswith("تذكير: زيارة بالفيديو بعد ساعة")
    assert message["Content-Language"] == "ar"
    text, _ = _parts(message)
    assert "مرحبًا Family a،" in text and "مارس" in text


async def test_a_family_member_without_a_language_gets_the_patients(
    client,
    world: World,
    db,
    mailbox,  # noqa: F811 - the fixture imported above
) -> None:
    await _book(world)
    async with db.begin() as s:
        await s.execute(
            update(Patient).where(Patient.id == world.patients["a"].id).values(language="fr")
        )
    assert await client.app[JOBS].run_due(DAY_BEFORE) == 1
    message = mailbox.messages[0]
    assert _subject(message).startswith("Rappel : visite vidéo demain, mercredi 4 mars 2026")
    assert message["Content-Language"] == "fr"


async def test_staff_can_record_a_family_members_language(client, world: World) -> None:
    clinician = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    body = {"name": "Amal", "relationship": "daughter", "email": "amal@example.test"}
    status, member = await clinician.call(
        "POST", f"/api/patients/{patient_id}/family", {**body, "language": "ar"}
    )
    assert status == 201 and member["language"] == "ar"
    status, refused = await clinician.call(
        "POST", f"/api/patients/{patient_id}/family", {**body, "language": "not a tag!"}
    )
    assert status == 422 and refused["code"] == "invalid_field"


def test_reminder_times_are_unambiguous_in_every_language() -> None:
    from server.core.i18n import format_moment

    at = dt.datetime(2026, 3, 4, 14, 30, tzinfo=dt.UTC)
    assert format_moment(at, "Europe/London", "en") == "Wednesday, March 4, 2026, 14:30 GMT"
    assert format_moment(at, "Europe/Paris", "fr") == "mercredi 4 mars 2026, 15:30 CET"
    assert format_moment(at, "Europe/Madrid", "es") == "miércoles, 4 de marzo de 2026, 15:30 CET"
    assert format_moment(at, "Asia/Amman", "ar").endswith("17:30 +03")


async def test_errors_are_told_in_the_readers_language(client, world: World) -> None:
    agent = await world.agent()
    status, body = await agent.call(
        "POST",
        "/api/session",
        {"email": "clin_a@hearth.test", "password": "wrong"},
        headers={"Accept-Language": "es"},
    )
    assert status == 401
    # The sentence is Spanish; the code, for programs, is not translated.
    assert body["error"] == (
        "Ese correo electrónico y esa contraseña no coinciden con ningún acceso del personal."
    )
    english = await agent.call(
        "POST", "/api/session", {"email": "clin_a@hearth.test", "password": "wrong"}
    )
    assert english[1]["code"] == body["code"]
    assert english[1]["error"] == "That email and password do not match a staff login."
    # A page's error, in the language this device chose.
    await _choose(agent, "/login", "ar")
    status, page, _ = await _page(agent, "/family")
    assert status == 401 and "يُرجى فتح الرابط الذي أرسله لك فريق الرعاية." in page
