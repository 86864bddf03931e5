"""The DOM-free browser modules (web/static/js/lib) under Node's own test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import missing_service

JS_TESTS = Path(__file__).resolve().parents[2] / "web/static/js/tests"


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
