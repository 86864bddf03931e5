"""Remembering the language a person chose: a staff member's preference, and the one chosen
on a family's join or diary link (so the next visit's pages, and the reminders sent about
that link, are in it)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.i18n import known_language
from server.store.between_visits import DiaryLink
from server.store.models import FamilyMember, JoinLink, User


def _checked(language: str) -> str:
    lang = known_language(language)
    if lang is None:
        raise ValueError(f"no catalogue for language {language!r}")
    return lang


async def remember_for_user(s: AsyncSession, user_id: int, language: str) -> None:
    await s.execute(update(User).where(User.id == user_id).values(language=_checked(language)))


async def remember_for_join_link(s: AsyncSession, link_id: int, language: str) -> None:
    """On the link, and on the family member a reminder sent it to (their next reminders are
    written in it)."""
    lang = _checked(language)
    await s.execute(update(JoinLink).where(JoinLink.id == link_id).values(language=lang))
    member_id = await s.scalar(select(JoinLink.family_member_id).where(JoinLink.id == link_id))
    if member_id is not None:
        await s.execute(
            update(FamilyMember).where(FamilyMember.id == member_id).values(language=lang)
        )


async def remember_for_diary_link(s: AsyncSession, link_id: int, language: str) -> None:
    await s.execute(
        update(DiaryLink).where(DiaryLink.id == link_id).values(language=_checked(language))
    )
