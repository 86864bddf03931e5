"""The OpenAPI 3.1 document, built from the route registry and the pydantic models."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel

from server.api.registry import ApiRoute
from server.core.storable import MAX_ID

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "code"],
    "properties": {
        "error": {"type": "string", "description": "A sentence a person can act on."},
        "code": {"type": "string", "description": "A stable slug for programs."},
        "field": {"type": "string", "description": "The offending field, where there is one."},
    },
}
STATUS_TEXT = {
    400: "Malformed request",
    401: "Not logged in or session ended",
    403: "Not allowed",
    404: "Not found (or not yours to see)",
    409: "Conflicts with the current state",
    413: "Too large",
    422: "A field or query parameter is invalid",
    429: "Too many attempts",
    503: "Database unavailable",
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A path parameter is an id, read by ``int_param``, unless it is named here.
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "template_id": {"type": "string", "minLength": 1, "maxLength": 80},  # home_palliative_visit
}
# A query parameter is read by ``query_int`` (an id) or by ``query_datetime``/``query_date``
# (server/api/registry.py), which refuse what these schemas do not allow.
QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "integer": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
    "date-time": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
}


def implicit_errors(route: ApiRoute) -> set[int]:
    """The refusals every route of its kind can give before or besides its handler's own: the
    document lists them, as clients meet them, without each handler repeating them."""
    found = {
        422,  # the error middleware: a query parameter no database can store
        503,  # the database not answering
    }
    if route.auth != "none":
        found.add(401)  # no session, or it ended
    if route.auth in ("staff", "admin") or route.method in UNSAFE_METHODS:
        found.add(403)  # the wrong role; a foreign Origin or a missing CSRF token
    if "{" in route.path:
        found.add(404)  # an id in the path that names nothing the caller may see
    if route.body is not None:
        found |= {400, 413}  # not JSON (or not decodable); over the size limit
    return found


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


@cache
def _paths(routes: tuple[ApiRoute, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for route in routes:
        op: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": route.handler.__name__,
            "responses": {},
        }
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": PATH_SCHEMAS.get(name, ID_SCHEMA),
            }
            for name in re.findall(r"{(\w+)}", route.path)
        ]
        params += [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": desc,
                "schema": QUERY_SCHEMAS.get(kind, {"type": kind}),
            }
            for name, kind, desc in route.query
        ]
        if params:
            op["parameters"] = params
        if route.body is not None:
            op["requestBody"] = {
                "required": not route.body_optional,
                "content": {"application/json": {"schema": _schema_ref(route.body, components)}},
            }
        ok: dict[str, Any] = {"description": "Success"}
        if route.response is not None:
            ok["content"] = {
                "application/json": {"schema": _schema_ref(route.response, components)}
            }
        op["responses"][str(route.status)] = ok
        for status in sorted(set(route.errors) | implicit_errors(route)):
            op["responses"][str(status)] = {
                "description": STATUS_TEXT.get(status, "Error"),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        if route.auth != "none":
            op["security"] = [{"session": []}]
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return paths, components


def build_openapi(server_url: str, routes: tuple[ApiRoute, ...]) -> dict[str, Any]:
    paths, components = _paths(routes)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hearth",
            "version": "0.1.0",
            "description": "Video visits for home palliative care. State-changing requests "
            "made with the session cookie carry the X-CSRF-Token header that GET /api/session "
            "returns.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "hearth_session"}
            },
        },
    }
