"""Issue 17, weight: static files go out gzip-compressed and cacheable (an ETag to revalidate
with, a year for a URL that names the content's version), and never through a symbolic link."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from aiohttp import web

from server.edge.static_files import add_static_routes
from web import STATIC_DIR

SCRIPT = "js/pages/visit.js"


async def test_scripts_and_styles_are_compressed_and_revalidated_by_etag(client) -> None:
    original = (STATIC_DIR / SCRIPT).read_bytes()
    response = await client.get(f"/static/{SCRIPT}", headers={"Accept-Encoding": "gzip, br"})
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.content_type == "text/javascript"
    raw = await response.content.read()
    # aiohttp's client inflates by itself unless told not to; either way it is the file.
    body = raw if raw == original else gzip.decompress(raw)
    assert body == original
    etag = response.headers["ETag"]
    assert etag.startswith('"') and len(etag) > 10

    again = await client.get(f"/static/{SCRIPT}", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""

    # The same file under the URL that names its version may be kept for a year.
    version = etag.strip('"')
    pinned = await client.get(f"/static/{SCRIPT}?v={version}")
    assert pinned.status == 200
    assert pinned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = await client.get(f"/static/{SCRIPT}?v=0000")
    assert stale.headers["Cache-Control"] == "no-cache"

    css = await client.get("/static/css/hearth.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip"
    assert css.content_type == "text/css"


async def test_a_client_without_gzip_gets_the_file_as_it_is(client) -> None:
    response = await client.get(
        f"/static/{SCRIPT}", headers={"Accept-Encoding": "identity"}, auto_decompress=False
    )
    assert response.status == 200
    assert "Content-Encoding" not in response.headers
    assert await response.read() == (STATIC_DIR / SCRIPT).read_bytes()
    refused = await client.get(
        f"/static/{SCRIPT}", headers={"Accept-Encoding": "gzip;q=0"}, auto_decompress=False
    )
    assert "Content-Encoding" not in refused.headers


async def test_compressed_bytes_are_what_travels(client) -> None:
    response = await client.get(
        f"/static/{SCRIPT}", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    packed = await response.read()
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(packed) < len((STATIC_DIR / SCRIPT).read_bytes()) / 2
    assert gzip.decompress(packed) == (STATIC_DIR / SCRIPT).read_bytes()


async def test_a_changed_file_gets_a_new_etag_and_links_are_not_followed(
    aiohttp_client, tmp_path: Path
) -> None:
    root = tmp_path / "static"
    root.mkdir()
    (root / "app.js").write_text("console.log('one');\n" * 100)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web")
    os.symlink(secret, root / "link.txt")
    app = web.Application()
    add_static_routes(app, root)
    http = await aiohttp_client(app)

    first = await http.get("/static/app.js")
    assert first.status == 200
    (root / "app.js").write_text("console.log('two');\n" * 100)
    os.utime(root / "app.js", ns=(1, 2))  # a different stamp even within one clock tick
    second = await http.get("/static/app.js")
    assert second.headers["ETag"] != first.headers["ETag"]
    assert "two" in await second.text()

    assert (await http.get("/static/link.txt")).status == 404
    assert (await http.get("/static/")).status == 404
    assert (await http.get("/static/nothing.js")).status == 404


@pytest.mark.parametrize("path", ["/static/../pyproject.toml", "/static/%2e%2e/pyproject.toml"])
async def test_no_way_out_of_the_folder(client, path: str) -> None:
    response = await client.get(path)
    assert response.status in (403, 404)
    assert "[project]" not in await response.text()
