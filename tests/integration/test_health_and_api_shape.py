"""Health, metrics, the OpenAPI document, error shapes and response headers."""

from __future__ import annotations

from server.api.routes import api_routes


async def test_healthz_reports_database_ok(client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


async def test_healthz_names_the_database_when_it_fails(client) -> None:
    from server.services.context import SERVICES

    db = client.app[SERVICES].db
    original = db.ping

    async def failing_ping() -> None:
        raise ConnectionError("database down")

    db.ping = failing_ping  # type: ignore[method-assign]
    try:
        response = await client.get("/healthz")
        assert response.status == 503
        assert await response.json() == {"status": "unavailable", "database": "unavailable"}
    finally:
        db.ping = original  # type: ignore[method-assign]


async def test_openapi_describes_every_api_route(client) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    doc = await response.json()
    assert doc["openapi"].startswith("3.1")
    served = set()
    for resource in client.app.router.resources():
        path = resource.canonical
        if not path.startswith("/api/") or path == "/api/openapi.json":
            continue
        for route in resource:
            if route.method != "HEAD":
                served.add((route.method.lower(), path))
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented
    assert len(documented) == len(api_routes())


async def test_metrics_are_prometheus_text_without_paths_or_tokens(client, world) -> None:
    await client.get(f"/join/{world.tokens['a']}")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    text = await response.text()
    assert "hearth_http_requests_total" in text
    assert 'route="/join/{token}"' in text
    assert world.tokens["a"] not in text
    # The media relay's counts, bad input included, are there for the operator to alert on.
    assert 'hearth_media_events_total{event="srtp_rejected"} 0.0' in text
    assert 'hearth_media_events_total{event="video_frames_to"}' in text


async def test_unknown_api_path_is_a_json_404(client) -> None:
    response = await client.get("/api/nothing-here")
    assert response.status == 404
    assert await response.json() == {
        "error": "There is nothing at this address.",
        "code": "not_found",
    }


async def test_malformed_json_is_a_400_naming_the_problem(client, world) -> None:
    agent = await world.agent("clin_a")
    status, body = await agent.call(
        "POST", "/api/patients", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert body["code"] == "malformed_json"
    assert "not valid JSON" in body["error"]


async def test_wrong_method_is_a_json_405(client) -> None:
    response = await client.put("/api/session")
    assert response.status == 405
    assert (await response.json())["code"] == "method_not_allowed"


async def test_oversized_body_is_refused(client, world) -> None:
    agent = await world.agent("clin_a")
    status, body = await agent.call(
        "POST",
        "/api/patients",
        data=b"{" + b" " * 300_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert status == 413
    assert body["code"] == "too_large"


async def test_pages_and_api_carry_security_headers(client) -> None:
    for path in ("/login", "/api/openapi.json", "/healthz"):
        response = await client.get(path)
        headers = response.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"


async def test_static_files_do_not_leave_their_folder(client) -> None:
    for path in (
        "/static/../server/core/settings.py",
        "/static/%2e%2e/server/core/settings.py",
        "/static/..%2fserver%2fsettings.py",
        "/static//etc/passwd",
        "/static/css/../../../pyproject.toml",
    ):
        response = await client.get(path)
        assert response.status in (403, 404), path
        assert "HEARTH_DATABASE_URL" not in await response.text()


async def test_unknown_page_is_a_friendly_html_404(client) -> None:
    response = await client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status == 404
    assert "text/html" in response.content_type
    assert "Something is not right" in await response.text()
