"""Declaring an API route beside its handler, once, for the router and for the OpenAPI
document alike; parsing bodies, ids and query dates, and answering with a response model."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel

from server.core.bounds import year_out_of_range
from server.core.storable import MAX_ID, parse_id
from server.edge.errors import read_json
from server.services.errors import ApiError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    query: tuple[tuple[str, str, str], ...] = ()  # (name, JSON type, description)
    auth: str = "session"  # "none", "session" (staff or family), "staff", "admin"
    errors: tuple[int, ...] = field(default=())
    # A body the caller may leave out (the handler reads it with ``parse_optional_body``).
    body_optional: bool = False


# The routes this app serves, as ``server.api.routes.setup_routes`` declared them.
API_ROUTES = web.AppKey("api_routes", tuple[ApiRoute, ...])


def api(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    query: tuple[tuple[str, str, str], ...] = (),
    auth: str = "session",
    errors: tuple[int, ...] = (),
    body_optional: bool = False,
) -> Callable[[Handler], Handler]:
    """Declare a handler's route beside it; ``server.api.routes`` lists the handlers."""

    def declare(handler: Handler) -> Handler:
        route = ApiRoute(
            method,
            path,
            handler,
            summary,
            tag,
            body,
            response,
            status,
            query,
            auth,
            errors,
            body_optional,
        )
        setattr(handler, _DECLARATION, route)
        return handler

    return declare


_DECLARATION = "api_route"


def declaration(handler: Handler) -> ApiRoute:
    """What ``@api`` declared for this handler."""
    route = getattr(handler, _DECLARATION, None)
    if not isinstance(route, ApiRoute):
        raise TypeError(f"{handler.__qualname__} has no @api declaration")
    return route


async def parse_body(request: web.Request, model: type[M]) -> M:
    """The body validated against ``model``: 400 if not JSON, 422 naming the bad field."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_field", "The request body must be a JSON object.")
    return model.model_validate_json(json.dumps(data), strict=True)


async def parse_optional_body(request: web.Request, model: type[M]) -> M:
    """As ``parse_body``, but no body at all is the model's defaults (a route that took no
    body before, and learnt an optional one)."""
    if not request.body_exists:
        return model()
    return await parse_body(request, model)


def respond(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(model.model_dump(mode="json"), status=status)


def int_param(request: web.Request, name: str) -> int:
    """An id in the path; one that cannot name a row is a 404 like any other."""
    value = parse_id(request.match_info[name])
    if value is None:
        raise ApiError(404, "not_found", "There is nothing at this address.")
    return value


def query_int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return None
    value = parse_id(raw)
    if value is None:
        raise ApiError(
            422,
            "invalid_field",
            f"The query parameter {name!r} must be a whole number from 0 to {MAX_ID}.",
            field=name,
        )
    return value


def _refuse_year(name: str, year: int) -> None:
    problem = year_out_of_range(year)
    if problem is not None:
        raise ApiError(422, "out_of_range", f"{name!r} {problem}.", field=name)


def query_datetime(request: web.Request, name: str) -> dt.datetime | None:
    """A time in the query string, in UTC; None when absent. 422 naming the parameter when it
    is not ISO 8601, has no time zone, or is out of range (``server.core.bounds``)."""
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(
            422,
            "invalid_field",
            f"{name!r} must be an ISO-8601 time, e.g. 2026-03-01T09:00Z.",
            field=name,
        ) from None
    if value.tzinfo is None:
        raise ApiError(
            422,
            "naive_datetime",
            f"{name!r} needs a time zone, e.g. 2026-03-01T09:00Z.",
            field=name,
        )
    # Before converting: 9999-12-31T23:00-05:00 is past the last time Python can hold in UTC.
    _refuse_year(name, value.year)
    return value.astimezone(dt.UTC)


def query_flag(request: web.Request, name: str) -> bool:
    """A yes/no in the query string (``true``/``false``, ``1``/``0``); false when absent."""
    raw = request.query.get(name)
    if raw in (None, "", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise ApiError(422, "invalid_field", f"{name!r} must be true or false.", field=name)


def query_date(request: web.Request, name: str) -> dt.date | None:
    """A calendar day in the query string (``2026-03-02``); None when absent. 422 naming the
    parameter when it is not one or is out of range (``server.core.bounds``)."""
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise ApiError(
            422, "invalid_field", f"{name!r} must be a date such as 2026-03-02.", field=name
        ) from None
    _refuse_year(name, value.year)
    return value
