"""The DOM-free browser modules (web/static/js/lib) under Node's own test runner. Their tests
live in tests/js, outside web/static, so the server never serves them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parents[2]
JS_TESTS = ROOT / "tests/js"
STATIC = ROOT / "web/static"


def test_browser_library_modules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        missing_service("Node.js: apt-get install nodejs")
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.js"))
    assert files
    done = subprocess.run(
        [node, "--test", *files], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_browser_module_tests_are_served() -> None:
    served = sorted(str(p.relative_to(ROOT)) for p in STATIC.rglob("*.test.js"))
    assert not served, f"tests belong in tests/js, not under /static: {served}"
