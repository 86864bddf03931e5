"""Static files (web/static), compressed and cacheable.

Text files (scripts, styles, SVG, JSON) are gzip-compressed once and kept in memory beside
their ETag, a hash of the content; a changed file (new size or modification time) is read and
compressed again. Every answer carries the ETag with ``Cache-Control: no-cache``, so a browser
keeps the file and asks again with ``If-None-Match``, answered by an empty 304; a URL that
names the content's version (``?v=<ETag's hash>``, see ``version_of``) may be kept for a year
without asking. Symbolic links and paths outside the folder are never followed (404).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

COMPRESSIBLE = {".js", ".mjs", ".css", ".html", ".svg", ".json", ".webmanifest", ".txt", ".map"}
# Below this a gzip header and the round trip's saving are not worth it.
MIN_COMPRESS_BYTES = 512
LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".map": "application/json",
}


@dataclass(frozen=True)
class _File:
    stamp: tuple[int, int]  # (size, mtime_ns)
    body: bytes
    gzipped: bytes | None
    version: str
    content_type: str


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and float(q[2:] or 0) == 0)
    return False


class StaticFiles:
    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._files: dict[Path, _File] = {}

    def _path(self, relative: str) -> Path | None:
        if not relative or relative.startswith("/") or "\\" in relative or "\0" in relative:
            return None
        path = self.root / relative
        # No symbolic link anywhere on the way, nothing outside the folder.
        if os.path.realpath(path) != str(path) or not path.is_file():
            return None
        return path

    def _load(self, path: Path, stamp: tuple[int, int]) -> _File:
        body = path.read_bytes()
        suffix = path.suffix.lower()
        gzipped = None
        if suffix in COMPRESSIBLE and len(body) >= MIN_COMPRESS_BYTES:
            packed = gzip.compress(body, compresslevel=9, mtime=0)
            gzipped = packed if len(packed) < len(body) else None
        content_type = TYPES.get(suffix) or mimetypes.guess_type(path.name)[0]
        return _File(
            stamp=stamp,
            body=body,
            gzipped=gzipped,
            version=hashlib.sha256(body).hexdigest()[:16],
            content_type=content_type or "application/octet-stream",
        )

    async def file(self, relative: str) -> _File | None:
        path = self._path(relative)
        if path is None:
            return None
        st = path.stat()
        stamp = (st.st_size, st.st_mtime_ns)
        known = self._files.get(path)
        if known is None or known.stamp != stamp:
            known = await asyncio.to_thread(self._load, path, stamp)
            self._files[path] = known
        return known

    async def version_of(self, relative: str) -> str | None:
        found = await self.file(relative)
        return found.version if found else None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        found = await self.file(request.match_info["path"])
        if found is None:
            raise web.HTTPNotFound()
        etag = f'"{found.version}"'
        headers = {
            "ETag": etag,
            "Vary": "Accept-Encoding",
            "Cache-Control": LONG_CACHE if request.query.get("v") == found.version else REVALIDATE,
        }
        if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
            return web.Response(status=304, headers=headers)
        body = found.body
        if found.gzipped is not None and _accepts_gzip(request.headers.get("Accept-Encoding", "")):
            body = found.gzipped
            headers["Content-Encoding"] = "gzip"
        charset = "utf-8" if found.content_type.startswith("text/") else None
        return web.Response(
            body=body, headers=headers, content_type=found.content_type, charset=charset
        )


STATIC_FILES = web.AppKey("static_files", StaticFiles)


def add_static_routes(app: web.Application, root: Path) -> None:
    files = StaticFiles(root)
    app[STATIC_FILES] = files
    app.router.add_get("/static/{path:.+}", files.handle, name="static")
