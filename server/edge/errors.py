"""The one place where exceptions become responses: JSON ``{"error", "code"}`` for the API,
a calm page for a person; and reading a JSON body with a clear refusal."""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import exc as sa_exc

from encounters.errors import ConflictError, DomainError
from server.core.i18n import translations
from server.core.logs import request_id_var
from server.core.storable import MAX_JSON_DEPTH, find_unstorable, unstorable_character
from server.edge.language import viewer_language
from server.services.errors import ApiError, describe_validation, error_body
from server.store.db import (
    DatabaseFault,
    DatabaseUnavailableError,
    database_fault,
    sqlstate_of,
)

logger = logging.getLogger(__name__)


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def _json_error(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return web.json_response(error_body(code, message, field), status=status, headers=headers)


ErrorPageRenderer = Callable[[web.Request, int, str], Awaitable[web.StreamResponse]]


def error_middleware(render_page: ErrorPageRenderer) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            _refuse_unstorable_url(request)
            return await handler(request)
        except ApiError as exc:
            # The sentence in the reader's language (the code stays as it is, for programs).
            message = translations(viewer_language(request)).gettext(exc.message)
            if _wants_json(request):
                return _json_error(
                    exc.status, exc.code, message, field=exc.field, headers=exc.headers
                )
            return await render_page(request, exc.status, message)
        except PydanticValidationError as exc:
            message, field = describe_validation(exc)
            return _json_error(422, "invalid_field", message, field=field)
        except ConflictError as exc:
            return _json_error(409, exc.code, exc.message, field=exc.field)
        except DomainError as exc:
            return _json_error(422, exc.code, exc.message, field=exc.field)
        except (
            sa_exc.SQLAlchemyError,
            DatabaseUnavailableError,
            ConnectionError,
            TimeoutError,
        ) as error:
            fault = database_fault(error)
            if fault is None:  # SQLAlchemy refusing a query it was given: a bug
                return _internal(request, error)
            return await _database_error(request, render_page, error, fault)
        except web.RequestPayloadError:
            # The body could not be read as sent: a corrupt gzip or deflate stream, or a
            # chunked body cut short. The client's fault, wherever the body is read.
            message = "The request body could not be decoded as it was sent."
            refusal: web.StreamResponse
            if _wants_json(request):
                refusal = _json_error(400, "malformed_body", message)
            else:
                refusal = await render_page(request, 400, message)
            # The rest of the body is unreadable: aiohttp would try to read it after this
            # answer and log the same error as unhandled. The connection closes instead.
            request.content.feed_eof()
            refusal.force_close()
            return refusal
        except web.HTTPException as exc:
            if exc.status >= 400 and _wants_json(request):
                code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
                    exc.status, "http_error"
                )
                message = {
                    404: "There is nothing at this address.",
                    405: f"{request.method} is not allowed here.",
                    413: "The request body is too large.",
                }.get(exc.status, exc.reason)
                return _json_error(exc.status, code, message)
            if exc.status in (404, 405) and not _wants_json(request):
                return await render_page(request, exc.status, "There is nothing at this address.")
            raise
        except Exception as error:
            return _internal(request, error)

    return middleware


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "?"


def _refuse_unstorable_url(request: web.Request) -> None:
    """A path or query value that no database can store (``server.core.storable``) is refused
    here, once for every route, before a handler can pass it to a query: a path as not found,
    a query parameter with a 422 naming it."""
    for value in request.match_info.values():
        if unstorable_character(value) is not None:
            raise ApiError(404, "not_found", "There is nothing at this address.")
    for name, value in request.query.items():
        if (problem := unstorable_character(name)) is not None:
            raise ApiError(
                422,
                "invalid_field",
                f"A query parameter's name contains {problem}, which cannot be stored.",
            )
        if (problem := unstorable_character(value)) is not None:
            raise ApiError(
                422,
                "invalid_field",
                f"The query parameter {name!r} contains {problem}, which cannot be stored.",
                field=name,
            )


UNAVAILABLE_MESSAGE = "The database is not answering. Please try again shortly."
_FAULT_RESPONSES = {
    DatabaseFault.CONFLICT: (
        409,
        "conflict",
        "This change conflicts with one saved meanwhile. Reload and try again.",
    ),
    DatabaseFault.BAD_VALUE: (
        422,
        "invalid_value",
        "A value in this request is out of range or of the wrong kind for the database.",
    ),
}


async def _database_error(
    request: web.Request,
    render_page: ErrorPageRenderer,
    error: BaseException,
    fault: DatabaseFault,
) -> web.StreamResponse:
    """A database error as a response. The log names the exception's class and SQLSTATE,
    never its text: that quotes the SQL and, from asyncpg, the very value that failed."""
    sqlstate = sqlstate_of(error)
    detail = type(error).__name__ + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
    where = f"{request.method} {_route(request)}"
    headers: dict[str, str] = {}
    if fault is DatabaseFault.UNAVAILABLE:
        if isinstance(error, sa_exc.ProgrammingError):  # a query PostgreSQL cannot run: a bug
            logger.error("database refused the query of %s: %s\n%s", where, detail, _frames(error))
        else:
            logger.warning("database unavailable in %s: %s", where, detail)
        status, code, message = 503, "database_unavailable", UNAVAILABLE_MESSAGE
        headers["Retry-After"] = "5"
    else:
        logger.info("database refused %s: %s", where, detail)
        status, code, message = _FAULT_RESPONSES[fault]
    if _wants_json(request):
        return _json_error(status, code, message, headers=headers)
    response = await render_page(request, status, message)
    response.headers.update(headers)
    return response


def _frames(error: BaseException) -> str:
    """Where an exception was raised, without its message."""
    return "".join(traceback.format_tb(error.__traceback__)).rstrip()


def _internal(request: web.Request, error: BaseException) -> web.Response:
    rid = request_id_var.get() or uuid.uuid4().hex[:12]
    if isinstance(error, sa_exc.SQLAlchemyError):
        # Its text quotes the statement and what the driver said of the values: the class and
        # the frames are enough to find the bug.
        logger.error(
            "unhandled %s handling %s %s\n%s",
            type(error).__name__,
            request.method,
            _route(request),
            _frames(error),
        )
    else:
        logger.exception("unhandled error handling %s %s", request.method, _route(request))
    return web.json_response(
        error_body("internal_error", f"Something went wrong on our side (reference {rid})."),
        status=500,
    )


async def read_json(request: web.Request, max_bytes: int = 64 * 1024) -> Any:
    """The request body as JSON, or a 400 naming what is wrong with it; a 422 naming the field
    that holds a value no database can store (``server.core.storable``), or when the body is
    nested too deeply. Every JSON body Hearth reads comes through here."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "too_large", f"The request body is over {max_bytes} bytes.")
    raw = await request.read()
    if len(raw) > max_bytes:
        raise ApiError(413, "too_large", f"The request body is over {max_bytes} bytes.")
    if not raw:
        raise ApiError(400, "malformed_json", "The request body is empty; JSON was expected.")
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise ApiError(
            422, "too_deep", f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep."
        ) from None
    except ValueError as exc:
        raise ApiError(
            400, "malformed_json", f"The request body is not valid JSON ({_why_not_json(exc)})."
        ) from None
    problem = find_unstorable(data)
    if problem is not None:
        raise ApiError(422, problem.code, problem.message, field=problem.field)
    return data


class _NotJsonNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    # Python reads NaN and Infinity, which JSON does not have and a JSON column cannot hold.
    raise _NotJsonNumber(f"{name} is not a JSON number")


def _why_not_json(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8"
    if isinstance(exc, _NotJsonNumber):
        return str(exc)
    return "a number has too many digits"  # Python reads at most 4300
