"""The objects every handler reaches through ``request.app``: one typed key each."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from server.clock import Clock
from server.db import Database
from server.ratelimit import FailureCounter
from server.sessions import SessionStore
from server.settings import Settings


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    failures: FailureCounter
    sessions: SessionStore


SERVICES = web.AppKey("services", Services)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
