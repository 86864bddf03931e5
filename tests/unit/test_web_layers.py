"""The browser code's layers: web/static/js/ui draws and reads the DOM and never talks to
the network; the pages (web/static/js/pages) make the requests and hand the ui modules data
and callbacks. A ui module counts as talking to the network when it uses a network API
itself or imports, directly or through other modules, a module that does."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "web/static"
UI = STATIC / "js/ui"

# Browser APIs that reach the network, and socket.io's `io(...)`.
NETWORK_API = re.compile(
    r"\b(?:fetch|XMLHttpRequest|WebSocket|EventSource|WebTransport|RTCPeerConnection"
    r"|sendBeacon)\b|(?<![\w.$])io\s*\("
)
# `import x from "m"`, `export {x} from "m"`, `import "m"` and `import("m")`.
IMPORT = re.compile(r"""\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']""")
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
LINE_COMMENT = re.compile(r"(?:^|(?<=\s))//.*$", re.MULTILINE)


def code_of(path: Path) -> str:
    """The module's text without its comments, so prose may name the APIs."""
    text = path.read_text(encoding="utf-8")
    return LINE_COMMENT.sub("", BLOCK_COMMENT.sub("", text))


def imports_of(path: Path) -> list[str]:
    return [a or b for a, b in IMPORT.findall(code_of(path))]


def resolve(importer: Path, specifier: str) -> Path | None:
    """The file a specifier names, or None when it is not one of our static files."""
    if specifier.startswith(("./", "../")):
        target = (importer.parent / specifier).resolve()
    elif specifier.startswith("/static/"):
        target = (STATIC / specifier.removeprefix("/static/")).resolve()
    else:
        return None  # a bare name or a URL: loaded from elsewhere
    return target if target.is_relative_to(STATIC) and target.is_file() else None


def network_reasons(path: Path, seen: dict[Path, list[str]] | None = None) -> list[str]:
    """Why a module talks to the network (empty when it does not), following its imports."""
    seen = {} if seen is None else seen
    if path in seen:
        return seen[path]
    seen[path] = []  # an import cycle adds nothing new
    used = {m.group(0).rstrip("( ") for m in NETWORK_API.finditer(code_of(path))}
    reasons = [f"uses {api}" for api in sorted(used)]
    for specifier in imports_of(path):
        target = resolve(path, specifier)
        if target is None:
            reasons.append(f"imports {specifier!r}, which is not one of our static files")
        elif network_reasons(target, seen):
            reasons.append(f"imports {specifier!r}, which talks to the network")
    seen[path] = reasons
    return reasons


def test_the_checker_sees_network_modules() -> None:
    # The library modules the pages use for requests must register as network modules,
    # or the test below would pass whatever the ui modules import.
    for name in ("api.js", "signal.js", "peer.js"):
        assert network_reasons(STATIC / "js/lib" / name), name
    assert network_reasons(STATIC / "vendor/socket.io/socket.io.esm.min.js")
    assert not network_reasons(STATIC / "js/lib/quality.js")


def test_ui_modules_make_no_network_calls() -> None:
    modules = sorted(UI.glob("*.js"))
    assert modules
    found = {
        str(path.relative_to(STATIC)): reasons
        for path in modules
        if (reasons := network_reasons(path))
    }
    assert not found, f"ui modules must leave the network to the pages: {found}"
