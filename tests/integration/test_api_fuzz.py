"""Schemathesis against the live OpenAPI document, as every kind of caller.

Hand-written tests send the inputs someone thought of; this sends the ones nobody did. Every
operation in /api/openapi.json is called with generated input: valid, valid and aimed at rows
that exist (generated ids rarely name one), and invalid. Each generated request is sent once as
each caller: anonymous, a clinician, a coordinator, a scheduler, an admin and a family member
signed in with a visit link. Every answer is checked three ways: never a 5xx, its status code
documented for that operation, and its body matching the schema documented for that status.
A handler that disagrees with its declaration fails here, whichever of the two is wrong.

How many requests each operation gets comes from the Hypothesis profile (tests/conftest.py):
a few while developing, many more in CI.

All callers share one app and database, so the operations run in an order that keeps each
call meaningful for the ones after it: reads, then creations and changes, then cancelling a
visit and deletions, then changes to users (which may disable a caller), then the session
operations (which may end one).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.builders import PASSWORD, World

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
CALLERS = ("anonymous", "clin_a", "coord_a", "sched", "admin", "family_a")
METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
# After the rest: these may cancel the visit a family member came in by, disable a caller,
# end its session or replace it.
LAST = {
    ("POST", "/api/encounters/{encounter_id}/cancel"): 4,
    ("PATCH", "/api/users/{user_id}"): 5,
    ("POST", "/api/join"): 6,
    ("POST", "/api/session"): 6,
    ("DELETE", "/api/session"): 7,
}
CONFIG = schemathesis.Config.from_dict(
    # The session cookie is each caller's own, never a generated one.
    {"generation": {"with-security-parameters": False}}
)


def examples_per_operation() -> int:
    """Generated requests per operation and kind of input, each sent as every caller:
    2 with the development profile's 25 examples, 3 with CI's 300. The run on each database
    draws its own, so CI sends 6 different inputs per operation and kind (about 2,900
    requests per database); the suite's time on two cores allows no more."""
    return max(2, hypothesis_settings.default.max_examples // 100)


def _signed_in(base: str, caller: str, tokens: dict[str, str]) -> requests.Session:
    http = requests.Session()
    if caller == "anonymous":
        return http
    if caller.startswith("family_"):
        token = tokens[caller.removeprefix("family_")]
        response = http.post(f"{base}/api/join", json={"token": token, "display_name": "Ben"})
    else:
        response = http.post(
            f"{base}/api/session", json={"email": f"{caller}@hearth.test", "password": PASSWORD}
        )
    assert response.status_code == 200, response.text
    # Sent on every request: the token of a state-changing one, ignored on a read.
    http.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return http


def _order(operation: Any) -> tuple[int, str]:
    method = operation.method.upper()
    return (LAST.get((method, operation.path), METHOD_ORDER[method]), operation.path)


def _report(operation: Any, kind: str, error: BaseException) -> str:
    notes = "\n".join(getattr(error, "__notes__", ()))
    return f"{operation.label} ({kind} input) {notes}\n{error}"


def _known_ids(world: World) -> dict[str, Any]:
    """Path parameters that name something in the world: generated ids rarely do."""
    return {
        "patient_id": world.patients["a"].id,
        "encounter_id": world.encounters["a"].id,
        "user_id": world.users["clin_a"].id,
        "link_id": world.link_ids["a"],
        "template_id": "home_palliative_visit",
    }


def fuzz(base: str, tokens: dict[str, str], known: dict[str, Any]) -> tuple[list[str], int]:
    """Every operation as every caller: the failures found, one report per operation and
    kind of input, and the number of requests made."""
    callers = {caller: _signed_in(base, caller, tokens) for caller in CALLERS}
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json", config=CONFIG)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_order)
    failures: list[str] = []
    sent = 0
    for operation in operations:
        has_input = any(True for _ in operation.iter_parameters()) or bool(operation.body)
        in_path = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
        runs: list[tuple[str, Any]] = [("valid", operation.as_strategy(GenerationMode.POSITIVE))]
        if in_path:
            # Valid input sent to something that exists, past the 404 a generated id meets.
            runs.append(("valid, known ids", operation.as_strategy(path_parameters=in_path)))
        if has_input:
            # (An operation without parameters or a body has no input to make invalid.)
            runs.append(("invalid", operation.as_strategy(GenerationMode.NEGATIVE)))
        for kind, strategy in runs:

            @hypothesis_settings(
                hypothesis_settings.default,
                max_examples=examples_per_operation(),
                deadline=None,
                # Each operation's run is its own test; a saved example of one would be
                # replayed against the next.
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate, Phase.shrink],
            )
            @given(case=strategy)
            def send_as_everyone(case: Any) -> None:
                nonlocal sent
                for caller, http in callers.items():
                    response = case.call(base_url=base, session=http)
                    sent += 1
                    try:
                        case.validate_response(response, checks=CHECKS)
                    except BaseExceptionGroup as group:
                        group.add_note(f"as {caller}")
                        raise

            try:
                send_as_everyone()
            # Schemathesis reports what it found as a BaseExceptionGroup.
            except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - reported below
                failures.append(_report(operation, kind, error))
    return failures, sent


async def test_every_operation_answers_as_documented_to_everyone(world: World) -> None:
    base = str(world.client.make_url("")).rstrip("/")
    started = time.monotonic()
    failures, sent = await asyncio.to_thread(fuzz, base, world.tokens, _known_ids(world))
    print(f"{sent} requests in {time.monotonic() - started:.1f} s")
    assert sent > 0
    assert not failures, "\n\n".join(failures)
