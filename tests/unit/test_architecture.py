"""The house rules on imports: only server/ imports the other parts; encounters/ is pure."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("server", "signaling", "encounters", "media", "web")
# What each part may import from the project (besides itself).
ALLOWED = {
    "server": {"signaling", "encounters", "media", "web"},
    "signaling": set(),
    "encounters": set(),
    "media": set(),
    "web": set(),
}


def _modules(part: str) -> list[Path]:
    return sorted((ROOT / part).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_parts_import_only_what_the_architecture_allows() -> None:
    problems = []
    for part in PARTS:
        for path in _modules(part):
            for name in _imports(path):
                top = name.split(".")[0]
                if top in PARTS and top != part and top not in ALLOWED[part]:
                    problems.append(f"{path.relative_to(ROOT)} imports {name}")
    assert problems == []


def test_encounters_uses_the_standard_library_only() -> None:
    stdlib = set(sys.stdlib_module_names) | {"encounters", "__future__"}
    problems = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules("encounters")
        for name in _imports(path)
        if name.split(".")[0] not in stdlib
    ]
    assert problems == []


def test_encounters_has_no_clock_randomness_or_io() -> None:
    # Data-file loaders may read their packaged TOML; nothing else touches the world.
    banned_modules = {
        "random",
        "secrets",
        "uuid",
        "logging",
        "os",
        "socket",
        "time",
        "subprocess",
        "threading",
        "asyncio",
    }
    banned_calls = {"open", "print", "input"}
    clock_methods = {"now", "utcnow", "today"}
    problems = []
    for path in _modules("encounters"):
        tree = ast.parse(path.read_text(), filename=str(path))
        where = path.relative_to(ROOT)
        problems += [
            f"{where} imports {n}" for n in _imports(path) if n.split(".")[0] in banned_modules
        ]
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name) and node.func.id in banned_calls:
                problems.append(f"{where}:{node.lineno} calls {node.func.id}()")
            if isinstance(node.func, ast.Attribute) and node.func.attr in clock_methods:
                problems.append(f"{where}:{node.lineno} reads the clock ({node.func.attr}())")
    assert problems == []
