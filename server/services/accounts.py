"""Staff accounts: creating, changing and disabling them (API and CLI share this)."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.crypto import hash_password, password_problem
from server.services.errors import ApiError
from server.store.models import User


async def create_user(
    s: AsyncSession,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    now: dt.datetime,
    time_zone: str = "UTC",
    phone: str | None = None,
) -> User:
    problem = password_problem(password)
    if problem:
        raise ApiError(422, "weak_password", problem, field="password")
    email = email.strip().lower()
    if await s.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise ApiError(
            409, "email_taken", "A staff login with this email already exists.", field="email"
        )
    # Hashing takes tens of milliseconds of CPU by design; keep it off the event loop.
    password_hash = await asyncio.get_running_loop().run_in_executor(None, hash_password, password)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        password_hash=password_hash,
        active=True,
        time_zone=time_zone,
        phone=phone,
        created_at=now,
    )
    s.add(user)
    await s.flush()
    return user
