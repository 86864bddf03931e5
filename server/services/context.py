"""The objects every handler reaches through ``request.app``: one typed key each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from encounters.scenarios import Scenario
from server.core.clock import Clock
from server.core.settings import Settings
from server.services.education_catalogue import Catalogue
from server.services.ratelimit import Attempts
from server.services.sessions import SessionStore
from server.store.db import Database


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    attempts: Attempts
    sessions: SessionStore


SERVICES = web.AppKey("services", Services)
# Crisis scenarios by id: the shipped ones plus HEARTH_SCENARIOS_DIR, read once at start-up.
SCENARIOS = web.AppKey("scenarios", Mapping[str, Scenario])
# The education library (shipped topics plus HEARTH_EDUCATION_DIR) and each text's
# readability, read once at start-up.
EDUCATION = web.AppKey("education", Catalogue)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
