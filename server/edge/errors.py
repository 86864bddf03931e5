"""The one place where exceptions become responses: JSON ``{"error", "code"}`` for the API,
a calm page for a person; and reading a JSON body with a clear refusal."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import OperationalError

from encounters.errors import ConflictError, DomainError
from server.core.logs import request_id_var
from server.services.errors import ApiError, describe_validation, error_body
from server.store.db import DatabaseUnavailableError

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
            return await handler(request)
        except ApiError as exc:
            if _wants_json(request):
                return _json_error(
                    exc.status, exc.code, exc.message, field=exc.field, headers=exc.headers
                )
            return await render_page(request, exc.status, exc.message)
        except PydanticValidationError as exc:
            message, field = describe_validation(exc)
            return _json_error(422, "invalid_field", message, field=field)
        except ConflictError as exc:
            return _json_error(409, exc.code, exc.message, field=exc.field)
        except DomainError as exc:
            return _json_error(422, exc.code, exc.message, field=exc.field)
        except (DatabaseUnavailableError, OperationalError, ConnectionError, TimeoutError) as exc:
            logger.warning("database unavailable: %s", type(exc).__name__)
            return _json_error(
                503,
                "database_unavailable",
                "The database is not answering. Please try again shortly.",
                headers={"Retry-After": "5"},
            )
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
        except Exception:
            return _internal(request)

    return middleware


def _internal(request: web.Request) -> web.Response:
    rid = request_id_var.get() or uuid.uuid4().hex[:12]
    logger.exception(
        "unhandled error handling %s %s",
        request.method,
        request.match_info.route.resource.canonical if request.match_info.route.resource else "?",
    )
    return web.json_response(
        error_body("internal_error", f"Something went wrong on our side (reference {rid})."),
        status=500,
    )


async def read_json(request: web.Request, max_bytes: int = 64 * 1024) -> Any:
    """The request body as JSON, or a 400 naming what is wrong with it."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "too_large", f"The request body is over {max_bytes} bytes.")
    raw = await request.read()
    if len(raw) > max_bytes:
        raise ApiError(413, "too_large", f"The request body is over {max_bytes} bytes.")
    if not raw:
        raise ApiError(400, "malformed_json", "The request body is empty; JSON was expected.")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(
            400,
            "malformed_json",
            f"The request body is not valid JSON ({getattr(exc, 'msg', 'bad encoding')}).",
        ) from exc
